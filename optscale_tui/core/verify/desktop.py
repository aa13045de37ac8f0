"""`desktop verify` as the CLI and the TUI both run it: the shared engine on Claude Desktop's applied entry, then
Desktop's own checks (clients/claude_desktop/verify.py). Here, in verify/, because the run builds on the client."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from optscale_tui.core.clients.claude_desktop.library import DesktopLibrary
from optscale_tui.core.clients.claude_desktop.verify import (
    desktop_target,
    discover_models,
    needs_discovery,
    static_checks,
)
from optscale_tui.core.verify.engine import VerifyOptions, verify
from optscale_tui.core.verify.events import VerificationDone, VerificationTarget


async def verify_desktop(library: DesktopLibrary, *,
                         ca_bundle: Path | None = None) -> tuple[VerificationTarget, VerificationDone]:
    """The shared probes on the applied entry (no beta or count_tokens probe: Desktop sends neither), Desktop's own
    discovery request when it will make one, then the Desktop-only checks (they read files and list processes: in a
    thread, so the caller's event loop keeps serving)."""
    target = desktop_target(library)
    done = await verify(target, VerifyOptions(ca_bundle=ca_bundle, beta_probe=False, count_tokens=False))
    # Without inferenceModels Desktop lists the models itself: make its request, as it makes it.
    listing = await discover_models(target, ca_bundle=ca_bundle) if needs_discovery(library) else None
    rows = tuple(r for r in done.results if r.id != "config")  # "the configuration Claude Code resolves": not Desktop's
    rows += tuple(await asyncio.to_thread(static_checks, library, catalog=done.catalog, discovery=listing))
    return target, dataclasses.replace(done, results=rows)

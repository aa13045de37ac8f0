"""What the doctor says about Claude Desktop: managed configuration that overrides the local one.

The detection is the Desktop client's own (`clients/claude_desktop/managed.py`, the one `desktop verify` reports);
this module turns it into the doctor's finding, added to what `inspect_environment` found for Claude Code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_code.effective import EffectiveConfig
from optscale_tui.core.clients.claude_desktop.locations import desktop_locations
from optscale_tui.core.clients.claude_desktop.managed import managed_sources
from optscale_tui.core.clients.claude_desktop.system import CommandRunner
from optscale_tui.core.diagnosis.findings import Findings


def check_desktop_managed(b: Findings, *, platform: str | None = None, home: Path | None = None,
                          env: Mapping[str, str] | None = None, root: Path | None = None,
                          run: CommandRunner | None = None) -> None:
    """A finding for each place an administrator's Desktop configuration is (it wins over what this app writes)."""
    locations = desktop_locations(platform=platform, home=home, env=env, root=root)
    for source in managed_sources(locations, run=run):
        routes = source.inference_keys
        what = (f"sets {', '.join(routes)}" if routes else
                f"sets {', '.join(source.keys)}" if source.keys else "is present")
        b.finding(Cause.DESKTOP_MANAGED_OVERRIDE, "warn",
                  f"Claude Desktop's managed configuration ({source.where}) {what}: it wins over the local "
                  f"configuration in {locations.folder}.")


def with_desktop_findings(config: EffectiveConfig, *, platform: str | None = None, home: Path | None = None,
                          env: Mapping[str, str] | None = None, root: Path | None = None,
                          run: CommandRunner | None = None) -> EffectiveConfig:
    """The doctor's report (`inspect_environment`'s) with the Desktop findings added, failures still first."""
    b = Findings(tuple(config.notes))
    b.findings = list(config.findings)
    check_desktop_managed(b, platform=platform, home=home, env=env, root=root, run=run)
    return replace(config, findings=b.in_order(), notes=tuple(b.notes))

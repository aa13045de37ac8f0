"""`verify`'s streamed output: replies tier by tier in plan order (core's ReplyOrder, as the TUI shows them), and
no result line printed inside a reply."""

from __future__ import annotations

import asyncio

from optscale_tui.cli.verify import _print_events
from optscale_tui.core.verify.events import (
    CheckFinished,
    CheckResult,
    CheckSpec,
    CheckStatus,
    TokenChunk,
    VerificationDone,
    VerificationPlanned,
)
from tests.core.verify_targets import make_target

HAIKU, SONNET, CATALOG = "prompt.haiku", "prompt.sonnet", "catalog"


def _passed(check_id: str) -> CheckResult:
    return CheckResult(check_id, f"{check_id} title", CheckStatus.PASS, message=f"{check_id} ok")


async def _events():
    specs = (CheckSpec(CATALOG, "catalog"), CheckSpec(HAIKU, "Haiku", tier="haiku"),
             CheckSpec(SONNET, "Sonnet", tier="sonnet"))
    yield VerificationPlanned(specs, make_target(None, url="https://127.0.0.1:9/anthropic"))  # no network
    yield TokenChunk(SONNET, "Sonnet ")  # the later tier answers first
    yield TokenChunk(HAIKU, "Haiku ")
    yield TokenChunk(SONNET, "works.")
    yield CheckFinished(_passed(SONNET))
    yield CheckFinished(_passed(CATALOG))  # arrives while Haiku's reply is open: waits for it to end
    yield TokenChunk(HAIKU, "works.")
    yield CheckFinished(_passed(HAIKU))
    yield VerificationDone(tuple(_passed(i) for i in (CATALOG, HAIKU, SONNET)), elapsed_ms=5.0)


def test_replies_print_in_plan_order_whole_with_other_results_after_them(capsys):
    done = asyncio.run(_print_events(_events(), as_json=False, stream=True))
    assert done.ok
    printed = capsys.readouterr().out
    haiku, sonnet = printed.index(f"[{HAIKU}] Haiku works."), printed.index(f"[{SONNET}] Sonnet works.")
    assert haiku < sonnet  # plan order, although Sonnet answered first
    catalog_line = next(i for i, line in enumerate(printed.splitlines()) if "catalog title" in line)
    lines = printed.splitlines()
    haiku_line = next(i for i, line in enumerate(lines) if f"[{HAIKU}]" in line)
    assert lines[haiku_line] == f"  [{HAIKU}] Haiku works."  # whole: nothing printed inside it
    assert catalog_line > haiku_line  # the catalog's line waited for the open reply


def test_quiet_prints_results_without_replies(capsys):
    asyncio.run(_print_events(_events(), as_json=False, stream=False))
    printed = capsys.readouterr().out
    assert "works." not in printed
    assert all(f"{i} title" in printed for i in (CATALOG, HAIKU, SONNET))

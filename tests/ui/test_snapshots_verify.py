"""Pictures of the Verify and Desktop panes at 80×24.

Timings and request ids differ on every run, so the verification engine is wrapped to report fixed ones (the
streamed text, statuses, causes and fixes are the real ones from the demo gateway on its fixed port).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from optscale_tui.core.verify.events import CheckFinished, CheckResult, VerificationDone
from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from tests.ui.screen import run_all_checks

TIERS = {
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6",
}
FROZEN = {"ttfb_ms": 12.0, "ttft_ms": 25.0, "total_ms": 40.0, "output_tokens": 20, "tokens_per_s": 800.0}


def _freeze(result: CheckResult) -> CheckResult:
    # tokens/s is sometimes unknown for a very fast reply, so the shape of the timings is fixed too.
    if result.timings.get("ttft_ms") is not None:
        timings = dict(FROZEN)
    elif result.timings:
        timings = {"ttfb_ms": FROZEN["ttfb_ms"], "total_ms": FROZEN["total_ms"]}
    else:
        timings = {}
    return replace(result, timings=timings, request_ids={k: f"req_{result.id}" for k in result.request_ids})


@pytest.fixture
def frozen_timings(monkeypatch):
    import optscale_tui.ui.panes.verify as verify_screen

    real = verify_screen.run_verification

    async def frozen(target, options=None, **kwargs):
        async for event in real(target, options, **kwargs):
            if isinstance(event, CheckFinished):
                yield CheckFinished(_freeze(event.result))
            elif isinstance(event, VerificationDone):
                yield VerificationDone(tuple(_freeze(r) for r in event.results), 1234.0)
            else:
                yield event

    monkeypatch.setattr(verify_screen, "run_verification", frozen)


async def _verify(pilot) -> None:
    await pilot.pause()
    await run_all_checks(pilot)


def test_verify_all_pass(snap_compare, ui_sandbox, gateway, frozen_timings):
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY, **TIERS}})
    assert snap_compare(OptScaleApp(), terminal_size=(80, 24), run_before=_verify)


def test_verify_with_failures(snap_compare, ui_sandbox, gateway, frozen_timings):
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url,
                             "ANTHROPIC_AUTH_TOKEN": "sk-bf-not-a-real-key-0000", **TIERS}})
    assert snap_compare(OptScaleApp(), terminal_size=(80, 24), run_before=_verify)


def test_desktop_pane(snap_compare, ui_sandbox):
    ui_sandbox.seed({"env": {
        "ANTHROPIC_BASE_URL": "https://my.optscale.ai/llm_proxy/00000000-0000-4000-8000-000000000001/anthropic",
        "ANTHROPIC_AUTH_TOKEN": DEMO_KEY, **TIERS}})

    async def show(pilot) -> None:
        await pilot.pause()
        await pilot.press("f8")
        await pilot.pause()

    assert snap_compare(OptScaleApp(), terminal_size=(80, 24), run_before=show)



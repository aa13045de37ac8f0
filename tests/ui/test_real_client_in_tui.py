"""The TUI's verification log includes the real-client check when the Claude Code CLI is installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from optscale_tui.core.verify.events import CheckStatus
from optscale_tui.demo.server import DEMO_KEY, DemoGateway
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.widgets.checklist import Checklist
from optscale_tui.ui.widgets.stream_log import StreamLog
from tests.ui.screen import run_all_checks

LOCAL_CLAUDE = Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / ".bin" / "claude"


@pytest.fixture
def claude_bin() -> Path:
    path = Path(os.environ.get("OPTSCALE_TUI_REAL_CLAUDE_BIN") or LOCAL_CLAUDE)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail("The Claude Code CLI is missing in CI: `make claude-cli` should have installed it.")
        pytest.skip("Claude Code CLI not installed (run `make claude-cli`)")
    return path


async def test_real_client_rows_stream_into_the_log(ui_sandbox, claude_bin, monkeypatch):
    monkeypatch.setenv("OPTSCALE_TUI_CLAUDE_BIN", str(claude_bin))
    monkeypatch.setenv("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
    with DemoGateway() as gw:
        ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gw.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                 "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
                                 "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"}})
        app = OptScaleApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await app.workers.wait_for_complete()
            await run_all_checks(pilot)
            checklist = app.query_one(Checklist)
            assert checklist.status_of("claude.default") is CheckStatus.PASS
            assert checklist.status_of("claude.sonnet") is CheckStatus.PASS
            log = app.query_one(StreamLog).text
            assert log.count("Hello from the OptScale demo gateway") >= 4  # 2 direct prompts + 2 real-client runs
        sent_by_claude = {r.body["model"] for r in gw.requests
                          if r.method == "POST" and r.headers.get("user-agent", "").startswith("claude-cli/")}
        assert sent_by_claude == {"anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6"}

"""Issue 10 §5 on Verify: the skipped real-client check gives its install hint, and notices stay off the replies."""

from __future__ import annotations

from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from tests.ui.screen import run_all_checks, settle
from tests.ui.test_tiers import connect


async def test_the_skipped_real_client_check_says_how_to_install_the_cli(ui_sandbox, gateway) -> None:
    app = OptScaleApp()  # ui_sandbox points OPTSCALE_TUI_CLAUDE_BIN at a file that does not exist
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("home", "f", "f4", "w", "y")  # Verify checks the settings in effect: save them first
        await settle(pilot)
        await run_all_checks(pilot)
        from optscale_tui.ui.widgets.checklist import Checklist

        text = " ".join(" ".join(str(o.prompt) for o in app.query_one(Checklist).options).split())
        assert "The claude CLI is not installed" in text
        assert "hint: Install it to add this check: npm install -g @anthropic-ai/claude-code" in text

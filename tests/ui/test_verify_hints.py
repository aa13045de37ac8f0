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


async def test_on_verify_at_80x24_a_notice_does_not_cover_the_replies(ui_sandbox, gateway) -> None:
    from textual.widgets._toast import Toast

    app = OptScaleApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("home", "f", "f4", "w", "y")
        await settle(pilot)
        await run_all_checks(pilot)
        app.notify("A notice with a few words in it, long enough to wrap onto three lines of a toast.")
        await settle(pilot)
        log = app.query_one("#verify-output").region
        toasts = [t.region for t in app.screen.query(Toast)]
        assert toasts and all(t.height > 0 for t in toasts)
        assert not any(t.overlaps(log) for t in toasts), (toasts, log)
        # On the other panes, notices stay where Textual puts them (Connect's fields are at the top).
        await pilot.press("f2")
        await pilot.pause()
        assert not app.screen.has_class("-notices-top")


async def test_the_traces_panel_says_where_and_when_to_look(ui_sandbox, gateway) -> None:
    """Issue 10 §6: the Traces section gave request ids only; it says where (Admin UI → Core Services → Traces) and
    the time window too."""
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("home", "f", "f4", "w", "y")
        await settle(pilot)
        await run_all_checks(pilot)
        await pilot.press("t")  # the request ids for OptScale Traces
        await pilot.pause()
        from tests.ui.screen import screen_text

        drawn = screen_text(app)
        assert "Admin UI → Core Services → Traces, " in drawn and " UTC" in drawn, drawn
        assert "req_demo_" in drawn

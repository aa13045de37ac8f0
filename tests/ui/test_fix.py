"""Fix-it actions in the TUI: the diff first, saved only on confirm, with a backup."""

from __future__ import annotations

import json

from optscale_tui.core.causes import Cause
from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.screens.fix import FixScreen
from optscale_tui.ui.widgets.diff_view import DiffView
from tests.ui.screen import press_and_wait, run_all_checks

URL = "https://gw.example.com/llm_proxy/00000000-0000-0000-0000-000000000000/anthropic"


def seed_sonnet_only(ui_sandbox):
    return ui_sandbox.seed({"theme": "dark", "env": {"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                                     "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"}})


async def open_doctor_fix(app: OptScaleApp, pilot) -> None:
    """Once the start-up checks are done, go to the Doctor pane (F6) and ask for the fix it offers (f)."""
    await app.workers.wait_for_complete()
    await pilot.press("f6")
    await pilot.pause()
    await press_and_wait(pilot, "f")


async def test_doctor_offers_the_tier_fix_shows_the_diff_and_saves_on_confirm(ui_sandbox):
    path = seed_sonnet_only(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 32)) as pilot:
        await open_doctor_fix(app, pilot)
        assert isinstance(app.screen, FixScreen)
        diff = app.screen.query_one("#fix-diff", DiffView)
        assert '+    "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-sonnet-4-6"' in diff.text
        assert DEMO_KEY not in diff.text
        assert json.loads(path.read_text())["env"].get("ANTHROPIC_DEFAULT_OPUS_MODEL") is None  # not yet
        await press_and_wait(pilot, "y")
        assert not isinstance(app.screen, FixScreen)
        env = json.loads(path.read_text())["env"]
        assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "anthropic/claude-sonnet-4-6"
        assert json.loads(path.read_text())["theme"] == "dark"
        assert any((ui_sandbox.config_dir / "optscale-tui-backups").iterdir())
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert Cause.TIER_UNMAPPED not in {f.cause for f in app.state.config.findings}


async def test_cancel_leaves_the_file_alone(ui_sandbox):
    path = seed_sonnet_only(ui_sandbox)
    before = path.read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(100, 32)) as pilot:
        await open_doctor_fix(app, pilot)
        assert isinstance(app.screen, FixScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FixScreen)
    assert path.read_bytes() == before


async def test_verify_pane_offers_the_beta_fix_after_a_run(ui_sandbox):
    from optscale_tui.demo.server import DemoGateway

    with DemoGateway() as gw:
        gw.faults.reject_beta = True
        path = ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gw.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
                                        "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
                                        "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"}})
        app = OptScaleApp()
        async with app.run_test(size=(100, 32)) as pilot:
            await app.workers.wait_for_complete()
            await run_all_checks(pilot)
            await press_and_wait(pilot, "f")
            assert isinstance(app.screen, FixScreen)
            assert "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS" in app.screen.query_one("#fix-diff", DiffView).text
            await press_and_wait(pilot, "y")
        assert json.loads(path.read_text())["env"]["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"

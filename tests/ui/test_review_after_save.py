"""Issue 10 §5/§6 on Review: the save dialog repeats the warnings that stand, the pane says once what a save or a
restore did and what is left to do in Claude Code, and w with nothing to write says why."""

from __future__ import annotations

from optscale_tui.core.connection import ApiKey, TierMapping, parse_base_url
from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.messages import ConnectionEdited, TiersEdited
from tests.ui.screen import screen_text, settle
from tests.ui.test_backups_view import ask_to_restore_the_highlighted_backup
from tests.ui.test_review import confirm_save, open_review, pane_text
from tests.ui.test_tiers import connect

SONNET = "anthropic/claude-sonnet-4-6"
HAIKU = "anthropic/claude-haiku-4-5"


async def test_the_save_dialog_repeats_a_model_not_in_the_catalog_and_an_unmapped_opus(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        assert app.state.catalog is not None and app.state.catalog.probe.ok
        app.post_message(TiersEdited(TierMapping(sonnet="anthropic/claude-sonet-4-6", haiku=HAIKU)))
        await open_review(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        body = str(app.screen.query_one("#confirm-body").render())
        assert "Sonnet → anthropic/claude-sonet-4-6 is not in this key's catalog" in body
        assert f"Did you mean {SONNET}?" in body
        assert "Opus is unmapped" in body
        assert "Write anyway (y)" in screen_text(app)


async def test_after_a_save_review_says_saved_once_and_what_is_left_to_do(ui_sandbox, gateway) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("home", "f")  # every tier gets the catalog model named for it
        await settle(pilot)
        await open_review(app, pilot)
        await confirm_save(app, pilot)
        text = pane_text(app)
        assert "No changes" not in text and text.count("Saved") == 1
        assert "Restart Claude Code" in text and "run /model" in text
        assert f"Sonnet: “Custom Sonnet model ({SONNET})”" in text
        assert not [n for n in app._notifications if "Saved" in str(n.message)]  # said by the pane, not a toast too
        # A restore says so, not "Saved".
        await ask_to_restore_the_highlighted_backup(app, pilot)
        await pilot.press("y")
        await settle(pilot)
        await open_review(app, pilot)
        text = pane_text(app)
        assert "✓ Restored ~/.claude/settings.json from a backup" in text and "Saved" not in text


async def test_w_with_nothing_to_write_is_not_in_the_footer_and_says_why(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        url = parse_base_url("https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1")
        app.post_message(ConnectionEdited(url.openai_base, url, ApiKey("sk-bf-REVIEW-0123456789abcdef")))
        await open_review(app, pilot)  # no tier mapped: nothing to write yet
        assert "Write" not in screen_text(app).splitlines()[-1]
        await pilot.press("w")
        await pilot.pause()
        notices = [str(n.message) for n in app._notifications]
        assert any("no gateway model is mapped" in n for n in notices), notices


async def test_at_80x24_review_lists_values_first_and_says_the_diff_scrolls(ui_sandbox, gateway) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("home", "f")
        await settle(pilot)
        await open_review(app, pilot)
        await settle(pilot)
        drawn = screen_text(app)
        assert f"+ ANTHROPIC_DEFAULT_SONNET_MODEL = {SONNET}" in drawn  # the value, not a cut description
        assert "+ ANTHROPIC_AUTH_TOKEN = sk-bf-…" in drawn and DEMO_KEY not in drawn
        assert "/anthropic" in next(line for line in drawn.splitlines() if "+ ANTHROPIC_BASE_URL =" in line)
        assert "←/→ scroll" in drawn
        diff = app.query_one("#review-diff")
        assert diff.region.height >= 9  # was 7: the findings say "nothing overrides" in one row at 24 rows

"""Backups pane: the list (newest first, the original kept), the masked diff of a selection, Restore."""

from __future__ import annotations

import json

from textual.widgets import DataTable

from optscale_tui.core.clients.claude_code.schema import plan_env_edit
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import save_plan
from optscale_tui.core.connection import ApiKey, TierMapping, mask_secret, parse_base_url
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.messages import ConnectionEdited, TiersEdited
from optscale_tui.ui.panes.backups import BackupsPane
from optscale_tui.ui.widgets.diff_view import DiffView
from tests.ui.screen import screen_text, settle
from tests.ui.test_navigation import footer_keys

BASE_URL = "https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1"
KEY = "sk-bf-BACKUPS-SECRET-0123456789abcd"



async def save_through_the_ui(app: OptScaleApp, pilot, opus: str) -> None:
    url = parse_base_url(BASE_URL)
    app.post_message(ConnectionEdited(BASE_URL, url, ApiKey(KEY)))
    app.post_message(TiersEdited(TierMapping(opus=opus)))
    await pilot.pause()
    await pilot.press("f4")
    await pilot.pause()
    await pilot.press("w")
    await pilot.pause()
    await pilot.press("y")
    await settle(pilot)


def table_rows(app: OptScaleApp) -> list[list[str]]:
    table = app.query_one("#backups-table", DataTable)
    return [[str(c) for c in table.get_row(key)] for key in table.rows]



async def ask_to_restore_the_highlighted_backup(app, pilot) -> None:
    """Backups (F7), Enter on the highlighted backup: the restore question is open."""
    await pilot.press("f7")
    await settle(pilot)
    app.query_one("#backups-table", DataTable).focus()
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, ConfirmScreen)


async def test_after_two_saves_the_list_has_both_backups_and_the_original(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    seeded = path.read_text()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await save_through_the_ui(app, pilot, "a/first")
        await save_through_the_ui(app, pilot, "a/second")
        await pilot.press("f7")
        await settle(pilot)
        rows = table_rows(app)
        app.query_one("#backups-table", DataTable).focus()
        assert len(rows) == 3
        assert rows[-1][0] == "original" and "kept for good" in rows[-1][2]
        assert all(r[0].endswith("UTC") for r in rows[:2])
        assert rows[0][0] >= rows[1][0]  # newest first
        view = app.query_one(BackupsPane)
        assert view.selected is not None and not view.selected.is_original
        # The newest backup holds "a/first": restoring it would change a/second back.
        diff = app.query_one("#backups-diff", DiffView).text
        assert '-    "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/second"' in diff
        assert '+    "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/first"' in diff
        assert KEY not in diff and KEY not in screen_text(app)
        await pilot.press("down", "down")  # the original: the file as it was before optscale-tui first wrote it
        await settle(pilot)
        assert view.selected.is_original
        assert json.loads(view.selected.path.read_text()) == json.loads(seeded)
        assert '-    "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/second",' in app.query_one("#backups-diff", DiffView).text


async def test_the_original_diff_masks_the_key_and_restore_brings_it_back(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    seeded = path.read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await save_through_the_ui(app, pilot, "a/first")
        await pilot.press("f7")
        await settle(pilot)
        table = app.query_one("#backups-table", DataTable)
        table.focus()
        await pilot.press("down")
        await settle(pilot)
        assert app.query_one(BackupsPane).selected.is_original
        diff = app.query_one("#backups-diff", DiffView).text
        assert f'-    "ANTHROPIC_AUTH_TOKEN": "{mask_secret(KEY)}",' in diff
        assert KEY not in diff

        # Review says "Saved" itself now (no toast): a notice of another kind stands in for it.
        app.notify("A notice still up when the restore question opens")
        await pilot.pause()
        assert app._notifications  # a toast is still up…
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert not app._notifications  # …and does not cover the dialog
        assert "Restore original?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert path.read_bytes() == seeded
        # The file it replaced was backed up first (and says so), and the app re-read the settings.
        assert len(table_rows(app)) == 3
        assert "before a restore" in screen_text(app)
        assert app.state.document is not None and app.state.document.text == seeded.decode()
        assert app.query_one(BackupsPane).selected is not None


async def test_cancel_keeps_the_current_file(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await save_through_the_ui(app, pilot, "a/first")
        saved = path.read_bytes()
        await ask_to_restore_the_highlighted_backup(app, pilot)
        await pilot.press("n")
        await settle(pilot)
        assert path.read_bytes() == saved
        assert len(table_rows(app)) == 2


async def test_no_backups_yet_says_so(ui_sandbox) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert "No backups yet" in screen_text(app)
        assert not app.query_one("#backups-table").display


async def test_no_backups_leaves_no_focus_on_the_hidden_table_and_a_new_backup_brings_it_back(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        table = app.query_one("#backups-table", DataTable)
        view = app.query_one(BackupsPane)
        assert "No backups yet" in screen_text(app)
        assert app.focused is view  # the pane, not the hidden table
        keys = footer_keys(app)
        assert keys.get("r") == "Reload" and "Restore…" not in keys.values()  # only what works
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)

        # A backup appears while the pane is shown (a save from elsewhere): r lists it and the table works again.
        plan = plan_env_edit(load_settings(path), {"ANTHROPIC_DEFAULT_OPUS_MODEL": "a/first"}, (), "test")
        save_plan(plan)
        await pilot.press("r")
        await settle(pilot)
        assert table.display and len(table_rows(app)) == 2  # the backup and the original
        assert app.focused is table
        assert footer_keys(app).get("⏎") == "Restore…"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)


async def test_restore_makes_the_restored_values_the_edited_ones(ui_sandbox) -> None:
    """A restore is a save of the whole file: afterwards every pane holds the file's values and nothing is unsaved
    (the values in memory before it would otherwise be saved back by the next w, undoing the restore)."""
    path = ui_sandbox.seed()
    first_key, second_key = KEY, "sk-bf-BACKUPS-SECOND-0123456789wxyz"
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await save_through_the_ui(app, pilot, "a/first")  # KEY, Opus a/first
        app.post_message(ConnectionEdited(BASE_URL, parse_base_url(BASE_URL), ApiKey(second_key)))
        app.post_message(TiersEdited(TierMapping(opus="a/second"), disable_experimental_betas=True))
        await pilot.pause()
        await pilot.press("f4", "w", "y")
        await settle(pilot)
        assert json.loads(path.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == second_key
        await pilot.press("f7")
        await settle(pilot)
        app.query_one("#backups-table", DataTable).focus()
        assert app.query_one(BackupsPane).selected.created  # the newest backup: the file after the first save
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        env = json.loads(path.read_text())["env"]
        assert env["ANTHROPIC_AUTH_TOKEN"] == first_key and env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "a/first"
        assert "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS" not in env

        assert not app.state.has_unsaved_changes
        assert app.state.effective_key == ApiKey(first_key)
        await pilot.press("f2")
        await settle(pilot)
        text = screen_text(app)
        assert mask_secret(first_key) in text and mask_secret(second_key) not in text
        assert "in memory until saved" not in text
        await pilot.press("f3")
        await settle(pilot)
        assert "a/first" in screen_text(app) and "a/second" not in screen_text(app)
        assert app.query_one("#no-betas").value is False
        await pilot.press("f4")
        await settle(pilot)
        assert "✓ Restored ~/.claude/settings.json from a backup" in screen_text(app)  # said, not "No changes"
        assert not app.query_one("#review-save").display


async def test_restore_with_unsaved_edits_says_they_are_lost_and_names_them(ui_sandbox, gateway) -> None:
    """A restore takes the file's values as the edited ones: an unsaved edit is in no backup, so the question says
    it will be lost, and which it is (the key never unmasked)."""
    from optscale_tui.demo.server import DEMO_KEY
    from tests.ui.test_tiers import HAIKU, OPUS, connect, filter_to

    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        for name, key in ((HAIKU, "h"), (OPUS, "o")):
            await filter_to(app, pilot, name)
            await pilot.press(key)
        await pilot.press("f4", "w", "y")
        await settle(pilot)
        assert not app.state.has_unsaved_changes
        await ask_to_restore_the_highlighted_backup(app, pilot)
        assert "Unsaved" not in screen_text(app)  # nothing to lose: no warning
        await pilot.press("n")
        await pilot.press("f3")
        await filter_to(app, pilot, "openai/gpt-5")
        await pilot.press("h")  # an unsaved edit
        await pilot.pause()
        assert app.state.has_unsaved_changes
        await ask_to_restore_the_highlighted_backup(app, pilot)
        text = screen_text(app)
        assert "unsaved edits are lost" in text
        assert "Unsaved: Haiku → openai/gpt-5" in text
        assert DEMO_KEY not in text


async def test_restoring_a_file_without_a_base_url_empties_the_field(ui_sandbox) -> None:
    """After a restore the edited values are the file's: no ANTHROPIC_BASE_URL means an empty Base URL field with its
    hint, not the old URL kept as an unsaved edit (Connect, Review and the file disagreed)."""
    path = ui_sandbox.seed()  # no ANTHROPIC_BASE_URL
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await save_through_the_ui(app, pilot, "a/first")
        assert "ANTHROPIC_BASE_URL" in path.read_text()
        await pilot.press("f7")
        await settle(pilot)
        app.query_one("#backups-table", DataTable).focus()
        await pilot.press("down")  # the original
        await settle(pilot)
        assert app.query_one(BackupsPane).selected.is_original
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert "ANTHROPIC_BASE_URL" not in path.read_text()
        assert app.state.url is None and app.state.base_url_text == ""
        assert not app.state.has_unsaved_changes
        await pilot.press("f2")
        await settle(pilot)
        assert app.query_one("#base-url").value == ""
        text = screen_text(app)
        assert "Base URL: empty." in text  # the empty field's hint
        assert "7f1c5a52" not in text


def test_an_original_that_was_no_file_says_restoring_removes_it():
    from datetime import UTC, datetime
    from pathlib import Path

    from optscale_tui.core.config.store import Backup
    from optscale_tui.ui.panes.backups import backup_label, backup_note

    absent = Backup("original", Path("x"), datetime(2026, 12, 4, tzinfo=UTC), 0, True, absent=True)
    assert backup_label(absent) == "original"
    assert backup_note(absent) == "no file before the first save: restoring removes it"

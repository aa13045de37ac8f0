"""The TUI and unlucky files (issue 9, §2/§6): a read-only settings file is rewritten only after the save
confirmation says so; a broken backup is marked in the Backups pane and never restored; a settings path that is
not a regular file is refused with its own cause."""

from __future__ import annotations

import json
import os
import stat

import pytest
from textual.widgets import DataTable

from optscale_tui.core.config.store import BackupStore
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from tests.ui.screen import screen_text, settle
from tests.ui.test_backups_view import KEY, save_through_the_ui, table_rows

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


async def test_saving_over_a_read_only_file_asks_and_says_so(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    path.chmod(0o444)
    before = path.read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        from optscale_tui.core.connection import ApiKey, TierMapping, parse_base_url
        from optscale_tui.ui.messages import ConnectionEdited, TiersEdited
        from tests.ui.test_backups_view import BASE_URL

        app.post_message(ConnectionEdited(BASE_URL, parse_base_url(BASE_URL), ApiKey(KEY)))
        app.post_message(TiersEdited(TierMapping(opus="a/first")))
        await pilot.pause()
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(app)
        assert "read-only" in text and "Rewrite" in text
        await pilot.press("n")  # no: nothing written, mode kept
        await settle(pilot)
        assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == 0o444
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
    assert json.loads(path.read_text())["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "a/first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert BackupStore(path).list()[0].path.read_bytes() == before


async def test_a_writable_file_gets_the_usual_question(ui_sandbox) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await save_through_the_ui(app, pilot, "a/first")
        assert "read-only" not in screen_text(app)


async def test_a_broken_backup_is_marked_and_not_restored(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await save_through_the_ui(app, pilot, "a/first")
        original = BackupStore(path).original_path
        original.write_bytes(original.read_bytes()[:20])  # cut short, as a full disk used to leave it
        now = path.read_bytes()
        await pilot.press("f7")
        await settle(pilot)
        rows = {row[0]: row for row in table_rows(app)}
        assert "broken" in rows["original"][2]
        table = app.query_one("#backups-table", DataTable)
        table.focus()
        table.move_cursor(row=len(rows) - 1)  # the original is last
        await settle(pilot)
        assert "broken" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert path.read_bytes() == now


async def test_a_fifo_as_settings_is_refused_with_its_cause(ui_sandbox) -> None:
    ui_sandbox.config_dir.mkdir()
    os.mkfifo(ui_sandbox.settings)
    app = OptScaleApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)  # used to block the loading worker for ever
        await pilot.press("f4")
        await settle(pilot)
        text = screen_text(app)
        assert "settings_not_a_file" in text or "FIFO" in text
    assert stat.S_ISFIFO(ui_sandbox.settings.lstat().st_mode)

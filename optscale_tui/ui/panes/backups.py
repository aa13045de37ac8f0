"""Backups: every copy optscale-tui made of the settings file, what restoring one would change, and Restore.

Core's BackupStore does the work (list, masked diff, restore through the same safe save path, which backs the
current file up first, so a restore can itself be undone). File reads run in thread workers; the list refreshes
whenever the pane is shown and after every save.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static

from optscale_tui.ui.format import changes_summary, display_path
from optscale_tui.ui.messages import Change, SettingsSaved
from optscale_tui.ui.panes.base import Pane
from optscale_tui.ui.widgets.diff_view import DiffView

if TYPE_CHECKING:
    from optscale_tui.core.config.store import Backup, SaveResult


def backup_label(backup: Backup) -> str:
    if backup.is_original:
        return "original"
    return backup.created.strftime("%Y-%m-%d %H:%M:%S UTC")


def backup_note(backup: Backup) -> str:
    if backup.is_broken:
        return "✗ broken: never restored"
    if backup.absent:
        return "no file before the first save: restoring removes it"
    if backup.is_original:
        return "before the first change; kept for good"
    return "before a restore" if backup.made_by == "restore" else "before a save"


def human_size(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KB"


class BackupTable(DataTable):
    """The list of backups; Enter restores the highlighted one (after a confirmation)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Restore…", id="backups.restore"),
    ]


class BackupsPane(Pane):
    """Pane "backups"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Reload", id="backups.reload"),
    ]

    class Listed(Message):
        def __init__(self, backups: list[Backup], error: str | None) -> None:
            super().__init__()
            self.backups = backups
            self.error = error

    class DiffReady(Message):
        def __init__(self, backup_id: str, diff: str, error: str | None) -> None:
            super().__init__()
            self.backup_id = backup_id
            self.diff = diff
            self.error = error

    class Restored(Message):
        def __init__(self, backup_id: str, result: SaveResult | None, error: str | None) -> None:
            super().__init__()
            self.backup_id = backup_id
            self.result = result
            self.error = error

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._backups: dict[str, Backup] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="backups-intro", markup=False)
        yield BackupTable(id="backups-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="backups-diff-title", markup=False)
        yield DiffView(id="backups-diff", empty_text="Same as the current file: restoring it changes nothing.")

    def on_mount(self) -> None:
        table = self.query_one("#backups-table", DataTable)
        table.add_column("Backup", key="when")
        table.add_column("Size", key="size")
        table.add_column("", key="note")

    def on_show(self) -> None:
        self.action_reload()

    def refresh_from_state(self, change: Change | None) -> None:
        path = self.state.target.path
        self.query_one("#backups-intro", Static).update(
            f"Copies of {display_path(path)}, newest first; one per save or restore.")
        if change in (Change.ALL, Change.SAVED):
            self.action_reload()

    @property
    def selected(self) -> Backup | None:
        table = self.query_one("#backups-table", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self._backups.get(str(row_key.value))

    # --- list -----------------------------------------------------------------------------------------------

    def focus_first(self) -> None:
        table = self.query_one("#backups-table")
        if table.display:
            self.focus_from_top(table)
        else:
            # Nothing to select: the pane itself takes the focus (its r Reload works, a hidden table's Enter would
            # not), rather than the first focusable widget, which would be the hidden table.
            self.focus(scroll_visible=False)

    def action_reload(self) -> None:
        self._list(self.state.target.path)

    @work(thread=True, exclusive=True, group="backups-list")
    def _list(self, path) -> None:
        from optscale_tui.core.config.errors import SettingsError
        from optscale_tui.core.config.store import BackupStore

        try:
            backups, error = BackupStore(path).list(), None
        except (OSError, SettingsError) as exc:
            backups, error = [], f"The backups cannot be read ({exc.strerror or exc})."
        self.post_message(self.Listed(backups, error))

    @on(Listed)
    def _listed(self, event: Listed) -> None:
        table = self.query_one("#backups-table", DataTable)
        previous = self.selected.id if self.selected else None
        unchanged = set(self._backups) == {b.id for b in event.backups}
        self._backups = {b.id: b for b in event.backups}
        table.clear()
        for backup in event.backups:
            table.add_row(backup_label(backup), human_size(backup.size), backup_note(backup), key=backup.id)
        title = self.query_one("#backups-diff-title", Static)
        diff = self.query_one("#backups-diff", DiffView)
        if event.error or not event.backups:
            title.update(event.error or "No backups yet: one is made before the first save changes the file.")
            diff.display = False
            self._show_table(bool(event.backups))
            return
        self._show_table(True)
        diff.display = True
        ids = list(self._backups)
        # The same list keeps its selection; a new backup (a save or a restore just happened) is selected.
        table.move_cursor(row=ids.index(previous) if unchanged and previous in ids else 0)
        self._show_diff_of_selected()

    def _show_table(self, shown: bool) -> None:
        """Show or hide the list, moving the focus with it: a hidden table must not keep the focus (the Footer would
        offer its Enter, which does nothing), and once backups appear the table takes the focus back from the pane."""
        table = self.query_one("#backups-table", DataTable)
        table.display = shown
        # Panes take no focus (Pane); this one does while its list is empty, so that r Reload stays in reach.
        self.can_focus = not shown
        focused = self.screen.focused
        if not shown and focused is table:
            self.focus(scroll_visible=False)
        elif shown and focused is self:
            self.focus_from_top(table)

    # --- diff -----------------------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#backups-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_diff_of_selected()

    def _show_diff_of_selected(self) -> None:
        backup = self.selected
        if backup is not None:
            self.query_one("#backups-diff-title", Static).update(f"Reading {backup_label(backup)}…")
            self._diff(self.state.target.path, backup.id)

    @work(thread=True, exclusive=True, group="backups-diff")
    def _diff(self, path, backup_id: str) -> None:
        from optscale_tui.core.config.errors import SettingsError
        from optscale_tui.core.config.store import BackupStore

        try:
            diff, error = BackupStore(path).diff(backup_id), None
        except (OSError, SettingsError) as exc:
            diff, error = "", f"This backup cannot be read ({exc.strerror or exc})."
        self.post_message(self.DiffReady(backup_id, diff, error))

    @on(DiffReady)
    def _diff_ready(self, event: DiffReady) -> None:
        backup = self._backups.get(event.backup_id)
        if backup is None or self.selected is not backup:
            return  # the selection moved on meanwhile
        title = self.query_one("#backups-diff-title", Static)
        if event.error:
            title.update(f"✗ {event.error}")
        elif backup.is_broken:
            title.update(f"✗ This backup is broken and is never restored: {backup.broken}.")
        else:
            title.update(f"Restoring {backup_label(backup)} would change the file like this "
                         "(- now, + after restoring; keys masked). Enter restores.")
        self.query_one("#backups-diff", DiffView).set_diff(event.diff)

    # --- restore --------------------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#backups-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_restore()

    def action_restore(self) -> None:
        from optscale_tui.core.config.files import is_read_only
        from optscale_tui.ui.dialogs.restore import restore_question

        backup = self.selected
        if backup is None:
            self.app.bell()
            return
        if backup.is_broken:
            self.notify(f"Not restored: this backup is broken ({backup.broken}).", severity="error", timeout=8)
            return
        path = display_path(self.state.target.path)
        locked = is_read_only(self.state.target.path)

        def answered(yes: bool | None) -> None:
            if yes:
                self._restore(self.state.target.path, backup.id, locked)

        # A restore makes the file's values the edited ones (WizardState.adopt): unsaved edits are in no backup and
        # could not be brought back, so the question names them.
        plan = self.state.plan()
        unsaved = changes_summary(plan.changes) if plan is not None and plan.has_changes else None
        self.app.clear_notifications()  # an earlier toast (e.g. "Settings saved") must not cover the dialog
        self.app.push_screen(restore_question(backup_label(backup), path, locked=locked, unsaved=unsaved), answered)

    @work(thread=True, exclusive=True, group="backups-restore")
    def _restore(self, path, backup_id: str, force: bool = False) -> None:
        from optscale_tui.core.config.errors import SettingsError
        from optscale_tui.core.config.store import BackupStore

        try:
            result, error = BackupStore(path).restore(backup_id, force=force), None
        except (SettingsError, OSError) as exc:
            result, error = None, getattr(exc, "reason", None) or str(exc)
        self.post_message(self.Restored(backup_id, result, error))

    @on(Restored)
    def _restored(self, event: Restored) -> None:
        if event.error or event.result is None:
            self.notify(f"Not restored: {event.error}", severity="error", timeout=8)
            return
        result = event.result
        backup = self._backups.get(event.backup_id)
        label = backup_label(backup) if backup else event.backup_id
        where = (f" The file it replaced was saved as {display_path(result.backup)}." if result.backup
                 else " There was no file to back up.")
        self.notify(f"Restored {label} to {display_path(result.path)}.{where}", title="Backup restored", timeout=10)
        # A restore is a save of the whole file: the app re-reads it and takes its values as the edited ones (as at
        # start-up), and this list reloads on Change.SAVED.
        self.post_message(SettingsSaved.replaced(result))

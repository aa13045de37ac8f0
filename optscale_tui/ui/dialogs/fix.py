"""Fix-it dialog: a diagnosed problem's mechanical fix as a planned change — the diff first, saved only on confirm.

The fixes themselves (what to change, in which file) come from core (`core.fixes.fixes_for`); this dialog only
shows the plan, asks, and saves through core's `save_plan` (atomic, backup first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.scalar import Scalar
from textual.message import Message
from textual.widgets import Button, Footer, OptionList, Static
from textual.widgets.option_list import Option

from optscale_tui.core.config.store import SaveResult
from optscale_tui.ui.dialogs.base import Dialog
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.format import display_path
from optscale_tui.ui.messages import CopyRequested
from optscale_tui.ui.widgets.diff_view import DiffView

if TYPE_CHECKING:
    from optscale_tui.core.config.plan import SettingsPlan
    from optscale_tui.core.diagnosis.fixes import FixIt

DIFF_MIN_HEIGHT = 3
DIFF_MAX_HEIGHT = 16  # rows; DiffView's own cap
COMMAND_LINES = 2


class FixScreen(Dialog[SaveResult | None]):
    """Pick a fix (when there are several), read its diff, apply it or not. Dismisses with the SaveResult.

    The dialog is as tall as its content, centred; at 80×24 everything must fit above the Footer: the diff (the only
    part that can be long) gets the rows the rest leaves (`_fit`), up to its maximum, and scrolls inside. Each choice
    is one line, cut with …; the shell command takes up to two lines, cut with … (rules in app.tcss, which outranks
    DEFAULT_CSS)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="fix.cancel"),
        Binding("y", "apply", "Apply", id="fix.apply"),
        Binding("c", "copy_command", "Copy command", id="fix.copy_command",
                tooltip="Copy the same fix as a shell command (OSC 52)"),
    ]

    class Planned(Message):
        """The plan worker worked out `fix`'s plan (or why it cannot)."""

        def __init__(self, fix: FixIt, plan: SettingsPlan | None, error: str | None) -> None:
            super().__init__()
            self.fix, self.plan, self.error = fix, plan, error

    class SaveEnded(Message):
        """The save worker wrote the plan (`result`) or was refused (`error`)."""

        def __init__(self, result: SaveResult | None, error: str | None) -> None:
            super().__init__()
            self.result, self.error = result, error

    def __init__(self, fixes: list[FixIt]) -> None:
        super().__init__()
        self.fixes = fixes
        self.selected: FixIt = fixes[0]
        self.plan: SettingsPlan | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="fix-dialog", classes="dialog"):
            count = len(self.fixes)
            yield Static("Fix it" if count == 1 else f"Fix it: {count} fixes apply (↑↓ picks one)",
                         classes="dialog-title", id="fix-title")
            if count > 1:
                yield OptionList(*(Option(f"{f.cause.value}: {f.title}", id=str(i)) for i, f in enumerate(self.fixes)),
                                 id="fix-choices")
            yield Static(id="fix-what", markup=False)
            yield DiffView(id="fix-diff")
            yield Static(id="fix-command", classes="muted", markup=False)
            yield Static(id="fix-error", classes="error-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (y)", id="fix-apply", variant="primary", disabled=True, compact=True)
                yield Button("Cancel (esc)", id="fix-cancel", compact=True)

    def on_mount(self) -> None:
        self._show(self.selected)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Give the diff the rows the rest of the dialog leaves above the Footer, up to DIFF_MAX_HEIGHT: with a
        `1fr` diff an auto-height dialog grew to the whole screen, its buttons mid-screen over empty rows."""
        dialog = self.query_one("#fix-dialog")
        diff = self.query_one("#fix-diff", DiffView)
        if not self.size.height:
            return
        footer = sum(child.outer_size.height for child in self.query_children(Footer))
        others = dialog.styles.gutter.height + sum(
            child.outer_size.height + child.styles.margin.height
            for child in dialog.children if child is not diff and child.display)
        left = self.size.height - footer - others - diff.styles.margin.height
        height = max(DIFF_MIN_HEIGHT, min(DIFF_MAX_HEIGHT, left))
        if diff.styles.max_height != Scalar.from_number(height):
            diff.styles.max_height = height
        self._fit_command()

    def _fit_command(self) -> None:
        """The shell command in at most COMMAND_LINES lines (wrapped as the Static wraps it), the last cut with …
        when it is longer; c copies it whole."""
        command = self.query_one("#fix-command", Static)
        text = f"Same from a shell: {self.selected.command}" if self.selected.command else ""
        width = command.content_region.width
        if width and text:
            lines = Text(text).wrap(self.app.console, width)
            if len(lines) > COMMAND_LINES:
                last = lines[COMMAND_LINES - 1].plain.rstrip()
                last = set_cell_size(last, min(cell_len(last), width - 1)) + "…"
                text = "\n".join([*(line.plain.rstrip() for line in lines[: COMMAND_LINES - 1]), last])
        command.update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_command":
            return bool(self.selected.command)
        return True

    def action_copy_command(self) -> None:
        if self.selected.command:
            self.app.post_message(CopyRequested(self.selected.command, "Shell command copied."))

    @on(OptionList.OptionHighlighted, "#fix-choices")
    def _choice(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._show(self.fixes[int(event.option.id)])

    def _show(self, fix: FixIt) -> None:
        self.selected = fix
        self.plan = None
        self.query_one("#fix-apply", Button).disabled = True
        self.query_one("#fix-what", Static).update(f"{fix.title}\nin {display_path(fix.path)}")
        self._fit_command()
        self.refresh_bindings()  # c: only a fix with a shell twin
        self.query_one("#fix-error", Static).update("")
        self.query_one("#fix-diff", DiffView).set_diff("")
        self._plan(fix)

    @work(thread=True, exclusive=True, group="fix-plan")
    def _plan(self, fix: FixIt) -> None:
        from optscale_tui.core.config.errors import SettingsError

        try:
            plan, error = fix.plan(), None
        except SettingsError as exc:
            plan, error = None, str(exc)
        self.post_message(self.Planned(fix, plan, error))

    @on(Planned)
    def _planned(self, event: Planned) -> None:
        fix, plan, error = event.fix, event.plan, event.error
        if fix is not self.selected:
            return
        self.plan = plan
        if error:
            self.query_one("#fix-error", Static).update(error)
            return
        assert plan is not None
        if not plan.has_changes:
            self.query_one("#fix-error", Static).update("Nothing to change: the file already has this.")
            return
        diff = self.query_one("#fix-diff", DiffView)
        diff.set_diff(plan.diff())
        self.call_after_refresh(self._fit)
        diff.scroll_to_first_change()  # the changed lines in view, even in the few rows 80×24 leaves
        self.query_one("#fix-apply", Button).disabled = False

    def action_apply(self) -> None:
        from optscale_tui.core.config.files import is_read_only

        plan = self.plan
        if plan is None or not plan.has_changes:
            return
        if not is_read_only(plan.document.path):
            self.query_one("#fix-apply", Button).disabled = True
            self._save(plan)
            return

        def answered(yes: bool | None) -> None:  # a read-only file may be locked on purpose: ask first
            if yes and plan is self.plan:
                self.query_one("#fix-apply", Button).disabled = True
                self._save(plan, force=True)

        path = display_path(plan.document.path)
        self.app.push_screen(ConfirmScreen(
            f"Rewrite read-only {path}?",
            f"! {path} is read-only: someone may have locked it on purpose. Writing replaces it with a private "
            "(0600) file; a backup is made first.", yes="Rewrite", no="Cancel"), answered)

    @work(thread=True, exclusive=True, group="fix-save")
    def _save(self, plan: SettingsPlan, force: bool = False) -> None:
        from optscale_tui.core.config.errors import SettingsError
        from optscale_tui.core.config.store import save_plan

        try:
            result, error = save_plan(plan, force=force), None
        except SettingsError as exc:
            result, error = None, str(exc)
        self.post_message(self.SaveEnded(result, error))

    @on(SaveEnded)
    def _save_ended(self, event: SaveEnded) -> None:
        if event.result is None:
            self.query_one("#fix-error", Static).update(event.error or "")
            return
        self.dismiss(event.result)

    @on(Button.Pressed, "#fix-apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#fix-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

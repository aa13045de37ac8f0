"""The yes/no question every pane and the app ask before something that writes or quits (save, restore, quit…)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from optscale_tui.ui.dialogs.base import Dialog


class ConfirmScreen(Dialog[bool]):
    """Ask a yes/no question; dismisses with True only on an explicit yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        # Its own action, or the Footer (one key per action) would list n or esc, not both.
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
    ]

    def __init__(self, title: str, body: str, *, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Static(self._title, classes="dialog-title")
            yield Static(self._body, classes="dialog-body", id="confirm-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._yes} (y)", id="confirm-yes", variant="primary")
                yield Button(f"{self._no} (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def update_body(self, body: str) -> None:
        """Say something else while the question is open (e.g. what it warned about has ended meanwhile)."""
        if body != self._body:
            self._body = body
            if self.is_mounted:
                self.query_one("#confirm-body", Static).update(body)

    @on(Button.Pressed, "#confirm-yes")
    def _yes_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no_pressed(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(False)

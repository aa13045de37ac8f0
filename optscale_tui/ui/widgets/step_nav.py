"""Back / Next buttons at the bottom of a wizard step: they post StepRequested, which the pane may stop (its "not
ready" guard) before it reaches the app."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button

from optscale_tui.ui.messages import StepRequested


class StepNav(Horizontal):
    """Back / Next buttons at the bottom of a wizard step."""

    DEFAULT_CSS = """
    StepNav { height: auto; margin-top: 1; }
    StepNav Button { margin-right: 2; }
    """

    def __init__(self, back: str | None, next_: str | None, next_label: str = "Next →") -> None:
        super().__init__(classes="step-nav")
        self._back = back
        self._next = next_
        self._next_label = next_label

    def compose(self) -> ComposeResult:
        if self._back:
            yield Button("← Back", id="nav-back", classes="nav-back")
        if self._next:
            yield Button(self._next_label, id="nav-next", variant="primary", classes="nav-next")

    @on(Button.Pressed, "#nav-back")
    def _back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self._back:
            self.post_message(StepRequested(self._back))

    @on(Button.Pressed, "#nav-next")
    def _next_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self._next:
            self.post_message(StepRequested(self._next))

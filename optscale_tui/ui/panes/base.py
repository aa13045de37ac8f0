"""Base class of the app's panes: read `WizardState`, react to `StateChanged`, ask the app to move."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button

from optscale_tui.ui.messages import StateChanged, StepRequested

if TYPE_CHECKING:
    from optscale_tui.ui.app import OptScaleApp
    from optscale_tui.ui.state import WizardState


class StepView(VerticalScroll, can_focus=False):
    """A pane of the app (one of the step bar's entries). Subclasses implement `refresh_from_state(what)`.

    The pane itself takes no focus: as a tab stop it showed nothing focused, between the step bar and the pane's
    first control. Its scroll keys (PgUp/PgDn…) still work from any control inside it."""

    DEFAULT_CSS = """
    StepView { padding: 0 1; }
    """

    @property
    def wizard(self) -> OptScaleApp:
        return self.app  # type: ignore[return-value]

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    def on_mount(self) -> None:
        # Textual calls every class's on_mount along the MRO, subclass first: a view's own on_mount (adding table
        # columns…) runs before this one, and must not call super().on_mount() (that would refresh twice).
        self.refresh_from_state("all")

    @on(StateChanged)
    def _state_changed(self, event: StateChanged) -> None:
        self.refresh_from_state(event.what)

    def refresh_bindings(self) -> None:
        """Only the shown pane's keys are in the Footer, and every refresh recomposes the whole Footer: a hidden pane
        skips it (the app refreshes the bindings when it shows a pane). Measured: the hidden panes refreshing on
        every key typed into the Base URL cost about 25 ms per key."""
        pane = self.parent
        if pane is None or pane.display:
            super().refresh_bindings()

    def focus_first(self) -> None:
        """Put the keyboard focus on the first control of this pane (after a step change)."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def focus_from_top(self, widget: Widget) -> None:
        """Focus `widget` but show the pane from its first line: focusing with scroll_visible would scroll the
        intro above a tall widget off the top."""
        widget.focus(scroll_visible=False)
        self.scroll_home(animate=False)

    def refresh_from_state(self, what: str) -> None:
        """Update the widgets from `self.state`; `what` is "all", "settings", "connection", "tiers", "saved"…"""


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

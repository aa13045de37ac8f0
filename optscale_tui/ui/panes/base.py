"""Base class of the app's panes: read `WizardState` through `PaneHost`, react to `StateChanged`, and tell the app
what they want with messages (ui/messages.py); a pane never imports the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.containers import VerticalScroll
from textual.widget import Widget

from optscale_tui.ui.messages import Change, StateChanged

if TYPE_CHECKING:
    from optscale_tui.ui.state import PaneHost, WizardState


class Pane(VerticalScroll, can_focus=False):
    """A pane of the app (one of the step bar's entries). Subclasses implement `refresh_from_state(change)`.

    The pane itself takes no focus: as a tab stop it showed nothing focused, between the step bar and the pane's
    first control. Its scroll keys (PgUp/PgDn…) still work from any control inside it."""

    DEFAULT_CSS = """
    Pane { padding: 0 1; }
    """

    @property
    def host(self) -> PaneHost:
        """The app, as far as a pane may read it."""
        return self.app  # type: ignore[return-value]

    @property
    def state(self) -> WizardState:
        return self.host.state

    def on_mount(self) -> None:
        # Textual calls every class's on_mount along the MRO, subclass first: a view's own on_mount (adding table
        # columns…) runs before this one, and must not call super().on_mount() (that would refresh twice).
        self.refresh_from_state(Change.ALL)

    @on(StateChanged)
    def _state_changed(self, event: StateChanged) -> None:
        self.refresh_from_state(event.change)

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

    def refresh_from_state(self, change: Change | None) -> None:
        """Update the widgets from `self.state`; `change` says what changed (Change.ALL: everything; None: the pane
        redraws on its own account, nothing in the state changed)."""

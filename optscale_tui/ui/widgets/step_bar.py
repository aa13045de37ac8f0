"""The one-line bar that names every pane (the wizard's steps in order, then the tools) and the box each pane lives in.

It replaces a TabbedContent: one widget instead of about seventeen (Tabs, a Tab per pane, the underline, a TabPane
per pane), and one row instead of two at 80×24. Measured in an 80×24 pty, that alone takes about 20 ms off the first
frame. It behaves like a tab row: click a name, or focus the bar and use ←/→.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.style import Style
from textual.widget import Widget


class PaneSlot(Vertical):
    """The box of one pane inside the app's ContentSwitcher (its id is the pane's id, as on this bar); the pane
    itself (panes/base.py) mounts into it after the first frame."""

    DEFAULT_CSS = """
    PaneSlot {
        height: 1fr;
    }
    """


class StepBar(Widget, can_focus=True):
    """Names every pane on one line. The active one is bold and underlined on a highlight (the underline, so that it
    reads without colour too). The first `steps` panes are the wizard's: joined by `›` to show their order."""

    DEFAULT_CSS = """
    StepBar {
        height: 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StepBar > .step-bar--item {
        color: $text-muted;
    }
    StepBar > .step-bar--active {
        color: $text;
        background: $primary 40%;
    }
    StepBar:focus > .step-bar--item {
        color: $text;
    }
    StepBar:focus > .step-bar--active {
        color: auto 100%;  /* full strength: the 87% of $block-cursor-foreground is 3.8:1 on the dark theme's blue */
        background: $block-cursor-background;
    }
    StepBar > .step-bar--separator {
        color: $text-disabled;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "step-bar--item", "step-bar--active", "step-bar--separator",
    }
    _ALONG = Binding.Group("Pane", compact=True)  # the Footer shows "←→ Pane" while the bar has the focus
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Previous pane", tooltip="on the step bar (or click a name)", group=_ALONG),
        Binding("right", "move(1)", "Next pane", tooltip="on the step bar (or click a name)", group=_ALONG),
        Binding("enter,down", "enter_pane", "Into the pane", tooltip="on the step bar: focus the pane's first control"),
    ]

    # The names carry @click actions; Textual's link colours would override the bar's own (contrasted against the
    # bar, not against the highlight: unreadable on the focused highlight in light themes).
    auto_links = False

    active: reactive[str] = reactive("")

    class Chosen(Message):
        """The user moved along the bar with ←/→: show `pane`, and leave the focus on the bar (as a tab row does)."""

        def __init__(self, pane: str) -> None:
            super().__init__()
            self.pane = pane

    def __init__(self, panes: Sequence[tuple[str, str]], *, steps: int, active: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.panes = tuple(panes)  # (pane id, label)
        self.steps = steps
        self.set_reactive(StepBar.active, active)

    def render(self) -> Content:
        parts: list[str | tuple[str, Style]] = []
        for index, (pane, label) in enumerate(self.panes):
            if index:
                between = "›" if index < self.steps else " │ " if index == self.steps else ""
                parts.append((between, self.get_visual_style("step-bar--separator")))
            is_active = pane == self.active
            # A click runs the app's own step action, exactly as the pane's function key does.
            style = self.get_visual_style("step-bar--active" if is_active else "step-bar--item") + Style.from_meta(
                {"@click": f"app.step({pane!r})"})
            label_style = style + Style(bold=True, underline=True) if is_active else style
            parts.extend(((" ", style), (label, label_style), (" ", style)))
        return Content.assemble(*parts)

    # Where the focus is, said on the line above the bar while it has it: shift+tab from a pane's first field lands
    # here, and then ←/→ switch panes and a paste has no field. The app shows FOCUS_NOTE in its title line.
    FOCUS_NOTE = "Focus: the step bar · ←/→ switch panes · ↓ or Enter: into the pane"

    class FocusChanged(Message):
        def __init__(self, focused: bool) -> None:
            super().__init__()
            self.focused = focused

    def on_focus(self) -> None:
        self.post_message(self.FocusChanged(True))

    def on_blur(self) -> None:
        self.post_message(self.FocusChanged(False))

    async def _on_paste(self, event: events.Paste) -> None:
        # A paste here was dropped silently: it goes into the pane, to the field that takes the focus there.
        event.stop()
        await self.action_enter_pane()
        self.call_after_refresh(self._forward_paste, event.text)

    def _forward_paste(self, text: str) -> None:
        focused = self.screen.focused
        if focused is not None and focused is not self:
            focused.post_message(events.Paste(text))

    async def action_enter_pane(self) -> None:
        await self.app.run_action(f"step({self.active!r})")  # what the pane's function key does: show it, focus into it

    def action_move(self, offset: int) -> None:
        ids = [pane for pane, _label in self.panes]
        index = ids.index(self.active) if self.active in ids else 0
        self.post_message(self.Chosen(ids[(index + offset) % len(ids)]))

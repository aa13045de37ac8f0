"""A read-only view of a unified diff (already masked by core), coloured through the theme.

Lines keep their `+` / `-` / `@@` prefixes, so the diff reads the same without colour (NO_COLOR, a screen reader,
a copy). Colours come from component classes styled with theme variables, and the widget uses the Line API like
Textual's Log: only visible lines are rendered, long lines scroll horizontally instead of wrapping (a wrapped JSON
line would read as two), and a theme switch restyles it on the next refresh. Where the horizontal scrollbar is hidden
(`scrollbar-size-horizontal: 0`, to save the row), a line cut at either edge shows "…" there instead; ←/→ (or
shift+wheel) still scroll it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from optscale_tui.core.secrets import clean_outside_text


def line_kind(line: str) -> str:
    """The component class of one diff line."""
    if line.startswith(("---", "+++")):
        return "diff--header"
    if line.startswith("@@"):
        return "diff--hunk"
    if line.startswith("+"):
        return "diff--added"
    if line.startswith("-"):
        return "diff--removed"
    if line.startswith("\\"):
        return "diff--note"
    return "diff--context"


class DiffView(ScrollView, can_focus=True):
    """Shows a unified diff; `set_diff("")` shows `empty_text` instead."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "diff--header", "diff--hunk", "diff--added", "diff--removed", "diff--context", "diff--note", "diff--empty",
    }

    DEFAULT_CSS = """
    DiffView {
        height: auto;
        max-height: 16;
        overflow-x: auto;
        overflow-y: auto;
        background: $surface;
        border-left: outer $panel;
        padding-left: 1;
        &:focus { border-left: outer $primary; background-tint: $foreground 4%; }
        & > .diff--header { color: $text-muted; text-style: bold; }
        /* $text-accent is under 3:1 on a light theme's surface; $text-primary reads in both */
        & > .diff--hunk { color: $text-primary; }
        & > .diff--added { color: $text-success; background: $success-muted; }
        & > .diff--removed { color: $text-error; background: $error-muted; }
        & > .diff--context { color: $foreground; }
        & > .diff--note { color: $text-muted; text-style: italic; }
        & > .diff--empty { color: $text-muted; }
    }
    """

    def __init__(self, diff: str = "", *, empty_text: str = "(no differences)", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.empty_text = empty_text
        self._lines: list[str] = []
        self._to_first_change = False
        self.set_diff(diff)

    @property
    def text(self) -> str:
        """The diff as shown (for copying and tests)."""
        return "\n".join(self._lines)

    @property
    def lines(self) -> list[str]:
        return list(self._lines)

    @property
    def first_change(self) -> int | None:
        """The index of the hunk header (`@@`) above the first added or removed line, or of that line itself."""
        hunk = None
        for index, line in enumerate(self._lines):
            kind = line_kind(line)
            if kind == "diff--hunk":
                hunk = index
            elif kind in ("diff--added", "diff--removed"):
                return index if hunk is None else hunk
        return None

    def scroll_to_first_change(self) -> None:
        """Scroll so that the first change starts the view (a no-op when the whole diff fits).

        The aim holds until the reader scrolls (keys, wheel or scrollbar): a view not laid out yet (a pane not
        shown) gets there once it has its size, and a view that shrinks later, when panels around it fill in,
        scrolls again instead of keeping a clamped offset that hides the change. Focus alone is not the reader
        taking over: the pane focuses the diff itself when it opens."""
        self._to_first_change = True
        self._apply_first_change()

    def _apply_first_change(self) -> None:
        if not self._to_first_change or not self.is_mounted or not self.scrollable_content_region.height:
            return
        first = self.first_change
        if first is not None and self.scroll_y != first:
            self.scroll_to(y=first, animate=False, immediate=True)

    def _reader_takes_over(self) -> None:
        self._to_first_change = False

    def on_resize(self) -> None:
        self._apply_first_change()

    # The reader scrolling, by key, wheel or scrollbar, ends the aim at the first change.
    def action_scroll_up(self) -> None:
        self._reader_takes_over()
        super().action_scroll_up()

    def action_scroll_down(self) -> None:
        self._reader_takes_over()
        super().action_scroll_down()

    def action_page_up(self) -> None:
        self._reader_takes_over()
        super().action_page_up()

    def action_page_down(self) -> None:
        self._reader_takes_over()
        super().action_page_down()

    def action_scroll_home(self) -> None:
        self._reader_takes_over()
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self._reader_takes_over()
        super().action_scroll_end()

    def on_mouse_scroll_down(self) -> None:
        self._reader_takes_over()

    def on_mouse_scroll_up(self) -> None:
        self._reader_takes_over()

    def on_scroll_to(self) -> None:  # the scrollbar dragged or clicked
        self._reader_takes_over()

    def on_scroll_up(self) -> None:
        self._reader_takes_over()

    def on_scroll_down(self) -> None:
        self._reader_takes_over()

    @property
    def marks_cuts(self) -> bool:
        """True when no horizontal scrollbar tells that a line goes on: the cut edges then show "…"."""
        return self.styles.scrollbar_size_horizontal == 0

    def set_diff(self, diff: str) -> None:
        # A settings file may hold DEL or C1 characters raw (JSON allows them in strings): never drawn raw.
        self._lines = [clean_outside_text(line).expandtabs(4) for line in diff.splitlines()]
        self._to_first_change = False
        shown = self._lines or [self.empty_text]
        width = max(cell_len(line) for line in shown) + 1
        self.virtual_size = Size(width, len(shown))
        if self.is_mounted:
            self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self._lines:
            text, kind = (self.empty_text, "diff--empty") if index == 0 else ("", "diff--context")
        elif index < len(self._lines):
            text = self._lines[index]
            kind = line_kind(text)
        else:
            return Strip.blank(width, base)
        # The partial style keeps the view's own background (and its focus tint), but resolves an `auto` colour such
        # as $text-muted against no background at all: white, unreadable on a light theme. The colour comes from the
        # full style, resolved against the background the line is really drawn on.
        resolved = self.get_component_rich_style(kind)
        style: Style = base + self.get_component_rich_style(kind, partial=True) + Style(color=resolved.color)
        # crop_extend pads with the line's style: its background runs across the view, like a diff in an editor.
        length = cell_len(text)
        strip = Strip([Segment(text, style)], length).crop_extend(scroll_x, scroll_x + width, style)
        # Scrolled sideways, a body line keeps its sign column (+, - or a blank for context): without colour
        # (NO_COLOR, a screen reader) it is the only sign of what the line is, and a context line must not show a
        # "-" of its text (e.g. "sk-bf-…") where the sign would be.
        body = kind in ("diff--added", "diff--removed", "diff--context") and bool(self._lines)
        sign = text[:1] if scroll_x > 0 and body and text else ""
        cut_left = 0 < scroll_x < length
        if self.marks_cuts and width > 2:
            if length > scroll_x + width:
                strip = Strip.join([strip.crop(0, width - 1), Strip([Segment("…", style)], 1)])
            if cut_left or sign:
                lead = sign + ("…" if cut_left else "")
                strip = Strip.join([Strip([Segment(lead, style)], len(lead)), strip.crop(len(lead), width)])
        elif sign and width > 1:
            strip = Strip.join([Strip([Segment(sign, style)], 1), strip.crop(1, width)])
        return strip.apply_offsets(scroll_x, index)

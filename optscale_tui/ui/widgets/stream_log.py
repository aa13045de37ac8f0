"""A `Log` for streamed model replies: word-wrapped as it is written, and scrolled to the end only while the user is
at the bottom (someone reading earlier lines is not yanked away).

`Log` is line-based and renders only the visible lines, so thousands of chunks cost little; callers should still
batch writes (the verify view flushes ~30 times a second). A word split across two chunks is held back until it is
complete, so wrapping never breaks a word in two.
"""

from __future__ import annotations

import re
import textwrap

from rich.cells import cell_len
from textual.widgets import Log

from optscale_tui.core.secrets import clean_outside_text

_TOKENS = re.compile(r"(\s+)")


class StreamLog(Log):
    DEFAULT_CSS = """
    StreamLog { height: 1fr; overflow-x: hidden; }
    """

    def __init__(self, *, id: str | None = None, indent: str = "  ") -> None:
        super().__init__(id=id, highlight=False, auto_scroll=True)
        self.indent = indent
        self._col = 0  # cells on the current (last) line
        self._tail = ""  # an unfinished word held back until the next write
        self._in_stream = False

    @property
    def in_stream(self) -> bool:
        """A streamed reply is open (begun, not yet ended): the next line() closes it first."""
        return self._in_stream

    @property
    def wrap_width(self) -> int:
        width = self.scrollable_content_region.width
        return max(20, (width if width > 0 else 78) - 1)

    def _write(self, text: str) -> None:
        """Write keeping the view at the end only if the user was already there."""
        self.write(text, scroll_end=self.is_vertical_scroll_end)

    def line(self, text: str) -> None:
        """A line of its own (closes an open stream first), wrapped under the indent: the log does not scroll
        sideways, so a long header (model name, cause) would otherwise be cut off."""
        if self._in_stream:
            self.end_stream()
        text = clean_outside_text(text, single_line=True)
        prefix = "\n" if self._col else ""
        wrapped = textwrap.wrap(text, self.wrap_width, subsequent_indent=self.indent, break_on_hyphens=False)
        self._write(prefix + "\n".join(wrapped or [""]) + "\n")
        self._col = 0

    def paragraph(self, text: str) -> None:
        """A word-wrapped paragraph under the indent."""
        if self._in_stream:
            self.end_stream()
        self._in_stream = True
        self.stream(text)
        self.end_stream()

    def begin_stream(self, header: str) -> None:
        self.line(header)
        self._in_stream = True

    def stream(self, text: str) -> None:
        """Append streamed text, word-wrapped under the indent. It is outside text (a model's reply): core cleans
        it as it streams; this is the last guard before the terminal (no escape sequence, no key)."""
        text = clean_outside_text(text)
        if not text:
            return
        text = self._tail + text
        match = re.search(r"\S+$", text)
        if match:  # the last word may continue in the next chunk
            self._tail, text = match.group(0), text[: match.start()]
        else:
            self._tail = ""
        self._emit(text)

    def end_stream(self) -> None:
        tail, self._tail = self._tail, ""
        self._emit(tail)
        if self._col:
            self._write("\n")
            self._col = 0
        self._in_stream = False

    def _emit(self, text: str) -> None:
        if not text:
            return
        width = self.wrap_width
        out: list[str] = []
        col = self._col
        for token in _TOKENS.split(text):
            if not token:
                continue
            if token.isspace():
                if "\n" in token:  # the reply's own line breaks
                    out.append("\n")
                    col = 0
                elif col and col + len(token) <= width:
                    out.append(token)
                    col += len(token)
                elif col:  # the space would overflow: break the line there instead
                    out.append("\n")
                    col = 0
                continue
            if col == 0:
                out.append(self.indent)
                col = len(self.indent)
            size = cell_len(token)
            if col > len(self.indent) and col + size > width:
                out.append("\n" + self.indent)
                col = len(self.indent)
            while col + size > width and size > width - len(self.indent):  # one word longer than a line
                room = width - col
                out.append(token[:room] + "\n" + self.indent)
                token, size, col = token[room:], cell_len(token[room:]), len(self.indent)
            out.append(token)
            col += size
        self._col = col
        self._write("".join(out))

    def clear(self):  # type: ignore[override]
        self._col, self._tail, self._in_stream = 0, "", False
        return super().clear()

    @property
    def text(self) -> str:
        """Everything written so far (tests and copy)."""
        return "\n".join(self.lines)

"""An incremental Server-Sent Events decoder (the WHATWG `text/event-stream` framing).

Fed raw bytes exactly as they come off the socket, so a chunk may end anywhere: inside a line, between the CR and
the LF of a CRLF, or in the middle of a multi-byte UTF-8 character. Lines end with CRLF, LF or a lone CR; `data:`
lines of one event are joined with "\n"; `:` lines are comments; a blank line dispatches the event.

Kept apart from httpx (httpx-sse works on whole decoded lines from the response) so it can be tested byte by byte
and so the gateway client can time the first text delta at the moment its bytes arrive.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_LINE_END = re.compile(r"\r\n|\r|\n")

# A single line longer than this is not an Anthropic event; stop buffering instead of growing without bound.
MAX_LINE_CHARS = 4 * 1024 * 1024
# Nor is an event whose data lines add up to more than this (endless `data:` lines without the blank line).
MAX_EVENT_CHARS = 4 * 1024 * 1024


class SSEError(ValueError):
    """The byte stream cannot be framed as Server-Sent Events (invalid UTF-8, a runaway line)."""


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """`feed(bytes) -> [events]` as complete events become available; `close() -> [events]` at end of stream."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._buffer = ""
        self._skip_lf = False  # the previous chunk ended with CR: a leading LF belongs to that line end
        self._started = False  # a UTF-8 BOM is only skipped at the very start
        self._event = ""
        self._data: list[str] = []
        self._data_chars = 0
        self._id: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        try:
            text = self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise SSEError(f"the stream is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
        return self._feed_text(text)

    def close(self) -> list[ServerSentEvent]:
        """End of stream. A trailing line without its line end is processed; an event without its blank line is
        dropped, as the spec says (an incomplete event is not an event)."""
        try:
            text = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise SSEError(f"the stream ended inside a UTF-8 character ({exc.reason})") from None
        events = self._feed_text(text)
        if self._buffer:
            self._process_line(self._buffer)
            self._buffer = ""
        return events

    @property
    def pending(self) -> bool:
        """True while part of an event has been read but not dispatched."""
        return bool(self._buffer or self._data or self._event)

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        if not self._started:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        buffer = self._buffer + text
        events: list[ServerSentEvent] = []
        pos = 0
        for match in _LINE_END.finditer(buffer):
            event = self._process_line(buffer[pos : match.start()])
            if event is not None:
                events.append(event)
            pos = match.end()
        self._buffer = buffer[pos:]
        if pos and buffer[pos - 1] == "\r":
            self._skip_lf = True
        if len(self._buffer) > MAX_LINE_CHARS:
            raise SSEError(f"a line in the stream is longer than {MAX_LINE_CHARS} characters")
        return events

    def _process_line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._data_chars += len(value) + 1
            if self._data_chars > MAX_EVENT_CHARS:
                raise SSEError(f"an event in the stream is longer than {MAX_EVENT_CHARS} characters")
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit() and len(value) <= 12:
            self._retry = int(value)  # ASCII only: int("²") raises, and so does a 5,000-digit number
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if self._id is not None:
            self._last_id = self._id
            self._id = None
        if not self._data:
            self._event = ""
            return None
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._last_id,
            retry=self._retry,
        )
        self._event = ""
        self._data = []
        self._data_chars = 0
        return event

"""The incremental SSE decoder: chunks split anywhere (byte by byte, mid-UTF-8, between CR and LF)."""

from __future__ import annotations

import pytest

from optscale_tui.core.gateway.sse import ServerSentEvent, SSEDecoder, SSEError

STREAM = (
    'event: message_start\ndata: {"type":"message_start"}\n\n'
    ": a comment line\n"
    "event: ping\ndata: {}\n\n"
    'event: content_block_delta\ndata: {"text":"Привет, мир — 👋 héllo"}\n\n'
    "event: multi\ndata: line one\ndata: line two\nid: 7\nretry: 1500\n\n"
    'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)

EXPECTED = [
    ServerSentEvent("message_start", '{"type":"message_start"}'),
    ServerSentEvent("ping", "{}"),
    ServerSentEvent("content_block_delta", '{"text":"Привет, мир — 👋 héllo"}'),
    ServerSentEvent("multi", "line one\nline two", id="7", retry=1500),
    ServerSentEvent("message_stop", '{"type":"message_stop"}', id="7", retry=1500),
]


def decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_whole_stream_each_line_ending(newline: str) -> None:
    raw = STREAM.replace("\n", newline).encode()
    assert decode([raw]) == EXPECTED


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_byte_by_byte(newline: str) -> None:
    raw = STREAM.replace("\n", newline).encode()
    assert decode([raw[i : i + 1] for i in range(len(raw))]) == EXPECTED


def test_every_two_way_split_including_mid_utf8_and_between_cr_lf() -> None:
    raw = STREAM.replace("\n", "\r\n").encode()
    for cut in range(len(raw) + 1):
        assert decode([raw[:cut], raw[cut:]]) == EXPECTED, cut


def test_split_inside_a_multibyte_character() -> None:
    raw = 'data: {"t":"👋"}\n\n'.encode()
    emoji_start = raw.index("👋".encode())
    chunks = [raw[: emoji_start + 1], raw[emoji_start + 1 : emoji_start + 3], raw[emoji_start + 3 :]]
    assert decode(chunks) == [ServerSentEvent("message", '{"t":"👋"}')]


def test_cr_at_chunk_end_then_lf_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == [ServerSentEvent("message", "a")]
    # the LF after the second CR belongs to that CR, it is not a second blank line
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [ServerSentEvent("message", "b")]


def test_lone_cr_followed_by_empty_chunk_keeps_state() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n\n") == [ServerSentEvent("message", "x")]


def test_bom_only_stripped_at_start() -> None:
    raw = "\ufeffdata: x\n\n".encode()
    assert decode([raw[:1], raw[1:]]) == [ServerSentEvent("message", "x")]


def test_field_without_space_and_without_colon() -> None:
    assert decode([b"event:e\ndata:v\ndata\n\n"]) == [ServerSentEvent("e", "v\n")]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode([b"event: lonely\n\ndata: x\n\n"]) == [ServerSentEvent("message", "x")]


def test_incomplete_event_at_close_is_dropped_and_pending_reported() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: message_stop\ndata: {}") == []
    assert decoder.pending
    assert decoder.close() == []


def test_invalid_utf8_is_an_sse_error() -> None:
    with pytest.raises(SSEError, match="UTF-8"):
        SSEDecoder().feed(b"data: \xff\xfe\n\n")


def test_stream_ending_inside_a_character_is_an_sse_error() -> None:
    decoder = SSEDecoder()
    decoder.feed("data: 👋".encode()[:-1])
    with pytest.raises(SSEError, match="UTF-8"):
        decoder.close()


def test_runaway_line_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import optscale_tui.core.gateway.sse as sse

    monkeypatch.setattr(sse, "MAX_LINE_CHARS", 10)
    with pytest.raises(SSEError, match="longer"):
        SSEDecoder().feed(b"data: " + b"x" * 50)


def test_endless_data_lines_without_the_blank_line_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each line is short, so the line cap never fires; the event they add up to must not grow without bound."""
    import optscale_tui.core.gateway.sse as sse_module

    monkeypatch.setattr(sse_module, "MAX_EVENT_CHARS", 1000)
    decoder = SSEDecoder()
    with pytest.raises(SSEError, match="event"):
        for _ in range(1000):
            decoder.feed(b"data: xxxxxxxx\n")


@pytest.mark.parametrize("value", ["²", "1" * 5000, "٣"], ids=["superscript", "5000-digits", "arabic-indic"])
def test_a_retry_that_is_not_a_plain_number_is_ignored(value: str) -> None:
    """str.isdigit() accepts '²' and Arabic-Indic digits, which int() refuses, and int() refuses 5,000 digits."""
    events = SSEDecoder().feed(f"retry: {value}\ndata: x\n\n".encode())
    assert events == [ServerSentEvent("message", "x", None, None)]

"""Streamed replies: the Anthropic Messages event sequence and OpenAI's ``data:`` chunks ending in ``[DONE]``, each
delta paced by the fault knobs (first-token delay, delay between deltas, a stream cut after N deltas).

Every event is one ``write_chunk`` (one ``sendall``) on the handler's HTTP/1.1 chunked response."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from optscale_tui.demo.exchange import Exchange
from optscale_tui.demo.faults import Faults


class StreamAborted(Exception):
    """The stream stops here: cut on purpose, server stopping, or the client went away."""


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream_deltas(h: Exchange, pieces: list[str], faults: Faults, render: Callable[[str], bytes]) -> None:
    stopping = h.gateway._stopping
    h.pause(faults.ttft_ms)
    delay = max(0.0, float(faults.chunk_delay_ms or 0)) / 1000.0
    cut = faults.cut_stream_after
    first_at = time.perf_counter()
    for i, piece in enumerate(pieces):
        if cut is not None and i >= cut:
            raise StreamAborted
        if delay and i:
            remaining = first_at + i * delay - time.perf_counter()
            if remaining > 0 and stopping.wait(remaining):
                raise StreamAborted
        if stopping.is_set():
            raise StreamAborted
        h.write_chunk(render(piece))
    if cut is not None and len(pieces) >= cut:
        raise StreamAborted


def stream_message(h: Exchange, message: dict[str, Any], block: dict[str, Any], pieces: list[str],
                   faults: Faults, stop_reason: str) -> None:
    """Anthropic's event sequence: `message` (as message_start carries it), one content `block` (text, or a
    tool_use whose input JSON streams in pieces), then the stop reason."""
    if block["type"] == "tool_use":
        delta_head = (
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"input_json_delta","partial_json":'
        )
    else:
        delta_head = (
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":'
        )
    h.start_stream("text/event-stream; charset=utf-8")
    h.write_chunk(sse("message_start", {"type": "message_start", "message": message}))
    h.write_chunk(sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}))
    h.write_chunk(sse("ping", {"type": "ping"}))
    stream_deltas(h, pieces, faults, lambda piece: delta_head + json.dumps(piece).encode() + b"}}\n\n")
    h.write_chunk(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    h.write_chunk(
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": len(pieces)},
            },
        )
    )
    h.write_chunk(sse("message_stop", {"type": "message_stop"}))
    h.end_stream()


def stream_chat(h: Exchange, head: dict[str, Any], pieces: list[str], finish: str, faults: Faults,
                usage: dict[str, int] | None) -> None:
    """OpenAI's chunks: the role, one chunk per piece, the finish reason, the usage when asked, ``[DONE]``."""

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return (
            b"data: "
            + json.dumps({**head, "choices": choices, **extra}, separators=(",", ":")).encode()
            + b"\n\n"
        )

    h.start_stream("text/event-stream; charset=utf-8")
    h.write_chunk(chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]))
    stream_deltas(
        h,
        pieces,
        faults,
        lambda piece: chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}]),
    )
    h.write_chunk(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
    if usage is not None:
        h.write_chunk(chunk([], usage=usage))
    h.write_chunk(b"data: [DONE]\n\n")
    h.end_stream()

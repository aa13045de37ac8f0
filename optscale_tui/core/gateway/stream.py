"""One streamed reply being read: Server-Sent Events (see sse.py) -> Anthropic Messages events -> what the reply
delivered so far (text, tool calls, usage, stop reason), timed at the moment the bytes arrive. A failure on the way
raises `ProbeFailed` with its cause, which the probe turns into its ProbeResult."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from optscale_tui.core.causes import Cause
from optscale_tui.core.gateway.body import iter_decoded
from optscale_tui.core.gateway.errors import (
    ProbeFailed,
    cause_for_stream_error,
    parse_json,
    server_message,
    truncate,
)
from optscale_tui.core.gateway.sse import ServerSentEvent, SSEDecoder, SSEError

# Decoded-size cap (see body.py): what a hostile or broken gateway can make us hold in memory.
MAX_STREAM_BYTES = 2 * 1024 * 1024  # one streamed reply; ours ask for at most 128 tokens (a few KiB)
MAX_TEXT_CHARS = 16 * 1024  # the reply text kept for the result (`on_text` still sees every piece)


@dataclass
class Block:
    """A content block of the reply: its type and, for a tool call, the tool's name and input (streamed as JSON
    pieces, parsed at content_block_stop)."""

    type: str
    name: str | None = None
    json_parts: list[str] = field(default_factory=list)
    input: Any = None


@dataclass
class StreamState:
    """What one streamed reply delivered so far."""

    t0: float
    on_text: Callable[[str], None] | None
    text_parts: list[str] = field(default_factory=list)
    text_len: int = 0
    text_chunks: int = 0
    first_text_at: float | None = None
    blocks: dict[int, Block] = field(default_factory=dict)
    output_tokens: int | None = None
    input_tokens: int | None = None
    stop_reason: str | None = None
    message_id: str | None = None
    served_model: str | None = None
    started: bool = False
    stopped: bool = False
    events: int = 0

    def add_text(self, text: str) -> None:
        if not text:
            return
        if self.first_text_at is None:
            self.first_text_at = time.perf_counter()
        self.text_chunks += 1
        if self.text_len < MAX_TEXT_CHARS:
            self.text_parts.append(text)
            self.text_len += len(text)
        if self.on_text is not None:
            self.on_text(text)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)[:MAX_TEXT_CHARS]

    def tool_uses(self) -> list[Block]:
        return [b for b in self.blocks.values() if b.type in ("tool_use", "server_tool_use")]


async def consume_sse(response: httpx.Response, state: StreamState, where: str) -> None:
    """Read an event stream into `state` until message_stop; a stream that ends before it was cut."""
    decoder = SSEDecoder()
    try:
        async for chunk in iter_decoded(response, MAX_STREAM_BYTES):
            for event in decoder.feed(chunk):
                handle_event(event, state, where)
                if state.stopped:
                    return
            # Buffered chunks arrive without a suspension point; give the event loop (a UI's key presses,
            # the other probes) a turn per network read, not per event.
            await asyncio.sleep(0)
        for event in decoder.close():
            handle_event(event, state, where)
    except SSEError as exc:
        raise ProbeFailed(Cause.BAD_RESPONSE, f"{where}: {exc}", response.status_code) from None
    if not state.stopped:
        if not state.events:
            what = "before any event"
        elif not state.started:
            what = "without message_start"
        else:
            what = f"after {state.events} events, without message_stop"
        raise ProbeFailed(
            Cause.STREAM_CUT,
            f"{where}: the stream ended {what}; a proxy or load balancer may be cutting it.",
            response.status_code,
        )


def handle_event(event: ServerSentEvent, state: StreamState, where: str) -> None:
    """One Anthropic Messages event into `state`; an `error` event or a stream in another format raises."""
    try:
        data = json.loads(event.data)
    except (ValueError, RecursionError):
        raise ProbeFailed(
            Cause.BAD_RESPONSE,
            f"{where}: a '{event.event}' event carried data that is not JSON: {truncate(event.data, 120)!r}",
        ) from None
    kind = event.event
    if kind == "message" and isinstance(data, dict):
        kind = str(data.get("type") or "message")  # some proxies drop the `event:` lines
    state.events += 1
    if not isinstance(data, dict):
        raise ProbeFailed(
            Cause.BAD_RESPONSE, f"{where}: a '{kind}' event carried {type(data).__name__} data"
        )
    handler = _EVENT_HANDLERS.get(kind)
    if handler is not None:
        handler(data, state, where)
    elif "choices" in data or kind in ("chat.completion.chunk", "chat.completion"):
        raise ProbeFailed(
            Cause.BAD_RESPONSE,
            f"{where}: the stream is in the OpenAI chat-completions format, not Anthropic Messages",
        )
    # Unknown event types are ignored, as the Anthropic API asks clients to do.


def _member(data: dict[str, Any], name: str) -> dict[str, Any]:
    """An object member of an event, or {} when it is missing or not an object."""
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _on_error(data: dict[str, Any], state: StreamState, where: str) -> None:
    err = _member(data, "error")
    etype = str(err.get("type") or "api_error")
    message = str(err.get("message") or "")
    cause = cause_for_stream_error(etype, data)
    raise ProbeFailed(cause, f"{where}: error event in the middle of the stream: {message or etype} ({etype})")


def _on_message_start(data: dict[str, Any], state: StreamState, where: str) -> None:
    state.started = True
    msg = _member(data, "message")
    state.message_id = msg.get("id")
    state.served_model = msg.get("model")
    usage = _member(msg, "usage")
    if isinstance(usage.get("input_tokens"), int):
        state.input_tokens = usage["input_tokens"]
    if isinstance(usage.get("output_tokens"), int) and usage["output_tokens"] > 1:
        state.output_tokens = usage["output_tokens"]


def _on_content_block_start(data: dict[str, Any], state: StreamState, where: str) -> None:
    block = _member(data, "content_block")
    index = data.get("index", len(state.blocks))
    btype = str(block.get("type") or "")
    state.blocks[index] = Block(type=btype, name=block.get("name"), input=block.get("input"))
    if btype == "text" and block.get("text"):
        state.add_text(str(block["text"]))


def _on_content_block_delta(data: dict[str, Any], state: StreamState, where: str) -> None:
    delta = _member(data, "delta")
    dtype = delta.get("type")
    index = data.get("index", 0)
    if dtype == "text_delta":
        state.add_text(str(delta.get("text") or ""))
    elif dtype == "input_json_delta":
        blk = state.blocks.setdefault(index, Block(type="tool_use"))
        blk.json_parts.append(str(delta.get("partial_json") or ""))


def _on_content_block_stop(data: dict[str, Any], state: StreamState, where: str) -> None:
    blk = state.blocks.get(data.get("index", -1))
    if blk is not None and blk.json_parts:
        raw = "".join(blk.json_parts)
        try:
            blk.input = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ProbeFailed(
                Cause.BAD_RESPONSE,
                f"{where}: the tool call's streamed input is not valid JSON: {truncate(raw, 120)!r}",
            ) from None


def _on_message_delta(data: dict[str, Any], state: StreamState, where: str) -> None:
    delta = _member(data, "delta")
    if delta.get("stop_reason"):
        state.stop_reason = str(delta["stop_reason"])
    usage = _member(data, "usage")
    if isinstance(usage.get("output_tokens"), int):
        state.output_tokens = usage["output_tokens"]


def _on_message_stop(data: dict[str, Any], state: StreamState, where: str) -> None:
    state.stopped = True


def _on_ping(data: dict[str, Any], state: StreamState, where: str) -> None:
    pass


_EVENT_HANDLERS: dict[str, Callable[[dict[str, Any], StreamState, str], None]] = {
    "error": _on_error,
    "message_start": _on_message_start,
    "content_block_start": _on_content_block_start,
    "content_block_delta": _on_content_block_delta,
    "content_block_stop": _on_content_block_stop,
    "message_delta": _on_message_delta,
    "message_stop": _on_message_stop,
    "ping": _on_ping,
}


def accept_json_message(content: bytes, ct: str, state: StreamState, where: str) -> None:
    """A 2xx that is not SSE: accept a complete JSON Messages answer (noted as non-streaming), else fail."""
    data = parse_json(content)
    if (
        not isinstance(data, dict)
        or data.get("type") != "message"
        or not isinstance(data.get("content"), list)
    ):
        what = server_message(content, ct) if content.strip() else "an empty body"
        raise ProbeFailed(
            Cause.BAD_RESPONSE,
            f"{where}: expected an event stream (text/event-stream) but got {ct or 'no content type'}: {what}",
        )
    state.started = state.stopped = True
    state.message_id = data.get("id")
    state.served_model = data.get("model")
    for index, block in enumerate(data["content"]):
        if not isinstance(block, dict):
            continue
        btype = str(block.get("type") or "")
        state.blocks[index] = Block(type=btype, name=block.get("name"), input=block.get("input"))
        if btype == "text":
            state.add_text(str(block.get("text") or ""))
    state.stop_reason = data.get("stop_reason")
    usage = _member(data, "usage")
    if isinstance(usage.get("output_tokens"), int):
        state.output_tokens = usage["output_tokens"]


def stream_extra(state: StreamState) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if state.message_id:
        extra["message_id"] = state.message_id
    if state.served_model:
        extra["served_model"] = state.served_model
    if state.stop_reason:
        extra["stop_reason"] = state.stop_reason
    if state.input_tokens is not None:
        extra["input_tokens"] = state.input_tokens
    return extra


def summary(state: StreamState, *, streaming: bool) -> str:
    text = " ".join(state.text.split())
    shown = f"replied {truncate(text, 60)!r}" if text else "replied without text"
    tail = "" if streaming else ' (answered without streaming: the gateway ignored "stream": true)'
    return shown + tail

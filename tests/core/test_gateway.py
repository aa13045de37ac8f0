"""GatewayClient against httpx.MockTransport: streaming, catalog, count_tokens, tool use, betas, failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from optscale_tui import __version__
from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import GatewayUrl, parse_api_key, parse_base_url
from optscale_tui.core.gateway.client import GatewayClient
from optscale_tui.core.gateway.messages import CLAUDE_CODE_BETAS
from optscale_tui.core.gateway.results import ProbeResult
from tests.core.demo_faults import FAULT_KIND_CAUSES

ORG = "00000000-0000-4000-8000-00000000d3e0"
URL = parse_base_url(f"https://gw.example.test/llm_proxy/{ORG}/v1")
KEY = parse_api_key("sk-bf-TESTKEY-0123456789abcdef")
MESSAGES = f"/llm_proxy/{ORG}/anthropic/v1/messages"
OPENAI_MODELS = f"/llm_proxy/{ORG}/v1/models"
ANTHROPIC_MODELS = f"/llm_proxy/{ORG}/anthropic/v1/models"
COUNT = f"/llm_proxy/{ORG}/anthropic/v1/messages/count_tokens"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport that remembers every request."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self.handler = handler
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: Iterable[bytes], delay: float = 0.0, fail: BaseException | None = None) -> None:
        self.chunks = list(chunks)
        self.delay = delay
        self.fail = fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            if self.delay:
                await asyncio.sleep(self.delay)
            yield chunk
        if self.fail is not None:
            raise self.fail


def sse(*events: tuple[str, Any], newline: str = "\n") -> bytes:
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        out.append(f"event: {name}{newline}data: {payload}{newline}{newline}")
    return "".join(out).encode()


def happy(parts: Iterable[str] = ("Hel", "lo ", "wörld 👋"), output_tokens: int | None = 7) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {"id": "msg_01", "type": "message", "role": "user", "model": "served-model",
                            "content": [], "usage": {"input_tokens": 12, "output_tokens": 1}},
            },
        ),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    for part in parts:
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": part}})
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    usage = {"output_tokens": output_tokens} if output_tokens is not None else {}
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}


def stream_response(body: bytes | list[bytes], *, headers: dict[str, str] | None = None, status: int = 200,
                    delay: float = 0.0, fail: BaseException | None = None) -> httpx.Response:
    chunks = body if isinstance(body, list) else [body]
    return httpx.Response(status, headers={**SSE_HEADERS, **(headers or {})}, stream=Chunks(chunks, delay, fail))


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


def client(rec: Recorder, url: GatewayUrl = URL, **kw: Any) -> GatewayClient:
    return GatewayClient(url, KEY, env={}, transport=rec.transport, **kw)


def assert_no_key(result: object) -> None:
    assert KEY.value not in repr(result)
    assert KEY.value not in str(result)


# ---------------------------------------------------------------------------------------------------------------
# streaming


async def test_stream_message_happy_path_headers_and_text() -> None:
    seen: list[str] = []
    rec = Recorder(lambda r: stream_response(sse(*happy()), headers={"request-id": "req_abc", "cf-ray": "ray-1"}))
    async with client(rec) as gw:
        result = await gw.stream_message("anthropic/claude-haiku-4-5", "ping", on_text=seen.append)
    assert result.ok, result
    assert result.cause is None
    assert result.status == 200
    assert seen == ["Hel", "lo ", "wörld 👋"]
    assert result.text == "Hello wörld 👋"
    assert result.model == "anthropic/claude-haiku-4-5"
    assert result.request_ids == {"request-id": "req_abc", "cf-ray": "ray-1"}
    assert result.timings.output_tokens == 7
    assert result.extra["streaming"] is True
    assert result.extra["message_id"] == "msg_01"
    assert result.extra["served_model"] == "served-model"
    assert result.extra["stop_reason"] == "end_turn"
    assert "Hello" in result.detail

    (request,) = rec.requests
    assert request.method == "POST"
    assert request.url.path == MESSAGES
    assert request.url.query == b""
    assert request.headers["authorization"] == f"Bearer {KEY.value}"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"optscale-tui/{__version__}"
    assert "anthropic-beta" not in request.headers
    body = json.loads(request.content)
    assert body == {"model": "anthropic/claude-haiku-4-5", "max_tokens": 64, "stream": True,
                    "messages": [{"role": "user", "content": "ping"}]}
    assert_no_key(result)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
async def test_stream_split_byte_by_byte(newline: str) -> None:
    raw = sse(*happy(), newline=newline)
    seen: list[str] = []
    rec = Recorder(lambda r: stream_response([raw[i : i + 1] for i in range(len(raw))]))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x", on_text=seen.append)
    assert result.ok, result.detail
    assert "".join(seen) == "Hello wörld 👋"


async def test_stream_split_mid_utf8() -> None:
    raw = sse(*happy(parts=("👋👋", "Привет")))
    cut = raw.index("👋".encode()) + 2
    rec = Recorder(lambda r: stream_response([raw[:cut], raw[cut:]]))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.ok
    assert result.text == "👋👋Привет"


async def test_timings_present_and_sane() -> None:
    events = happy(parts=[f"w{i} " for i in range(6)], output_tokens=6)
    chunks = [sse(e) for e in events]
    rec = Recorder(lambda r: stream_response(chunks, delay=0.02))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    t = result.timings
    assert result.ok
    assert t.ttfb_ms is not None and t.ttft_ms is not None
    assert 0 <= t.ttfb_ms <= t.ttft_ms <= t.total_ms
    assert t.ttft_ms >= 60  # message_start, content_block_start, ping, first delta each 20 ms apart
    assert t.output_tokens == 6
    assert t.tokens_per_s is not None
    assert 6 / ((t.total_ms - t.ttft_ms) / 1000) == pytest.approx(t.tokens_per_s, rel=0.05)


async def test_output_tokens_counted_from_chunks_without_usage() -> None:
    rec = Recorder(lambda r: stream_response(sse(*happy(parts=("a", "b", "c"), output_tokens=None))))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.ok
    assert result.timings.output_tokens == 3
    assert result.timings.tokens_per_s is None  # all at once: a rate would be noise


async def test_betas_are_sent_as_header_and_query() -> None:
    rec = Recorder(lambda r: stream_response(sse(*happy())))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x", betas=("a-1", "b-2"), max_tokens=5)
    assert result.ok
    (request,) = rec.requests
    assert request.headers["anthropic-beta"] == "a-1,b-2"
    assert request.url.params["beta"] == "true"
    assert json.loads(request.content)["max_tokens"] == 5


async def test_missing_message_stop_is_stream_cut() -> None:
    events = [e for e in happy() if e[0] != "message_stop"]
    seen: list[str] = []
    rec = Recorder(lambda r: stream_response(sse(*events)))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x", on_text=seen.append)
    assert not result.ok
    assert result.cause is Cause.STREAM_CUT
    assert "message_stop" in result.detail
    assert result.text == "Hello wörld 👋"  # what arrived before the cut is kept
    assert seen


async def test_empty_event_stream_is_stream_cut() -> None:
    rec = Recorder(lambda r: stream_response(b""))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.cause is Cause.STREAM_CUT
    assert "before any event" in result.detail


async def test_connection_dropped_mid_stream_is_stream_cut() -> None:
    events = happy()[:4]
    fail = httpx.RemoteProtocolError("peer closed connection without sending complete message body")
    rec = Recorder(lambda r: stream_response(sse(*events), fail=fail))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.cause is Cause.STREAM_CUT
    assert result.status == 200
    assert "middle of the reply" in result.detail


async def test_garbled_json_is_bad_response_with_detail() -> None:
    body = sse(*happy()[:2]) + b"event: content_block_delta\ndata: {not json at all\n\n" + sse(*happy()[2:])
    rec = Recorder(lambda r: stream_response(body))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert not result.ok
    assert result.cause is Cause.BAD_RESPONSE
    assert "not JSON" in result.detail and "{not json at all" in result.detail


async def test_invalid_utf8_in_stream_is_bad_response() -> None:
    rec = Recorder(lambda r: stream_response(sse(*happy()[:2]) + b"data: \xff\xfe\n\n"))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.cause is Cause.BAD_RESPONSE
    assert "UTF-8" in result.detail


@pytest.mark.parametrize(
    ("etype", "expected"),
    [
        ("overloaded_error", Cause.SERVER_ERROR),
        ("api_error", Cause.SERVER_ERROR),
        ("rate_limit_error", Cause.RATE_LIMITED),
        ("authentication_error", Cause.AUTH_INVALID_KEY),
    ],
)
async def test_mid_stream_error_event(etype: str, expected: Cause) -> None:
    error = {"type": "error", "error": {"type": etype, "message": f"upstream said {etype}"}}
    rec = Recorder(lambda r: stream_response(sse(*happy()[:4], ("error", error))))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert not result.ok
    assert result.cause is expected
    assert result.status == 200
    assert f"upstream said {etype}" in result.detail
    assert result.text == "Hel"


async def test_events_without_event_lines_use_data_type() -> None:
    body = "".join(f"data: {json.dumps(d)}\n\n" for _, d in happy()).encode()
    rec = Recorder(lambda r: stream_response(body))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.ok, result.detail
    assert result.text == "Hello wörld 👋"


async def test_openai_format_stream_is_bad_response() -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "choices": [{"delta": {"content": "hi"}}]}
    rec = Recorder(lambda r: stream_response(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.cause is Cause.BAD_RESPONSE
    assert "OpenAI" in result.detail


async def test_non_streaming_json_message_is_accepted_and_noted() -> None:
    message = {"id": "msg_2", "type": "message", "role": "assistant", "model": "m",
               "content": [{"type": "text", "text": "pong"}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 3, "output_tokens": 2}}
    seen: list[str] = []
    rec = Recorder(lambda r: json_response(200, message))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x", on_text=seen.append)
    assert result.ok
    assert result.extra["streaming"] is False
    assert "without streaming" in result.detail
    assert seen == ["pong"] and result.text == "pong"
    assert result.timings.output_tokens == 2


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><head><title>Corporate Login</title></head></html>"),
        ("application/json", b'{"object":"chat.completion","choices":[]}'),
        ("text/plain", b""),
    ],
)
async def test_non_sse_200_that_is_not_a_message_is_bad_response(content_type: str, body: bytes) -> None:
    rec = Recorder(lambda r: httpx.Response(200, headers={"content-type": content_type}, content=body))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.cause is Cause.BAD_RESPONSE
    assert "event stream" in result.detail


STREAM_HTTP_ERRORS = [
    (401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, Cause.AUTH_INVALID_KEY),
    (403, {"error": {"message": "Provider 'openai' is not allowed for this virtual key", "type": "", "code": "provider_blocked"}}, Cause.PROVIDER_NOT_ALLOWED),
    (403, {"type": "error", "error": {"type": "permission_error", "message": "Model 'x' is not allowed for this virtual key"}}, Cause.MODEL_NOT_ALLOWED),
    (404, {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-opus-5-5"}}, Cause.MODEL_UNKNOWN),
    (404, "404 page not found", Cause.PATH_NOT_FOUND),
    (400, {"type": "error", "error": {"type": "invalid_request_error", "message": "Unknown model 'x' for this organization"}}, Cause.MODEL_UNKNOWN),
    (402, {"error": {"message": "Budget exceeded", "code": "budget_exceeded"}}, Cause.BUDGET_EXCEEDED),
    (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}, Cause.RATE_LIMITED),
    (500, {"type": "error", "error": {"type": "api_error", "message": "boom"}}, Cause.SERVER_ERROR),
    (502, "<html><head><title>502 Bad Gateway</title></head></html>", Cause.SERVER_ERROR),
    (302, "", Cause.BAD_RESPONSE),
]


@pytest.mark.parametrize(("status", "body", "expected"), STREAM_HTTP_ERRORS)
async def test_stream_http_errors(status: int, body: Any, expected: Cause) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"x-request-id": "rid-9"}
        if status == 302:
            headers["location"] = "https://login.example.test/sso"
        if isinstance(body, str):
            ctype = "text/html" if body.startswith("<") else "text/plain"
            return httpx.Response(status, text=body, headers={**headers, "content-type": ctype})
        return json_response(status, body, headers)

    rec = Recorder(handler)
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert not result.ok
    assert result.cause is expected
    assert result.status == status
    assert result.request_ids == {"x-request-id": "rid-9"}
    assert result.detail.startswith(f"HTTP {status} from POST https://gw.example.test/")
    assert len(rec.requests) == 1  # redirects are not followed
    if status == 502:
        assert "HTML page from a proxy" in result.detail and "502 Bad Gateway" in result.detail
    if status == 302:
        assert "login.example.test" in result.detail
    if isinstance(body, dict):
        message = body["error"]["message"]
        assert message in result.detail
    assert_no_key(result)


# ---------------------------------------------------------------------------------------------------------------
# the key never leaks


async def test_key_echoed_by_server_is_masked_everywhere() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == MESSAGES:
            msg = f"Virtual key {KEY.value} is not allowed to use model x"
            return json_response(403, {"error": {"message": msg, "code": "model_blocked"}}, {"request-id": KEY.value})
        return json_response(401, {"error": {"message": f"bad key {KEY.value}"}})

    rec = Recorder(handler)
    async with client(rec) as gw:
        results: list[object] = [
            await gw.stream_message("m", "x"),
            await gw.count_tokens("m"),
            await gw.list_models(),
            await gw.tool_use_probe("m"),
            await gw.beta_probe("m"),
            gw,
        ]
    for result in results:
        assert_no_key(result)
    first = results[0]
    assert isinstance(first, ProbeResult)
    assert KEY.masked in first.detail
    assert first.request_ids["request-id"] == KEY.masked


async def test_key_in_streamed_text_is_masked() -> None:
    rec = Recorder(lambda r: stream_response(sse(*happy(parts=("your key is ", KEY.value)))))
    async with client(rec) as gw:
        result = await gw.stream_message("m", "x")
    assert result.ok
    assert_no_key(result)


async def test_key_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    rec = Recorder(lambda r: json_response(401, {"error": {"message": f"bad key {KEY.value}"}}))
    async with client(rec) as gw:
        await gw.stream_message("m", "x")
        await gw.list_models()
    fail = httpx.ConnectError(f"weird error mentioning {KEY.value}")

    def boom(request: httpx.Request) -> httpx.Response:
        raise fail

    async with client(Recorder(boom)) as gw:
        result = await gw.stream_message("m", "x")
    assert result.cause is Cause.CONNECT
    assert_no_key(result)
    assert KEY.value not in caplog.text


# ---------------------------------------------------------------------------------------------------------------
# insecure http


async def test_plain_http_to_remote_host_is_refused_before_any_request() -> None:
    url = GatewayUrl(proxy_root=f"http://gw.example.test/llm_proxy/{ORG}", org_id=ORG, is_loopback=False, is_https=False)
    rec = Recorder(lambda r: json_response(200, {}))
    async with client(rec, url=url) as gw:
        results = [
            await gw.stream_message("m", "x"),
            await gw.count_tokens("m"),
            await gw.tool_use_probe("m"),
            await gw.beta_probe("m"),
            await gw.reachability(),
            (await gw.list_models()).probe,
        ]
    assert rec.requests == []
    for result in results:
        assert not result.ok
        assert result.cause is Cause.INSECURE_HTTP
        assert_no_key(result)


async def test_plain_http_to_loopback_is_allowed() -> None:
    url = parse_base_url(f"http://127.0.0.1:8080/llm_proxy/{ORG}/v1")
    rec = Recorder(lambda r: stream_response(sse(*happy())))
    async with client(rec, url=url) as gw:
        result = await gw.stream_message("m", "x")
    assert result.ok
    assert str(rec.requests[0].url).startswith("http://127.0.0.1:8080/")


# ---------------------------------------------------------------------------------------------------------------
# catalog


async def test_catalog_openai_shape_sorted() -> None:
    data = {"object": "list", "data": [
        {"id": "openai/gpt-5", "object": "model", "owned_by": "openai"},
        {"id": "anthropic/claude-sonnet-4-6", "object": "model", "owned_by": "anthropic"},
        {"id": "anthropic/claude-haiku-4-5", "object": "model", "owned_by": "anthropic"},
        {"id": "anthropic/claude-haiku-4-5", "object": "model", "owned_by": "anthropic"},
        {"object": "model"},
    ]}
    rec = Recorder(lambda r: json_response(200, data, {"x-bf-request-id": "bf-1"}))
    async with client(rec) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.ok
    assert catalog.ids == ("anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "openai/gpt-5")
    assert catalog.models[2].owned_by == "openai"
    assert catalog.source == f"https://gw.example.test{OPENAI_MODELS}"
    assert catalog.probe.extra == {"count": 3, "fallback": False}
    assert catalog.probe.request_ids == {"x-bf-request-id": "bf-1"}
    assert "3 models" in catalog.probe.detail
    assert [r.url.path for r in rec.requests] == [OPENAI_MODELS]
    assert rec.requests[0].headers["authorization"] == f"Bearer {KEY.value}"


@pytest.mark.parametrize(
    "first",
    [
        lambda: httpx.Response(404, text="404 page not found"),
        lambda: httpx.Response(200, text="<html><title>App</title></html>", headers={"content-type": "text/html"}),
    ],
    ids=["404", "html-200"],
)
async def test_catalog_falls_back_to_anthropic_shape(first: Callable[[], httpx.Response]) -> None:
    page1 = {"data": [{"id": "claude-b", "type": "model", "display_name": "Claude B"}], "has_more": True,
             "first_id": "claude-b", "last_id": "claude-b"}
    page2 = {"data": [{"id": "claude-a", "type": "model", "display_name": "Claude A"}], "has_more": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == OPENAI_MODELS:
            return first()
        assert request.url.path == ANTHROPIC_MODELS
        return json_response(200, page2 if request.url.params.get("after_id") else page1)

    rec = Recorder(handler)
    async with client(rec) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.ok, catalog.probe.detail
    assert catalog.ids == ("claude-a", "claude-b")
    assert catalog.models[0].display_name == "Claude A"
    assert catalog.source.endswith(ANTHROPIC_MODELS)
    assert catalog.probe.extra["fallback"] is True
    assert [r.url.path for r in rec.requests] == [OPENAI_MODELS, ANTHROPIC_MODELS, ANTHROPIC_MODELS]
    assert rec.requests[1].url.params["limit"] == "1000"


async def test_catalog_both_404_is_path_not_found() -> None:
    rec = Recorder(lambda r: httpx.Response(404, text="not found"))
    async with client(rec) as gw:
        catalog = await gw.list_models()
    assert catalog.models == ()
    assert catalog.probe.cause is Cause.PATH_NOT_FOUND
    assert "/v1/models answered 404; then" in catalog.probe.detail
    assert len(rec.requests) == 2


@pytest.mark.parametrize(("status", "expected"), [(401, Cause.AUTH_INVALID_KEY), (403, Cause.AUTH_INVALID_KEY),
                                                  (429, Cause.RATE_LIMITED), (503, Cause.SERVER_ERROR)])
async def test_catalog_errors_do_not_fall_back(status: int, expected: Cause) -> None:
    rec = Recorder(lambda r: json_response(status, {"error": {"message": "nope"}}))
    async with client(rec) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.cause is expected
    assert len(rec.requests) == 1


async def test_catalog_empty_list_is_ok_but_said() -> None:
    rec = Recorder(lambda r: json_response(200, {"data": []}))
    async with client(rec) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.ok
    assert catalog.models == ()
    assert "empty" in catalog.probe.detail


async def test_catalog_json_but_not_a_list_after_fallback_is_bad_response() -> None:
    rec = Recorder(lambda r: json_response(200, {"hello": "world"}) if r.url.path == ANTHROPIC_MODELS
                   else httpx.Response(404))
    async with client(rec) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.cause is Cause.BAD_RESPONSE


# ---------------------------------------------------------------------------------------------------------------
# count_tokens, tool use, betas


async def test_count_tokens_ok() -> None:
    rec = Recorder(lambda r: json_response(200, {"input_tokens": 11}))
    async with client(rec) as gw:
        result = await gw.count_tokens("anthropic/claude-sonnet-4-6")
    assert result.ok
    assert result.extra["input_tokens"] == 11
    (request,) = rec.requests
    assert request.url.path == COUNT
    assert json.loads(request.content)["model"] == "anthropic/claude-sonnet-4-6"


async def test_count_tokens_not_offered() -> None:
    rec = Recorder(lambda r: httpx.Response(404, text="404 page not found"))
    async with client(rec) as gw:
        result = await gw.count_tokens("m")
    assert result.cause is Cause.PATH_NOT_FOUND
    assert "optional" in result.detail


async def test_count_tokens_without_number_is_bad_response() -> None:
    rec = Recorder(lambda r: json_response(200, {"tokens": "many"}))
    async with client(rec) as gw:
        result = await gw.count_tokens("m")
    assert result.cause is Cause.BAD_RESPONSE


def tool_events(parts: Iterable[str] = ('{"ci', 'ty": "Pa', 'ris"}')) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_t", "model": "m", "usage": {}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
    ]
    for p in parts:
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "input_json_delta", "partial_json": p}}))
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


async def test_tool_use_probe_ok() -> None:
    rec = Recorder(lambda r: stream_response(sse(*tool_events())))
    async with client(rec) as gw:
        result = await gw.tool_use_probe("m")
    assert result.ok, result.detail
    assert result.extra["tool_use"] is True
    assert result.extra["tool_name"] == "get_weather"
    assert result.extra["tool_input"] == {"city": "Paris"}
    body = json.loads(rec.requests[0].content)
    assert body["stream"] is True
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert body["tools"][0]["input_schema"]["properties"]["city"]["type"] == "string"


async def test_tool_use_probe_text_answer_fails() -> None:
    rec = Recorder(lambda r: stream_response(sse(*happy(parts=("It is sunny",)))))
    async with client(rec) as gw:
        result = await gw.tool_use_probe("m")
    assert not result.ok
    assert result.cause is Cause.BAD_RESPONSE
    assert result.extra["tool_use"] is False
    assert "without calling the tool" in result.detail


async def test_tool_use_probe_broken_input_json() -> None:
    rec = Recorder(lambda r: stream_response(sse(*tool_events(parts=('{"city": ',)))))
    async with client(rec) as gw:
        result = await gw.tool_use_probe("m")
    assert result.cause is Cause.BAD_RESPONSE
    assert "not valid JSON" in result.detail


async def test_beta_probe_ok_sends_claude_code_betas() -> None:
    rec = Recorder(lambda r: stream_response(sse(*happy())))
    async with client(rec) as gw:
        result = await gw.beta_probe("m")
    assert result.ok
    assert result.name == "beta"
    (request,) = rec.requests
    assert request.headers["anthropic-beta"] == ",".join(CLAUDE_CODE_BETAS)
    assert request.url.params["beta"] == "true"
    assert "per-turn-control-2026-07-01" in CLAUDE_CODE_BETAS


BETA_400 = {"type": "error", "error": {"type": "invalid_request_error",
                                       "message": "Unexpected value(s) `per-turn-control-2026-07-01` for the `anthropic-beta` header"}}


async def test_beta_rejected_when_only_the_beta_request_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "anthropic-beta" in request.headers:
            return json_response(400, BETA_400)
        return stream_response(sse(*happy()))

    rec = Recorder(handler)
    async with client(rec) as gw:
        result = await gw.beta_probe("m")
    assert not result.ok
    assert result.cause is Cause.BETA_REJECTED
    assert result.status == 400
    assert "anthropic-beta" in result.detail and "Without it the same request works" in result.detail
    assert result.extra["plain_ok"] is True
    assert len(rec.requests) == 2
    assert "anthropic-beta" not in rec.requests[1].headers
    assert "beta" not in rec.requests[1].url.params


async def test_beta_400_for_another_reason_is_still_beta_rejected_if_plain_works() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("beta") == "true":
            return json_response(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}})
        return stream_response(sse(*happy()))

    async with client(Recorder(handler)) as gw:
        result = await gw.beta_probe("m")
    assert result.cause is Cause.BETA_REJECTED


async def test_beta_probe_both_fail_reports_plain_cause() -> None:
    unknown = {"type": "error", "error": {"type": "invalid_request_error", "message": "Unknown model 'm'"}}
    rec = Recorder(lambda r: json_response(400, unknown))
    async with client(rec) as gw:
        result = await gw.beta_probe("m")
    assert result.name == "beta"
    assert result.cause is Cause.MODEL_UNKNOWN
    assert result.extra["plain_ok"] is False
    assert len(rec.requests) == 2


@pytest.mark.parametrize(("status", "expected"), [(401, Cause.AUTH_INVALID_KEY), (500, Cause.SERVER_ERROR)])
async def test_beta_probe_unrelated_failure_is_not_retried(status: int, expected: Cause) -> None:
    rec = Recorder(lambda r: json_response(status, {"error": {"message": "x"}}))
    async with client(rec) as gw:
        result = await gw.beta_probe("m")
    assert result.cause is expected
    assert len(rec.requests) == 1


async def test_beta_probe_with_a_custom_list() -> None:
    rec = Recorder(lambda r: stream_response(sse(*happy())))
    async with client(rec) as gw:
        result = await gw.beta_probe("m", betas=("claude-code-20250219", "effort-2025-11-24"))
    assert result.ok
    assert rec.requests[0].headers["anthropic-beta"] == "claude-code-20250219,effort-2025-11-24"
    assert result.extra["betas"] == ["claude-code-20250219", "effort-2025-11-24"]


# ---------------------------------------------------------------------------------------------------------------
# reachability


@pytest.mark.parametrize("status", [200, 404, 401, 502])
async def test_reachability_any_http_answer_is_reachable_and_sends_no_key(status: int) -> None:
    rec = Recorder(lambda r: httpx.Response(status, headers={"x-request-id": "r1"}))
    async with client(rec) as gw:
        result = await gw.reachability()
    assert result.ok
    assert result.status == status
    assert result.request_ids == {"x-request-id": "r1"}
    (request,) = rec.requests
    assert request.method == "HEAD"
    assert request.url.path == f"/llm_proxy/{ORG}/anthropic/api/hello"
    assert "authorization" not in request.headers
    assert result.timings.ttfb_ms is not None


async def test_reachability_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    async with client(Recorder(handler)) as gw:
        result = await gw.reachability()
    assert not result.ok
    assert result.cause is Cause.CONNECT


# ---------------------------------------------------------------------------------------------------------------
# exceptions from the transport


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), Cause.DNS),
        (httpx.ConnectError("All connection attempts failed"), Cause.CONNECT),
        (httpx.ConnectTimeout("timed out"), Cause.TIMEOUT),
        (httpx.ReadTimeout("timed out"), Cause.TIMEOUT),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), Cause.CONNECT),
    ],
)
async def test_transport_exceptions_become_causes(exc: Exception, expected: Cause) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    async with client(Recorder(handler)) as gw:
        results = [await gw.stream_message("m", "x"), await gw.count_tokens("m"), (await gw.list_models()).probe]
    for result in results:
        assert not result.ok
        assert result.cause is expected
        assert result.status is None
        assert result.detail


async def test_callback_errors_are_not_swallowed() -> None:
    def bad_callback(text: str) -> None:
        raise ValueError("ui bug")

    rec = Recorder(lambda r: stream_response(sse(*happy())))
    async with client(rec) as gw:
        with pytest.raises(ValueError, match="ui bug"):
            await gw.stream_message("m", "x", on_text=bad_callback)


# ---------------------------------------------------------------------------------------------------------------
# integration with the embedded demo gateway (skipped when it is not importable)


@pytest.fixture
def demo() -> Iterator[Any]:
    server = pytest.importorskip("optscale_tui.demo.server")
    with server.DemoGateway() as gateway:
        yield gateway


def demo_client(gateway: Any, key: str | None = None, **kw: Any) -> GatewayClient:
    server = pytest.importorskip("optscale_tui.demo.server")
    return GatewayClient(parse_base_url(gateway.base_url), parse_api_key(key or server.DEMO_KEY), env={}, **kw)


async def test_demo_all_probes_pass(demo: Any) -> None:
    seen: list[str] = []
    async with demo_client(demo) as gw:
        catalog = await gw.list_models()
        message = await gw.stream_message("anthropic/claude-haiku-4-5", "ping", on_text=seen.append)
        count = await gw.count_tokens("anthropic/claude-haiku-4-5")
        tool = await gw.tool_use_probe("anthropic/claude-sonnet-4-6")
        beta = await gw.beta_probe("anthropic/claude-opus-4-6")
    assert catalog.probe.ok and "anthropic/claude-haiku-4-5" in catalog.ids
    assert list(catalog.ids) == sorted(catalog.ids)
    assert message.ok, message.detail
    assert message.text and "".join(seen) == message.text
    assert message.request_ids
    assert message.timings.output_tokens
    assert count.ok and count.extra["input_tokens"] > 0
    assert tool.ok and tool.extra["tool_use"] is True, tool.detail
    assert beta.ok, beta.detail
    beta_request = demo.requests[-1]
    assert beta_request.headers["anthropic-beta"] == ",".join(CLAUDE_CODE_BETAS)
    assert beta_request.query_params.get("beta") == ["true"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    FAULT_KIND_CAUSES,
)
async def test_demo_forced_errors(demo: Any, kind: str, expected: Cause) -> None:
    demo.faults.force_kind = kind
    async with demo_client(demo) as gw:
        result = await gw.stream_message("anthropic/claude-haiku-4-5", "ping")
    assert result.cause is expected, result.detail
    assert result.request_ids or kind == "html_502"


async def test_demo_key_policies(demo: Any) -> None:
    server = pytest.importorskip("optscale_tui.demo.server")
    async with demo_client(demo, server.DEMO_KEY_LIMITED) as gw:
        assert (await gw.stream_message("openai/gpt-5", "x")).cause in (
            Cause.PROVIDER_NOT_ALLOWED, Cause.MODEL_NOT_ALLOWED)
        assert (await gw.stream_message("anthropic/claude-opus-4-6", "x")).cause is Cause.MODEL_NOT_ALLOWED
    async with demo_client(demo, server.DEMO_KEY_BUDGET) as gw:
        assert (await gw.stream_message("anthropic/claude-haiku-4-5", "x")).cause is Cause.BUDGET_EXCEEDED
    async with demo_client(demo, "sk-bf-not-a-real-key-0000") as gw:
        assert (await gw.stream_message("anthropic/claude-haiku-4-5", "x")).cause is Cause.AUTH_INVALID_KEY
        assert (await gw.list_models()).probe.cause is Cause.AUTH_INVALID_KEY
    async with demo_client(demo) as gw:
        assert (await gw.stream_message("claude-opus-5-5", "x")).cause is Cause.MODEL_UNKNOWN


async def test_demo_beta_rejected(demo: Any) -> None:
    demo.faults.reject_beta = True
    async with demo_client(demo) as gw:
        result = await gw.beta_probe("anthropic/claude-haiku-4-5")
    assert result.cause is Cause.BETA_REJECTED, result.detail


async def test_demo_cut_stream(demo: Any) -> None:
    demo.faults.cut_stream_after = 2
    demo.faults.stream_chunks = 10
    async with demo_client(demo) as gw:
        result = await gw.stream_message("anthropic/claude-haiku-4-5", "x")
    assert result.cause is Cause.STREAM_CUT, result.detail


async def test_demo_models_route_missing_falls_back(demo: Any) -> None:
    demo.faults.models_route_missing = True
    async with demo_client(demo) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.ok, catalog.probe.detail
    assert catalog.probe.extra["fallback"] is True
    assert "anthropic/claude-sonnet-4-6" in catalog.ids


async def test_demo_timings_with_slow_stream(demo: Any) -> None:
    demo.faults.ttft_ms = 80
    demo.faults.chunk_delay_ms = 10
    demo.faults.stream_chunks = 10
    async with demo_client(demo) as gw:
        result = await gw.stream_message("anthropic/claude-haiku-4-5", "x")
    t = result.timings
    assert result.ok, result.detail
    assert t.ttfb_ms is not None and t.ttft_ms is not None
    assert t.ttfb_ms <= t.ttft_ms <= t.total_ms
    assert t.ttft_ms >= 70
    assert t.tokens_per_s is not None and t.tokens_per_s > 0


async def test_demo_over_https_with_ca_bundle(tmp_path: Path) -> None:
    server = pytest.importorskip("optscale_tui.demo.server")
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    pem = tmp_path / "server.pem"
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with server.DemoGateway(certfile=pem) as gateway:
        async with demo_client(gateway, ca_bundle=ca_file) as gw:
            trusted = await gw.stream_message("anthropic/claude-haiku-4-5", "x")
        async with demo_client(gateway) as gw:
            untrusted = await gw.stream_message("anthropic/claude-haiku-4-5", "x")
    assert trusted.ok, trusted.detail
    assert untrusted.cause is Cause.TLS_UNTRUSTED

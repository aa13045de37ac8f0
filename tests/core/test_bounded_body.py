"""Reading a gateway's answer bounded in decoded size and in total time (core/gateway/body.py), and the gateway
client's use of it: caps, the deadline over a whole exchange, keys an HTTP header cannot carry, deep JSON."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest

import optscale_tui.core.gateway.catalog as catalog_module
import optscale_tui.core.gateway.stream as stream_module
from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import ApiKey, InputError
from optscale_tui.core.gateway.body import (
    DECODE_STEP,
    BodyDecoder,
    BodyEncodingError,
    BodyTooLarge,
    DeadlineExceeded,
    deadline,
    iter_decoded,
    read_body,
)
from optscale_tui.core.gateway.client import GatewayClient
from optscale_tui.core.gateway.errors import _html_title
from tests.core.test_gateway import KEY, URL, Recorder, client
from tests.hostile.hostile_gateway import bomb_blocks


class Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: Iterable[bytes], delay: float = 0.0, forever: bytes | None = None) -> None:
        self.chunks, self.delay, self.forever = chunks, delay, forever

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        while self.forever is not None:
            await asyncio.sleep(self.delay)
            yield self.forever


def streamed(chunks: Iterable[bytes], encoding: str | None = None, **kw) -> httpx.Response:
    headers = {"content-type": "application/json", **({"content-encoding": encoding} if encoding else {})}
    return httpx.Response(200, headers=headers, stream=Stream(chunks, **kw))


GIB = 1 << 30


def test_a_gzip_bomb_inflates_in_bounded_steps():
    """One block of the bomb is 1 MiB inflated; no piece handed out is bigger than a step."""
    decoder = BodyDecoder("gzip")
    pieces = 0
    for raw, _ in zip(bomb_blocks(b" " * (1 << 20), GIB, wbits=16 + zlib.MAX_WBITS), range(8), strict=False):
        for piece in decoder.feed(raw):
            assert len(piece) <= DECODE_STEP
            pieces += 1
    assert pieces >= 8 * (1 << 20) // DECODE_STEP


async def test_reading_stops_at_the_cap_for_a_bomb():
    response = streamed(bomb_blocks(b" " * (1 << 20), GIB, wbits=16 + zlib.MAX_WBITS), "gzip")
    with pytest.raises(BodyTooLarge, match=r"larger than 4 MiB"):
        await read_body(response, 4 << 20)


async def test_a_truncated_read_keeps_exactly_the_cap():
    response = streamed([b"x" * 100_000, b"y" * 100_000])
    body = await read_body(response, 150_000, truncate=True)
    assert body.truncated and len(body.data) == 150_000


async def test_compressed_data_that_inflates_to_nothing_still_ends():
    """Empty stored blocks without end: nothing decoded ever passes the cap, the raw bytes do."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = comp.compress(b"") + comp.flush(zlib.Z_SYNC_FLUSH)
    empty = b"\x00\x00\x00\xff\xff"  # a stored block of length 0: 5 bytes that inflate to nothing
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head + empty * 3) == b""
    response = streamed([head], "gzip", forever=empty * 10_000)
    with pytest.raises(BodyTooLarge):
        async for _ in iter_decoded(response, 1 << 20):
            pass


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw deflate, as some servers send
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
        ("identity", lambda data: data),
        (None, lambda data: data),
    ],
)
async def test_encodings_decode_to_the_body(encoding, encode):
    payload = json.dumps({"data": [{"id": f"m{i}"} for i in range(5000)]}).encode()
    raw = encode(payload)
    response = streamed([raw[i : i + 1000] for i in range(0, len(raw), 1000)], encoding)
    assert (await read_body(response, 1 << 20)).data == payload


@pytest.mark.parametrize(("encoding", "raw"), [("br", b"anything"), ("zstd", b"x"), ("gzip", b"\x1f\x8bnot gzip")])
async def test_an_encoding_we_cannot_decode_is_an_encoding_error(encoding, raw):
    with pytest.raises(BodyEncodingError):
        await read_body(streamed([raw], encoding), 1 << 20)


async def test_the_deadline_ends_a_dripping_body():
    """httpx's read timeout never fires while a byte arrives every 20 ms; the deadline does."""
    response = streamed([b"["], forever=b" ", delay=0.02)
    with pytest.raises(DeadlineExceeded, match=r"no complete answer within 0\.2 s"):
        async with deadline(0.2):
            await read_body(response, 1 << 20)


async def test_a_timeout_inside_the_block_that_is_not_the_deadline_passes_through():
    with pytest.raises(TimeoutError) as raised:
        async with deadline(30):
            raise TimeoutError("from somewhere else")
    assert not isinstance(raised.value, DeadlineExceeded)


# --- the gateway client -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["sk-bf-é0123456789", "sk-bf-ключ", "sk-bf-a\u200bb", "sk-bf-a\x7fb", "sk-bf-a b"])
def test_a_key_an_http_header_cannot_carry_is_an_input_error(value):
    """httpx raised UnicodeEncodeError building the headers (a traceback in verify)."""
    with pytest.raises(InputError) as raised:
        GatewayClient(URL, ApiKey(value), env={})
    assert raised.value.cause is Cause.AUTH_INVALID_KEY
    assert value not in str(raised.value)


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf")])
def test_a_timeout_that_bounds_nothing_is_refused(value):
    with pytest.raises(ValueError, match="timeout"):
        GatewayClient(URL, KEY, env={}, timeout=value)


async def test_a_catalog_over_the_cap_is_too_large_not_a_login_page(monkeypatch):
    monkeypatch.setattr(catalog_module, "MAX_CATALOG_BYTES", 10_000)
    body = json.dumps({"data": [{"id": f"vendor/model-{i}"} for i in range(2000)]}).encode()
    async with client(Recorder(lambda r: streamed([gzip.compress(body)], "gzip"))) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.cause is Cause.RESPONSE_TOO_LARGE
    assert "larger than" in catalog.probe.detail and "model list" not in catalog.probe.detail


async def test_the_catalog_cap_covers_all_pages_together(monkeypatch):
    monkeypatch.setattr(catalog_module, "MAX_CATALOG_BYTES", 5_000)
    page = 0

    def pages(request: httpx.Request) -> httpx.Response:
        nonlocal page
        page += 1
        data = [{"id": f"p{page}-model-{i}"} for i in range(60)]  # about 1.3 KB a page
        return streamed([json.dumps({"data": data, "has_more": True, "last_id": f"p{page}"}).encode()])

    async with client(Recorder(pages)) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.cause is Cause.RESPONSE_TOO_LARGE
    assert page < 10


async def test_a_catalog_dripping_forever_ends_at_the_deadline():
    async with client(Recorder(lambda r: streamed([b'{"data": ['], forever=b" ", delay=0.02)), timeout=0.3) as gw:
        catalog = await gw.list_models()
    assert catalog.probe.cause is Cause.TIMEOUT
    assert "no complete answer within 0.3 s" in catalog.probe.detail


async def test_a_stream_that_never_stops_is_too_large(monkeypatch):
    monkeypatch.setattr(stream_module, "MAX_STREAM_BYTES", 50_000)
    start = b'event: message_start\ndata: {"type": "message_start", "message": {"id": "m"}}\n\n'
    ping = b'event: ping\ndata: {"type": "ping"}\n\n' * 100

    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              stream=Stream([start], forever=ping))

    async with client(Recorder(endless)) as gw:
        result = await gw.stream_message("m", "x")
    assert result.cause is Cause.RESPONSE_TOO_LARGE
    assert "larger than 48.8281 KiB" in result.detail  # the patched cap was the one read


@pytest.mark.parametrize("depth", [5_000, 200_000])
async def test_deeply_nested_json_is_a_bad_response_not_an_exception(depth):
    """json.loads raised RecursionError, which escaped the probe (a traceback from `models`)."""
    nested = b"[" * depth + b"]" * depth
    async with client(Recorder(lambda r: httpx.Response(200, content=nested,
                                                        headers={"content-type": "application/json"}))) as gw:
        catalog = await gw.list_models()
        count = await gw.count_tokens("m")
    assert catalog.probe.cause is Cause.BAD_RESPONSE
    assert count.cause is Cause.BAD_RESPONSE


async def test_model_objects_keep_their_display_name_and_owner():
    data = {"object": "list", "data": [
        {"id": "a/one", "object": "model", "owned_by": "a", "permission": [{"id": "perm-1", "allow_view": True}]},
        {"id": "b/two", "type": "model", "display_name": "Two"},
        "c/three",
        {"id": "a/one", "owned_by": "duplicate"},
    ]}
    async with client(Recorder(lambda r: httpx.Response(200, json=data))) as gw:
        catalog = await gw.list_models()
    assert [(m.id, m.display_name, m.owned_by) for m in catalog.models] == [
        ("a/one", None, "a"), ("b/two", "Two", None), ("c/three", None, None)]


@pytest.mark.parametrize(
    ("html", "title"),
    [
        ("<html><head><title>Sign in - Corp SSO</title></head></html>", "Sign in - Corp SSO"),
        ("<HTML><TITLE lang=en>\n  Bad\n  Gateway </TITLE>", "Bad Gateway"),
        ("<html><body><h1>502 <b>Bad</b> Gateway</h1></body></html>", "502 Bad Gateway"),
        ("<html><head>" + "<title " * 20_000 + "</head></html>", ""),
        ("<html>" + " " * 100_000 + "<title>too far down</title>", ""),
    ],
)
def test_html_title(html, title):
    assert _html_title(html) == title

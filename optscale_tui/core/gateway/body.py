"""Reading an HTTP answer from a gateway that may be hostile: bounded in size after decompression, and in time.

httpx inflates a gzip / deflate body a whole network read at a time (one 64 KiB read of a gzip "bomb" is about
64 MiB), and `response.content` keeps reading for as long as the server sends. Here the raw bytes are inflated in
steps of at most `DECODE_STEP` bytes, and reading stops as soon as the decoded body passes its cap, so the memory a
body can take is its cap plus one step, whatever the server sends.

httpx's per-operation timeouts only bound each read: a server dripping one byte a second never trips them.
`deadline()` bounds a whole exchange (connect, headers, body) instead.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

DECODE_STEP = 64 * 1024  # the most one inflate step may produce

# The Accept-Encoding we send: only what `BodyDecoder` inflates step by step (never br / zstd, which httpx would
# offer when their packages happen to be installed).
ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The body went past its cap; `limit` is the cap in bytes (after decompression)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {describe_size(limit)} (after decompression), so reading stopped")
        self.limit = limit


class BodyEncodingError(Exception):
    """The body cannot be decoded as its Content-Encoding says (corrupt gzip, an encoding we did not ask for)."""


class DeadlineExceeded(TimeoutError):
    """The whole exchange took longer than its deadline (a per-read timeout never fired: the server kept dripping)."""


def describe_size(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):g} MiB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):g} KiB"
    return f"{size} bytes"


@asynccontextmanager
async def deadline(seconds: float, *, until: float | None = None) -> AsyncIterator[None]:
    """Raise `DeadlineExceeded` if the block runs longer than `seconds` in all (or past `until`, a time on the event
    loop's clock, when several exchanges share one deadline of `seconds`)."""
    scope = asyncio.timeout(seconds) if until is None else asyncio.timeout_at(until)
    try:
        async with scope:
            yield
    except TimeoutError:
        if scope.expired():
            raise DeadlineExceeded(f"timed out: no complete answer within {seconds:g} s") from None
        raise


class _Inflate:
    """One gzip or deflate layer, inflating at most DECODE_STEP bytes per step."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._obj: zlib._Decompress | None = (
            zlib.decompressobj(16 + zlib.MAX_WBITS) if self._gzip else None
        )

    def _decompressor(self, data: bytes) -> zlib._Decompress:
        if self._obj is None:
            # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate (httpx accepts both too).
            zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        return self._obj

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        obj = self._decompressor(data)
        try:
            out = obj.decompress(data, DECODE_STEP)
            if out:
                yield out
            while obj.unconsumed_tail:
                out = obj.decompress(obj.unconsumed_tail, DECODE_STEP)
                if out:
                    yield out
        except zlib.error as exc:
            raise BodyEncodingError(f"the body is not valid {'gzip' if self._gzip else 'deflate'} ({exc})") from None

    def flush(self) -> Iterator[bytes]:
        if self._obj is None:
            return
        try:
            out = self._obj.flush(DECODE_STEP)
        except zlib.error as exc:
            raise BodyEncodingError(f"the body ends inside its compressed data ({exc})") from None
        if out:
            yield out


class BodyDecoder:
    """Undo a Content-Encoding (`gzip`, `deflate`, `identity`, or a list of them) in bounded steps."""

    def __init__(self, content_encoding: str | None) -> None:
        names = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
        self._layers: list[_Inflate] = []
        for name in reversed(names):  # the last encoding applied is the first to undo
            if name == "identity":
                continue
            if name not in ("gzip", "x-gzip", "deflate"):
                raise BodyEncodingError(f"the body is encoded as {name!r}, which was not asked for")
            self._layers.append(_Inflate(name))

    def feed(self, raw: bytes) -> Iterator[bytes]:
        yield from self._through(0, raw)

    def flush(self) -> Iterator[bytes]:
        for index, layer in enumerate(self._layers):
            for out in layer.flush():
                yield from self._through(index + 1, out)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        for out in self._layers[index].feed(data):
            yield from self._through(index + 1, out)


@dataclass(frozen=True, slots=True)
class Body:
    data: bytes
    truncated: bool  # the cap was reached: `data` is only the first `limit` bytes


async def iter_decoded(response: httpx.Response, limit: int) -> AsyncIterator[bytes]:
    """The decoded body in pieces; raises `BodyTooLarge` once more than `limit` bytes arrived (decoded or raw)."""
    if response.is_stream_consumed:  # already read and decoded (a response built in memory, e.g. by a test)
        content = response.content
        if content:
            yield content[:limit]
        if len(content) > limit:
            raise BodyTooLarge(limit)
        return
    decoder = BodyDecoder(response.headers.get("content-encoding"))
    decoded = raw_size = 0

    async for raw in response.aiter_raw():
        raw_size += len(raw)
        for piece in decoder.feed(raw):
            if decoded + len(piece) > limit:
                yield piece[: limit - decoded]  # up to the cap, so a truncated read still gets `limit` bytes
                raise BodyTooLarge(limit)
            decoded += len(piece)
            yield piece
        if raw_size > limit + DECODE_STEP:  # compressed data that inflates to (almost) nothing, without end
            raise BodyTooLarge(limit)
    for piece in decoder.flush():
        if decoded + len(piece) > limit:
            yield piece[: limit - decoded]
            raise BodyTooLarge(limit)
        decoded += len(piece)
        yield piece


async def read_body(response: httpx.Response, limit: int, *, truncate: bool = False) -> Body:
    """The decoded body, at most `limit` bytes. Over the cap: `BodyTooLarge`, or with `truncate` its first `limit`
    bytes (enough to classify an error page) and the rest left unread."""
    parts: list[bytes] = []
    size = 0
    try:
        async for piece in iter_decoded(response, limit):
            parts.append(piece)
            size += len(piece)
    except BodyTooLarge:
        if not truncate:
            raise
        return Body(b"".join(parts), truncated=True)
    return Body(b"".join(parts), truncated=False)

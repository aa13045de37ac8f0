"""A hostile "gateway" on 127.0.0.1 for tests: raw sockets, so it can break HTTP in ways a real server never would.

One server serves every mode; the first path segment picks it: `url("gzip_bomb")` is
`http://127.0.0.1:PORT/gzip_bomb/llm_proxy/<org>/v1`, so the client under test sends every request of a run (the
catalog, HEAD /api/hello, the streamed prompts) to the same mode. Some modes only misbehave on one route (the `sse_*`
modes answer the catalog and the preflight normally and break the streamed reply).

Bounded by construction: the server stops by itself after `lifetime` seconds, each connection is served for at most
`connection_limit` seconds, and at most `max_connections` connections are handled at once (others are closed).
Nothing is ever read from or sent to anything but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ORG = "00000000-0000-4000-8000-0000000bad00"
MODEL = "anthropic/claude-hostile-1"
HUGE_CATALOG_MODELS = 100_000
BOMB_DECODED_BYTES = 1 << 30  # what the gzip / deflate bombs inflate to: 1 GiB from about 1 MiB on the wire
NEAR_CAP_CATALOG_BYTES = 31 << 20  # a valid catalog just under the client's decoded-body cap (32 MiB)
DRIP_INTERVAL = 0.05  # seconds between bytes in the slow modes


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(repr=False)  # holds the Authorization header: never in a failure report
    body: bytes = field(repr=False)

    @property
    def mode(self) -> str:
        return self.path.lstrip("/").split("/", 1)[0]

    @property
    def route(self) -> str:
        path = self.path.split("?", 1)[0]
        if path.endswith("/api/hello"):
            return "hello"
        if path.endswith("/count_tokens"):
            return "count_tokens"
        if path.endswith("/messages"):
            return "messages"
        if path.endswith("/models"):
            return "models"
        return "other"


class _Gone(Exception):
    """The client went away, the connection's time is up, or the server is stopping."""


@dataclass
class _Conn:
    sock: socket.socket
    stopping: threading.Event
    deadline: float

    def alive(self) -> bool:
        return not self.stopping.is_set() and time.monotonic() < self.deadline

    def send(self, data: bytes) -> None:
        if not self.alive():
            raise _Gone
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError):
            raise _Gone from None

    def pause(self, seconds: float) -> None:
        if self.stopping.wait(seconds) or time.monotonic() >= self.deadline:
            raise _Gone

    def wait_until_closed(self) -> None:
        """Say nothing and wait until the client gives up (or our time is up)."""
        self.sock.settimeout(0.1)
        while self.alive():
            try:
                if not self.sock.recv(4096):
                    return
            except TimeoutError:
                continue
            except (OSError, ssl.SSLError):
                return

    def reset(self) -> None:
        """Close with an RST instead of a FIN."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _head(status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _json_reply(conn: _Conn, req: Request, payload: object, status: str = "200 OK") -> None:
    body = json.dumps(payload).encode()
    head = _head(status, {"Content-Type": "application/json", "Content-Length": str(len(body)),
                          "Connection": "close", "request-id": f"req_{req.mode}"})
    conn.send(head if req.method == "HEAD" else head + body)


def _sse_events() -> bytes:
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_h", "model": MODEL, "usage": {}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "pong"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": 1}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events).encode()


def _healthy(conn: _Conn, req: Request) -> None:
    """A plain, well-behaved answer for routes a mode does not attack."""
    if req.route == "models":
        _json_reply(conn, req, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
    elif req.route == "count_tokens":
        _json_reply(conn, req, {"input_tokens": 5})
    elif req.route == "messages":
        body = _sse_events()
        conn.send(_head("200 OK", {"Content-Type": "text/event-stream", "Content-Length": str(len(body)),
                                   "Connection": "close"}) + body)
    else:
        _json_reply(conn, req, {"ok": True})


# --- compressed bodies ----------------------------------------------------------------------------------------


def bomb_blocks(unit: bytes, decoded: int, *, wbits: int) -> Iterator[bytes]:
    """A compressed stream inflating to `decoded` bytes of `unit` repeats, made cheaply: after a full flush the
    compressor starts afresh, so the block for one `unit` is the same bytes every time and is sent over and over.
    The stream has no valid trailer: a client that inflated all of it would only then find out."""
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    yield comp.compress(unit) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(unit) + comp.flush(zlib.Z_FULL_FLUSH)
    for _ in range(decoded // len(unit) - 1):
        yield block


_CACHE: dict[str, bytes] = {}
_CACHE_LOCK = threading.Lock()


def _huge_catalog_gzip() -> bytes:
    with _CACHE_LOCK:
        if "huge" not in _CACHE:
            data = [{"id": f"vendor-{i % 97}/model-{i:06d}", "object": "model", "owned_by": f"vendor-{i % 97}"}
                    for i in range(HUGE_CATALOG_MODELS)]
            _CACHE["huge"] = gzip.compress(json.dumps({"object": "list", "data": data}).encode(), 1)
        return _CACHE["huge"]


# --- the modes ------------------------------------------------------------------------------------------------

Handler = Callable[[_Conn, Request], None]


def _never_answer(conn: _Conn, req: Request) -> None:
    conn.wait_until_closed()


def _close_at_once(conn: _Conn, req: Request) -> None:
    return


def _reset_at_once(conn: _Conn, req: Request) -> None:
    conn.reset()


def _slow_headers(conn: _Conn, req: Request) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    while True:
        conn.pause(DRIP_INTERVAL)
        conn.send(b"a")


def _informational_flood(conn: _Conn, req: Request) -> None:
    while True:
        conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.pause(DRIP_INTERVAL)


def _endless_drip_body(conn: _Conn, req: Request) -> None:
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Connection": "close"}) + b"[")
    while True:
        conn.pause(DRIP_INTERVAL)
        conn.send(b" ")


def _endless_fast_body(conn: _Conn, req: Request) -> None:
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Connection": "close"}) + b"[")
    chunk = b" " * 65536
    while True:
        conn.send(chunk)


def _endless_chunked_body(conn: _Conn, req: Request) -> None:
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    while True:
        conn.send(chunk)


def _bomb(encoding: str, status: str, content_type: str, unit: bytes, prefix: bytes = b"") -> Handler:
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS

    def handler(conn: _Conn, req: Request) -> None:
        conn.send(_head(status, {"Content-Type": content_type, "Content-Encoding": encoding, "Connection": "close"}))
        if req.method == "HEAD":
            return
        if prefix:
            comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
            conn.send(comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH))
            blocks = bomb_blocks(unit, BOMB_DECODED_BYTES, wbits=-zlib.MAX_WBITS)  # continues the same stream
        else:
            blocks = bomb_blocks(unit, BOMB_DECODED_BYTES, wbits=wbits)
        for block in blocks:
            conn.send(block)

    return handler


def _huge_catalog(conn: _Conn, req: Request) -> None:
    if req.route != "models":
        return _healthy(conn, req)
    body = _huge_catalog_gzip()
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip",
                               "Content-Length": str(len(body)), "Connection": "close"}) + body)


def _near_cap_catalog(conn: _Conn, req: Request) -> None:
    """A valid catalog just under the client's 32 MiB cap: the most a catalog can make the client parse."""
    if req.route != "models":
        return _healthy(conn, req)
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip", "Connection": "close"}))
    comp = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    conn.send(comp.compress(b'{"object": "list", "data": ['))
    unit = b"".join(b'{"id": "v/m-%07d"}, ' % i for i in range(1000))
    for _ in range(NEAR_CAP_CATALOG_BYTES // len(unit)):
        conn.send(comp.compress(unit))
    conn.send(comp.compress(b'{"id": "v/last"}]}') + comp.flush())


def _reset_mid_body(conn: _Conn, req: Request) -> None:
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Content-Length": "100000"}) + b'{"data": [')
    conn.pause(0.05)
    conn.reset()


def _short_body(conn: _Conn, req: Request) -> None:
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Content-Length": "1000"}) + b'{"data": [')


def _bad_chunked(conn: _Conn, req: Request) -> None:
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
              + b"zz\r\nnot a chunk size\r\n0\r\n\r\n")


def _huge_header(conn: _Conn, req: Request) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Huge: " + b"a" * (1 << 20) + b"\r\n")
    conn.send(b"Content-Length: 2\r\n\r\n[]")


def _many_headers(conn: _Conn, req: Request) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(20000))
              + b"Content-Length: 2\r\n\r\n[]")


def _redirect_loop(conn: _Conn, req: Request) -> None:
    head = _head("302 Found", {"Location": req.path, "Content-Length": "0", "Connection": "close"})
    conn.send(head)


def _redirect_elsewhere(conn: _Conn, req: Request) -> None:
    conn.send(_head("307 Temporary Redirect", {"Location": "http://127.0.0.2:9/steal" + req.path,
                                               "Content-Length": "0", "Connection": "close"}))


def _not_http(conn: _Conn, req: Request) -> None:
    conn.send(b"SSH-2.0-OpenSSH_9.6\r\n")


def _bad_status_line(conn: _Conn, req: Request) -> None:
    conn.send(b"HTTP/1.1 abc\r\nContent-Length: 0\r\n\r\n")


def _bad_content_length(conn: _Conn, req: Request) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n[]")


def _deep_json(conn: _Conn, req: Request) -> None:
    depth = 200_000
    body = b"[" * depth + b"]" * depth
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                               "Connection": "close"}) + body)


def _deep_json_error(conn: _Conn, req: Request) -> None:
    depth = 50_000
    body = b'{"error":' * depth + b"1" + b"}" * depth
    conn.send(_head("400 Bad Request", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                                        "Connection": "close"}) + body)


def _html_title_bomb(conn: _Conn, req: Request) -> None:
    body = b"<html><head>" + b"<title " * 9000 + b"</head></html>"
    conn.send(_head("200 OK", {"Content-Type": "text/html", "Content-Length": str(len(body)),
                               "Connection": "close"}) + body)


def _html_login_page(conn: _Conn, req: Request) -> None:
    body = b"<!doctype html><html><head><title>Sign in - Corp SSO</title></head><body>Sign in</body></html>"
    conn.send(_head("200 OK", {"Content-Type": "text/html", "Content-Length": str(len(body)),
                               "Connection": "close"}) + body)


def _invalid_utf8_catalog(conn: _Conn, req: Request) -> None:
    body = b'{"data": [{"id": "\xff\xfe"}]}'
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(body)),
                               "Connection": "close"}) + body)


def _unknown_encoding(conn: _Conn, req: Request) -> None:
    body = b"\x28\xb5\x2f\xfd not really zstd"
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Content-Encoding": "zstd",
                               "Content-Length": str(len(body)), "Connection": "close"}) + body)


def _corrupt_gzip(conn: _Conn, req: Request) -> None:
    body = b"\x1f\x8b\x08\x00garbage that is not deflate"
    conn.send(_head("200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip",
                               "Content-Length": str(len(body)), "Connection": "close"}) + body)


def _echo_key(conn: _Conn, req: Request) -> None:
    auth = req.headers.get("authorization", "")
    _json_reply(conn, req, {"error": {"type": "authentication_error",
                                      "message": f"invalid key: {auth.removeprefix('Bearer ')}"}},
                status="401 Unauthorized")


def _sse_only(attack: Handler) -> Handler:
    """Answer the catalog, the preflight and count_tokens normally; attack the streamed replies."""

    def handler(conn: _Conn, req: Request) -> None:
        if req.route == "messages":
            attack(conn, req)
        else:
            _healthy(conn, req)

    return handler


def _sse_head(conn: _Conn, extra: dict[str, str] | None = None) -> None:
    conn.send(_head("200 OK", {"Content-Type": "text/event-stream", "Connection": "close", **(extra or {})}))


def _sse_endless_pings(conn: _Conn, req: Request) -> None:
    _sse_head(conn)
    start = _sse_events().split(b"event: content_block_start")[0]
    ping = b"event: ping\ndata: {\"type\": \"ping\"}\n\n" * 512
    conn.send(start)
    while True:
        conn.send(ping)


def _sse_drip(conn: _Conn, req: Request) -> None:
    _sse_head(conn)
    while True:
        conn.send(b": still here\n\n")
        conn.pause(DRIP_INTERVAL)


def _sse_endless_line(conn: _Conn, req: Request) -> None:
    _sse_head(conn)
    conn.send(b"data: ")
    chunk = b"x" * 65536
    while True:
        conn.send(chunk)


def _sse_no_dispatch(conn: _Conn, req: Request) -> None:
    _sse_head(conn)
    chunk = b"data: x\n" * 8192
    while True:
        conn.send(chunk)


def _sse_endless_text(conn: _Conn, req: Request) -> None:
    """A reply that never stops generating text."""
    _sse_head(conn)
    conn.send(_sse_events().split(b"event: content_block_delta")[0])
    delta = ("event: content_block_delta\ndata: " + json.dumps(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "pong "}}
    ) + "\n\n").encode() * 256
    while True:
        conn.send(delta)


MODES: dict[str, Handler] = {
    "healthy": _healthy,
    "never_answer": _never_answer,
    "close_at_once": _close_at_once,
    "reset_at_once": _reset_at_once,
    "slow_headers": _slow_headers,
    "informational_flood": _informational_flood,
    "endless_drip_body": _endless_drip_body,
    "endless_fast_body": _endless_fast_body,
    "endless_chunked_body": _endless_chunked_body,
    "gzip_bomb": _bomb("gzip", "200 OK", "application/json", b" " * (1 << 20)),
    "deflate_bomb": _bomb("deflate", "200 OK", "application/json", b" " * (1 << 20)),
    "gzip_bomb_error": _bomb("gzip", "500 Internal Server Error", "application/json", b" " * (1 << 20)),
    "gzip_bomb_html": _bomb("gzip", "502 Bad Gateway", "text/html", b" " * (1 << 20), prefix=b"<html><title>"),
    "gzip_bomb_catalog": _bomb("gzip", "200 OK", "application/json",
                               b'{"id": "vendor/model-x", "object": "model"}, ' * 16384, prefix=b'{"data": ['),
    "huge_catalog": _huge_catalog,
    "near_cap_catalog": _near_cap_catalog,
    "reset_mid_body": _reset_mid_body,
    "short_body": _short_body,
    "bad_chunked": _bad_chunked,
    "huge_header": _huge_header,
    "many_headers": _many_headers,
    "redirect_loop": _redirect_loop,
    "redirect_elsewhere": _redirect_elsewhere,
    "not_http": _not_http,
    "bad_status_line": _bad_status_line,
    "bad_content_length": _bad_content_length,
    "deep_json": _deep_json,
    "deep_json_error": _deep_json_error,
    "html_title_bomb": _html_title_bomb,
    "html_login_page": _html_login_page,
    "invalid_utf8_catalog": _invalid_utf8_catalog,
    "unknown_encoding": _unknown_encoding,
    "corrupt_gzip": _corrupt_gzip,
    "echo_key": _echo_key,
    "sse_never_answer": _sse_only(_never_answer),
    "sse_slow_headers": _sse_only(_slow_headers),
    "sse_endless_pings": _sse_only(_sse_endless_pings),
    "sse_drip": _sse_only(_sse_drip),
    "sse_endless_line": _sse_only(_sse_endless_line),
    "sse_no_dispatch": _sse_only(_sse_no_dispatch),
    "sse_endless_text": _sse_only(_sse_endless_text),
    "sse_gzip_bomb": _sse_only(_bomb("gzip", "200 OK", "text/event-stream", b": " + b"x" * ((1 << 20) - 3) + b"\n")),
    "sse_reset": _sse_only(_reset_mid_body),
    "sse_bad_chunked": _sse_only(_bad_chunked),
    "sse_error_bomb": _sse_only(_bomb("gzip", "529 Overloaded", "application/json", b" " * (1 << 20))),
}


# --- the server -----------------------------------------------------------------------------------------------


@dataclass
class HostileGateway:
    """`with HostileGateway() as gw: gw.url("gzip_bomb")`. With `certfile`/`keyfile` it speaks HTTPS."""

    certfile: Path | None = None
    keyfile: Path | None = None
    lifetime: float = 300.0
    connection_limit: float = 30.0
    max_connections: int = 64
    port: int = 0
    requests: list[Request] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._active = threading.BoundedSemaphore(self.max_connections)
        self._tls: ssl.SSLContext | None = None
        if self.certfile is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(self.certfile, self.keyfile)

    @property
    def scheme(self) -> str:
        return "https" if self._tls is not None else "http"

    def url(self, mode: str) -> str:
        """The OpenAI-style Base URL (…/v1) that selects `mode`."""
        return f"{self.scheme}://127.0.0.1:{self.port}/{mode}/llm_proxy/{ORG}/v1"

    def anthropic_url(self, mode: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{mode}/llm_proxy/{ORG}/anthropic"

    def start(self) -> HostileGateway:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._serve, name="hostile-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> HostileGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._listener is not None
        ends = time.monotonic() + self.lifetime
        while not self._stopping.is_set() and time.monotonic() < ends:
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            if not self._active.acquire(blocking=False):
                sock.close()
                continue
            threading.Thread(target=self._handle, args=(sock,), name="hostile-conn", daemon=True).start()
        self._stopping.set()

    def _handle(self, sock: socket.socket) -> None:
        conn = _Conn(sock, self._stopping, time.monotonic() + self.connection_limit)
        try:
            sock.settimeout(5)
            if self._tls is not None:
                try:
                    sock = conn.sock = self._tls.wrap_socket(sock, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # the client refused our certificate: exactly what an untrusted-cert test wants
            request = _read_request(sock)
            if request is None:
                return
            self.requests.append(request)
            MODES.get(request.mode, _healthy)(conn, request)
        except _Gone:
            pass
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.sock.close()
            self._active.release()


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > 65536:
            return None
        try:
            chunk = sock.recv(65536)
        except (OSError, ssl.SSLError):
            return None
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, path, _version = lines[0].split(" ", 2)
    except ValueError:
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = min(int(headers.get("content-length") or 0), 1 << 20)
    while len(body) < length:  # read the whole body: closing with unread bytes would send an RST
        try:
            chunk = sock.recv(65536)
        except (OSError, ssl.SSLError):
            break
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)

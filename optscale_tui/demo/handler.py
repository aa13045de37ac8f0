"""The demo gateway's HTTP plumbing: the threading server, and a handler that reads a request (bounded body, both
transfer encodings), records it, and answers it through routes.py; it writes plain and streamed (chunked) replies.

Why stdlib ``http.server.ThreadingHTTPServer``: see server.py."""

from __future__ import annotations

import contextlib
import json
import logging
import socketserver
import ssl
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from optscale_tui.demo.errors import ERR_TOO_LARGE, HTML_502, ApiError, err_invalid, err_server, error_payload
from optscale_tui.demo.exchange import Gateway
from optscale_tui.demo.recorded import RecordedRequest
from optscale_tui.demo.routes import route
from optscale_tui.demo.streaming import StreamAborted

log = logging.getLogger("optscale_tui.demo.server")  # one logger for the whole demo gateway, as before the split
_MAX_BODY = 32 * 1024 * 1024


class _BodyError(Exception):
    def __init__(self, err: ApiError) -> None:
        super().__init__(err.message)
        self.err = err


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], gateway: Gateway, family: int) -> None:
        self.address_family = family
        self.gateway = gateway
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN (a reverse DNS lookup); skip it, we know the name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:  # no tracebacks on stderr for resets
        log.debug("demo gateway: connection error from %s", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "optscale-demo-gateway/1.0"
    sys_version = ""
    timeout = 60  # idle keep-alive connections give up after a minute; stop() cuts them at once
    disable_nagle_algorithm = True
    server: Server

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.gateway: Gateway = self.server.gateway
        self.gateway._register_connection(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.gateway._unregister_connection(self.connection)

    def handle(self) -> None:
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError) as exc:
                log.debug("demo gateway: TLS handshake failed: %s", exc)
                self.close_connection = True
                return
        with contextlib.suppress(OSError):  # resets, timeouts, TLS errors, sockets shut down by stop()
            super().handle()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per request is logged by _dispatch, without the client address noise

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("demo gateway: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # -- request handling --------------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        gw = self.gateway
        self._headers_sent = False
        self._rid = gw._next_request_id()
        self.record: RecordedRequest | None = None
        split = urlsplit(self.path)
        path, query = split.path, split.query
        try:
            raw = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            self.send_api_error("anthropic" if "/anthropic" in path else "openai", exc.err)
            return
        self.req_headers = self._merged_headers()
        body = _json_object(raw)
        self.record = RecordedRequest(self.command, path, query, self.req_headers, body, time.time(), None, self._rid)
        gw._record_request(self.record)
        faults = replace(gw.faults)  # a snapshot: knobs changed mid-request apply to the next one
        try:
            if gw._stopping.is_set():
                raise StreamAborted
            self.pause(faults.latency_ms)
            route(self, path, body, raw, faults)
        except StreamAborted:
            self.close_connection = True
        except OSError:  # the client went away, a timeout, a TLS error, or stop() shut the socket
            self.close_connection = True
        except Exception:
            log.exception("demo gateway: handler failed for %s %s", self.command, path)
            self.close_connection = True
            if not self._headers_sent:
                with contextlib.suppress(OSError):
                    self.send_api_error("anthropic" if "/anthropic" in path else "openai", err_server(500))
        finally:
            status = self.record.status
            log.info(
                "demo gateway: %s %s%s -> %s (%s)",
                self.command,
                path,
                f"?{query}" if query else "",
                status if status is not None else "cut",
                self._rid,
            )

    def _merged_headers(self) -> dict[str, str]:
        """Lower-case names; a header sent twice is one value, joined with ", " (as HTTP reads it)."""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            lname = name.lower()
            headers[lname] = f"{headers[lname]}, {value}" if lname in headers else value
        return headers

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                except ValueError:
                    raise _BodyError(err_invalid("Malformed chunked request body")) from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > _MAX_BODY:
                    raise _BodyError(ERR_TOO_LARGE)
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise _BodyError(err_invalid("Invalid Content-Length header")) from None
        if n > _MAX_BODY:
            raise _BodyError(ERR_TOO_LARGE)
        return self.rfile.read(n) if n > 0 else b""

    def pause(self, ms: float) -> None:
        if ms and ms > 0:
            if self.gateway._stopping.wait(ms / 1000.0):
                raise StreamAborted
        elif self.gateway._stopping.is_set():
            raise StreamAborted

    def start_stream(self, content_type: str) -> None:
        self._chunked = self.request_version != "HTTP/1.0"
        self._status(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self._id_headers()
        if self._chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self._headers_sent = True

    def write_chunk(self, data: bytes) -> None:
        if self._chunked:
            self.wfile.write(b"%X\r\n%b\r\n" % (len(data), data))
        else:
            self.wfile.write(data)

    def end_stream(self) -> None:
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")

    # -- responses ---------------------------------------------------------------------------------------------------

    def _status(self, status: int) -> None:
        self.send_response(status)
        if self.record is not None:
            self.record.status = status

    def _id_headers(self) -> None:
        self.send_header("request-id", self._rid)
        self.send_header("x-request-id", self._rid)

    def send_body(
        self,
        status: int,
        data: bytes,
        content_type: str,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        request_ids: bool = True,
    ) -> None:
        self._status(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if request_ids:
            self._id_headers()
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self._headers_sent = True
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    def send_json(self, status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_body(status, json.dumps(obj).encode(), "application/json", headers=headers)

    def send_api_error(self, family: str, err: ApiError) -> None:
        if err.html:
            self.send_body(err.status, HTML_502, "text/html", headers=err.headers, request_ids=False)
            return
        self.send_json(err.status, error_payload(family, err), headers=err.headers)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; None when empty, not JSON, or JSON but not an object."""
    if not raw:
        return None
    with contextlib.suppress(ValueError):
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else None
    return None

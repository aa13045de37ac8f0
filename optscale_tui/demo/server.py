"""An embedded demo gateway that speaks the OptScale AI / Bifrost URL layout, for demos and tests.

Layout served under ``/llm_proxy/<org_id>/`` (the same shape OptScale Chat hands out):

- ``GET  v1/models``                          OpenAI model list, filtered by the key's policy
- ``GET  anthropic/v1/models``                Anthropic model list (``?limit=`` / ``?after_id=``)
- ``POST v1/chat/completions``                OpenAI chat, JSON or ``stream: true`` SSE ending in ``data: [DONE]``
- ``POST anthropic/v1/messages``              Anthropic Messages (``?beta=true`` accepted), JSON or SSE with the real
                                              event sequence; forced ``tool_choice`` answers with a ``tool_use`` block
- ``POST anthropic/v1/messages/count_tokens`` ``{"input_tokens": N}``
- ``HEAD anthropic/api/hello`` and ``HEAD anthropic``  200 without auth (Claude Code's start-up preflight)

Virtual keys are accepted in ``Authorization: Bearer``, ``x-api-key`` or ``x-bf-vk`` (as Bifrost does). Errors carry
Bifrost-like bodies: ``{"type":"error","error":{"type","message"}}`` on ``/anthropic`` routes and
``{"error":{"message","type","code"}, ...}`` on the ``/v1`` routes. ``Faults`` (``gateway.faults``) injects latency,
slow first tokens, slow or cut streams, long benchmark streams, forced errors, beta-header rejection and a missing
``/v1/models`` route; it may be changed while the server runs and is read once at the start of every request.

Why stdlib ``http.server.ThreadingHTTPServer`` and not an asyncio/ASGI server: it adds no dependency, starts in a few
milliseconds, and runs in a daemon thread beside the Textual event loop or a pytest test without sharing (or
blocking) anyone's event loop. One thread per connection is plenty for a loopback demo; streams are written as
HTTP/1.1 chunked transfer encoding with one ``sendall`` per SSE event and ``TCP_NODELAY``, which sustains well
over 2,000 events per second.

The server only ever binds to a loopback address. Keys are never logged; the request log keeps headers as sent
(tests assert on them) but ``RecordedRequest``'s repr masks credentials.

This module is the gateway itself (start, stop, addresses, request log) and its public names. The parts:
catalog.py (org, keys, models), faults.py (the knobs), errors.py (error bodies), replies.py (what is answered),
routes.py (which route, checked in Bifrost's order), streaming.py (SSE and chunk sequences, paced), handler.py
(HTTP plumbing), recorded.py (the request log's entries).
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

from optscale_tui.demo.catalog import DEFAULT_MODELS as DEFAULT_MODELS
from optscale_tui.demo.catalog import DEMO_KEY as DEMO_KEY
from optscale_tui.demo.catalog import DEMO_KEY_BUDGET as DEMO_KEY_BUDGET
from optscale_tui.demo.catalog import DEMO_KEY_LIMITED as DEMO_KEY_LIMITED
from optscale_tui.demo.catalog import DEMO_KEY_OPENAI_ONLY as DEMO_KEY_OPENAI_ONLY
from optscale_tui.demo.catalog import DEMO_ORG_ID as DEMO_ORG_ID
from optscale_tui.demo.catalog import KeyPolicy as KeyPolicy
from optscale_tui.demo.catalog import default_keys as default_keys
from optscale_tui.demo.faults import FAULT_KINDS as FAULT_KINDS
from optscale_tui.demo.faults import Faults as Faults
from optscale_tui.demo.handler import Server
from optscale_tui.demo.recorded import RecordedRequest as RecordedRequest
from optscale_tui.demo.replies import demo_reply_text as demo_reply_text

__all__ = [
    "DEFAULT_MODELS",
    "DEMO_KEY",
    "DEMO_KEY_BUDGET",
    "DEMO_KEY_LIMITED",
    "DEMO_KEY_OPENAI_ONLY",
    "DEMO_ORG_ID",
    "FAULT_KINDS",
    "DemoGateway",
    "Faults",
    "KeyPolicy",
    "RecordedRequest",
    "default_keys",
    "demo_reply_text",
]

log = logging.getLogger(__name__)


def _loopback_family(host: str) -> int:
    if host == "localhost":
        return socket.AF_INET
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError(f"the demo gateway only binds to loopback addresses, not {host!r}") from None
    if not addr.is_loopback:
        raise ValueError(f"the demo gateway only binds to loopback addresses, not {host!r}")
    return socket.AF_INET6 if addr.version == 6 else socket.AF_INET


class DemoGateway:
    """The demo gateway. Use as a context manager, or call start()/stop(). Thread-safe.

    ``keys`` adds to (and may override) the built-in demo keys; ``models`` replaces the catalog.
    ``certfile``/``keyfile`` (PEM; ``keyfile`` may be omitted when ``certfile`` holds both) switch on HTTPS.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        org_id: str = DEMO_ORG_ID,
        keys: dict[str, KeyPolicy] | None = None,
        models: list[str] | None = None,
        certfile: Path | None = None,
        keyfile: Path | None = None,
    ) -> None:
        self.host = "127.0.0.1" if host == "localhost" else host.strip("[]")
        self._family = _loopback_family(self.host)
        self._requested_port = port
        self.org_id = org_id
        self.keys: dict[str, KeyPolicy] = {**default_keys(), **(keys or {})}
        self.models: list[str] = list(DEFAULT_MODELS if models is None else models)
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self._ssl: ssl.SSLContext | None = None
        if keyfile is not None and certfile is None:
            raise ValueError("keyfile given without certfile")
        if certfile is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(str(certfile), str(keyfile) if keyfile is not None else None)
            ctx.set_alpn_protocols(["http/1.1"])
            self._ssl = ctx
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._connections: dict[Any, threading.Thread] = {}
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def start(self) -> DemoGateway:
        """Bind, listen and serve in a daemon thread. Returns self. Raises OSError when the port is taken."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = Server((self.host, self._requested_port), self, self._family)
        if self._ssl is not None:
            # The handshake happens in the connection's own thread (see Handler.handle), so a client that never
            # completes it cannot stall the accept loop.
            httpd.socket = self._ssl.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd = httpd
        self._port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-gateway", daemon=True
        )
        self._thread.start()
        log.info("demo gateway listening on %s", self.base_url)
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop promptly: refuse new connections, cut streams and idle keep-alives, release the port."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        deadline = time.monotonic() + timeout
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            connections = list(self._connections.items())
        for conn, _ in connections:
            # socket.socket.shutdown bypasses SSLSocket's wrapper: it only wakes the blocked reader/writer.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
        for _, worker in connections:
            if worker is not threading.current_thread():
                worker.join(max(0.0, deadline - time.monotonic()))
        self._httpd = None
        self._thread = None

    def __enter__(self) -> DemoGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    # -- addresses ---------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the demo gateway has not been started")
        return self._port

    @property
    def scheme(self) -> str:
        return "https" if self._ssl is not None else "http"

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def proxy_root(self) -> str:
        return f"{self.origin}/llm_proxy/{self.org_id}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, as OptScale Chat shows it (…/v1)."""
        return f"{self.proxy_root}/v1"

    @property
    def anthropic_url(self) -> str:
        """The ANTHROPIC_BASE_URL for Claude Code (…/anthropic)."""
        return f"{self.proxy_root}/anthropic"

    # -- request log -------------------------------------------------------------------------------------------------

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _record_request(self, rec: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(rec)

    def _register_connection(self, conn: Any) -> None:
        with self._lock:
            self._connections[conn] = threading.current_thread()

    def _unregister_connection(self, conn: Any) -> None:
        with self._lock:
            self._connections.pop(conn, None)

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _next_request_id(self) -> str:
        with self._lock:
            return f"req_demo_{next(self._request_ids):06d}"

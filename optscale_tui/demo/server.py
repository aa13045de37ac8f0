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
"""

from __future__ import annotations

import calendar
import contextlib
import ipaddress
import itertools
import json
import logging
import re
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from optscale_tui.core.connection import mask_secret

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

DEMO_ORG_ID = "00000000-0000-4000-8000-00000000d3e0"
# Fake, public demo keys. They only work against this demo server; the last four characters differ so masked
# forms (sk-bf-…a001) stay distinguishable.
DEMO_KEY = "sk-bf-demo-all-models-d3e0a001"
DEMO_KEY_LIMITED = "sk-bf-demo-anthropic-only-d3e0a002"
DEMO_KEY_BUDGET = "sk-bf-demo-budget-spent-d3e0a003"
DEMO_KEY_OPENAI_ONLY = "sk-bf-demo-openai-only-d3e0a004"

DEFAULT_MODELS: tuple[str, ...] = (
    "anthropic/claude-haiku-4-5",
    "anthropic/claude-sonnet-4-6",
    "anthropic/claude-opus-4-6",
    "openai/gpt-5",
    "openai/gpt-4.1",
    "ollama/qwen3:32b",
)

FAULT_KINDS: tuple[str, ...] = (
    "auth",
    "provider",
    "model_blocked",
    "not_found",
    "path_not_found",
    "rate",
    "budget",
    "server",
    "html_502",
)

REPLY_PREFIX = "Hello from the OptScale demo gateway."
_PROMPT_ECHO_LIMIT = 200
_MAX_BODY = 32 * 1024 * 1024
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-bf-vk", "proxy-authorization", "cookie"})

# Display names and release dates for the built-in catalog; other ids get a name derived from the id.
_MODEL_META: dict[str, tuple[str, str]] = {
    "anthropic/claude-haiku-4-5": ("Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
    "anthropic/claude-sonnet-4-6": ("Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    "anthropic/claude-opus-4-6": ("Claude Opus 4.6", "2026-02-05T00:00:00Z"),
    "openai/gpt-5": ("GPT-5", "2025-08-07T00:00:00Z"),
    "openai/gpt-4.1": ("GPT-4.1", "2025-04-14T00:00:00Z"),
    "ollama/qwen3:32b": ("Qwen3 32B", "2025-04-29T00:00:00Z"),
}
_DEFAULT_CREATED_AT = "2025-01-01T00:00:00Z"

_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class KeyPolicy:
    """What a virtual key may do. ``None`` means "no restriction"; model ids are catalog ids (provider/model)."""

    allowed_models: set[str] | None = None
    allowed_providers: set[str] | None = None
    budget_exceeded: bool = False

    def allows_provider(self, provider: str) -> bool:
        return self.allowed_providers is None or provider in self.allowed_providers

    def allows_model(self, model_id: str) -> bool:
        return self.allowed_models is None or model_id in self.allowed_models


def default_keys() -> dict[str, KeyPolicy]:
    """The built-in demo keys (fresh, mutable copies)."""
    return {
        DEMO_KEY: KeyPolicy(),
        DEMO_KEY_LIMITED: KeyPolicy(
            allowed_models={"anthropic/claude-sonnet-4-6", "anthropic/claude-haiku-4-5"},
            allowed_providers={"anthropic"},
        ),
        DEMO_KEY_BUDGET: KeyPolicy(budget_exceeded=True),
        DEMO_KEY_OPENAI_ONLY: KeyPolicy(allowed_providers={"openai"}),
    }


# The betas Claude Code 2.1.332 still sends with CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 (measured).
STABLE_BETAS: tuple[str, ...] = (
    "claude-code-20250219",
    "context-1m-2025-08-07",
    "interleaved-thinking-2025-05-14",
    "effort-2025-11-24",
)


@dataclass
class Faults:
    """Fault knobs. Mutable while the server runs; every request reads a snapshot when it starts.

    - ``latency_ms``: delay before the response headers (every route).
    - ``ttft_ms``: streams — after the headers and ``message_start``/first chunk, before the first delta;
      non-streaming inference replies are delayed by it as well (the whole reply waits for generation).
    - ``chunk_delay_ms``: between consecutive stream deltas (paced against a clock, so rates stay exact).
    - ``force_kind`` (one of ``FAULT_KINDS``) / ``force_status``: answer the models, messages, chat and
      count_tokens routes with that error. ``force_status`` alone picks the kind from the status; with a kind it
      overrides that kind's status (e.g. ``force_kind="server", force_status=503`` → overloaded_error).
    - ``reject_beta``: 400 on the Anthropic inference routes when the ``anthropic-beta`` header carries a value
      outside ``accepted_betas`` — like gateways that only forward the betas they know. The default accepted set is
      what Claude Code still sends with CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1, so that setting is the fix, as it
      is in the field; set ``accepted_betas=()`` for a gateway that rejects every beta.
    - ``cut_stream_after``: close the connection after N deltas, without ``message_stop`` / ``[DONE]``.
    - ``stream_chunks``: send exactly N text deltas (benchmarks); ignores ``max_tokens``.
    - ``models_route_missing``: ``GET …/v1/models`` answers 404 (clients fall back to ``/anthropic/v1/models``).
    - ``retry_after``: value of the ``retry-after`` header on 429 answers, in seconds.
    """

    latency_ms: float = 0
    ttft_ms: float = 0
    chunk_delay_ms: float = 0
    force_status: int | None = None
    force_kind: str | None = None
    reject_beta: bool = False
    accepted_betas: tuple[str, ...] = STABLE_BETAS
    cut_stream_after: int | None = None
    stream_chunks: int | None = None
    models_route_missing: bool = False
    retry_after: int = 2

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "force_kind" and value is not None and value not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {value!r}; expected one of {', '.join(FAULT_KINDS)}")
        if name in ("cut_stream_after", "stream_chunks") and value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0")
        super().__setattr__(name, value)

    def reset(self) -> None:
        """Back to a well-behaved gateway."""
        for f in fields(self):
            setattr(self, f.name, f.default)


@dataclass
class RecordedRequest:
    """One request as the gateway received it. ``headers`` keys are lower-case; ``body`` is the parsed JSON
    object (None when empty or not a JSON object). ``status``/``request_id`` are filled once answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float
    status: int | None = None
    request_id: str = ""

    @property
    def query_params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def masked_headers(self) -> dict[str, str]:
        return {k: (_mask_header(k, v) if k in _SECRET_HEADERS else v) for k, v in self.headers.items()}

    def __repr__(self) -> str:  # never show credentials, even in a failing assertion
        body = "None" if self.body is None else f"<{len(self.body)} keys>"
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, query={self.query!r}, "
            f"headers={self.masked_headers()!r}, body={body}, status={self.status!r}, "
            f"request_id={self.request_id!r})"
        )


def _mask_header(name: str, value: str) -> str:
    if name in ("authorization", "proxy-authorization"):
        scheme, _, rest = value.partition(" ")
        return f"{scheme} {mask_secret(rest)}" if rest else mask_secret(value)
    return mask_secret(value)


# --------------------------------------------------------------------------------------------------------------------
# Deterministic reply helpers (public so tests and other modules can predict replies)
# --------------------------------------------------------------------------------------------------------------------


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for msg in reversed(messages):
        if not isinstance(msg, dict) or msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [
                b["text"]
                for b in content
                if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
            ]
            # Claude Code prepends <system-reminder> blocks; the prompt itself is the last plain text block.
            plain = [t for t in texts if not t.lstrip().startswith("<system-reminder>")]
            if plain or texts:
                return (plain or texts)[-1]
        return ""
    return ""


def demo_reply_text(messages: Any) -> str:
    """The reply the demo gateway gives to a conversation: a fixed greeting echoing the last user prompt
    (whitespace collapsed, at most 200 characters)."""
    prompt = " ".join(_last_user_text(messages).split())
    if len(prompt) > _PROMPT_ECHO_LIMIT:
        prompt = prompt[: _PROMPT_ECHO_LIMIT - 1].rstrip() + "…"
    return f"{REPLY_PREFIX} You said: {prompt}" if prompt else REPLY_PREFIX


def _word_chunks(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _string_leaves(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):  # structural fields ("role": "user", "type": "text") are not text
            stack.extend(v for k, v in item.items() if k not in ("role", "type"))
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _rough_tokens(body: dict[str, Any]) -> int:
    """A rough, deterministic token estimate: whitespace-separated words in system, messages and tools."""
    words = sum(
        len(s.split()) for key in ("system", "messages", "tools") for s in _string_leaves(body.get(key))
    )
    return max(1, words)


def _sample_input(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    out: dict[str, Any] = {}
    for name in required:
        spec = props.get(name) if isinstance(props.get(name), dict) else {}
        if isinstance(spec.get("enum"), list) and spec["enum"]:
            out[name] = spec["enum"][0]
            continue
        kind = spec.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        out[name] = {
            "string": "demo",
            "integer": 1,
            "number": 1,
            "boolean": True,
            "array": [],
            "object": {},
        }.get(kind, "demo")
    return out


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    schema = fmt.get("schema")
    if not isinstance(schema, dict) and isinstance(fmt.get("json_schema"), dict):
        schema = fmt["json_schema"].get("schema")
    return schema if isinstance(schema, dict) else None


def _display_name(model_id: str) -> str:
    if model_id in _MODEL_META:
        return _MODEL_META[model_id][0]
    name = model_id.split("/", 1)[-1]
    return name.replace("-", " ").replace(":", " ").title()


def _created_at(model_id: str) -> str:
    return _MODEL_META.get(model_id, ("", _DEFAULT_CREATED_AT))[1]


def _created_ts(model_id: str) -> int:
    return calendar.timegm(time.strptime(_created_at(model_id), "%Y-%m-%dT%H:%M:%SZ"))


def _provider_of(model_id: str) -> str:
    return model_id.split("/", 1)[0] if "/" in model_id else "anthropic"


# --------------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Err:
    status: int
    type: str  # Anthropic error type (also the OpenAI "type" unless openai_type is set)
    message: str
    code: str  # Bifrost-ish code: the OpenAI "code" and Bifrost's top-level "type"
    headers: tuple[tuple[str, str], ...] = ()
    openai_type: str | None = None
    html: bool = False


def _err_route(path: str) -> _Err:
    return _Err(404, "not_found_error", f"Route not found: {path}", "route_not_found")


def _err_unknown_model(model: str) -> _Err:
    return _Err(404, "not_found_error", f"Unknown model '{model}' for this organization", "model_not_found")


def _err_missing_key() -> _Err:
    return _Err(
        401,
        "authentication_error",
        "Virtual key is required: send it as Authorization: Bearer <key>, x-api-key or x-bf-vk",
        "virtual_key_required",
    )


def _err_invalid_key() -> _Err:
    return _Err(401, "authentication_error", "Invalid virtual key", "virtual_key_not_found")


def _err_provider(provider: str) -> _Err:
    return _Err(
        403,
        "permission_error",
        f"Provider '{provider}' is not allowed for this virtual key",
        "provider_blocked",
    )


def _err_model_blocked(model: str) -> _Err:
    return _Err(
        403, "permission_error", f"Model '{model}' is not allowed for this virtual key", "model_blocked"
    )


def _err_budget() -> _Err:
    return _Err(
        402,
        "billing_error",
        "Budget exceeded for this virtual key",
        "budget_exceeded",
        openai_type="budget_exceeded",
    )


def _err_rate(retry_after: int) -> _Err:
    return _Err(
        429,
        "rate_limit_error",
        "Request rate limit exceeded for this virtual key",
        "rate_limited",
        headers=(("retry-after", str(retry_after)),),
    )


def _err_server(status: int = 500) -> _Err:
    if status in (503, 529):
        return _Err(status, "overloaded_error", "Overloaded", "overloaded")
    return _Err(status, "api_error", "Internal server error", "internal_error")


def _err_html_502() -> _Err:
    return _Err(502, "api_error", "Bad Gateway", "bad_gateway", html=True)


def _err_invalid(message: str) -> _Err:
    return _Err(400, "invalid_request_error", message, "invalid_request")


_ERR_TOO_LARGE = _Err(413, "request_too_large", "Request body too large", "request_too_large")


def _forced_error(faults: Faults, model: str | None, path: str) -> _Err | None:
    kind, status = faults.force_kind, faults.force_status
    if kind is None and status is None:
        return None
    if kind is None:
        kind = {
            401: "auth",
            402: "budget",
            403: "model_blocked",
            404: "not_found",
            429: "rate",
            502: "html_502",
        }.get(int(status or 500), "server")
        if kind == "server" and status is not None and status < 500:
            return _Err(
                status, "invalid_request_error" if status == 400 else "api_error", "Forced error", "forced"
            )
    name = model or "unknown"
    err = {
        "auth": lambda: _err_invalid_key(),
        "provider": lambda: _err_provider(_provider_of(name) if model else "openai"),
        "model_blocked": lambda: _err_model_blocked(name),
        "not_found": lambda: _err_unknown_model(name),
        "path_not_found": lambda: _err_route(path),
        "rate": lambda: _err_rate(faults.retry_after),
        "budget": lambda: _err_budget(),
        "server": lambda: _err_server(status or 500),
        "html_502": lambda: _err_html_502(),
    }[kind]()
    if status is not None and status != err.status:
        err = replace(err, status=status)
    return err


# --------------------------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------------------------


class _StreamAborted(Exception):
    """The stream stops here: cut on purpose, server stopping, or the client went away."""


class _BodyError(Exception):
    def __init__(self, err: _Err) -> None:
        super().__init__(err.message)
        self.err = err


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], gateway: DemoGateway, family: int) -> None:
        self.address_family = family
        self.gateway = gateway
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN (a reverse DNS lookup); skip it, we know the name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:  # no tracebacks on stderr for resets
        log.debug("demo gateway: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "optscale-demo-gateway/1.0"
    sys_version = ""
    timeout = 60  # idle keep-alive connections give up after a minute; stop() cuts them at once
    disable_nagle_algorithm = True
    server: _Server

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.gateway = self.server.gateway
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
        self._record: RecordedRequest | None = None
        split = urlsplit(self.path)
        path, query = split.path, split.query
        try:
            raw = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            self._send_error("anthropic" if "/anthropic" in path else "openai", exc.err)
            return
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            lname = name.lower()
            headers[lname] = f"{headers[lname]}, {value}" if lname in headers else value
        body: dict[str, Any] | None = None
        if raw:
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw)
                body = parsed if isinstance(parsed, dict) else None
        self._record = RecordedRequest(self.command, path, query, headers, body, time.time(), None, self._rid)
        gw._record_request(self._record)
        self._req_headers = headers
        faults = replace(gw.faults)  # a snapshot: knobs changed mid-request apply to the next one
        try:
            if gw._stopping.is_set():
                raise _StreamAborted
            self._sleep(faults.latency_ms)
            self._route(path, body, raw, faults)
        except _StreamAborted:
            self.close_connection = True
        except OSError:  # the client went away, a timeout, a TLS error, or stop() shut the socket
            self.close_connection = True
        except Exception:
            log.exception("demo gateway: handler failed for %s %s", self.command, path)
            self.close_connection = True
            if not self._headers_sent:
                with contextlib.suppress(OSError):
                    self._send_error("anthropic" if "/anthropic" in path else "openai", _err_server(500))
        finally:
            status = self._record.status
            log.info(
                "demo gateway: %s %s%s -> %s (%s)",
                self.command,
                path,
                f"?{query}" if query else "",
                status if status is not None else "cut",
                self._rid,
            )

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                except ValueError:
                    raise _BodyError(_err_invalid("Malformed chunked request body")) from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > _MAX_BODY:
                    raise _BodyError(_ERR_TOO_LARGE)
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise _BodyError(_err_invalid("Invalid Content-Length header")) from None
        if n > _MAX_BODY:
            raise _BodyError(_ERR_TOO_LARGE)
        return self.rfile.read(n) if n > 0 else b""

    def _sleep(self, ms: float) -> None:
        if ms and ms > 0:
            if self.gateway._stopping.wait(ms / 1000.0):
                raise _StreamAborted
        elif self.gateway._stopping.is_set():
            raise _StreamAborted

    def _route(self, path: str, body: dict[str, Any] | None, raw: bytes, faults: Faults) -> None:
        gw = self.gateway
        prefix = "/llm_proxy/"
        if not path.startswith(prefix):
            self._send_bytes(404, b"404 page not found\n", "text/plain; charset=utf-8", request_ids=False)
            return
        org, sep, sub = path[len(prefix) :].partition("/")
        sub = f"/{sub}" if sep else ""
        family = "anthropic" if sub == "/anthropic" or sub.startswith("/anthropic/") else "openai"
        if org != gw.org_id:
            self._send_error(
                family,
                _Err(404, "not_found_error", f"Organization '{org}' not found", "organization_not_found"),
            )
            return
        method = self.command
        if method in ("HEAD", "GET") and sub in ("/anthropic", "/anthropic/", "/anthropic/api/hello"):
            self._send_bytes(200, b"", "text/plain; charset=utf-8")
            return
        route: str | None = None
        if method == "GET" and sub == "/v1/models" and not faults.models_route_missing:
            route = "openai_models"
        elif method == "GET" and sub == "/anthropic/v1/models":
            route = "anthropic_models"
        elif method == "POST" and sub == "/v1/chat/completions":
            route = "chat"
        elif method == "POST" and sub == "/anthropic/v1/messages":
            route = "messages"
        elif method == "POST" and sub == "/anthropic/v1/messages/count_tokens":
            route = "count_tokens"
        if route is None:
            self._send_error(family, _err_route(path))
            return

        model = body.get("model") if body and isinstance(body.get("model"), str) else None
        forced = _forced_error(faults, model, path)
        if forced is not None:
            self._send_error(family, forced)
            return

        policy, err = self._authenticate()
        if err is not None:
            self._send_error(family, err)
            return
        assert policy is not None

        if route == "openai_models":
            self._send_json(200, gw._openai_models(policy))
            return
        if route == "anthropic_models":
            self._send_json(
                200, gw._anthropic_models(policy, self._record.query_params if self._record else {})
            )
            return

        # Inference routes.
        if body is None:
            self._send_error(
                family,
                _err_invalid("Request body must be a JSON object" if raw else "Request body is required"),
            )
            return
        if model is None:
            self._send_error(family, _err_invalid("model: Field required"))
            return
        if not isinstance(body.get("messages"), list):
            self._send_error(family, _err_invalid("messages: Field required"))
            return
        if route == "messages" and not isinstance(body.get("max_tokens"), int):
            self._send_error(family, _err_invalid("max_tokens: Field required"))
            return
        catalog_id = gw._resolve_model(model)
        if catalog_id is None:
            self._send_error(family, _err_unknown_model(model))
            return
        if not policy.allows_provider(_provider_of(catalog_id)):
            self._send_error(family, _err_provider(_provider_of(catalog_id)))
            return
        if not policy.allows_model(catalog_id):
            self._send_error(family, _err_model_blocked(model))
            return
        if policy.budget_exceeded and route != "count_tokens":
            self._send_error(family, _err_budget())
            return
        beta = self._req_headers.get("anthropic-beta")
        rejected = [v.strip() for v in (beta or "").split(",") if v.strip() and v.strip() not in faults.accepted_betas]
        if faults.reject_beta and family == "anthropic" and rejected:
            values = ", ".join(rejected)
            self._send_error(
                family, _err_invalid(f"Unexpected value(s) `{values}` for the anthropic-beta header")
            )
            return

        if route == "count_tokens":
            self._send_json(200, {"input_tokens": _rough_tokens(body)})
        elif route == "messages":
            self._messages(body, model, faults)
        else:
            self._chat(body, model, faults)

    def _authenticate(self) -> tuple[KeyPolicy | None, _Err | None]:
        h = self._req_headers
        candidates: list[str] = []
        if h.get("x-bf-vk", "").strip():
            candidates.append(h["x-bf-vk"].strip())
        scheme, _, token = h.get("authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            candidates.append(token.strip())
        if h.get("x-api-key", "").strip():
            candidates.append(h["x-api-key"].strip())
        if not candidates:
            return None, _err_missing_key()
        policy = self.gateway.keys.get(candidates[0])  # the first credential presented is the one used
        if policy is None:
            return None, _err_invalid_key()
        return policy, None

    # -- Anthropic messages --------------------------------------------------------------------------------------

    def _messages(self, body: dict[str, Any], model: str, faults: Faults) -> None:
        gw = self.gateway
        msg_id = f"msg_demo_{gw._next_id():06d}"
        input_tokens = _rough_tokens(body)
        tool = self._forced_tool(body)
        stream = body.get("stream") is True
        if tool is not None:
            tool_input = _sample_input(tool.get("input_schema"))
            tool_id = f"toolu_demo_{gw._next_id():06d}"
            text = json.dumps(tool_input, separators=(",", ":"))
            pieces = [text[i : i + 12] for i in range(0, len(text), 12)] or [""]
            stop_reason = "tool_use"
        else:
            schema = _output_schema(body)
            if schema is not None:  # structured output (e.g. Claude Code's session-title request): valid JSON
                reply = json.dumps(_sample_input(schema))
            else:
                reply = demo_reply_text(body.get("messages"))
            words = _word_chunks(reply)
            if faults.stream_chunks is not None:
                pieces = [words[i % len(words)] for i in range(faults.stream_chunks)]
                stop_reason = "end_turn"
            else:
                max_tokens = max(1, int(body.get("max_tokens") or 1))
                pieces = words[:max_tokens]
                stop_reason = "end_turn" if len(words) <= max_tokens else "max_tokens"
        output_tokens = len(pieces)
        usage_start = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        }
        if not stream:
            self._sleep(faults.ttft_ms)
            if tool is not None:
                content: list[dict[str, Any]] = [
                    {"type": "tool_use", "id": tool_id, "name": tool["name"], "input": tool_input}
                ]
            else:
                content = [{"type": "text", "text": "".join(pieces)}]
            self._send_json(
                200,
                {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": content,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {**usage_start, "output_tokens": output_tokens},
                },
            )
            return

        self._start_stream("text/event-stream; charset=utf-8")
        self._write(
            _sse(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": msg_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": usage_start,
                    },
                },
            )
        )
        if tool is not None:
            block = {"type": "tool_use", "id": tool_id, "name": tool["name"], "input": {}}
            delta_head = (
                b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
                b'"delta":{"type":"input_json_delta","partial_json":'
            )
        else:
            block = {"type": "text", "text": ""}
            delta_head = (
                b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
                b'"delta":{"type":"text_delta","text":'
            )
        self._write(
            _sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})
        )
        self._write(_sse("ping", {"type": "ping"}))
        self._stream_deltas(pieces, faults, lambda piece: delta_head + json.dumps(piece).encode() + b"}}\n\n")
        self._write(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        self._write(
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
            )
        )
        self._write(_sse("message_stop", {"type": "message_stop"}))
        self._end_stream()

    @staticmethod
    def _forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]
        choice = body.get("tool_choice")
        if not tools or not isinstance(choice, dict):
            return None
        if choice.get("type") == "any":
            return tools[0]
        if choice.get("type") == "tool":
            return next((t for t in tools if t["name"] == choice.get("name")), None)
        return None

    # -- OpenAI chat completions ---------------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any], model: str, faults: Faults) -> None:
        gw = self.gateway
        chat_id = f"chatcmpl-demo-{gw._next_id():06d}"
        created = int(time.time())
        words = _word_chunks(demo_reply_text(body.get("messages")))
        if faults.stream_chunks is not None:
            pieces = [words[i % len(words)] for i in range(faults.stream_chunks)]
            finish = "stop"
        else:
            limit = body.get("max_completion_tokens") or body.get("max_tokens")
            limit = max(1, int(limit)) if isinstance(limit, int) else len(words)
            pieces = words[:limit]
            finish = "stop" if len(words) <= limit else "length"
        prompt_tokens = _rough_tokens(body)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
        }
        if body.get("stream") is not True:
            self._sleep(faults.ttft_ms)
            self._send_json(
                200,
                {
                    "id": chat_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(pieces), "refusal": None},
                            "logprobs": None,
                            "finish_reason": finish,
                        }
                    ],
                    "usage": usage,
                },
            )
            return

        head = {"id": chat_id, "object": "chat.completion.chunk", "created": created, "model": model}

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            return (
                b"data: "
                + json.dumps({**head, "choices": choices, **extra}, separators=(",", ":")).encode()
                + b"\n\n"
            )

        self._start_stream("text/event-stream; charset=utf-8")
        self._write(
            chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        )
        self._stream_deltas(
            pieces,
            faults,
            lambda piece: chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}]),
        )
        self._write(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            self._write(chunk([], usage=usage))
        self._write(b"data: [DONE]\n\n")
        self._end_stream()

    # -- streaming ---------------------------------------------------------------------------------------------------

    def _stream_deltas(self, pieces: list[str], faults: Faults, render: Any) -> None:
        stopping = self.gateway._stopping
        self._sleep(faults.ttft_ms)
        delay = max(0.0, float(faults.chunk_delay_ms or 0)) / 1000.0
        cut = faults.cut_stream_after
        first_at = time.perf_counter()
        for i, piece in enumerate(pieces):
            if cut is not None and i >= cut:
                raise _StreamAborted
            if delay and i:
                remaining = first_at + i * delay - time.perf_counter()
                if remaining > 0 and stopping.wait(remaining):
                    raise _StreamAborted
            if stopping.is_set():
                raise _StreamAborted
            self._write(render(piece))
        if cut is not None and len(pieces) >= cut:
            raise _StreamAborted

    def _start_stream(self, content_type: str) -> None:
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

    def _write(self, data: bytes) -> None:
        if self._chunked:
            self.wfile.write(b"%X\r\n%b\r\n" % (len(data), data))
        else:
            self.wfile.write(data)

    def _end_stream(self) -> None:
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")

    # -- responses ---------------------------------------------------------------------------------------------------

    def _status(self, status: int) -> None:
        self.send_response(status)
        if self._record is not None:
            self._record.status = status

    def _id_headers(self) -> None:
        self.send_header("request-id", self._rid)
        self.send_header("x-request-id", self._rid)

    def _send_bytes(
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

    def _send_json(self, status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self._send_bytes(status, json.dumps(obj).encode(), "application/json", headers=headers)

    def _send_error(self, family: str, err: _Err) -> None:
        if err.html:
            self._send_bytes(err.status, _HTML_502, "text/html", headers=err.headers, request_ids=False)
            return
        if family == "anthropic":
            payload: dict[str, Any] = {"type": "error", "error": {"type": err.type, "message": err.message}}
        else:
            payload = {
                "error": {
                    "message": err.message,
                    "type": err.openai_type or err.type,
                    "code": err.code,
                    "param": None,
                },
                # Bifrost's own top-level fields, as its /v1 routes send them.
                "type": err.code,
                "is_bifrost_error": False,
                "status_code": err.status,
            }
        self._send_json(err.status, payload, headers=err.headers)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


# --------------------------------------------------------------------------------------------------------------------
# The gateway
# --------------------------------------------------------------------------------------------------------------------


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
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def start(self) -> DemoGateway:
        """Bind, listen and serve in a daemon thread. Returns self. Raises OSError when the port is taken."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server((self.host, self._requested_port), self, self._family)
        if self._ssl is not None:
            # The handshake happens in the connection's own thread (see _Handler.handle), so a client that never
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

    # -- catalog -----------------------------------------------------------------------------------------------------

    def _resolve_model(self, name: str) -> str | None:
        """Catalog id for a requested model: exact id, or a bare name that matches exactly one id."""
        if name in self.models:
            return name
        if "/" not in name:
            matches = [m for m in self.models if m.split("/", 1)[-1] == name]
            if len(matches) == 1:
                return matches[0]
        return None

    def _visible_models(self, policy: KeyPolicy) -> list[str]:
        return [m for m in self.models if policy.allows_provider(_provider_of(m)) and policy.allows_model(m)]

    def _openai_models(self, policy: KeyPolicy) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": _created_ts(m), "owned_by": _provider_of(m)}
                for m in self._visible_models(policy)
            ],
        }

    def _anthropic_models(self, policy: KeyPolicy, params: dict[str, list[str]]) -> dict[str, Any]:
        models = self._visible_models(policy)
        after = (params.get("after_id") or [None])[0]
        if after in models:
            models = models[models.index(after) + 1 :]
        try:
            limit = max(1, min(1000, int((params.get("limit") or ["20"])[0])))
        except ValueError:
            limit = 20
        page, has_more = models[:limit], len(models) > limit
        return {
            "data": [
                {"id": m, "type": "model", "display_name": _display_name(m), "created_at": _created_at(m)}
                for m in page
            ],
            "has_more": has_more,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }

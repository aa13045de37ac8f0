"""The gateway client: catalog, streaming messages (SSE), count_tokens, tool use and beta-header probes.

Every probe returns a `ProbeResult` — never raises for network or HTTP problems — carrying a `Cause` from the closed
set, the server's own words (truncated, key masked), timings and the request ids a gateway admin needs to find the
request in OptScale Traces.

Requests look like Claude Code's: `Authorization: Bearer <key>`, `anthropic-version: 2023-06-01`, `POST
{anthropic_base}/v1/messages` with `"stream": true`, and for the beta probe `?beta=true` plus the `anthropic-beta`
header Claude Code sends for its default model.

Classification decisions (see `classify_http_error`):
* 401 → auth_invalid_key. 402 or budget wording (any 4xx) → budget_exceeded. 429 → rate_limited.
* 403: provider wording (`provider_blocked`, "provider … not allowed") → provider_not_allowed; model wording
  (`model_blocked`, "model … not allowed") → model_not_allowed; key wording (`virtual_key_blocked`, "virtual key",
  "api key") → auth_invalid_key. A 403 without any of these: on the models route → auth_invalid_key (no model is
  involved, so the key itself is refused); on messages / count_tokens → model_not_allowed (Anthropic's own
  `permission_error` means "this key may not use this resource"). An HTML 403 is a proxy / WAF page → bad_response.
* 404: model wording (`model_not_found`, "unknown model", "model: …") on messages / count_tokens → model_unknown;
  any other 404 (route not found, HTML, empty) → path_not_found. 405 → path_not_found (wrong route).
* 400: "unknown model" / `model_not_found` → model_unknown; `anthropic-beta` / "Extra inputs are not permitted" →
  beta_rejected; blocked provider/model wording as for 403; anything else → bad_response (the gateway did not accept
  an Anthropic-shaped request).
* 5xx (including 529 overloaded) → server_error, JSON or not; an HTML body gets the detail "HTML page from a proxy"
  because an nginx / load balancer 502 means the gateway behind it is down, which is a server error, not a wrong URL.
* 3xx → bad_response (we never follow redirects: the key must not travel to another host; a redirect is usually a
  login page). Anything else non-JSON → bad_response.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from optscale_tui import __version__
from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import ApiKey, GatewayUrl, InputError
from optscale_tui.core.gateway.body import (
    ACCEPT_ENCODING,
    BodyEncodingError,
    BodyTooLarge,
    DeadlineExceeded,
    deadline,
    iter_decoded,
    read_body,
)
from optscale_tui.core.gateway.sse import ServerSentEvent, SSEDecoder, SSEError
from optscale_tui.core.gateway.tls import shared_ssl_context
from optscale_tui.core.secrets import OutsideTextStream, clean_outside_text

log = logging.getLogger(__name__)

ANTHROPIC_VERSION = "2023-06-01"
USER_AGENT = f"optscale-tui/{__version__}"

# Measured on the wire (Claude Code 2.1.332, default main model): the full anthropic-beta header it sends.
CLAUDE_CODE_BETAS: tuple[str, ...] = (
    "claude-code-20250219",
    "interleaved-thinking-2025-05-14",
    "context-management-2025-06-27",
    "per-turn-control-2026-07-01",
    "mid-conversation-tool-changes-2026-07-01",
    "thinking-token-count-2026-05-13",
    "advanced-tool-use-2025-11-20",
    "effort-2025-11-24",
)

DEFAULT_PROMPT = "Reply with the single word: pong"
MAX_DETAIL_CHARS = 400  # a whole ProbeResult.detail
MAX_SERVER_WORDS = 240  # the server's own message inside it
MAX_ERROR_BODY_BYTES = 64 * 1024  # an error body is read this far (decoded) and classified on that
# Decoded-size caps (see bounded_body): what a hostile or broken gateway can make us hold in memory.
MAX_CATALOG_BYTES = 32 * 1024 * 1024  # all pages of a catalog; 100,000 models are about 8 MiB of JSON
MAX_STREAM_BYTES = 2 * 1024 * 1024  # one streamed reply; ours ask for at most 128 tokens (a few KiB)
MAX_MESSAGE_BYTES = 1024 * 1024  # a non-streamed JSON answer (a message, count_tokens)
MAX_TITLE_SNIFF = 16 * 1024  # where an HTML error page's <title> is looked for
MAX_TEXT_CHARS = 16 * 1024

# Anthropic error types mapped onto the HTTP status the same error comes with, so a mid-stream `event: error`
# is classified exactly like an HTTP error response.
_ERROR_TYPE_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
    "timeout_error": 504,
}

# OpenSSL X509 verify codes.
_X509_EXPIRED = {9, 10}  # not yet valid (clock), expired
_X509_HOSTNAME = {62, 63, 64}  # hostname / email / IP address mismatch
_X509_UNTRUSTED = {2, 18, 19, 20, 21, 27, 28}

# What talking to the gateway can raise; a probe turns these into a failed ProbeResult, anything else is a bug.
# (DeadlineExceeded is a TimeoutError, so an OSError.)
_TRANSPORT_ERRORS = (httpx.HTTPError, OSError, ssl.SSLError, BodyTooLarge, BodyEncodingError)

_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated",
    "name resolution",
    "no such host",
)


# --------------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ProbeTimings:
    ttfb_ms: float | None  # request sent → response headers received
    ttft_ms: float | None  # request sent → first text delta
    total_ms: float
    output_tokens: int | None
    tokens_per_s: float | None


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    status: int | None
    cause: Cause | None
    detail: str
    request_ids: dict[str, str]
    timings: ProbeTimings
    text: str = ""
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)  # slots: a catalog can hold 100,000 of them
class ModelInfo:
    id: str
    display_name: str | None = None
    owned_by: str | None = None


@dataclass(frozen=True)
class Catalog:
    models: tuple[ModelInfo, ...]
    source: str  # the URL the list came from (or was last tried)
    probe: ProbeResult

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)


# --------------------------------------------------------------------------------------------------------------
# Classification


def _parse_json(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested thousands of levels deep
        return None


def _body_text(body: bytes | str) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return body


def _looks_html(body_text: str, content_type: str | None) -> bool:
    ct = (content_type or "").lower()
    if "html" in ct:
        return True
    head = body_text.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or head.startswith("<html") or "<body" in head or "<head" in head


def _error_fields(data: Any) -> tuple[str, str, str]:
    """(type, code, message) from an Anthropic `{"type":"error","error":{…}}`, an OpenAI `{"error":{…}}`, a
    `{"error":"text"}` or a `{"message":…}` body."""
    if not isinstance(data, dict):
        return "", "", ""
    err = data.get("error")
    etype = code = message = ""
    if isinstance(err, dict):
        etype = str(err.get("type") or "")
        code = str(err.get("code") or "")
        message = str(err.get("message") or "")
    elif isinstance(err, str):
        message = err
    if not message:
        message = str(data.get("message") or data.get("detail") or "")
    if not code:
        code = str(data.get("code") or "")
    if not etype and data.get("type") != "error":
        etype = str(data.get("type") or "")
    return etype, code, message


_RE_UNKNOWN_MODEL = re.compile(
    r"model_not_found|unknown model|invalid model|no such model|model[\s:'\"`].{0,80}?"
    r"(not found|does not exist|doesn't exist|not exist|unknown|not available|not supported)|"
    r"(not found|unknown|no such).{0,20}\bmodel\b",
    re.I | re.S,
)
_RE_PROVIDER_BLOCKED = re.compile(
    r"provider_blocked|provider[^.]{0,80}?(not allowed|blocked|forbidden|denied)", re.I
)
_RE_MODEL_BLOCKED = re.compile(
    r"model_blocked|model[^.]{0,80}?(not allowed|blocked|forbidden|denied|no access|not permitted)", re.I
)
_RE_KEY_BLOCKED = re.compile(
    r"virtual_key|virtual key|api[ _-]?key|invalid[ _-]?(token|key)|authentication|unauthori[sz]ed", re.I
)
_RE_BETA = re.compile(r"anthropic-beta|extra inputs are not permitted|\bbetas?\b", re.I)
_RE_BUDGET = re.compile(r"budget|quota exceeded|insufficient[_ ](credit|funds|quota)|credit balance", re.I)


def _blocked_by_policy(words: str) -> Cause | None:
    """A gateway policy refusing the provider or the model, recognised by its wording in a 403 or another 4xx."""
    if _RE_PROVIDER_BLOCKED.search(words):
        return Cause.PROVIDER_NOT_ALLOWED
    if _RE_MODEL_BLOCKED.search(words):
        return Cause.MODEL_NOT_ALLOWED
    return None


def classify_http_error(status: int, body: bytes | str, content_type: str | None, *, path_kind: str) -> Cause:
    """The diagnosis for a non-2xx answer (or a 2xx that is not an API answer). `path_kind` is "messages",
    "models" or "count_tokens". See the module docstring for the decisions."""
    text = _body_text(body)
    data = _parse_json(text) if text.strip() else None
    html = data is None and _looks_html(text, content_type)
    etype, code, message = _error_fields(data)
    words = " ".join(x for x in (etype, code, message) if x) if data is not None else text[:2000]
    model_route = path_kind != "models"

    if 300 <= status < 400:
        return Cause.BAD_RESPONSE
    if status >= 500:
        return Cause.SERVER_ERROR
    if status == 401:
        return Cause.AUTH_INVALID_KEY
    if status == 402:
        return Cause.BUDGET_EXCEEDED
    if 400 <= status < 500 and not html and (_RE_BUDGET.search(words) or etype == "billing_error"):
        return Cause.BUDGET_EXCEEDED
    if status == 429:
        return Cause.RATE_LIMITED
    if status == 403:
        if html:
            return Cause.BAD_RESPONSE
        if (blocked := _blocked_by_policy(words)) is not None:
            return blocked
        if _RE_KEY_BLOCKED.search(words):
            return Cause.AUTH_INVALID_KEY
        return Cause.MODEL_NOT_ALLOWED if model_route else Cause.AUTH_INVALID_KEY
    if status == 404:
        if (
            model_route
            and not html
            and (_RE_UNKNOWN_MODEL.search(words) or re.search(r"\bmodel\b", words, re.I))
        ):
            return Cause.MODEL_UNKNOWN
        return Cause.PATH_NOT_FOUND
    if status == 405:
        return Cause.PATH_NOT_FOUND
    if status == 408:
        return Cause.TIMEOUT
    if 400 <= status < 500:
        if html:
            return Cause.BAD_RESPONSE
        if (blocked := _blocked_by_policy(words)) is not None:
            return blocked
        if model_route and _RE_UNKNOWN_MODEL.search(words):
            return Cause.MODEL_UNKNOWN
        if _RE_BETA.search(words):
            return Cause.BETA_REJECTED
        if etype == "authentication_error":
            return Cause.AUTH_INVALID_KEY
        return Cause.BAD_RESPONSE
    return Cause.BAD_RESPONSE


def cause_for_stream_error(error_type: str, data: Any, *, path_kind: str = "messages") -> Cause:
    """The diagnosis for a mid-stream `event: error` (overloaded_error → server_error, rate_limit_error →
    rate_limited, …): classified as the HTTP status the same error type comes with."""
    status = _ERROR_TYPE_STATUS.get(error_type, 500)
    return classify_http_error(status, json.dumps(data), "application/json", path_kind=path_kind)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop(0)
        if any(cur is s for s in seen) or len(seen) > 20:
            continue
        seen.append(cur)
        for nxt in (cur.__cause__, cur.__context__):
            if nxt is not None:
                todo.append(nxt)
        for arg in getattr(cur, "args", ()):
            if isinstance(arg, BaseException):
                todo.append(arg)
    return seen


def _tls_cause(err: ssl.SSLCertVerificationError | None, words: str) -> Cause:
    code = getattr(err, "verify_code", None) if err is not None else None
    if code in _X509_EXPIRED:
        return Cause.TLS_EXPIRED
    if code in _X509_HOSTNAME:
        return Cause.TLS_HOSTNAME
    if code:  # OpenSSL said exactly what failed, and it is neither time nor name: the chain is not trusted
        return Cause.TLS_UNTRUSTED
    # No OpenSSL code (truststore on macOS / Windows reports the OS verifier's words): go by the words.
    lowered = ((getattr(err, "verify_message", "") or "") + " " + words).lower()
    if "expired" in lowered or "not yet valid" in lowered or "validity period" in lowered:
        return Cause.TLS_EXPIRED
    if (
        "mismatch" in lowered
        or "hostname" in lowered
        or "not valid for" in lowered
        or "name does not match" in lowered
    ):
        return Cause.TLS_HOSTNAME
    return Cause.TLS_UNTRUSTED


def classify_exception(exc: BaseException) -> Cause:
    """The diagnosis for an exception raised while talking to the gateway."""
    chain = _exception_chain(exc)
    words = " | ".join(str(e) for e in chain).lower()

    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return _tls_cause(e, words)
    if "certificate_verify_failed" in words or "certificate verify failed" in words:
        return _tls_cause(None, words)
    if any(isinstance(e, socket.gaierror) for e in chain) or any(w in words for w in _DNS_WORDS):
        return Cause.DNS
    if any(isinstance(e, httpx.TimeoutException | TimeoutError | asyncio.TimeoutError) for e in chain):
        return Cause.TIMEOUT
    if isinstance(exc, BodyTooLarge):
        return Cause.RESPONSE_TOO_LARGE
    if isinstance(exc, BodyEncodingError):
        return Cause.BAD_RESPONSE
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return Cause.STREAM_CUT
    if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
        return Cause.BAD_RESPONSE
    if isinstance(exc, SSEError):
        return Cause.BAD_RESPONSE
    return Cause.CONNECT


def describe_exception(exc: BaseException) -> str:
    """Plain words for an exception: the innermost useful message, e.g. the OpenSSL verify message."""
    if isinstance(exc, DeadlineExceeded | BodyEncodingError | BodyTooLarge):
        return str(exc)
    chain = _exception_chain(exc)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            msg = e.verify_message or e.reason or str(e)
            code = f" (verify code {e.verify_code})" if e.verify_code else ""
            return f"certificate verify failed: {msg}{code}"
    for e in chain:
        if isinstance(e, socket.gaierror):
            return f"host name lookup failed: {e.strerror or e}"
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        kind = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for data",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "waiting")
        return f"timed out while {kind}"
    for e in chain:
        text = str(e).strip()
        if text:
            return f"{type(e).__name__}: {text}"
    return type(exc).__name__


def collect_request_ids(headers: Mapping[str, str] | httpx.Headers) -> dict[str, str]:
    """Response headers that identify the request in gateway / provider / CDN logs."""
    ids: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if (
            low.endswith(("request-id", "requestid", "trace-id", "traceid"))
            or low in ("cf-ray", "traceparent", "x-cloud-trace-context")
        ) and value:
            ids[low] = value
    return ids


def _tag_text(head: str, lower: str, tag: str) -> str | None:
    """The text inside the first <tag …>…</tag>, found in linear time (a regex over a page of thousands of
    unclosed `<title` is quadratic)."""
    start = lower.find(f"<{tag}")
    opened = lower.find(">", start) if start >= 0 else -1
    closed = lower.find(f"</{tag}", opened) if opened >= 0 else -1
    return head[opened + 1 : closed] if closed >= 0 else None


def _html_title(text: str) -> str:
    head = text[:MAX_TITLE_SNIFF]
    lower = head.lower()
    title = _tag_text(head, lower, "title")
    if title is not None:
        return " ".join(title.split())
    heading = _tag_text(head, lower, "h1")
    return " ".join(re.sub(r"<[^>]*>", "", heading).split()) if heading is not None else ""


def server_message(body: bytes | str, content_type: str | None) -> str:
    """The server's own words from an error body (JSON message, HTML title, or the start of the text)."""
    text = _body_text(body)
    data = _parse_json(text) if text.strip() else None
    if data is not None:
        etype, code, message = _error_fields(data)
        tag = code or etype
        if message and tag and tag not in message:
            return f"{message} ({tag})"
        return message or tag or " ".join(text.split())
    if _looks_html(text, content_type):
        title = _html_title(text)
        return f"HTML page from a proxy or web server{': ' + title if title else ''}"
    return " ".join(text.split())


def _truncate(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------------------------
# The client


class _ProbeFailed(Exception):  # internal control flow: carries a ready failure
    def __init__(self, cause: Cause, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail
        self.status = status


@dataclass
class _Block:
    type: str
    name: str | None = None
    json_parts: list[str] = field(default_factory=list)
    input: Any = None


@dataclass
class _Stream:
    """What one streamed reply delivered so far."""

    t0: float
    on_text: Callable[[str], None] | None
    text_parts: list[str] = field(default_factory=list)
    text_len: int = 0
    text_chunks: int = 0
    first_text_at: float | None = None
    blocks: dict[int, _Block] = field(default_factory=dict)
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

    def tool_uses(self) -> list[_Block]:
        return [b for b in self.blocks.values() if b.type in ("tool_use", "server_tool_use")]


@dataclass
class _Exchange:
    """What one probe has learned about its request so far, so that every way out (an answer, an HTTP error, an
    exception) builds its ProbeResult from the same facts."""

    name: str
    model: str | None = None
    t0: float = field(default_factory=time.perf_counter)
    ttfb: float | None = None
    status: int | None = None
    request_ids: dict[str, str] = field(default_factory=dict)
    stream: _Stream | None = None

    def answered(self, response: httpx.Response) -> None:
        """Note a response: when the first one arrived, its status and the request ids in its headers."""
        if self.ttfb is None:
            self.ttfb = time.perf_counter()
        self.status = response.status_code
        self.request_ids.update(collect_request_ids(response.headers))


class GatewayClient:
    """One connection pool to the gateway. Use as `async with GatewayClient(url, key) as gw: …`.

    `env` only governs the CA variables (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE); HTTPS_PROXY / NO_PROXY come from the
    process environment through httpx (`trust_env`). A loopback gateway is never reached through a proxy.
    Raises `TrustError` (an `InputError`) at construction when a configured CA file is unusable, and an
    `InputError` (cause auth_invalid_key) when the key holds characters an HTTP header cannot carry.

    `timeout` bounds each probe as a whole (connect, headers and the body, however slowly it drips), as well as
    each network operation; the catalog's pages and its fallback URL share one such deadline.
    """

    def __init__(
        self,
        url: GatewayUrl,
        key: ApiKey,
        *,
        ca_bundle: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if not _header_safe(key.value):
            # httpx would raise UnicodeEncodeError (non-ASCII) or send a broken header (control characters).
            raise InputError(
                "api_key",
                "The API key contains characters that cannot be sent in an HTTP header (non-ASCII, spaces or "
                "control characters); copy it again from OptScale Chat.",
                Cause.AUTH_INVALID_KEY,
            )
        self.url = url
        self._key = key
        self.timeout = timeout
        self._insecure = not url.is_https and not url.is_loopback
        ssl_context = shared_ssl_context(ca_bundle, env)
        # httpx 0.28 uses an SSLContext passed as `verify` as is: SSL_CERT_FILE / SSL_CERT_DIR are only consulted
        # for verify=True, and REQUESTS_CA_BUNDLE is not read at all, so nothing in the environment replaces our
        # context. trust_env then only means "use HTTPS_PROXY / NO_PROXY" (ignored when a transport is injected).
        self._client = httpx.AsyncClient(
            verify=ssl_context,
            trust_env=not url.is_loopback,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
            headers={
                "authorization": f"Bearer {key.value}",
                "anthropic-version": ANTHROPIC_VERSION,
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "accept-encoding": ACCEPT_ENCODING,
            },
        )

    def __repr__(self) -> str:
        return f"GatewayClient({self.url.proxy_root!r}, key={self._key.masked!r})"

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # ---- helpers --------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """The gateway's words as they may be shown, logged or saved: no escape sequence or control character,
        the key (and anything shaped like one) masked."""
        return clean_outside_text(text, (self._key.value,))

    def _detail(self, text: str) -> str:
        return _truncate(self._scrub(text))

    def _result(
        self,
        exchange: _Exchange,
        *,
        ok: bool,
        cause: Cause | None = None,
        detail: str = "",
        extra: dict[str, Any] | None = None,
    ) -> ProbeResult:
        t0, ttfb, stream = exchange.t0, exchange.ttfb, exchange.stream
        end = time.perf_counter()
        total_ms = (end - t0) * 1000
        ttfb_ms = (ttfb - t0) * 1000 if ttfb is not None else None
        ttft_ms = output_tokens = tps = None
        text = ""
        if stream is not None:
            text = self._scrub(stream.text)
            if stream.first_text_at is not None:
                ttft_ms = (stream.first_text_at - t0) * 1000
            output_tokens = stream.output_tokens
            if output_tokens is None and stream.text_chunks:
                output_tokens = stream.text_chunks
            if ttft_ms is not None and output_tokens:
                gen_s = (total_ms - ttft_ms) / 1000
                if gen_s >= 0.005:  # below ~5 ms the whole answer arrived at once: a rate would be noise
                    tps = round(output_tokens / gen_s, 1)
        return ProbeResult(
            name=exchange.name,
            ok=ok,
            status=exchange.status,
            cause=cause,
            detail=self._detail(detail),
            request_ids={k: self._scrub(v) for k, v in exchange.request_ids.items()},
            timings=ProbeTimings(
                ttfb_ms=round(ttfb_ms, 1) if ttfb_ms is not None else None,
                ttft_ms=round(ttft_ms, 1) if ttft_ms is not None else None,
                total_ms=round(total_ms, 1),
                output_tokens=output_tokens,
                tokens_per_s=tps,
            ),
            text=text,
            model=exchange.model,
            extra=extra or {},
        )

    def _insecure_result(self, name: str, model: str | None = None) -> ProbeResult:
        return self._result(
            _Exchange(name, model),
            ok=False,
            cause=Cause.INSECURE_HTTP,
            detail=f"Not sent: {self.url.origin} is plain http:// to a remote host, so the API key would travel "
            "unencrypted.",
        )

    def _exception_result(
        self, exchange: _Exchange, exc: BaseException, *, where: str, extra: dict[str, Any] | None = None
    ) -> ProbeResult:
        cause = classify_exception(exc)
        words = describe_exception(exc)
        if cause is Cause.STREAM_CUT and isinstance(exc, httpx.RemoteProtocolError):
            lowered = str(exc).lower()
            if "peer closed" not in lowered and "disconnected" not in lowered:
                # Not a connection closing early but an answer that breaks HTTP (an illegal status line or chunk
                # header, a header section too large): something answered, not as a web server would.
                cause = Cause.BAD_RESPONSE
                words = f"the answer is not valid HTTP ({words})"
        if exchange.ttfb is None and cause is Cause.STREAM_CUT:
            # The connection dropped before any answer: that is not a cut stream, the server did not answer.
            cause = Cause.CONNECT
        if cause is Cause.STREAM_CUT:
            detail = f"{where}: the connection closed in the middle of the reply ({words})."
        else:
            detail = f"{where}: {words}"
        log.debug("probe %s failed: %s (%s)", exchange.name, cause, self._scrub(detail))
        return self._result(exchange, ok=False, cause=cause, detail=detail, extra=extra)

    async def _read_limited(self, response: httpx.Response) -> bytes:
        """An error body: its first MAX_ERROR_BODY_BYTES (decoded) are enough to classify it; the rest is left."""
        return (await read_body(response, MAX_ERROR_BODY_BYTES, truncate=True)).data

    def _http_failure(
        self, method: str, url: str, response: httpx.Response, body: bytes, path_kind: str
    ) -> tuple[Cause, str]:
        ct = response.headers.get("content-type")
        status = response.status_code
        cause = classify_http_error(status, body, ct, path_kind=path_kind)
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            words = f"redirected to {location or 'another page'} (a login page or proxy?); not followed"
        else:
            words = _truncate(server_message(body, ct), MAX_SERVER_WORDS) or "(empty body)"
        return cause, f"HTTP {status} from {method} {_short(url)}: {words}"

    # ---- reachability ---------------------------------------------------------------------------------------

    async def reachability(self) -> ProbeResult:
        """DNS, TCP and TLS only: `HEAD {anthropic}/api/hello`, Claude Code's own start-up preflight, sent like
        Claude Code sends it — without the key. Any HTTP answer (whatever the status) proves the gateway is
        reachable; the status is kept in `status` / extra["status"] for the record."""
        name = "reachability"
        url = f"{self.url.anthropic_base}/api/hello"
        if self._insecure:
            return self._insecure_result(name)
        exchange = _Exchange(name)
        try:
            request = self._client.build_request("HEAD", url)
            del request.headers["authorization"]
            async with deadline(self.timeout):
                response = await self._client.send(request, stream=True)
                await response.aclose()
        except _TRANSPORT_ERRORS as exc:
            return self._exception_result(exchange, exc, where=f"HEAD {_short(url)}")
        exchange.answered(response)
        scheme = "TLS verified" if self.url.is_https else "plain http on loopback"
        return self._result(
            exchange,
            ok=True,
            detail=f"{self.url.origin} answered HEAD {_short(url)} with HTTP {response.status_code} ({scheme})",
            extra={"status": response.status_code},
        )

    # ---- catalog --------------------------------------------------------------------------------------------

    async def list_models(self) -> Catalog:
        """GET {v1}/models; on a 404 or a non-JSON answer fall back to GET {anthropic}/v1/models."""
        name = "models"
        openai_url = f"{self.url.openai_base}/models"
        if self._insecure:
            return Catalog((), openai_url, self._insecure_result(name))
        t0 = time.perf_counter()
        until = asyncio.get_running_loop().time() + self.timeout  # one deadline for every page and the fallback
        first = await self._get_catalog(openai_url, params=None, t0=t0, until=until)
        if isinstance(first, tuple) or first.ok or not _catalog_fallback(first):
            return self._catalog_result(first, openai_url, t0, fallback=False)
        anthropic_url = f"{self.url.anthropic_base}/v1/models"
        second = await self._get_catalog(anthropic_url, params={"limit": "1000"}, t0=t0, until=until)
        result = self._catalog_result(second, anthropic_url, t0, fallback=True)
        if not result.probe.ok:
            probe = result.probe
            why = f"answered {first.status}" if first.status else "gave no model list"
            detail = f"GET {_short(openai_url)} {why}; then {probe.detail}"
            result = Catalog(
                (),
                anthropic_url,
                _replace(probe, detail=_truncate(self._scrub(detail), 2 * MAX_DETAIL_CHARS)),
            )
        return result

    async def _get_catalog(
        self, url: str, *, params: dict[str, str] | None, t0: float, until: float
    ) -> ProbeResult | tuple[list[ModelInfo], ProbeResult]:
        """A failed ProbeResult, or (models, ok ProbeResult). All pages together are read up to MAX_CATALOG_BYTES
        (decoded): a real catalog is big, but not without end."""
        exchange = _Exchange("models", t0=t0)
        models: dict[str, ModelInfo] = {}  # by id, the first listing wins: duplicates cost no memory
        pages = 0
        budget = MAX_CATALOG_BYTES
        try:
            while True:
                pages += 1
                async with (
                    deadline(self.timeout, until=until),
                    self._client.stream("GET", url, params=params) as response,
                ):
                    exchange.answered(response)
                    status = response.status_code
                    if not 200 <= status < 300:
                        body = await self._read_limited(response)
                        cause, detail = self._http_failure("GET", url, response, body, "models")
                        return self._result(exchange, ok=False, cause=cause, detail=detail)
                    try:
                        body = (await read_body(response, budget)).data
                    except BodyTooLarge:
                        raise BodyTooLarge(MAX_CATALOG_BYTES) from None  # the cap is for all pages together
                budget -= len(body)
                data = _parse_catalog_json(body)
                parsed = _parse_catalog(data)
                if parsed is None:
                    ct = response.headers.get("content-type")
                    head = body[:MAX_ERROR_BODY_BYTES]
                    what = server_message(head, ct) if head.strip() else "an empty body"
                    return self._result(
                        exchange,
                        ok=False,
                        cause=Cause.BAD_RESPONSE,
                        detail=f"GET {_short(url)} answered {status} but not with a model list: {what}",
                        extra={"non_json": data is None},
                    )
                for model in parsed:
                    models.setdefault(model.id, model)
                last_id = data.get("last_id") if isinstance(data, dict) else None
                more = isinstance(data, dict) and data.get("has_more") and last_id and pages < 20
                del data, parsed, body  # freed before the next page arrives
                if not more:
                    break
                params = {**(params or {}), "after_id": str(last_id)}
        except _TRANSPORT_ERRORS as exc:
            return self._exception_result(exchange, exc, where=f"GET {_short(url)}")
        return list(models.values()), self._result(exchange, ok=True)

    def _catalog_result(
        self, got: ProbeResult | tuple[list[ModelInfo], ProbeResult], url: str, t0: float, *, fallback: bool
    ) -> Catalog:
        if not isinstance(got, tuple):
            return Catalog((), url, _replace(got, extra={**got.extra, "fallback": fallback}))
        models, probe = got
        unique: dict[str, ModelInfo] = {}
        for m in models:
            unique.setdefault(m.id, m)
        ordered = tuple(sorted(unique.values(), key=lambda m: m.id))
        detail = f"{len(ordered)} model{'s' if len(ordered) != 1 else ''} from GET {_short(url)}"
        if not ordered:
            detail = f"GET {_short(url)} answered with an empty model list for this key"
        probe = _replace(
            probe, detail=self._detail(detail), extra={"count": len(ordered), "fallback": fallback}
        )
        return Catalog(ordered, url, probe)

    # ---- messages -------------------------------------------------------------------------------------------

    async def stream_message(
        self,
        model: str,
        prompt: str = DEFAULT_PROMPT,
        *,
        max_tokens: int = 64,
        on_text: Callable[[str], None] | None = None,
        betas: Sequence[str] = (),
    ) -> ProbeResult:
        """POST {anthropic}/v1/messages with "stream": true; `on_text` gets each text delta as it arrives.
        With `betas`, the request carries `anthropic-beta` and `?beta=true` like Claude Code's."""
        body = {
            "model": model,
            "max_tokens": max_tokens,
            "stream": True,
            "messages": [{"role": "user", "content": prompt}],
        }
        if on_text is None:
            return await self._stream_probe("messages", model, body, betas=betas)
        # The reply is outside text shown as it streams: cleaned piece by piece, a key split across pieces included.
        cleaner = OutsideTextStream((self._key.value,))

        def on_clean_text(piece: str) -> None:
            if shown := cleaner.feed(piece):
                on_text(shown)

        result = await self._stream_probe("messages", model, body, on_text=on_clean_text, betas=betas)
        if tail := cleaner.flush():
            on_text(tail)
        return result

    async def tool_use_probe(self, model: str) -> ProbeResult:
        """Force one small tool call (`get_weather`), streamed like Claude Code does.

        ok iff a tool_use block came back (extra["tool_use"] = True, extra["tool_input"] = the parsed input).
        A model that answers with text instead gives ok=False with cause bad_response and a detail saying tool use
        does not work with this model through the gateway (the closed cause set has no closer id; Claude Code needs
        tool calls for every edit and command, so this is a real failure, not a warning)."""
        body = {
            "model": model,
            "max_tokens": 128,
            "stream": True,
            "tools": [
                {
                    "name": "get_weather",
                    "description": "Get the current weather for a city.",
                    "input_schema": {
                        "type": "object",
                        "properties": {"city": {"type": "string", "description": "The city name"}},
                        "required": ["city"],
                    },
                }
            ],
            "tool_choice": {"type": "tool", "name": "get_weather"},
            "messages": [{"role": "user", "content": "What is the weather in Paris right now?"}],
        }
        return await self._stream_probe("tool_use", model, body, tool_probe=True)

    async def beta_probe(self, model: str, *, betas: Sequence[str] | None = None) -> ProbeResult:
        """The request with Claude Code's anthropic-beta header and ?beta=true. If that fails with an HTTP error
        but the same request without betas works → beta_rejected; if both fail → the plain request's diagnosis.
        `betas` replaces the list (e.g. the reduced one Claude Code sends with CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1).
        """
        betas = tuple(betas) if betas is not None else CLAUDE_CODE_BETAS
        beta = await self._stream_probe(
            "beta",
            model,
            {
                "model": model,
                "max_tokens": 16,
                "stream": True,
                "messages": [{"role": "user", "content": DEFAULT_PROMPT}],
            },
            betas=betas,
        )
        if beta.ok or beta.cause is Cause.INSECURE_HTTP:
            return beta
        if (
            beta.status is None
            or not 400 <= beta.status < 500
            or beta.cause
            in (
                Cause.AUTH_INVALID_KEY,
                Cause.BUDGET_EXCEEDED,
                Cause.RATE_LIMITED,
            )
        ):
            # Not about the header: a network failure, a server error, a cut stream, or a refusal that does not
            # depend on it. Only a 4xx that a plain request would not get is the beta header's fault.
            return beta
        plain = await self.stream_message(model, max_tokens=16)
        extra = {**beta.extra, "betas": list(betas), "plain_ok": plain.ok}
        if plain.ok:
            return _replace(
                beta,
                cause=Cause.BETA_REJECTED,
                detail=self._detail(f"With anthropic-beta: {beta.detail} Without it the same request works."),
                extra=extra,
            )
        return _replace(plain, name="beta", extra={**plain.extra, **extra})

    async def count_tokens(self, model: str) -> ProbeResult:
        """POST {anthropic}/v1/messages/count_tokens → extra["input_tokens"]."""
        name = "count_tokens"
        url = f"{self.url.anthropic_base}/v1/messages/count_tokens"
        if self._insecure:
            return self._insecure_result(name, model)
        exchange = _Exchange(name, model)
        body = {"model": model, "messages": [{"role": "user", "content": "Hello, world"}]}
        try:
            async with deadline(self.timeout), self._client.stream("POST", url, json=body) as response:
                exchange.answered(response)
                if 200 <= response.status_code < 300:
                    content = (await read_body(response, MAX_MESSAGE_BYTES)).data
                else:
                    content = await self._read_limited(response)
        except _TRANSPORT_ERRORS as exc:
            return self._exception_result(exchange, exc, where=f"POST {_short(url)}")
        status = response.status_code
        if not 200 <= status < 300:
            cause, detail = self._http_failure("POST", url, response, content, "count_tokens")
            if cause is Cause.PATH_NOT_FOUND:
                detail += " (count_tokens is optional for gateways; Claude Code only uses it for /context)"
            return self._result(exchange, ok=False, cause=cause, detail=detail)
        data = _parse_json(content)
        tokens = data.get("input_tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            what = server_message(content, response.headers.get("content-type")) or "an empty body"
            return self._result(
                exchange,
                ok=False,
                cause=Cause.BAD_RESPONSE,
                detail=f"POST {_short(url)} answered {status} without input_tokens: {what}",
            )
        return self._result(
            exchange, ok=True, detail=f"{tokens} input tokens", extra={"input_tokens": tokens}
        )

    async def _stream_probe(
        self,
        name: str,
        model: str,
        body: dict[str, Any],
        *,
        on_text: Callable[[str], None] | None = None,
        betas: Sequence[str] = (),
        tool_probe: bool = False,
    ) -> ProbeResult:
        url = f"{self.url.anthropic_base}/v1/messages"
        if self._insecure:
            return self._insecure_result(name, model)
        headers: dict[str, str] = {}
        params: dict[str, str] | None = None
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
            params = {"beta": "true"}
        where = f"POST {_short(url)}"
        exchange = _Exchange(name, model)
        state = exchange.stream = _Stream(t0=exchange.t0, on_text=on_text)
        extra: dict[str, Any] = {}
        if betas:
            extra["betas"] = list(betas)
        try:
            async with (
                deadline(self.timeout),
                self._client.stream("POST", url, json=body, headers=headers, params=params) as response,
            ):
                exchange.answered(response)
                status = response.status_code
                ct = response.headers.get("content-type") or ""
                if not 200 <= status < 300:
                    content = await self._read_limited(response)
                    cause, detail = self._http_failure("POST", url, response, content, "messages")
                    raise _ProbeFailed(cause, detail, status)
                if "text/event-stream" in ct.lower():
                    await self._consume_sse(response, state, where)
                    extra["streaming"] = True
                else:
                    content = (await read_body(response, MAX_MESSAGE_BYTES)).data
                    self._accept_json_message(content, ct, state, where)
                    extra["streaming"] = False
        except _ProbeFailed as failed:
            exchange.status = failed.status or exchange.status
            return self._result(
                exchange,
                ok=False,
                cause=failed.cause,
                detail=failed.detail,
                extra={**extra, **_stream_extra(state)},
            )
        except (*_TRANSPORT_ERRORS, SSEError) as exc:
            return self._exception_result(exchange, exc, where=where, extra={**extra, **_stream_extra(state)})
        extra.update(_stream_extra(state))
        detail = _summary(state, streaming=extra.get("streaming", True))
        if tool_probe:
            tools = state.tool_uses()
            extra["tool_use"] = bool(tools)
            if tools:
                extra["tool_name"] = tools[0].name
                extra["tool_input"] = tools[0].input
                detail = f"the model called {tools[0].name}({json.dumps(tools[0].input)[:80]})"
            else:
                return self._result(
                    exchange,
                    ok=False,
                    cause=Cause.BAD_RESPONSE,
                    detail="The model answered without calling the tool: tool use (which Claude Code needs for "
                    "every edit and command) does not work with this model through the gateway"
                    + (f" (stop_reason {state.stop_reason})" if state.stop_reason else ""),
                    extra=extra,
                )
        return self._result(exchange, ok=True, detail=detail, extra=extra)

    async def _consume_sse(self, response: httpx.Response, state: _Stream, where: str) -> None:
        decoder = SSEDecoder()
        try:
            async for chunk in iter_decoded(response, MAX_STREAM_BYTES):
                for event in decoder.feed(chunk):
                    self._handle_event(event, state, where)
                    if state.stopped:
                        return
                # Buffered chunks arrive without a suspension point; give the event loop (a UI's key presses,
                # the other probes) a turn per network read, not per event.
                await asyncio.sleep(0)
            for event in decoder.close():
                self._handle_event(event, state, where)
        except SSEError as exc:
            raise _ProbeFailed(Cause.BAD_RESPONSE, f"{where}: {exc}", response.status_code) from None
        if not state.stopped:
            if not state.events:
                what = "before any event"
            elif not state.started:
                what = "without message_start"
            else:
                what = f"after {state.events} events, without message_stop"
            raise _ProbeFailed(
                Cause.STREAM_CUT,
                f"{where}: the stream ended {what}; a proxy or load balancer may be cutting it.",
                response.status_code,
            )

    def _handle_event(self, event: ServerSentEvent, state: _Stream, where: str) -> None:
        try:
            data = json.loads(event.data)
        except (ValueError, RecursionError):
            raise _ProbeFailed(
                Cause.BAD_RESPONSE,
                f"{where}: a '{event.event}' event carried data that is not JSON: {_truncate(event.data, 120)!r}",
            ) from None
        kind = event.event
        if kind == "message" and isinstance(data, dict):
            kind = str(data.get("type") or "message")  # some proxies drop the `event:` lines
        state.events += 1
        if not isinstance(data, dict):
            raise _ProbeFailed(
                Cause.BAD_RESPONSE, f"{where}: a '{kind}' event carried {type(data).__name__} data"
            )

        if kind == "error":
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            etype = str(err.get("type") or "api_error")
            message = str(err.get("message") or "")
            cause = cause_for_stream_error(etype, data)
            raise _ProbeFailed(
                cause, f"{where}: error event in the middle of the stream: {message or etype} ({etype})"
            )
        if kind == "message_start":
            state.started = True
            msg = data.get("message") if isinstance(data.get("message"), dict) else {}
            state.message_id = msg.get("id")
            state.served_model = msg.get("model")
            usage = msg.get("usage") if isinstance(msg.get("usage"), dict) else {}
            if isinstance(usage.get("input_tokens"), int):
                state.input_tokens = usage["input_tokens"]
            if isinstance(usage.get("output_tokens"), int) and usage["output_tokens"] > 1:
                state.output_tokens = usage["output_tokens"]
        elif kind == "content_block_start":
            block = data.get("content_block") if isinstance(data.get("content_block"), dict) else {}
            index = data.get("index", len(state.blocks))
            btype = str(block.get("type") or "")
            state.blocks[index] = _Block(type=btype, name=block.get("name"), input=block.get("input"))
            if btype == "text" and block.get("text"):
                state.add_text(str(block["text"]))
        elif kind == "content_block_delta":
            delta = data.get("delta") if isinstance(data.get("delta"), dict) else {}
            dtype = delta.get("type")
            index = data.get("index", 0)
            if dtype == "text_delta":
                state.add_text(str(delta.get("text") or ""))
            elif dtype == "input_json_delta":
                blk = state.blocks.setdefault(index, _Block(type="tool_use"))
                blk.json_parts.append(str(delta.get("partial_json") or ""))
        elif kind == "content_block_stop":
            blk = state.blocks.get(data.get("index", -1))
            if blk is not None and blk.json_parts:
                raw = "".join(blk.json_parts)
                try:
                    blk.input = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    raise _ProbeFailed(
                        Cause.BAD_RESPONSE,
                        f"{where}: the tool call's streamed input is not valid JSON: {_truncate(raw, 120)!r}",
                    ) from None
        elif kind == "message_delta":
            delta = data.get("delta") if isinstance(data.get("delta"), dict) else {}
            if delta.get("stop_reason"):
                state.stop_reason = str(delta["stop_reason"])
            usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            if isinstance(usage.get("output_tokens"), int):
                state.output_tokens = usage["output_tokens"]
        elif kind == "message_stop":
            state.stopped = True
        elif kind == "ping":
            pass
        elif "choices" in data or kind in ("chat.completion.chunk", "chat.completion"):
            raise _ProbeFailed(
                Cause.BAD_RESPONSE,
                f"{where}: the stream is in the OpenAI chat-completions format, not Anthropic Messages",
            )
        # Unknown event types are ignored, as the Anthropic API asks clients to do.

    def _accept_json_message(self, content: bytes, ct: str, state: _Stream, where: str) -> None:
        """A 2xx that is not SSE: accept a complete JSON Messages answer (noted as non-streaming), else fail."""
        data = _parse_json(content)
        if (
            not isinstance(data, dict)
            or data.get("type") != "message"
            or not isinstance(data.get("content"), list)
        ):
            what = server_message(content, ct) if content.strip() else "an empty body"
            raise _ProbeFailed(
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
            state.blocks[index] = _Block(type=btype, name=block.get("name"), input=block.get("input"))
            if btype == "text":
                state.add_text(str(block.get("text") or ""))
        state.stop_reason = data.get("stop_reason")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        if isinstance(usage.get("output_tokens"), int):
            state.output_tokens = usage["output_tokens"]


# --------------------------------------------------------------------------------------------------------------
# Small helpers


def _header_safe(value: str) -> bool:
    """Printable ASCII without spaces: what a Bearer token in an HTTP header may hold."""
    return bool(value) and all("!" <= ch <= "~" for ch in value)


def _short(url: str) -> str:
    """A URL for messages: without the query."""
    return url.split("?", 1)[0]


def _replace(result: ProbeResult, **changes: Any) -> ProbeResult:
    from dataclasses import replace

    return replace(result, **changes)


def _catalog_fallback(result: ProbeResult) -> bool:
    return result.status == 404 or result.status == 405 or bool(result.extra.get("non_json"))


class _CatalogEntry(NamedTuple):
    """A model object of a catalog as parsed: only what ModelInfo keeps."""

    id: str
    display_name: object
    owned_by: object


def _catalog_object(pairs: list[tuple[str, Any]]) -> Any:
    """JSON object hook for a catalog: a model object becomes a small tuple. As dicts, a catalog of 30 MiB of tiny
    objects took about twenty times its size in memory."""
    fields = dict(pairs)
    model_id = fields.get("id")
    if isinstance(model_id, str) and "data" not in fields and "models" not in fields:
        return _CatalogEntry(model_id, fields.get("display_name"), fields.get("owned_by"))
    return fields


def _parse_catalog_json(body: bytes) -> Any:
    try:
        return json.loads(body, object_pairs_hook=_catalog_object)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _parse_catalog(data: Any) -> list[ModelInfo] | None:
    items: Any
    if isinstance(data, dict):
        items = data.get("data", data.get("models"))
    elif isinstance(data, list):
        items = data
    else:
        return None
    if not isinstance(items, list):
        return None
    models: list[ModelInfo] = []
    for item in items:
        if isinstance(item, str) and item:
            models.append(ModelInfo(item))
        elif isinstance(item, _CatalogEntry) and item.id:
            models.append(
                ModelInfo(
                    item.id,
                    display_name=str(item.display_name) if item.display_name else None,
                    owned_by=str(item.owned_by) if item.owned_by else None,
                )
            )
        elif isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
            display = item.get("display_name")
            owner = item.get("owned_by")
            models.append(
                ModelInfo(
                    item["id"],
                    display_name=str(display) if display else None,
                    owned_by=str(owner) if owner else None,
                )
            )
    return models


def _stream_extra(state: _Stream) -> dict[str, Any]:
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


def _summary(state: _Stream, *, streaming: bool) -> str:
    text = " ".join(state.text.split())
    shown = f"replied {_truncate(text, 60)!r}" if text else "replied without text"
    tail = "" if streaming else ' (answered without streaming: the gateway ignored "stream": true)'
    return shown + tail

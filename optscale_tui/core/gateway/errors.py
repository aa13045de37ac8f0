"""What a failed exchange with the gateway means: an HTTP status and body, a mid-stream error event or an exception
-> a `Cause` from the closed set, plus the words to show (the server's own message, the innermost exception's).

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
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from optscale_tui.core.causes import Cause
from optscale_tui.core.gateway.body import BodyEncodingError, BodyTooLarge, DeadlineExceeded
from optscale_tui.core.gateway.sse import SSEError

MAX_DETAIL_CHARS = 400  # a whole ProbeResult.detail
MAX_TITLE_SNIFF = 16 * 1024  # where an HTML error page's <title> is looked for

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
TRANSPORT_ERRORS = (httpx.HTTPError, OSError, ssl.SSLError, BodyTooLarge, BodyEncodingError)

_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated",
    "name resolution",
    "no such host",
)


def parse_json(body: bytes | str) -> Any:
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
    data = parse_json(text) if text.strip() else None
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
    data = parse_json(text) if text.strip() else None
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


def truncate(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """`text` cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_url(url: str) -> str:
    """A URL for messages: without the query."""
    return url.split("?", 1)[0]


class ProbeFailed(Exception):
    """A probe's early way out, carrying its ready failure (the stream reader raises it; the probe catches it and
    builds its ProbeResult). Never leaves the gateway package."""

    def __init__(self, cause: Cause, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail
        self.status = status


"""Error classification: HTTP status + body → Cause, exceptions → Cause. Table-driven."""

from __future__ import annotations

import json
import socket
import ssl

import httpx
import pytest

from optscale_tui.core.causes import Cause
from optscale_tui.core.gateway.errors import (
    cause_for_stream_error,
    classify_exception,
    classify_http_error,
    collect_request_ids,
    describe_exception,
    server_message,
)


def anthropic_err(etype: str, message: str) -> str:
    return json.dumps({"type": "error", "error": {"type": etype, "message": message}})


def openai_err(message: str, etype: str = "", code: str = "") -> str:
    return json.dumps({"error": {"message": message, "type": etype, "code": code}})


JSON = "application/json"
HTML = "text/html; charset=utf-8"
NGINX_502 = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
NGINX_404 = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>"
LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>login</body></html>"

CASES: list[tuple[str, int, str, str | None, str, Cause]] = [
    # id, status, body, content type, path kind, expected
    ("401 anthropic", 401, anthropic_err("authentication_error", "invalid x-api-key"), JSON, "messages", Cause.AUTH_INVALID_KEY),
    ("401 bifrost vk", 401, openai_err("virtual key not found", code="virtual_key_not_found"), JSON, "models", Cause.AUTH_INVALID_KEY),
    ("401 empty", 401, "", None, "messages", Cause.AUTH_INVALID_KEY),
    ("403 provider_blocked code", 403, openai_err("blocked", code="provider_blocked"), JSON, "messages", Cause.PROVIDER_NOT_ALLOWED),
    ("403 provider wording", 403, anthropic_err("permission_error", "Provider 'openai' is not allowed for this virtual key"), JSON, "messages", Cause.PROVIDER_NOT_ALLOWED),
    ("403 model_blocked code", 403, openai_err("blocked", code="model_blocked"), JSON, "messages", Cause.MODEL_NOT_ALLOWED),
    ("403 model wording", 403, anthropic_err("permission_error", "Model 'anthropic/claude-opus-4-6' is not allowed for this virtual key"), JSON, "messages", Cause.MODEL_NOT_ALLOWED),
    ("403 virtual key blocked", 403, openai_err("Virtual key is blocked", code="virtual_key_blocked"), JSON, "messages", Cause.AUTH_INVALID_KEY),
    ("403 generic on messages", 403, anthropic_err("permission_error", "Permission denied"), JSON, "messages", Cause.MODEL_NOT_ALLOWED),
    ("403 generic on models", 403, anthropic_err("permission_error", "Permission denied"), JSON, "models", Cause.AUTH_INVALID_KEY),
    ("403 html waf", 403, "<html><title>Access denied</title></html>", HTML, "messages", Cause.BAD_RESPONSE),
    ("404 model_not_found", 404, openai_err("not found", code="model_not_found"), JSON, "messages", Cause.MODEL_UNKNOWN),
    ("404 anthropic model", 404, anthropic_err("not_found_error", "model: claude-opus-5-5"), JSON, "messages", Cause.MODEL_UNKNOWN),
    ("404 unknown model", 404, anthropic_err("invalid_request_error", "Unknown model 'x' for this organization"), JSON, "count_tokens", Cause.MODEL_UNKNOWN),
    ("404 route json", 404, json.dumps({"detail": "Not Found"}), JSON, "messages", Cause.PATH_NOT_FOUND),
    ("404 route text", 404, "404 page not found", "text/plain", "messages", Cause.PATH_NOT_FOUND),
    ("404 html", 404, NGINX_404, HTML, "messages", Cause.PATH_NOT_FOUND),
    ("404 empty", 404, "", None, "messages", Cause.PATH_NOT_FOUND),
    ("404 models route with model words", 404, openai_err("model list not found"), JSON, "models", Cause.PATH_NOT_FOUND),
    ("405", 405, "Method Not Allowed", "text/plain", "messages", Cause.PATH_NOT_FOUND),
    ("400 unknown model", 400, anthropic_err("invalid_request_error", "Unknown model 'claude-opus-5-5' for this organization"), JSON, "messages", Cause.MODEL_UNKNOWN),
    ("400 anthropic-beta", 400, anthropic_err("invalid_request_error", "Unexpected value(s) `x` for the `anthropic-beta` header"), JSON, "messages", Cause.BETA_REJECTED),
    ("400 extra inputs", 400, anthropic_err("invalid_request_error", "context_management: Extra inputs are not permitted"), JSON, "messages", Cause.BETA_REJECTED),
    ("400 provider blocked", 400, openai_err("Provider 'x' is not allowed for this virtual key", code="provider_blocked"), JSON, "messages", Cause.PROVIDER_NOT_ALLOWED),
    ("400 other", 400, anthropic_err("invalid_request_error", "max_tokens: Field required"), JSON, "messages", Cause.BAD_RESPONSE),
    ("400 html", 400, "<html><title>Bad Request</title></html>", HTML, "messages", Cause.BAD_RESPONSE),
    ("402", 402, openai_err("Budget exceeded", code="budget_exceeded"), JSON, "messages", Cause.BUDGET_EXCEEDED),
    ("402 empty", 402, "", None, "messages", Cause.BUDGET_EXCEEDED),
    ("403 budget wording", 403, anthropic_err("permission_error", "Team budget exhausted"), JSON, "messages", Cause.BUDGET_EXCEEDED),
    ("400 billing_error", 400, anthropic_err("billing_error", "credit balance is too low"), JSON, "messages", Cause.BUDGET_EXCEEDED),
    ("429", 429, anthropic_err("rate_limit_error", "Number of requests has exceeded your rate limit"), JSON, "messages", Cause.RATE_LIMITED),
    ("429 text", 429, "Too Many Requests", "text/plain", "models", Cause.RATE_LIMITED),
    ("408", 408, "", None, "messages", Cause.TIMEOUT),
    ("500 json", 500, anthropic_err("api_error", "Internal server error"), JSON, "messages", Cause.SERVER_ERROR),
    ("529 overloaded", 529, anthropic_err("overloaded_error", "Overloaded"), JSON, "messages", Cause.SERVER_ERROR),
    ("502 nginx html", 502, NGINX_502, HTML, "messages", Cause.SERVER_ERROR),
    ("503 empty", 503, "", None, "models", Cause.SERVER_ERROR),
    ("504 html", 504, "<html><title>504 Gateway Time-out</title></html>", HTML, "count_tokens", Cause.SERVER_ERROR),
    ("302 redirect", 302, "", None, "messages", Cause.BAD_RESPONSE),
    ("200 html login page", 200, LOGIN_PAGE, HTML, "messages", Cause.BAD_RESPONSE),
    ("200 text", 200, "hello", "text/plain", "models", Cause.BAD_RESPONSE),
    ("422 other", 422, "unprocessable", "text/plain", "messages", Cause.BAD_RESPONSE),
    ("413", 413, anthropic_err("request_too_large", "Request exceeds the maximum size"), JSON, "messages", Cause.BAD_RESPONSE),
]


@pytest.mark.parametrize(("status", "body", "content_type", "path_kind", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify_http_error(status: int, body: str, content_type: str | None, path_kind: str, expected: Cause) -> None:
    assert classify_http_error(status, body, content_type, path_kind=path_kind) is expected
    assert classify_http_error(status, body.encode(), content_type, path_kind=path_kind) is expected


def test_classification_without_content_type_sniffs_html() -> None:
    assert classify_http_error(200, LOGIN_PAGE, None, path_kind="messages") is Cause.BAD_RESPONSE
    assert classify_http_error(404, NGINX_404, None, path_kind="messages") is Cause.PATH_NOT_FOUND


@pytest.mark.parametrize(
    ("etype", "message", "expected"),
    [
        ("overloaded_error", "Overloaded", Cause.SERVER_ERROR),
        ("api_error", "Internal", Cause.SERVER_ERROR),
        ("rate_limit_error", "slow down", Cause.RATE_LIMITED),
        ("authentication_error", "bad key", Cause.AUTH_INVALID_KEY),
        ("permission_error", "Provider 'x' is not allowed", Cause.PROVIDER_NOT_ALLOWED),
        ("not_found_error", "model: x", Cause.MODEL_UNKNOWN),
        ("invalid_request_error", "Unknown model 'x'", Cause.MODEL_UNKNOWN),
        ("billing_error", "no credit", Cause.BUDGET_EXCEEDED),
        ("timeout_error", "upstream timed out", Cause.SERVER_ERROR),
        ("something_new", "???", Cause.SERVER_ERROR),
    ],
)
def test_mid_stream_error_types(etype: str, message: str, expected: Cause) -> None:
    data = {"type": "error", "error": {"type": etype, "message": message}}
    assert cause_for_stream_error(etype, data) is expected


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    err.verify_code = code
    err.verify_message = message
    return err


def _wrapped(inner: BaseException, outer: type[httpx.HTTPError] = httpx.ConnectError) -> httpx.HTTPError:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer(str(exc)) from exc
    except httpx.HTTPError as exc:
        return exc


EXCEPTIONS: list[tuple[str, BaseException, Cause]] = [
    ("gaierror", _wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known")), Cause.DNS),
    ("dns words only", httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), Cause.DNS),
    ("refused", _wrapped(ConnectionRefusedError(111, "Connection refused")), Cause.CONNECT),
    ("all attempts failed", httpx.ConnectError("All connection attempts failed"), Cause.CONNECT),
    ("connect timeout", httpx.ConnectTimeout("timed out"), Cause.TIMEOUT),
    ("read timeout", httpx.ReadTimeout("timed out"), Cause.TIMEOUT),
    ("pool timeout", httpx.PoolTimeout("timed out"), Cause.TIMEOUT),
    ("bare TimeoutError", TimeoutError(), Cause.TIMEOUT),
    ("expired", _wrapped(_verify_error(10, "certificate has expired")), Cause.TLS_EXPIRED),
    ("not yet valid", _wrapped(_verify_error(9, "certificate is not yet valid")), Cause.TLS_EXPIRED),
    ("hostname", _wrapped(_verify_error(62, "Hostname mismatch, certificate is not valid for 'x'.")), Cause.TLS_HOSTNAME),
    ("ip mismatch", _wrapped(_verify_error(64, "IP address mismatch, certificate is not valid for '127.0.0.1'.")), Cause.TLS_HOSTNAME),
    ("self-signed leaf", _wrapped(_verify_error(18, "self-signed certificate")), Cause.TLS_UNTRUSTED),
    ("self-signed in chain", _wrapped(_verify_error(19, "self-signed certificate in certificate chain")), Cause.TLS_UNTRUSTED),
    ("local issuer", _wrapped(_verify_error(20, "unable to get local issuer certificate")), Cause.TLS_UNTRUSTED),
    ("leaf signature", _wrapped(_verify_error(21, "unable to verify the first certificate")), Cause.TLS_UNTRUSTED),
    ("macOS words expired", _wrapped(_verify_error(0, '"x" certificate is expired')), Cause.TLS_EXPIRED),
    ("macOS words untrusted", _wrapped(_verify_error(0, '"x" certificate is not trusted')), Cause.TLS_UNTRUSTED),
    ("string only", httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"), Cause.TLS_UNTRUSTED),
    ("remote protocol", httpx.RemoteProtocolError("peer closed connection without sending complete message body"), Cause.STREAM_CUT),
    ("read error", httpx.ReadError("connection reset"), Cause.STREAM_CUT),
    ("decoding", httpx.DecodingError("bad gzip"), Cause.BAD_RESPONSE),
    ("proxy error", httpx.ProxyError("407 Proxy Authentication Required"), Cause.CONNECT),
    ("handshake failure", _wrapped(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")), Cause.CONNECT),
    ("anything else", RuntimeError("boom"), Cause.CONNECT),
]


@pytest.mark.parametrize(("exc", "expected"), [e[1:] for e in EXCEPTIONS], ids=[e[0] for e in EXCEPTIONS])
def test_classify_exception(exc: BaseException, expected: Cause) -> None:
    assert classify_exception(exc) is expected
    assert describe_exception(exc)  # always some words


def test_describe_exception_words() -> None:
    assert describe_exception(_wrapped(_verify_error(10, "certificate has expired"))) == (
        "certificate verify failed: certificate has expired (verify code 10)"
    )
    gai = _wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert describe_exception(gai) == "host name lookup failed: Name or service not known"
    assert describe_exception(_wrapped(ConnectionRefusedError(111, "Connection refused"))) == "connection refused"
    assert describe_exception(httpx.ReadTimeout("t")) == "timed out while waiting for data"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (anthropic_err("not_found_error", "model: x"), JSON, "model: x (not_found_error)"),
        (openai_err("Provider 'x' is not allowed", code="provider_blocked"), JSON, "Provider 'x' is not allowed (provider_blocked)"),
        (json.dumps({"error": "plain string error"}), JSON, "plain string error"),
        (json.dumps({"message": "top-level message"}), JSON, "top-level message"),
        (NGINX_502, HTML, "HTML page from a proxy or web server: 502 Bad Gateway"),
        ("<html><body><h1>Oops <b>down</b></h1></body></html>", None, "HTML page from a proxy or web server: Oops down"),
        ("  some\n  text  ", "text/plain", "some text"),
        ("", None, ""),
    ],
)
def test_server_message(body: str, content_type: str | None, expected: str) -> None:
    assert server_message(body, content_type) == expected


def test_collect_request_ids() -> None:
    headers = httpx.Headers(
        {
            "Request-Id": "req_1",
            "X-Request-ID": "xr",
            "anthropic-request-id": "ar",
            "x-bf-request-id": "bf",
            "CF-RAY": "8a-AMS",
            "x-amzn-RequestId": "amz",
            "traceparent": "00-abc-def-01",
            "x-b3-traceid": "b3",
            "uber-trace-id": "u",
            "content-type": "text/event-stream",
            "x-ratelimit-remaining": "5",
        }
    )
    assert collect_request_ids(headers) == {
        "request-id": "req_1",
        "x-request-id": "xr",
        "anthropic-request-id": "ar",
        "x-bf-request-id": "bf",
        "cf-ray": "8a-AMS",
        "x-amzn-requestid": "amz",
        "traceparent": "00-abc-def-01",
        "x-b3-traceid": "b3",
        "uber-trace-id": "u",
    }

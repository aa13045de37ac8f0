"""The demo gateway's error answers, shaped as Bifrost sends them: ``{"type":"error","error":{…}}`` on the
``/anthropic`` routes, ``{"error":{"message","type","code"}, …}`` on the ``/v1`` routes, nginx's HTML for a 502."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class ApiError:
    status: int
    type: str  # Anthropic error type (also the OpenAI "type" unless openai_type is set)
    message: str
    code: str  # Bifrost-ish code: the OpenAI "code" and Bifrost's top-level "type"
    headers: tuple[tuple[str, str], ...] = ()
    openai_type: str | None = None
    html: bool = False


def error_payload(family: str, err: ApiError) -> dict[str, Any]:
    """The JSON body for `err` on a route of `family` ("anthropic" or "openai")."""
    if family == "anthropic":
        return {"type": "error", "error": {"type": err.type, "message": err.message}}
    return {
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


def err_route(path: str) -> ApiError:
    return ApiError(404, "not_found_error", f"Route not found: {path}", "route_not_found")


def err_organization(org: str) -> ApiError:
    return ApiError(404, "not_found_error", f"Organization '{org}' not found", "organization_not_found")


def err_unknown_model(model: str) -> ApiError:
    return ApiError(404, "not_found_error", f"Unknown model '{model}' for this organization", "model_not_found")


def err_missing_key() -> ApiError:
    return ApiError(
        401,
        "authentication_error",
        "Virtual key is required: send it as Authorization: Bearer <key>, x-api-key or x-bf-vk",
        "virtual_key_required",
    )


def err_invalid_key() -> ApiError:
    return ApiError(401, "authentication_error", "Invalid virtual key", "virtual_key_not_found")


def err_provider(provider: str) -> ApiError:
    return ApiError(
        403,
        "permission_error",
        f"Provider '{provider}' is not allowed for this virtual key",
        "provider_blocked",
    )


def err_model_blocked(model: str) -> ApiError:
    return ApiError(
        403, "permission_error", f"Model '{model}' is not allowed for this virtual key", "model_blocked"
    )


def err_budget() -> ApiError:
    return ApiError(
        402,
        "billing_error",
        "Budget exceeded for this virtual key",
        "budget_exceeded",
        openai_type="budget_exceeded",
    )


def err_rate(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limit_error",
        "Request rate limit exceeded for this virtual key",
        "rate_limited",
        headers=(("retry-after", str(retry_after)),),
    )


def err_server(status: int = 500) -> ApiError:
    if status in (503, 529):
        return ApiError(status, "overloaded_error", "Overloaded", "overloaded")
    return ApiError(status, "api_error", "Internal server error", "internal_error")


def err_html_502() -> ApiError:
    return ApiError(502, "api_error", "Bad Gateway", "bad_gateway", html=True)


def err_invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message, "invalid_request")


ERR_TOO_LARGE = ApiError(413, "request_too_large", "Request body too large", "request_too_large")

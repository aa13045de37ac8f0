"""The demo gateway's request log: each request as it arrived, credentials masked in every repr."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from optscale_tui.core.connection import mask_secret

_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-bf-vk", "proxy-authorization", "cookie"})


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

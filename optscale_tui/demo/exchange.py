"""What the request-handling modules use of the gateway (server.py's DemoGateway) and of the request being answered
(handler.py's Handler), as protocols: routes.py and streaming.py type against them, so no module imports one that
imports it."""

from __future__ import annotations

import threading
from typing import Any, Protocol

from optscale_tui.demo.catalog import KeyPolicy
from optscale_tui.demo.errors import ApiError
from optscale_tui.demo.faults import Faults
from optscale_tui.demo.recorded import RecordedRequest


class Gateway(Protocol):
    org_id: str
    keys: dict[str, KeyPolicy]
    models: list[str]
    faults: Faults
    _stopping: threading.Event

    def _next_id(self) -> int: ...

    def _next_request_id(self) -> str: ...

    def _record_request(self, rec: RecordedRequest) -> None: ...

    def _register_connection(self, conn: Any) -> None: ...

    def _unregister_connection(self, conn: Any) -> None: ...


class Exchange(Protocol):
    """One request being answered: what it asked, and the ways to answer it (plain or streamed)."""

    gateway: Gateway
    command: str
    req_headers: dict[str, str]
    record: RecordedRequest | None

    def pause(self, ms: float) -> None: ...

    def send_body(self, status: int, data: bytes, content_type: str, *,
                  headers: tuple[tuple[str, str], ...] = (), request_ids: bool = True) -> None: ...

    def send_json(self, status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> None: ...

    def send_api_error(self, family: str, err: ApiError) -> None: ...

    def start_stream(self, content_type: str) -> None: ...

    def write_chunk(self, data: bytes) -> None: ...

    def end_stream(self) -> None: ...

"""Fault knobs of the demo gateway (``gateway.faults``) and the forced error they ask for."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from optscale_tui.demo.catalog import provider_of
from optscale_tui.demo.errors import (
    ApiError,
    err_budget,
    err_html_502,
    err_invalid_key,
    err_model_blocked,
    err_provider,
    err_rate,
    err_route,
    err_server,
    err_unknown_model,
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


def forced_error(faults: Faults, model: str | None, path: str) -> ApiError | None:
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
            return ApiError(
                status, "invalid_request_error" if status == 400 else "api_error", "Forced error", "forced"
            )
    name = model or "unknown"
    err = {
        "auth": lambda: err_invalid_key(),
        "provider": lambda: err_provider(provider_of(name) if model else "openai"),
        "model_blocked": lambda: err_model_blocked(name),
        "not_found": lambda: err_unknown_model(name),
        "path_not_found": lambda: err_route(path),
        "rate": lambda: err_rate(faults.retry_after),
        "budget": lambda: err_budget(),
        "server": lambda: err_server(status or 500),
        "html_502": lambda: err_html_502(),
    }[kind]()
    if status is not None and status != err.status:
        err = replace(err, status=status)
    return err

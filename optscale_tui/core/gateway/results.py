"""What a probe returns: never an exception for a network or HTTP problem, always a `ProbeResult` (the catalog's
probe included), shared by the CLI, the TUI, verify and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from optscale_tui.core.causes import Cause


@dataclass(frozen=True)
class ProbeTimings:
    ttfb_ms: float | None  # request sent → response headers received
    ttft_ms: float | None  # request sent → first text delta
    total_ms: float
    output_tokens: int | None
    tokens_per_s: float | None


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome: `cause` (None when ok) and `detail` in words with the key masked, the request ids a
    gateway admin looks up in OptScale Traces, timings, the reply's text (cleaned) and probe-specific `extra`."""

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

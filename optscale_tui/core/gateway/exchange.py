"""What every probe shares: the facts one exchange has gathered (`Exchange`) and how they become a ProbeResult
whatever the way out (an answer, an HTTP error, an exception), with the gateway's words cleaned and the key masked."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import ApiKey, GatewayUrl
from optscale_tui.core.gateway.body import read_body
from optscale_tui.core.gateway.errors import (
    classify_exception,
    classify_http_error,
    collect_request_ids,
    describe_exception,
    server_message,
    short_url,
    truncate,
)
from optscale_tui.core.gateway.results import ProbeResult, ProbeTimings
from optscale_tui.core.gateway.stream import StreamState
from optscale_tui.core.secrets import clean_outside_text

log = logging.getLogger(__name__)

MAX_SERVER_WORDS = 240  # the server's own message inside a ProbeResult.detail
MAX_ERROR_BODY_BYTES = 64 * 1024  # an error body is read this far (decoded) and classified on that


@dataclass
class Exchange:
    """What one probe has learned about its request so far, so that every way out (an answer, an HTTP error, an
    exception) builds its ProbeResult from the same facts."""

    name: str
    model: str | None = None
    t0: float = field(default_factory=time.perf_counter)
    ttfb: float | None = None
    status: int | None = None
    request_ids: dict[str, str] = field(default_factory=dict)
    stream: StreamState | None = None

    def answered(self, response: httpx.Response) -> None:
        """Note a response: when the first one arrived, its status and the request ids in its headers."""
        if self.ttfb is None:
            self.ttfb = time.perf_counter()
        self.status = response.status_code
        self.request_ids.update(collect_request_ids(response.headers))


class ProbeBase:
    """The base of GatewayClient's probe families: the client's state (set by `GatewayClient.__init__`) and the
    way each probe reports."""

    url: GatewayUrl
    timeout: float
    _key: ApiKey
    _insecure: bool  # plain http:// to a remote host: nothing is sent
    _client: httpx.AsyncClient

    def _scrub(self, text: str) -> str:
        """The gateway's words as they may be shown, logged or saved: no escape sequence or control character,
        the key (and anything shaped like one) masked."""
        return clean_outside_text(text, (self._key.value,))

    def _detail(self, text: str) -> str:
        return truncate(self._scrub(text))

    def _result(
        self,
        exchange: Exchange,
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
            Exchange(name, model),
            ok=False,
            cause=Cause.INSECURE_HTTP,
            detail=f"Not sent: {self.url.origin} is plain http:// to a remote host, so the API key would travel "
            "unencrypted.",
        )

    def _exception_result(
        self, exchange: Exchange, exc: BaseException, *, where: str, extra: dict[str, Any] | None = None
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
            words = truncate(server_message(body, ct), MAX_SERVER_WORDS) or "(empty body)"
        return cause, f"HTTP {status} from {method} {short_url(url)}: {words}"


"""The Messages probes: a streamed reply, a forced tool call, Claude Code's beta header, count_tokens."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from optscale_tui.core.causes import Cause
from optscale_tui.core.gateway.body import deadline, read_body
from optscale_tui.core.gateway.errors import (
    TRANSPORT_ERRORS,
    ProbeFailed,
    parse_json,
    server_message,
    short_url,
)
from optscale_tui.core.gateway.exchange import Exchange, ProbeBase
from optscale_tui.core.gateway.results import ProbeResult
from optscale_tui.core.gateway.sse import SSEError
from optscale_tui.core.gateway.stream import (
    StreamState,
    accept_json_message,
    consume_sse,
    stream_extra,
    summary,
)
from optscale_tui.core.secrets import OutsideTextStream

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
MAX_MESSAGE_BYTES = 1024 * 1024  # a non-streamed JSON answer (a message, count_tokens)


class MessageProbes(ProbeBase):
    """GatewayClient's Messages probes: `stream_message`, `tool_use_probe`, `beta_probe`, `count_tokens`."""

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
            return replace(
                beta,
                cause=Cause.BETA_REJECTED,
                detail=self._detail(f"With anthropic-beta: {beta.detail} Without it the same request works."),
                extra=extra,
            )
        return replace(plain, name="beta", extra={**plain.extra, **extra})

    async def count_tokens(self, model: str) -> ProbeResult:
        """POST {anthropic}/v1/messages/count_tokens → extra["input_tokens"]."""
        name = "count_tokens"
        url = f"{self.url.anthropic_base}/v1/messages/count_tokens"
        if self._insecure:
            return self._insecure_result(name, model)
        exchange = Exchange(name, model)
        body = {"model": model, "messages": [{"role": "user", "content": "Hello, world"}]}
        try:
            async with deadline(self.timeout), self._client.stream("POST", url, json=body) as response:
                exchange.answered(response)
                if 200 <= response.status_code < 300:
                    content = (await read_body(response, MAX_MESSAGE_BYTES)).data
                else:
                    content = await self._read_limited(response)
        except TRANSPORT_ERRORS as exc:
            return self._exception_result(exchange, exc, where=f"POST {short_url(url)}")
        status = response.status_code
        if not 200 <= status < 300:
            cause, detail = self._http_failure("POST", url, response, content, "count_tokens")
            if cause is Cause.PATH_NOT_FOUND:
                detail += " (count_tokens is optional for gateways; Claude Code only uses it for /context)"
            return self._result(exchange, ok=False, cause=cause, detail=detail)
        data = parse_json(content)
        tokens = data.get("input_tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            what = server_message(content, response.headers.get("content-type")) or "an empty body"
            return self._result(
                exchange,
                ok=False,
                cause=Cause.BAD_RESPONSE,
                detail=f"POST {short_url(url)} answered {status} without input_tokens: {what}",
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
        """POST a Messages request and read its reply (an event stream, or one JSON message when the gateway
        ignores "stream": true). With `tool_probe`, ok only when the model called the tool."""
        url = f"{self.url.anthropic_base}/v1/messages"
        if self._insecure:
            return self._insecure_result(name, model)
        where = f"POST {short_url(url)}"
        exchange = Exchange(name, model)
        state = exchange.stream = StreamState(t0=exchange.t0, on_text=on_text)
        extra: dict[str, Any] = {}
        if betas:
            extra["betas"] = list(betas)
        try:
            await self._read_reply(url, body, betas, exchange, state, extra)
        except ProbeFailed as failed:
            exchange.status = failed.status or exchange.status
            return self._result(
                exchange,
                ok=False,
                cause=failed.cause,
                detail=failed.detail,
                extra={**extra, **stream_extra(state)},
            )
        except (*TRANSPORT_ERRORS, SSEError) as exc:
            return self._exception_result(exchange, exc, where=where, extra={**extra, **stream_extra(state)})
        extra.update(stream_extra(state))
        if tool_probe:
            return self._tool_use_result(exchange, state, extra)
        detail = summary(state, streaming=extra.get("streaming", True))
        return self._result(exchange, ok=True, detail=detail, extra=extra)

    async def _read_reply(
        self,
        url: str,
        body: dict[str, Any],
        betas: Sequence[str],
        exchange: Exchange,
        state: StreamState,
        extra: dict[str, Any],
    ) -> None:
        """Send the request and read the reply into `state`, noting extra["streaming"]; raises ProbeFailed for an
        HTTP error or a reply that is not an Anthropic Messages answer."""
        headers: dict[str, str] = {}
        params: dict[str, str] | None = None
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
            params = {"beta": "true"}
        where = f"POST {short_url(url)}"
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
                raise ProbeFailed(cause, detail, status)
            if "text/event-stream" in ct.lower():
                await consume_sse(response, state, where)
                extra["streaming"] = True
            else:
                content = (await read_body(response, MAX_MESSAGE_BYTES)).data
                accept_json_message(content, ct, state, where)
                extra["streaming"] = False

    def _tool_use_result(self, exchange: Exchange, state: StreamState, extra: dict[str, Any]) -> ProbeResult:
        """The tool-use probe's verdict: ok iff the reply holds a tool call."""
        tools = state.tool_uses()
        extra["tool_use"] = bool(tools)
        if not tools:
            return self._result(
                exchange,
                ok=False,
                cause=Cause.BAD_RESPONSE,
                detail="The model answered without calling the tool: tool use (which Claude Code needs for "
                "every edit and command) does not work with this model through the gateway"
                + (f" (stop_reason {state.stop_reason})" if state.stop_reason else ""),
                extra=extra,
            )
        extra["tool_name"] = tools[0].name
        extra["tool_input"] = tools[0].input
        detail = f"the model called {tools[0].name}({json.dumps(tools[0].input)[:80]})"
        return self._result(exchange, ok=True, detail=detail, extra=extra)

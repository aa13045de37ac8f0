"""The gateway client: catalog, streaming messages (SSE), count_tokens, tool use and beta-header probes.

Every probe returns a `ProbeResult` — never raises for network or HTTP problems — carrying a `Cause` from the closed
set, the server's own words (truncated, key masked), timings and the request ids a gateway admin needs to find the
request in OptScale Traces.

Requests look like Claude Code's: `Authorization: Bearer <key>` (or `x-api-key: <key>`, `auth_scheme="x-api-key"`,
as Claude Desktop sends it for an entry with that `inferenceGatewayAuthScheme`), `anthropic-version: 2023-06-01`, `POST
{anthropic_base}/v1/messages` with `"stream": true`, and for the beta probe `?beta=true` plus the `anthropic-beta`
header Claude Code sends for its default model.

The probes live beside the client, one family a module: catalog.py (`list_models`) and messages.py (the Messages
probes); exchange.py holds what they share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import httpx

from optscale_tui import __version__
from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import ApiKey, GatewayUrl, InputError
from optscale_tui.core.gateway.body import ACCEPT_ENCODING, deadline
from optscale_tui.core.gateway.catalog import CatalogRequests
from optscale_tui.core.gateway.errors import TRANSPORT_ERRORS, short_url
from optscale_tui.core.gateway.exchange import Exchange
from optscale_tui.core.gateway.messages import MessageProbes
from optscale_tui.core.gateway.results import ProbeResult
from optscale_tui.core.gateway.tls import shared_ssl_context

ANTHROPIC_VERSION = "2023-06-01"
AUTH_SCHEMES = ("bearer", "x-api-key")  # how the key travels: Authorization: Bearer <key>, or x-api-key: <key>
USER_AGENT = f"optscale-tui/{__version__}"


class GatewayClient(CatalogRequests, MessageProbes):
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
        auth_scheme: str = "bearer",
    ) -> None:
        if auth_scheme not in AUTH_SCHEMES:
            raise ValueError(f"auth_scheme must be one of {', '.join(AUTH_SCHEMES)}, not {auth_scheme!r}")
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
        self._key_header = "authorization" if auth_scheme == "bearer" else "x-api-key"
        key_value = f"Bearer {key.value}" if auth_scheme == "bearer" else key.value
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
                self._key_header: key_value,
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

    async def reachability(self) -> ProbeResult:
        """DNS, TCP and TLS only: `HEAD {anthropic}/api/hello`, Claude Code's own start-up preflight, sent like
        Claude Code sends it — without the key. Any HTTP answer (whatever the status) proves the gateway is
        reachable; the status is kept in `status` / extra["status"] for the record."""
        name = "reachability"
        url = f"{self.url.anthropic_base}/api/hello"
        if self._insecure:
            return self._insecure_result(name)
        exchange = Exchange(name)
        try:
            request = self._client.build_request("HEAD", url)
            del request.headers[self._key_header]
            async with deadline(self.timeout):
                response = await self._client.send(request, stream=True)
                await response.aclose()
        except TRANSPORT_ERRORS as exc:
            return self._exception_result(exchange, exc, where=f"HEAD {short_url(url)}")
        exchange.answered(response)
        scheme = "TLS verified" if self.url.is_https else "plain http on loopback"
        return self._result(
            exchange,
            ok=True,
            detail=f"{self.url.origin} answered HEAD {short_url(url)} with HTTP {response.status_code} ({scheme})",
            extra={"status": response.status_code},
        )


def _header_safe(value: str) -> bool:
    """Printable ASCII without spaces: what a Bearer token in an HTTP header may hold."""
    return bool(value) and all("!" <= ch <= "~" for ch in value)


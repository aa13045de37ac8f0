"""The model catalog: `GET {v1}/models` (OpenAI layout), else `GET {anthropic}/v1/models` (Anthropic layout, paged),
parsed into `ModelInfo`s under one size cap and one deadline for every page. `list_anthropic_models` asks only the
second, as Claude Desktop's model discovery does."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from optscale_tui.core.causes import Cause
from optscale_tui.core.gateway.body import BodyTooLarge, deadline, read_body
from optscale_tui.core.gateway.errors import (
    MAX_DETAIL_CHARS,
    TRANSPORT_ERRORS,
    server_message,
    short_url,
    truncate,
)
from optscale_tui.core.gateway.exchange import MAX_ERROR_BODY_BYTES, Exchange, ProbeBase
from optscale_tui.core.gateway.results import ProbeResult

# Decoded-size cap (see body.py): what a hostile or broken gateway can make us hold in memory.
MAX_CATALOG_BYTES = 32 * 1024 * 1024  # all pages of a catalog; 100,000 models are about 8 MiB of JSON


@dataclass(frozen=True, slots=True)  # slots: a catalog can hold 100,000 of them
class ModelInfo:
    id: str
    display_name: str | None = None
    owned_by: str | None = None
    family_tier: str | None = None  # anthropic_family_tier: a gateway's mark that Claude Desktop may use this id


@dataclass(frozen=True)
class Catalog:
    models: tuple[ModelInfo, ...]
    source: str  # the URL the list came from (or was last tried)
    probe: ProbeResult

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)


def _catalog_fallback(result: ProbeResult) -> bool:
    return result.status == 404 or result.status == 405 or bool(result.extra.get("non_json"))


class _CatalogEntry(NamedTuple):
    """A model object of a catalog as parsed: only what ModelInfo keeps."""

    id: str
    display_name: object
    owned_by: object
    family_tier: object


def _catalog_object(pairs: list[tuple[str, Any]]) -> Any:
    """JSON object hook for a catalog: a model object becomes a small tuple. As dicts, a catalog of 30 MiB of tiny
    objects took about twenty times its size in memory."""
    fields = dict(pairs)
    model_id = fields.get("id")
    if isinstance(model_id, str) and "data" not in fields and "models" not in fields:
        return _CatalogEntry(model_id, fields.get("display_name"), fields.get("owned_by"),
                             fields.get("anthropic_family_tier"))
    return fields


def _parse_catalog_json(body: bytes) -> Any:
    try:
        return json.loads(body, object_pairs_hook=_catalog_object)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _parse_catalog(data: Any) -> list[ModelInfo] | None:
    items: Any
    if isinstance(data, dict):
        items = data.get("data", data.get("models"))
    elif isinstance(data, list):
        items = data
    else:
        return None
    if not isinstance(items, list):
        return None
    models: list[ModelInfo] = []
    for item in items:
        if isinstance(item, str) and item:
            models.append(ModelInfo(item))
        elif isinstance(item, _CatalogEntry) and item.id:
            models.append(
                ModelInfo(
                    item.id,
                    display_name=str(item.display_name) if item.display_name else None,
                    owned_by=str(item.owned_by) if item.owned_by else None,
                    family_tier=item.family_tier if isinstance(item.family_tier, str) and item.family_tier else None,
                )
            )
        elif isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
            display = item.get("display_name")
            owner = item.get("owned_by")
            models.append(
                ModelInfo(
                    item["id"],
                    display_name=str(display) if display else None,
                    owned_by=str(owner) if owner else None,
                )
            )
    return models


class CatalogRequests(ProbeBase):
    """GatewayClient's catalog: `list_models`."""

    async def list_models(self) -> Catalog:
        """GET {v1}/models; on a 404 or a non-JSON answer fall back to GET {anthropic}/v1/models."""
        name = "models"
        openai_url = f"{self.url.openai_base}/models"
        if self._insecure:
            return Catalog((), openai_url, self._insecure_result(name))
        t0 = time.perf_counter()
        until = asyncio.get_running_loop().time() + self.timeout  # one deadline for every page and the fallback
        first = await self._get_catalog(openai_url, params=None, t0=t0, until=until)
        if isinstance(first, tuple) or first.ok or not _catalog_fallback(first):
            return self._catalog_result(first, openai_url, t0, fallback=False)
        anthropic_url = f"{self.url.anthropic_base}/v1/models"
        second = await self._get_catalog(anthropic_url, params={"limit": "1000"}, t0=t0, until=until)
        result = self._catalog_result(second, anthropic_url, t0, fallback=True)
        if not result.probe.ok:
            probe = result.probe
            why = f"answered {first.status}" if first.status else "gave no model list"
            detail = f"GET {short_url(openai_url)} {why}; then {probe.detail}"
            result = Catalog(
                (),
                anthropic_url,
                replace(probe, detail=truncate(self._scrub(detail), 2 * MAX_DETAIL_CHARS)),
            )
        return result

    async def list_anthropic_models(self) -> Catalog:
        """GET {anthropic}/v1/models only (paged), the request Claude Desktop's model discovery makes when its entry
        lists no models: no /v1 first, no fallback, the key sent in the client's auth scheme."""
        url = f"{self.url.anthropic_base}/v1/models"
        if self._insecure:
            return Catalog((), url, self._insecure_result("models"))
        t0 = time.perf_counter()
        until = asyncio.get_running_loop().time() + self.timeout
        got = await self._get_catalog(url, params=None, t0=t0, until=until)
        return self._catalog_result(got, url, t0, fallback=False)

    async def _get_catalog(
        self, url: str, *, params: dict[str, str] | None, t0: float, until: float
    ) -> ProbeResult | tuple[list[ModelInfo], ProbeResult]:
        """A failed ProbeResult, or (models, ok ProbeResult). All pages together are read up to MAX_CATALOG_BYTES
        (decoded): a real catalog is big, but not without end."""
        exchange = Exchange("models", t0=t0)
        models: dict[str, ModelInfo] = {}  # by id, the first listing wins: duplicates cost no memory
        pages = 0
        budget = MAX_CATALOG_BYTES
        try:
            while True:
                pages += 1
                async with (
                    deadline(self.timeout, until=until),
                    self._client.stream("GET", url, params=params) as response,
                ):
                    exchange.answered(response)
                    status = response.status_code
                    if not 200 <= status < 300:
                        body = await self._read_limited(response)
                        cause, detail = self._http_failure("GET", url, response, body, "models")
                        return self._result(exchange, ok=False, cause=cause, detail=detail)
                    try:
                        body = (await read_body(response, budget)).data
                    except BodyTooLarge:
                        raise BodyTooLarge(MAX_CATALOG_BYTES) from None  # the cap is for all pages together
                budget -= len(body)
                data = _parse_catalog_json(body)
                parsed = _parse_catalog(data)
                if parsed is None:
                    ct = response.headers.get("content-type")
                    head = body[:MAX_ERROR_BODY_BYTES]
                    what = server_message(head, ct) if head.strip() else "an empty body"
                    return self._result(
                        exchange,
                        ok=False,
                        cause=Cause.BAD_RESPONSE,
                        detail=f"GET {short_url(url)} answered {status} but not with a model list: {what}",
                        extra={"non_json": data is None},
                    )
                for model in parsed:
                    models.setdefault(model.id, model)
                last_id = data.get("last_id") if isinstance(data, dict) else None
                more = isinstance(data, dict) and data.get("has_more") and last_id and pages < 20
                del data, parsed, body  # freed before the next page arrives
                if not more:
                    break
                params = {**(params or {}), "after_id": str(last_id)}
        except TRANSPORT_ERRORS as exc:
            return self._exception_result(exchange, exc, where=f"GET {short_url(url)}")
        return list(models.values()), self._result(exchange, ok=True)

    def _catalog_result(
        self, got: ProbeResult | tuple[list[ModelInfo], ProbeResult], url: str, t0: float, *, fallback: bool
    ) -> Catalog:
        if not isinstance(got, tuple):
            return Catalog((), url, replace(got, extra={**got.extra, "fallback": fallback}))
        models, probe = got
        unique: dict[str, ModelInfo] = {}
        for m in models:
            unique.setdefault(m.id, m)
        ordered = tuple(sorted(unique.values(), key=lambda m: m.id))
        detail = f"{len(ordered)} model{'s' if len(ordered) != 1 else ''} from GET {short_url(url)}"
        if not ordered:
            detail = f"GET {short_url(url)} answered with an empty model list for this key"
        probe = replace(
            probe, detail=self._detail(detail), extra={"count": len(ordered), "fallback": fallback}
        )
        return Catalog(ordered, url, probe)


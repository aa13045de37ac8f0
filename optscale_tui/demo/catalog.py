"""The demo gateway's organization, virtual keys and model catalog: what a key may see and call, and the two model
list shapes (OpenAI's ``/v1/models``, Anthropic's paged ``/anthropic/v1/models``)."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from typing import Any

DEMO_ORG_ID = "00000000-0000-4000-8000-00000000d3e0"
# Fake, public demo keys. They only work against this demo server; the last four characters differ so masked
# forms (sk-bf-…a001) stay distinguishable.
DEMO_KEY = "sk-bf-demo-all-models-d3e0a001"
DEMO_KEY_LIMITED = "sk-bf-demo-anthropic-only-d3e0a002"
DEMO_KEY_BUDGET = "sk-bf-demo-budget-spent-d3e0a003"
DEMO_KEY_OPENAI_ONLY = "sk-bf-demo-openai-only-d3e0a004"

DEFAULT_MODELS: tuple[str, ...] = (
    "anthropic/claude-haiku-4-5",
    "anthropic/claude-sonnet-4-6",
    "anthropic/claude-opus-4-6",
    "openai/gpt-5",
    "openai/gpt-4.1",
    "ollama/qwen3:32b",
)

# Display names and release dates for the built-in catalog; other ids get a name derived from the id.
_MODEL_META: dict[str, tuple[str, str]] = {
    "anthropic/claude-haiku-4-5": ("Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
    "anthropic/claude-sonnet-4-6": ("Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    "anthropic/claude-opus-4-6": ("Claude Opus 4.6", "2026-02-05T00:00:00Z"),
    "openai/gpt-5": ("GPT-5", "2025-08-07T00:00:00Z"),
    "openai/gpt-4.1": ("GPT-4.1", "2025-04-14T00:00:00Z"),
    "ollama/qwen3:32b": ("Qwen3 32B", "2025-04-29T00:00:00Z"),
}
_DEFAULT_CREATED_AT = "2025-01-01T00:00:00Z"


@dataclass
class KeyPolicy:
    """What a virtual key may do. ``None`` means "no restriction"; model ids are catalog ids (provider/model)."""

    allowed_models: set[str] | None = None
    allowed_providers: set[str] | None = None
    budget_exceeded: bool = False

    def allows_provider(self, provider: str) -> bool:
        return self.allowed_providers is None or provider in self.allowed_providers

    def allows_model(self, model_id: str) -> bool:
        return self.allowed_models is None or model_id in self.allowed_models


def default_keys() -> dict[str, KeyPolicy]:
    """The built-in demo keys (fresh, mutable copies)."""
    return {
        DEMO_KEY: KeyPolicy(),
        DEMO_KEY_LIMITED: KeyPolicy(
            allowed_models={"anthropic/claude-sonnet-4-6", "anthropic/claude-haiku-4-5"},
            allowed_providers={"anthropic"},
        ),
        DEMO_KEY_BUDGET: KeyPolicy(budget_exceeded=True),
        DEMO_KEY_OPENAI_ONLY: KeyPolicy(allowed_providers={"openai"}),
    }


def provider_of(model_id: str) -> str:
    return model_id.split("/", 1)[0] if "/" in model_id else "anthropic"


def _display_name(model_id: str) -> str:
    if model_id in _MODEL_META:
        return _MODEL_META[model_id][0]
    name = model_id.split("/", 1)[-1]
    return name.replace("-", " ").replace(":", " ").title()


def _created_at(model_id: str) -> str:
    return _MODEL_META.get(model_id, ("", _DEFAULT_CREATED_AT))[1]


def _created_ts(model_id: str) -> int:
    return calendar.timegm(time.strptime(_created_at(model_id), "%Y-%m-%dT%H:%M:%SZ"))


def resolve_model(models: list[str], name: str) -> str | None:
    """Catalog id for a requested model: exact id, or a bare name that matches exactly one id."""
    if name in models:
        return name
    if "/" not in name:
        matches = [m for m in models if m.split("/", 1)[-1] == name]
        if len(matches) == 1:
            return matches[0]
    return None


def _visible_models(models: list[str], policy: KeyPolicy) -> list[str]:
    return [m for m in models if policy.allows_provider(provider_of(m)) and policy.allows_model(m)]


def openai_models(models: list[str], policy: KeyPolicy) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": _created_ts(m), "owned_by": provider_of(m)}
            for m in _visible_models(models, policy)
        ],
    }


def anthropic_models(models: list[str], policy: KeyPolicy, params: dict[str, list[str]]) -> dict[str, Any]:
    visible = _visible_models(models, policy)
    after = (params.get("after_id") or [None])[0]
    if after in visible:
        visible = visible[visible.index(after) + 1 :]
    try:
        limit = max(1, min(1000, int((params.get("limit") or ["20"])[0])))
    except ValueError:
        limit = 20
    page, has_more = visible[:limit], len(visible) > limit
    return {
        "data": [
            {"id": m, "type": "model", "display_name": _display_name(m), "created_at": _created_at(m)}
            for m in page
        ],
        "has_more": has_more,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }

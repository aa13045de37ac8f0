"""Which model names Claude Desktop accepts, and the list of models it is given.

Desktop 1.6259.1+ rejects a model route that does not reference an Anthropic model: the name must contain claude,
sonnet, opus, haiku or anthropic (anthropics/claude-code#56990); one bad entry is reported to reject the whole list,
so a plan with such a name is refused before anything is written.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.models import model_family, strip_context_suffix
from optscale_tui.core.connection import InputError, TierMapping

from .library import DesktopModel

ANTHROPIC_WORDS = ("claude", "sonnet", "opus", "haiku", "anthropic")
# The first model in inferenceModels is Desktop's default: Sonnet (the everyday model) when it is mapped.
DEFAULT_ORDER = ("sonnet", "opus", "haiku")


def desktop_rejects(name: str) -> bool:
    return not any(word in name.lower() for word in ANTHROPIC_WORDS)


def nearest_valid_model(name: str, catalog: Iterable[str], tier: str | None = None) -> str | None:
    """The catalog model Desktop would accept that is closest to `name`: the same tier family first, then by
    spelling. None when the catalog has no acceptable model."""
    valid = [m for m in dict.fromkeys(catalog) if not desktop_rejects(m)]
    if not valid:
        return None
    if tier:
        same_family = [m for m in valid if model_family(m) == tier]
        if same_family:
            valid = same_family
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.0)
    return close[0] if close else valid[0]


class DesktopModelRejected(InputError):
    """A model name Desktop would reject; carries the reason and the catalog's nearest valid name."""

    def __init__(self, model: str, tier: str | None, suggestion: str | None) -> None:
        self.model, self.tier, self.suggestion = model, tier, suggestion
        where = f" (the {tier.capitalize()} tier)" if tier else ""
        reason = (f"Claude Desktop rejects the model name {model!r}{where}: a name must contain claude, sonnet, "
                  "opus, haiku or anthropic, and one such entry makes Desktop reject the whole list.")
        reason += (f" Nearest valid name in the catalog: {suggestion}." if suggestion
                   else " The catalog has no model Desktop accepts.")
        super().__init__(tier or "model", reason, Cause.DESKTOP_MODEL_REJECTED)
        self.fix = describe(Cause.DESKTOP_MODEL_REJECTED).fix


def default_label(tier: str, model: str) -> str:
    return f"{tier.capitalize()} · {strip_context_suffix(model).rsplit('/', 1)[-1]}"


def desktop_models(
    tiers: TierMapping, *, labels: Mapping[str, str] | None = None, catalog: Iterable[str] = (),
    default_tier: str | None = None,
) -> tuple[DesktopModel, ...]:
    """The mapped tiers as Desktop's `inferenceModels`, the default first, one entry per model id.

    `labels`: tier -> the label to show (a display name chosen in the app); otherwise "Sonnet · claude-sonnet-4-6".
    Raises DesktopModelRejected for a name Desktop would reject, naming the catalog's nearest valid one.
    """
    labels = labels or {}
    mapped = tiers.mapped()
    order = list(DEFAULT_ORDER)
    if default_tier in mapped:
        order.remove(default_tier)
        order.insert(0, default_tier)
    catalog = list(catalog)
    models: list[DesktopModel] = []
    seen: set[str] = set()
    for tier in order:
        model = mapped.get(tier)
        if not model:
            continue
        name = strip_context_suffix(model)  # Claude Code's [1m] suffix is its own; Desktop has supports1m
        if desktop_rejects(name):
            raise DesktopModelRejected(name, tier, nearest_valid_model(name, catalog, tier))
        if name in seen:
            continue
        seen.add(name)
        label = (labels.get(tier) or "").strip() or default_label(tier, name)
        models.append(DesktopModel(name, label, tier, True, True if model.endswith("[1m]") else None))
    return tuple(models)


def tiers_from_models(models: Iterable[DesktopModel]) -> TierMapping:
    """Back from Desktop's list to tiers (its anthropicFamilyTier, else the family in the name): what verify probes."""
    found: dict[str, str] = {}
    for m in models:
        tier = m.tier if m.tier in DEFAULT_ORDER else model_family(m.name)
        if tier and tier not in found:
            found[tier] = m.name
    return TierMapping(haiku=found.get("haiku"), sonnet=found.get("sonnet"), opus=found.get("opus"))

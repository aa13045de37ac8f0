"""The models Claude Code knows: its tiers, its built-in model ids, the aliases it resolves itself, and which
gateway model suits which tier.

Imports nothing from core/connection.py at run time (TierMapping only for type checking): connection.py re-exports
these names for older code, and a run-time import back would be an import circle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from optscale_tui.core.secrets import is_clean

if TYPE_CHECKING:
    from optscale_tui.core.connection import TierMapping

TIERS = ("haiku", "sonnet", "opus")
# Claude Code's tiers as its variables name them: the three optscale-tui maps, and Fable, which it leaves alone.
CLAUDE_CODE_TIERS = (*TIERS, "fable")

# What Claude Code sends for a tier whose ANTHROPIC_DEFAULT_<TIER>_MODEL is not set.
# Measured with 2.1.332 (2.1.197 used claude-opus-4-8 and claude-sonnet-5 instead).
CLAUDE_CODE_BUILTIN_MODELS: dict[str, str] = {
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-4-5",
}

# The aliases Claude Code resolves to a tier's model as the main model or `--model`: each tier's own name, and
# "default", the default session, which follows the Opus tier.
TIER_OF_ALIAS: dict[str, str] = {**{tier: tier for tier in TIERS}, "default": "opus"}
# The names Claude Code resolves itself (to a tier's model) when they are the main or subagent model: not gateway ids.
# "opusplan" (Opus while planning, Sonnet otherwise) resolves to no single tier.
CLAUDE_CODE_MODEL_ALIASES = frozenset({*TIER_OF_ALIAS, "opusplan"})
# The tiers each alias sends as the main model: "opusplan" sends the Opus tier's model while planning, Sonnet's after.
TIERS_OF_ALIAS: dict[str, tuple[str, ...]] = {**{a: (t,) for a, t in TIER_OF_ALIAS.items()},
                                              "opusplan": ("opus", "sonnet")}
# Every name a main or subagent model may hold that Claude Code resolves itself and never sends to the gateway: the
# aliases, "inherit" (a subagent on the main model) and "best". Verify probes what they resolve to, not them.
RESOLVED_BY_CLAUDE_CODE = frozenset({*CLAUDE_CODE_MODEL_ALIASES, "inherit", "best"})
MAPPED_TARGETS = ("haiku", "sonnet", "opus", "main_model", "subagent_model")


def strip_context_suffix(model: str) -> str:
    """Claude Code strips `[1m]` before sending; the gateway catalog never has it."""
    return model[:-4] if model.endswith("[1m]") else model


def is_mappable_model(model: str | None) -> bool:
    """Whether a model id (e.g. from the gateway's catalog) may be written into the settings as it is: only when it
    is shown exactly as it is. An id that had to be changed for display (control characters, something shaped like
    a key) is refused, never saved in its changed form (a name the gateway does not know) nor in its raw one (what
    the user never saw, or a key in clear)."""
    return bool(model) and is_clean(model)


# --- which catalog model suits which tier ------------------------------------------------------------------------

_FAMILY_RE = {tier: re.compile(rf"(?<![a-z]){tier}(?![a-z])") for tier in TIERS}
# A version right after the family ("claude-opus-4-1-20250805", "Claude Sonnet 4.6") or, in the older naming, right
# before it ("claude-3-5-sonnet"). Components are 1–2 digits, so a release date is never read as a version.
_VERSION = r"(?<!\d)(\d{1,2}(?!\d)(?:[-._]\d{1,2}(?!\d))*)"
_VERSION_AFTER = {t: re.compile(rf"(?<![a-z]){t}[-_. ]?{_VERSION}") for t in TIERS}
_VERSION_BEFORE = {t: re.compile(rf"{_VERSION}[-_. ]?{t}(?![a-z])") for t in TIERS}
_NEAREST = {"opus": ("sonnet", "haiku"), "sonnet": ("opus", "haiku"), "haiku": ("sonnet", "opus")}


def model_family(model: str, display_name: str | None = None) -> str | None:
    """The Claude Code tier a model is named for ("haiku", "sonnet", "opus"), by its id or display name, or None."""
    for text in (model.lower(), (display_name or "").lower()):
        found = [tier for tier in TIERS if _FAMILY_RE[tier].search(text)]
        if len(found) == 1:
            return found[0]
    return None


def _version(tier: str, model: str, display_name: str | None) -> tuple[int, ...]:
    for text in (model.rsplit("/", 1)[-1].lower(), (display_name or "").lower()):
        match = _VERSION_AFTER[tier].search(text) or _VERSION_BEFORE[tier].search(text)
        if match:
            return tuple(int(part) for part in re.split(r"[-._]", match.group(1)))
    return ()


@dataclass(frozen=True, slots=True)
class TierSuggestion:
    """The model suggested for an unmapped tier. When it is not named for the tier (`matches_family` False: no
    candidate of that family), callers must say so; `borrowed_from` is the tier whose model it borrows, if any."""

    tier: str
    model: str
    matches_family: bool = True
    borrowed_from: str | None = None

    @property
    def note(self) -> str:
        """Why the model is not named for the tier, in plain words ("" when it is)."""
        if self.matches_family:
            return ""
        whose = f"; uses {self.borrowed_from.capitalize()}'s model" if self.borrowed_from else ""
        return f"no {self.tier.capitalize()} model known{whose}"


def suggest_tier_models(
    tiers: TierMapping,
    candidates: Iterable[str | tuple[str, str | None]],
    *,
    fallback: str | None = None,
) -> dict[str, TierSuggestion]:
    """A model for each unmapped tier, in the order opus, sonnet, haiku (the default session follows Opus).

    `candidates` are catalog model ids (or `(id, display_name)` pairs), in catalog order. Each unmapped tier gets the
    candidate named for its family (opus/sonnet/haiku in the id or display name), preferring `anthropic/` ids, then
    the newest version (4-6 over 4-5; numbers, not strings), then catalog order. A tier whose family no candidate has
    borrows its nearest neighbour's model (mapped, or suggested for its family), else gets `fallback`; without
    either it is left out.
    """
    pairs = [(c, None) if isinstance(c, str) else c for c in candidates]
    pairs = [(m, name) for m, name in pairs if is_mappable_model(m)]  # never suggest what cannot be saved as is
    if fallback is not None and not is_mappable_model(fallback):
        fallback = None
    suggestions: dict[str, TierSuggestion] = {}
    for tier in ("opus", "sonnet", "haiku"):
        if getattr(tiers, tier):
            continue
        family = [(i, m, name) for i, (m, name) in enumerate(pairs) if model_family(m, name) == tier]
        if family:
            _, model, _ = max(family, key=lambda f: (f[1].lower().startswith("anthropic/"),
                                                    _version(tier, f[1], f[2]), -f[0]))
            suggestions[tier] = TierSuggestion(tier, model)
    for tier in ("opus", "sonnet", "haiku"):
        if getattr(tiers, tier) or tier in suggestions:
            continue
        for near in _NEAREST[tier]:
            model = getattr(tiers, near) or (suggestions[near].model if near in suggestions and
                                             suggestions[near].matches_family else None)
            if model:
                suggestions[tier] = TierSuggestion(tier, model, matches_family=False, borrowed_from=near)
                break
        else:
            if fallback:
                suggestions[tier] = TierSuggestion(tier, fallback, matches_family=False)
    return {t: suggestions[t] for t in ("opus", "sonnet", "haiku") if t in suggestions}


# --- which mapped models the key's catalog lists -----------------------------------------------------------------


def models_not_in_catalog(tiers: TierMapping, catalog: Iterable[str]) -> dict[str, str]:
    """The mapped targets (tiers, main model, subagent model) whose model the catalog does not list: target → model.

    `catalog` is the model ids the gateway listed for the key. A `[1m]` suffix is ignored (Claude Code strips it
    before sending), and a Claude Code alias as the main or subagent model ("opus", "sonnet[1m]", "default"…) is
    left out: it resolves to a tier, which is checked itself. An empty catalog lists nothing, so every mapped model
    is returned; a caller without a catalog must not call this (there is nothing to check against).
    """
    ids = set(catalog)
    missing: dict[str, str] = {}
    for target in MAPPED_TARGETS:
        model = getattr(tiers, target)
        if not model:
            continue
        sent = strip_context_suffix(model)
        if sent in ids:
            continue
        if target in ("main_model", "subagent_model") and sent.lower() in CLAUDE_CODE_MODEL_ALIASES:
            continue
        missing[target] = model
    return missing

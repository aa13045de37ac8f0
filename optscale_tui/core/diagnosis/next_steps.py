"""What the user must still do after a save: the last steps of OptScale's "connect Claude Code" guide, made concrete.

The guide ends with: log out of claude.ai, restart Claude Code, run /model and check the configured models appear,
send a test prompt, then look at Traces in the OptScale AI Admin UI. Said after a save (the TUI's Review, `apply`)
and in the verification report, with what applies to this configuration: the names /model will list for each tier,
`claude auth logout` only when a claude.ai login is present, and where and when to look in Traces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from optscale_tui.core.connection import TierMapping

TRACES_WHERE = "OptScale AI Admin UI → Core Services → Traces"
TIER_LABELS = {"haiku": "Haiku", "sonnet": "Sonnet", "opus": "Opus"}


def model_picker_rows(tiers: TierMapping, display_names: Mapping[str, str] | None = None) -> list[str]:
    """What Claude Code's /model lists for each mapped tier: the label set with ANTHROPIC_DEFAULT_<TIER>_MODEL_NAME,
    or its own "Custom <Tier> model (<model id>)". An unmapped tier lists Claude Code's built-in model."""
    names = display_names or {}
    rows = []
    for tier in ("opus", "sonnet", "haiku"):
        model = getattr(tiers, tier)
        label = TIER_LABELS[tier]
        if not model:
            rows.append(f"{label}: Claude Code's built-in model (unmapped: the gateway will refuse it)")
        elif names.get(tier):
            rows.append(f"{label}: “{names[tier]}” ({model})")
        else:
            rows.append(f"{label}: “Custom {label} model ({model})”")
    return rows


def after_save_steps(tiers: TierMapping, display_names: Mapping[str, str] | None = None, *,
                     claude_login_present: bool = False) -> list[str]:
    """The numbered steps left after writing the settings, one line each (the /model rows indented below step 3)."""
    steps: list[str] = []
    if claude_login_present:
        steps.append("Run `claude auth logout`: a claude.ai login is present, and Claude Code warns about two "
                     "credentials while it is.")
    steps.append("Restart Claude Code: a running session read its settings when it started and keeps them.")
    steps.append("In Claude Code, run /model and check that it lists:")
    steps.extend(f"   {row}" for row in model_picker_rows(tiers, display_names))
    steps.append("Send a test prompt (or run `optscale-tui verify`), then find the request in "
                 f"{TRACES_WHERE}.")
    numbered, n = [], 0
    for step in steps:
        if step.startswith("   "):
            numbered.append(step)
        else:
            n += 1
            numbered.append(f"{n}. {step}")
    return numbered


def traces_window(finished: datetime, elapsed_ms: float, *, margin: timedelta = timedelta(minutes=1),
                  with_date: bool = True) -> str:
    """The time window to set in Traces for requests made during a run that ended at `finished` (UTC, minutes)."""
    start = (finished - timedelta(milliseconds=elapsed_ms) - margin).astimezone(UTC)
    end = (finished + margin).astimezone(UTC)
    day = f"{start:%Y-%m-%d} " if with_date else ""
    return f"{day}{start:%H:%M} – {end:%H:%M} UTC"


def traces_lines(request_ids: Iterable[str], finished: datetime, elapsed_ms: float) -> list[str]:
    """Where to look, when, and for which ids; [] without ids."""
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        return []
    return [f"Open {TRACES_WHERE}, set the time to {traces_window(finished, elapsed_ms)}, and search for the "
            f"request id{'s' if len(ids) != 1 else ''}: {', '.join(ids)}."]

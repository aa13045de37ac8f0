"""Display helpers shared by the views (presentation only; no product rules)."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path | str | None) -> str:
    """A path as the user thinks of it: `~/…` under the home folder."""
    if path is None:
        return ""
    path = Path(path)
    try:
        home = Path.home()
        return "~/" + str(path.relative_to(home)) if path != home else "~"
    except (ValueError, RuntimeError):
        return str(path)


# What each edited value is called on screen (core's SAVED_AS names); other settings keys show as their name.
VALUE_LABELS = {
    "url": "Base URL", "key": "API key", "haiku": "Haiku", "sonnet": "Sonnet", "opus": "Opus",
    "main_model": "Main model", "subagent_model": "Subagent model", "disable_experimental_betas": "Disable betas",
    "name.haiku": "Haiku name", "name.sonnet": "Sonnet name", "name.opus": "Opus name",
}


def changes_summary(changes, limit: int = 3, width: int = 40) -> str:
    """Planned changes (core's PlannedChange, secrets already masked) in a few words each, e.g.
    "Haiku → openai/gpt-5, API key → sk-bf-…1234, +2 more"."""
    from optscale_tui.core.clients.claude_code.schema import SAVED_AS

    names = {key: VALUE_LABELS.get(name, name) for name, key in SAVED_AS.items()}
    parts = []
    for change in changes[:limit]:
        label = names.get(change.key, change.key.removeprefix("env."))
        value = "removed" if change.new is None else str(change.new).replace("\n", "⏎")
        value = value if len(value) <= width else value[: width - 1] + "…"
        parts.append(f"{label} → {value}")
    if len(changes) > limit:
        parts.append(f"+{len(changes) - limit} more")
    return ", ".join(parts)


# The Models step's mapping targets: (tier or model setting, its name on screen, what an unset one shows).
TARGETS: tuple[tuple[str, str, str], ...] = (
    ("haiku", "Haiku", "— unmapped"),
    ("sonnet", "Sonnet", "— unmapped"),
    ("opus", "Opus", "— unmapped"),
    ("main_model", "Main model", "— not set (Opus)"),
    ("subagent_model", "Subagents", "— not set"),
)
LABELS = {target: label for target, label, _ in TARGETS}


def not_in_catalog_line(missing: dict[str, str]) -> str:
    """Core's `models_not_in_catalog` in one line (the Models pane and Review both say it)."""
    pairs = [f"{LABELS[t]} → {m}" for t, m in missing.items()]
    names = pairs[0] if len(pairs) == 1 else ", ".join(pairs[:-1]) + " and " + pairs[-1]
    verb, it = ("is", "it") if len(pairs) == 1 else ("are", "them")
    return f"! {names} {verb} not in this key's catalog: the gateway will refuse {it}."

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
    from optscale_tui.core.settings_file import SAVED_AS

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

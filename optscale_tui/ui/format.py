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

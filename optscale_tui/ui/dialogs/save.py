"""The question Review asks before it writes the settings file: what is written, the warnings that stand, and a
read-only file named as such (only a yes to that lets core rewrite it)."""

from __future__ import annotations

from collections.abc import Sequence

from optscale_tui.ui.dialogs.confirm import ConfirmScreen


def save_question(path: str, changes: str, warnings: Sequence[str], *, locked: bool) -> ConfirmScreen:
    """`path` as shown, `changes` the count in words ("3 settings change"), `locked` when the file is read-only."""
    body = "\n".join([*warnings, f"{changes}. A backup is made first; every other line of the file stays as it is."])
    if locked:
        body = (f"! {path} is read-only: someone may have locked it on purpose. Writing replaces it with a private "
                f"(0600) file.\n\n{body}")
    return ConfirmScreen(f"Rewrite read-only {path}?" if locked else f"Write {path}?", body,
                         yes="Rewrite" if locked else ("Write anyway" if warnings else "Write"), no="Cancel")

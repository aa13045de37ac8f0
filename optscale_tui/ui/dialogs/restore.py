"""The question Backups asks before it restores a backup: what happens to the current file, a read-only file named
as such, and the unsaved edits the restore loses (they are in no backup)."""

from __future__ import annotations

from optscale_tui.ui.dialogs.confirm import ConfirmScreen


def restore_question(backup: str, path: str, *, locked: bool, unsaved: str | None) -> ConfirmScreen:
    """`backup` and `path` as shown; `unsaved` the unsaved edits in a few words (None: there are none)."""
    body = (f"{path} gets this backup's content. The current file is backed up first, so this can be undone "
            "from this list.")
    if locked:
        body = f"! {path} is read-only: someone may have locked it on purpose.\n\n{body}"
    if unsaved is not None:
        body += f"\n\n! Your unsaved edits are lost (they are in no backup).\nUnsaved: {unsaved}"
    return ConfirmScreen(f"Restore {backup}?", body, yes="Restore", no="Cancel")

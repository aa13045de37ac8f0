"""Copying over OSC 52, and saying when the terminal in between will drop it.

`App.copy_to_clipboard` writes an OSC 52 sequence; the terminal the user sits at puts the text in its clipboard, also
over SSH. tmux passes an application's OSC 52 on only with `set-clipboard on`; its default, `external`, drops it
silently. A toast saying "Copied" would then be a lie, so inside tmux the option is read and the toast says what to do.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping

TMUX_FIX = "tmux passes copies on only with “set -g set-clipboard on” in ~/.tmux.conf"


def tmux_clipboard_problem(env: Mapping[str, str] | None = None,
                           run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """Why a copy will not reach the clipboard through tmux, or None (not in tmux, or tmux passes it on)."""
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return None
    try:
        answer = run(["tmux", "show-options", "-gv", "set-clipboard"], capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return f"Inside tmux, but its set-clipboard option could not be read: {TMUX_FIX}."
    value = answer.stdout.strip()
    if answer.returncode == 0 and value == "on":
        return None
    return f"{TMUX_FIX} (it is “{value or 'unknown'}” now)."

"""The commands this app runs to ask the OS about Desktop (`reg query`, `pgrep`, `tasklist`): one runner with a short
timeout, which tests replace by a function returning recorded output."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

CommandRunner = Callable[[list[str]], "str | None"]  # argv -> stdout; None when the command failed or is missing


def run_command(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None

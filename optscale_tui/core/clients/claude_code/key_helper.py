"""Claude Code's `apiKeyHelper`: a command in settings whose output is the gateway credential.

Claude Code runs it through the shell when no ANTHROPIC_AUTH_TOKEN / ANTHROPIC_API_KEY is in effect, and sends what
it prints (trimmed) as the key. We run it the same way to verify what Claude Code would send, with a deadline and a
cap on what we read. Its output is a secret: it is never shown, logged or put in an error; only whether it ran,
how it ended, and the masked key.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import ApiKey, InputError, parse_api_key

HELPER_TIMEOUT_S = 15.0
# A key is under a kilobyte; a helper printing more than this is not printing a key (and must not fill memory).
MAX_OUTPUT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class HelperOutcome:
    key: ApiKey | None
    cause: Cause | None = None
    message: str = ""  # plain words, never the helper's output


def run_api_key_helper(
    command: str,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = HELPER_TIMEOUT_S,
) -> HelperOutcome:
    """Run `command` as Claude Code does (through the shell) and read the key it prints."""
    shell = ["cmd", "/c", command] if sys.platform == "win32" else ["/bin/sh", "-c", command]
    try:
        proc = subprocess.Popen(
            shell, cwd=cwd, env=dict(os.environ if env is None else env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=sys.platform != "win32",
        )
    except OSError as exc:
        return HelperOutcome(None, Cause.API_KEY_HELPER_FAILED, f"The apiKeyHelper could not be started: {exc.strerror}.")
    output, ended = _read_bounded(proc, timeout)
    if not ended:
        _kill(proc)
        if len(output) > MAX_OUTPUT_BYTES:
            return HelperOutcome(None, Cause.API_KEY_HELPER_FAILED,
                                 f"The apiKeyHelper printed more than {MAX_OUTPUT_BYTES // 1024} KiB, which is not a key.")
        return HelperOutcome(None, Cause.API_KEY_HELPER_FAILED,
                             f"The apiKeyHelper did not finish within {timeout:g} s.")
    if proc.returncode != 0:
        return HelperOutcome(None, Cause.API_KEY_HELPER_FAILED,
                             f"The apiKeyHelper exited with code {proc.returncode} (its output is not shown: it may "
                             f"hold a secret).")
    text = output.decode("utf-8", errors="replace").strip()
    if not text:
        return HelperOutcome(None, Cause.API_KEY_HELPER_EMPTY, "The apiKeyHelper ran and printed nothing.")
    try:
        return HelperOutcome(parse_api_key(text))
    except InputError:
        return HelperOutcome(None, Cause.API_KEY_HELPER_FAILED,
                             "The apiKeyHelper printed something that cannot be sent as a key (spaces, line breaks "
                             "or control characters inside it).")


def _read_bounded(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bool]:
    """stdout until EOF and exit (True), or until the deadline or the size cap (False)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or size > MAX_OUTPUT_BYTES:
                return b"".join(chunks), False
            if not selector.select(left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    try:
        proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return b"".join(chunks), False
    return b"".join(chunks), True


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)  # the shell and whatever it started
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    if proc.stdout:
        proc.stdout.close()

"""`optscale-tui run --profile NAME -- claude …` (issue 13 §3): one Claude Code session through a profile, without
writing ~/.claude/settings.json.

How: a temporary settings file (0600, in a private 0700 directory) passed with Claude Code's `--settings FILE`.
Command-line settings win over local, project and user settings (only managed settings win over them), but `env`
blocks merge key by key across layers: a token left in the user file would still win over what the temporary file
does not set. So the file sets every connection key the profile has, and blanks ("") what a lower layer sets that
the profile does not: ANTHROPIC_API_KEY, ANTHROPIC_MODEL, a tier model (and its label) the profile leaves unmapped.

The file must stay while Claude Code runs (it re-reads settings files when they change), and must go when it exits:
- normally, and on SIGINT/SIGTERM to us (forwarded to Claude Code): removed in a `finally`;
- when we are killed outright (SIGKILL): a watchdog process removes it. It waits for end-of-file on a pipe whose
  only writer is us, which the kernel closes however we die. On Linux, Claude Code also gets PR_SET_PDEATHSIG
  (SIGTERM) so it does not run on without its settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from optscale_tui.core.clients.claude_code.models import TIERS
from optscale_tui.core.connection import ConnectionValues

TEMP_PREFIX = "optscale-tui-run-"
SETTINGS_NAME = "settings.json"

# Blanked in the temporary file when a lower layer sets it, whatever the profile holds: ANTHROPIC_API_KEY would be
# sent as x-api-key (and preferred in some versions) instead of the profile's token; ANTHROPIC_MODEL would win over
# the profile's main model (and over the default session following its Opus tier); ANTHROPIC_SMALL_FAST_MODEL (the
# deprecated name of the Haiku/background model) would send another gateway's model id.
BLANKED_WHEN_SET = ("ANTHROPIC_API_KEY", "ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL")
LABEL_SUFFIXES = ("_NAME", "_DESCRIPTION")  # a tier's /model label, which describes the model it was written for
# Every name whose lower-layer value session_settings needs: pass these (resolved without the temporary file).
LOWER_LAYER_NAMES = (*BLANKED_WHEN_SET, "CLAUDE_CODE_SUBAGENT_MODEL",
                     *(f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL{suffix}" for tier in TIERS
                       for suffix in ("", *LABEL_SUFFIXES)))

PRECEDENCE_NOTE = ("`optscale-tui run --profile NAME -- claude …` passes a temporary settings file with Claude Code's "
                   "--settings flag: it wins over local, project and user settings (only managed settings win over "
                   "it), and env blocks merge key by key, so that file sets the profile's URL, token and tier models "
                   "and blanks what another layer sets that the profile does not: ANTHROPIC_API_KEY, "
                   "ANTHROPIC_MODEL, the tier models it leaves unmapped, the subagent model. settings.json is not "
                   "written.")

# The watchdog: a separate interpreter, so it outlives us. argv[1] is the directory to remove.
_WATCHDOG = """
import os, shutil, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
try:
    sys.stdin.buffer.read()
except BaseException:
    pass
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


@dataclass(frozen=True)
class SessionSettings:
    """What the temporary file holds: `env` plus top-level keys (a profile's main model)."""

    env: dict[str, str]
    top_level: dict[str, str]

    def to_json(self) -> str:
        return json.dumps({**self.top_level, "env": self.env}, indent=2) + "\n"


def session_settings(values: ConnectionValues, lower_layers: Mapping[str, str | None]) -> SessionSettings:
    """The temporary settings for `values`. `lower_layers` maps env names to what the other layers resolve
    (None: unset), so keys they set that would undermine the profile are blanked."""
    env: dict[str, str] = {"ANTHROPIC_BASE_URL": values.url.anthropic_base}
    if values.key is not None:
        env["ANTHROPIC_AUTH_TOKEN"] = values.key.value
    for tier, model in values.tiers.mapped().items():
        env[f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL"] = model
    if values.tiers.subagent_model:
        env["CLAUDE_CODE_SUBAGENT_MODEL"] = values.tiers.subagent_model
    if values.disable_experimental_betas:
        env["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] = "1"
    for name in BLANKED_WHEN_SET:
        if lower_layers.get(name):
            env[name] = ""
    # What the profile leaves unmapped must not come from another layer (another gateway's model ids, which this
    # gateway would refuse), nor a label written for another model.
    for tier in TIERS:
        model_key = f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL"
        if model_key not in env and lower_layers.get(model_key):
            env[model_key] = ""
        same_model = env.get(model_key) == lower_layers.get(model_key)
        for label_key in (model_key + suffix for suffix in LABEL_SUFFIXES):
            if lower_layers.get(label_key) and not same_model:
                env[label_key] = ""
    if "CLAUDE_CODE_SUBAGENT_MODEL" not in env and lower_layers.get("CLAUDE_CODE_SUBAGENT_MODEL"):
        env["CLAUDE_CODE_SUBAGENT_MODEL"] = ""
    top = {"model": values.tiers.main_model} if values.tiers.main_model else {}
    return SessionSettings(env=env, top_level=top)


def _write_private_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the parent dies, so it does not run on without its file."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except Exception:  # not Linux / no prctl: the watchdog still removes the file
        pass


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode  # killed by signal N: 128+N, as a shell reports


def _we_own_the_terminal() -> bool:
    """True when we are the foreground process group of a terminal: a Ctrl-C there reaches Claude Code directly
    (same group), so forwarding it would deliver it twice (Claude Code's first Ctrl-C only clears its input)."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.isatty():
                return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
        except (OSError, ValueError):
            continue
    return False


def run_session(command: Sequence[str], settings: SessionSettings, *, env: Mapping[str, str] | None = None,
                temp_root: str | None = None) -> int:
    """Run `command` (the claude binary and its arguments) with `--settings FILE` inserted after the binary.
    Returns Claude Code's exit code. The temporary directory is gone when this returns (or we are killed)."""
    directory = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=temp_root))  # mkdtemp: mode 0700
    watchdog = None
    try:
        watchdog = subprocess.Popen([sys.executable, "-I", "-c", _WATCHDOG, str(directory)], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        settings_file = directory / SETTINGS_NAME
        _write_private_file(settings_file, settings.to_json())
        argv = [command[0], "--settings", str(settings_file), *command[1:]]
        child = subprocess.Popen(argv, env=dict(os.environ if env is None else env),
                                 preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)

        def forward(signum: int, _frame) -> None:
            if signum == signal.SIGINT and _we_own_the_terminal():
                return  # the terminal sent it to Claude Code too
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while True:
                try:
                    return _exit_code(child.wait())
                except InterruptedError:  # pragma: no cover - wait retries on EINTR itself since 3.5
                    continue
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if watchdog is not None and watchdog.stdin is not None:
            with contextlib.suppress(OSError):
                watchdog.stdin.close()  # it wakes, finds the directory gone, exits

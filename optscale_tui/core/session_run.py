"""`optscale-tui run --profile NAME -- claude …` (issue 13 §3): one Claude Code session through a profile, without
writing ~/.claude/settings.json.

How: a temporary settings file (0600, in a private 0700 directory) passed with Claude Code's `--settings FILE`.
Command-line settings win over local, project and user settings (only managed settings win over them), but `env`
blocks merge key by key across layers: a token left in the user file would still win over what the temporary file
does not set. So the file sets every connection key the profile has, and blanks ("") what a lower layer sets that
the profile does not: ANTHROPIC_API_KEY, ANTHROPIC_MODEL, a tier model (and its label) the profile leaves unmapped,
Fable's model; and it replaces a top-level `model` another layer sets (see _main_model).

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
from typing import TYPE_CHECKING

from optscale_tui.core.clients.claude_code.models import TIER_OF_ALIAS, TIERS
from optscale_tui.core.clients.claude_code.schema import LABEL_VARIABLES, MODEL_VARIABLES, SCHEMA, SETTING
from optscale_tui.core.connection import ConnectionValues

if TYPE_CHECKING:
    from optscale_tui.core.clients.claude_code.effective import EffectiveConfig

TEMP_PREFIX = "optscale-tui-run-"
SETTINGS_NAME = "settings.json"

# Blanked in the temporary file when a lower layer sets them, whatever the profile holds: the env keys Claude Code
# reads for the connection that a profile never sets and that belong to no tier. ANTHROPIC_API_KEY would be sent as
# x-api-key (and preferred in some versions) instead of the profile's token; ANTHROPIC_MODEL would win over the
# profile's main model (and over the default session following its Opus tier); ANTHROPIC_SMALL_FAST_MODEL (the
# deprecated name of the Haiku/background model) would send another gateway's model id.
BLANKED_WHEN_SET = tuple(row.key for row in SCHEMA if row.value is None and not row.top_level and row.tier is None)
MAIN_MODEL = SETTING["main_model"].key  # the top-level `model`
SUBAGENT_MODEL = SETTING["subagent_model"].key
# Every name whose lower-layer value session_settings needs (env names; MAIN_MODEL is a top-level key):
# lower_layer_values reads them from the configuration resolved without the temporary file.
LOWER_LAYER_NAMES = (*BLANKED_WHEN_SET, SUBAGENT_MODEL,
                     *(name for tier, key in MODEL_VARIABLES.items() for name in (key, *LABEL_VARIABLES[tier])))
LOWER_LAYER_SETTINGS = (MAIN_MODEL,)

PRECEDENCE_NOTE = ("`optscale-tui run --profile NAME -- claude …` passes a temporary settings file with Claude Code's "
                   "--settings flag: it wins over local, project and user settings (only managed settings win over "
                   "it), and env blocks merge key by key, so that file sets the profile's URL, token and tier models "
                   "and blanks what another layer sets that the profile does not: ANTHROPIC_API_KEY, "
                   "ANTHROPIC_MODEL, the tier models it leaves unmapped (Fable's too), the subagent model; a "
                   "top-level model another layer sets is replaced (\"model\": \"\" there wins over the user "
                   "file's). settings.json is not written.")

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


def lower_layer_values(effective: EffectiveConfig) -> dict[str, str | None]:
    """What session_settings needs of the other layers, as Claude Code resolves them (None: unset)."""
    return {**{name: effective.get(name) for name in LOWER_LAYER_NAMES},
            **{key: effective.setting(key) for key in LOWER_LAYER_SETTINGS}}


def session_settings(values: ConnectionValues, lower_layers: Mapping[str, str | None]) -> SessionSettings:
    """The temporary settings for `values`. `lower_layers` maps env names (and MAIN_MODEL) to what the other layers
    resolve (None: unset), so keys they set that would undermine the profile are blanked."""
    env: dict[str, str] = {SETTING["url"].key: values.url.anthropic_base}
    if values.key is not None:
        env[SETTING["key"].key] = values.key.value
    for tier, model in values.tiers.mapped().items():
        env[MODEL_VARIABLES[tier]] = model
    if values.tiers.subagent_model:
        env[SUBAGENT_MODEL] = values.tiers.subagent_model
    if values.disable_experimental_betas:
        env[SETTING["disable_experimental_betas"].key] = "1"
    for name in BLANKED_WHEN_SET:
        if lower_layers.get(name):
            env[name] = ""
    # What the profile leaves unmapped (Fable always) must not come from another layer (another gateway's model
    # ids, which this gateway would refuse), nor a label written for another model.
    for tier, model_key in MODEL_VARIABLES.items():
        if model_key not in env and lower_layers.get(model_key):
            env[model_key] = ""
        same_model = env.get(model_key) == lower_layers.get(model_key)
        for label_key in LABEL_VARIABLES[tier]:
            if lower_layers.get(label_key) and not same_model:
                env[label_key] = ""
    if SUBAGENT_MODEL not in env and lower_layers.get(SUBAGENT_MODEL):
        env[SUBAGENT_MODEL] = ""
    main = _main_model(values, lower_layers.get(MAIN_MODEL))
    return SessionSettings(env=env, top_level={} if main is None else {MAIN_MODEL: main})


def _main_model(values: ConnectionValues, lower: str | None) -> str | None:
    """The temporary file's top-level `model`: the profile's main model; else, when a lower layer sets one that
    would not reach the profile's gateway models (another gateway's id, an alias of a tier the profile leaves
    unmapped), what replaces it; None: leave the key out.

    Measured with Claude Code 2.1.332: `"model": ""` in the --settings file wins over the user file's `model`, and
    the session falls back to the default, which follows the Opus tier (`null` is ignored: the lower `model` stays).
    Without an Opus tier that default is the built-in claude-opus-*, which the gateway refuses, so the alias of the
    profile's Sonnet (else Haiku) tier takes its place: Claude Code resolves it to that tier's gateway model."""
    if values.tiers.main_model:
        return values.tiers.main_model
    mapped = values.tiers.mapped()
    if not lower or TIER_OF_ALIAS.get(lower) in mapped:
        return None  # nothing below, or an alias (`/model` writes one) that resolves to one of the profile's tiers
    fallback = next((tier for tier in reversed(TIERS) if tier in mapped), None)  # opus, sonnet, haiku
    return "" if fallback in (None, "opus") else fallback


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

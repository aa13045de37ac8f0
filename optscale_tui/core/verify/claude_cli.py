"""The user's own `claude` CLI, as the real-client check runs it: where it is, the environment, folder and flags it
runs with, and what its verdict means (`ClaudeRun`, `classify_run`). The process itself is `claude_process.py`.

Claude Code hides most gateway failures behind generic texts ("issue with the selected model", "Not logged in")
and, by default, retries for about three minutes. Run with CLAUDE_CODE_MAX_RETRIES=0 and stream-json output it
answers in about a second, and its events (init, api_retry, result) carry the HTTP status and the message, which
map onto the same cause ids as the direct probes. Measured with Claude Code 2.1.332.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optscale_tui.core.causes import Cause
from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.files import read_regular_file
from optscale_tui.core.secrets import clean_outside_text

INSTALL_HINT = "npm install -g @anthropic-ai/claude-code"
CLAUDE_BIN_ENV = "OPTSCALE_TUI_CLAUDE_BIN"
DEFAULT_PROMPT = "Reply with one short sentence: the connection from Claude Code works."
# Variables that exist only because optscale-tui (or its venv, or its tests) is running; the user's own shell
# would not have them, so the real client must not see them either.
_OUR_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_CURRENT_TEST", "PYTEST_VERSION",
                  "COLUMNS", "LINES", "TEXTUAL", "TEXTUAL_DRIVER")
_OUR_PREFIXES = ("OPTSCALE_TUI_",)


def find_claude(env: Mapping[str, str] | None = None) -> Path | None:
    """The `claude` executable: $OPTSCALE_TUI_CLAUDE_BIN if set and present, else the one on PATH."""
    env = os.environ if env is None else env
    configured = (env.get(CLAUDE_BIN_ENV) or "").strip()
    if configured:
        path = Path(configured).expanduser()
        return path if path.exists() and os.access(path, os.X_OK) else None
    found = shutil.which("claude", path=env.get("PATH"))
    return Path(found) if found else None


def claude_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The user's environment as Claude Code would see it, plus the two knobs that make the check fast and
    private: no retries (a verdict in ~1 s, not ~3 min) and no traffic to anyone but the gateway."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if k not in _OUR_VARIABLES and not k.startswith(_OUR_PREFIXES)
    }
    env["CLAUDE_CODE_MAX_RETRIES"] = "0"
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    env.setdefault("TERM", "dumb")
    return env


@dataclass
class ClaudeRun:
    """What one `claude -p` run told us."""

    alias: str | None  # None: the default session (no --model)
    exit_code: int | None = None
    timed_out: bool = False
    version: str | None = None
    model: str | None = None  # as the init event reports it
    api_key_source: str | None = None
    retries: list[int | None] = field(default_factory=list)  # error_status of each api_retry
    is_error: bool | None = None
    api_error_status: int | None = None
    result: str = ""
    text: str = ""
    duration_ms: float = 0.0
    ttft_ms: float | None = None
    stderr_tail: str = ""
    spawn_error: str | None = None

    @property
    def ok(self) -> bool:
        # One session answers every tier, so its exit code says whether any of them failed: each prompt's own
        # verdict is its result event.
        return self.is_error is False and not self.timed_out and self.spawn_error is None

    @property
    def label(self) -> str:
        return f"--model {self.alias}" if self.alias else "default session"


_TLS_PATTERNS = (
    (re.compile(r"expired", re.I), Cause.TLS_EXPIRED),
    (re.compile(r"hostname mismatch|altnames|does not match certificate", re.I), Cause.TLS_HOSTNAME),
    (re.compile(r"certificate|UNABLE_TO_VERIFY|SELF_SIGNED|self.signed|CERT_", re.I), Cause.TLS_UNTRUSTED),
)


def classify_run(run: ClaudeRun, *, builtin_models: tuple[str, ...] = ()) -> Cause | None:
    """Map Claude Code's outcome onto our cause ids (None when it succeeded)."""
    if run.ok:
        return None
    if run.timed_out:
        return Cause.TIMEOUT
    text = run.result or run.stderr_tail
    status = run.api_error_status or next((s for s in reversed(run.retries) if s), None)
    if status is None:
        lowered = text.lower()
        if "econnrefused" in lowered or "connection refused" in lowered:
            return Cause.CONNECT
        if "enotfound" in lowered or "getaddrinfo" in lowered or "dns" in lowered:
            return Cause.DNS
        if "timed out" in lowered or "timeout" in lowered or "etimedout" in lowered:
            return Cause.TIMEOUT
        for pattern, cause in _TLS_PATTERNS:
            if pattern.search(text):
                return cause
        if "not logged in" in lowered:
            return Cause.AUTH_INVALID_KEY
        if "socket" in lowered or "unable to connect" in lowered:
            return Cause.CONNECT
        return Cause.BAD_RESPONSE
    if status == 404:
        model = (run.model or "").removesuffix("[1m]")
        if model and model in builtin_models:
            return Cause.TIER_UNMAPPED
        # Claude Code prints the same text for an unknown model and a wrong path; the direct probes tell them apart.
        return Cause.MODEL_UNKNOWN
    from optscale_tui.core.gateway.errors import classify_http_error

    message = re.sub(r"^.*?API Error: (\d{3} )?", "", text)
    return classify_http_error(status, json.dumps({"error": {"message": message}}), "application/json",
                               path_kind="messages")


def scrub(text: str, secrets: tuple[str, ...], *, single_line: bool = False) -> str:
    """Claude Code's words as they may be shown or saved: no escape sequence or control character (it relays the
    gateway's), the key and anything shaped like one masked."""
    return clean_outside_text(text, secrets, single_line=single_line)


def scrub_run(run: ClaudeRun, secrets: tuple[str, ...]) -> None:
    """Everything a run keeps of Claude Code's output, as it may be shown, reported or saved."""
    run.result = scrub(run.result, secrets)
    run.text = scrub(run.text, secrets)
    run.model = scrub(run.model, secrets, single_line=True) if run.model else run.model


# --- the folder and the flags the check runs `claude` with ----------------------------------------------------

# What the check copies from the project's .claude/settings.json and settings.local.json: only what decides the
# connection (where requests go, with which credential, for which model, through which proxy and trust). Everything
# else stays behind: `hooks`, `statusLine`, `apiKeyHelper`, `otelHeadersHelper`, `awsAuthRefresh`… are commands a
# cloned repository could use to run code on this machine, and `permissions`, MCP and plugin settings change what
# the session may do, not where it connects. (A key that comes from the folder's own apiKeyHelper therefore cannot
# be checked this way: `real_client` skips the check then and says so. The user's own helper, in ~/.claude, is read
# by Claude Code from there as usual.)
CONNECTION_TOP_LEVEL_KEYS = ("model", "forceLoginMethod", "forceLoginOrgUUID")
CONNECTION_ENV_PREFIXES = ("ANTHROPIC_",)
CONNECTION_ENV_KEYS = frozenset({
    "CLAUDE_CODE_SUBAGENT_MODEL", "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS", "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX", "API_TIMEOUT_MS", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
    "NO_PROXY", "no_proxy", "NODE_EXTRA_CA_CERTS", "NODE_TLS_REJECT_UNAUTHORIZED",
})
# Settings given with --settings, which Claude Code ranks above user, project and local settings (below managed
# ones): no hook of any layer runs, no auto-memory folder is made, and no settings file can undo the two knobs that
# make the verdict fast and private (a settings env beats the process env, measured with 2.1.332).
CHECK_SETTINGS = {
    "disableAllHooks": True,
    "autoMemoryEnabled": False,
    "env": {"CLAUDE_CODE_MAX_RETRIES": "0", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"},
}
# --no-session-persistence: no transcript in ~/.claude/projects (the user's `claude --resume` list stays clean).
# --safe-mode: no CLAUDE.md, skills, plugins, hooks or MCP servers of the user or the project start (managed ones
# still apply); auth, model selection and settings env work as in a normal session. Both measured with 2.1.332.
SESSION_FLAGS = ("--no-session-persistence", "--safe-mode")


def connection_settings(data: object) -> dict[str, Any] | None:
    """The part of one settings file that decides the connection (None when nothing is left)."""
    if not isinstance(data, dict):
        return None
    kept: dict[str, Any] = {k: data[k] for k in CONNECTION_TOP_LEVEL_KEYS if k in data}
    env = data.get("env")
    if isinstance(env, dict):
        env = {k: v for k, v in env.items()
               if isinstance(k, str) and (k in CONNECTION_ENV_KEYS or k.startswith(CONNECTION_ENV_PREFIXES))}
        if env:
            kept["env"] = env
    return kept or None


def prepare_workdir(cwd: Path) -> Path:
    """A temporary working folder carrying the connection settings of the project's own .claude files (they
    override the user file), so the run sees what a session in `cwd` would connect with, without the project's
    hooks or other commands, and without leaving session files in the user's project. A file that does not parse
    is left out, as Claude Code ignores it too."""
    work = Path(tempfile.mkdtemp(prefix="optscale-tui-claude-"))
    source = cwd / ".claude"
    for name in ("settings.json", "settings.local.json"):
        try:  # bounded, and never a FIFO or device (read_regular_file refuses them without opening them)
            raw = read_regular_file(source / name)
            if raw is None:
                continue
            data = json.loads(raw.decode("utf-8-sig"))
        except (SettingsError, ValueError, RecursionError):
            continue
        kept = connection_settings(data)
        if kept is None:
            continue
        (work / ".claude").mkdir(exist_ok=True, mode=0o700)
        fd = os.open(work / ".claude" / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # may hold a key
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(kept, out)
    return work


def session_args(binary: Path) -> list[str]:
    """One `claude -p` that answers several prompts (stream-json in and out), each tier switched with set_model."""
    return [str(binary), "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
            "--include-partial-messages", *SESSION_FLAGS, "--settings", json.dumps(CHECK_SETTINGS)]

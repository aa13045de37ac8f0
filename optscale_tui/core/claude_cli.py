"""The real-client check: run the user's own `claude` CLI against the settings in effect and read its verdict.

Claude Code hides most gateway failures behind generic texts ("issue with the selected model", "Not logged in")
and, by default, retries for about three minutes. Run with CLAUDE_CODE_MAX_RETRIES=0 and stream-json output it
answers in about a second, and its events (init, api_retry, result) carry the HTTP status and the message, which
map onto the same cause ids as the direct probes. Measured with Claude Code 2.1.332.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optscale_tui.core.causes import Cause
from optscale_tui.core.doctor import FOLDER_LAYERS, shown_origin, url_origin
from optscale_tui.core.secrets import OutsideTextStream, clean_outside_text
from optscale_tui.core.settings_file import SettingsError, read_regular_file

if TYPE_CHECKING:
    from optscale_tui.core.verify import CheckResult, CheckSpec, VerificationEvent, VerificationTarget

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
    from optscale_tui.core.gateway import classify_http_error

    message = re.sub(r"^.*?API Error: (\d{3} )?", "", text)
    return classify_http_error(status, json.dumps({"error": {"message": message}}), "application/json",
                               path_kind="messages")


def _scrub(text: str, secrets: tuple[str, ...], *, single_line: bool = False) -> str:
    """Claude Code's words as they may be shown or saved: no escape sequence or control character (it relays the
    gateway's), the key and anything shaped like one masked."""
    return clean_outside_text(text, secrets, single_line=single_line)


def _scrub_run(run: ClaudeRun, secrets: tuple[str, ...]) -> None:
    """Everything a run keeps of Claude Code's output, as it may be shown, reported or saved."""
    run.result = _scrub(run.result, secrets)
    run.text = _scrub(run.text, secrets)
    run.model = _scrub(run.model, secrets, single_line=True) if run.model else run.model


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


@dataclass
class ClaudeSession:
    """What one `claude` session told us: a run per alias, and the ANTHROPIC_BASE_URL Claude Code resolved."""

    runs: dict[str | None, ClaudeRun]
    seen_url: str = ""
    # Set when the session was stopped before any prompt because Claude Code resolved another host than the one
    # verified (the key would have gone there): the host it resolved.
    blocked_host: str | None = None


class _Turn:
    """Routes the events of one prompt and says when it ended."""

    def __init__(self, run: ClaudeRun) -> None:
        self.run = run
        self.started = time.perf_counter()
        self.done = asyncio.Event()


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a background future's outcome as seen (it was cancelled or failed on purpose)."""
    if not future.cancelled():
        future.exception()


class ClaudeProcess:
    """One `claude` session process, in three steps: `start` (spawn it and ask which settings it resolved: then it
    has finished starting and waits, idle, for a prompt), `converse` (one prompt per alias) and `close` (let it exit,
    clean up). `run_session` does all three; the verification engine starts it early (see `RealClient`)."""

    def __init__(self, binary: Path, aliases: tuple[str | None, ...], *, cwd: Path,
                 env: Mapping[str, str] | None = None, prompt: str = DEFAULT_PROMPT,
                 on_event: Callable[[str | None, str, dict[str, Any]], None] | None = None,
                 secrets: tuple[str, ...] = (), expected_url: str | None = None) -> None:
        self.binary, self.aliases, self.cwd, self.prompt = binary, aliases, cwd, prompt
        self.on_event, self.secrets, self.expected_url = on_event, secrets, expected_url
        self.env = claude_env(env)
        self.session = ClaudeSession({alias: ClaudeRun(alias=alias) for alias in aliases})
        self.started = 0.0
        self.ready = False  # answered get_settings (and did not resolve another host)
        self.conversed = False  # every prompt asked and answered (or the process is gone): only exiting is left
        self.startup_ms = 0.0  # from spawning to answering get_settings
        self._work: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Future[Any] | None = None
        self._turn: _Turn | None = None
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._closed = False
        self._starting: asyncio.Future[None] | None = None
        self._spawning: asyncio.Future[None] | None = None
        # Set when a prompt has its verdict (answered, or the session is over without it).
        self.answered = {alias: asyncio.Event() for alias in aliases}

    # --- plumbing -------------------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(message) + "\n").encode())

    async def _control(self, request_id: str, request: dict[str, Any]) -> dict[str, Any]:
        reply = self._replies[request_id] = asyncio.get_running_loop().create_future()
        self._send({"type": "control_request", "request_id": request_id, "request": request})
        assert self._proc is not None and self._proc.stdin is not None
        await self._proc.stdin.drain()
        return await self._wait(reply)

    async def _wait(self, awaitable: Awaitable[Any]) -> Any:
        """Wait for `awaitable` unless Claude Code exits first (then raise EOFError: what it said is in stderr)."""
        assert self._reader is not None
        task = asyncio.ensure_future(awaitable)
        await asyncio.wait({task, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            raise EOFError
        return task.result()

    def _forward(self, kind: str, event: dict[str, Any]) -> None:
        turn = self._turn
        if self.on_event is not None and turn is not None:
            self.on_event(turn.run.alias, kind, event)

    async def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("type") == "control_response":
                response = event.get("response") or {}
                reply = self._replies.get(str(response.get("request_id")))
                if reply is not None and not reply.done():
                    reply.set_result(response)  # get_settings' holds the key: the URL is read, nothing is kept
                continue
            turn = self._turn
            if turn is None:
                continue
            _absorb(turn.run, event, turn.started, self._forward)
            if event.get("type") == "result":
                turn.done.set()

    async def _read_stderr(self) -> bytes:
        assert self._proc is not None and self._proc.stderr is not None
        return await self._proc.stderr.read()

    async def _ask(self, text: str, run: ClaudeRun, *, since: float | None = None) -> None:
        turn = self._turn = _Turn(run)
        if since is not None:
            turn.started = since
        self._send({"type": "user", "message": {"role": "user", "content": text}, "parent_tool_use_id": None,
                    "session_id": ""})
        assert self._proc is not None and self._proc.stdin is not None
        await self._proc.stdin.drain()
        await self._wait(turn.done.wait())
        run.duration_ms = (time.perf_counter() - turn.started) * 1000
        _scrub_run(run, self.secrets)
        self.answered[run.alias].set()  # its check can finish now, before the later tiers are asked

    # --- the three steps ------------------------------------------------------------------------------------

    def begin(self) -> asyncio.Future[None]:
        """`start`, once, however many callers ask (the warm-up and the checks share it)."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self.start())
        return self._starting

    async def run(self, timeout: float) -> ClaudeSession:
        """start (unless begun already), converse and close, all within `timeout` s."""
        try:
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self.begin())
                    await self.converse()
            except TimeoutError:
                unanswered = [run for run in self.session.runs.values() if run.is_error is None]
                if unanswered:
                    unanswered[0].timed_out = True
                return await self.close(grace=1.0)  # it is stuck on a request: a short grace, then killed
        except BaseException:  # cancelled: end it now, then still clean up below
            self.kill()
            await self.close(grace=1.0)
            raise
        return await self.close()

    def launch(self) -> asyncio.Future[None]:
        """`spawn`, once: done as soon as the process runs (its start-up then goes on while the caller works)."""
        if self._spawning is None:
            self._spawning = asyncio.ensure_future(self.spawn())
        return self._spawning

    async def spawn(self) -> None:
        self._work = prepare_workdir(self.cwd)
        self.started = time.perf_counter()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *session_args(self.binary), cwd=self._work, env=self.env, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
                limit=16 * 1024 * 1024,
            )
        except OSError as exc:
            for run in self.session.runs.values():
                run.spawn_error = f"could not start {self.binary}: {exc.strerror or exc}"
            return
        self._reader = asyncio.ensure_future(asyncio.gather(self._read_stdout(), self._read_stderr()))

    async def start(self) -> None:
        """Spawn Claude Code (unless launched already) and ask which ANTHROPIC_BASE_URL it resolved. When that goes
        to another host than `expected_url`, nothing more is asked (`session.blocked_host`): no prompt, so no key,
        is ever sent."""
        await asyncio.shield(self.launch())
        if self._proc is None:
            return  # could not be started: spawn_error says why
        try:
            response = await self._control("settings", {"subtype": "get_settings"})
        except (EOFError, OSError, ConnectionError):
            return  # it exited: close() collects what it said
        effective = (response.get("response") or {}).get("effective") or {}
        effective_env = effective.get("env") if isinstance(effective.get("env"), dict) else {}
        if response.get("subtype") == "success":
            # A settings env beats the process env; without either Claude Code talks to Anthropic's API.
            seen = effective_env.get("ANTHROPIC_BASE_URL", self.env.get("ANTHROPIC_BASE_URL", ""))
            self.session.seen_url = str(seen or "")
            if self.expected_url is not None and url_origin(self.session.seen_url) != url_origin(self.expected_url):
                origin = url_origin(self.session.seen_url)
                self.session.blocked_host = shown_origin(origin) if origin else self.session.seen_url
                return
        self.ready = True
        self.startup_ms = (time.perf_counter() - self.started) * 1000

    async def converse(self) -> None:
        """One prompt per alias: the default session first, then `set_model` per tier, continuing the
        conversation as `/model` does in a session. (A /clear before each tier, for a fresh conversation as a new
        `claude -p` has, cost about 50 ms of CPU each, measured with 2.1.332: a sixth of the whole check.)"""
        if not self.ready:
            return
        try:
            for index, alias in enumerate(self.aliases):
                run = self.session.runs[alias]
                if alias is not None:
                    await self._control(f"model-{index}", {"subtype": "set_model", "model": alias})
                # The default session's figures include Claude Code's start-up, as a plain `claude -p` shows them
                # (not the time it then waited for the direct probes); the tiers asked after it count from their
                # own prompt.
                since = None if index else time.perf_counter() - self.startup_ms / 1000
                await self._ask(self.prompt, run, since=since)
        except (EOFError, OSError, ConnectionError):
            pass  # it exited: close() collects what it said
        finally:
            self.conversed = True

    async def close(self, *, grace: float = 10.0) -> ClaudeSession:
        """Let Claude Code exit (end of input; killed after `grace` s) and fill in what it said on stderr."""
        if self._closed:
            return self.session
        self._closed = True
        for step in (self._starting, self._spawning):
            if step is not None and not step.done():
                step.cancel()
                with contextlib.suppress(BaseException):
                    await step
        proc, reader = self._proc, self._reader
        try:
            if proc is not None and reader is not None:
                if proc.stdin is not None and not proc.stdin.is_closing():
                    proc.stdin.close()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(grace):
                        await asyncio.wait({reader})
                        await proc.wait()
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    with contextlib.suppress(Exception):
                        await proc.wait()
                err = b""
                if reader.done():
                    with contextlib.suppress(BaseException):
                        _, err = reader.result()
                else:
                    reader.cancel()
                    with contextlib.suppress(BaseException):
                        await reader
                tail = _scrub(err.decode(errors="replace")[-2000:], self.secrets)
                for run in self.session.runs.values():
                    run.exit_code = proc.returncode
                    run.stderr_tail = tail
            for run in self.session.runs.values():
                _scrub_run(run, self.secrets)
                if not run.duration_ms:
                    run.duration_ms = (time.perf_counter() - self.started) * 1000
        finally:
            if proc is not None and proc.returncode is None:  # cut short (cancelled): never leave it running
                self.kill()
            if reader is not None and not reader.done():
                reader.cancel()
            if reader is not None:
                reader.add_done_callback(_retrieve)
            if self._work is not None:
                shutil.rmtree(self._work, ignore_errors=True)
            for answered in self.answered.values():
                answered.set()
        return self.session

    def kill(self) -> None:
        """End it at once (the run was cancelled): no waiting, for use in a `finally`."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)


async def run_session(
    binary: Path,
    aliases: tuple[str | None, ...],
    *,
    prompt: str = DEFAULT_PROMPT,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    on_event: Callable[[str | None, str, dict[str, Any]], None] | None = None,
    secrets: tuple[str, ...] = (),
    expected_url: str | None = None,
) -> ClaudeSession:
    """Ask Claude Code once per alias in one process (see `ClaudeProcess`): one start-up instead of one per tier.
    `on_event(alias, kind, event)` gets "init", "retry", "text" (event["text"] is a streamed piece of the reply) and
    "result" as they come. `timeout` bounds the whole session."""
    process = ClaudeProcess(binary, aliases, cwd=cwd, env=env, prompt=prompt, on_event=on_event, secrets=secrets,
                            expected_url=expected_url)
    return await process.run(timeout)


def _absorb(run: ClaudeRun, event: dict[str, Any], started: float,
            on_event: Callable[[str, dict[str, Any]], None] | None) -> None:
    kind = event.get("type")
    if kind == "system" and event.get("subtype") == "init":
        run.model = event.get("model")
        run.api_key_source = event.get("apiKeySource")
        run.version = event.get("claude_code_version")
        if on_event:
            on_event("init", event)
    elif kind == "system" and event.get("subtype") == "api_retry":
        run.retries.append(event.get("error_status"))
        if on_event:
            on_event("retry", event)
    elif kind == "stream_event":
        inner = event.get("event") or {}
        delta = inner.get("delta") or {}
        if inner.get("type") == "content_block_delta" and delta.get("type") == "text_delta" and delta.get("text"):
            if run.ttft_ms is None:
                run.ttft_ms = (time.perf_counter() - started) * 1000
            run.text += delta["text"]
            if on_event:
                on_event("text", {"text": delta["text"]})
    elif kind == "result":
        run.is_error = bool(event.get("is_error"))
        run.api_error_status = event.get("api_error_status")
        run.result = str(event.get("result") or "")
        if on_event:
            on_event("result", event)


# --- the check, plugged into the verification engine -------------------------------------------------------


CheckFactory = Callable[[Callable[["VerificationEvent"], None]], Awaitable["CheckResult"]]


@dataclass
class RealClient:
    """The real-client check for a verification: its checks (`VerifyOptions.extra_checks`) and the session they
    share (`VerifyOptions.extra_session`: the engine `launch`es it as the run starts, so Claude Code starts while
    the run sets itself up, and waits until it is `ready` (then idle) before timing the direct probes; then
    `close`s it when the run ends)."""

    checks: list[tuple[CheckSpec, CheckFactory]]
    process: ClaudeProcess | None = None
    timeout: float = 60.0
    _session: asyncio.Future[ClaudeSession] | None = None

    async def launch(self) -> None:
        if self.process is not None:
            await asyncio.shield(self.process.launch())

    async def ready(self) -> None:
        if self.process is not None:
            await asyncio.shield(self.process.begin())

    def session(self) -> asyncio.Future[ClaudeSession]:
        assert self.process is not None
        if self._session is None:
            self._session = asyncio.ensure_future(self.process.run(self.timeout))
        return self._session

    async def close(self) -> None:
        """End a session the checks never used (e.g. the gateway was unreachable), or one cut short."""
        if self.process is None:
            return
        if self._session is not None and not self._session.done():
            self._session.add_done_callback(_retrieve)
            if not self.process.conversed:  # the run was cancelled: stop it now (else only its exit is left,
                self._session.cancel()      # and it gets to write its state and end by itself)
            await asyncio.wait({self._session})
        await self.process.close(grace=2.0)


def real_client(
    target: VerificationTarget,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    binary: Path | None = None,
    only: frozenset[str] | None = None,
) -> RealClient:
    """Checks that run the real `claude` for the default session and for each other mapped tier.

    The default session follows the Opus tier (or Claude Code's built-in name when it is unmapped), so it stands
    for Opus; Haiku and Sonnet are asked after it with `set_model haiku|sonnet` (what `--model haiku|sonnet` does).
    All of them share one `claude` process (see `ClaudeProcess`): the check costs one start-up of Claude Code, not
    one per tier plus `claude auth status` (measured: 2.7× one `claude -p` with one process per tier, 2.5× with a
    shared one, on two loaded cores). `only` (the check ids a re-run asks for) limits the prompts to those.
    """
    from optscale_tui.core.doctor import CLAUDE_CODE_BUILTIN_MODELS
    from optscale_tui.core.verify import CheckProgress, CheckResult, CheckSpec, CheckStatus, TokenChunk

    binary = binary or find_claude(env)
    if binary is None:
        spec = CheckSpec("claude", "Claude Code itself (real client)")

        async def skipped(_emit: Callable[[VerificationEvent], None]) -> CheckResult:
            return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                               "The claude CLI is not installed, so the real-client check was skipped.",
                               f"Install it to add this check: {INSTALL_HINT}")

        return RealClient([(spec, skipped)])

    helper = target.config.top_level.get("apiKeyHelper") if target.config else None
    if target.key_source.startswith("apiKeyHelper") and helper is not None and helper.source in FOLDER_LAYERS:
        # The check copies no command from the folder (see CONNECTION_TOP_LEVEL_KEYS), so without this helper Claude
        # Code would have no key here: a failure that says nothing about the gateway.
        spec = CheckSpec("claude", "Claude Code itself (real client)")

        async def helper_skipped(_emit: Callable[[VerificationEvent], None]) -> CheckResult:
            return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                               f"The key comes from the apiKeyHelper in {helper.where}; the real-client check runs no "
                               "command from the working folder, so it was skipped.",
                               "To add this check, save the key as ANTHROPIC_AUTH_TOKEN (or the helper in your user "
                               "settings).")

        return RealClient([(spec, helper_skipped)])

    mapped = target.tiers.mapped()
    aliases: tuple[str | None, ...] = (None, *(t for t in ("haiku", "sonnet") if t in mapped))
    if only is not None:  # a re-run of some checks (VerifyOptions.only): ask Claude Code only what they need
        aliases = tuple(a for a in aliases if f"claude.{a or 'default'}" in only)
    builtin = tuple(CLAUDE_CODE_BUILTIN_MODELS.values())
    specs = {alias: CheckSpec(f"claude.{alias or 'default'}",
                              f"Claude Code itself ({f'--model {alias}' if alias else 'default session'})",
                              alias or "opus", mapped.get(alias or "opus"))
             for alias in aliases}
    elsewhere = next((f for f in (target.config.findings if target.config else ())
                      if f.cause is Cause.KEY_SENT_ELSEWHERE), None)
    emitters: dict[str | None, Callable[[VerificationEvent], None]] = {}
    secrets = (target.key.value,) if target.key else ()
    # Each tier's streamed reply, cleaned piece by piece (a key split across pieces included).
    replies = {alias: OutsideTextStream(secrets) for alias in aliases}

    def on_event(alias: str | None, kind: str, event: dict[str, Any]) -> None:
        emit, check_id = emitters.get(alias), specs[alias].id
        if emit is None:
            return
        if kind == "init":
            emit(CheckProgress(check_id, _scrub(f"Claude Code {event.get('claude_code_version', '?')}: model "
                                                f"{event.get('model')}, apiKeySource {event.get('apiKeySource')}",
                                                secrets, single_line=True)))
        elif kind == "retry":
            emit(CheckProgress(check_id, _scrub(f"api_retry: HTTP {event.get('error_status')} ({event.get('error')})",
                                                secrets, single_line=True)))
        elif kind == "text" and (shown := replies[alias].feed(str(event["text"]))):
            emit(TokenChunk(check_id, shown))

    # Never start Claude Code with settings that would send the key to another host (or for nothing).
    process = None if elsewhere is not None or not aliases else ClaudeProcess(
        binary, aliases, cwd=cwd, env=env, on_event=on_event, secrets=secrets,
        expected_url=target.url.anthropic_base if target.url else None)
    client = RealClient([], process, timeout)

    async def check(emit: Callable[[VerificationEvent], None], alias: str | None) -> CheckResult:
        spec = specs[alias]
        if elsewhere is not None:
            return CheckResult(spec.id, spec.title, CheckStatus.FAIL, Cause.KEY_SENT_ELSEWHERE,
                               f"Not run: {elsewhere.message}", elsewhere.fix, tier=spec.tier, model=spec.model)
        emitters[alias] = emit
        # Shielded: one check's timeout must not end the session the other tiers are waiting for.
        session = asyncio.shield(client.session())
        assert client.process is not None
        answered = asyncio.ensure_future(client.process.answered[alias].wait())
        await asyncio.wait({session, answered}, return_when=asyncio.FIRST_COMPLETED)
        answered.cancel()
        if tail := replies[alias].flush():
            emit(TokenChunk(spec.id, tail))
        return _session_result(client.process.session, alias, spec, timeout, builtin)

    def factory(emit: Callable[[VerificationEvent], None], *, alias: str | None) -> Awaitable[CheckResult]:
        return check(emit, alias)

    client.checks = [(specs[alias], functools.partial(factory, alias=alias)) for alias in aliases]
    return client


def real_client_checks(target: VerificationTarget, **kwargs: Any) -> list[tuple[CheckSpec, CheckFactory]]:
    """`real_client(…).checks`: the session then starts when the first check runs (no warm-up)."""
    return real_client(target, **kwargs).checks


def _session_result(session: ClaudeSession, alias: str | None, spec: CheckSpec, timeout: float,
                    builtin: tuple[str, ...]) -> CheckResult:
    from optscale_tui.core.causes import describe
    from optscale_tui.core.verify import CheckResult, CheckStatus

    run = session.runs[alias]
    seen_url = clean_outside_text(session.seen_url, single_line=True)  # Claude Code's words: shown as any
    timings = {"total_ms": round(run.duration_ms, 1),
               "ttft_ms": round(run.ttft_ms, 1) if run.ttft_ms is not None else None}
    if run.spawn_error:
        return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None, run.spawn_error,
                           f"Reinstall the CLI: {INSTALL_HINT}", timings)
    if session.blocked_host is not None:
        info = describe(Cause.KEY_SENT_ELSEWHERE)
        return CheckResult(spec.id, spec.title, CheckStatus.FAIL, Cause.KEY_SENT_ELSEWHERE,
                           f"Not asked: Claude Code resolves ANTHROPIC_BASE_URL={seen_url or '(none)'}, so it would "
                           f"send your key to {clean_outside_text(session.blocked_host, single_line=True)}, not to the gateway verified here. No prompt "
                           f"was sent.", info.fix, tier=spec.tier, model=spec.model)
    unsupported = _UNKNOWN_OPTION.search(run.stderr_tail)
    if run.is_error is None and unsupported:
        return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                           f"This claude does not know {unsupported.group(1)}, which the check needs to run it "
                           f"without hooks or session files; the real-client check was skipped.",
                           f"Update Claude Code to add this check: {INSTALL_HINT}", timings)
    if run.is_error is None and not run.timed_out and _earlier_unanswered(session, alias):
        return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                           "Not asked: the Claude Code session ended before this prompt (see the first "
                           "claude check).", "", timings, tier=spec.tier, model=spec.model)
    cause = classify_run(run, builtin_models=builtin)
    where = f" (Claude Code sees ANTHROPIC_BASE_URL={seen_url})" if seen_url else ""
    if cause is None:
        return CheckResult(spec.id, spec.title, CheckStatus.PASS, None,
                           f"claude -p answered with {run.model or 'the mapped model'}{where}.", "", timings,
                           tier=spec.tier, model=run.model, text=run.text or run.result)
    said_text = run.result or (run.stderr_tail.strip().splitlines() or ["no output"])[-1]
    if run.timed_out:
        said_text = f"no verdict within {timeout:.0f} s"
    info = describe(cause)
    return CheckResult(spec.id, spec.title, CheckStatus.FAIL, cause,
                       f"Claude Code says: {said_text}{where}", info.fix, timings, tier=spec.tier,
                       model=run.model, text=run.text)


_UNKNOWN_OPTION = re.compile(r"unknown option '?(--[a-z-]+)")


def _earlier_unanswered(session: ClaudeSession, alias: str | None) -> bool:
    """Whether a prompt asked before this one got no answer: then this one was never asked (the session ended)."""
    for other, run in session.runs.items():
        if other == alias:
            return False
        if run.is_error is None:
            return True
    return False

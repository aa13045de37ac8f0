"""The real-client check: run the user's own `claude` CLI against the settings in effect and read its verdict.

Claude Code hides most gateway failures behind generic texts ("issue with the selected model", "Not logged in")
and, by default, retries for about three minutes. Run with CLAUDE_CODE_MAX_RETRIES=0 and stream-json output it
answers in about a second, and its events (init, api_retry, result) carry the HTTP status and the message, which
map onto the same cause ids as the direct probes. Measured with Claude Code 2.1.332.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from optscale_tui.core.connection import mask_secret

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
        return self.exit_code == 0 and self.is_error is False

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


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask_secret(secret))
    return text


def prepare_workdir(cwd: Path) -> Path:
    """A temporary working folder that carries the project's own .claude settings (they override the user file),
    so the run sees what a session in `cwd` would see, without leaving session files in the user's project."""
    work = Path(tempfile.mkdtemp(prefix="optscale-tui-claude-"))
    source = cwd / ".claude"
    if source.is_dir():
        (work / ".claude").mkdir()
        for name in ("settings.json", "settings.local.json"):
            if (source / name).is_file():
                shutil.copy2(source / name, work / ".claude" / name)
    return work


async def run_claude(
    binary: Path,
    *,
    alias: str | None = None,
    prompt: str = DEFAULT_PROMPT,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
    secrets: tuple[str, ...] = (),
) -> ClaudeRun:
    """Run `claude -p` once and stream its events to `on_event(kind, event)`.

    kind is "init", "retry", "text" (event["text"] holds a streamed piece of the reply) or "result".
    """
    run = ClaudeRun(alias=alias)
    args = [str(binary), "-p", prompt, "--output-format", "stream-json", "--verbose", "--include-partial-messages"]
    if alias:
        args += ["--model", alias]
    work = prepare_workdir(cwd)
    started = time.perf_counter()
    try:
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, cwd=work, env=claude_env(env), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
                limit=16 * 1024 * 1024,
            )
        except OSError as exc:
            run.spawn_error = f"could not start {binary}: {exc.strerror or exc}"
            return run

        async def read_stdout() -> None:
            assert proc.stdout is not None
            async for raw in proc.stdout:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                _absorb(run, event, started, on_event)

        async def read_stderr() -> bytes:
            assert proc.stderr is not None
            return await proc.stderr.read()

        reader = asyncio.ensure_future(asyncio.gather(read_stdout(), read_stderr()))
        try:
            async with asyncio.timeout(timeout):
                _, err = await reader
                run.exit_code = await proc.wait()
        except TimeoutError:
            run.timed_out = True
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await proc.wait()
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader
            else:
                with contextlib.suppress(BaseException):
                    _, err = reader.result()
                    run.stderr_tail = _scrub(err.decode(errors="replace")[-2000:], secrets)
        run.result = _scrub(run.result, secrets)
        return run
    finally:
        run.duration_ms = (time.perf_counter() - started) * 1000
        shutil.rmtree(work, ignore_errors=True)


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


async def auth_status(binary: Path, *, cwd: Path, env: Mapping[str, str] | None = None,
                      timeout: float = 15.0) -> dict[str, str]:
    """`claude auth status --text`, parsed ("Anthropic base URL", "Auth token"…). Offline and instant."""
    work = prepare_workdir(cwd)
    try:
        proc = await asyncio.create_subprocess_exec(
            str(binary), "auth", "status", "--text", cwd=work, env=claude_env(env),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(timeout):
                out, _ = await proc.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return {}
    except OSError:
        return {}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fields: dict[str, str] = {}
    for line in out.decode(errors="replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() and value.strip():
            fields[name.strip()] = value.strip()
    return fields


# --- the check, plugged into the verification engine -------------------------------------------------------


def real_client_checks(
    target: VerificationTarget,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    binary: Path | None = None,
) -> list[tuple[CheckSpec, Callable[[Callable[[VerificationEvent], None]], Awaitable[CheckResult]]]]:
    """Checks that run the real `claude` for the default session and for each other mapped tier.

    The default session follows the Opus tier (or Claude Code's built-in name when it is unmapped), so it stands
    for Opus; Haiku and Sonnet get their own run with `--model haiku|sonnet`. Runs are concurrent (~1 s each).
    """
    from optscale_tui.core.causes import describe
    from optscale_tui.core.doctor import CLAUDE_CODE_BUILTIN_MODELS
    from optscale_tui.core.verify import CheckProgress, CheckResult, CheckSpec, CheckStatus, TokenChunk

    binary = binary or find_claude(env)
    if binary is None:
        spec = CheckSpec("claude", "Claude Code itself (real client)")

        async def skipped(_emit: Callable[[VerificationEvent], None]) -> CheckResult:
            return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                               "The claude CLI is not installed, so the real-client check was skipped.",
                               f"Install it to add this check: {INSTALL_HINT}")

        return [(spec, skipped)]

    mapped = target.tiers.mapped()
    aliases: list[str | None] = [None, *(t for t in ("haiku", "sonnet") if t in mapped)]
    secrets = (target.key.value,) if target.key else ()
    builtin = tuple(CLAUDE_CODE_BUILTIN_MODELS.values())
    checks = []
    for alias in aliases:
        check_id = f"claude.{alias or 'default'}"
        label = f"--model {alias}" if alias else "default session"
        spec = CheckSpec(check_id, f"Claude Code itself ({label})", alias or "opus", mapped.get(alias or "opus"))

        def factory(emit: Callable[[VerificationEvent], None], *, spec: CheckSpec = spec,
                    alias: str | None = alias) -> Awaitable[CheckResult]:
            return _run_check(emit, spec, alias)

        checks.append((spec, factory))

    async def _run_check(emit: Callable[[VerificationEvent], None], spec: CheckSpec, alias: str | None) -> CheckResult:
        def on_event(kind: str, event: dict[str, Any]) -> None:
            if kind == "init":
                emit(CheckProgress(spec.id, f"Claude Code {event.get('claude_code_version', '?')}: model "
                                            f"{event.get('model')}, apiKeySource {event.get('apiKeySource')}"))
            elif kind == "retry":
                emit(CheckProgress(spec.id, f"api_retry: HTTP {event.get('error_status')} ({event.get('error')})"))
            elif kind == "text":
                emit(TokenChunk(spec.id, event["text"]))

        auth_task = asyncio.ensure_future(auth_status(binary, cwd=cwd, env=env)) if alias is None else None
        run = await run_claude(binary, alias=alias, cwd=cwd, env=env, timeout=timeout, on_event=on_event,
                               secrets=secrets)
        seen_url = ""
        if auth_task is not None:
            fields = await auth_task
            seen_url = fields.get("Anthropic base URL", "")
            if seen_url:
                emit(CheckProgress(spec.id, f"claude auth status: Anthropic base URL {seen_url}"))
        timings = {"total_ms": round(run.duration_ms, 1),
                   "ttft_ms": round(run.ttft_ms, 1) if run.ttft_ms is not None else None}
        if run.spawn_error:
            return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None, run.spawn_error,
                               f"Reinstall the CLI: {INSTALL_HINT}", timings)
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

    return checks

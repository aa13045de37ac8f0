"""One `claude` session process for the real-client check: spawned in a prepared folder, asked which settings it
resolved, then one prompt per tier over stream-json, then closed (see `ClaudeProcess`). What it says is read into a
`ClaudeRun` per prompt (`claude_cli.py` classifies it). Measured with Claude Code 2.1.332.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optscale_tui.core.clients.claude_code.effective import shown_origin, url_origin
from optscale_tui.core.verify.claude_cli import (
    DEFAULT_PROMPT,
    ClaudeRun,
    claude_env,
    prepare_workdir,
    scrub,
    scrub_run,
    session_args,
)


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


def retrieve(future: asyncio.Future[Any]) -> None:
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
        scrub_run(run, self.secrets)
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
                tail = scrub(err.decode(errors="replace")[-2000:], self.secrets)
                for run in self.session.runs.values():
                    run.exit_code = proc.returncode
                    run.stderr_tail = tail
            for run in self.session.runs.values():
                scrub_run(run, self.secrets)
                if not run.duration_ms:
                    run.duration_ms = (time.perf_counter() - self.started) * 1000
        finally:
            if proc is not None and proc.returncode is None:  # cut short (cancelled): never leave it running
                self.kill()
            if reader is not None and not reader.done():
                reader.cancel()
            if reader is not None:
                reader.add_done_callback(retrieve)
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

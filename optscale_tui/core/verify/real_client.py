"""The real-client check plugged into the verification engine: the user's own `claude` against the settings in
effect, one prompt per mapped tier in one shared session (`claude_process.py`), each answer a check result."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.layers import FOLDER_LAYERS
from optscale_tui.core.secrets import OutsideTextStream, clean_outside_text
from optscale_tui.core.verify.claude_cli import INSTALL_HINT, classify_run, find_claude, scrub
from optscale_tui.core.verify.claude_process import ClaudeProcess, ClaudeSession, retrieve
from optscale_tui.core.verify.events import (
    CheckProgress,
    CheckResult,
    CheckSpec,
    CheckStatus,
    TokenChunk,
    VerificationEvent,
    VerificationTarget,
)

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
            self._session.add_done_callback(retrieve)
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
    binary = binary or find_claude(env)
    if binary is None:
        return _skipped("The claude CLI is not installed, so the real-client check was skipped.",
                        f"Install it to add this check: {INSTALL_HINT}")
    helper = target.config.top_level.get("apiKeyHelper") if target.config else None
    if target.key_source.startswith("apiKeyHelper") and helper is not None and helper.source in FOLDER_LAYERS:
        # The check copies no command from the folder (see CONNECTION_TOP_LEVEL_KEYS), so without this helper Claude
        # Code would have no key here: a failure that says nothing about the gateway.
        return _skipped(f"The key comes from the apiKeyHelper in {helper.where}; the real-client check runs no "
                        "command from the working folder, so it was skipped.",
                        "To add this check, save the key as ANTHROPIC_AUTH_TOKEN (or the helper in your user "
                        "settings).")
    mapped = target.tiers.mapped()
    aliases: tuple[str | None, ...] = (None, *(t for t in ("haiku", "sonnet") if t in mapped))
    if only is not None:  # a re-run of some checks (VerifyOptions.only): ask Claude Code only what they need
        aliases = tuple(a for a in aliases if f"claude.{a or 'default'}" in only)
    checks = _TierChecks(target, aliases, timeout)
    # Never start Claude Code with settings that would send the key to another host (or for nothing).
    process = None if checks.elsewhere is not None or not aliases else ClaudeProcess(
        binary, aliases, cwd=cwd, env=env, on_event=checks.on_event, secrets=checks.secrets,
        expected_url=target.url.anthropic_base if target.url else None)
    checks.client = RealClient([], process, timeout)
    checks.client.checks = [(checks.specs[alias], functools.partial(checks.check, alias=alias)) for alias in aliases]
    return checks.client


def _skipped(message: str, fix: str) -> RealClient:
    """A real-client check that does not run, and says why."""
    spec = CheckSpec("claude", "Claude Code itself (real client)")

    async def skipped(_emit: Callable[[VerificationEvent], None]) -> CheckResult:
        return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None, message, fix)

    return RealClient([(spec, skipped)])


class _TierChecks:
    """The checks of one real-client session, one per alias: each relays its prompt's progress and cleaned reply as
    events while the session runs, then turns its run into a check result."""

    def __init__(self, target: VerificationTarget, aliases: tuple[str | None, ...], timeout: float) -> None:
        from optscale_tui.core.clients.claude_code.models import CLAUDE_CODE_BUILTIN_MODELS

        mapped = target.tiers.mapped()
        self.specs = {alias: CheckSpec(f"claude.{alias or 'default'}",
                                       f"Claude Code itself ({f'--model {alias}' if alias else 'default session'})",
                                       alias or "opus", mapped.get(alias or "opus"))
                      for alias in aliases}
        self.elsewhere = next((f for f in (target.config.findings if target.config else ())
                               if f.cause is Cause.KEY_SENT_ELSEWHERE), None)
        self.secrets = (target.key.value,) if target.key else ()
        self.timeout = timeout
        self.builtin = tuple(CLAUDE_CODE_BUILTIN_MODELS.values())
        self.client: RealClient | None = None
        self._emitters: dict[str | None, Callable[[VerificationEvent], None]] = {}
        # Each tier's streamed reply, cleaned piece by piece (a key split across pieces included).
        self._replies = {alias: OutsideTextStream(self.secrets) for alias in aliases}

    def on_event(self, alias: str | None, kind: str, event: dict[str, Any]) -> None:
        emit, check_id = self._emitters.get(alias), self.specs[alias].id
        if emit is None:
            return
        if kind == "init":
            emit(CheckProgress(check_id, scrub(f"Claude Code {event.get('claude_code_version', '?')}: model "
                                               f"{event.get('model')}, apiKeySource {event.get('apiKeySource')}",
                                               self.secrets, single_line=True)))
        elif kind == "retry":
            emit(CheckProgress(check_id, scrub(f"api_retry: HTTP {event.get('error_status')} ({event.get('error')})",
                                               self.secrets, single_line=True)))
        elif kind == "text" and (shown := self._replies[alias].feed(str(event["text"]))):
            emit(TokenChunk(check_id, shown))

    async def check(self, emit: Callable[[VerificationEvent], None], *, alias: str | None) -> CheckResult:
        spec, client, elsewhere = self.specs[alias], self.client, self.elsewhere
        if elsewhere is not None:
            return CheckResult(spec.id, spec.title, CheckStatus.FAIL, Cause.KEY_SENT_ELSEWHERE,
                               f"Not run: {elsewhere.message}", elsewhere.fix, tier=spec.tier, model=spec.model)
        self._emitters[alias] = emit
        assert client is not None and client.process is not None
        # Shielded: one check's timeout must not end the session the other tiers are waiting for.
        session = asyncio.shield(client.session())
        answered = asyncio.ensure_future(client.process.answered[alias].wait())
        await asyncio.wait({session, answered}, return_when=asyncio.FIRST_COMPLETED)
        answered.cancel()
        if tail := self._replies[alias].flush():
            emit(TokenChunk(spec.id, tail))
        return _session_result(client.process.session, alias, spec, self.timeout, self.builtin)


def real_client_checks(target: VerificationTarget, **kwargs: Any) -> list[tuple[CheckSpec, CheckFactory]]:
    """`real_client(…).checks`: the session then starts when the first check runs (no warm-up)."""
    return real_client(target, **kwargs).checks


def _session_result(session: ClaudeSession, alias: str | None, spec: CheckSpec, timeout: float,
                    builtin: tuple[str, ...]) -> CheckResult:
    """One prompt's run as its check's result."""
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

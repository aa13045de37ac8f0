"""The verification engine: proves a connection works the way Claude Code will use it.

It yields typed events (planned, started, progress, token chunk, finished, done: `events.py`) that both the TUI and
the CLI render. The checks themselves are in `checks.py`; this module plans them and drives one run: the
configuration first (no network), then "connect", then the other direct probes concurrently, each under its own
timeout, so a run never hangs and takes about as long as its slowest probe; then the extra checks (the real client).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.connection import InputError
from optscale_tui.core.verify.checks import (
    AGREEMENT,
    AGREEMENT_TITLE,
    VERIFY_PROMPT,
    Check,
    Probes,
    agreement_result,
    blame_v1_base,
    check_connect,
    config_result,
    direct_check,
    finding_results,
)
from optscale_tui.core.verify.events import (
    CheckFinished,
    CheckResult,
    CheckSpec,
    CheckStarted,
    CheckStatus,
    VerificationDone,
    VerificationEvent,
    VerificationPlanned,
    VerificationTarget,
)
from optscale_tui.core.verify.targets import extra_models, probe_model

if TYPE_CHECKING:
    from optscale_tui.core.gateway.client import GatewayClient


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    ca_bundle: Path | None = None
    env: Mapping[str, str] | None = None
    check_timeout: float = 30.0
    prompt: str = VERIFY_PROMPT
    max_tokens: int = 48
    tool_probe: bool = True
    count_tokens: bool = True
    beta_probe: bool = True
    # Run only these check ids (e.g. to re-run one check); None runs everything. "config" always runs (it needs no
    # network), and "connect" runs first whenever a network check is selected, as the others depend on it.
    only: frozenset[str] | None = None
    # Extra checks plugged in by callers (e.g. the real-client check): (spec, coroutine factory). They run after
    # the direct probes, so that what they start does not weigh on the probes' timings.
    extra_checks: Sequence[tuple[CheckSpec, Callable[[Callable[[VerificationEvent], None]], Awaitable[CheckResult]]]] = ()
    # What the extra checks share (the real client's `claude` process): warmed up as the run starts and awaited
    # before the first probe, so it has finished starting (and waits, idle) while the probes are timed; closed
    # when the run ends, whether the checks ran or not.
    extra_session: ExtraSession | None = None


class ExtraSession(Protocol):
    async def launch(self) -> None: ...  # returns once it runs; its start-up goes on meanwhile

    async def ready(self) -> None: ...  # returns once it has finished starting

    async def close(self) -> None: ...


ClientFactory = Callable[[VerificationTarget, VerifyOptions], "GatewayClient"]


def _default_client(target: VerificationTarget, options: VerifyOptions) -> GatewayClient:
    from optscale_tui.core.gateway.client import GatewayClient

    assert target.url is not None and target.key is not None
    return GatewayClient(target.url, target.key, ca_bundle=options.ca_bundle, env=options.env,
                         timeout=options.check_timeout, auth_scheme=target.auth_scheme)


# --- the plan -------------------------------------------------------------------------------------------------

EXTRA_MODEL_TITLES = {
    "main": "Main model (`model` / ANTHROPIC_MODEL) answers a streamed prompt",
    "subagent": "Subagent model (CLAUDE_CODE_SUBAGENT_MODEL) answers a streamed prompt",
}
NETWORK_FREE = ("config", "doctor.")


def plan_checks(target: VerificationTarget, options: VerifyOptions) -> tuple[CheckSpec, ...]:
    specs: list[CheckSpec] = [CheckSpec("config", "Configuration Claude Code resolves")]
    if target.problems:
        return (*specs, *(CheckSpec(p.id, p.title) for p in target.problems))
    specs.append(CheckSpec("connect", "Gateway reachable (DNS, TCP, TLS)"))
    specs.append(CheckSpec("catalog", "API key accepted; mapped models in the catalog"))
    for tier, model in target.tiers.mapped().items():
        specs.append(CheckSpec(f"prompt.{tier}", f"{tier.capitalize()} tier answers a streamed prompt", tier, model))
    for role, model in extra_models(target.tiers).items():
        specs.append(CheckSpec(f"prompt.{role}", EXTRA_MODEL_TITLES[role], role, model))
    if options.tool_probe:
        for tier, model in target.tiers.mapped().items():
            specs.append(CheckSpec(f"tools.{tier}", f"{tier.capitalize()} tier calls a tool", tier, model))
    model = probe_model(target)
    if options.count_tokens and model:
        specs.append(CheckSpec("count_tokens", "count_tokens endpoint (optional)", None, model))
    if options.beta_probe and model:
        specs.append(CheckSpec("betas", "Gateway accepts Claude Code's anthropic-beta header", None, model))
    specs.extend(spec for spec, _ in options.extra_checks)
    if any(spec.id.startswith("claude.") for spec, _ in options.extra_checks):
        specs.append(CheckSpec(AGREEMENT, AGREEMENT_TITLE))
    return _select(specs, options.only)


def _select(specs: list[CheckSpec], only: frozenset[str] | None) -> tuple[CheckSpec, ...]:
    """Keep the checks in `only` (plus "config", and "connect" when any network check is kept), in plan order."""
    if only is None:
        return tuple(specs)
    network = any(s.id in only and not s.id.startswith(NETWORK_FREE) for s in specs)
    return tuple(s for s in specs if s.id in only or s.id == "config" or (network and s.id == "connect"))


def _direct_checks(specs: Sequence[CheckSpec]) -> list[tuple[CheckSpec, Check]]:
    """The direct probes that run together after "connect", in the order they start: the catalog, the prompt and
    tool checks in plan order, count_tokens, the beta header."""
    by_id = {s.id: s for s in specs}
    ordered = [by_id.get("catalog"), *(s for s in specs if s.id.startswith(("prompt.", "tools."))),
               by_id.get("count_tokens"), by_id.get("betas")]
    return [(spec, check) for spec in ordered if spec is not None and (check := direct_check(spec)) is not None]


def _in_plan_order(results: Mapping[str, CheckResult], specs: Sequence[CheckSpec],
                   extra_rows: Iterable[CheckResult] = ()) -> tuple[CheckResult, ...]:
    """The results as the checklist lists them (the plan's order), not in the order they finished: a report reads
    the same on every run. Rows the plan does not name (doctor findings) follow in their own order."""
    order = {spec.id: index for index, spec in enumerate(specs)}
    rows = dict(results)
    for row in extra_rows:
        rows.setdefault(row.id, row)
    return tuple(sorted(rows.values(), key=lambda r: order.get(r.id, len(order))))


# --- one run --------------------------------------------------------------------------------------------------


class _Run:
    """One run's bookkeeping: its plan, the results so far, and the queue its concurrent checks report to."""

    def __init__(self, target: VerificationTarget, options: VerifyOptions) -> None:
        self.started = time.perf_counter()
        self.target, self.options = target, options
        self.queue: asyncio.Queue[VerificationEvent | None] = asyncio.Queue()
        self.emit = self.queue.put_nowait
        self.specs = plan_checks(target, options)
        self.by_id = {s.id: s for s in self.specs}
        self.results: dict[str, CheckResult] = {}
        self.v1_base = bool(target.url and target.url.ends_in_v1)

    def finish(self, result: CheckResult) -> CheckFinished:
        self.results[result.id] = result
        return CheckFinished(result)

    def done(self, extra_rows: Iterable[CheckResult], catalog: tuple[str, ...] = ()) -> VerificationDone:
        return VerificationDone(_in_plan_order(self.results, self.specs, extra_rows),
                                (time.perf_counter() - self.started) * 1000, catalog=catalog)

    async def guarded(self, spec: CheckSpec, work: Callable[[], Awaitable[CheckResult]]) -> CheckResult:
        """Run one check under its timeout; a timeout or a bug becomes its failed result, never the run's end."""
        self.emit(CheckStarted(spec.id))
        limit = self.options.check_timeout + 5
        try:
            async with asyncio.timeout(limit):
                result = await work()
        except TimeoutError:
            info = describe(Cause.TIMEOUT)
            result = CheckResult(spec.id, spec.title, CheckStatus.FAIL, Cause.TIMEOUT,
                                 f"No answer within {limit:.0f} s.", info.fix, tier=spec.tier, model=spec.model)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not kill the whole run; report it as a failed check
            result = CheckResult(spec.id, spec.title, CheckStatus.FAIL, Cause.BAD_RESPONSE,
                                 f"Internal error while checking: {type(exc).__name__}", "Please report this.",
                                 tier=spec.tier, model=spec.model)
        result = blame_v1_base(result, self.v1_base)
        self.emit(self.finish(result))
        return result

    def skip_unreached(self) -> None:
        """The gateway is not reachable: every network check left is skipped."""
        for spec in self.specs:
            if spec.id not in self.results and not spec.id.startswith("config"):
                self.emit(self.finish(CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                                                  "Skipped: the gateway is not reachable.", tier=spec.tier,
                                                  model=spec.model)))


async def run_verification(
    target: VerificationTarget,
    options: VerifyOptions | None = None,
    *,
    client_factory: ClientFactory | None = None,
) -> AsyncIterator[VerificationEvent]:
    """Run every check and yield events as they happen. Closing the iterator cancels the run cleanly."""
    run = _Run(target, options or VerifyOptions())
    yield VerificationPlanned(run.specs, target)
    # Configuration findings come first and need no network.
    yield CheckStarted("config")
    yield run.finish(config_result(target))
    extra_rows = finding_results(target)
    if run.options.only is not None:
        extra_rows = tuple(row for row in extra_rows if row.id in run.options.only)
    if target.problems or "connect" not in run.by_id:  # nothing to probe, or only network-free checks selected
        for problem in target.problems:
            yield run.finish(problem)
        yield run.done(extra_rows)
        return
    session = _extra_session(run)
    # Launched before the client, whose set-up (imports, TLS context) its start-up overlaps; the probes wait for it.
    warm_up = await _warm_up(session)
    try:
        client = (client_factory or _default_client)(target, run.options)
    except InputError as exc:  # e.g. NODE_EXTRA_CA_CERTS names a file that does not exist
        if session is not None:
            await _end_session(session, warm_up)
        for result in _not_set_up(run.specs, exc):
            yield run.finish(result)
        yield run.done(extra_rows)
        return
    probes = Probes(client, target, run.emit, run.options.prompt, run.options.max_tokens)
    runner = asyncio.create_task(_probe_all(run, probes, session, warm_up))
    try:
        while (event := await run.queue.get()) is not None:
            yield event
        await runner
    finally:
        if not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
    yield run.done(extra_rows, probes.fetched_catalog())


async def _probe_all(run: _Run, probes: Probes, session: ExtraSession | None,
                     warm_up: asyncio.Future[None] | None) -> None:
    """The network part of a run: "connect", then the direct probes together, then the extra checks, then the
    agreement of both. Its events go to the run's queue, which it closes (None) when it ends."""
    options = run.options
    try:
        async with probes.client:
            if warm_up is not None:  # bounded: a Claude Code that does not answer must not hold the probes
                await asyncio.wait({warm_up}, timeout=options.check_timeout)
            connect_spec = run.by_id["connect"]
            connect = await run.guarded(connect_spec, functools.partial(check_connect, probes, connect_spec))
            if connect.status is CheckStatus.FAIL:
                run.skip_unreached()
                return
            await asyncio.gather(*(run.guarded(spec, functools.partial(check, probes, spec))
                                   for spec, check in _direct_checks(run.specs)))
            # The extra checks (the real client: a `claude` process) start once the direct probes are done, so
            # the probes' timings describe the gateway, not a machine busy starting Claude Code (issue 14).
            await asyncio.gather(*(run.guarded(spec, lambda f=factory_fn: f(run.emit))
                                   for spec, factory_fn in options.extra_checks if spec.id in run.by_id))
            if AGREEMENT in run.by_id:
                run.emit(CheckStarted(AGREEMENT))
                run.emit(run.finish(agreement_result(run.results, run.target)))
    finally:
        if session is not None:
            await _end_session(session, warm_up)
        await probes.close()
        run.queue.put_nowait(None)


def _not_set_up(specs: Sequence[CheckSpec], exc: InputError) -> Iterator[CheckResult]:
    """The client could not be set up: "connect" fails with why, every other network check is skipped."""
    info = describe(exc.cause) if exc.cause else None
    for spec in specs:
        if spec.id == "config":
            continue
        if spec.id == "connect":
            yield CheckResult(spec.id, spec.title, CheckStatus.FAIL, exc.cause, exc.reason, info.fix if info else "")
        else:
            yield CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                              "Skipped: the connection could not be set up.", tier=spec.tier, model=spec.model)


# --- the session the extra checks share -----------------------------------------------------------------------


def _extra_session(run: _Run) -> ExtraSession | None:
    """The extra checks' session, when the plan kept any of them."""
    extra_ids = {spec.id for spec, _ in run.options.extra_checks}
    return run.options.extra_session if any(spec.id in extra_ids for spec in run.specs) else None


async def _warm_up(session: ExtraSession | None) -> asyncio.Future[None] | None:
    """Launch the session and start it getting ready; the run waits for that (bounded) before the first probe."""
    if session is None:
        return None
    with contextlib.suppress(Exception):  # a session that cannot start says so in its checks
        await session.launch()
    return asyncio.ensure_future(session.ready())


async def _end_session(session: ExtraSession, warm_up: asyncio.Future[None] | None) -> None:
    if warm_up is not None and not warm_up.done():
        warm_up.cancel()
    with contextlib.suppress(Exception):
        if warm_up is not None:
            await asyncio.wait({warm_up})
        await session.close()


# --- after a run ----------------------------------------------------------------------------------------------


def merge_results(previous: VerificationDone | None, rerun: VerificationDone) -> VerificationDone:
    """A full run updated with a partial re-run (`VerifyOptions.only`): re-run checks replace their earlier results
    in place, new ones are appended. `elapsed_ms` stays the full run's (the re-run's alone would pass for the time
    of every check); the re-run's own time and size are in `rerun_ms` and `rerun_checks`."""
    if previous is None:
        return rerun
    fresh = {r.id: r for r in rerun.results}
    merged = [fresh.pop(r.id, r) for r in previous.results]
    merged.extend(fresh.values())
    # "config" and "connect" always run along with the check asked for: count them only when they were the ask.
    asked = [r.id for r in rerun.results if r.id not in ("config", "connect")]
    with_connect = bool(asked) and any(r.id == "connect" for r in rerun.results)
    return VerificationDone(tuple(merged), previous.elapsed_ms, max(1, len(asked)), rerun.elapsed_ms, with_connect,
                            rerun.catalog or previous.catalog)


async def verify(target: VerificationTarget, options: VerifyOptions | None = None, **kwargs) -> VerificationDone:
    """Run to completion and return the summary (for callers that do not stream)."""
    done: VerificationDone | None = None
    async for event in run_verification(target, options, **kwargs):
        if isinstance(event, VerificationDone):
            done = event
    assert done is not None
    return done

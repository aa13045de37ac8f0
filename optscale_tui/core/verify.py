"""The verification engine: proves a connection works the way Claude Code will use it.

It yields typed events (planned, started, progress, token chunk, finished, done) that both the TUI and the CLI
render. Independent probes run concurrently, each under its own timeout, so a run never hangs and takes about as
long as its slowest probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.connection import (
    ApiKey,
    ConnectionValues,
    GatewayUrl,
    InputError,
    TierMapping,
    parse_anthropic_base_url,
    strip_context_suffix,
)
from optscale_tui.core.key_helper import HelperOutcome, run_api_key_helper

if TYPE_CHECKING:
    from optscale_tui.core.doctor import EffectiveConfig
    from optscale_tui.core.gateway import Catalog, GatewayClient, ProbeResult
    from optscale_tui.core.settings_file import SettingsPlan

VERIFY_PROMPT = "Reply with one short sentence: the connection from optscale-tui works."
# Claude Code's reduced beta list when CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 (measured with 2.1.332).
REDUCED_BETAS = ("claude-code-20250219", "context-1m-2025-08-07", "interleaved-thinking-2025-05-14", "effort-2025-11-24")


class CheckStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class CheckSpec:
    id: str
    title: str
    tier: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    title: str
    status: CheckStatus
    cause: Cause | None = None
    message: str = ""
    fix: str = ""
    timings: Mapping[str, float | int | None] = field(default_factory=dict)
    request_ids: Mapping[str, str] = field(default_factory=dict)
    tier: str | None = None
    model: str | None = None
    text: str = ""
    # The same fix as a CLI command, when there is one. `fix` stays in plain words that fit every front end (the
    # TUI says where in the app to do it; the CLI prints this command).
    fix_command: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "cause": self.cause.value if self.cause else None,
            "message": self.message,
            "fix": self.fix,
            "timings": {k: v for k, v in self.timings.items() if v is not None},
            "request_ids": dict(self.request_ids),
            "tier": self.tier,
            "model": self.model,
            **({"fix_command": self.fix_command} if self.fix_command else {}),
        }


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationPlanned:
    checks: tuple[CheckSpec, ...]
    target: VerificationTarget


@dataclass(frozen=True, slots=True)
class CheckStarted:
    check_id: str


@dataclass(frozen=True, slots=True)
class CheckProgress:
    check_id: str
    message: str


@dataclass(frozen=True, slots=True)
class TokenChunk:
    check_id: str
    text: str


@dataclass(frozen=True, slots=True)
class CheckFinished:
    result: CheckResult

    @property
    def check_id(self) -> str:
        return self.result.id


@dataclass(frozen=True, slots=True)
class VerificationDone:
    results: tuple[CheckResult, ...]
    elapsed_ms: float  # the run that produced the results; after a partial re-run, the full run's
    # Set by `merge_results`: how many checks the latest partial re-run asked for, and how long it took.
    rerun_checks: int = 0
    rerun_ms: float | None = None
    # Whether the re-run also ran "connect" (it runs first for any network check) without being asked for it.
    rerun_connect: bool = False
    # The model ids of the key's catalog as this run fetched it (empty when it did not, or it failed): the fix-its
    # suggest models from it, not from a guess.
    catalog: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(r.status is CheckStatus.FAIL for r in self.results)


VerificationEvent = VerificationPlanned | CheckStarted | CheckProgress | TokenChunk | CheckFinished | VerificationDone


# --- what to verify -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationTarget:
    """What is verified: the URL, key and tier models as Claude Code would use them."""

    url: GatewayUrl | None
    key: ApiKey | None
    tiers: TierMapping
    source: str  # plain words: "settings in effect (~/.claude/settings.json)" or "unsaved plan"
    config: EffectiveConfig | None = None
    disable_experimental_betas: bool = False
    problems: tuple[CheckResult, ...] = ()  # what prevents probing at all (no URL, no key…)
    key_source: str = ""  # where the key came from when not from the env (e.g. "apiKeyHelper in ~/.claude/…")

    @property
    def summary(self) -> dict[str, object]:
        return {
            "source": self.source,
            "anthropic_base_url": self.url.anthropic_base if self.url else None,
            "api_key": self.key.masked if self.key else None,
            "tiers": self.tiers.tiers(),
            **({"main_model": self.tiers.main_model} if self.tiers.main_model else {}),
            **({"subagent_model": self.tiers.subagent_model} if self.tiers.subagent_model else {}),
        }


def _problem(check_id: str, title: str, cause: Cause | None, message: str, fix: str,
             command: str = "") -> CheckResult:
    return CheckResult(check_id, title, CheckStatus.FAIL, cause, message, fix, fix_command=command)


# Writing the connection (no Base URL or no key in effect): what to do, and the CLI command that does it.
WRITE_CONNECTION_FIX = "Enter the Base URL and the API key from OptScale Chat, and save them."
WRITE_CONNECTION_COMMAND = "optscale-tui apply --base-url URL --api-key-stdin"
# The catalog lists none of some mapped models (the TUI words it as the place in the app: see its tui_fix).
CATALOG_FIX = "Pick models from the catalog this key sees, or ask your OptScale admin to allow these models."
CATALOG_COMMAND = "optscale-tui models --base-url URL --api-key-stdin"
# The gateway rejects the experimental betas but takes the reduced list (the TUI words it as Fix it / Models).
BETA_WARN_FIX = ("Add CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 to the env block so Claude Code sends only the betas "
                 "this gateway accepts.")


def target_from_effective(
    config: EffectiveConfig,
    *,
    cwd: Path | None = None,
    run_helper: Callable[..., HelperOutcome] = run_api_key_helper,
) -> VerificationTarget:
    """Build the target from the configuration Claude Code resolves (doctor's view of every layer). With no token
    in effect but an apiKeyHelper, the helper runs (in `cwd`, as Claude Code started there would) for the key."""
    problems: list[CheckResult] = []
    url: GatewayUrl | None = None
    raw_url = config.get("ANTHROPIC_BASE_URL")
    if not raw_url:
        problems.append(
            _problem(
                "config.base_url",
                "Base URL configured",
                None,
                "No ANTHROPIC_BASE_URL is in effect, so Claude Code talks to Anthropic directly, not to the gateway.",
                WRITE_CONNECTION_FIX,
                WRITE_CONNECTION_COMMAND,
            )
        )
    else:
        try:
            url = parse_anthropic_base_url(raw_url)
        except InputError as exc:
            cause = exc.cause
            problems.append(
                _problem(
                    "config.base_url",
                    "Base URL configured",
                    cause,
                    exc.reason,
                    describe(cause).fix if cause else "Use the Base URL from OptScale Chat with /v1 replaced by /anthropic.",
                )
            )
    elsewhere = next((f for f in config.findings if f.cause is Cause.KEY_SENT_ELSEWHERE), None)
    if elsewhere is not None and not problems:
        # Probing would send the key where the finding says it must not go: the run stops before any network.
        problems.append(_problem("config.base_url", "Base URL configured", Cause.KEY_SENT_ELSEWHERE,
                                 elsewhere.message, elsewhere.fix))
    # Sent trimmed: the gateway reads the header without the spaces (doctor warns about them: key_whitespace).
    key_value = (config.get("ANTHROPIC_AUTH_TOKEN") or config.get("ANTHROPIC_API_KEY") or "").strip()
    key = ApiKey(key_value) if key_value else None
    key_source = ""
    helper = config.top_level.get("apiKeyHelper")
    if key is None and helper is not None and (helper.value or "").strip() and elsewhere is not None:
        key_source = f"apiKeyHelper in {helper.where} (not run: its key would go to another host)"
    elif key is None and helper is not None and (helper.value or "").strip():
        # As Claude Code does when no token is in effect: run the helper; its output is the key.
        outcome = run_helper(helper.value.strip(), cwd=cwd)
        key_source = f"apiKeyHelper in {helper.where}"
        if outcome.key is None:
            cause = outcome.cause
            problems.append(_problem("config.api_key", "API key configured", cause,
                                     f"{outcome.message} (apiKeyHelper from {helper.where})",
                                     describe(cause).fix if cause else WRITE_CONNECTION_FIX))
        key = outcome.key
    elif key is None:
        problems.append(
            _problem(
                "config.api_key",
                "API key configured",
                None,
                "No ANTHROPIC_AUTH_TOKEN is in effect; Claude Code would have no credential for the gateway.",
                WRITE_CONNECTION_FIX,
                WRITE_CONNECTION_COMMAND,
            )
        )
    tiers = TierMapping(
        haiku=config.get("ANTHROPIC_DEFAULT_HAIKU_MODEL") or None,
        sonnet=config.get("ANTHROPIC_DEFAULT_SONNET_MODEL") or None,
        opus=config.get("ANTHROPIC_DEFAULT_OPUS_MODEL") or None,
        main_model=_main_model(config),
        subagent_model=(config.get("CLAUDE_CODE_SUBAGENT_MODEL") or "").strip() or None,
    )
    betas_off = (config.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS") or "").strip().lower() in ("1", "true", "yes")
    where = str(config.user_settings)
    source = f"settings in effect ({where})"
    if config.user_settings_named:  # say plainly that the other layers still count, and which file Code reads
        source = (f"the settings in effect, with {where} in place of the user settings "
                  f"(project, local, managed and shell values still apply)")
    return VerificationTarget(
        url=url,
        key=key,
        tiers=tiers,
        source=source,
        config=config,
        key_source=key_source,
        disable_experimental_betas=betas_off,
        problems=tuple(problems),
    )


def _main_model(config: EffectiveConfig) -> str | None:
    """The main-model setting Claude Code uses: ANTHROPIC_MODEL over the top-level `model`."""
    value = (config.get("ANTHROPIC_MODEL") or "").strip()
    if value:
        return value
    top = config.top_level.get("model")
    raw = getattr(top, "value", top)
    if isinstance(raw, str) and raw.strip() and not raw.strip().startswith(("{", "[")):
        return raw.strip()
    return None


def target_from_values(values: ConnectionValues, config: EffectiveConfig | None = None) -> VerificationTarget:
    """Verify the values the user entered (the key must be known). `config` is what the configuration check looks
    at: it must already include these values (see `target_from_unsaved`), or it warns about what they fix."""
    problems = ()
    if values.key is None:
        problems = (
            _problem("config.api_key", "API key configured", None, "No API key was entered.", "Paste the API key."),
        )
    return VerificationTarget(
        url=values.url,
        key=values.key,
        tiers=values.tiers,
        source="unsaved values",
        config=config,
        disable_experimental_betas=bool(values.disable_experimental_betas),
        problems=problems,
    )


def target_from_unsaved(values: ConnectionValues, plan: SettingsPlan, **where: object) -> VerificationTarget:
    """Verify values before they are saved. The probes use `values`; the configuration check sees what Claude Code
    would resolve once `plan` is saved: the plan's file as it would be written, every other layer as it is now
    (`where`: `inspect_environment`'s cwd, env, home, user_settings, managed_paths). So it neither warns about what
    the values fix (an Opus tier mapped but not saved yet) nor misses what another layer would still override."""
    from optscale_tui.core.doctor import inspect_environment

    config = inspect_environment(**where, pending={plan.document.path: plan.new_data})  # type: ignore[arg-type]
    return target_from_values(values, config)


# --- the engine ---------------------------------------------------------------------------------------------


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
    from optscale_tui.core.gateway import GatewayClient

    assert target.url is not None and target.key is not None
    return GatewayClient(target.url, target.key, ca_bundle=options.ca_bundle, env=options.env,
                         timeout=options.check_timeout)


def _timings(probe: ProbeResult) -> dict[str, float | int | None]:
    t = probe.timings
    return {
        "ttfb_ms": _round(t.ttfb_ms),
        "ttft_ms": _round(t.ttft_ms),
        "total_ms": _round(t.total_ms),
        "output_tokens": t.output_tokens,
        "tokens_per_s": _round(t.tokens_per_s),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _from_probe(spec: CheckSpec, probe: ProbeResult, *, warn_only: bool = False, ok_message: str = "") -> CheckResult:
    if probe.ok:
        return CheckResult(spec.id, spec.title, CheckStatus.PASS, None, ok_message or probe.detail, "",
                           _timings(probe), dict(probe.request_ids), spec.tier, spec.model, probe.text)
    info = describe(probe.cause) if probe.cause else None
    message = probe.detail or (info.message if info else "failed")
    if info and probe.detail and info.message not in probe.detail:
        message = f"{info.message} {probe.detail}".strip()
    return CheckResult(
        spec.id,
        spec.title,
        CheckStatus.WARN if warn_only else CheckStatus.FAIL,
        probe.cause,
        message,
        info.fix if info else "",
        _timings(probe),
        dict(probe.request_ids),
        spec.tier,
        spec.model,
        probe.text,
    )


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
    probe_model = _probe_model(target)
    if options.count_tokens and probe_model:
        specs.append(CheckSpec("count_tokens", "count_tokens endpoint (optional)", None, probe_model))
    if options.beta_probe and probe_model:
        specs.append(CheckSpec("betas", "Gateway accepts Claude Code's anthropic-beta header", None, probe_model))
    specs.extend(spec for spec, _ in options.extra_checks)
    if any(spec.id.startswith("claude.") for spec, _ in options.extra_checks):
        specs.append(CheckSpec(AGREEMENT, "Direct probes and Claude Code reach the same verdict"))
    return _select(specs, options.only)


AGREEMENT = "agreement"


def agreement_result(results: Mapping[str, CheckResult], target: VerificationTarget) -> CheckResult:
    """Compare each real-client run with what the direct probes predicted for it; name any disagreement."""
    title = "Direct probes and Claude Code reach the same verdict"
    findings = target.config.findings if target.config else ()
    betas = results.get("betas")
    compared: list[str] = []
    disagreements: list[str] = []
    for check_id, real in results.items():
        if not check_id.startswith("claude.") or real.status is CheckStatus.SKIP:
            continue
        alias = check_id.split(".", 1)[1]
        direct = results.get(f"prompt.{alias}")
        if alias == "default":  # the default session sends the main model when one is set, else the Opus tier's
            direct = results.get("prompt.main") or results.get("prompt.opus")
        if direct is None:  # the default session on an unmapped Opus tier: the doctor's verdict stands for it
            predicted_fail = any(f.cause is Cause.TIER_UNMAPPED and f.severity == "fail" for f in findings)
            predicted = describe(Cause.TIER_UNMAPPED).title if predicted_fail else "works"
        else:
            predicted_fail = direct.status is CheckStatus.FAIL
            predicted = direct.cause.value if predicted_fail and direct.cause else "works"
        if betas is not None and betas.status is CheckStatus.FAIL:
            predicted_fail, predicted = True, Cause.BETA_REJECTED.value
        actual_fail = real.status is CheckStatus.FAIL
        said = real.cause.value if actual_fail and real.cause else "works"
        label = "the default session" if alias == "default" else f"--model {alias}"
        compared.append(label)
        if predicted_fail != actual_fail:
            disagreements.append(f"{label}: direct probes say {predicted}, Claude Code says {said}"
                                 + (f" ({real.message})" if actual_fail else ""))
    if not compared:
        return CheckResult(AGREEMENT, title, CheckStatus.SKIP, None, "The real client did not run.")
    if disagreements:
        return CheckResult(
            AGREEMENT, title, CheckStatus.WARN, None,
            "They disagree — " + "; ".join(disagreements) + ".",
            "Trust Claude Code's verdict for how your sessions behave. A difference usually means it trusts other "
            "certificates (NODE_EXTRA_CA_CERTS must be exported in the shell, not set in settings.json), sees other "
            "settings (a project file, CLAUDE_CONFIG_DIR), or recovered by retrying.",
        )
    return CheckResult(AGREEMENT, title, CheckStatus.PASS, None, f"Same verdict for {', '.join(compared)}.")


NETWORK_FREE = ("config", "doctor.")


def _select(specs: list[CheckSpec], only: frozenset[str] | None) -> tuple[CheckSpec, ...]:
    """Keep the checks in `only` (plus "config", and "connect" when any network check is kept), in plan order."""
    if only is None:
        return tuple(specs)
    network = any(s.id in only and not s.id.startswith(NETWORK_FREE) for s in specs)
    return tuple(s for s in specs if s.id in only or s.id == "config" or (network and s.id == "connect"))


# A main or subagent model set to one of these names resolves to a tier (or, for subagents, to the main model), which
# the tier checks already probe; an unmapped tier behind an alias is the doctor's tier_unmapped finding.
MODEL_ALIASES = frozenset({"haiku", "sonnet", "opus", "default", "inherit", "opusplan", "best"})
EXTRA_MODEL_TITLES = {
    "main": "Main model (`model` / ANTHROPIC_MODEL) answers a streamed prompt",
    "subagent": "Subagent model (CLAUDE_CODE_SUBAGENT_MODEL) answers a streamed prompt",
}


def extra_models(tiers: TierMapping) -> dict[str, str]:
    """The main and subagent models ("main"/"subagent" -> model) that no tier maps: Claude Code sends them too, so
    each gets its own prompt check. One that names a tier's model (or an alias for a tier) is already probed."""
    probed = {strip_context_suffix(m.strip()) for m in tiers.mapped().values()}
    extra: dict[str, str] = {}
    for role, raw in (("main", tiers.main_model), ("subagent", tiers.subagent_model)):
        name = strip_context_suffix((raw or "").strip())
        if not name or name.lower() in MODEL_ALIASES or name in probed:
            continue
        probed.add(name)
        extra[role] = name
    return extra


def _probe_models(target: VerificationTarget) -> list[str]:
    """Every model Claude Code sends, distinct, in the order the count_tokens and beta probes try them: the default
    session's model first (the main model, else the Opus tier), then the other tiers, then the subagent model."""
    mapped = target.tiers.mapped()
    extra = extra_models(target.tiers)
    ordered = [extra.get("main"), *(mapped.get(t) for t in ("opus", "sonnet", "haiku")), extra.get("subagent")]
    return list(dict.fromkeys(strip_context_suffix(m) for m in ordered if m))


def _probe_model(target: VerificationTarget) -> str | None:
    models = _probe_models(target)
    return models[0] if models else None


# Refusals about the model itself, not the request: another model may work with the same key.
MODEL_CAUSES = frozenset({Cause.MODEL_NOT_ALLOWED, Cause.PROVIDER_NOT_ALLOWED, Cause.MODEL_UNKNOWN})
# Refusals of the key itself: every request with it fails the same way, so a probe of the gateway (count_tokens, the
# beta header) sent with it could only repeat the catalog's verdict as if it were a problem of its own.
KEY_CAUSES = frozenset({Cause.AUTH_INVALID_KEY, Cause.BUDGET_EXCEEDED, Cause.RATE_LIMITED})
_KEY_REFUSED = "the key was refused"


def _config_result(target: VerificationTarget) -> CheckResult:
    spec_id, title = "config", "Configuration Claude Code resolves"
    findings = target.config.findings if target.config else ()
    if not findings:
        return CheckResult(spec_id, title, CheckStatus.PASS, None, f"Using {target.source}.")
    worst = next((f for f in findings if f.severity == "fail"), findings[0])
    status = CheckStatus.FAIL if worst.severity == "fail" else CheckStatus.WARN
    others = len(findings) - 1
    message = worst.message + (f" (+{others} more finding{'s' if others > 1 else ''}; see doctor)" if others else "")
    return CheckResult(spec_id, title, status, worst.cause, message, worst.fix)


def finding_results(target: VerificationTarget) -> tuple[CheckResult, ...]:
    """Each doctor finding as its own check row, so --json consumers see every cause id."""
    if not target.config:
        return ()
    rows: list[CheckResult] = []
    seen: dict[str, int] = {}
    for f in target.config.findings:
        base = f"doctor.{f.cause.value}"
        seen[base] = seen.get(base, 0) + 1
        check_id = base if seen[base] == 1 else f"{base}.{seen[base]}"  # e.g. project and local both override
        status = CheckStatus.FAIL if f.severity == "fail" else CheckStatus.WARN
        rows.append(CheckResult(check_id, describe(f.cause).title, status, f.cause, f.message, f.fix))
    return tuple(rows)


def _in_plan_order(results: Mapping[str, CheckResult], specs: Sequence[CheckSpec],
                   extra_rows: Iterable[CheckResult] = ()) -> tuple[CheckResult, ...]:
    """The results as the checklist lists them (the plan's order), not in the order they finished: a report reads
    the same on every run. Rows the plan does not name (doctor findings) follow in their own order."""
    order = {spec.id: index for index, spec in enumerate(specs)}
    rows = dict(results)
    for row in extra_rows:
        rows.setdefault(row.id, row)
    return tuple(sorted(rows.values(), key=lambda r: order.get(r.id, len(order))))


async def run_verification(
    target: VerificationTarget,
    options: VerifyOptions | None = None,
    *,
    client_factory: ClientFactory | None = None,
) -> AsyncIterator[VerificationEvent]:
    """Run every check and yield events as they happen. Closing the iterator cancels the run cleanly."""
    options = options or VerifyOptions()
    started = time.perf_counter()
    queue: asyncio.Queue[VerificationEvent | None] = asyncio.Queue()
    emit = queue.put_nowait
    specs = plan_checks(target, options)
    results: dict[str, CheckResult] = {}

    yield VerificationPlanned(specs, target)

    def finish(result: CheckResult) -> CheckFinished:
        results[result.id] = result
        return CheckFinished(result)

    # Configuration findings come first and need no network.
    yield CheckStarted("config")
    yield finish(_config_result(target))
    extra_rows = finding_results(target)
    if options.only is not None:
        extra_rows = tuple(row for row in extra_rows if row.id in options.only)
    if target.problems:
        for problem in target.problems:
            yield finish(problem)
        yield VerificationDone(_in_plan_order(results, specs, extra_rows), (time.perf_counter() - started) * 1000)
        return
    if not any(spec.id == "connect" for spec in specs):  # only network-free checks were selected
        yield VerificationDone(_in_plan_order(results, specs, extra_rows), (time.perf_counter() - started) * 1000)
        return

    extra_ids = {spec.id for spec, _ in options.extra_checks}
    session = options.extra_session if any(spec.id in extra_ids for spec in specs) else None
    # Launched before the client, whose set-up (imports, TLS context) its start-up overlaps; the probes wait below
    # until it is ready.
    warm_up = None
    if session is not None:
        with contextlib.suppress(Exception):  # a session that cannot start says so in its checks
            await session.launch()
        warm_up = asyncio.ensure_future(session.ready())
    factory = client_factory or _default_client
    try:
        client = factory(target, options)
    except InputError as exc:  # e.g. NODE_EXTRA_CA_CERTS names a file that does not exist
        if session is not None:
            await _end_session(session, warm_up)
        info = describe(exc.cause) if exc.cause else None
        for spec in specs:
            if spec.id == "config":
                continue
            if spec.id == "connect":
                yield finish(CheckResult(spec.id, spec.title, CheckStatus.FAIL, exc.cause, exc.reason,
                                         info.fix if info else ""))
            else:
                yield finish(CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                                         "Skipped: the connection could not be set up.", tier=spec.tier,
                                         model=spec.model))
        yield VerificationDone(_in_plan_order(results, specs, extra_rows), (time.perf_counter() - started) * 1000)
        return
    by_id = {s.id: s for s in specs}
    v1_base = bool(target.url and target.url.ends_in_v1)

    def adjust(result: CheckResult) -> CheckResult:
        # Claude Code appends /v1/messages to ANTHROPIC_BASE_URL: a base left at /v1 shows up as a 404 on the path.
        if v1_base and result.cause in (Cause.PATH_NOT_FOUND, Cause.MODEL_UNKNOWN):
            info = describe(Cause.BASE_URL_V1)
            return replace(result, cause=Cause.BASE_URL_V1, message=info.message, fix=info.fix)
        return result

    async def guarded(spec: CheckSpec, work: Callable[[], Awaitable[CheckResult]]) -> CheckResult:
        emit(CheckStarted(spec.id))
        try:
            async with asyncio.timeout(options.check_timeout + 5):
                result = await work()
        except TimeoutError:
            info = describe(Cause.TIMEOUT)
            result = CheckResult(spec.id, spec.title, CheckStatus.FAIL, Cause.TIMEOUT,
                                 f"No answer within {options.check_timeout + 5:.0f} s.", info.fix,
                                 tier=spec.tier, model=spec.model)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not kill the whole run; report it as a failed check
            result = CheckResult(spec.id, spec.title, CheckStatus.FAIL, Cause.BAD_RESPONSE,
                                 f"Internal error while checking: {type(exc).__name__}", "Please report this.",
                                 tier=spec.tier, model=spec.model)
        result = adjust(result)
        emit(finish(result))
        return result

    async def check_connect() -> CheckResult:
        spec = by_id["connect"]
        probe = await client.reachability()
        return _from_probe(spec, probe, ok_message=f"Reached {target.url.origin if target.url else ''}.")

    catalog_task: asyncio.Future[Catalog] | None = None

    def get_catalog() -> asyncio.Future[Catalog]:
        """The key's catalog, fetched once per run: the catalog check and the choice of a probe model share it."""
        nonlocal catalog_task
        if catalog_task is None:
            catalog_task = asyncio.ensure_future(client.list_models())
        return catalog_task

    async def check_catalog() -> CheckResult:
        spec = by_id["catalog"]
        catalog = await asyncio.shield(get_catalog())
        if not catalog.probe.ok:
            if catalog.probe.cause in (Cause.PATH_NOT_FOUND, Cause.BAD_RESPONSE) and not v1_base:
                # OptScale may not expose a model list; the prompt checks prove the key and models instead.
                return replace(_from_probe(spec, catalog.probe, warn_only=True),
                               message="The gateway has no model list here; the prompt checks verify the models.")
            return _from_probe(spec, catalog.probe)
        ids = {m.id for m in catalog.models}
        wanted = [*target.tiers.mapped().values(), *extra_models(target.tiers).values()]
        missing = list(dict.fromkeys(m for m in wanted if strip_context_suffix(m) not in ids))
        if missing:
            return CheckResult(
                spec.id, spec.title, CheckStatus.WARN, None,
                f"API key accepted, but the catalog for this key does not list: {', '.join(missing)}.",
                CATALOG_FIX, _timings(catalog.probe), dict(catalog.probe.request_ids),
                fix_command=CATALOG_COMMAND,
            )
        return _from_probe(spec, catalog.probe,
                           ok_message=f"API key accepted; {len(ids)} models listed, every mapped model among them.")

    def prompt_check(spec: CheckSpec) -> Callable[[], Awaitable[CheckResult]]:
        async def run() -> CheckResult:
            assert spec.model
            probe = await client.stream_message(
                strip_context_suffix(spec.model), options.prompt, max_tokens=options.max_tokens,
                on_text=lambda text: emit(TokenChunk(spec.id, text)),
            )
            return _from_probe(spec, probe, ok_message=f"{spec.model} replied.")
        return run

    def tool_check(spec: CheckSpec) -> Callable[[], Awaitable[CheckResult]]:
        async def run() -> CheckResult:
            assert spec.model
            probe = await client.tool_use_probe(strip_context_suffix(spec.model))
            return _from_probe(spec, probe, ok_message="Returned a tool_use block.")
        return run

    async def probe_candidates() -> tuple[list[str], str]:
        """The models the count_tokens and beta probes may use, best first, and why there is none when empty.
        These probes test the gateway, not a model: a model this key may not use would fail them for the prompt
        check's reason. So they take the mapped models the key's catalog lists; without a catalog, every mapped
        model (a refusal of one then moves on to the next). None at all when the catalog refused the key."""
        models = _probe_models(target)
        try:
            catalog = await asyncio.shield(get_catalog())
        except Exception:  # the catalog check reports it; here it only narrows the choice
            return models, ""
        if catalog.probe.cause in KEY_CAUSES:
            return [], _KEY_REFUSED
        if not catalog.probe.ok:
            return models, ""
        ids = {m.id for m in catalog.models}
        listed = [m for m in models if m in ids]
        return listed, "" if listed else "none of the mapped models is in this key's catalog"

    async def with_usable_model(spec: CheckSpec, probe_fn: Callable[[str], Awaitable[ProbeResult]]
                                ) -> tuple[str, ProbeResult] | CheckResult:
        """Run `probe_fn` with the first model the key may use; a SKIP result when there is none."""
        candidates, why = await probe_candidates()
        refused: list[str] = []
        for model in candidates:
            probe = await probe_fn(model)
            if probe.cause is Cause.AUTH_INVALID_KEY:  # no catalog said so first: the probe itself found out
                why = _KEY_REFUSED
                break
            if probe.cause not in MODEL_CAUSES:
                return model, probe
            refused.append(model)
        if why == _KEY_REFUSED:
            return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                               "Skipped: the key was refused; see the catalog check.", tier=spec.tier,
                               model=spec.model)
        why = why or (f"this key may not use {', '.join(refused)}" if refused else "no model is mapped")
        return CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                           f"Skipped: no model to send it with ({why}); the prompt checks say why.",
                           tier=spec.tier, model=spec.model)

    async def check_count_tokens() -> CheckResult:
        spec = by_id["count_tokens"]
        chosen = await with_usable_model(spec, client.count_tokens)
        if isinstance(chosen, CheckResult):
            return chosen
        model, probe = chosen
        return _from_probe(replace(spec, model=model), probe, warn_only=True, ok_message="count_tokens answered.")

    async def check_betas() -> CheckResult:
        betas = REDUCED_BETAS if target.disable_experimental_betas else None
        chosen = await with_usable_model(by_id["betas"], lambda m: client.beta_probe(m, betas=betas))
        if isinstance(chosen, CheckResult):
            return chosen
        model, probe = chosen
        spec = replace(by_id["betas"], model=model)
        note = " (reduced list: CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1)" if betas else ""
        if probe.cause is Cause.BETA_REJECTED and betas is None:
            # Measured with 2.1.332: after such a 400 Claude Code retries with fewer betas, down to the stable
            # ones; if the gateway accepts those, sessions work, at the cost of two failed requests first.
            reduced = await client.beta_probe(spec.model, betas=REDUCED_BETAS)
            if reduced.ok:
                return CheckResult(
                    spec.id, spec.title, CheckStatus.WARN, Cause.BETA_REJECTED,
                    "The gateway rejects Claude Code's experimental betas. Claude Code recovers by retrying with "
                    "fewer betas, so it works, but its first requests fail and are repeated.",
                    BETA_WARN_FIX,
                    _timings(reduced), dict(probe.request_ids) | dict(reduced.request_ids), spec.tier, spec.model,
                )
        if probe.cause is Cause.BETA_REJECTED:
            # Even the stable betas are refused: CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS cannot help.
            return replace(
                _from_probe(spec, probe),
                fix="Ask your OptScale admin to forward the anthropic-beta header (Bifrost: Allowed Headers); the "
                    "gateway refuses even the betas Claude Code always sends, so no client setting can avoid it.",
            )
        return _from_probe(spec, probe, ok_message=f"anthropic-beta accepted{note}.")

    async def run_all() -> None:
        try:
            async with client:
                if warm_up is not None:  # bounded: a Claude Code that does not answer must not hold the probes
                    await asyncio.wait({warm_up}, timeout=options.check_timeout)
                connect = await guarded(by_id["connect"], check_connect)
                work: list[Awaitable[CheckResult]] = []
                if connect.status is CheckStatus.FAIL:
                    for spec in specs:
                        if spec.id not in results and not spec.id.startswith("config"):
                            emit(finish(CheckResult(spec.id, spec.title, CheckStatus.SKIP, None,
                                                    "Skipped: the gateway is not reachable.", tier=spec.tier,
                                                    model=spec.model)))
                    return
                if "catalog" in by_id:
                    work.append(guarded(by_id["catalog"], check_catalog))
                for spec in specs:
                    if spec.id.startswith("prompt."):
                        work.append(guarded(spec, prompt_check(spec)))
                    elif spec.id.startswith("tools."):
                        work.append(guarded(spec, tool_check(spec)))
                if "count_tokens" in by_id:
                    work.append(guarded(by_id["count_tokens"], check_count_tokens))
                if "betas" in by_id:
                    work.append(guarded(by_id["betas"], check_betas))
                await asyncio.gather(*work)
                # The extra checks (the real client: a `claude` process) start once the direct probes are done, so
                # the probes' timings describe the gateway, not a machine busy starting Claude Code (issue 14).
                await asyncio.gather(*(guarded(spec, lambda f=factory_fn: f(emit))
                                       for spec, factory_fn in options.extra_checks if spec.id in by_id))
                if AGREEMENT in by_id:
                    emit(CheckStarted(AGREEMENT))
                    emit(finish(agreement_result(results, target)))
        finally:
            if session is not None:
                await _end_session(session, warm_up)
            if catalog_task is not None:  # shared, so a check's timeout never cancels it: end it with the run
                catalog_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await catalog_task
            queue.put_nowait(None)

    runner = asyncio.create_task(run_all())
    try:
        while True:
            event = await queue.get()
            if event is None:
                break
            yield event
        await runner
    finally:
        if not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
    yield VerificationDone(_in_plan_order(results, specs, extra_rows), (time.perf_counter() - started) * 1000,
                           catalog=_fetched_catalog(catalog_task))


async def _end_session(session: ExtraSession, warm_up: asyncio.Future[None] | None) -> None:
    if warm_up is not None and not warm_up.done():
        warm_up.cancel()
    with contextlib.suppress(Exception):
        if warm_up is not None:
            await asyncio.wait({warm_up})
        await session.close()


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


def _fetched_catalog(task: asyncio.Future | None) -> tuple[str, ...]:
    """The model ids of a catalog fetch that finished and succeeded; () otherwise (never raises)."""
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return ()
    catalog = task.result()
    return tuple(m.id for m in catalog.models) if catalog.probe.ok else ()


async def verify(target: VerificationTarget, options: VerifyOptions | None = None, **kwargs) -> VerificationDone:
    """Run to completion and return the summary (for callers that do not stream)."""
    done: VerificationDone | None = None
    async for event in run_verification(target, options, **kwargs):
        if isinstance(event, VerificationDone):
            done = event
    assert done is not None
    return done

"""The checks of a verification, one function each: the configuration (the doctor's findings), then the network
checks against the gateway (reachability, the key's catalog, a streamed prompt and a tool call per tier,
count_tokens, the anthropic-beta header), and the agreement of the direct probes with the real client.

Each network check is `async def check_x(probes, spec) -> CheckResult`: `Probes` holds what the checks of one run
share (the gateway client, the target, where streamed text goes, the key's catalog fetched once), so a check can
be run and tested alone. The engine (`engine.py`) decides when each runs and bounds it in time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.models import strip_context_suffix
from optscale_tui.core.verify.events import (
    CheckResult,
    CheckSpec,
    CheckStatus,
    TokenChunk,
    VerificationEvent,
    VerificationTarget,
)
from optscale_tui.core.verify.targets import (
    BETA_WARN_FIX,
    CATALOG_COMMAND,
    CATALOG_FIX,
    extra_models,
    probe_models,
)

if TYPE_CHECKING:
    from optscale_tui.core.gateway.catalog import Catalog
    from optscale_tui.core.gateway.client import GatewayClient
    from optscale_tui.core.gateway.results import ProbeResult

VERIFY_PROMPT = "Reply with one short sentence: the connection from optscale-tui works."
# Claude Code's reduced beta list when CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 (measured with 2.1.332).
REDUCED_BETAS = ("claude-code-20250219", "context-1m-2025-08-07", "interleaved-thinking-2025-05-14", "effort-2025-11-24")
# Refusals about the model itself, not the request: another model may work with the same key.
MODEL_CAUSES = frozenset({Cause.MODEL_NOT_ALLOWED, Cause.PROVIDER_NOT_ALLOWED, Cause.MODEL_UNKNOWN})
# Refusals of the key itself: every request with it fails the same way, so a probe of the gateway (count_tokens, the
# beta header) sent with it could only repeat the catalog's verdict as if it were a problem of its own.
KEY_CAUSES = frozenset({Cause.AUTH_INVALID_KEY, Cause.BUDGET_EXCEEDED, Cause.RATE_LIMITED})
_KEY_REFUSED = "the key was refused"


# --- the configuration: no network ----------------------------------------------------------------------------


def config_result(target: VerificationTarget) -> CheckResult:
    """The "config" row: the worst of the doctor's findings (the rest are counted), or a pass."""
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


# --- a probe's outcome as a check result ----------------------------------------------------------------------


def probe_timings(probe: ProbeResult) -> dict[str, float | int | None]:
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


def from_probe(spec: CheckSpec, probe: ProbeResult, *, warn_only: bool = False, ok_message: str = "") -> CheckResult:
    if probe.ok:
        return CheckResult(spec.id, spec.title, CheckStatus.PASS, None, ok_message or probe.detail, "",
                           probe_timings(probe), dict(probe.request_ids), spec.tier, spec.model, probe.text)
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
        probe_timings(probe),
        dict(probe.request_ids),
        spec.tier,
        spec.model,
        probe.text,
    )


def blame_v1_base(result: CheckResult, v1_base: bool) -> CheckResult:
    """Claude Code appends /v1/messages to ANTHROPIC_BASE_URL: a base left at /v1 shows up as a 404 on the path."""
    if v1_base and result.cause in (Cause.PATH_NOT_FOUND, Cause.MODEL_UNKNOWN):
        info = describe(Cause.BASE_URL_V1)
        return replace(result, cause=Cause.BASE_URL_V1, message=info.message, fix=info.fix)
    return result


# --- the network checks ---------------------------------------------------------------------------------------


@dataclass
class Probes:
    """What the network checks of one run share."""

    client: GatewayClient
    target: VerificationTarget
    emit: Callable[[VerificationEvent], None]  # where a streamed reply's pieces go (TokenChunk)
    prompt: str = VERIFY_PROMPT
    max_tokens: int = 48
    _catalog: asyncio.Future[Catalog] | None = field(default=None, repr=False)

    @property
    def v1_base(self) -> bool:
        return bool(self.target.url and self.target.url.ends_in_v1)

    def catalog(self) -> asyncio.Future[Catalog]:
        """The key's catalog, fetched once per run: the catalog check and the choice of a probe model share it."""
        if self._catalog is None:
            self._catalog = asyncio.ensure_future(self.client.list_models())
        return self._catalog

    def fetched_catalog(self) -> tuple[str, ...]:
        """The model ids of a catalog fetch that finished and succeeded; () otherwise (never raises)."""
        task = self._catalog
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return ()
        catalog = task.result()
        return tuple(m.id for m in catalog.models) if catalog.probe.ok else ()

    async def close(self) -> None:
        """End the catalog fetch with the run (shared, so a check's timeout never cancels it)."""
        if self._catalog is not None:
            self._catalog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._catalog


Check = Callable[[Probes, CheckSpec], Awaitable[CheckResult]]


async def check_connect(probes: Probes, spec: CheckSpec) -> CheckResult:
    probe = await probes.client.reachability()
    url = probes.target.url
    return from_probe(spec, probe, ok_message=f"Reached {url.origin if url else ''}.")


async def check_catalog(probes: Probes, spec: CheckSpec) -> CheckResult:
    catalog = await asyncio.shield(probes.catalog())
    if not catalog.probe.ok:
        if catalog.probe.cause in (Cause.PATH_NOT_FOUND, Cause.BAD_RESPONSE) and not probes.v1_base:
            # OptScale may not expose a model list; the prompt checks prove the key and models instead.
            return replace(from_probe(spec, catalog.probe, warn_only=True),
                           message="The gateway has no model list here; the prompt checks verify the models.")
        return from_probe(spec, catalog.probe)
    ids = {m.id for m in catalog.models}
    tiers = probes.target.tiers
    wanted = [*tiers.mapped().values(), *extra_models(tiers).values()]
    missing = list(dict.fromkeys(m for m in wanted if strip_context_suffix(m) not in ids))
    if missing:
        return CheckResult(
            spec.id, spec.title, CheckStatus.WARN, None,
            f"API key accepted, but the catalog for this key does not list: {', '.join(missing)}.",
            CATALOG_FIX, probe_timings(catalog.probe), dict(catalog.probe.request_ids),
            fix_command=CATALOG_COMMAND,
        )
    return from_probe(spec, catalog.probe,
                      ok_message=f"API key accepted; {len(ids)} models listed, every mapped model among them.")


async def check_prompt(probes: Probes, spec: CheckSpec) -> CheckResult:
    """A streamed prompt to the spec's model; each piece of the reply goes out as a TokenChunk as it comes."""
    assert spec.model
    probe = await probes.client.stream_message(
        strip_context_suffix(spec.model), probes.prompt, max_tokens=probes.max_tokens,
        on_text=lambda text: probes.emit(TokenChunk(spec.id, text)),
    )
    return from_probe(spec, probe, ok_message=f"{spec.model} replied.")


async def check_tools(probes: Probes, spec: CheckSpec) -> CheckResult:
    assert spec.model
    probe = await probes.client.tool_use_probe(strip_context_suffix(spec.model))
    return from_probe(spec, probe, ok_message="Returned a tool_use block.")


async def check_count_tokens(probes: Probes, spec: CheckSpec) -> CheckResult:
    chosen = await with_usable_model(probes, spec, probes.client.count_tokens)
    if isinstance(chosen, CheckResult):
        return chosen
    model, probe = chosen
    return from_probe(replace(spec, model=model), probe, warn_only=True, ok_message="count_tokens answered.")


async def check_betas(probes: Probes, spec: CheckSpec) -> CheckResult:
    client = probes.client
    betas = REDUCED_BETAS if probes.target.disable_experimental_betas else None
    chosen = await with_usable_model(probes, spec, lambda m: client.beta_probe(m, betas=betas))
    if isinstance(chosen, CheckResult):
        return chosen
    model, probe = chosen
    spec = replace(spec, model=model)
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
                probe_timings(reduced), dict(probe.request_ids) | dict(reduced.request_ids), spec.tier, spec.model,
            )
    if probe.cause is Cause.BETA_REJECTED:
        # Even the stable betas are refused: CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS cannot help.
        return replace(
            from_probe(spec, probe),
            fix="Ask your OptScale admin to forward the anthropic-beta header (Bifrost: Allowed Headers); the "
                "gateway refuses even the betas Claude Code always sends, so no client setting can avoid it.",
        )
    return from_probe(spec, probe, ok_message=f"anthropic-beta accepted{note}.")


def direct_check(spec: CheckSpec) -> Check | None:
    """The network check that runs `spec` after "connect" (None for "connect" and checks it does not run)."""
    if spec.id.startswith("prompt."):
        return check_prompt
    if spec.id.startswith("tools."):
        return check_tools
    return {"catalog": check_catalog, "count_tokens": check_count_tokens, "betas": check_betas}.get(spec.id)


# --- the model the gateway probes are sent with -----------------------------------------------------------------


async def probe_candidates(probes: Probes) -> tuple[list[str], str]:
    """The models the count_tokens and beta probes may use, best first, and why there is none when empty.
    These probes test the gateway, not a model: a model this key may not use would fail them for the prompt
    check's reason. So they take the mapped models the key's catalog lists; without a catalog, every mapped
    model (a refusal of one then moves on to the next). None at all when the catalog refused the key."""
    models = probe_models(probes.target)
    try:
        catalog = await asyncio.shield(probes.catalog())
    except Exception:  # the catalog check reports it; here it only narrows the choice
        return models, ""
    if catalog.probe.cause in KEY_CAUSES:
        return [], _KEY_REFUSED
    if not catalog.probe.ok:
        return models, ""
    ids = {m.id for m in catalog.models}
    listed = [m for m in models if m in ids]
    return listed, "" if listed else "none of the mapped models is in this key's catalog"


async def with_usable_model(probes: Probes, spec: CheckSpec, probe_fn: Callable[[str], Awaitable[ProbeResult]]
                            ) -> tuple[str, ProbeResult] | CheckResult:
    """Run `probe_fn` with the first model the key may use; a SKIP result when there is none."""
    candidates, why = await probe_candidates(probes)
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


# --- the direct probes against the real client ----------------------------------------------------------------

AGREEMENT = "agreement"
AGREEMENT_TITLE = "Direct probes and Claude Code reach the same verdict"


def agreement_result(results: Mapping[str, CheckResult], target: VerificationTarget) -> CheckResult:
    """Compare each real-client run with what the direct probes predicted for it; name any disagreement."""
    compared: list[str] = []
    disagreements: list[str] = []
    for check_id, real in results.items():
        if not check_id.startswith("claude.") or real.status is CheckStatus.SKIP:
            continue
        alias = check_id.split(".", 1)[1]
        predicted_fail, predicted = _predicted(results, target, alias)
        actual_fail = real.status is CheckStatus.FAIL
        said = real.cause.value if actual_fail and real.cause else "works"
        label = "the default session" if alias == "default" else f"--model {alias}"
        compared.append(label)
        if predicted_fail != actual_fail:
            disagreements.append(f"{label}: direct probes say {predicted}, Claude Code says {said}"
                                 + (f" ({real.message})" if actual_fail else ""))
    if not compared:
        return CheckResult(AGREEMENT, AGREEMENT_TITLE, CheckStatus.SKIP, None, "The real client did not run.")
    if disagreements:
        return CheckResult(
            AGREEMENT, AGREEMENT_TITLE, CheckStatus.WARN, None,
            "They disagree — " + "; ".join(disagreements) + ".",
            "Trust Claude Code's verdict for how your sessions behave. A difference usually means it trusts other "
            "certificates (NODE_EXTRA_CA_CERTS must be exported in the shell, not set in settings.json), sees other "
            "settings (a project file, CLAUDE_CONFIG_DIR), or recovered by retrying.",
        )
    return CheckResult(AGREEMENT, AGREEMENT_TITLE, CheckStatus.PASS, None, f"Same verdict for {', '.join(compared)}.")


def _predicted(results: Mapping[str, CheckResult], target: VerificationTarget, alias: str) -> tuple[bool, str]:
    """What the direct probes predict for the real client's run of `alias`: (fails?, the cause id or "works")."""
    direct = results.get(f"prompt.{alias}")
    if alias == "default":  # the default session sends the main model when one is set, else the Opus tier's
        direct = results.get("prompt.main") or results.get("prompt.opus")
    if direct is None:  # the default session on an unmapped Opus tier: the doctor's verdict stands for it
        findings = target.config.findings if target.config else ()
        predicted_fail = any(f.cause is Cause.TIER_UNMAPPED and f.severity == "fail" for f in findings)
        predicted = describe(Cause.TIER_UNMAPPED).title if predicted_fail else "works"
    else:
        predicted_fail = direct.status is CheckStatus.FAIL
        predicted = direct.cause.value if predicted_fail and direct.cause else "works"
    betas = results.get("betas")
    if betas is not None and betas.status is CheckStatus.FAIL:
        return True, Cause.BETA_REJECTED.value
    return predicted_fail, predicted

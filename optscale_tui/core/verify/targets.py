"""What a verification verifies (a `VerificationTarget`: the URL, key and tier models as Claude Code would use them),
built from the settings in effect, from values the user entered, or from an unsaved plan; and which models such a
target sends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.key_helper import HelperOutcome, run_api_key_helper
from optscale_tui.core.clients.claude_code.models import RESOLVED_BY_CLAUDE_CODE, strip_context_suffix
from optscale_tui.core.connection import (
    ApiKey,
    ConnectionValues,
    GatewayUrl,
    InputError,
    TierMapping,
    parse_anthropic_base_url,
)
from optscale_tui.core.verify.events import CheckResult, CheckStatus, VerificationTarget

if TYPE_CHECKING:
    from optscale_tui.core.clients.claude_code.effective import EffectiveConfig
    from optscale_tui.core.config.plan import SettingsPlan
    from optscale_tui.core.diagnosis.findings import Finding


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


# --- from the settings in effect ----------------------------------------------------------------------------


def target_from_effective(
    config: EffectiveConfig,
    *,
    cwd: Path | None = None,
    run_helper: Callable[..., HelperOutcome] = run_api_key_helper,
) -> VerificationTarget:
    """Build the target from the configuration Claude Code resolves (doctor's view of every layer). With no token
    in effect but an apiKeyHelper, the helper runs (in `cwd`, as Claude Code started there would) for the key."""
    url, problems = _url_in_effect(config)
    elsewhere = next((f for f in config.findings if f.cause is Cause.KEY_SENT_ELSEWHERE), None)
    if elsewhere is not None and not problems:
        # Probing would send the key where the finding says it must not go: the run stops before any network.
        problems.append(_problem("config.base_url", "Base URL configured", Cause.KEY_SENT_ELSEWHERE,
                                 elsewhere.message, elsewhere.fix))
    key, key_source, key_problems = _key_in_effect(config, elsewhere, cwd, run_helper)
    problems.extend(key_problems)
    betas_off = (config.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS") or "").strip().lower() in ("1", "true", "yes")
    return VerificationTarget(
        url=url,
        key=key,
        tiers=_tiers_in_effect(config),
        source=_source_words(config),
        config=config,
        key_source=key_source,
        disable_experimental_betas=betas_off,
        problems=tuple(problems),
    )


def _url_in_effect(config: EffectiveConfig) -> tuple[GatewayUrl | None, list[CheckResult]]:
    """ANTHROPIC_BASE_URL as Claude Code resolves it, or the problem that stops the run (none set, or unusable)."""
    raw_url = config.get("ANTHROPIC_BASE_URL")
    if not raw_url:
        return None, [_problem(
            "config.base_url",
            "Base URL configured",
            None,
            "No ANTHROPIC_BASE_URL is in effect, so Claude Code talks to Anthropic directly, not to the gateway.",
            WRITE_CONNECTION_FIX,
            WRITE_CONNECTION_COMMAND,
        )]
    try:
        return parse_anthropic_base_url(raw_url), []
    except InputError as exc:
        cause = exc.cause
        return None, [_problem(
            "config.base_url",
            "Base URL configured",
            cause,
            exc.reason,
            describe(cause).fix if cause else "Use the Base URL from OptScale Chat with /v1 replaced by /anthropic.",
        )]


def _key_in_effect(config: EffectiveConfig, elsewhere: Finding | None, cwd: Path | None,
                   run_helper: Callable[..., HelperOutcome]) -> tuple[ApiKey | None, str, list[CheckResult]]:
    """The key Claude Code sends, where it came from when not from the env, and the problem when there is none."""
    # Sent trimmed: the gateway reads the header without the spaces (doctor warns about them: key_whitespace).
    key_value = (config.get("ANTHROPIC_AUTH_TOKEN") or config.get("ANTHROPIC_API_KEY") or "").strip()
    key = ApiKey(key_value) if key_value else None
    helper = config.top_level.get("apiKeyHelper")
    has_helper = helper is not None and bool((helper.value or "").strip())
    if key is not None:
        return key, "", []
    if has_helper and elsewhere is not None:
        return None, f"apiKeyHelper in {helper.where} (not run: its key would go to another host)", []
    if has_helper:
        # As Claude Code does when no token is in effect: run the helper; its output is the key.
        outcome = run_helper(helper.value.strip(), cwd=cwd)
        problems = []
        if outcome.key is None:
            cause = outcome.cause
            problems.append(_problem("config.api_key", "API key configured", cause,
                                     f"{outcome.message} (apiKeyHelper from {helper.where})",
                                     describe(cause).fix if cause else WRITE_CONNECTION_FIX))
        return outcome.key, f"apiKeyHelper in {helper.where}", problems
    return None, "", [_problem(
        "config.api_key",
        "API key configured",
        None,
        "No ANTHROPIC_AUTH_TOKEN is in effect; Claude Code would have no credential for the gateway.",
        WRITE_CONNECTION_FIX,
        WRITE_CONNECTION_COMMAND,
    )]


def _tiers_in_effect(config: EffectiveConfig) -> TierMapping:
    return TierMapping(
        haiku=config.get("ANTHROPIC_DEFAULT_HAIKU_MODEL") or None,
        sonnet=config.get("ANTHROPIC_DEFAULT_SONNET_MODEL") or None,
        opus=config.get("ANTHROPIC_DEFAULT_OPUS_MODEL") or None,
        main_model=_main_model(config),
        subagent_model=(config.get("CLAUDE_CODE_SUBAGENT_MODEL") or "").strip() or None,
    )


def _source_words(config: EffectiveConfig) -> str:
    where = str(config.user_settings)
    if config.user_settings_named:  # say plainly that the other layers still count, and which file Code reads
        return (f"the settings in effect, with {where} in place of the user settings "
                f"(project, local, managed and shell values still apply)")
    return f"settings in effect ({where})"


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


# --- from values the user entered -----------------------------------------------------------------------------


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
    from optscale_tui.core.diagnosis.doctor import inspect_environment

    config = inspect_environment(**where, pending={plan.document.path: plan.new_data})  # type: ignore[arg-type]
    return target_from_values(values, config)


# --- the models a target sends --------------------------------------------------------------------------------

def extra_models(tiers: TierMapping) -> dict[str, str]:
    """The main and subagent models ("main"/"subagent" -> model) that no tier maps: Claude Code sends them too, so
    each gets its own prompt check. One that names a tier's model (or an alias for a tier) is already probed; an
    unmapped tier behind an alias is the doctor's tier_unmapped finding."""
    probed = {strip_context_suffix(m.strip()) for m in tiers.mapped().values()}
    extra: dict[str, str] = {}
    for role, raw in (("main", tiers.main_model), ("subagent", tiers.subagent_model)):
        name = strip_context_suffix((raw or "").strip())
        if not name or name.lower() in RESOLVED_BY_CLAUDE_CODE or name in probed:
            continue
        probed.add(name)
        extra[role] = name
    return extra


def probe_models(target: VerificationTarget) -> list[str]:
    """Every model Claude Code sends, distinct, in the order the count_tokens and beta probes try them: the default
    session's model first (the main model, else the Opus tier), then the other tiers, then the subagent model."""
    mapped = target.tiers.mapped()
    extra = extra_models(target.tiers)
    ordered = [extra.get("main"), *(mapped.get(t) for t in ("opus", "sonnet", "haiku")), extra.get("subagent")]
    return list(dict.fromkeys(strip_context_suffix(m) for m in ordered if m))


def probe_model(target: VerificationTarget) -> str | None:
    models = probe_models(target)
    return models[0] if models else None

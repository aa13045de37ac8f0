"""What is wrong with the configuration Claude Code will really use: each check turns what it sees into findings
(a cause id from core/causes.py, with a message and a fix) or notes.

How Claude Code resolves its layers lives in core/clients/claude_code/effective.py; this module only judges the
result. No secret leaves it unmasked: messages, details and notes use the masked forms (`EffectiveVariable.display`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.effective import (
    EffectiveConfig,
    Resolution,
    as_text,
    display_value,
    key_home_url,
    model_setting,
    resolve_environment,
    resolve_model,
    shown_origin,
    unmapped_tiers,
    url_origin,
)
from optscale_tui.core.clients.claude_code.layers import (
    LAYER_LABEL,
    Layer,
    LoadedFile,
    UnusableFile,
    same_file,
)
from optscale_tui.core.clients.claude_code.models import CLAUDE_CODE_BUILTIN_MODELS
from optscale_tui.core.clients.claude_code.schema import GATEWAY_ENV_KEYS, TIER_VARIABLES
from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.files import read_regular_file
from optscale_tui.core.connection import is_loopback_host
from optscale_tui.core.diagnosis.findings import Findings
from optscale_tui.core.secrets import mask_url_password

# Settings that route Claude Code to a cloud provider instead of ANTHROPIC_BASE_URL.
_ROUTING_VARIABLES: dict[str, str] = {
    "CLAUDE_CODE_USE_BEDROCK": "Amazon Bedrock",
    "CLAUDE_CODE_USE_VERTEX": "Google Vertex AI",
}
_TRUTHY = frozenset({"1", "true", "yes", "on"})


def inspect_environment(
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    platform: str | None = None,
    user_settings: Path | None = None,
    managed_paths: Sequence[Path] | None = None,
    pending: Mapping[Path, Mapping] | None = None,
) -> EffectiveConfig:
    """Everything Claude Code would resolve when started in `cwd` with `env`, and what is wrong with it.

    `user_settings` replaces the user layer's file (e.g. `--settings-file`); `managed_paths` replaces
    `locations.managed_settings_paths(platform)` (files and drop-in directories), so tests never read /etc.
    `pending` maps a settings file to the data it will hold once a plan is saved (`SettingsPlan.new_data`): that
    file is read from there instead of the disk, every other layer as it is now — what Claude Code would resolve
    after the save.
    """
    seen = resolve_environment(cwd=cwd, env=env, home=home, platform=platform, user_settings=user_settings,
                               managed_paths=managed_paths, pending=pending)
    config, files, env = seen.config, seen.files, seen.env
    b = Findings(config.notes)
    for unusable in seen.unusable:
        _check_unusable_file(b, unusable)
    _check_base_url(b, config)
    _check_tiers(b, config)
    _check_credentials(b, config, env, files)
    _check_managed(b, config)
    _check_project(b, config, files, env, seen.cwd)
    _check_key_destination(b, config, files, env, seen.cwd)
    _check_login(b, config, seen.paths.config_dir, seen.paths.config_dir_override, seen.platform)
    _check_config_dir(b, seen)
    _check_misc(b, config, files)
    return replace(config, findings=b.in_order(), notes=tuple(b.notes))


# ---------------------------------------------------------------------------------------------------- checks


def _check_unusable_file(b: Findings, unusable: UnusableFile) -> None:
    layer, path, exc = unusable.layer, unusable.path, unusable.error
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    reason = getattr(exc, "reason", None) or str(exc)
    at = f"; at line {line}, column {column}" if line is not None else ""
    cause = getattr(exc, "cause", Cause.SETTINGS_INVALID)
    if cause is not Cause.SETTINGS_INVALID:  # not its JSON: the file itself cannot be used (a FIFO, a loop, ...)
        b.finding(
            cause, "fail",
            f"The {LAYER_LABEL[layer]} file {path} {reason}, so what it sets (a gateway token, a base URL) "
            "cannot be checked.",
            describe(cause).fix, f"{path}: {reason}",
        )
        return
    b.finding(
        Cause.SETTINGS_INVALID,
        "fail",
        f"The {LAYER_LABEL[layer]} file {path} cannot be used ({reason}{at}). Claude Code silently "
        f"ignores this whole file — every setting in it, including any gateway token and base URL — and then "
        f'reports "Not logged in".',
        # Every screen prints a fix after "Fix: ", so the text must not start with "Fix" again.
        f"Correct the JSON in {path} at line {line}, column {column}; optscale-tui never rewrites a file it cannot "
        "parse."
        if line is not None
        else f"Correct {path} ({reason}); optscale-tui never rewrites a file it cannot parse.",
        f"{path}:{line if line is not None else '?'}:{column if column is not None else '?'}: {reason}",
    )


def _check_config_dir(b: Findings, seen: Resolution) -> None:
    if not seen.paths.config_dir_override:
        return
    b.finding(
        Cause.CONFIG_DIR_OVERRIDE,
        "warn",
        f"CLAUDE_CONFIG_DIR is set to {seen.env['CLAUDE_CONFIG_DIR']}, so Claude Code reads {seen.paths.real_user} and "
        f"ignores ~/.claude/settings.json.",
        detail=f"Claude Code's state (.claude.json, sessions) also lives in {seen.paths.config_dir}.",
    )


def _check_base_url(b: Findings, config: EffectiveConfig) -> None:
    var = config.in_effect("ANTHROPIC_BASE_URL")
    if var is None:
        return
    raw = (var.value or "").strip()
    try:
        parts = urlsplit(raw)
    except ValueError:
        return
    if parts.path.rstrip("/").lower().endswith("/v1"):
        b.finding(
            Cause.BASE_URL_V1,
            "fail",
            f"ANTHROPIC_BASE_URL ({var.where}) is {mask_url_password(raw)}, which ends in /v1; Claude Code appends "
            f"/v1/messages, so its requests go to …/v1/v1/messages and fail.",
            detail=f"Set by {var.where}.",
        )
    if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname):
        b.finding(
            Cause.INSECURE_HTTP,
            "fail",
            f"ANTHROPIC_BASE_URL ({var.where}) uses plain http:// to {parts.hostname}, so the gateway token "
            f"travels unencrypted.",
            detail=f"Set by {var.where}.",
        )


def _check_tiers(b: Findings, config: EffectiveConfig) -> None:
    gateway = config.in_effect("ANTHROPIC_BASE_URL") is not None
    if not gateway:
        # Claude Code talks to Anthropic directly, where its built-in model names are the right ones.
        return
    missing = unmapped_tiers(config)
    detail_lines = [
        f"{t}: {TIER_VARIABLES[t]} not set → `--model {t}` sends {CLAUDE_CODE_BUILTIN_MODELS[t]}" for t in missing
    ]
    detail = ("Unmapped tiers: " + ", ".join(missing) + ".\n" + "\n".join(detail_lines)) if missing else ""
    sent, builtin_tier = resolve_model(config, None)
    unknown = ", which the gateway does not know"
    if builtin_tier is not None:
        main = model_setting(config)
        var = TIER_VARIABLES[builtin_tier]
        if main is not None:
            message = (
                f'{main[1]} is "{main[0]}", an alias for the {builtin_tier} tier, but {var} is not set, so the '
                f"default claude session sends Claude Code's built-in name {sent}{unknown}."
            )
            fix = (
                f"Set {var} to a model from the gateway catalog (or set `model` to a full model name), "
                f"and ideally map all three tiers."
            )
        else:
            message = (
                "Neither ANTHROPIC_DEFAULT_OPUS_MODEL nor `model` / ANTHROPIC_MODEL is set, so the default claude "
                f"session sends Claude Code's built-in name {sent}{unknown}."
            )
            fix = describe(Cause.TIER_UNMAPPED).fix
        b.finding(Cause.TIER_UNMAPPED, "fail", message, fix, detail)
    elif missing:
        tiers = ", ".join(missing)
        sends = []
        for t in missing:
            extra = " and background requests such as session titles" if t == "haiku" else ""
            sends.append(f"`--model {t}`{extra} send{'' if extra else 's'} the built-in {CLAUDE_CODE_BUILTIN_MODELS[t]}")
        plural = len(missing) > 1
        b.finding(
            Cause.TIER_UNMAPPED,
            "warn",
            f"The default session is mapped ({sent}), but the {tiers} tier{'s are' if plural else ' is'} not: "
            f"{'; '.join(sends)}, which the gateway does not know.",
            f"Map the {tiers} tier{'s' if plural else ''} to models from the gateway catalog "
            f"({', '.join(TIER_VARIABLES[t] for t in missing)}).",
            detail,
        )


def _check_credentials(
    b: Findings, config: EffectiveConfig, env: Mapping[str, str], files: Sequence[LoadedFile]
) -> None:
    token = config.in_effect("ANTHROPIC_AUTH_TOKEN")
    api_key = config.in_effect("ANTHROPIC_API_KEY")
    helper = config.top_level.get("apiKeyHelper")
    if api_key is not None and token is not None:
        if api_key.source is Layer.PROCESS:
            origin = "is exported in the process environment (your shell)"
            fix = describe(Cause.SHELL_API_KEY).fix
        else:
            origin = f"is set in the env block of {api_key.source_path}"
            fix = f"Remove ANTHROPIC_API_KEY from the env block of {api_key.source_path}."
        b.finding(
            Cause.SHELL_API_KEY,
            "warn",
            f"ANTHROPIC_API_KEY ({api_key.display}) {origin} while ANTHROPIC_AUTH_TOKEN ({token.display}) comes from "
            f"{token.where}, so Claude Code sends both an x-api-key and an Authorization: Bearer header "
            f"(interactive sessions first ask whether to use the key).",
            fix,
            f"ANTHROPIC_API_KEY from {api_key.where}; ANTHROPIC_AUTH_TOKEN from {token.where}.",
        )
    elif api_key is not None:
        # Not a conflict: the key is the only credential. Claude Code sends it as x-api-key, which works, but
        # interactive sessions ask to approve it and a fresh HOME fails its onboarding connectivity check offline.
        b.note(
            f"The gateway credential is ANTHROPIC_API_KEY ({api_key.display}, from {api_key.where}); Claude Code "
            f"sends it as x-api-key. ANTHROPIC_AUTH_TOKEN avoids the interactive approval prompt and the "
            f"first-run connectivity check, so applying the connection writes that instead."
        )
    for var in (token, api_key):
        if var is not None and var.value and var.value != var.value.strip() and var.value.strip():
            b.finding(
                Cause.KEY_WHITESPACE,
                "warn",
                f"{var.name} ({var.display}, from {var.where}) has spaces or a line break around it. Claude Code "
                f"connects anyway (the gateway reads the header trimmed), and verification sends it trimmed too.",
                describe(Cause.KEY_WHITESPACE).fix if var.source_path is not None and var.source is not Layer.MANAGED
                else f"Remove the spaces around {var.name} where it is set ({var.where}).",
            )
    if helper is not None:
        also = (
            " ANTHROPIC_AUTH_TOKEN / ANTHROPIC_API_KEY take precedence over it, so it only matters if they are removed."
            if token or api_key
            else " Its output becomes the credential Claude Code sends."
        )
        b.note(f"apiKeyHelper is set in {helper.where} ({helper.display}).{also}")
    if config.in_effect("ANTHROPIC_BASE_URL") and not (token or api_key or helper):
        b.note(
            "ANTHROPIC_BASE_URL is set but no ANTHROPIC_AUTH_TOKEN, ANTHROPIC_API_KEY or apiKeyHelper is in effect: "
            'Claude Code will report "Not logged in" (or use a claude.ai login the gateway does not accept).'
        )


def _check_managed(b: Findings, config: EffectiveConfig) -> None:
    for key in ("forceLoginMethod", "forceLoginOrgUUID"):
        var = config.top_level.get(key)
        if var is None or not (var.value or "").strip():
            continue
        if var.source is Layer.MANAGED:
            b.finding(
                Cause.MANAGED_LOGIN_REQUIRED,
                "fail",
                f"Managed settings ({var.source_path}) set {key} = {var.display}, so Claude Code requires a "
                f"claude.ai / Console login, which conflicts with the gateway credentials.",
                detail="Managed settings cannot be overridden by user or project settings.",
            )
        else:
            b.note(
                f"{key} = {var.display} is set in {var.where}; it restricts how Claude Code logs in and may conflict "
                f"with the gateway credentials. Remove it unless it is required."
            )
    for name in GATEWAY_ENV_KEYS:
        var = config.variables.get(name)
        if var is not None and var.source is Layer.MANAGED and var.overridden:
            b.note(
                f"{name} is set by managed settings ({var.source_path}) to {var.display}; it overrides your own value "
                f"and only the administrator can change it."
            )


def _check_project(
    b: Findings, config: EffectiveConfig, files: Sequence[LoadedFile], env: Mapping[str, str], cwd: Path
) -> None:
    user = next((f for f in files if f.layer is Layer.USER), None)
    user_env = user.env() if user else {}
    user_data = (user.data or {}) if user else {}
    # Only an override when the user's own configuration (user file or shell) has gateway settings underneath;
    # a folder configured on purpose at project scope has nothing to override.
    underneath = any(k in user_env or k in env for k in GATEWAY_ENV_KEYS) or "model" in user_data
    for f in files:
        if f.layer not in (Layer.PROJECT, Layer.LOCAL) or f.data is None:
            continue
        keys: list[str] = []
        details: list[str] = []
        for name in GATEWAY_ENV_KEYS:
            var = config.variables.get(name)
            if var is None or var.source_path is None or not same_file(var.source_path, f.path):
                continue
            below = as_text(user_env[name]) if name in user_env else env.get(name)
            if var.value == below:
                continue
            keys.append(name)
            details.append(f"{name}: {var.display} (yours: {display_value(name, below)})")
        top = config.top_level.get("model")
        if top is not None and top.source_path is not None and same_file(top.source_path, f.path):
            below = as_text(user_data["model"]) if "model" in user_data else None
            if top.value != below:
                keys.append("model")
                details.append(f"model: {top.display} (yours: {display_value('model', below)})")
        if not keys:
            continue
        listed = ", ".join(keys)
        if not underneath:
            b.note(
                f"The gateway settings {listed} come from {f.path}; they apply only when Claude Code runs in {cwd} "
                f"(interactive sessions apply a project env only after the folder is trusted)."
            )
            continue
        b.finding(
            Cause.PROJECT_OVERRIDE,
            "warn",
            f"{f.path} sets {listed}, which {'wins' if len(keys) == 1 else 'win'} over your settings "
            f"({config.user_settings}) whenever Claude Code runs "
            f"in {cwd}.",
            f"Remove {listed} from {f.path}, or apply the connection to that scope instead.",
            "\n".join(details),
        )


def _check_key_destination(
    b: Findings, config: EffectiveConfig, files: Sequence[LoadedFile], env: Mapping[str, str], cwd: Path
) -> None:
    """The key must not be sent to a host it was not saved for because another layer names another URL (e.g. a
    project's .claude/settings.json pointing the user's own key at someone else's server)."""
    helper = config.top_level.get("apiKeyHelper")
    key = (config.in_effect("ANTHROPIC_AUTH_TOKEN") or config.in_effect("ANTHROPIC_API_KEY")
           or (helper if helper is not None and (helper.value or "").strip() else None))
    if key is None:
        return
    url = config.in_effect("ANTHROPIC_BASE_URL")
    if url is not None and url.source is key.source and url.source_path == key.source_path:
        return  # saved together: whatever host it is, the key was meant for it
    home_url, home_where = key_home_url(key, files, env)
    sent_to, saved_for = url_origin(url.value or "" if url else ""), url_origin(home_url)
    if sent_to is None or saved_for is None or sent_to == saved_for:
        return
    host = shown_origin(sent_to)
    cancelled = config.variables.get("ANTHROPIC_BASE_URL") if url is None else None
    url_where = url.where if url is not None else (cancelled.where if cancelled else "Claude Code's default")
    if url is None:
        fix = f"Remove the empty ANTHROPIC_BASE_URL from {url_where}: it cancels the URL your key was saved with."
    elif url.source is Layer.MANAGED:
        fix = (f"Ask the administrator who manages {url.source_path} which key belongs to {host}; do not use this key "
               "with it.")
    elif url.source is Layer.PROCESS:
        fix = f"Unset ANTHROPIC_BASE_URL in your shell, or save the key for {host} in the same place."
    else:
        fix = (f"Remove the ANTHROPIC_BASE_URL override from {url.source_path} (or, if {host} is meant to get this "
               f"key, save the key in that file too).")
    b.finding(
        Cause.KEY_SENT_ELSEWHERE,
        "fail",
        f"{'ANTHROPIC_BASE_URL from' if url is not None else 'An empty ANTHROPIC_BASE_URL in'} {url_where} sends "
        f"requests to {host}, but the API key {key.name} "
        f"({key.display}) comes from {key.where} and was saved for {shown_origin(saved_for)} (the URL "
        f"{'next to it' if home_where == key.where else 'from ' + home_where}). Claude Code started in {cwd} would "
        f"send your key to {host}; optscale-tui does not send it.",
        fix,
        f"URL: {url_where} → {host}\nKey: {key.where} → saved for {shown_origin(saved_for)}",
    )


def _check_login(
    b: Findings,
    config: EffectiveConfig,
    config_dir: Path,
    config_dir_override: bool,
    platform: str,
) -> None:
    evidence: list[str] = []
    credentials = config_dir / ".credentials.json"
    if credentials.is_file():
        evidence.append(f"{credentials} exists")
    # $CLAUDE_CONFIG_DIR/.claude.json when the variable is set, else ~/.claude.json (next to ~/.claude).
    state_file = (config_dir if config_dir_override else config_dir.parent) / ".claude.json"
    try:  # bounded, never a FIFO or device, and a deep or odd file is simply no evidence (not a traceback)
        raw = read_regular_file(state_file)
        state = json.loads(raw.decode("utf-8-sig")) if raw is not None else None
    except (SettingsError, ValueError, RecursionError):
        state = None
    if isinstance(state, dict):
        if isinstance(state.get("oauthAccount"), dict):
            evidence.append(f"{state_file} has an oauthAccount (claude.ai login)")
        if isinstance(state.get("primaryApiKey"), str) and state["primaryApiKey"]:
            evidence.append(f"{state_file} holds a Console API key (primaryApiKey)")
    if evidence:
        has_gateway_credential = bool(config.in_effect("ANTHROPIC_AUTH_TOKEN") or config.in_effect("ANTHROPIC_API_KEY"))
        effect = (
            "the gateway token takes precedence, but Claude Code may warn about an auth conflict"
            if has_gateway_credential
            else "with no gateway token in effect, Claude Code would use that login instead of the gateway"
        )
        b.finding(
            Cause.CLAUDE_LOGIN_PRESENT,
            "warn",
            f"A claude.ai / Console login is stored for Claude Code ({'; '.join(evidence)}); {effect}.",
            detail="\n".join(evidence),
        )
    elif platform == "darwin":
        b.note(
            "On macOS Claude Code keeps a claude.ai login in the Keychain, which is not checked here; "
            "`claude auth status` shows it, `claude auth logout` removes it."
        )


def _check_misc(b: Findings, config: EffectiveConfig, files: Sequence[LoadedFile]) -> None:
    moved = config.variables.get("CLAUDE_CONFIG_DIR")
    if moved is not None and moved.source is not Layer.PROCESS:
        b.note(
            f"CLAUDE_CONFIG_DIR in the env block of {moved.source_path} does not move the settings file; "
            f"only an exported CLAUDE_CONFIG_DIR does."
        )
    for name, provider in _ROUTING_VARIABLES.items():
        var = config.in_effect(name)
        if var is not None and (var.value or "").strip().lower() in _TRUTHY:
            b.note(
                f"{name} is set in {var.where}, so Claude Code sends requests to {provider}, not to "
                f"ANTHROPIC_BASE_URL; unset it to use the gateway."
            )
    for f in files:
        if "NODE_EXTRA_CA_CERTS" in f.env():
            b.note(
                f"NODE_EXTRA_CA_CERTS in the env block of {f.path} is ignored by Claude Code (Node reads it at "
                f"start-up); export it in your shell profile instead."
            )
    ca = config.in_effect("NODE_EXTRA_CA_CERTS")
    if ca is not None and ca.source is Layer.PROCESS and not Path(ca.value or "").expanduser().is_file():
        b.note(f"NODE_EXTRA_CA_CERTS points to {ca.value}, which is not a file; Claude Code will not trust that CA.")

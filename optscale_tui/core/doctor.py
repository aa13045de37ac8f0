"""The configuration Claude Code will really use, variable by variable, and what is wrong with it.

Claude Code merges several settings files and the process environment. The rules below were measured with the
real CLI (2.1.332, see docs/reference "claude-code-on-the-wire"), not taken from documentation alone:

* env variables, high → low: managed settings (managed-settings.json, then managed-settings.d/*.json in
  alphabetical order, later files win) > local (`<cwd>/.claude/settings.local.json`) > project
  (`<cwd>/.claude/settings.json`) > user (`$CLAUDE_CONFIG_DIR/settings.json` or `~/.claude/settings.json`) >
  the process environment. A settings env block beats an exported shell variable; `""` cancels one.
* top-level keys (`model`, `apiKeyHelper`, `forceLoginMethod`, `forceLoginOrgUUID`) follow the same order without
  the process layer.
* a settings file that does not parse is ignored as a whole, silently; that layer contributes nothing.
* the default session follows the OPUS tier; `model` / ANTHROPIC_MODEL replaces it; the aliases
  `haiku|sonnet|opus` resolve to the tier variables, and unmapped tiers send Claude Code's built-in names.

Nothing here writes anything, and no secret leaves this module unmasked: `EffectiveVariable.value` holds the raw
value (for the verification engine) but is excluded from repr; messages, details and notes use masked forms.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.connection import is_loopback_host, mask_secret, strip_context_suffix
from optscale_tui.core.locations import Scope, claude_config_dir, managed_settings_paths, resolve_target
from optscale_tui.core.secrets import clean_outside_text, is_secret_name, mask_keys
from optscale_tui.core.settings_file import SettingsError, load_settings, read_regular_file

Severity = Literal["warn", "fail"]


class Layer(StrEnum):
    """Where a value comes from. Declared in precedence order, high → low, as Claude Code resolves env."""

    MANAGED = "managed"
    LOCAL = "local"
    PROJECT = "project"
    USER = "user"
    PROCESS = "process"


PRECEDENCE: tuple[Layer, ...] = tuple(Layer)

# What Claude Code sends for a tier whose ANTHROPIC_DEFAULT_<TIER>_MODEL is not set.
# Measured with 2.1.332 (2.1.197 used claude-opus-4-8 and claude-sonnet-5 instead).
CLAUDE_CODE_BUILTIN_MODELS: dict[str, str] = {
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-4-5",
}

TIER_VARIABLES: dict[str, str] = {
    "haiku": "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "sonnet": "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "opus": "ANTHROPIC_DEFAULT_OPUS_MODEL",
}

VARIABLES_OF_INTEREST: tuple[str, ...] = (
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME",
    "ANTHROPIC_DEFAULT_FABLE_MODEL",
    "ANTHROPIC_DEFAULT_FABLE_MODEL_NAME",
    "CLAUDE_CODE_SUBAGENT_MODEL",
    "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS",
    "ANTHROPIC_CUSTOM_HEADERS",
    "CLAUDE_CONFIG_DIR",
    "NODE_EXTRA_CA_CERTS",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
)

TOP_LEVEL_KEYS: tuple[str, ...] = ("model", "apiKeyHelper", "forceLoginMethod", "forceLoginOrgUUID")

# Keys that decide where Claude Code sends requests, with what credential and for which model: a project file
# setting one of these changes the user's gateway connection (cause project_override).
GATEWAY_ENV_KEYS: tuple[str, ...] = (
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_FABLE_MODEL",
)

# Settings that route Claude Code to a cloud provider instead of ANTHROPIC_BASE_URL.
_ROUTING_VARIABLES: dict[str, str] = {
    "CLAUDE_CODE_USE_BEDROCK": "Amazon Bedrock",
    "CLAUDE_CODE_USE_VERTEX": "Google Vertex AI",
}
_PROCESS_PREFIXES = ("ANTHROPIC_", "CLAUDE_CODE_")
_PROXY_NAMES = frozenset({"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"})
_SECRET_HEADER_RE = re.compile(r"auth|key|token|secret|cookie|pass", re.IGNORECASE)
_TRUTHY = frozenset({"1", "true", "yes", "on"})

_LAYER_LABEL = {
    Layer.MANAGED: "managed settings",
    Layer.LOCAL: "local project settings",
    Layer.PROJECT: "project settings",
    Layer.USER: "user settings",
    Layer.PROCESS: "the process environment",
}


@dataclass(frozen=True, slots=True)
class EffectiveVariable:
    """One value as Claude Code resolves it. `value` is raw (never in repr); `display` is safe to show."""

    name: str
    value: str | None = field(repr=False)
    display: str
    source: Layer
    source_path: Path | None
    overridden: tuple[tuple[Layer, Path | None], ...] = ()

    @property
    def where(self) -> str:
        """Plain-words origin: 'the process environment' or the file path."""
        return _where(self.source, self.source_path)


@dataclass(frozen=True, slots=True)
class Finding:
    cause: Cause
    severity: Severity
    message: str
    fix: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SettingsSource:
    """A settings file the doctor looked at (also the ones that are missing or broken)."""

    layer: Layer
    path: Path
    exists: bool
    valid: bool  # False: the file exists but Claude Code ignores it (does not parse / cannot be read)


@dataclass(frozen=True)
class EffectiveConfig:
    variables: dict[str, EffectiveVariable]
    user_settings: Path  # the file inspected as the user layer (what apply writes by default)
    config_dir_override: bool  # CLAUDE_CONFIG_DIR is set in the process environment
    top_level: dict[str, EffectiveVariable]  # model, apiKeyHelper, forceLoginMethod, forceLoginOrgUUID
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()  # facts worth showing that have no cause id (Bedrock/Vertex, apiKeyHelper …)
    sources: tuple[SettingsSource, ...] = ()  # every settings file considered, high → low precedence
    # Another file was named to stand in for the user layer (`--settings`): commands that redo this inspection
    # (the fix-its) must name it again.
    user_settings_named: bool = False

    def get(self, name: str) -> str | None:
        """The raw effective value of an env variable ("" when a settings file cancels it), None when unset."""
        var = self.variables.get(name)
        return var.value if var else None

    def setting(self, key: str) -> str | None:
        """The effective top-level settings value (`model`, `apiKeyHelper`, …) as text, None when unset."""
        var = self.top_level.get(key)
        return var.value if var else None

    @property
    def worst_severity(self) -> Severity | None:
        if any(f.severity == "fail" for f in self.findings):
            return "fail"
        return "warn" if self.findings else None


# --------------------------------------------------------------------------------------------------- display


def is_secret_variable(name: str) -> bool:
    return is_secret_name(name)  # the one rule (core/secrets.py), shared with every diff and screen


def _redact_inline(text: str) -> str:
    """Mask anything that looks like a key inside free text (apiKeyHelper commands, header values)."""
    return mask_keys(text)


def _mask_url_password(value: str) -> str:
    try:
        parts = urlsplit(value)
        if parts.password is None:
            return value
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return "…"


def _mask_headers(value: str) -> str:
    lines = []
    for line in value.replace("\\n", "\n").split("\n"):
        name, sep, rest = line.partition(":")
        if sep and _SECRET_HEADER_RE.search(name):
            lines.append(f"{name}: {mask_secret(rest.strip()) or '…'}")
        else:
            lines.append(_redact_inline(line))
    return "\\n".join(lines)


def display_value(name: str, value: str | None) -> str:
    """The form of a value that may be shown, logged or reported: secrets masked, and (a project file is anyone's
    text) no escape sequence or control character, and nothing shaped like a key, in any value."""
    return clean_outside_text(_display_value(name, value), single_line=True)


def _display_value(name: str, value: str | None) -> str:
    if value is None:
        return "(not set)"
    if value == "":
        return "(empty)"
    if name == "apiKeyHelper":  # a command or script path; mask only what looks like a key inside it
        return _redact_inline(value)
    if is_secret_variable(name):
        return mask_secret(value)
    if name in _PROXY_NAMES:
        return _mask_url_password(value)
    if name == "ANTHROPIC_CUSTOM_HEADERS":
        return _mask_headers(value)
    return value


def _where(layer: Layer, path: Path | None) -> str:
    return str(path) if path is not None else _LAYER_LABEL[layer]


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# ---------------------------------------------------------------------------------------------------- layers


@dataclass(slots=True)
class _LoadedFile:
    layer: Layer
    path: Path
    data: dict | None  # None: missing, unreadable or invalid (contributes nothing)

    def env(self) -> dict[str, object]:
        if not self.data:
            return {}
        env = self.data.get("env")
        return env if isinstance(env, dict) else {}


def _managed_files(paths: Sequence[Path]) -> list[Path]:
    """managed-settings.json first, then each drop-in directory's *.json in alphabetical order (later wins)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted((p for p in path.glob("*.json") if not p.name.startswith(".") and p.is_file()), key=lambda p: p.name)
            )
        elif path.suffix.lower() == ".json" or path.is_file():
            files.append(path)
    return files


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13); loading it reports the loop
        return a.absolute() == b.absolute()


class _Builder:
    def __init__(self, pending: Mapping[Path, Mapping] | None = None) -> None:
        self.findings: list[Finding] = []
        self.notes: list[str] = []
        self.sources: list[SettingsSource] = []
        self.pending = dict(pending or {})

    def finding(self, cause: Cause, severity: Severity, message: str, fix: str | None = None, detail: str = "") -> None:
        self.findings.append(Finding(cause, severity, message, fix or describe(cause).fix, detail))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def load(self, layer: Layer, path: Path) -> _LoadedFile:
        for pending_path, data in self.pending.items():
            if _same_file(pending_path, path):  # as it will be once saved, not as it is on disk
                self.sources.append(SettingsSource(layer, path, True, True))
                self._check_env_block(path, dict(data))
                return _LoadedFile(layer, path, dict(data))
        try:
            doc = load_settings(path)
        except SettingsError as exc:
            self.sources.append(SettingsSource(layer, path, True, False))
            self._invalid(layer, path, exc)
            return _LoadedFile(layer, path, None)
        except OSError as exc:
            self.sources.append(SettingsSource(layer, path, True, False))
            self.note(f"Could not read {_LAYER_LABEL[layer]} {path} ({exc.strerror or exc}); it was left out.")
            return _LoadedFile(layer, path, None)
        self.sources.append(SettingsSource(layer, path, doc.exists, True))
        if not doc.exists:
            return _LoadedFile(layer, path, None)
        data = doc.data if isinstance(doc.data, dict) else {}
        self._check_env_block(path, data)
        return _LoadedFile(layer, path, data)

    def _invalid(self, layer: Layer, path: Path, exc: SettingsError) -> None:
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        reason = getattr(exc, "reason", None) or str(exc)
        at = f"; at line {line}, column {column}" if line is not None else ""
        cause = getattr(exc, "cause", Cause.SETTINGS_INVALID)
        if cause is not Cause.SETTINGS_INVALID:  # not its JSON: the file itself cannot be used (a FIFO, a loop, ...)
            self.finding(
                cause, "fail",
                f"The {_LAYER_LABEL[layer]} file {path} {reason}, so what it sets (a gateway token, a base URL) "
                "cannot be checked.",
                describe(cause).fix, f"{path}: {reason}",
            )
            return
        self.finding(
            Cause.SETTINGS_INVALID,
            "fail",
            f"The {_LAYER_LABEL[layer]} file {path} cannot be used ({reason}{at}). Claude Code silently "
            f"ignores this whole file — every setting in it, including any gateway token and base URL — and then "
            f'reports "Not logged in".',
            # Every screen prints a fix after "Fix: ", so the text must not start with "Fix" again.
            f"Correct the JSON in {path} at line {line}, column {column}; optscale-tui never rewrites a file it cannot "
            "parse."
            if line is not None
            else f"Correct {path} ({reason}); optscale-tui never rewrites a file it cannot parse.",
            f"{path}:{line if line is not None else '?'}:{column if column is not None else '?'}: {reason}",
        )

    def _check_env_block(self, path: Path, data: dict) -> None:
        env = data.get("env")
        if env is None:
            return
        if not isinstance(env, dict):
            self.note(f'"env" in {path} is not an object, so none of its variables apply; it must be {{"NAME": "value"}}.')
            return
        odd = [k for k, v in env.items() if not isinstance(v, str)]
        if odd:
            self.note(
                f"{path} has non-string env values ({', '.join(sorted(odd))}). Claude Code still reads the file, "
                f'but write them as strings (e.g. "600000") to be sure they apply as intended.'
            )


def _resolve(
    name: str, files: Sequence[_LoadedFile], env: Mapping[str, str] | None
) -> EffectiveVariable | None:
    """Resolve `name` over `files` (high → low), then the process env when given."""
    hits: list[tuple[Layer, Path | None, str]] = []
    for f in files:
        source = f.env() if env is not None else (f.data or {})
        if name in source:
            hits.append((f.layer, f.path, _as_text(source[name])))
    if env is not None and name in env:
        hits.append((Layer.PROCESS, None, env[name]))
    if not hits:
        return None
    layer, path, value = hits[0]
    return EffectiveVariable(
        name=name,
        value=value,
        display=display_value(name, value),
        source=layer,
        source_path=path,
        overridden=tuple((lay, p) for lay, p, _ in hits[1:]),
    )


# ------------------------------------------------------------------------------------------------ inspection


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
    env = dict(os.environ) if env is None else dict(env)
    cwd = Path.cwd() if cwd is None else Path(cwd)
    platform = platform or sys.platform
    b = _Builder(pending)

    config_dir = claude_config_dir(env, home, platform=platform)
    default_dir = claude_config_dir({}, home, platform=platform)
    # Set, and pointing somewhere else than ~/.claude (setting it to ~/.claude itself changes nothing).
    config_dir_override = bool(env.get("CLAUDE_CONFIG_DIR", "").strip()) and not _same_file(config_dir, default_dir)
    real_user_file = config_dir / "settings.json"
    where = {"cwd": cwd, "env": env, "home": home, "platform": platform}
    user_path = resolve_target(user_settings, Scope.USER, **where).path
    project_path = resolve_target(None, Scope.PROJECT, **where).path
    local_path = resolve_target(None, Scope.LOCAL, **where).path

    # Load high → low. Within managed, later files win, so they come first.
    if managed_paths is None:
        managed_paths = managed_settings_paths(platform)
    managed = [b.load(Layer.MANAGED, p) for p in _managed_files(managed_paths)]
    files: list[_LoadedFile] = list(reversed(managed))
    # Working in the home folder (or wherever <cwd>/.claude is the user's own folder): there is no project layer.
    # The "project" file is the user file, so it can neither override it nor be removed as an override.
    user_dirs = (user_path.parent, real_user_file.parent, default_dir)
    if not any(_same_file(project_path.parent, d) for d in user_dirs):
        files.append(b.load(Layer.LOCAL, local_path))
        files.append(b.load(Layer.PROJECT, project_path))
    files.append(b.load(Layer.USER, user_path))
    b.sources.sort(key=lambda s: PRECEDENCE.index(s.layer))

    named_user_file = user_settings is not None and not _same_file(user_path, real_user_file)
    if named_user_file:
        b.note(f"Inspecting {user_path} as the user settings; Claude Code itself reads {real_user_file}.")

    names: list[str] = list(VARIABLES_OF_INTEREST)
    for f in files:
        names.extend(k for k in f.env() if isinstance(k, str) and k not in names)
    names.extend(k for k in sorted(env) if k.startswith(_PROCESS_PREFIXES) and k not in names)
    variables = {}
    for name in names:
        var = _resolve(name, files, env)
        if var is not None:
            variables[name] = var
    top_level = {}
    for key in TOP_LEVEL_KEYS:
        var = _resolve(key, files, None)
        if var is not None:
            top_level[key] = var

    config = EffectiveConfig(
        variables=variables,
        user_settings=user_path,
        config_dir_override=config_dir_override,
        top_level=top_level,
        user_settings_named=named_user_file,
    )

    _check_base_url(b, config)
    _check_tiers(b, config)
    _check_credentials(b, config, env, files)
    _check_managed(b, config)
    _check_project(b, config, files, env, cwd)
    _check_key_destination(b, config, files, env, cwd)
    _check_login(b, config, config_dir, config_dir_override, platform)
    if config_dir_override:
        b.finding(
            Cause.CONFIG_DIR_OVERRIDE,
            "warn",
            f"CLAUDE_CONFIG_DIR is set to {env['CLAUDE_CONFIG_DIR']}, so Claude Code reads {real_user_file} and "
            f"ignores ~/.claude/settings.json.",
            detail=f"Claude Code's state (.claude.json, sessions) also lives in {config_dir}.",
        )
    _check_misc(b, config, files)

    order = {"fail": 0, "warn": 1}
    findings = tuple(sorted(b.findings, key=lambda f: order[f.severity]))
    return EffectiveConfig(
        variables=variables,
        user_settings=user_path,
        config_dir_override=config_dir_override,
        top_level=top_level,
        user_settings_named=named_user_file,
        findings=findings,
        notes=tuple(b.notes),
        sources=tuple(b.sources),
    )


# ---------------------------------------------------------------------------------------------------- checks


def _set(config: EffectiveConfig, name: str) -> EffectiveVariable | None:
    """The effective variable when it has a non-empty value."""
    var = config.variables.get(name)
    return var if var is not None and (var.value or "").strip() else None


def _check_base_url(b: _Builder, config: EffectiveConfig) -> None:
    var = _set(config, "ANTHROPIC_BASE_URL")
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
            f"ANTHROPIC_BASE_URL ({var.where}) is {_mask_url_password(raw)}, which ends in /v1; Claude Code appends "
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


def _model_source(config: EffectiveConfig) -> tuple[str, str] | None:
    """The main-model setting, ANTHROPIC_MODEL over top-level `model`: (value, plain-words origin)."""
    var = _set(config, "ANTHROPIC_MODEL")
    if var is not None:
        return (var.value or "").strip(), f"ANTHROPIC_MODEL ({var.where})"
    top = config.top_level.get("model")
    if top is not None and (top.value or "").strip() and top.value and not top.value.startswith(("{", "[")):
        return top.value.strip(), f"`model` in {top.where}"
    return None


def _resolve_name(config: EffectiveConfig, name: str) -> tuple[str, str | None]:
    """(model sent, tier whose built-in name was used or None)."""
    base = strip_context_suffix(name.strip())
    alias = base.lower()
    if alias == "default":
        alias = "opus"
    if alias in TIER_VARIABLES:
        mapped = _set(config, TIER_VARIABLES[alias])
        if mapped is not None:
            return strip_context_suffix((mapped.value or "").strip()), None
        return CLAUDE_CODE_BUILTIN_MODELS[alias], alias
    return base, None


def _resolve_model(config: EffectiveConfig, alias: str | None) -> tuple[str, str | None]:
    if alias is None or not alias.strip():
        main = _model_source(config)
        return _resolve_name(config, main[0] if main else "opus")
    return _resolve_name(config, alias)


def claude_resolved_model(config: EffectiveConfig, alias: str | None = None) -> str:
    """The model name Claude Code sends: the default session (alias None) or `--model haiku|sonnet|opus|<id>`.

    Per the measured table (2.1.332): the default follows `ANTHROPIC_MODEL` / `model` (aliases resolve to their
    tier), else the OPUS tier; an unmapped tier sends the built-in name from CLAUDE_CODE_BUILTIN_MODELS; any other
    `--model` id passes through verbatim. A `[1m]` suffix is stripped, as Claude Code does before sending.
    """
    return _resolve_model(config, alias)[0]


def unmapped_tiers(config: EffectiveConfig) -> tuple[str, ...]:
    return tuple(t for t, name in TIER_VARIABLES.items() if _set(config, name) is None)


def _check_tiers(b: _Builder, config: EffectiveConfig) -> None:
    gateway = _set(config, "ANTHROPIC_BASE_URL") is not None
    if not gateway:
        # Claude Code talks to Anthropic directly, where its built-in model names are the right ones.
        return
    missing = unmapped_tiers(config)
    detail_lines = [
        f"{t}: {TIER_VARIABLES[t]} not set → `--model {t}` sends {CLAUDE_CODE_BUILTIN_MODELS[t]}" for t in missing
    ]
    detail = ("Unmapped tiers: " + ", ".join(missing) + ".\n" + "\n".join(detail_lines)) if missing else ""
    sent, builtin_tier = _resolve_model(config, None)
    unknown = ", which the gateway does not know"
    if builtin_tier is not None:
        main = _model_source(config)
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
    b: _Builder, config: EffectiveConfig, env: Mapping[str, str], files: Sequence[_LoadedFile]
) -> None:
    token = _set(config, "ANTHROPIC_AUTH_TOKEN")
    api_key = _set(config, "ANTHROPIC_API_KEY")
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
    if _set(config, "ANTHROPIC_BASE_URL") and not (token or api_key or helper):
        b.note(
            "ANTHROPIC_BASE_URL is set but no ANTHROPIC_AUTH_TOKEN, ANTHROPIC_API_KEY or apiKeyHelper is in effect: "
            'Claude Code will report "Not logged in" (or use a claude.ai login the gateway does not accept).'
        )


def _check_managed(b: _Builder, config: EffectiveConfig) -> None:
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
    b: _Builder, config: EffectiveConfig, files: Sequence[_LoadedFile], env: Mapping[str, str], cwd: Path
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
            if var is None or var.source_path is None or not _same_file(var.source_path, f.path):
                continue
            below = _as_text(user_env[name]) if name in user_env else env.get(name)
            if var.value == below:
                continue
            keys.append(name)
            details.append(f"{name}: {var.display} (yours: {display_value(name, below)})")
        top = config.top_level.get("model")
        if top is not None and top.source_path is not None and _same_file(top.source_path, f.path):
            below = _as_text(user_data["model"]) if "model" in user_data else None
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


# Where Claude Code sends requests when no ANTHROPIC_BASE_URL is in effect.
ANTHROPIC_API_ORIGIN = ("https", "api.anthropic.com", 443)
# The layers that live in the working folder: anyone who can put files in it (a cloned repository) controls them.
FOLDER_LAYERS = frozenset({Layer.PROJECT, Layer.LOCAL})


def url_origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL: where a request with the key really goes. None: not a usable URL."""
    if not url.strip():
        return ANTHROPIC_API_ORIGIN
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower().rstrip("."), port or (80 if scheme == "http" else 443)


def shown_origin(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    return host if default else f"{host}:{port}"


def key_home_url(key: EffectiveVariable, files: Sequence[_LoadedFile], env: Mapping[str, str]
                 ) -> tuple[str, str]:
    """The URL the key was saved for, and where that comes from in plain words.

    The ANTHROPIC_BASE_URL of the key's own layer (the same file, or the shell for an exported key). When that
    layer names no URL, the one the layers outside the working folder resolve (managed, user, --settings, shell):
    the URL the key would reach if the folder's .claude/settings*.json did not exist. Neither: Anthropic's own API,
    Claude Code's default ("" is returned).
    """
    if key.source is Layer.PROCESS:
        own = env.get("ANTHROPIC_BASE_URL")
    else:
        file = next((f for f in files if f.layer is key.source and key.source_path is not None
                     and _same_file(f.path, key.source_path)), None)
        own = file.env().get("ANTHROPIC_BASE_URL") if file else None
    if isinstance(own, str) and own.strip():
        return own.strip(), key.where
    outside = _resolve("ANTHROPIC_BASE_URL", [f for f in files if f.layer not in FOLDER_LAYERS], env)
    if outside is not None and (outside.value or "").strip():
        return (outside.value or "").strip(), outside.where
    return "", "Claude Code's default (Anthropic's API)"


def _check_key_destination(
    b: _Builder, config: EffectiveConfig, files: Sequence[_LoadedFile], env: Mapping[str, str], cwd: Path
) -> None:
    """The key must not be sent to a host it was not saved for because another layer names another URL (e.g. a
    project's .claude/settings.json pointing the user's own key at someone else's server)."""
    helper = config.top_level.get("apiKeyHelper")
    key = (_set(config, "ANTHROPIC_AUTH_TOKEN") or _set(config, "ANTHROPIC_API_KEY")
           or (helper if helper is not None and (helper.value or "").strip() else None))
    if key is None:
        return
    url = _set(config, "ANTHROPIC_BASE_URL")
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
    b: _Builder,
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
        has_gateway_credential = bool(_set(config, "ANTHROPIC_AUTH_TOKEN") or _set(config, "ANTHROPIC_API_KEY"))
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


def _check_misc(b: _Builder, config: EffectiveConfig, files: Sequence[_LoadedFile]) -> None:
    moved = config.variables.get("CLAUDE_CONFIG_DIR")
    if moved is not None and moved.source is not Layer.PROCESS:
        b.note(
            f"CLAUDE_CONFIG_DIR in the env block of {moved.source_path} does not move the settings file; "
            f"only an exported CLAUDE_CONFIG_DIR does."
        )
    for name, provider in _ROUTING_VARIABLES.items():
        var = _set(config, name)
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
    ca = _set(config, "NODE_EXTRA_CA_CERTS")
    if ca is not None and ca.source is Layer.PROCESS and not Path(ca.value or "").expanduser().is_file():
        b.note(f"NODE_EXTRA_CA_CERTS points to {ca.value}, which is not a file; Claude Code will not trust that CA.")

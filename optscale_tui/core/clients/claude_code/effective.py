"""The configuration Claude Code will really use, variable by variable: how it resolves its settings layers
(which files they are and how each is loaded: layers.py) and the process environment into one value per name.

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

Nothing here writes anything or judges what it finds (core/diagnosis/doctor.py does). No secret leaves this module
unmasked: `EffectiveVariable.value` holds the raw value (for the verification engine) but is excluded from repr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from optscale_tui.core.clients.claude_code.layers import (
    FOLDER_LAYERS,
    LAYER_LABEL,
    Layer,
    LayerLoader,
    LoadedFile,
    SettingsPaths,
    SettingsSource,
    UnusableFile,
    load_layers,
    same_file,
    settings_paths,
)
from optscale_tui.core.clients.claude_code.locations import managed_settings_paths
from optscale_tui.core.clients.claude_code.models import (
    CLAUDE_CODE_BUILTIN_MODELS,
    TIER_OF_ALIAS,
    strip_context_suffix,
)
from optscale_tui.core.clients.claude_code.schema import (
    TIER_VARIABLES,
    TOP_LEVEL_KEYS,
    VARIABLES_OF_INTEREST,
)
from optscale_tui.core.secrets import (
    clean_outside_text,
    is_secret_name,
    mask_header_lines,
    mask_keys,
    mask_secret,
    mask_url_password,
)

_PROCESS_PREFIXES = ("ANTHROPIC_", "CLAUDE_CODE_")
_PROXY_NAMES = frozenset({"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"})
# Where Claude Code sends requests when no ANTHROPIC_BASE_URL is in effect.
ANTHROPIC_API_ORIGIN = ("https", "api.anthropic.com", 443)


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


@dataclass(frozen=True)
class EffectiveConfig:
    variables: dict[str, EffectiveVariable]
    user_settings: Path  # the file inspected as the user layer (what apply writes by default)
    config_dir_override: bool  # CLAUDE_CONFIG_DIR is set in the process environment
    top_level: dict[str, EffectiveVariable]  # model, apiKeyHelper, forceLoginMethod, forceLoginOrgUUID
    # The doctor's findings (core/diagnosis/findings.py: Finding), failures first. Typed loosely because clients/
    # never imports diagnosis/, which builds on it; nothing here creates one.
    findings: tuple[Any, ...] = ()
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

    def in_effect(self, name: str) -> EffectiveVariable | None:
        """The effective env variable when it has a non-empty value (not unset, not cancelled with "")."""
        var = self.variables.get(name)
        return var if var is not None and (var.value or "").strip() else None

    @property
    def worst_severity(self) -> Literal["warn", "fail"] | None:
        if any(f.severity == "fail" for f in self.findings):
            return "fail"
        return "warn" if self.findings else None


# --------------------------------------------------------------------------------------------------- display


def is_secret_variable(name: str) -> bool:
    return is_secret_name(name)  # the one rule (core/secrets.py), shared with every diff and screen


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
        return mask_keys(value)
    if is_secret_variable(name):
        return mask_secret(value)
    if name in _PROXY_NAMES:
        return mask_url_password(value)
    if name == "ANTHROPIC_CUSTOM_HEADERS":
        return mask_header_lines(value)
    return value


def _where(layer: Layer, path: Path | None) -> str:
    return str(path) if path is not None else LAYER_LABEL[layer]


def as_text(value: object) -> str:
    """A settings value as Claude Code passes it on: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


# ------------------------------------------------------------------------------------------------ resolution


def resolve_variable(
    name: str, files: Sequence[LoadedFile], env: Mapping[str, str] | None
) -> EffectiveVariable | None:
    """Resolve `name` over `files` (high → low), then the process env when given (else top-level keys)."""
    hits: list[tuple[Layer, Path | None, str]] = []
    for f in files:
        source = f.env() if env is not None else (f.data or {})
        if name in source:
            hits.append((f.layer, f.path, as_text(source[name])))
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


def resolve_variables(files: Sequence[LoadedFile], env: Mapping[str, str]) -> dict[str, EffectiveVariable]:
    """The variables of interest, every other one a settings env block sets, and the process's ANTHROPIC_* /
    CLAUDE_CODE_* ones, each as Claude Code resolves it."""
    names: list[str] = list(VARIABLES_OF_INTEREST)
    for f in files:
        names.extend(k for k in f.env() if isinstance(k, str) and k not in names)
    names.extend(k for k in sorted(env) if k.startswith(_PROCESS_PREFIXES) and k not in names)
    variables = {}
    for name in names:
        var = resolve_variable(name, files, env)
        if var is not None:
            variables[name] = var
    return variables


def resolve_top_level(files: Sequence[LoadedFile]) -> dict[str, EffectiveVariable]:
    top_level = {}
    for key in TOP_LEVEL_KEYS:
        var = resolve_variable(key, files, None)
        if var is not None:
            top_level[key] = var
    return top_level


@dataclass(frozen=True)
class Resolution:
    """What Claude Code resolves (`config`, without findings yet) and what lies behind it, for the doctor."""

    config: EffectiveConfig
    files: tuple[LoadedFile, ...] = field(repr=False)  # high → low; raw values, keys included
    env: dict[str, str] = field(repr=False)  # the process environment: may hold the key
    cwd: Path
    platform: str
    paths: SettingsPaths
    unusable: tuple[UnusableFile, ...]


def resolve_environment(
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    platform: str | None = None,
    user_settings: Path | None = None,
    managed_paths: Sequence[Path] | None = None,
    pending: Mapping[Path, Mapping] | None = None,
) -> Resolution:
    """Everything Claude Code would resolve when started in `cwd` with `env` (the arguments are
    `doctor.inspect_environment`'s, which adds the findings)."""
    env = dict(os.environ) if env is None else dict(env)
    cwd = Path.cwd() if cwd is None else Path(cwd)
    platform = platform or sys.platform
    paths = settings_paths(cwd=cwd, env=env, home=home, platform=platform, user_settings=user_settings)
    loader = LayerLoader(pending)
    files = load_layers(loader, paths, managed_settings_paths(platform) if managed_paths is None else managed_paths)
    named_user_file = user_settings is not None and paths.user_named
    if named_user_file:
        loader.note(f"Inspecting {paths.user} as the user settings; Claude Code itself reads {paths.real_user}.")
    config = EffectiveConfig(
        variables=resolve_variables(files, env),
        user_settings=paths.user,
        config_dir_override=paths.config_dir_override,
        top_level=resolve_top_level(files),
        user_settings_named=named_user_file,
        notes=tuple(loader.notes),
        sources=tuple(loader.sources),
    )
    return Resolution(config, tuple(files), env, cwd, platform, paths, tuple(loader.unusable))


# ------------------------------------------------------------------------------------------ the model it sends


def model_setting(config: EffectiveConfig) -> tuple[str, str] | None:
    """The main-model setting, ANTHROPIC_MODEL over top-level `model`: (value, plain-words origin)."""
    var = config.in_effect("ANTHROPIC_MODEL")
    if var is not None:
        return (var.value or "").strip(), f"ANTHROPIC_MODEL ({var.where})"
    top = config.top_level.get("model")
    if top is not None and (top.value or "").strip() and top.value and not top.value.startswith(("{", "[")):
        return top.value.strip(), f"`model` in {top.where}"
    return None


def _resolve_name(config: EffectiveConfig, name: str) -> tuple[str, str | None]:
    """(model sent, tier whose built-in name was used or None)."""
    base = strip_context_suffix(name.strip())
    tier = TIER_OF_ALIAS.get(base.lower())
    if tier is not None:
        mapped = config.in_effect(TIER_VARIABLES[tier])
        if mapped is not None:
            return strip_context_suffix((mapped.value or "").strip()), None
        return CLAUDE_CODE_BUILTIN_MODELS[tier], tier
    return base, None


def resolve_model(config: EffectiveConfig, alias: str | None) -> tuple[str, str | None]:
    """(model sent, tier whose built-in name was used or None) for the default session (alias None) or `--model`."""
    if alias is None or not alias.strip():
        main = model_setting(config)
        return _resolve_name(config, main[0] if main else "opus")
    return _resolve_name(config, alias)


def claude_resolved_model(config: EffectiveConfig, alias: str | None = None) -> str:
    """The model name Claude Code sends: the default session (alias None) or `--model haiku|sonnet|opus|<id>`.

    Per the measured table (2.1.332): the default follows `ANTHROPIC_MODEL` / `model` (aliases resolve to their
    tier), else the OPUS tier; an unmapped tier sends the built-in name from CLAUDE_CODE_BUILTIN_MODELS; any other
    `--model` id passes through verbatim. A `[1m]` suffix is stripped, as Claude Code does before sending.
    """
    return resolve_model(config, alias)[0]


def unmapped_tiers(config: EffectiveConfig) -> tuple[str, ...]:
    return tuple(t for t, name in TIER_VARIABLES.items() if config.in_effect(name) is None)


# ------------------------------------------------------------------------------------ where the key is sent


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


def key_home_url(key: EffectiveVariable, files: Sequence[LoadedFile], env: Mapping[str, str]
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
                     and same_file(f.path, key.source_path)), None)
        own = file.env().get("ANTHROPIC_BASE_URL") if file else None
    if isinstance(own, str) and own.strip():
        return own.strip(), key.where
    outside = resolve_variable("ANTHROPIC_BASE_URL", [f for f in files if f.layer not in FOLDER_LAYERS], env)
    if outside is not None and (outside.value or "").strip():
        return (outside.value or "").strip(), outside.where
    return "", "Claude Code's default (Anthropic's API)"

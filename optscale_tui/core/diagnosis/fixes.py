"""Fix-it actions: for every diagnosis with a mechanical fix, the exact settings change and the exact command.

A fix is a planned change like any other: the TUI shows its diff and saves it only on confirm, and the CLI prints
the `optscale-tui` command that makes it. Fixes never touch the shell environment (we cannot edit a user's shell
profile safely); for those the plain-words fix from causes.py stands.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_code.effective import EffectiveConfig
from optscale_tui.core.clients.claude_code.layers import Layer
from optscale_tui.core.clients.claude_code.models import suggest_tier_models
from optscale_tui.core.clients.claude_code.schema import OWNED_ENV_KEYS, TIER_VARIABLES, plan_env_edit
from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.plan import SettingsPlan, load_settings
from optscale_tui.core.connection import InputError, TierMapping, parse_anthropic_base_url


@dataclass(frozen=True, slots=True)
class FixIt:
    cause: Cause
    title: str  # what it does, in plain words
    path: Path  # the settings file it edits
    set_env: Mapping[str, str] = field(default_factory=dict)
    remove_env: tuple[str, ...] = ()
    command: str = ""  # the optscale-tui command that does the same

    def plan(self) -> SettingsPlan:
        """The planned change against the file as it is now (raises SettingsError if it does not parse)."""
        return plan_env_edit(load_settings(self.path), self.set_env, self.remove_env, self.title)


def _quote(value: str | Path) -> str:
    return shlex.quote(str(value))


def fix_command(config: EffectiveConfig, cause: Cause, path: Path, tiers: Mapping[str, str] | None = None) -> str:
    """`optscale-tui fix CAUSE …`: redoes this inspection (the same `--settings`, the same tiers) and saves exactly
    the FixIt that `fixes_for` built here, so the command can neither fail where the fix works nor do more."""
    words = ["optscale-tui", "fix", cause.value]
    if config.user_settings_named:
        words += ["--settings", _quote(config.user_settings)]
    if path != config.user_settings:
        words += ["--file", _quote(path)]
    for tier, model in (tiers or {}).items():
        words += [f"--{tier}", _quote(model)]
    return " ".join([*words, "--yes"])


def fixes_for(
    config: EffectiveConfig,
    causes: Iterable[Cause] = (),
    catalog: Iterable[str | tuple[str, str | None]] = (),
    tier_models: Mapping[str, str] | None = None,
) -> list[FixIt]:
    """The fix-its that apply to this configuration, for the doctor's findings plus any extra `causes` found by
    verification (e.g. beta_rejected, base_url_v1). Each appears once, in a stable order. `catalog` (model ids or
    (id, display name) pairs from the gateway, when the caller has them) lets "map the unmapped tiers" pick the
    model named for each tier; `tier_models` (tier -> model, from `fix tier_unmapped --opus M`) decides instead.
    Every fix carries the command that makes exactly its change (`fix_command`)."""
    wanted = {f.cause for f in config.findings} | set(causes)
    fixes: list[FixIt] = []
    if Cause.TIER_UNMAPPED in wanted:
        fixes += _map_unmapped_tiers(config, catalog, tier_models)
    if Cause.BASE_URL_V1 in wanted:
        fixes += _replace_trailing_v1(config)
    if Cause.SHELL_API_KEY in wanted:
        fixes += _remove_api_key(config)
    if Cause.KEY_WHITESPACE in wanted:
        fixes += _trim_keys(config)
    if Cause.BETA_REJECTED in wanted:
        fixes += _disable_experimental_betas(config)
    seen: set[Path] = set()  # a folder's file gets one removal fix, whichever cause asks for it first
    if Cause.KEY_SENT_ELSEWHERE in wanted:
        fixes += _stop_key_sent_elsewhere(config, seen)
    if Cause.PROJECT_OVERRIDE in wanted:
        fixes += _remove_project_overrides(config, seen)
    return fixes


def _source_of(config: EffectiveConfig, name: str) -> tuple[Layer, Path | None] | None:
    var = config.variables.get(name)
    return (var.source, var.source_path) if var else None


def _map_unmapped_tiers(config: EffectiveConfig, catalog: Iterable[str | tuple[str, str | None]],
                        tier_models: Mapping[str, str] | None) -> list[FixIt]:
    mapped = {t: config.get(v) for t, v in TIER_VARIABLES.items() if config.get(v)}
    if not config.get("ANTHROPIC_BASE_URL") or len(mapped) >= 3:
        return []
    # The same rule as the Models pane: each unmapped tier gets the model named for its family (from the catalog
    # when the caller has one, else among the mapped models), and only without one borrows a neighbour's model.
    suggested = suggest_tier_models(TierMapping(**mapped), [*catalog, *mapped.values()])
    assign = {t: s.model for t, s in suggested.items()}
    notes = {t: s.note for t, s in suggested.items()}
    if tier_models:  # the models chosen when this fix was offered, so the command saves what it showed
        # In the order the suggestion had, which is the order the keys are written in.
        order = [*suggested, *TIER_VARIABLES]
        assign = {t: tier_models[t] for t in sorted(tier_models, key=order.index)
                  if t in TIER_VARIABLES and t not in mapped and tier_models[t]}
        notes = {}
    origin = next((_source_of(config, TIER_VARIABLES[t]) for t in ("sonnet", "opus", "haiku") if t in mapped), None)
    path = origin[1] if origin and origin[1] and origin[0] is not Layer.MANAGED else config.user_settings
    if not assign:
        return []
    return [FixIt(
        Cause.TIER_UNMAPPED,
        "Map the unmapped tiers: " + ", ".join(
            f"{t} → {m}" + (f" ({notes[t]})" if notes.get(t) else "") for t, m in assign.items()),
        path,
        set_env={TIER_VARIABLES[t]: m for t, m in assign.items()},
        command=fix_command(config, Cause.TIER_UNMAPPED, path, assign),
    )]


def _replace_trailing_v1(config: EffectiveConfig) -> list[FixIt]:
    base_url = config.get("ANTHROPIC_BASE_URL") or ""
    if not base_url:
        return []
    origin = _source_of(config, "ANTHROPIC_BASE_URL")
    try:
        fixed = parse_anthropic_base_url(base_url.rstrip("/").removesuffix("/v1")).proxy_root + "/anthropic"
    except InputError:
        fixed = None
    if not (fixed and origin and origin[1] is not None and origin[0] is not Layer.MANAGED):
        return []
    return [FixIt(
        Cause.BASE_URL_V1,
        "Replace the trailing /v1 with /anthropic in ANTHROPIC_BASE_URL",
        origin[1],
        set_env={"ANTHROPIC_BASE_URL": fixed},
        command=fix_command(config, Cause.BASE_URL_V1, origin[1]),
    )]


def _remove_api_key(config: EffectiveConfig) -> list[FixIt]:
    origin = _source_of(config, "ANTHROPIC_API_KEY")
    if not (origin and origin[1] is not None and origin[0] is not Layer.MANAGED):
        return []
    return [FixIt(
        Cause.SHELL_API_KEY,
        f"Remove ANTHROPIC_API_KEY from {origin[1].name} (Claude Code would send two credentials)",
        origin[1],
        remove_env=("ANTHROPIC_API_KEY",),
        command=fix_command(config, Cause.SHELL_API_KEY, origin[1]),
    )]


def _trim_keys(config: EffectiveConfig) -> list[FixIt]:
    fixes: list[FixIt] = []
    for name in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY"):
        var = config.variables.get(name)
        if (var is None or not var.value or var.value == var.value.strip() or var.source_path is None
                or var.source is Layer.MANAGED):
            continue
        fixes.append(FixIt(
            Cause.KEY_WHITESPACE,
            f"Trim the spaces around {name} in {var.source_path.name}",
            var.source_path,
            set_env={name: var.value.strip()},
            command=fix_command(config, Cause.KEY_WHITESPACE, var.source_path),
        ))
    return fixes


def _disable_experimental_betas(config: EffectiveConfig) -> list[FixIt]:
    if config.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS") == "1" or not config.get("ANTHROPIC_BASE_URL"):
        return []
    user = config.user_settings
    return [FixIt(
        Cause.BETA_REJECTED,
        "Add CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 (send only the betas the gateway accepts)",
        user,
        set_env={"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"},
        command=fix_command(config, Cause.BETA_REJECTED, user),
    )]


def _stop_key_sent_elsewhere(config: EffectiveConfig, seen: set[Path]) -> list[FixIt]:
    url_var = config.variables.get("ANTHROPIC_BASE_URL")
    if url_var is None or url_var.source_path is None or url_var.source not in (Layer.PROJECT, Layer.LOCAL):
        return []
    # The folder's file points the key at another host: the stale-override fix (drop our keys there) undoes it.
    fix = _project_override_fix(config, url_var.source_path, Cause.KEY_SENT_ELSEWHERE,
                                "Remove the gateway keys from {name}, which would send your key to another "
                                "host ({keys})")
    if fix is None:
        return []
    seen.add(url_var.source_path)
    return [fix]


def _remove_project_overrides(config: EffectiveConfig, seen: set[Path]) -> list[FixIt]:
    fixes: list[FixIt] = []
    for var in config.variables.values():
        if var.source in (Layer.PROJECT, Layer.LOCAL) and var.source_path and var.name in OWNED_ENV_KEYS:
            if var.source_path in seen:
                continue
            seen.add(var.source_path)
            fix = _project_override_fix(config, var.source_path, Cause.PROJECT_OVERRIDE,
                                        "Remove the gateway keys that {name} overrides ({keys})")
            if fix is not None:
                fixes.append(fix)
    return fixes


def _project_override_fix(config: EffectiveConfig, path: Path, cause: Cause, title: str) -> FixIt | None:
    """Remove our keys from a project or local settings file."""
    try:
        in_file = load_settings(path).env
    except SettingsError:
        return None
    stale = tuple(k for k in OWNED_ENV_KEYS if k in in_file)
    if not stale:
        return None
    return FixIt(cause, title.format(name=path.name, keys=", ".join(stale)), path, remove_env=stale,
                 command=fix_command(config, cause, path))

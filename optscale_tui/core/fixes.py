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
from optscale_tui.core.connection import (
    InputError,
    TierMapping,
    parse_anthropic_base_url,
    suggest_tier_models,
)
from optscale_tui.core.doctor import EffectiveConfig, Layer
from optscale_tui.core.settings_file import (
    OWNED_ENV_KEYS,
    SettingsError,
    SettingsPlan,
    load_settings,
    plan_env_edit,
)


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


def _settings_flag(path: Path, user_settings: Path) -> str:
    return "" if path == user_settings else f" --settings {_quote(path)}"


def _apply_would_run(path: Path, *, url: str | None = None, adds_tiers: bool = False) -> bool:
    """Whether `optscale-tui apply` on `path` succeeds and changes only what the fix changes: it needs a key and a
    mapped tier there (flags left out keep the file's), and it writes ANTHROPIC_BASE_URL, so a file that does not
    already hold the URL it would be given (`url`) would gain an override. A fix whose command would fail or do
    more gets none: "Same from a shell" must be the same change."""
    try:
        env = load_settings(path).env
    except SettingsError:
        return False
    has_tier = any(isinstance(env.get(f"ANTHROPIC_DEFAULT_{t}_MODEL"), str) and env.get(f"ANTHROPIC_DEFAULT_{t}_MODEL")
                   for t in ("HAIKU", "SONNET", "OPUS"))
    if not env.get("ANTHROPIC_AUTH_TOKEN") or not (has_tier or adds_tiers):
        return False
    return url is None or env.get("ANTHROPIC_BASE_URL") == url


def fixes_for(
    config: EffectiveConfig,
    causes: Iterable[Cause] = (),
    catalog: Iterable[str | tuple[str, str | None]] = (),
) -> list[FixIt]:
    """The fix-its that apply to this configuration, for the doctor's findings plus any extra `causes` found by
    verification (e.g. beta_rejected, base_url_v1). Each appears once, in a stable order. `catalog` (model ids or
    (id, display name) pairs from the gateway, when the caller has them) lets "map the unmapped tiers" pick the
    model named for each tier."""
    wanted = {f.cause for f in config.findings} | set(causes)
    user = config.user_settings
    fixes: list[FixIt] = []

    def source_of(name: str) -> tuple[Layer, Path | None] | None:
        var = config.variables.get(name)
        return (var.source, var.source_path) if var else None

    base_url = config.get("ANTHROPIC_BASE_URL") or ""

    tier_vars = {t: f"ANTHROPIC_DEFAULT_{t.upper()}_MODEL" for t in ("haiku", "sonnet", "opus")}
    mapped = {t: config.get(v) for t, v in tier_vars.items() if config.get(v)}
    if Cause.TIER_UNMAPPED in wanted and base_url and len(mapped) < 3:
        # The same rule as the Models pane: each unmapped tier gets the model named for its family (from the catalog
        # when the caller has one, else among the mapped models), and only without one borrows a neighbour's model.
        suggested = suggest_tier_models(TierMapping(**mapped), [*catalog, *mapped.values()])
        assign = {t: s.model for t, s in suggested.items()}
        origin = next((source_of(tier_vars[t]) for t in ("sonnet", "opus", "haiku") if t in mapped), None)
        path = origin[1] if origin and origin[1] and origin[0] is not Layer.MANAGED else user
        flags = " ".join(f"--{t} {_quote(m)}" for t, m in assign.items())
        if assign:
            fixes.append(FixIt(
                Cause.TIER_UNMAPPED,
                "Map the unmapped tiers: " + ", ".join(
                    f"{t} → {s.model}" + (f" ({s.note})" if s.note else "") for t, s in suggested.items()),
                path,
                set_env={tier_vars[t]: m for t, m in assign.items()},
                command=(f"optscale-tui apply --base-url {_quote(base_url)} {flags}{_settings_flag(path, user)} --yes"
                         if _apply_would_run(path, url=base_url, adds_tiers=True) else ""),
            ))

    if Cause.BASE_URL_V1 in wanted and base_url:
        origin = source_of("ANTHROPIC_BASE_URL")
        try:
            fixed = parse_anthropic_base_url(base_url.rstrip("/").removesuffix("/v1")).proxy_root + "/anthropic"
        except InputError:
            fixed = None
        if fixed and origin and origin[1] is not None and origin[0] is not Layer.MANAGED:
            fixes.append(FixIt(
                Cause.BASE_URL_V1,
                "Replace the trailing /v1 with /anthropic in ANTHROPIC_BASE_URL",
                origin[1],
                set_env={"ANTHROPIC_BASE_URL": fixed},
                command=(f"optscale-tui apply --base-url {_quote(base_url)}{_settings_flag(origin[1], user)} --yes"
                         if _apply_would_run(origin[1], url=base_url) else ""),
            ))

    if Cause.SHELL_API_KEY in wanted:
        origin = source_of("ANTHROPIC_API_KEY")
        if origin and origin[1] is not None and origin[0] is not Layer.MANAGED:
            fixes.append(FixIt(
                Cause.SHELL_API_KEY,
                f"Remove ANTHROPIC_API_KEY from {origin[1].name} (Claude Code would send two credentials)",
                origin[1],
                remove_env=("ANTHROPIC_API_KEY",),
                command=(f"optscale-tui apply --base-url {_quote(base_url)}{_settings_flag(origin[1], user)} --yes"
                         if base_url and _apply_would_run(origin[1], url=base_url) else ""),
            ))

    if Cause.BETA_REJECTED in wanted and config.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS") != "1" and base_url:
        fixes.append(FixIt(
            Cause.BETA_REJECTED,
            "Add CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 (send only the betas the gateway accepts)",
            user,
            set_env={"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"},
            command=(f"optscale-tui apply --base-url {_quote(base_url)} --disable-experimental-betas --yes"
                     if _apply_would_run(user, url=base_url) else ""),
        ))

    if Cause.PROJECT_OVERRIDE in wanted:
        seen: set[Path] = set()
        for var in config.variables.values():
            if var.source in (Layer.PROJECT, Layer.LOCAL) and var.source_path and var.name in OWNED_ENV_KEYS:
                if var.source_path in seen:
                    continue
                seen.add(var.source_path)
                try:
                    in_file = load_settings(var.source_path).env
                except SettingsError:
                    continue
                stale = tuple(k for k in OWNED_ENV_KEYS if k in in_file)
                scope = "local" if var.source is Layer.LOCAL else "project"
                fixes.append(FixIt(
                    Cause.PROJECT_OVERRIDE,
                    f"Remove the gateway keys that {var.source_path.name} overrides ({', '.join(stale)})",
                    var.source_path,
                    remove_env=stale,
                    command=f"optscale-tui remove --scope {scope} --yes",
                ))
    return fixes

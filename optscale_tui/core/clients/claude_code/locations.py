"""Where Claude Code's settings files live.

Claude Code reads `$CLAUDE_CONFIG_DIR/settings.json` when that variable is set (and then ignores ~/.claude entirely),
else `~/.claude/settings.json` (`%USERPROFILE%\\.claude\\settings.json` on Windows). Project and local scopes live in
`<cwd>/.claude/`. Managed settings are read-only policy files; we only name them for diagnosis.

Every function takes `env`/`home`/`cwd`/`platform` so tests never look at the real machine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

SETTINGS_NAME = "settings.json"
LOCAL_SETTINGS_NAME = "settings.local.json"
MANAGED_SETTINGS_NAME = "managed-settings.json"
MANAGED_DROPIN_DIR = "managed-settings.d"


class Scope(StrEnum):
    USER = "user"
    PROJECT = "project"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class SettingsTarget:
    """The settings file a save will write, and in plain words why this one."""

    path: Path
    scope: Scope
    reason: str


def _is_windows(platform: str | None) -> bool:
    plat = (platform or sys.platform).lower()
    return plat.startswith("win") or plat == "nt"


def _home(env: Mapping[str, str], home: Path | None, platform: str | None) -> Path:
    if home is not None:
        return home
    # Prefer the (injectable) environment over Path.home(), which always reads the real process environment.
    names = ("USERPROFILE", "HOME") if _is_windows(platform) else ("HOME",)
    for name in names:
        if env.get(name):
            return Path(env[name])
    return Path.home()


def claude_config_dir(
    env: Mapping[str, str] | None = None, home: Path | None = None, *, platform: str | None = None
) -> Path:
    """$CLAUDE_CONFIG_DIR if set and non-empty, else ~/.claude (Windows: %USERPROFILE%\\.claude).

    The variable's value is used literally (no ~ expansion), as Claude Code does.
    """
    env = os.environ if env is None else env
    override = env.get("CLAUDE_CONFIG_DIR", "")
    if override.strip():
        return Path(override)
    return _home(env, home, platform) / ".claude"


def scope_path(
    scope: Scope,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    platform: str | None = None,
) -> Path:
    """The settings file of one scope (user, project or local) without any explicit override."""
    scope = Scope(scope)
    if scope is Scope.USER:
        return claude_config_dir(env, home, platform=platform) / SETTINGS_NAME
    base = (cwd if cwd is not None else Path.cwd()) / ".claude"
    return base / (SETTINGS_NAME if scope is Scope.PROJECT else LOCAL_SETTINGS_NAME)


def resolve_target(
    explicit: Path | None = None,
    scope: Scope = Scope.USER,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    *,
    platform: str | None = None,
) -> SettingsTarget:
    """explicit path > scope project/local (cwd/.claude/settings.json | settings.local.json) > user."""
    scope = Scope(scope)
    env = os.environ if env is None else env
    if explicit is not None:
        path = Path(explicit)
        text = str(path)
        if text == "~" or text.startswith(("~/", "~\\")):
            path = _home(env, home, platform) / text[2:]
        elif not path.is_absolute():
            path = (cwd if cwd is not None else Path.cwd()) / path
        return SettingsTarget(path, scope, "the path was given explicitly")
    path = scope_path(scope, cwd=cwd, env=env, home=home, platform=platform)
    if scope is Scope.PROJECT:
        reason = "project settings of this folder (shared with the team through the repository)"
    elif scope is Scope.LOCAL:
        reason = "local project settings of this folder (not committed)"
    elif env.get("CLAUDE_CONFIG_DIR", "").strip():
        reason = "CLAUDE_CONFIG_DIR is set"
    else:
        reason = "default user settings (~/.claude)"
    return SettingsTarget(path, scope, reason)


def managed_settings_paths(platform: str | None = None) -> list[Path]:
    """The managed-settings file and its drop-in folder (`managed-settings.d/*.json`) for this OS.

    Read-only: administrators own these. They win over every other scope, so doctor reports what they set.
    """
    plat = (platform or sys.platform).lower()
    if _is_windows(plat):
        # Built as strings: on a POSIX host (tests) `/` on a Path would not use Windows separators.
        win_base = "C:\\Program Files\\ClaudeCode\\"
        return [Path(win_base + MANAGED_SETTINGS_NAME), Path(win_base + MANAGED_DROPIN_DIR)]
    if plat == "darwin" or plat.startswith("mac"):
        base = Path("/Library/Application Support/ClaudeCode")
    else:  # Linux and WSL (and other POSIX systems, which Claude Code treats alike)
        base = Path("/etc/claude-code")
    return [base / MANAGED_SETTINGS_NAME, base / MANAGED_DROPIN_DIR]

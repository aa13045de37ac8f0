"""locations.py: which settings file Claude Code reads, with env/home/cwd/platform injected."""

from __future__ import annotations

from pathlib import Path

import pytest

from optscale_tui.core.clients.claude_code.locations import (
    Scope,
    SettingsTarget,
    claude_config_dir,
    managed_settings_paths,
    resolve_target,
    scope_path,
)


def test_default_user_settings_are_in_home_dot_claude(tmp_path: Path) -> None:
    target = resolve_target(env={}, home=tmp_path, cwd=tmp_path / "proj")
    assert target == SettingsTarget(tmp_path / ".claude" / "settings.json", Scope.USER, target.reason)
    assert "default" in target.reason


def test_claude_config_dir_replaces_dot_claude(tmp_path: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")}
    assert claude_config_dir(env, home=tmp_path / "home") == tmp_path / "cfg"
    target = resolve_target(env=env, home=tmp_path / "home")
    # No .claude/ subfolder: Claude Code reads $CLAUDE_CONFIG_DIR/settings.json directly.
    assert target.path == tmp_path / "cfg" / "settings.json"
    assert target.reason == "CLAUDE_CONFIG_DIR is set"


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_claude_config_dir_is_ignored(tmp_path: Path, value: str) -> None:
    target = resolve_target(env={"CLAUDE_CONFIG_DIR": value}, home=tmp_path)
    assert target.path == tmp_path / ".claude" / "settings.json"
    assert "CLAUDE_CONFIG_DIR" not in target.reason


def test_home_comes_from_the_injected_env_not_the_real_home(tmp_path: Path) -> None:
    assert claude_config_dir({"HOME": str(tmp_path)}, platform="linux") == tmp_path / ".claude"


def test_windows_uses_userprofile(tmp_path: Path) -> None:
    env = {"USERPROFILE": str(tmp_path / "win"), "HOME": str(tmp_path / "msys")}
    assert claude_config_dir(env, platform="win32") == tmp_path / "win" / ".claude"
    # On POSIX, USERPROFILE means nothing.
    assert claude_config_dir(env, platform="linux") == tmp_path / "msys" / ".claude"


@pytest.mark.parametrize(
    ("scope", "name"), [(Scope.PROJECT, "settings.json"), (Scope.LOCAL, "settings.local.json")]
)
def test_project_and_local_scopes_live_in_cwd(tmp_path: Path, scope: Scope, name: str) -> None:
    target = resolve_target(scope=scope, cwd=tmp_path, env={"CLAUDE_CONFIG_DIR": "/elsewhere"}, home=tmp_path)
    assert target.path == tmp_path / ".claude" / name
    assert target.scope is scope
    assert scope_path(scope, cwd=tmp_path) == target.path


def test_scope_accepts_its_string_value(tmp_path: Path) -> None:
    assert resolve_target(scope="local", cwd=tmp_path).scope is Scope.LOCAL
    assert [s.value for s in Scope] == ["user", "project", "local"]


def test_explicit_path_wins_over_everything(tmp_path: Path) -> None:
    explicit = tmp_path / "custom" / "my-settings.json"
    target = resolve_target(explicit, scope=Scope.PROJECT, cwd=tmp_path, env={"CLAUDE_CONFIG_DIR": "/x"}, home=tmp_path)
    assert target.path == explicit
    assert "explicitly" in target.reason


def test_relative_explicit_path_is_resolved_against_cwd(tmp_path: Path) -> None:
    target = resolve_target(Path("conf/settings.json"), cwd=tmp_path, env={}, home=tmp_path)
    assert target.path == tmp_path / "conf" / "settings.json"


def test_tilde_in_explicit_path_uses_the_injected_home(tmp_path: Path) -> None:
    target = resolve_target(Path("~/alt/settings.json"), cwd=tmp_path / "cwd", env={}, home=tmp_path / "h")
    assert target.path == tmp_path / "h" / "alt" / "settings.json"


@pytest.mark.parametrize(
    ("platform", "file", "dropin"),
    [
        ("darwin", "/Library/Application Support/ClaudeCode/managed-settings.json",
         "/Library/Application Support/ClaudeCode/managed-settings.d"),
        ("linux", "/etc/claude-code/managed-settings.json", "/etc/claude-code/managed-settings.d"),
        ("win32", r"C:\Program Files\ClaudeCode\managed-settings.json", r"C:\Program Files\ClaudeCode\managed-settings.d"),
    ],
)
def test_managed_settings_paths_per_os(platform: str, file: str, dropin: str) -> None:
    assert [str(p) for p in managed_settings_paths(platform)] == [file, dropin]

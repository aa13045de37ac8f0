"""Fix-it actions: the planned change for each mechanical fix, and the command that makes it."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from optscale_tui.core.causes import Cause
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import save_plan
from optscale_tui.core.diagnosis.doctor import inspect_environment
from optscale_tui.core.diagnosis.fixes import fixes_for

REPO = Path(__file__).resolve().parents[2]
URL = "https://gw.example.com/llm_proxy/00000000-0000-0000-0000-000000000000/anthropic"
TOKEN = "sk-bf-fixture-token-000000000000"


@pytest.fixture
def world(tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "home" / "project"
    cwd.mkdir(parents=True)
    (home / ".claude").mkdir()

    def write(env: dict, path: Path | None = None) -> Path:
        path = path or home / ".claude" / "settings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"theme": "dark", "env": env}, indent=2) + "\n")
        return path

    def inspect(shell: dict | None = None):
        return inspect_environment(cwd=cwd, env={"HOME": str(home), **(shell or {})}, home=home, managed_paths=[])

    return home, cwd, write, inspect


def by_cause(fixes):
    return {f.cause: f for f in fixes}


def test_unmapped_tiers_borrow_the_nearest_mapped_model(world):
    _home, _, write, inspect = world
    path = write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN,
                  "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"})
    fix = by_cause(fixes_for(inspect()))[Cause.TIER_UNMAPPED]
    assert fix.path == path
    assert fix.set_env == {"ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-sonnet-4-6",
                           "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-sonnet-4-6"}
    plan = fix.plan()
    assert '+    "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-sonnet-4-6"' in plan.diff()
    assert TOKEN not in plan.diff()
    save_plan(plan)
    assert Cause.TIER_UNMAPPED not in {f.cause for f in inspect().findings}
    assert "--opus anthropic/claude-sonnet-4-6" in fix.command
    # Without a catalog nothing is named for Opus or Haiku, and the title says so rather than pretending.
    assert "opus → anthropic/claude-sonnet-4-6 (no Opus model known; uses Sonnet's model)" in fix.title


def test_with_the_catalog_each_unmapped_tier_gets_the_model_named_for_it(world):
    _home, _, write, inspect = world
    write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN,
           "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5"})
    catalog = ["anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-6",
               "anthropic/claude-opus-4-6", "openai/gpt-5"]
    fix = by_cause(fixes_for(inspect(), catalog=catalog))[Cause.TIER_UNMAPPED]
    assert fix.set_env == {"ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6",
                           "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"}
    assert fix.title == ("Map the unmapped tiers: opus → anthropic/claude-opus-4-6, "
                         "sonnet → anthropic/claude-sonnet-4-6")
    assert "--opus anthropic/claude-opus-4-6 --sonnet anthropic/claude-sonnet-4-6" in fix.command


def test_base_url_left_at_v1(world):
    _, _, write, inspect = world
    write({"ANTHROPIC_BASE_URL": URL.replace("/anthropic", "/v1"), "ANTHROPIC_AUTH_TOKEN": TOKEN,
           "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"})
    fix = by_cause(fixes_for(inspect()))[Cause.BASE_URL_V1]
    assert fix.set_env == {"ANTHROPIC_BASE_URL": URL}
    save_plan(fix.plan())
    assert inspect().get("ANTHROPIC_BASE_URL") == URL


def test_api_key_in_the_settings_file_is_removed_but_a_shell_one_is_not_touched(world):
    _, _, write, inspect = world
    path = write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN, "ANTHROPIC_API_KEY": "sk-ant-x-0000000000",
                  "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"})
    fix = by_cause(fixes_for(inspect()))[Cause.SHELL_API_KEY]
    assert fix.path == path and fix.remove_env == ("ANTHROPIC_API_KEY",)
    save_plan(fix.plan())
    assert "ANTHROPIC_API_KEY" not in load_settings(path).env
    config = inspect(shell={"ANTHROPIC_API_KEY": "sk-ant-shell-000000000"})
    assert Cause.SHELL_API_KEY in {f.cause for f in config.findings}
    assert Cause.SHELL_API_KEY not in by_cause(fixes_for(config))  # a shell profile is not ours to edit


def test_beta_fix_only_when_not_already_set(world):
    _, _, write, inspect = world
    write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN,
           "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"})
    fix = by_cause(fixes_for(inspect(), [Cause.BETA_REJECTED]))[Cause.BETA_REJECTED]
    assert fix.set_env == {"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"}
    save_plan(fix.plan())
    assert Cause.BETA_REJECTED not in by_cause(fixes_for(inspect(), [Cause.BETA_REJECTED]))


def test_project_override_fix_and_its_command(world):
    home, cwd, write, inspect = world
    write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN,
           "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"})
    project = write({"ANTHROPIC_AUTH_TOKEN": "sk-bf-stale-0000000000000", "KEEP": "1"},
                    path=cwd / ".claude" / "settings.json")
    fix = by_cause(fixes_for(inspect()))[Cause.PROJECT_OVERRIDE]
    assert fix.path == project and fix.remove_env == ("ANTHROPIC_AUTH_TOKEN",)
    assert fix.command == f"optscale-tui fix project_override --file {shlex.quote(str(project))} --yes"
    # The printed command does exactly that, for real.
    argv = shlex.split(fix.command)
    out = subprocess.run([sys.executable, "-m", "optscale_tui", *argv[1:]], cwd=cwd, capture_output=True, text=True,
                         env={"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert json.loads(project.read_text())["env"] == {"KEEP": "1"}
    assert Cause.PROJECT_OVERRIDE not in {f.cause for f in inspect().findings}


def test_a_clean_setup_needs_no_fix(world):
    _, _, write, inspect = world
    write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN, "ANTHROPIC_DEFAULT_HAIKU_MODEL": "a/h",
           "ANTHROPIC_DEFAULT_SONNET_MODEL": "a/s", "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/o"})
    assert fixes_for(inspect()) == []


def run_command(command: str, home: Path, cwd: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[0] == "optscale-tui"
    return subprocess.run([sys.executable, "-m", "optscale_tui", *argv[1:]], cwd=cwd, capture_output=True, text=True,
                          env={"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def test_the_shell_command_of_a_fix_makes_the_same_change_for_real(world):
    home, cwd, write, inspect = world
    path = write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN, "ANTHROPIC_API_KEY": "sk-ant-x-0000000000",
                  "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"})
    fix = by_cause(fixes_for(inspect()))[Cause.SHELL_API_KEY]
    assert fix.command
    out = run_command(fix.command, home, cwd)
    assert out.returncode == 0, out.stderr
    env = load_settings(path).env
    assert "ANTHROPIC_API_KEY" not in env and env["ANTHROPIC_BASE_URL"] == URL and env["ANTHROPIC_AUTH_TOKEN"] == TOKEN


def test_every_fix_has_a_command_that_makes_exactly_its_change(world):
    # A local settings file with only a /v1 URL and an ANTHROPIC_API_KEY: `apply --settings it` would have failed
    # ("Map at least one tier") and written a URL override into the file it means to clean, so these fixes were
    # listed with no command. `fix CAUSE` redoes the same fix, and only it.
    home, cwd, write, inspect = world
    user = write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN,
                  "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"})
    local_text = json.dumps({"env": {"ANTHROPIC_BASE_URL": URL.replace("/anthropic", "/v1"),
                                     "ANTHROPIC_API_KEY": "sk-old-key-123456"}}, indent=2) + "\n"
    local = cwd / ".claude" / "settings.local.json"
    local.parent.mkdir(parents=True, exist_ok=True)
    user_before = user.read_bytes()
    for cause in (Cause.BASE_URL_V1, Cause.SHELL_API_KEY):
        local.write_text(local_text)
        fix = by_cause(fixes_for(inspect()))[cause]
        assert fix.path == local
        assert fix.command.startswith(f"optscale-tui fix {cause.value} --file ")
        expected = fix.plan().new_text
        out = run_command(fix.command, home, cwd)
        assert out.returncode == 0, out.stderr
        assert local.read_text() == expected, cause  # the change it described, and no other
        assert user.read_bytes() == user_before
    assert json.loads(local.read_text())["env"] == {"ANTHROPIC_BASE_URL": URL.replace("/anthropic", "/v1")}


def test_the_tier_fix_command_pins_the_models_it_showed(world):
    home, cwd, write, inspect = world
    path = write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN,
                  "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"})
    catalog = ["anthropic/claude-opus-4-6", "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6"]
    fix = by_cause(fixes_for(inspect(), catalog=catalog))[Cause.TIER_UNMAPPED]
    assert "opus → anthropic/claude-opus-4-6" in fix.title
    assert "--opus anthropic/claude-opus-4-6" in fix.command and "--haiku anthropic/claude-haiku-4-5" in fix.command
    expected = fix.plan().new_text
    # The command runs without the catalog (no network): the flags carry the choice.
    out = run_command(fix.command, home, cwd)
    assert out.returncode == 0, out.stderr
    assert path.read_text() == expected


def test_a_fix_that_no_longer_applies_changes_nothing(world):
    home, cwd, write, _inspect = world
    path = write({"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": TOKEN, "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/o"})
    before = path.read_bytes()
    out = run_command("optscale-tui fix shell_api_key --yes", home, cwd)
    assert out.returncode == 0 and "nothing to change" in out.stdout
    assert path.read_bytes() == before
    assert run_command("optscale-tui fix no_such_cause --yes", home, cwd).returncode == 2

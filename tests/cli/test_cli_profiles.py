"""`optscale-tui profile …`, `apply|verify --profile` and `--config` (issue 13 §1, §2), as child processes in a
sandbox HOME with the demo gateway on 127.0.0.1. Keys are stored in the file store (keys.toml), never the keyring."""

from __future__ import annotations

import json
import stat
import tomllib

import pytest

from optscale_tui.demo.server import DEMO_KEY

HAIKU, SONNET, OPUS = "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6"


@pytest.fixture
def sb(sandbox):
    sandbox.env["OPTSCALE_TUI_KEY_STORE"] = "file"  # a developer's real keyring is never touched
    return sandbox


def config_path(sb):
    return sb.home / ".config" / "optscale-tui" / "config.toml"


def keys_path(sb):
    return config_path(sb).parent / "keys.toml"


def save_stored(sb, gateway, name="demo", key=DEMO_KEY, *extra):
    return sb.run("profile", "save", name, "--base-url", gateway.base_url, "--haiku", HAIKU, "--sonnet", SONNET,
                  "--opus", OPUS, "--api-key-stdin", "--store-key", *extra, input=key + "\n")


def test_save_with_a_variable_records_it_and_stores_nothing(sb, gateway):
    out = sb.run("profile", "save", "staging", "--base-url", gateway.base_url, "--opus", OPUS,
                 "--api-key-env", "STAGING_KEY", "--label", "Staging org", env={"STAGING_KEY": DEMO_KEY})
    assert out.returncode == 0, out.stderr
    data = tomllib.loads(config_path(sb).read_text())
    assert data["profiles"]["staging"] == {"label": "Staging org", "base_url": gateway.base_url, "opus": OPUS,
                                           "key": "env:STAGING_KEY"}
    assert stat.S_IMODE(config_path(sb).stat().st_mode) == 0o600
    assert not keys_path(sb).exists()
    shown = sb.run("profile", "show", "staging", "--json", env={"STAGING_KEY": DEMO_KEY})
    row = json.loads(shown.stdout)
    assert row["key_status"] == "from $STAGING_KEY" and row["key"].startswith("sk-") and "…" in row["key"]
    assert DEMO_KEY not in shown.stdout


def test_a_key_is_stored_only_with_store_key_in_a_0600_keys_file_never_in_the_profile_file(sb, gateway):
    refused = sb.run("profile", "save", "demo", "--base-url", gateway.base_url, "--api-key-stdin",
                     input=DEMO_KEY + "\n")
    assert refused.returncode == 2 and "--store-key" in refused.stderr
    assert not config_path(sb).exists() and not keys_path(sb).exists()
    out = save_stored(sb, gateway)
    assert out.returncode == 0, out.stderr
    assert "…" in out.stdout and DEMO_KEY not in out.stdout + out.stderr
    assert DEMO_KEY not in config_path(sb).read_text()
    assert tomllib.loads(keys_path(sb).read_text()) == {"keys": {"demo": DEMO_KEY}}
    assert stat.S_IMODE(keys_path(sb).stat().st_mode) == 0o600
    listed = json.loads(sb.run("profile", "list", "--json").stdout)
    assert [p["name"] for p in listed["profiles"]] == ["demo"] and listed["profiles"][0]["key_source"] == "stored"


def test_save_without_value_flags_saves_the_settings_in_effect(sb, gateway):
    sb.config_dir.mkdir()
    sb.settings.write_text(json.dumps({"model": OPUS, "env": {
        "ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": HAIKU, "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS}}))
    out = sb.run("profile", "save", "by-hand", "--label", "as configured")
    assert out.returncode == 0, out.stderr
    assert "from the settings in effect" in out.stdout
    profile = tomllib.loads(config_path(sb).read_text())["profiles"]["by-hand"]
    assert profile == {"label": "as configured", "base_url": gateway.base_url, "haiku": HAIKU, "opus": OPUS,
                       "main_model": OPUS, "key": "none"}


def test_save_without_value_flags_and_nothing_in_effect_is_a_usage_error(sb):
    out = sb.run("profile", "save", "empty")
    assert out.returncode == 2 and "--base-url" in out.stderr
    assert not config_path(sb).exists()


def test_use_plans_shows_a_masked_diff_confirms_saves_and_records_the_last_profile(sb, gateway):
    assert save_stored(sb, gateway).returncode == 0
    dry = sb.run("profile", "use", "demo", "--dry-run")
    assert dry.returncode == 0 and "+++ b/settings.json" in dry.stdout and not sb.settings.exists()
    assert DEMO_KEY not in dry.stdout
    no_tty = sb.run("profile", "use", "demo")
    assert no_tty.returncode == 2 and not sb.settings.exists()
    out = sb.run("profile", "use", "demo", "--yes")
    assert out.returncode == 0, out.stderr
    env = json.loads(sb.settings.read_text())["env"]
    assert env["ANTHROPIC_BASE_URL"] == gateway.anthropic_url and env["ANTHROPIC_AUTH_TOKEN"] == DEMO_KEY
    assert (env["ANTHROPIC_DEFAULT_HAIKU_MODEL"], env["ANTHROPIC_DEFAULT_OPUS_MODEL"]) == (HAIKU, OPUS)
    assert DEMO_KEY not in out.stdout + out.stderr
    assert json.loads(sb.run("profile", "list", "--json").stdout)["last_profile"] == "demo"


def test_use_unmaps_the_tiers_the_profile_leaves_unmapped_and_the_diff_shows_it(sb, gateway):
    out = sb.run("profile", "save", "opus-only", "--base-url", gateway.base_url, "--opus", OPUS,
                 "--api-key-stdin", "--store-key", input=DEMO_KEY + "\n")
    assert out.returncode == 0, out.stderr
    sb.config_dir.mkdir()
    sb.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": "https://elsewhere.example/llm_proxy/o/anthropic", "ANTHROPIC_AUTH_TOKEN": "sk-bf-other-0",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "other/haiku", "ANTHROPIC_DEFAULT_SONNET_MODEL": "other/sonnet",
        "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME": "Sonnet elsewhere", "ANTHROPIC_DEFAULT_OPUS_MODEL": "other/opus"}}))
    dry = sb.run("profile", "use", "opus-only", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    removed = [line for line in dry.stdout.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert any("ANTHROPIC_DEFAULT_HAIKU_MODEL" in line for line in removed)
    assert any("ANTHROPIC_DEFAULT_SONNET_MODEL_NAME" in line for line in removed)
    assert sb.run("profile", "use", "opus-only", "--yes").returncode == 0
    env = json.loads(sb.settings.read_text())["env"]
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS
    assert not {"ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_DEFAULT_SONNET_MODEL",
                "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME"} & set(env)
    # A flag given with apply --profile still wins over what the profile leaves unmapped.
    assert sb.run("apply", "--profile", "opus-only", "--haiku", HAIKU, "--yes").returncode == 0
    assert json.loads(sb.settings.read_text())["env"]["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == HAIKU


def test_use_and_apply_drop_a_label_written_for_the_tiers_old_model_and_keep_one_for_the_same_model(sb, gateway):
    assert save_stored(sb, gateway).returncode == 0
    sb.config_dir.mkdir()
    sb.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": "https://elsewhere.example/llm_proxy/o/anthropic", "ANTHROPIC_AUTH_TOKEN": "sk-bf-other-0",
        "ANTHROPIC_DEFAULT_OPUS_MODEL": "other/opus", "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME": "Opus elsewhere",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": HAIKU, "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME": "My Haiku"}}, indent=2))
    dry = sb.run("profile", "use", "demo", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    removed = [line for line in dry.stdout.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert any("ANTHROPIC_DEFAULT_OPUS_MODEL_NAME" in line for line in removed)  # /model would call OPUS that
    assert "env.ANTHROPIC_DEFAULT_OPUS_MODEL_NAME: the Opus label named the model the tier mapped before" in dry.stdout
    assert sb.run("profile", "use", "demo", "--yes").returncode == 0
    env = json.loads(sb.settings.read_text())["env"]
    assert "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME" not in env
    assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME"] == "My Haiku"  # Haiku still maps the model it was named for
    # Plain apply with a new Haiku model: that label goes too.
    out = sb.run("apply", "--base-url", gateway.base_url, "--haiku", "anthropic/claude-haiku-9", "--yes")
    assert out.returncode == 0, out.stderr
    assert "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME" not in json.loads(sb.settings.read_text())["env"]


def test_the_default_scope_preference_picks_the_file_when_no_scope_is_given(sb, gateway):
    config_path(sb).parent.mkdir(parents=True)
    config_path(sb).write_text('[preferences]\ndefault_scope = "project"\n')
    args = ("apply", "--base-url", gateway.base_url, "--opus", OPUS, "--api-key-env", "K", "--yes")
    out = sb.run(*args, env={"K": DEMO_KEY})
    assert out.returncode == 0, out.stderr
    assert (sb.cwd / ".claude" / "settings.json").exists() and not sb.settings.exists()
    assert sb.run(*args, "--scope", "user", env={"K": DEMO_KEY}).returncode == 0  # given: it wins
    assert sb.settings.exists()
    listed = sb.run("restore", "--list")
    assert listed.returncode == 0 and f"Backups of {sb.cwd / '.claude' / 'settings.json'}" in listed.stdout
    config_path(sb).write_text("[preferences\n")  # does not parse: reported, never rewritten, the scope is user
    listed = sb.run("restore", "--list")
    assert listed.returncode == 0 and "warning: preferences not used" in listed.stderr
    assert f"Backups of {sb.settings}" in listed.stdout and config_path(sb).read_text() == "[preferences\n"


def test_the_tui_starts_on_the_default_scope_preference_unless_given(monkeypatch, tmp_path):
    from optscale_tui import cli
    from optscale_tui.core.clients.claude_code.locations import Scope

    config = tmp_path / "config.toml"
    config.write_text('[preferences]\ndefault_scope = "local"\n')
    monkeypatch.setenv("OPTSCALE_TUI_CONFIG", str(config))
    started = []
    monkeypatch.setattr("optscale_tui.ui.app.run_app", lambda **kwargs: started.append(kwargs["scope"]) or 0)
    assert cli.run_tui(demo=False) == 0 and cli.run_tui(demo=False, scope="project") == 0
    assert started == [Scope.LOCAL, Scope.PROJECT]


def test_apply_with_a_profile_takes_its_values_and_flags_win(sb, gateway):
    assert save_stored(sb, gateway).returncode == 0
    out = sb.run("apply", "--profile", "demo", "--sonnet", HAIKU, "--yes")
    assert out.returncode == 0, out.stderr
    env = json.loads(sb.settings.read_text())["env"]
    assert env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == HAIKU and env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS
    assert env["ANTHROPIC_AUTH_TOKEN"] == DEMO_KEY
    assert sb.run("apply", "--yes").returncode == 2  # neither --base-url nor --profile


def test_verify_a_profile_writes_nothing_and_fails_on_its_bad_key(sb, gateway):
    assert save_stored(sb, gateway).returncode == 0
    out = sb.run("verify", "--profile", "demo", "--json", "--no-claude-cli")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["ok"] is True
    assert not sb.settings.exists()
    bad = "sk-bf-" + "not-the-demo-key-0000000000"
    assert save_stored(sb, gateway, "bad", bad).returncode == 0
    out = sb.run("verify", "--profile", "bad", "--json", "--no-claude-cli")
    assert out.returncode == 1
    assert bad not in out.stdout + out.stderr


def test_an_env_profile_whose_variable_is_unset_is_a_usage_error(sb, gateway):
    sb.run("profile", "save", "e", "--base-url", gateway.base_url, "--opus", OPUS, "--api-key-env", "NOPE_KEY")
    out = sb.run("verify", "--profile", "e", "--no-claude-cli")
    assert out.returncode == 2 and "$NOPE_KEY" in out.stderr


@pytest.mark.parametrize("argv", [("profile", "show", "ghost"), ("profile", "use", "ghost", "--yes"),
                                  ("profile", "delete", "ghost", "--yes"), ("apply", "--profile", "ghost"),
                                  ("verify", "--profile", "ghost")])
def test_an_unknown_profile_is_a_usage_error(sb, argv):
    out = sb.run(*argv)
    assert out.returncode == 2 and "No profile named 'ghost'" in out.stderr


@pytest.mark.parametrize("name", ["a b", "../x", "-x"])
def test_a_bad_profile_name_is_a_usage_error(sb, gateway, name):
    out = sb.run("profile", "save", name, "--base-url", gateway.base_url)
    assert out.returncode == 2 and not config_path(sb).exists()


def test_a_config_file_that_does_not_parse_is_refused_with_line_and_column_and_kept(sb, gateway):
    config_path(sb).parent.mkdir(parents=True)
    config_path(sb).write_text("[profiles.x]\nbase_url = \n")
    for argv in (("profile", "list"), ("profile", "save", "y", "--base-url", gateway.base_url)):
        out = sb.run(*argv)
        assert out.returncode == 2 and "line 2, column" in out.stderr
    assert config_path(sb).read_text() == "[profiles.x]\nbase_url = \n"


def test_config_option_before_or_after_the_command_and_the_variable(sb, gateway, tmp_path):
    elsewhere, env_file = tmp_path / "other.toml", tmp_path / "env.toml"
    assert sb.run("--config", str(elsewhere), "profile", "save", "a", "--base-url", gateway.base_url).returncode == 0
    assert sb.run("profile", "save", "b", "--base-url", gateway.base_url, "--config", str(elsewhere)).returncode == 0
    assert set(tomllib.loads(elsewhere.read_text())["profiles"]) == {"a", "b"}
    out = sb.run("profile", "save", "c", "--base-url", gateway.base_url, env={"OPTSCALE_TUI_CONFIG": str(env_file)})
    assert out.returncode == 0 and set(tomllib.loads(env_file.read_text())["profiles"]) == {"c"}
    assert not config_path(sb).exists()


def test_delete_asks_and_removes_the_profile_and_its_stored_key(sb, gateway):
    assert save_stored(sb, gateway).returncode == 0
    assert sb.run("profile", "delete", "demo").returncode == 2  # not a terminal and no --yes
    out = sb.run("profile", "delete", "demo", "--yes")
    assert out.returncode == 0
    assert "demo" not in tomllib.loads(config_path(sb).read_text())["profiles"]
    assert tomllib.loads(keys_path(sb).read_text()) == {"keys": {}}


def test_switching_a_profile_away_from_a_stored_key_deletes_it(sb, gateway):
    assert save_stored(sb, gateway).returncode == 0
    assert sb.run("profile", "save", "demo", "--api-key-env", "DEMO_KEY_VAR").returncode == 0
    assert tomllib.loads(keys_path(sb).read_text()) == {"keys": {}}
    profile = tomllib.loads(config_path(sb).read_text())["profiles"]["demo"]
    assert profile["key"] == "env:DEMO_KEY_VAR" and profile["opus"] == OPUS  # its values stay


def test_verify_follows_the_real_client_preference_and_a_broken_config_only_warns(sb, gateway):
    fake = sb.cwd / "claude-that-must-not-run"
    fake.write_text("#!/bin/sh\ntouch \"$0.ran\"\nexit 1\n")
    fake.chmod(0o755)
    sb.config_dir.mkdir()
    sb.settings.write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url,
                                               "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                               "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS}}))
    config_path(sb).parent.mkdir(parents=True)
    config_path(sb).write_text("[preferences]\nreal_client_check = false\n")
    out = sb.run("verify", "--json", env={"OPTSCALE_TUI_CLAUDE_BIN": str(fake)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert not (sb.cwd / "claude-that-must-not-run.ran").exists()
    assert not any(c["id"].startswith("claude") for c in json.loads(out.stdout)["checks"])
    config_path(sb).write_text("[preferences\n")
    out = sb.run("verify", "--json", "--no-claude-cli")
    assert out.returncode == 0 and "warning: preferences not used" in out.stderr
    assert config_path(sb).read_text() == "[preferences\n"


def test_use_and_apply_remove_another_gateways_main_model_and_keep_an_alias_the_profile_maps(sb, gateway):
    # The profile has no main model; settings.json's `model` is another gateway's id, which this gateway would refuse
    # (Claude Code sends it as is). Without `model`, the default session follows the profile's Opus tier.
    assert save_stored(sb, gateway).returncode == 0
    sb.config_dir.mkdir()
    elsewhere = {"model": "other-gw/main", "theme": "dark", "env": {
        "ANTHROPIC_BASE_URL": "https://elsewhere.example/llm_proxy/o/anthropic", "ANTHROPIC_AUTH_TOKEN": "sk-bf-other-0",
        "ANTHROPIC_DEFAULT_OPUS_MODEL": "other-gw/opus"}}
    sb.settings.write_text(json.dumps(elsewhere, indent=2))
    dry = sb.run("profile", "use", "demo", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert '-  "model": "other-gw/main",' in dry.stdout.splitlines()
    assert "  model: a model of the file's previous connection" in dry.stdout
    assert sb.run("profile", "use", "demo", "--yes").returncode == 0
    assert "model" not in json.loads(sb.settings.read_text())

    sb.settings.write_text(json.dumps(elsewhere, indent=2))
    assert sb.run("apply", "--profile", "demo", "--yes").returncode == 0
    data = json.loads(sb.settings.read_text())
    assert "model" not in data and data["theme"] == "dark"

    # An alias Claude Code resolves to one of the profile's tiers (what /model writes) stays.
    sb.settings.write_text(json.dumps({**elsewhere, "model": "sonnet"}, indent=2))
    assert sb.run("profile", "use", "demo", "--yes").returncode == 0
    assert json.loads(sb.settings.read_text())["model"] == "sonnet"

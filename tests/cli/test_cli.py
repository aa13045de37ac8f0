"""The headless CLI end to end: real child processes, a sandbox HOME, the demo gateway on 127.0.0.1."""

from __future__ import annotations

import json
import os
import stat

import pytest

from optscale_tui.demo.server import DEMO_KEY

HAIKU, SONNET, OPUS = "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6"
ALL_TIERS = ("--haiku", HAIKU, "--sonnet", SONNET, "--opus", OPUS)


def apply(sandbox, gateway, *extra: str, key: str = DEMO_KEY, base_url: str | None = None):
    return sandbox.run(
        "apply", "--base-url", base_url or gateway.base_url, "--api-key-env", "OPTSCALE_KEY", *extra,
        env={"OPTSCALE_KEY": key},
    )


def test_version_and_help():
    import subprocess
    import sys

    from tests.cli.conftest import Sandbox  # noqa: F401  (the fixture module imports cleanly)

    out = subprocess.run([sys.executable, "-m", "optscale_tui", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("optscale-tui ")
    out = subprocess.run([sys.executable, "-m", "optscale_tui", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("apply", "verify", "models", "doctor", "restore", "remove"):
        assert command in out.stdout


def test_apply_writes_settings_with_masked_diff_and_keeps_other_keys(sandbox, gateway):
    sandbox.config_dir.mkdir()
    sandbox.settings.write_text(json.dumps({"theme": "dark", "env": {"KEEP": "1"}, "hooks": {}}, indent=2) + "\n")
    result = apply(sandbox, gateway, *ALL_TIERS, "--yes")
    assert result.returncode == 0, result.stderr
    assert DEMO_KEY not in result.stdout + result.stderr
    assert "+    \"ANTHROPIC_AUTH_TOKEN\": \"sk-bf-…" in result.stdout
    data = json.loads(sandbox.settings.read_text())
    assert list(data) == ["theme", "env", "hooks"]
    assert data["env"]["KEEP"] == "1"
    assert data["env"]["ANTHROPIC_BASE_URL"] == gateway.anthropic_url
    assert data["env"]["ANTHROPIC_AUTH_TOKEN"] == DEMO_KEY
    assert data["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS
    assert stat.S_IMODE(sandbox.settings.stat().st_mode) == 0o600
    backups = list((sandbox.config_dir / "optscale-tui-backups").iterdir())
    assert any(p.name.endswith(".original") for p in backups)


def test_apply_to_another_gateway_removes_the_previous_ones_main_model_and_keeps_one_chosen_for_this_gateway(
        sandbox, gateway):
    # Plain apply has the same defect when it moves the file to another gateway: Claude Code would send the old
    # gateway's `model` to this one. On the same gateway the user's own choice stays, as before.
    sandbox.config_dir.mkdir()
    sandbox.settings.write_text(json.dumps({"model": "other-gw/main", "env": {
        "ANTHROPIC_BASE_URL": "https://elsewhere.example/llm_proxy/o/anthropic"}}, indent=2) + "\n")
    result = apply(sandbox, gateway, *ALL_TIERS, "--yes")
    assert result.returncode == 0, result.stderr
    data = json.loads(sandbox.settings.read_text())
    assert "model" not in data
    sandbox.settings.write_text(json.dumps({**data, "model": "anthropic/claude-opus-4-6-thinking"}, indent=2))
    result = apply(sandbox, gateway, "--haiku", SONNET, "--yes")
    assert result.returncode == 0, result.stderr
    assert json.loads(sandbox.settings.read_text())["model"] == "anthropic/claude-opus-4-6-thinking"


def test_apply_dry_run_writes_nothing(sandbox, gateway):
    result = apply(sandbox, gateway, *ALL_TIERS, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Dry run" in result.stdout
    assert not sandbox.settings.exists()


def test_apply_without_yes_off_a_terminal_refuses(sandbox, gateway):
    result = apply(sandbox, gateway, *ALL_TIERS)
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert not sandbox.settings.exists()


def test_apply_refuses_a_file_that_does_not_parse_and_leaves_it_untouched(sandbox, gateway):
    sandbox.config_dir.mkdir()
    broken = '{\n  "env": {\n    "A": "1",\n  }\n}\n'
    sandbox.settings.write_text(broken)
    result = apply(sandbox, gateway, *ALL_TIERS, "--yes")
    assert result.returncode == 2
    assert "line 3" in result.stderr and "settings_invalid" in result.stderr
    assert sandbox.settings.read_text() == broken
    assert not (sandbox.config_dir / "optscale-tui-backups").exists()


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://gateway.example.com/llm_proxy/00000000-0000-0000-0000-000000000000/v1", "http://"),
        ("https://user:pw@gateway.example.com/llm_proxy/x/v1", "password"),
        ("not a url", "https://"),
    ],
)
def test_apply_rejects_bad_base_urls(sandbox, gateway, url, needle):
    result = apply(sandbox, gateway, *ALL_TIERS, "--yes", base_url=url)
    assert result.returncode == 2
    assert needle in result.stderr
    assert not sandbox.settings.exists()


def test_apply_requires_a_tier_and_warns_when_opus_is_unmapped(sandbox, gateway):
    result = apply(sandbox, gateway, "--yes")
    assert result.returncode == 2 and "at least one tier" in result.stderr
    result = apply(sandbox, gateway, "--haiku", HAIKU, "--yes")
    assert result.returncode == 0
    assert "claude-opus-5-5" in result.stderr  # the built-in name the default session would send


def test_key_via_stdin_and_kept_when_omitted(sandbox, gateway):
    result = sandbox.run("apply", "--base-url", gateway.base_url, "--api-key-stdin", *ALL_TIERS, "--yes",
                         input=DEMO_KEY + "\n")
    assert result.returncode == 0, result.stderr
    # A second apply without a key keeps the stored one and only changes the tier.
    result = sandbox.run("apply", "--base-url", gateway.base_url, "--sonnet", HAIKU, "--yes")
    assert result.returncode == 0, result.stderr
    env = json.loads(sandbox.settings.read_text())["env"]
    assert env["ANTHROPIC_AUTH_TOKEN"] == DEMO_KEY
    assert env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == HAIKU
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS


def test_tier_flags_left_out_keep_the_files_models_as_stored_values_reads_them(sandbox, gateway):
    # apply reads the tiers it keeps through core's stored_values (as the app's editor does): a usable model is kept
    # as it is; one core refuses as a model name (here, shaped like a key) reads as absent and is never written back.
    sandbox.config_dir.mkdir()
    sandbox.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": HAIKU, "ANTHROPIC_DEFAULT_SONNET_MODEL": "sk-bf-not-a-model-0123456789"}}))
    result = apply(sandbox, gateway, "--opus", OPUS, "--yes")
    assert result.returncode == 0, result.stderr
    env = json.loads(sandbox.settings.read_text())["env"]
    assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == HAIKU
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS
    assert "ANTHROPIC_DEFAULT_SONNET_MODEL" not in env


def test_verify_passes_against_the_demo_gateway(sandbox, gateway):
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes").returncode == 0
    result = sandbox.run("verify", "--json", "--no-claude-cli")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    for tier in ("haiku", "sonnet", "opus"):
        assert statuses[f"prompt.{tier}"] == "pass"
        assert statuses[f"tools.{tier}"] == "pass"
    assert statuses["connect"] == "pass" and statuses["catalog"] == "pass" and statuses["betas"] == "pass"
    prompt = next(c for c in report["checks"] if c["id"] == "prompt.opus")
    assert prompt["timings"]["ttft_ms"] >= 0 and prompt["request_ids"]
    assert DEMO_KEY not in result.stdout
    # The gateway saw what Claude Code sends: a Bearer token, the API version, the mapped model.
    posts = [r for r in gateway.requests if r.method == "POST" and r.path.endswith("/v1/messages")]
    assert {r.body["model"] for r in posts} == {HAIKU, SONNET, OPUS}
    assert all(r.headers["authorization"] == f"Bearer {DEMO_KEY}" for r in posts)
    assert all(r.headers["anthropic-version"] == "2023-06-01" for r in posts)


def test_verify_text_streams_the_reply(sandbox, gateway):
    assert apply(sandbox, gateway, "--haiku", HAIKU, "--opus", OPUS, "--yes").returncode == 0
    gateway.faults.chunk_delay_ms = 15  # slow replies, so other checks finish while they stream
    result = sandbox.run("verify", "--no-claude-cli")
    assert result.returncode == 0, result.stdout + result.stderr
    # Each reply reads whole on its own line: other checks' results never cut into it.
    reply = "Hello from the OptScale demo gateway. You said: Reply with one short sentence"
    for tier in ("haiku", "opus"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"  [prompt.{tier}] "))
        assert reply in line, result.stdout
    assert result.stdout.count("✓ PASS") >= 6
    assert "Connection verified" in result.stdout


def test_verify_text_verdict_counts_the_lines_it_printed(sandbox, gateway):
    # An unmapped Opus tier: the "config" line explains the doctor's finding, whose own doctor.tier_unmapped row is
    # only in --json. The verdict used to count it too: one failure more than the FAIL lines printed.
    assert apply(sandbox, gateway, "--sonnet", SONNET, "--yes").returncode == 0
    result = sandbox.run("verify", "--no-claude-cli")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    verdict = next(line for line in lines if line.startswith("Verification failed: "))
    printed = {word: sum(line.startswith(f"{mark} {word}") for line in lines)
               for mark, word in (("✓", "PASS"), ("!", "WARN"), ("✗", "FAIL"))}
    assert printed["FAIL"] >= 1
    assert f"{printed['PASS']} passed, " in verdict and f", {printed['FAIL']} failed" in verdict, result.stdout
    assert f" {printed['WARN']} warning" in verdict, result.stdout
    assert "doctor.tier_unmapped" in {c["id"] for c in json.loads(sandbox.run(
        "verify", "--json", "--no-claude-cli").stdout)["checks"]}  # still there for --json


def test_verify_wrong_key_names_the_cause(sandbox, gateway):
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes", key="sk-bf-wrong-key-0000000000000000").returncode == 0
    result = sandbox.run("verify", "--json", "--no-claude-cli")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    causes = {c["cause"] for c in report["checks"] if c["status"] == "fail"}
    assert causes == {"auth_invalid_key"}
    assert "sk-bf-wrong-key-0000000000000000" not in result.stdout


def test_verify_base_url_left_at_v1(sandbox, gateway):
    sandbox.config_dir.mkdir()
    sandbox.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": gateway.base_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS}}))
    result = sandbox.run("verify", "--json", "--no-claude-cli")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    prompt = next(c for c in report["checks"] if c["id"] == "prompt.opus")
    assert prompt["cause"] == "base_url_v1"


def test_verify_without_configuration_says_what_is_missing(sandbox):
    result = sandbox.run("verify", "--json", "--no-claude-cli")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    ids = {c["id"] for c in report["checks"] if c["status"] == "fail"}
    assert {"config.base_url", "config.api_key"} <= ids


def test_verify_gateway_down(sandbox, gateway):
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes").returncode == 0
    gateway.stop()
    result = sandbox.run("verify", "--json", "--no-claude-cli")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    connect = next(c for c in report["checks"] if c["id"] == "connect")
    assert connect["cause"] == "connect"
    assert {c["status"] for c in report["checks"] if c["id"].startswith("prompt.")} == {"skip"}


def test_models_lists_the_catalog(sandbox, gateway):
    result = sandbox.run("models", "--base-url", gateway.base_url, "--api-key-env", "K", "--json",
                         env={"K": DEMO_KEY})
    assert result.returncode == 0, result.stderr
    ids = [m["id"] for m in json.loads(result.stdout)["models"]]
    assert OPUS in ids and SONNET in ids
    bad = sandbox.run("models", "--base-url", gateway.base_url, "--api-key-env", "K", env={"K": "sk-bf-nope-00000000"})
    assert bad.returncode == 1 and "auth_invalid_key" in bad.stderr


def test_key_is_never_an_argument(sandbox, gateway):
    result = sandbox.run("apply", "--base-url", gateway.base_url, "--api-key", DEMO_KEY, "--opus", OPUS)
    assert result.returncode == 2


def test_doctor_json_shows_sources_and_findings(sandbox, gateway):
    assert apply(sandbox, gateway, "--haiku", HAIKU, "--yes").returncode == 0
    result = sandbox.run("doctor", "--json", env={"ANTHROPIC_API_KEY": "sk-ant-shell-0000000000000000"})
    report = json.loads(result.stdout)
    causes = {f["cause"] for f in report["findings"]}
    assert {"shell_api_key", "tier_unmapped"} <= causes
    token = next(v for v in report["variables"] if v["name"] == "ANTHROPIC_AUTH_TOKEN")
    assert token["source"] == "user" and DEMO_KEY not in result.stdout
    assert result.returncode == 1  # unmapped Opus fails the default session against a gateway


def test_restore_and_remove(sandbox, gateway):
    sandbox.config_dir.mkdir()
    original = '{\n    "theme": "light"\n}'
    sandbox.settings.write_text(original)
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes").returncode == 0
    listing = sandbox.run("restore", "--list")
    assert listing.returncode == 0 and "original" in listing.stdout
    removed = sandbox.run("remove", "--yes")
    assert removed.returncode == 0, removed.stderr
    env = json.loads(sandbox.settings.read_text()).get("env", {})
    assert not any(k.startswith("ANTHROPIC_") for k in env)
    restored = sandbox.run("restore", "original", "--yes")
    assert restored.returncode == 0, restored.stderr
    assert sandbox.settings.read_text() == original


def test_scope_project_writes_into_the_cwd(sandbox, gateway):
    result = apply(sandbox, gateway, *ALL_TIERS, "--scope", "project", "--yes")
    assert result.returncode == 0, result.stderr
    assert (sandbox.cwd / ".claude" / "settings.json").exists()
    assert not sandbox.settings.exists()


def test_claude_config_dir_is_respected(sandbox, gateway, tmp_path):
    custom = tmp_path / "custom-claude"
    result = sandbox.run("apply", "--base-url", gateway.base_url, "--api-key-env", "K", *ALL_TIERS, "--yes",
                         env={"K": DEMO_KEY, "CLAUDE_CONFIG_DIR": str(custom)})
    assert result.returncode == 0, result.stderr
    assert (custom / "settings.json").exists()
    assert not sandbox.settings.exists()
    assert os.environ.get("CLAUDE_CONFIG_DIR") != str(custom)


def test_verify_and_doctor_print_the_fix_command(sandbox, gateway):
    assert apply(sandbox, gateway, "--sonnet", SONNET, "--yes").returncode == 0
    text = sandbox.run("verify", "--no-claude-cli")
    assert text.returncode == 1
    assert "$ optscale-tui fix tier_unmapped" in text.stdout and f"--opus {OPUS}" in text.stdout  # from the catalog
    doctor = json.loads(sandbox.run("doctor", "--json").stdout)
    fix = next(f for f in doctor["fixes"] if f["cause"] == "tier_unmapped")
    # Running the printed command fixes it.
    import shlex

    result = sandbox.run(*shlex.split(fix["command"])[1:])
    assert result.returncode == 0, result.stderr
    assert sandbox.run("verify", "--json", "--no-claude-cli").returncode == 0


def test_tui_options_reach_the_app(monkeypatch, tmp_path):
    from optscale_tui import cli
    from optscale_tui.core.clients.claude_code.locations import Scope
    from optscale_tui.ui import app as app_module

    seen = {}
    monkeypatch.setattr(app_module, "run_app", lambda **kwargs: seen.update(kwargs) or 0)
    assert cli.main(["--scope", "project", "--ca-bundle", str(tmp_path / "ca.pem")]) == 0
    assert seen == {"settings_path": None, "scope": Scope.PROJECT, "ca_bundle": tmp_path / "ca.pem"}
    assert cli.main(["--demo", "--settings", str(tmp_path / "s.json")]) == 2  # the demo has its own sandbox


def test_verify_text_explains_a_shared_cause_once_and_prints_the_fix_command(sandbox, gateway):
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes", key="sk-bf-wrong-key-0000000000000000").returncode == 0
    result = sandbox.run("verify", "--no-claude-cli")
    assert result.returncode == 1
    assert result.stdout.count("cause: auth_invalid_key") == 1  # the full block once…
    assert result.stdout.count("same cause as above (auth_invalid_key)") >= 5  # …then one line per check
    sandbox.settings.unlink()
    result = sandbox.run("verify", "--no-claude-cli")
    assert "run:   optscale-tui apply --base-url URL --api-key-stdin" in result.stdout


def test_every_listed_fix_has_a_command_and_tiers_come_from_the_runs_catalog(sandbox, gateway):
    """A /v1 Base URL, the key stored as ANTHROPIC_API_KEY and only Sonnet mapped: verify listed two fixes under
    "Fix-it commands" with no command, and proposed Sonnet's model for Opus while the catalog it had just fetched
    listed an Opus model."""
    import shlex

    sandbox.config_dir.mkdir()
    sandbox.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": gateway.base_url, "ANTHROPIC_API_KEY": DEMO_KEY,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": SONNET}}, indent=2) + "\n")
    result = sandbox.run("verify", "--no-claude-cli", "--json")
    assert result.returncode == 1
    fixes = json.loads(result.stdout)["fixes"]
    assert {f["cause"] for f in fixes} >= {"tier_unmapped", "base_url_v1"}
    assert all(f["command"].startswith("optscale-tui fix ") for f in fixes)
    tier = next(f for f in fixes if f["cause"] == "tier_unmapped")
    assert f"opus → {OPUS}" in tier["title"] and f"haiku → {HAIKU}" in tier["title"]
    text = sandbox.run("verify", "--no-claude-cli").stdout
    assert text.count("    $ optscale-tui fix ") == len(fixes)
    for fix in fixes:  # each command, run as printed, does what its title says
        assert sandbox.run(*shlex.split(fix["command"])[1:]).returncode == 0
    env = json.loads(sandbox.settings.read_text())["env"]
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS and env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == HAIKU
    assert env["ANTHROPIC_BASE_URL"] == gateway.anthropic_url


def test_verify_settings_says_what_it_checks_and_shows_the_named_files_values(sandbox, gateway, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                         "ANTHROPIC_DEFAULT_SONNET_MODEL": SONNET}}))
    (sandbox.cwd / ".claude").mkdir()
    (sandbox.cwd / ".claude" / "settings.json").write_text(json.dumps({"env": {"ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS}}))
    result = sandbox.run("verify", "--settings", str(other), "--no-claude-cli")
    head = result.stdout.split("\n\n")[0]
    assert f"with {other} in place of the user settings" in head and "still apply" in head
    assert f"{other} holds: ANTHROPIC_BASE_URL={gateway.anthropic_url}, ANTHROPIC_AUTH_TOKEN=sk-bf-…" in head
    assert "ANTHROPIC_DEFAULT_OPUS_MODEL from" in head and str(sandbox.cwd / ".claude" / "settings.json") in head
    assert DEMO_KEY not in result.stdout + result.stderr
    plain = sandbox.run("verify", "--no-claude-cli").stdout.split("\n\n")[0]
    assert "in place of" not in plain and "holds:" not in plain


@pytest.mark.parametrize("how", ["helper", "spaces"])
def test_verify_connects_where_claude_code_does(sandbox, gateway, how):
    """Claude Code 2.1.332 connects with an apiKeyHelper and no token, and with spaces around the stored key; verify
    said "no key" and `connect` for these."""
    sandbox.config_dir.mkdir()
    env = {"ANTHROPIC_BASE_URL": gateway.anthropic_url, **dict(zip(("ANTHROPIC_DEFAULT_HAIKU_MODEL",
           "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL"), (HAIKU, SONNET, OPUS), strict=True))}
    data: dict = {"env": env}
    if how == "helper":
        script = sandbox.home / "get-key.sh"
        script.write_text(f"#!/bin/sh\necho {DEMO_KEY}\n")
        script.chmod(0o700)
        data["apiKeyHelper"] = str(script)
    else:
        env["ANTHROPIC_AUTH_TOKEN"] = f"{DEMO_KEY} "
    sandbox.settings.write_text(json.dumps(data, indent=2))
    result = sandbox.run("verify", "--no-claude-cli")
    assert result.returncode == 0, result.stdout[-2000:]
    assert DEMO_KEY not in result.stdout + result.stderr
    if how == "helper":
        assert "(from apiKeyHelper in " in result.stdout
    else:
        assert "key_whitespace" in result.stdout and "$ optscale-tui fix key_whitespace --yes" in result.stdout


def test_restoring_the_original_of_a_file_apply_created_removes_it(sandbox, gateway):
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes").returncode == 0
    assert apply(sandbox, gateway, *ALL_TIERS[:4], "--opus", SONNET, "--yes").returncode == 0  # a second save
    listing = sandbox.run("restore", "--list").stdout
    assert "original: no file before the first save; restoring it removes the file" in listing
    assert "kept for good" not in listing  # the first save's content is ours, not the user's original
    result = sandbox.run("restore", "original", "--yes")
    assert result.returncode == 0, result.stderr
    assert not sandbox.settings.exists()
    assert DEMO_KEY not in result.stdout + result.stderr

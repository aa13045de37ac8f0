"""`optscale-tui desktop …` end to end: a sandbox HOME (and XDG_CONFIG_HOME), the demo gateway, the real CLI."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import stat
import sys
from pathlib import Path

import pytest

from optscale_tui.demo.server import DEMO_KEY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-desktop"
HAIKU, SONNET = "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6"


@pytest.fixture
def desk(sandbox):
    """The sandbox with Desktop's folder under its own XDG_CONFIG_HOME (never the machine's)."""
    sandbox.env["XDG_CONFIG_HOME"] = str(sandbox.home / ".config")
    sandbox.env["OPTSCALE_KEY"] = DEMO_KEY
    sandbox.folder = sandbox.home / ".config" / "Claude-3p"
    return sandbox


def entry(desk) -> dict:
    return json.loads((desk.folder / "configLibrary" / "optscale-tui.json").read_text())


def no_key_shown(result) -> None:
    assert DEMO_KEY not in result.stdout and DEMO_KEY not in result.stderr


def apply_flags(gateway) -> list[str]:
    return ["desktop", "apply", "--base-url", gateway.base_url, "--api-key-env", "OPTSCALE_KEY",
            "--haiku", HAIKU, "--sonnet", SONNET]


def test_apply_writes_desktops_configuration_with_a_masked_diff(desk, gateway):
    result = desk.run(*apply_flags(gateway), "--yes")
    assert result.returncode == 0, result.stderr
    no_key_shown(result)
    assert "+++ b/configLibrary/optscale-tui.json" in result.stdout and "sk-bf-…a001" in result.stdout
    assert "Saved" in result.stdout and "desktop verify" in result.stdout
    written = entry(desk)
    assert written["inferenceGatewayBaseUrl"] == gateway.anthropic_url and written["inferenceGatewayApiKey"] == DEMO_KEY
    assert [m["name"] for m in written["inferenceModels"]] == [SONNET, HAIKU]
    assert json.loads((desk.folder / "claude_desktop_config.json").read_text()) == {"deploymentMode": "3p"}
    assert json.loads((desk.folder / "configLibrary" / "_meta.json").read_text())["appliedId"] == "optscale-tui"


def test_apply_without_value_flags_takes_what_claude_code_uses(desk, gateway):
    code = desk.run("apply", "--base-url", gateway.base_url, "--api-key-env", "OPTSCALE_KEY", "--haiku", HAIKU,
                    "--opus", "anthropic/claude-opus-4-6", "--yes")
    assert code.returncode == 0, code.stderr
    result = desk.run("desktop", "apply", "--yes")
    assert result.returncode == 0, result.stderr
    no_key_shown(result)
    assert "Base URL: Claude Code (" in result.stdout and "API key: Claude Code (" in result.stdout
    written = entry(desk)
    assert written["inferenceGatewayBaseUrl"] == gateway.anthropic_url and written["inferenceGatewayApiKey"] == DEMO_KEY
    assert [m["name"] for m in written["inferenceModels"]] == ["anthropic/claude-opus-4-6", HAIKU]
    assert written["inferenceModels"][0]["labelOverride"] == "Opus · claude-opus-4-6"


def test_claude_codes_model_labels_name_the_models_in_desktop(desk, gateway):
    desk.config_dir.mkdir()
    desk.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": SONNET, "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME": "Team Sonnet"}}))
    result = desk.run("desktop", "apply", "--yes")
    assert result.returncode == 0, result.stderr
    assert entry(desk)["inferenceModels"] == [{"name": SONNET, "labelOverride": "Team Sonnet",
                                               "anthropicFamilyTier": "sonnet", "isFamilyDefault": True}]


def test_dry_run_writes_nothing_and_no_terminal_needs_yes(desk, gateway):
    result = desk.run(*apply_flags(gateway), "--dry-run")
    assert result.returncode == 0 and "Dry run: nothing was written." in result.stdout
    no_key_shown(result)
    assert not desk.folder.exists()
    asked = desk.run(*apply_flags(gateway))
    assert asked.returncode == 2 and "--yes" in asked.stderr and not desk.folder.exists()


def test_a_model_desktop_rejects_is_refused_with_the_catalogs_nearest_name(desk, gateway):
    result = desk.run("desktop", "apply", "--base-url", gateway.base_url, "--api-key-env", "OPTSCALE_KEY",
                      "--sonnet", "openai/gpt-4.1", "--yes")
    assert result.returncode == 2
    assert "desktop_model_rejected" in result.stderr and "Nearest valid name in the catalog: " in result.stderr
    assert SONNET in result.stderr and not desk.folder.exists()


def test_a_file_that_does_not_parse_is_refused_with_line_and_column(desk, gateway):
    shutil.copytree(FIXTURES / "broken", desk.folder)
    before = (desk.folder / "configLibrary" / "_meta.json").read_bytes()
    result = desk.run(*apply_flags(gateway), "--yes")
    assert result.returncode == 2 and "line 4, column" in result.stderr and "settings_invalid" in result.stderr
    assert (desk.folder / "configLibrary" / "_meta.json").read_bytes() == before


def test_verify_probes_desktops_values_and_reports_desktops_own_checks(desk, gateway):
    assert desk.run(*apply_flags(gateway), "--yes").returncode == 0
    result = desk.run("desktop", "verify", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    no_key_shown(result)
    payload = json.loads(result.stdout)
    statuses = {c["id"]: c["status"] for c in payload["checks"]}
    assert statuses["prompt.sonnet"] == "pass" and statuses["desktop.mode"] == "pass"
    assert statuses["desktop.models"] == "pass" and "desktop.log" in statuses and "config" not in statuses
    text = desk.run("desktop", "verify")
    assert text.returncode == 0 and "Model names Desktop accepts" in text.stdout


def test_verify_with_a_key_the_gateway_refuses_fails_with_exit_1(desk, gateway):
    desk.env["OPTSCALE_KEY"] = "sk-bf-refused-by-the-gateway-0000"
    assert desk.run(*apply_flags(gateway), "--yes").returncode == 0
    result = desk.run("desktop", "verify", "--json")
    assert result.returncode == 1
    assert any(c["cause"] == "auth_invalid_key" for c in json.loads(result.stdout)["checks"])


def test_verify_with_nothing_configured_says_so(desk):
    result = desk.run("desktop", "verify")
    assert result.returncode == 1 and "No configuration is applied" in result.stdout


def test_export_macos_profile_to_stdout_has_a_placeholder_key(desk, gateway):
    result = desk.run("desktop", "export", "--os", "macos", "--base-url", gateway.base_url,
                      "--api-key-env", "OPTSCALE_KEY", "--sonnet", SONNET)
    assert result.returncode == 0, result.stderr
    no_key_shown(result)
    payload = plistlib.loads(result.stdout.encode())["PayloadContent"][0]
    assert payload["PayloadType"] == "com.anthropic.claudefordesktop"
    assert payload["inferenceGatewayApiKey"] == "REPLACE_WITH_OPTSCALE_API_KEY"
    assert "placeholder" in result.stderr


def test_export_with_key_to_a_file_is_private(desk, gateway):
    out = desk.cwd / "claude.reg"
    result = desk.run("desktop", "export", "--os", "windows", "--with-key", "--output", str(out),
                      "--base-url", gateway.base_url, "--api-key-env", "OPTSCALE_KEY", "--sonnet", SONNET)
    assert result.returncode == 0, result.stderr
    no_key_shown(result)
    data = out.read_bytes()
    assert data.startswith(b"\xff\xfe") and DEMO_KEY in data[2:].decode("utf-16-le")
    if os.name != "nt":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_export_for_claude_code_is_the_env_block_apply_writes(desk, gateway):
    assert desk.run("apply", "--base-url", gateway.base_url, "--api-key-env", "OPTSCALE_KEY", "--haiku", HAIKU,
                    "--yes").returncode == 0
    result = desk.run("desktop", "export", "--os", "linux", "--target", "code")
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)["env"]
    saved = json.loads(desk.settings.read_text())["env"]
    assert env == {**saved, "ANTHROPIC_AUTH_TOKEN": "REPLACE_WITH_OPTSCALE_API_KEY"}
    assert "/etc/claude-code/managed-settings.json" in result.stderr


def test_export_refuses_to_print_the_key_on_a_terminal(monkeypatch, capsys, tmp_path):
    from optscale_tui import cli

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code = cli.main(["desktop", "export", "--os", "linux", "--with-key", "--base-url",
                     "https://my.optscale.ai/llm_proxy/org/v1", "--api-key-env", "NOPE", "--sonnet", SONNET])
    assert code == 2 and "--output FILE" in capsys.readouterr().err


def test_remove_switches_back_and_keeps_the_users_entries(desk, gateway):
    shutil.copytree(FIXTURES / "desktop-app", desk.folder)
    assert desk.run(*apply_flags(gateway), "--yes").returncode == 0
    result = desk.run("desktop", "remove", "--yes")
    assert result.returncode == 0, result.stderr
    no_key_shown(result)
    assert json.loads((desk.folder / "claude_desktop_config.json").read_text())["deploymentMode"] == "1p"
    meta = json.loads((desk.folder / "configLibrary" / "_meta.json").read_text())
    assert meta["appliedId"] == "3f9c2a1e-5b7d-4c1a-9e2f-8d6b4a0c1e77" and len(meta["entries"]) == 1
    ours = desk.folder / "configLibrary" / "optscale-tui.json"
    assert not ours.exists() and f"Removed {ours}" in result.stdout  # the 0600 file with the key is gone
    again = desk.run("desktop", "remove", "--yes")
    assert again.returncode == 0 and "Nothing to change" in again.stdout
    backups = desk.run("restore", "--list", "--settings", str(ours))  # and `restore` can bring it back
    newest = backups.stdout.split("\n")[1].split()[0]
    back = desk.run("restore", newest, "--settings", str(ours), "--yes")
    assert back.returncode == 0, back.stdout + back.stderr
    assert json.loads(ours.read_text())["inferenceGatewayApiKey"] == DEMO_KEY


def test_verify_lists_models_as_desktops_discovery_does_with_an_x_api_key_entry(desk, gateway):
    """An entry written in Desktop's own window: no inferenceModels, auth scheme x-api-key."""
    shutil.copytree(FIXTURES / "desktop-app", desk.folder)
    entry_file = desk.folder / "configLibrary" / "3f9c2a1e-5b7d-4c1a-9e2f-8d6b4a0c1e77.json"
    data = json.loads(entry_file.read_text())
    data.update(inferenceGatewayBaseUrl=gateway.anthropic_url, inferenceGatewayApiKey=DEMO_KEY)
    entry_file.write_text(json.dumps(data))
    (desk.folder / "claude_desktop_config.json").write_text('{"deploymentMode": "3p"}')
    result = desk.run("desktop", "verify", "--json")
    no_key_shown(result)
    payload = json.loads(result.stdout)
    checks = {c["id"]: c for c in payload["checks"]}
    assert payload["target"]["auth_scheme"] == "x-api-key"
    assert checks["desktop.models"]["status"] == "pass" and " usable models (of " in checks["desktop.models"]["message"]
    discovery = [r for r in gateway.requests if r.path.endswith("/anthropic/v1/models")]
    assert discovery and all(r.headers.get("x-api-key") == DEMO_KEY and "authorization" not in r.headers
                             for r in gateway.requests if r.method != "HEAD")


def test_doctor_reports_managed_desktop_configuration(monkeypatch, capsys, tmp_path):
    from optscale_tui import cli
    from optscale_tui.core.clients.claude_desktop import locations

    root = tmp_path / "root"  # the system root Desktop's managed file is looked for under: never the real /etc
    managed = root / "etc" / "claude-desktop" / "managed-settings.json"
    managed.parent.mkdir(parents=True)
    managed.write_text('{"inferenceGatewayBaseUrl": "https://other.example/anthropic"}')
    monkeypatch.setattr(locations, "SYSTEM_ROOT", root)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("ANTHROPIC_", "CLAUDE_"))]:
        monkeypatch.delenv(name)
    assert cli.main(["doctor", "--json"]) in (0, 1)
    findings = json.loads(capsys.readouterr().out)["findings"]
    [found] = [f for f in findings if f["cause"] == "desktop_managed_override"]
    assert str(managed) in found["message"] and "inferenceGatewayBaseUrl" in found["message"]
    assert cli.main(["doctor"]) in (0, 1)
    assert "desktop_managed_override" in capsys.readouterr().out


def test_export_for_claude_code_does_not_apply_desktops_model_name_rule(desk, gateway):
    result = desk.run("desktop", "export", "--os", "linux", "--target", "code", "--base-url", gateway.base_url,
                      "--sonnet", "openai/gpt-4.1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "openai/gpt-4.1"
    refused = desk.run("desktop", "export", "--os", "linux", "--base-url", gateway.base_url,
                       "--sonnet", "openai/gpt-4.1")
    assert refused.returncode == 2 and "desktop_model_rejected" in refused.stderr


def test_apply_without_any_key_says_how_to_give_one(desk, gateway):
    result = desk.run("desktop", "apply", "--base-url", gateway.base_url, "--sonnet", SONNET, "--yes")
    assert result.returncode == 2 and "--api-key-env VAR or --api-key-stdin" in result.stderr
    assert not desk.folder.exists()

"""MDM export of Claude Desktop's configuration (and Claude Code's managed-settings.json), checked by parsing back."""

from __future__ import annotations

import json
import plistlib
import re

import pytest

from optscale_tui.core.clients.claude_desktop import DesktopModel, DesktopValues, desktop_models
from optscale_tui.core.clients.claude_desktop.mdm import (
    PLACEHOLDER_KEY,
    export_code,
    export_desktop,
    managed_values,
    reg_escape,
)
from optscale_tui.core.connection import ConnectionValues, TierMapping, parse_api_key, parse_base_url

KEY = "sk-bf-mdm-test-0000000000000000005678"
URL = parse_base_url("https://my.optscale.ai/llm_proxy/00000000-0000-4000-8000-000000000001/v1")
TIERS = TierMapping(haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6")
VALUES = DesktopValues(URL, parse_api_key(KEY), desktop_models(TIERS))


def parse_reg(data: bytes) -> dict[str, dict[str, str]]:
    """A small .reg reader: UTF-16 LE with BOM (or UTF-8), [key] sections, "name"="string" values with \\ escapes."""
    text = data[2:].decode("utf-16-le") if data.startswith(b"\xff\xfe") else data.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == "Windows Registry Editor Version 5.00"
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    quoted = r'"((?:[^"\\]|\\.)*)"'
    for line in lines[1:]:
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        match = re.fullmatch(quoted + "=" + quoted, line)
        assert match and current is not None, f"not a string value line: {line!r}"
        name, value = (re.sub(r"\\(.)", r"\1", g) for g in match.groups())
        current[name] = value
    return sections


def test_macos_profile_is_a_valid_plist_with_string_values_for_the_desktop_domain():
    export = export_desktop(VALUES, "macos")
    profile = plistlib.loads(export.content.encode())
    assert profile["PayloadType"] == "Configuration" and profile["PayloadScope"] == "System"
    (payload,) = profile["PayloadContent"]
    assert payload["PayloadType"] == "com.anthropic.claudefordesktop"
    desktop_keys = {k: v for k, v in payload.items() if not k.startswith("Payload")}
    assert desktop_keys == managed_values(VALUES)
    assert all(isinstance(v, str) for v in desktop_keys.values())
    models = json.loads(desktop_keys["inferenceModels"])
    assert [m["name"] for m in models] == ["anthropic/claude-sonnet-4-6", "anthropic/claude-haiku-4-5"]
    assert desktop_keys["inferenceGatewayApiKey"] == PLACEHOLDER_KEY and KEY not in export.content
    assert export.filename.endswith(".mobileconfig") and not export.contains_key
    again = plistlib.loads(export_desktop(VALUES, "macos").content.encode())
    assert again["PayloadUUID"] == profile["PayloadUUID"]  # re-exports update the same profile
    assert re.fullmatch(r"[0-9A-F-]{36}", payload["PayloadUUID"])


def test_the_key_is_written_only_when_asked():
    assert managed_values(VALUES, with_key=True)["inferenceGatewayApiKey"] == KEY
    export = export_desktop(VALUES, "linux", with_key=True)
    assert export.contains_key and KEY not in repr(export)
    with pytest.raises(ValueError):
        managed_values(DesktopValues(URL, None, VALUES.models), with_key=True)


def test_windows_reg_file_parses_back_to_the_same_strings_under_the_policies_key():
    export = export_desktop(VALUES, "windows")
    data = export.encoded()
    assert data.startswith(b"\xff\xfe")  # as regedit writes .reg files
    sections = parse_reg(data)
    assert sections == {"HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Claude": managed_values(VALUES)}


def test_reg_values_with_quotes_and_backslashes_round_trip():
    tricky = DesktopValues(URL, None, (DesktopModel("anthropic/claude-sonnet-4-6", 'Team "A" \\ EU', "sonnet"),))
    sections = parse_reg(export_desktop(tricky, "windows").encoded())
    (values,) = sections.values()
    assert json.loads(values["inferenceModels"])[0]["labelOverride"] == 'Team "A" \\ EU'
    assert reg_escape('a"b\\c') == 'a\\"b\\\\c'
    with pytest.raises(ValueError):
        reg_escape("two\nlines")


def test_linux_managed_settings_is_json_with_string_values():
    export = export_desktop(VALUES, "linux")
    data = json.loads(export.content)
    assert data == managed_values(VALUES) and all(isinstance(v, str) for v in data.values())
    assert "/etc/claude-desktop/managed-settings.json" in export.destination


@pytest.mark.parametrize("os_name, destination", [
    ("linux", "/etc/claude-code/managed-settings.json"),
    ("macos", "/Library/Application Support/ClaudeCode/managed-settings.json"),
    ("windows", "C:\\Program Files\\ClaudeCode\\managed-settings.json"),
])
def test_claude_code_managed_settings_hold_the_env_block_apply_writes(os_name, destination):
    values = ConnectionValues(URL, parse_api_key(KEY), TIERS)
    export = export_code(values, os_name)
    env = json.loads(export.content)["env"]
    assert env == {
        "ANTHROPIC_BASE_URL": URL.anthropic_base,
        "ANTHROPIC_AUTH_TOKEN": PLACEHOLDER_KEY,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
        "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
    }
    assert export.destination == destination and KEY not in export.content
    assert json.loads(export_code(values, os_name, with_key=True).content)["env"]["ANTHROPIC_AUTH_TOKEN"] == KEY

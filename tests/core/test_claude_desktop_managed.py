"""What this app asks Windows and macOS about Claude Desktop, with the OS's answers recorded: managed configuration
(`reg query`, the managed-preferences plist, Linux's JSON file) and a running Desktop (`pgrep`, `tasklist`). Nothing
here reads the machine's /etc, registry or process list."""

from __future__ import annotations

import json
import plistlib
from pathlib import Path

from optscale_tui.core.clients.claude_desktop import desktop_locations
from optscale_tui.core.clients.claude_desktop.managed import (
    ManagedSource,
    managed_sources,
    registry_value_names,
)
from optscale_tui.core.clients.claude_desktop.verify import (
    MACOS_PROCESS_QUERY,
    WINDOWS_PROCESS_QUERY,
    running_desktop,
)

# `reg query HKLM\SOFTWARE\Policies\Claude` as Windows prints it: the key, its values, then its subkeys.
REG_QUERY_HKLM = """
HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Claude
    inferenceProvider    REG_SZ    gateway
    inferenceGatewayBaseUrl    REG_SZ    https://gw.example.com/llm_proxy/org/anthropic
    inferenceModels    REG_SZ    ["anthropic/claude-sonnet-4-6"]
    disable Auto Updates    REG_DWORD    0x1
    emptyValue    REG_SZ

HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Claude\\Extensions
"""
TASKLIST_RUNNING = ('"Claude.exe","4242","Console","1","210,344 K"\r\n'
                    '"Claude.exe","4300","Console","1","90,120 K"\r\n')
TASKLIST_NONE = "INFO: No tasks are running which match the specified criteria.\r\n"


class Recorded:
    """A command runner that answers from recorded output and remembers what was asked."""

    def __init__(self, answers: dict[str, str | None]) -> None:
        self.answers, self.asked = answers, []

    def __call__(self, argv: list[str]) -> str | None:
        self.asked.append(argv)
        return self.answers.get(" ".join(argv))


def windows(tmp_path: Path):
    return desktop_locations(platform="win32", env={"LOCALAPPDATA": str(tmp_path / "L"), "APPDATA": str(tmp_path)})


# --- managed configuration ------------------------------------------------------------------------------------


def test_reg_query_output_gives_the_value_names_not_the_key_or_its_subkeys():
    assert registry_value_names(REG_QUERY_HKLM) == (
        "inferenceProvider", "inferenceGatewayBaseUrl", "inferenceModels", "disable Auto Updates", "emptyValue")
    assert registry_value_names("") == ()


def test_windows_managed_configuration_comes_from_both_policy_hives(tmp_path):
    run = Recorded({"reg query HKLM\\SOFTWARE\\Policies\\Claude": REG_QUERY_HKLM,
                    "reg query HKCU\\SOFTWARE\\Policies\\Claude": None})  # HKCU: "unable to find the key", exit 1
    [source] = managed_sources(windows(tmp_path), run=run)
    assert run.asked == [["reg", "query", "HKLM\\SOFTWARE\\Policies\\Claude"],
                         ["reg", "query", "HKCU\\SOFTWARE\\Policies\\Claude"]]
    assert source.where == "HKLM\\SOFTWARE\\Policies\\Claude"
    assert source.inference_keys == ("inferenceProvider", "inferenceGatewayBaseUrl", "inferenceModels")
    assert str(source) == "HKLM\\SOFTWARE\\Policies\\Claude (inferenceProvider, inferenceGatewayBaseUrl, inferenceModels)"


def test_an_empty_policy_key_or_no_reg_command_manages_nothing(tmp_path):
    empty = "\nHKEY_CURRENT_USER\\SOFTWARE\\Policies\\Claude\n\n"
    assert managed_sources(windows(tmp_path), run=Recorded({"reg query HKCU\\SOFTWARE\\Policies\\Claude": empty})) == []
    assert managed_sources(windows(tmp_path), run=lambda argv: None) == []


def test_macos_managed_preferences_are_read_as_binary_plists(tmp_path):
    loc = desktop_locations(platform="darwin", home=tmp_path / "Users" / "ann", env={"USER": "ann"},
                            root=tmp_path / "root")
    per_user = loc.managed_files[1]
    per_user.parent.mkdir(parents=True)
    per_user.write_bytes(plistlib.dumps({"inferenceProvider": "gateway", "inferenceGatewayAuthScheme": "bearer"},
                                        fmt=plistlib.FMT_BINARY))
    [source] = managed_sources(loc, run=lambda argv: "never asked on macOS")
    assert source.where == str(per_user)
    assert sorted(source.inference_keys) == ["inferenceGatewayAuthScheme", "inferenceProvider"]


def test_linux_managed_file_keys_and_what_counts_as_present(tmp_path):
    loc = desktop_locations(platform="linux", home=tmp_path, env={}, root=tmp_path / "root")
    path = loc.managed_files[0]
    assert managed_sources(loc) == []
    path.mkdir(parents=True)  # a folder in its place manages nothing
    assert managed_sources(loc) == []
    path.rmdir()
    path.write_text(json.dumps({"deploymentMode": "3p", "autoUpdate": "false"}))
    [source] = managed_sources(loc)
    assert source.keys == ("deploymentMode", "autoUpdate") and source.inference_keys == ("deploymentMode",)
    path.write_text("{ not json")  # present but unreadable: still managed, keys unknown
    assert managed_sources(loc) == [ManagedSource(str(path))]


# --- a running Desktop ----------------------------------------------------------------------------------------


def test_macos_running_desktop_from_pgrep():
    run = Recorded({" ".join(MACOS_PROCESS_QUERY): "512\n977\n"})
    assert running_desktop("macos", run=run) == ["pid 512: Claude", "pid 977: Claude"]
    assert run.asked == [["pgrep", "-x", "Claude"]]  # exactly "Claude": not Claude Code's `claude`
    assert running_desktop("macos", run=Recorded({})) == []  # pgrep exits 1 when nothing matches


def test_windows_running_desktop_from_tasklist_csv():
    run = Recorded({" ".join(WINDOWS_PROCESS_QUERY): TASKLIST_RUNNING})
    assert running_desktop("windows", run=run) == ["pid 4242: Claude.exe", "pid 4300: Claude.exe"]
    assert run.asked == [["tasklist", "/FI", "IMAGENAME eq Claude.exe", "/NH", "/FO", "CSV"]]
    assert running_desktop("windows", run=Recorded({" ".join(WINDOWS_PROCESS_QUERY): TASKLIST_NONE})) == []
    assert running_desktop("windows", run=lambda argv: None) == []  # no tasklist: nothing known, nothing claimed

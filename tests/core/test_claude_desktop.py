"""Claude Desktop's configuration library: where it is, strict reading, plans, masked diff, save/restore, remove."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_desktop import (
    OUR_ENTRY_ID,
    DesktopModelRejected,
    DesktopValues,
    desktop_locations,
    desktop_models,
    load_library,
    plan_desktop_apply,
    plan_desktop_remove,
    save_desktop_plan,
    tiers_from_models,
)
from optscale_tui.core.config.errors import SettingsChangedOnDisk, SettingsError
from optscale_tui.core.config.plan import load_settings, plan_top_level_edit
from optscale_tui.core.config.store import BackupStore, save_plan
from optscale_tui.core.connection import TierMapping, parse_api_key, parse_base_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-desktop"
KEY = "sk-bf-desktop-test-000000000000001234"
URL = "https://my.optscale.ai/llm_proxy/00000000-0000-4000-8000-000000000001/v1"
TIERS = TierMapping(haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6",
                    opus="anthropic/claude-opus-4-6")


def install(tmp_path: Path, fixture: str):
    """Copy a fixture folder to a sandbox home's ~/.config/Claude-3p and return its locations."""
    home = tmp_path / "home"
    loc = desktop_locations(platform="linux", home=home, env={})
    shutil.copytree(FIXTURES / fixture, loc.folder)
    return loc


def values(key: str | None = KEY, tiers: TierMapping = TIERS) -> DesktopValues:
    return DesktopValues(parse_base_url(URL), parse_api_key(key) if key else None, desktop_models(tiers))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "optscale-tui-backups" not in p.parts}


# --- locations ----------------------------------------------------------------------------------------------


def test_linux_default_xdg_and_a_relative_xdg_which_the_spec_says_to_ignore(tmp_path):
    home = tmp_path / "h"
    assert desktop_locations(platform="linux", home=home, env={}).folder == home / ".config" / "Claude-3p"
    xdg = desktop_locations(platform="linux", home=home, env={"XDG_CONFIG_HOME": str(tmp_path / "x")})
    assert xdg.folder == tmp_path / "x" / "Claude-3p" and "XDG_CONFIG_HOME" in xdg.reason
    assert xdg.meta == tmp_path / "x" / "Claude-3p" / "configLibrary" / "_meta.json"
    assert xdg.log_file == tmp_path / "x" / "Claude-3p" / "logs" / "main.log"
    relative = desktop_locations(platform="linux", home=home, env={"XDG_CONFIG_HOME": "rel/dir"})
    assert relative.folder == home / ".config" / "Claude-3p"
    assert desktop_locations(platform="linux", home=home, env={}, root=tmp_path).managed_files == (
        tmp_path / "etc" / "claude-desktop" / "managed-settings.json",)


def test_macos_paths_log_and_managed_profile(tmp_path):
    home = tmp_path / "Users" / "ann"
    loc = desktop_locations(platform="darwin", home=home, env={"USER": "ann"}, root=tmp_path)
    assert loc.folder == home / "Library" / "Application Support" / "Claude-3p"
    assert loc.desktop_config == loc.folder / "claude_desktop_config.json"
    assert loc.log_file == home / "Library" / "Logs" / "Claude-3p" / "main.log"
    managed = tmp_path / "Library" / "Managed Preferences"
    assert loc.managed_files == (managed / "com.anthropic.claudefordesktop.plist",
                                 managed / "ann" / "com.anthropic.claudefordesktop.plist")


def test_windows_localappdata_and_the_older_appdata_fallback(tmp_path):
    local, roaming = tmp_path / "Local", tmp_path / "Roaming"
    env = {"LOCALAPPDATA": str(local), "APPDATA": str(roaming), "USERPROFILE": str(tmp_path)}
    assert desktop_locations(platform="win32", env=env).folder == local / "Claude-3p"  # nothing there yet
    (roaming / "Claude-3p").mkdir(parents=True)
    older = desktop_locations(platform="win32", env=env)
    assert older.folder == roaming / "Claude-3p" and "older" in older.reason
    assert older.log_file == roaming / "Claude-3p" / "logs" / "main.log"
    (local / "Claude-3p").mkdir(parents=True)  # both: the current location wins
    assert desktop_locations(platform="win32", env=env).folder == local / "Claude-3p"


@pytest.mark.parametrize("profile", ["Local", "Roaming"])
def test_windows_store_install_keeps_the_folder_in_its_virtualised_localcache(tmp_path, profile):
    local, roaming = tmp_path / "Local", tmp_path / "Roaming"
    env = {"LOCALAPPDATA": str(local), "APPDATA": str(roaming), "USERPROFILE": str(tmp_path)}
    (local / "Packages" / "ClaudeCode_0000000000000" / "LocalCache" / profile / "Claude-3p").mkdir(parents=True)
    assert desktop_locations(platform="win32", env=env).folder == local / "Claude-3p"  # not Desktop's package
    store = local / "Packages" / "Claude_pzs8sxrjxfjjc" / "LocalCache" / profile / "Claude-3p"
    (store / "configLibrary").mkdir(parents=True)
    loc = desktop_locations(platform="win32", env=env)
    assert loc.folder == store and "Microsoft Store" in loc.reason and profile in loc.reason
    assert loc.meta == store / "configLibrary" / "_meta.json" and loc.log_file == store / "logs" / "main.log"
    (roaming / "Claude-3p").mkdir(parents=True)  # a folder in the usual places wins over the package's
    assert desktop_locations(platform="win32", env=env).folder == roaming / "Claude-3p"


def test_windows_store_install_with_two_packages_takes_the_most_recently_changed(tmp_path):
    local = tmp_path / "Local"
    env = {"LOCALAPPDATA": str(local), "APPDATA": str(tmp_path / "Roaming"), "USERPROFILE": str(tmp_path)}
    old = local / "Packages" / "Claude_aaaa" / "LocalCache" / "Roaming" / "Claude-3p"
    new = local / "Packages" / "Claude_bbbb" / "LocalCache" / "Local" / "Claude-3p"
    for folder, when in ((old, 2_000_000_000), (new, 1_000_000_000)):
        folder.mkdir(parents=True)
        os.utime(folder, (when, when))
    assert desktop_locations(platform="win32", env=env).folder == old


# --- reading ------------------------------------------------------------------------------------------------


def test_reads_the_library_as_desktop_writes_it(tmp_path):
    lib = load_library(install(tmp_path, "desktop-app"))
    assert lib.applied_id == "3f9c2a1e-5b7d-4c1a-9e2f-8d6b4a0c1e77"
    conn = lib.applied.connection
    assert conn.base_url == "https://gateway.example.com/anthropic" and conn.auth_scheme == "x-api-key"
    assert conn.model_discovery is True and conn.models == ()
    assert conn.masked_key == "sk-bf-…aaaa" and conn.api_key not in repr(conn)
    assert lib.deployment_mode is None


def test_reads_what_other_tools_write_with_their_extra_keys(tmp_path):
    lib = load_library(install(tmp_path, "other-tools"))
    assert [e.id for e in lib.entries] == ["ccr-gateway", "cc-switch-bifrost"]
    assert lib.deployment_mode == "3p"
    models = lib.applied.connection.models
    assert [m.name for m in models] == ["claude-sonnet-4-6", "claude-opus-4-6"]
    assert models[1].label == "Opus (router)" and models[1].supports_1m is True
    assert tiers_from_models(models) == TierMapping(sonnet="claude-sonnet-4-6", opus="claude-opus-4-6")


def test_a_file_that_does_not_parse_is_refused_with_line_and_column(tmp_path):
    loc = install(tmp_path, "broken")
    with pytest.raises(SettingsError) as err:
        load_library(loc)
    assert err.value.path == loc.meta and err.value.line == 4 and err.value.column is not None
    assert err.value.cause is Cause.SETTINGS_INVALID


@pytest.mark.parametrize("meta, complaint", [
    ('{"entries": {"id": "a"}}', '"entries" must be a list'),
    ('{"entries": [{"name": "no id"}]}', 'string "id"'),
    ('{"entries": [{"id": "../../.ssh/config"}]}', "not a plain file name"),
    ('{"appliedId": 7, "entries": []}', '"appliedId" must be'),
])
def test_a_meta_file_of_the_wrong_shape_is_refused_with_where(tmp_path, meta, complaint):
    loc = desktop_locations(platform="linux", home=tmp_path, env={})
    loc.library.mkdir(parents=True)
    loc.meta.write_text(meta)
    with pytest.raises(SettingsError) as err:
        load_library(loc)
    assert complaint in err.value.reason and err.value.line == 1


# --- plans and saving -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["desktop-app", "other-tools"])
def test_round_trip_load_then_save_with_no_change_keeps_every_byte(tmp_path, fixture):
    loc = install(tmp_path, fixture)
    before = snapshot(loc.folder)
    lib = load_library(loc)
    for doc in (lib.meta, lib.desktop_config, *(e.document for e in lib.entries)):
        plan = plan_top_level_edit(doc, {k: v for k, v in doc.data.items()})  # every key set to what it is
        assert not plan.has_changes
        save_plan(plan)
    assert snapshot(loc.folder) == before


def test_applying_twice_changes_nothing_the_second_time(tmp_path):
    loc = install(tmp_path, "other-tools")
    save_desktop_plan(plan_desktop_apply(load_library(loc), values()))
    before = snapshot(loc.folder)
    again = plan_desktop_apply(load_library(loc), values())
    assert not again.has_changes and again.diff() == ""
    assert save_desktop_plan(again).results == ()
    assert snapshot(loc.folder) == before


def test_apply_over_desktops_own_library_keeps_the_previous_entry_and_other_keys(tmp_path):
    loc = install(tmp_path, "desktop-app")
    before = snapshot(loc.folder)
    plan = plan_desktop_apply(load_library(loc), values())
    assert any("stays in the library" in n for n in plan.notices)
    result = save_desktop_plan(plan)
    assert len(result.backups) == 2  # _meta.json and claude_desktop_config.json existed; our entry is new
    lib = load_library(loc)
    assert lib.applied_id == OUR_ENTRY_ID and lib.entries[0].id == "3f9c2a1e-5b7d-4c1a-9e2f-8d6b4a0c1e77"
    previous = "configLibrary/3f9c2a1e-5b7d-4c1a-9e2f-8d6b4a0c1e77.json"
    assert snapshot(loc.folder)[previous] == before[previous]
    config = json.loads(loc.desktop_config.read_text())
    assert config["deploymentMode"] == "3p" and config["mcpServers"]["filesystem"]["command"] == "npx"
    entry = json.loads(loc.entry(OUR_ENTRY_ID).read_text())
    assert entry["inferenceGatewayBaseUrl"].endswith("/llm_proxy/00000000-0000-4000-8000-000000000001/anthropic")
    assert entry["inferenceGatewayApiKey"] == KEY and entry["inferenceGatewayAuthScheme"] == "bearer"
    assert entry["inferenceProvider"] == "gateway"
    assert [(m["name"], m["anthropicFamilyTier"]) for m in entry["inferenceModels"]] == [
        ("anthropic/claude-sonnet-4-6", "sonnet"), ("anthropic/claude-opus-4-6", "opus"),
        ("anthropic/claude-haiku-4-5", "haiku")]  # the default (Sonnet) first
    assert entry["inferenceModels"][0]["labelOverride"] == "Sonnet · claude-sonnet-4-6"
    if os.name != "nt":
        assert stat.S_IMODE(loc.entry(OUR_ENTRY_ID).stat().st_mode) == 0o600
    assert BackupStore(loc.meta).read("original").encode() == before["configLibrary/_meta.json"]


def test_apply_over_other_tools_keeps_their_unknown_keys_byte_for_byte(tmp_path):
    loc = install(tmp_path, "other-tools")
    before = snapshot(loc.folder)
    save_desktop_plan(plan_desktop_apply(load_library(loc), values()))
    after = snapshot(loc.folder)
    for name in ("configLibrary/ccr-gateway.json", "configLibrary/cc-switch-bifrost.json",
                 "claude_desktop_config.json"):  # already "3p": nothing to change
        assert after[name] == before[name]
    meta_text = after["configLibrary/_meta.json"].decode()
    assert '{"id": "ccr-gateway", "name": "claude-code-router", "source": "claude-code-router"}' in meta_text
    assert meta_text.endswith('"schemaVersion": 2\n}')  # its last line and missing final newline kept
    meta = json.loads(meta_text)
    assert meta["appliedId"] == OUR_ENTRY_ID and meta["entries"][1]["createdAt"] == 1764806400000


def test_the_diff_never_shows_a_key_and_says_when_it_changed(tmp_path):
    loc = install(tmp_path, "other-tools")
    diff = plan_desktop_apply(load_library(loc), values()).diff()
    assert KEY not in diff and "sk-bf-…1234" in diff and "+++ b/configLibrary/optscale-tui.json" in diff
    save_desktop_plan(plan_desktop_apply(load_library(loc), values()))
    same_tail = "sk-bf-desktop-test-999999999999991234"  # masks exactly like KEY
    diff = plan_desktop_apply(load_library(loc), values(same_tail)).diff()
    assert KEY not in diff and same_tail not in diff and "sk-bf-…1234 (changed)" in diff
    # No key given: the entry's key is kept, so nothing changes.
    assert not plan_desktop_apply(load_library(loc), values(None)).has_changes


def test_no_key_anywhere_is_refused(tmp_path):
    loc = desktop_locations(platform="linux", home=tmp_path, env={})
    with pytest.raises(Exception, match="No API key"):
        plan_desktop_apply(load_library(loc), values(None))


def test_a_file_changed_during_the_save_rolls_back_the_files_already_written(tmp_path):
    loc = install(tmp_path, "desktop-app")
    before = snapshot(loc.folder)
    plan = plan_desktop_apply(load_library(loc), values())
    loc.desktop_config.write_text('{"deploymentMode": "1p"}\n')  # Desktop (or a person) wrote it meanwhile
    before["claude_desktop_config.json"] = loc.desktop_config.read_bytes()
    with pytest.raises(SettingsChangedOnDisk, match="put back"):
        save_desktop_plan(plan)
    assert snapshot(loc.folder) == before  # our new entry removed again, _meta.json restored


def test_remove_switches_back_and_keeps_the_users_other_entries(tmp_path):
    loc = install(tmp_path, "other-tools")
    save_desktop_plan(plan_desktop_apply(load_library(loc), values()))
    plan = plan_desktop_remove(load_library(loc))
    assert KEY not in plan.diff()
    save_desktop_plan(plan)
    lib = load_library(loc)
    assert lib.deployment_mode == "1p"
    assert [e.id for e in lib.entries] == ["ccr-gateway", "cc-switch-bifrost"]
    assert lib.applied_id == "cc-switch-bifrost"  # an entry of the user's is applied again, not ours
    assert not plan_desktop_remove(load_library(loc)).has_changes


def test_remove_deletes_our_entry_file_after_a_backup_that_restore_brings_back(tmp_path):
    loc = install(tmp_path, "other-tools")
    users = {p.name: p.read_bytes() for p in loc.library.iterdir() if p.name not in ("_meta.json",)}
    save_desktop_plan(plan_desktop_apply(load_library(loc), values()))
    ours = loc.entry(OUR_ENTRY_ID)
    written = ours.read_bytes()
    plan = plan_desktop_remove(load_library(loc))
    assert "+++ /dev/null" in plan.diff() and KEY not in plan.diff()
    result = save_desktop_plan(plan)
    assert not ours.exists()  # the 0600 file with the key is gone ...
    assert [r.path for r in result.removed] == [ours] and result.removed[0].backup in result.backups
    meta = json.loads(loc.meta.read_text())  # ... and nothing points at it
    assert OUR_ENTRY_ID not in {e["id"] for e in meta["entries"]} and meta["appliedId"] == "cc-switch-bifrost"
    assert all((loc.library / f"{e['id']}.json").is_file() for e in meta["entries"])
    assert {p.name: p.read_bytes() for p in loc.library.iterdir() if p.is_file() and p.name in users} == users
    store = BackupStore(ours)
    newest = store.list()[0]
    assert newest.path == result.removed[0].backup and store.read(newest.id).encode() == written
    store.restore(newest.id)
    assert ours.read_bytes() == written


def test_remove_refuses_to_delete_an_entry_file_changed_since_it_was_read(tmp_path):
    loc = install(tmp_path, "desktop-app")
    save_desktop_plan(plan_desktop_apply(load_library(loc), values()))
    before = snapshot(loc.folder)
    plan = plan_desktop_remove(load_library(loc))
    ours = loc.entry(OUR_ENTRY_ID)
    ours.write_text(ours.read_text().replace("\"bearer\"", "\"x-api-key\""))  # someone edited it meanwhile
    before[f"configLibrary/{OUR_ENTRY_ID}.json"] = ours.read_bytes()
    with pytest.raises(SettingsChangedOnDisk, match="put back"):
        save_desktop_plan(plan)
    assert snapshot(loc.folder) == before  # kept, and _meta.json / deploymentMode put back


def test_remove_with_nothing_there_plans_nothing(tmp_path):
    loc = desktop_locations(platform="linux", home=tmp_path, env={})
    assert not plan_desktop_remove(load_library(loc)).has_changes


# --- model names ----------------------------------------------------------------------------------------------


def test_a_model_name_desktop_rejects_is_refused_with_the_nearest_valid_name():
    catalog = ["openai/gpt-4.1", "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6"]
    with pytest.raises(DesktopModelRejected) as err:
        desktop_models(TierMapping(sonnet="openai/gpt-4.1", haiku="anthropic/claude-haiku-4-5"), catalog=catalog)
    assert err.value.cause is Cause.DESKTOP_MODEL_REJECTED and err.value.suggestion == "anthropic/claude-sonnet-4-6"
    assert "must contain claude, sonnet, opus, haiku or anthropic" in err.value.reason
    with pytest.raises(DesktopModelRejected, match="no model Desktop accepts"):
        desktop_models(TierMapping(opus="ollama/qwen3:32b"), catalog=["ollama/qwen3:32b"])


def test_one_entry_per_model_and_the_1m_suffix_becomes_supports1m():
    models = desktop_models(TierMapping(sonnet="anthropic/claude-sonnet-4-6[1m]", opus="anthropic/claude-sonnet-4-6"))
    assert [(m.name, m.tier, m.supports_1m) for m in models] == [("anthropic/claude-sonnet-4-6", "sonnet", True)]
    assert desktop_models(TIERS, default_tier="haiku")[0].tier == "haiku"


def test_top_level_edit_inserts_new_keys_in_the_order_given_and_keeps_the_rest(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{\n    "mine": [1, 2],\n    "b": "old"\n}')
    plan = plan_top_level_edit(load_settings(path), {"a": 1, "b": "new", "c": True}, ["mine"], reason="r")
    assert plan.new_text == '{\n    "a": 1,\n    "c": true,\n    "b": "new"\n}'


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_the_demo_sandbox_keeps_desktops_folder_inside_it(tmp_path, platform):
    from optscale_tui.demo.session import sandbox_env

    real = {"HOME": "/home/me", "XDG_CONFIG_HOME": "/home/me/.config", "LOCALAPPDATA": "C:\\Users\\me\\Local",
            "APPDATA": "C:\\Users\\me\\Roaming"}
    env = sandbox_env(tmp_path, real)
    assert desktop_locations(platform=platform, env=env).folder.is_relative_to(tmp_path)

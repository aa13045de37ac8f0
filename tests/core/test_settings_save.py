"""save_plan: atomic, symlink-aware, private (0600), refuses external changes, never rewrites an invalid file."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from optscale_tui.core.clients.claude_code.schema import plan_apply
from optscale_tui.core.config.errors import SettingsChangedOnDisk, SettingsError, SettingsWriteError
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import BACKUP_DIR_NAME, save_plan
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes and symlinks")

URL = parse_base_url("https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1")
VALUES = ConnectionValues(URL, ApiKey("sk-bf-SAVE-TEST-0123456789"), TierMapping(opus="anthropic/claude-opus-4-6"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def copy(settings_fixtures: Path, name: str, dest_dir: Path, file_mode: int = 0o600) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / "settings.json"
    shutil.copyfile(settings_fixtures / name, dest)
    dest.chmod(file_mode)
    return dest


def test_new_file_is_created_private_with_private_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "home" / ".claude" / "settings.json"
    plan = plan_apply(load_settings(path), VALUES)
    result = save_plan(plan)
    assert path.read_text("utf-8") == plan.new_text
    assert mode(path) == 0o600
    assert mode(tmp_path / "home") == 0o700 and mode(tmp_path / "home" / ".claude") == 0o700
    assert result.backup is None and result.original is None and not result.mode_tightened
    assert any("nothing to back up" in n for n in result.notices)
    # Only the record that the original was "no file" (restoring the original removes the file again).
    backups = path.parent / BACKUP_DIR_NAME
    assert [p.name for p in backups.iterdir()] == ["settings.json.original-absent"] and mode(backups) == 0o700


def test_loose_mode_is_tightened_with_a_notice(tmp_path: Path, settings_fixtures: Path) -> None:
    path = copy(settings_fixtures, "minimal.json", tmp_path, 0o644)
    result = save_plan(plan_apply(load_settings(path), VALUES))
    assert mode(path) == 0o600
    assert result.mode_tightened
    assert any("0644" in n and "0600" in n for n in result.notices)


def test_private_mode_is_kept_without_a_notice(tmp_path: Path, settings_fixtures: Path) -> None:
    path = copy(settings_fixtures, "minimal.json", tmp_path, 0o600)
    result = save_plan(plan_apply(load_settings(path), VALUES))
    assert mode(path) == 0o600
    assert not result.mode_tightened
    assert not any("readable by others" in n for n in result.notices)


def test_saved_bytes_keep_bom_and_missing_final_newline(tmp_path: Path, settings_fixtures: Path) -> None:
    bom = copy(settings_fixtures, "bom-utf8.json", tmp_path / "a")
    save_plan(plan_apply(load_settings(bom), VALUES))
    raw = bom.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf{\n")
    assert json.loads(raw.decode("utf-8-sig"))["env"]["EDITOR"] == "vim"
    four = copy(settings_fixtures, "four-space-old-gateway-no-final-newline.json", tmp_path / "b")
    save_plan(plan_apply(load_settings(four), VALUES))
    assert four.read_bytes().endswith(b"}") and not four.read_bytes().startswith(b"\xef\xbb\xbf")


def test_symlink_is_kept_and_its_target_written(tmp_path: Path, settings_fixtures: Path) -> None:
    target = copy(settings_fixtures, "minimal.json", tmp_path / "dotfiles" / "claude")
    link_dir = tmp_path / "home" / ".claude"
    link_dir.mkdir(parents=True)
    link = link_dir / "settings.json"
    link.symlink_to(os.path.relpath(target, link_dir))
    plan = plan_apply(load_settings(link), VALUES)
    result = save_plan(plan)
    assert link.is_symlink()
    assert link.resolve() == target.resolve()
    assert target.read_text("utf-8") == plan.new_text
    assert any("symbolic link" in n for n in result.notices)
    # Backups sit next to the path Claude Code reads, not in the dotfiles repository.
    assert result.backup is not None and result.backup.parent == link_dir / BACKUP_DIR_NAME
    assert not (target.parent / BACKUP_DIR_NAME).exists()


def test_dangling_symlink_creates_the_target(tmp_path: Path) -> None:
    link = tmp_path / "settings.json"
    link.symlink_to(tmp_path / "real" / "settings.json")
    doc = load_settings(link)
    assert not doc.exists
    save_plan(plan_apply(doc, VALUES))
    assert link.is_symlink()
    assert mode(tmp_path / "real" / "settings.json") == 0o600
    assert json.loads(link.read_text("utf-8"))["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "anthropic/claude-opus-4-6"


def test_failed_replace_leaves_the_file_untouched_and_no_temp_file(
    tmp_path: Path, settings_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy(settings_fixtures, "rich-user-settings.json", tmp_path)
    before = path.read_bytes()
    plan = plan_apply(load_settings(path), VALUES)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(SettingsWriteError) as err:
        save_plan(plan)
    assert "No space left on device" in str(err.value)
    assert "sk-bf-SAVE-TEST" not in str(err.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [BACKUP_DIR_NAME, "settings.json"]


def test_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    plan = plan_apply(load_settings(path), VALUES)

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(SettingsWriteError):
        save_plan(plan)
    assert list(tmp_path.iterdir()) == []


def test_external_change_is_refused(tmp_path: Path, settings_fixtures: Path) -> None:
    path = copy(settings_fixtures, "minimal.json", tmp_path)
    plan = plan_apply(load_settings(path), VALUES)
    path.write_text('{\n  "theme": "light"\n}\n')  # Claude Code's /config, an editor, …
    with pytest.raises(SettingsChangedOnDisk) as err:
        save_plan(plan)
    assert isinstance(err.value, SettingsError)
    assert "changed by another program" in err.value.reason
    assert path.read_text() == '{\n  "theme": "light"\n}\n'
    assert not (tmp_path / BACKUP_DIR_NAME).exists()


def test_a_file_that_appeared_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    plan = plan_apply(load_settings(path), VALUES)
    path.write_text('{"theme": "dark"}')
    with pytest.raises(SettingsChangedOnDisk, match="appeared"):
        save_plan(plan)
    assert path.read_text() == '{"theme": "dark"}'


def test_a_file_that_vanished_is_not_recreated(tmp_path: Path, settings_fixtures: Path) -> None:
    path = copy(settings_fixtures, "minimal.json", tmp_path)
    plan = plan_apply(load_settings(path), VALUES)
    path.unlink()
    with pytest.raises(SettingsChangedOnDisk, match="deleted"):
        save_plan(plan)
    assert not path.exists()


@pytest.mark.parametrize("name", ["trailing-comma.json", "comment.json", "top-level-array.json", "env-not-object.json"])
def test_invalid_file_is_never_rewritten(tmp_path: Path, settings_fixtures: Path, name: str) -> None:
    path = copy(settings_fixtures, f"invalid/{name}", tmp_path)
    before = path.read_bytes()
    with pytest.raises(SettingsError):
        plan_apply(load_settings(path), VALUES)
    # A plan made while the file was valid is refused once it no longer is.
    good = tmp_path / "good.json"
    good.write_text('{"theme": "dark"}')
    plan = plan_apply(load_settings(good), VALUES)
    shutil.copyfile(path, good)
    with pytest.raises(SettingsChangedOnDisk):
        save_plan(plan)
    assert path.read_bytes() == before
    assert good.read_bytes() == before


def test_no_change_plan_writes_nothing(tmp_path: Path, settings_fixtures: Path) -> None:
    path = copy(settings_fixtures, "minimal.json", tmp_path, 0o644)
    save_plan(plan_apply(load_settings(path), VALUES))
    stamp = path.stat().st_mtime_ns
    result = save_plan(plan_apply(load_settings(path), VALUES))
    assert result.backup is None and not result.mode_tightened
    assert any("Nothing to save" in n for n in result.notices)
    assert path.stat().st_mtime_ns == stamp
    assert len(list((tmp_path / BACKUP_DIR_NAME).glob("*.bak"))) == 1


def test_empty_file_is_saved_as_a_complete_file_with_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"")
    path.chmod(0o600)
    result = save_plan(plan_apply(load_settings(path), VALUES))
    assert json.loads(path.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == "sk-bf-SAVE-TEST-0123456789"
    assert result.backup is not None and result.backup.read_bytes() == b""


def test_five_megabyte_file_saves(tmp_path: Path) -> None:
    big = {"permissions": {"allow": [f"Bash(command-{i} --flag value-{i})" for i in range(110_000)]}, "theme": "dark"}
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(big, indent=4))
    path.chmod(0o600)
    save_plan(plan_apply(load_settings(path), VALUES))
    saved = json.loads(path.read_text())
    assert saved["permissions"] == big["permissions"]
    assert saved["env"]["ANTHROPIC_BASE_URL"].endswith("/anthropic")

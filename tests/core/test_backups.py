"""Backups: one before every save, the original kept once, retention, restore through the same save path."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from optscale_tui.core.clients.claude_code.schema import plan_apply, plan_env_edit
from optscale_tui.core.config.errors import SettingsChangedOnDisk
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import BACKUP_DIR_NAME, BackupStore, save_plan
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")

URL = parse_base_url("https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1")
T0 = datetime(2026, 11, 25, 20, 49, 15, 123456, tzinfo=UTC)


def values(model: str) -> ConnectionValues:
    return ConnectionValues(URL, ApiKey("sk-bf-BACKUP-TEST-0123456789"), TierMapping(opus=model))


def settings(tmp_path: Path, text: str = '{\n  "theme": "dark"\n}\n', name: str = "settings.json") -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def save_model(path: Path, model: str, now: datetime, keep: int = 20):
    return save_plan(plan_apply(load_settings(path), values(model)), keep_backups=keep, now=now)


def test_every_save_of_an_existing_file_makes_a_backup_first(tmp_path: Path) -> None:
    path = settings(tmp_path)
    contents = []
    for i in range(3):
        contents.append(path.read_bytes())
        result = save_model(path, f"a/m{i}", T0 + timedelta(seconds=i))
        assert result.backup is not None
        assert result.backup.read_bytes() == contents[-1]
        assert result.backup.name == f"settings.json.{(T0 + timedelta(seconds=i)).strftime('%Y%m%dT%H%M%S%f')}.bak"
    assert [b.path.read_bytes() for b in BackupStore(path).list() if not b.is_original] == contents[::-1]


def test_backup_name_follows_the_documented_form(tmp_path: Path) -> None:
    result = save_model(settings(tmp_path), "a/m", T0)
    assert result.backup == tmp_path / BACKUP_DIR_NAME / "settings.json.20261125T204915123456.bak"


def test_original_is_kept_once_and_never_overwritten(tmp_path: Path) -> None:
    path = settings(tmp_path)
    first = path.read_bytes()
    r1 = save_model(path, "a/one", T0)
    r2 = save_model(path, "a/two", T0 + timedelta(seconds=1))
    original = tmp_path / BACKUP_DIR_NAME / "settings.json.original"
    assert r1.original == original and r2.original == original
    assert original.read_bytes() == first
    assert any("before the first change" in n for n in r1.notices)
    assert not any("before the first change" in n for n in r2.notices)


def test_backups_are_private(tmp_path: Path) -> None:
    path = settings(tmp_path)
    save_model(path, "a/m", T0)
    directory = tmp_path / BACKUP_DIR_NAME
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in directory.iterdir())


def test_retention_prunes_the_oldest_but_never_the_original(tmp_path: Path) -> None:
    path = settings(tmp_path)
    for i in range(5):
        save_model(path, f"a/m{i}", T0 + timedelta(seconds=i), keep=2)
    backups = BackupStore(path).list()
    stamps = [b.id for b in backups if not b.is_original]
    assert stamps == [(T0 + timedelta(seconds=s)).strftime("%Y%m%dT%H%M%S%f") for s in (4, 3)]
    assert backups[-1].is_original and backups[-1].id == "original"
    assert backups[-1].path.read_text() == '{\n  "theme": "dark"\n}\n'


def test_keep_backups_must_be_positive(tmp_path: Path) -> None:
    path = settings(tmp_path)
    with pytest.raises(ValueError):
        save_model(path, "a/m", T0, keep=0)
    assert path.read_text() == '{\n  "theme": "dark"\n}\n'


def test_settings_local_backups_do_not_collide(tmp_path: Path) -> None:
    user = settings(tmp_path, name="settings.json")
    local = settings(tmp_path, '{"env": {}}', name="settings.local.json")
    save_model(user, "a/u", T0)
    save_model(local, "a/l", T0)
    assert [b.id for b in BackupStore(user).list()] == [T0.strftime("%Y%m%dT%H%M%S%f"), "original"]
    assert BackupStore(local).read("original") == '{"env": {}}'
    assert BackupStore(user).read("original") == '{\n  "theme": "dark"\n}\n'


def test_two_saves_at_the_same_instant_get_distinct_backups(tmp_path: Path) -> None:
    path = settings(tmp_path)
    a = save_model(path, "a/one", T0).backup
    b = save_model(path, "a/two", T0).backup
    assert a is not None and b is not None and a != b
    assert len(BackupStore(path).list()) == 3


def test_list_is_newest_first_with_metadata(tmp_path: Path) -> None:
    path = settings(tmp_path)
    save_model(path, "a/one", T0)
    save_model(path, "a/two", T0 + timedelta(minutes=5))
    listed = BackupStore(path).list()
    assert [b.created for b in listed[:2]] == [T0 + timedelta(minutes=5), T0]
    assert [b.is_original for b in listed] == [False, False, True]
    assert all(b.size == b.path.stat().st_size for b in listed)
    assert BackupStore(tmp_path / "other.json").list() == []


def test_restore_backs_up_the_current_file_first(tmp_path: Path) -> None:
    path = settings(tmp_path)
    save_model(path, "a/one", T0)
    saved_one = path.read_bytes()
    save_model(path, "a/two", T0 + timedelta(seconds=1))
    saved_two = path.read_bytes()
    store = BackupStore(path)
    oldest = store.list()[-2]  # the content before the first save
    result = store.restore(oldest.id, now=T0 + timedelta(seconds=2))
    assert path.read_bytes() == oldest.path.read_bytes() == b'{\n  "theme": "dark"\n}\n'
    assert result.backup is not None and result.backup.read_bytes() == saved_two
    assert any("Restored" in n for n in result.notices)
    assert saved_one != saved_two
    # Undo the restore by restoring the backup it made.
    store.restore(result.backup.name.split(".")[2], now=T0 + timedelta(seconds=3))
    assert path.read_bytes() == saved_two


def test_each_backup_says_what_it_was_taken_before(tmp_path: Path) -> None:
    path = settings(tmp_path)
    save_model(path, "a/one", T0)
    store = BackupStore(path)
    before_save = store.list()[0]
    result = store.restore(before_save.id, now=T0 + timedelta(seconds=1))
    listed = {b.id: b for b in store.list() if not b.is_original}
    assert listed[before_save.id].made_by == "save"
    (before_restore,) = [b for b in listed.values() if b.path == result.backup]
    assert before_restore.made_by == "restore"
    # Its id works like any other: read, diff and restore it (undo the restore).
    assert store.read(before_restore.id) == result.backup.read_text()
    store.restore(before_restore.id, now=T0 + timedelta(seconds=2))
    assert path.read_bytes() == result.backup.read_bytes()


def test_backup_ids_stay_unique_across_both_kinds(tmp_path: Path) -> None:
    path = settings(tmp_path)
    save_model(path, "a/one", T0)
    store = BackupStore(path)
    store.restore(store.list()[0].id, now=T0)  # the same instant as the save's backup
    ids = [b.id for b in store.list() if not b.is_original]
    assert len(ids) == len(set(ids)) == 2


def test_restore_original_keeps_mode_and_symlink_rules(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = settings(tmp_path / "real")
    link_dir = tmp_path / "claude"
    link_dir.mkdir()
    link = link_dir / "settings.json"
    link.symlink_to(real)
    save_model(link, "a/one", T0)
    real.chmod(0o644)
    result = BackupStore(link).restore("original", now=T0 + timedelta(seconds=1))
    assert link.is_symlink()
    assert real.read_text() == '{\n  "theme": "dark"\n}\n'
    assert result.mode_tightened and stat.S_IMODE(real.stat().st_mode) == 0o600


def test_restore_works_over_a_broken_file_and_keeps_it(tmp_path: Path) -> None:
    path = settings(tmp_path)
    save_model(path, "a/one", T0)
    path.write_text('{"env": {"A": "1",}}')  # the user broke it by hand
    result = BackupStore(path).restore("original", now=T0 + timedelta(seconds=1))
    assert json.loads(path.read_text()) == {"theme": "dark"}
    assert result.backup is not None and result.backup.read_text() == '{"env": {"A": "1",}}'


def test_restore_recreates_a_deleted_file(tmp_path: Path) -> None:
    path = settings(tmp_path)
    save_model(path, "a/one", T0)
    path.unlink()
    result = BackupStore(path).restore("original", now=T0 + timedelta(seconds=1))
    assert path.read_text() == '{\n  "theme": "dark"\n}\n'
    assert result.backup is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("bad_id", ["20991231T000000000000", "../settings.json", "latest", ""])
def test_unknown_or_malformed_backup_ids_are_refused(tmp_path: Path, bad_id: str) -> None:
    path = settings(tmp_path)
    save_model(path, "a/one", T0)
    store = BackupStore(path)
    with pytest.raises(FileNotFoundError, match="No backup"):
        store.read(bad_id)
    with pytest.raises(FileNotFoundError):
        store.restore(bad_id)


def test_new_file_save_records_that_there_was_no_file_as_its_original(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    result = save_model(path, "a/one", T0)
    assert result.backup is None and result.original is None
    [original] = BackupStore(path).list()
    assert original.id == "original" and original.is_original and original.absent and original.size == 0
    second = save_plan(plan_env_edit(load_settings(path), {"X": "1"}, [], "test"), now=T0 + timedelta(seconds=1))
    assert second.backup is not None
    # The first save's content is our own write, not the user's original: it is not kept as one.
    assert second.original is None and not (tmp_path / BACKUP_DIR_NAME / "settings.json.original").exists()
    assert [b.absent for b in BackupStore(path).list()] == [False, True]


def test_restoring_an_original_that_was_no_file_removes_the_file_with_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_model(path, "a/one", T0)
    saved = path.read_bytes()
    store = BackupStore(path)
    assert "-  \"env\": {" in store.diff("original") and "+" not in store.diff("original").splitlines()[2:]
    result = store.restore("original", now=T0 + timedelta(seconds=1))
    assert not path.exists()
    assert result.backup is not None and result.backup.read_bytes() == saved  # undoable
    assert any("removed" in n for n in result.notices)
    undo = store.restore(store.list()[0].id, now=T0 + timedelta(seconds=2))
    assert path.read_bytes() == saved and undo.backup is None
    assert [b.absent for b in store.list() if b.is_original] == [True]  # still "no file"


def test_removing_the_file_is_refused_when_it_changed_since_it_was_read(tmp_path: Path, monkeypatch) -> None:
    from optscale_tui.core.config import store

    path = tmp_path / "settings.json"
    save_model(path, "a/one", T0)
    real = store.regular_file_digest
    monkeypatch.setattr(store, "regular_file_digest", lambda p, **kw: (path.write_text("{}"), real(p, **kw))[1])
    with pytest.raises(SettingsChangedOnDisk):
        BackupStore(path).restore("original", now=T0 + timedelta(seconds=1))
    assert path.read_text() == "{}"
    assert [b.id for b in BackupStore(path).list()] == ["original"]  # the attempt's backup was taken back


def test_backup_is_not_made_when_the_save_is_refused(tmp_path: Path) -> None:
    path = settings(tmp_path)
    plan = plan_apply(load_settings(path), values("a/one"))
    path.write_text('{"theme": "light"}')
    with pytest.raises(SettingsChangedOnDisk):
        save_plan(plan, now=T0)
    assert BackupStore(path).list() == []

"""Backups survive a full disk and a tampered folder (issue 9, §1 and §2).

Before: on a nearly full disk `apply` left a truncated settings.json.original that the next run kept and
`restore original --yes` wrote back (invalid JSON, exit 0); `restore` followed a symlinked backup entry and copied a
foreign file into settings.json. Now backups are written like the settings file and carry a checksum; a broken one
is listed as broken and never restored; only regular files inside the backup folder are read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_code.schema import plan_apply
from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import BACKUP_DIR_NAME, BackupStore, save_plan
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
from tests.hostile.fs_faults import checksum_of, cut_short, emptied, fill, flip, garbage, in_thread, tmpfs

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file kinds")

KEY = "sk-bf-BACKUP-INTEGRITY-0123456789ab"
URL = parse_base_url("https://gw.example.com/llm_proxy/org/v1")
T0 = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
ORIGINAL_TEXT = '{\n  "theme": "dark",\n  "permissions": {"allow": ["Bash(ls:*)"]}\n}\n'


def values(model: str) -> ConnectionValues:
    return ConnectionValues(URL, ApiKey(KEY), TierMapping(opus=model))


def seeded(directory: Path, text: str = ORIGINAL_TEXT) -> Path:
    path = directory / "settings.json"
    path.write_text(text)
    path.chmod(0o600)
    return path


def save_model(path: Path, model: str, now: datetime):
    return save_plan(plan_apply(load_settings(path), values(model)), now=now)


# --- checksums ------------------------------------------------------------------------------------------------


def test_every_backup_has_its_checksum_beside_it(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    result = save_model(path, "a/one", T0)
    for backup in (result.backup, result.original):
        assert backup is not None
        assert checksum_of(backup).read_text().strip() == hashlib.sha256(backup.read_bytes()).hexdigest()
    assert [b.broken for b in BackupStore(path).list()] == ["", ""]


DAMAGES = {"truncate": cut_short, "flip": flip, "empty": emptied, "garbage": garbage}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_backup_is_listed_broken_and_never_restored(tmp_path: Path, damage: str) -> None:
    path = seeded(tmp_path)
    save_model(path, "a/one", T0)
    now_text = path.read_text()
    original = BackupStore(path).original_path
    DAMAGES[damage](original)
    listed = {b.id: b for b in BackupStore(path).list()}
    assert listed["original"].is_broken and "checksum" in listed["original"].broken
    with pytest.raises(SettingsError) as err:
        BackupStore(path).restore("original")
    assert err.value.cause is Cause.BACKUP_BROKEN
    assert path.read_text() == now_text
    assert len(BackupStore(path).list()) == 2  # the refused restore made no backup either


def test_a_legacy_backup_without_checksum_is_used_when_it_parses(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    save_model(path, "a/one", T0)
    store = BackupStore(path)
    checksum_of(store.original_path).unlink()
    assert store.list()[-1].broken == ""
    store.restore("original", now=T0 + timedelta(seconds=1))
    assert path.read_text() == ORIGINAL_TEXT


@pytest.mark.parametrize("content", [b"", b'{"theme": "da', b"[1, 2]"])
def test_a_legacy_backup_that_is_empty_or_does_not_parse_is_broken(tmp_path: Path, content: bytes) -> None:
    """The truncated settings.json.original the old code left on a full disk (0/4/8 KiB of 11 KiB)."""
    path = seeded(tmp_path)
    store = BackupStore(path)
    store.directory.mkdir(mode=0o700)
    store.original_path.write_bytes(content)
    [original] = store.list()
    assert original.is_broken
    with pytest.raises(SettingsError) as err:
        store.restore("original")
    assert err.value.cause is Cause.BACKUP_BROKEN
    assert path.read_text() == ORIGINAL_TEXT


def test_a_backup_of_a_file_that_did_not_parse_is_broken_for_restore(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    save_model(path, "a/one", T0)
    path.write_text('{"env": {"A": "1",}}')  # broken by hand, then a restore backs it up first
    result = BackupStore(path).restore("original", now=T0 + timedelta(seconds=1))
    assert result.backup is not None
    listed = {b.path: b for b in BackupStore(path).list()}
    assert "not a valid settings file" in listed[result.backup].broken


# --- a tampered backup folder -----------------------------------------------------------------------------------


def test_restore_never_follows_a_symlinked_backup_entry(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    save_model(path, "a/one", T0)
    secret = tmp_path / "foreign.json"
    secret.write_text('{"stolen": true}')
    store = BackupStore(path)
    planted = store.directory / "settings.json.20991231T000000000000.bak"
    planted.symlink_to(secret)
    store.original_path.unlink()
    store.original_path.symlink_to(secret)
    before = path.read_text()
    listed = {b.id: b for b in store.list()}
    assert listed["20991231T000000000000"].is_broken and listed["original"].is_broken
    for backup_id in ("20991231T000000000000", "original"):
        with pytest.raises(SettingsError) as err:
            store.restore(backup_id)
        assert err.value.cause is Cause.BACKUP_BROKEN
        with pytest.raises(SettingsError):
            store.read(backup_id)  # the diff pane does not show the foreign file either
    assert path.read_text() == before


def test_a_fifo_planted_as_a_backup_does_not_block_the_list(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    save_model(path, "a/one", T0)
    os.mkfifo(BackupStore(path).directory / "settings.json.20991231T000000000000.bak")
    listed = in_thread(lambda: BackupStore(path).list())
    assert listed[0].is_broken and "FIFO" in listed[0].broken


def test_a_symlinked_backup_folder_is_neither_read_nor_written(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / BACKUP_DIR_NAME).symlink_to(elsewhere)
    before = path.read_text()
    with pytest.raises(SettingsError) as err:
        save_model(path, "a/one", T0)
    assert err.value.cause is Cause.SETTINGS_NOT_A_FILE
    assert list(elsewhere.iterdir()) == [] and path.read_text() == before
    assert BackupStore(path).list() == []


def test_restore_refuses_a_fifo_as_the_current_file(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    save_model(path, "a/one", T0)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(SettingsError) as err:
        in_thread(lambda: BackupStore(path).restore("original"))
    assert err.value.cause is Cause.SETTINGS_NOT_A_FILE
    with pytest.raises(SettingsError):
        in_thread(lambda: BackupStore(path).diff("original"))


# --- a real full disk (tmpfs) -----------------------------------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "size=64k,mode=0700") as disk:
        yield disk


def big_settings(size: int) -> str:
    return json.dumps({"theme": "dark", "notes": ["x" * 100] * (size // 106)}, indent=2) + "\n"


@pytest.mark.parametrize("leave", [0, 4096, 8192, 12288, 16384, 20480, 24576, 28672, 36864, 45056, 65536])
def test_on_a_full_disk_nothing_truncated_is_left_and_nothing_broken_is_restored(full_disk: Path, leave: int) -> None:
    path = full_disk / "settings.json"
    text = big_settings(11 * 1024)
    path.write_text(text)
    path.chmod(0o600)
    plan = plan_apply(load_settings(path), values("a/one"))
    fill(full_disk, leave)
    try:
        result = save_plan(plan, now=T0)
    except SettingsError as err:
        assert err.cause is Cause.DISK_FULL
        assert path.read_text() == text
        saved = False
    else:
        saved = True
        assert result.backup is not None and result.backup.read_text() == text
    store = BackupStore(path)
    for backup in store.list():
        assert not backup.is_broken, backup.broken
        assert backup.path.read_text() == text
    if store.directory.exists():
        assert [p.name for p in store.directory.iterdir() if p.name.endswith(".tmp")] == []
    assert [p.name for p in full_disk.iterdir() if p.name.endswith(".tmp")] == []
    if saved:
        assert json.loads(path.read_text())["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "a/one"
        (full_disk / "ballast").unlink()
        saved_text = path.read_text()
        try:  # a restore needs room for one more backup and a temp copy: it either fits or says disk_full
            store.restore("original", now=T0 + timedelta(seconds=1))
        except SettingsError as err:
            assert err.cause is Cause.DISK_FULL
            assert path.read_text() == saved_text
        else:
            assert path.read_text() == text
        assert not any(b.is_broken for b in store.list())


def test_a_full_disk_is_reported_as_disk_full_with_its_fix(full_disk: Path) -> None:
    path = full_disk / "settings.json"
    text = big_settings(11 * 1024)
    path.write_text(text)
    plan = plan_apply(load_settings(path), values("a/one"))
    fill(full_disk, 0)
    with pytest.raises(SettingsError) as err:
        save_plan(plan, now=T0)
    assert err.value.cause is Cause.DISK_FULL
    assert "space" in str(err.value).lower() and KEY not in str(err.value)
    assert path.read_text() == text

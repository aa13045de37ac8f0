"""What is not a settings file is never read without bound, never blocks, and is never replaced (issue 9, §1/§6).

Each test names the defect it guards: before the fix a symlink to a device was replaced by a regular file, a FIFO
blocked for ever, /dev/zero ate memory, a link loop or a deep array was a traceback, and every refusal was
"settings_invalid".
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.layers import same_file as _same_file
from optscale_tui.core.clients.claude_code.schema import plan_apply, plan_env_edit
from optscale_tui.core.config.errors import SettingsChangedOnDisk, SettingsError, SettingsReadOnly
from optscale_tui.core.config.files import MAX_SETTINGS_BYTES, is_read_only, read_regular_file
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import BACKUP_DIR_NAME, BackupStore, save_plan
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
from optscale_tui.core.diagnosis.doctor import inspect_environment
from tests.hostile.fs_faults import in_thread, make_fifo, make_socket

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file kinds")

KEY = "sk-bf-HOSTILE-FILE-0123456789abcdef"
VALUES = ConnectionValues(parse_base_url("https://gw.example.com/llm_proxy/org/v1"), ApiKey(KEY),
                          TierMapping(opus="anthropic/claude-opus-4-6"))
T0 = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def saved_doc(tmp_path: Path, text: str = '{\n  "theme": "dark"\n}\n') -> Path:
    path = tmp_path / "settings.json"
    path.write_text(text)
    path.chmod(0o600)
    return path


# --- not a regular file -----------------------------------------------------------------------------------------


KINDS = {
    "fifo": make_fifo,
    "socket": make_socket,
    "folder": lambda p: (p.mkdir(), p)[1],
}


@pytest.mark.parametrize("via_link", [False, True], ids=["direct", "symlink"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_non_regular_settings_path_is_refused_by_load(tmp_path: Path, kind: str, via_link: bool) -> None:
    thing = KINDS[kind](tmp_path / "thing")
    path = tmp_path / "settings.json"
    if via_link:
        path.symlink_to(thing)
    else:
        thing.rename(path)
        thing = path
    with pytest.raises(SettingsError) as err:
        in_thread(lambda: load_settings(path))
    assert err.value.cause is Cause.SETTINGS_NOT_A_FILE
    assert "not a regular file" in err.value.reason
    assert ("symbolic link" in err.value.reason) == via_link


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/urandom"])
def test_a_symlink_to_a_device_is_refused_and_the_device_stays(tmp_path: Path, device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"{device} missing")
    before = os.stat(device)
    path = tmp_path / "settings.json"
    path.symlink_to(device)
    with pytest.raises(SettingsError) as err:
        in_thread(lambda: load_settings(path))  # /dev/zero used to be read until MemoryError
    assert err.value.cause is Cause.SETTINGS_NOT_A_FILE and "character device" in err.value.reason
    assert stat.S_ISCHR(os.stat(device).st_mode) and os.stat(device).st_rdev == before.st_rdev


def test_saving_never_replaces_a_device_behind_a_symlink(tmp_path: Path) -> None:
    """The reported defect: `mknod null c 1 3; ln -s null settings.json; apply --yes` replaced the node."""
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    path = tmp_path / "settings.json"
    path.symlink_to(node)
    with pytest.raises(SettingsError):
        load_settings(path)  # used to read it as an empty file, and the save then replaced the node
    # The save path refuses on its own too: a plan made from a regular file, then the link swapped in.
    path.unlink()
    saved_doc(tmp_path)
    plan = plan_apply(load_settings(path), VALUES)
    path.unlink()
    path.symlink_to(node)
    with pytest.raises(SettingsError) as err:
        save_plan(plan)
    assert err.value.cause is Cause.SETTINGS_NOT_A_FILE
    assert stat.S_ISCHR(node.lstat().st_mode) and path.is_symlink()
    assert not (tmp_path / BACKUP_DIR_NAME).exists()


@pytest.mark.parametrize("kind", ["fifo", "socket", "folder"])
def test_saving_over_a_non_regular_file_swapped_in_is_refused(tmp_path: Path, kind: str) -> None:
    path = saved_doc(tmp_path)
    plan = plan_apply(load_settings(path), VALUES)
    path.unlink()
    KINDS[kind](path)
    with pytest.raises(SettingsError) as err:
        in_thread(lambda: save_plan(plan))
    assert err.value.cause is Cause.SETTINGS_NOT_A_FILE
    assert not path.is_file()


def test_a_dangling_symlink_is_still_created_where_it_points(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.symlink_to(tmp_path / "real.json")
    save_plan(plan_apply(load_settings(path), VALUES))
    assert path.is_symlink() and (tmp_path / "real.json").is_file()


def test_a_symlink_loop_is_its_own_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    path = tmp_path / "settings.json"
    path.symlink_to(tmp_path / "a")
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.cause is Cause.SETTINGS_NOT_A_FILE and "loop" in err.value.reason


def test_doctor_same_file_survives_a_symlink_loop(tmp_path: Path) -> None:
    """Was: RuntimeError('Symlink loop') out of Path.resolve() in doctor._same_file."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert _same_file(tmp_path / "a", tmp_path / "a")
    assert not _same_file(tmp_path / "a", tmp_path / "b")


def test_doctor_reports_a_looping_user_file_with_its_own_cause(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (home / ".claude" / "settings.json").symlink_to(tmp_path / "a")
    config = inspect_environment(cwd=tmp_path, env={"HOME": str(home)}, home=home, platform="linux")
    causes = [f.cause for f in config.findings]
    assert Cause.SETTINGS_NOT_A_FILE in causes and Cause.SETTINGS_INVALID not in causes
    finding = next(f for f in config.findings if f.cause is Cause.SETTINGS_NOT_A_FILE)
    assert "loop" in finding.message and "Correct the JSON" not in finding.fix


# --- bounded reads ----------------------------------------------------------------------------------------------


def test_reads_are_capped_with_a_too_large_error(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"{}" + b" " * 100)
    with pytest.raises(SettingsError) as err:
        read_regular_file(path, limit=50)
    assert err.value.cause is Cause.SETTINGS_TOO_LARGE and "too large" in err.value.reason
    assert read_regular_file(path, limit=200) == path.read_bytes()
    assert MAX_SETTINGS_BYTES >= 50 * 1024 * 1024  # a 50 MB settings file still works


def test_a_sparse_file_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    with path.open("wb") as fh:
        fh.truncate(MAX_SETTINGS_BYTES + 1)  # sparse: costs no disk, would cost the memory to read
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.cause is Cause.SETTINGS_TOO_LARGE


# --- content Python cannot hold -----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1000, 5000, 100_000])
def test_deep_nesting_is_an_input_error_not_a_recursion_error(tmp_path: Path, depth: int) -> None:
    path = saved_doc(tmp_path, '{"a": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.cause is Cause.SETTINGS_TOO_LARGE and "nested too deeply" in err.value.reason


def test_moderate_nesting_still_loads_plans_and_saves(tmp_path: Path) -> None:
    path = saved_doc(tmp_path, '{"a": ' + "[" * 400 + "]" * 400 + "}")
    save_plan(plan_apply(load_settings(path), VALUES))
    assert json.loads(path.read_text())["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "anthropic/claude-opus-4-6"


@pytest.mark.parametrize("escaped", [r"\ud800", r"\udfff", r"x\\\ud83d", r"\ude00 alone"])
def test_a_lone_surrogate_is_an_input_error_with_its_position(tmp_path: Path, escaped: str) -> None:
    """Was: UnicodeEncodeError when doctor printed the value."""
    path = saved_doc(tmp_path, '{\n  "env": {"X": "' + escaped + '"}\n}\n')
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert err.value.cause is Cause.SETTINGS_INVALID and "surrogate" in err.value.reason
    assert err.value.line == 2


@pytest.mark.parametrize("escaped", [r"\ud83d\ude00", r"\\ud800", r"\u00e9"])
def test_paired_surrogates_and_escaped_backslashes_are_fine(tmp_path: Path, escaped: str) -> None:
    path = saved_doc(tmp_path, '{"env": {"X": "' + escaped + '"}}')
    assert load_settings(path).env["X"] == json.loads(f'"{escaped}"')


# --- read-only files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o440])
def test_a_read_only_file_is_refused_without_force(tmp_path: Path, mode: int) -> None:
    path = saved_doc(tmp_path)
    before = path.read_bytes()
    path.chmod(mode)
    plan = plan_apply(load_settings(path), VALUES)
    assert is_read_only(path)
    with pytest.raises(SettingsReadOnly) as err:
        save_plan(plan)
    assert err.value.cause is Cause.SETTINGS_READ_ONLY and f"{mode:04o}" in err.value.reason
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == mode
    assert BackupStore(path).list() == []  # a refused save leaves no backup
    result = save_plan(plan, force=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result.backup is not None and result.backup.read_bytes() == before


def test_a_restore_over_a_read_only_file_needs_force_too(tmp_path: Path) -> None:
    path = saved_doc(tmp_path)
    save_plan(plan_apply(load_settings(path), VALUES), now=T0)
    path.chmod(0o444)
    with pytest.raises(SettingsReadOnly):
        BackupStore(path).restore("original")
    BackupStore(path).restore("original", force=True)
    assert json.loads(path.read_text()) == {"theme": "dark"}


# --- refused saves leave nothing behind ---------------------------------------------------------------------------


def test_a_save_refused_as_changed_on_disk_at_the_last_check_leaves_no_backup(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The second check (just before the replace) used to fire after the backup was made: 24 refusals left 73."""
    from optscale_tui.core.config import store

    path = saved_doc(tmp_path)
    plan = plan_apply(load_settings(path), VALUES)
    real = store.write_file_atomically

    def edit_then_write(final, data, **kwargs):
        if final == path.resolve():
            path.write_text('{"theme": "light"}\n')  # someone saves while we write
        return real(final, data, **kwargs)

    monkeypatch.setattr(store, "write_file_atomically", edit_then_write)
    for _ in range(5):
        with pytest.raises(SettingsChangedOnDisk) as err:
            save_plan(plan)
        assert err.value.cause is Cause.SETTINGS_CHANGED
    assert path.read_text() == '{"theme": "light"}\n'
    assert list((tmp_path / BACKUP_DIR_NAME).iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EACCES", "EROFS", "EIO", "EDQUOT"])
def test_each_os_refusal_has_its_own_cause_and_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   errno_name: str) -> None:
    import errno

    path = saved_doc(tmp_path)
    before = path.read_bytes()
    plan = plan_apply(load_settings(path), VALUES)
    code = getattr(errno, errno_name)

    def refuse(src: object, dst: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(SettingsError) as err:
        save_plan(plan)
    expected = {"ENOSPC": Cause.DISK_FULL, "EDQUOT": Cause.DISK_FULL, "EACCES": Cause.PERMISSION_DENIED,
                "EROFS": Cause.FILESYSTEM_READ_ONLY, "EIO": Cause.FILE_IO_ERROR}[errno_name]
    assert err.value.cause is expected
    assert "Correct the JSON" not in describe(err.value.cause).fix
    assert KEY not in str(err.value)
    assert path.read_bytes() == before
    assert list((tmp_path / BACKUP_DIR_NAME).iterdir()) == []


def test_every_new_cause_has_a_distinct_fix() -> None:
    new = [Cause.SETTINGS_NOT_A_FILE, Cause.SETTINGS_TOO_LARGE, Cause.SETTINGS_CHANGED, Cause.SETTINGS_READ_ONLY,
           Cause.PERMISSION_DENIED, Cause.FILESYSTEM_READ_ONLY, Cause.DISK_FULL, Cause.FILE_IO_ERROR,
           Cause.BACKUP_BROKEN, Cause.SETTINGS_INVALID]
    fixes = [describe(c).fix for c in new]
    assert len(set(fixes)) == len(fixes)


# --- temp files ---------------------------------------------------------------------------------------------------


def dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_temp_files_of_a_killed_save_are_removed_by_the_next_save(tmp_path: Path) -> None:
    path = saved_doc(tmp_path)
    save_plan(plan_apply(load_settings(path), VALUES), now=T0)
    gone = dead_pid()
    leftovers = [tmp_path / f".settings.json.optscale-tui.{gone}.abc123.tmp",
                 tmp_path / BACKUP_DIR_NAME / f".settings.json.optscale-tui.{gone}.def456.tmp"]
    for leftover in leftovers:
        leftover.write_text('{"half": ')
    alive = tmp_path / f".settings.json.optscale-tui.{os.getppid()}.xyz789.tmp"  # a running process: kept
    alive.write_text("{}")
    foreign = tmp_path / ".settings.json.someone-else.tmp"  # not ours: kept
    foreign.write_text("{}")
    save_plan(plan_env_edit(load_settings(path), {"X": "1"}, [], "test"), now=T0 + timedelta(seconds=1))
    assert not any(p.exists() for p in leftovers)
    assert alive.exists() and foreign.exists()


def test_old_temp_files_of_a_live_pid_are_removed_too(tmp_path: Path) -> None:
    path = saved_doc(tmp_path)
    old = tmp_path / f".settings.json.optscale-tui.{os.getppid()}.abc.tmp"
    old.write_text("{}")
    two_hours_ago = datetime.now(UTC).timestamp() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    save_plan(plan_apply(load_settings(path), VALUES))
    assert not old.exists()


def test_our_temp_files_are_named_recognisably(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from optscale_tui.core.config import store

    path = saved_doc(tmp_path)
    seen: list[str] = []
    real = os.replace

    def spy(src, dst):
        seen.append(Path(src).name)
        return real(src, dst)

    monkeypatch.setattr(store.os, "replace", spy)
    save_plan(plan_apply(load_settings(path), VALUES))
    assert seen and all(name.startswith(f".settings.json.optscale-tui.{os.getpid()}.") for name in seen)


@pytest.mark.parametrize("content", ["fifo", "deep", "dev-zero"])
def test_doctor_survives_an_odd_claude_json(tmp_path: Path, content: str) -> None:
    """~/.claude.json (the login state) was read with read_text: a FIFO blocked, a deep one was a RecursionError."""
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    state = home / ".claude.json"
    if content == "fifo":
        os.mkfifo(state)
    elif content == "dev-zero":
        state.symlink_to("/dev/zero")
    else:
        state.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    config = in_thread(lambda: inspect_environment(cwd=tmp_path, env={"HOME": str(home)}, home=home,
                                                   platform="linux"))
    assert Cause.CLAUDE_LOGIN_PRESENT not in [f.cause for f in config.findings]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "deep"])
def test_the_real_client_workdir_skips_odd_project_settings(tmp_path: Path, kind: str) -> None:
    import shutil

    from optscale_tui.core.verify.claude_cli import prepare_workdir

    project = tmp_path / "project" / ".claude"
    project.mkdir(parents=True)
    path = project / "settings.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.write_text('{"env": ' + "[" * 50_000 + "]" * 50_000 + "}")
    work = in_thread(lambda: prepare_workdir(tmp_path / "project"))
    try:
        assert not (work / ".claude" / "settings.json").exists()
    finally:
        shutil.rmtree(work, ignore_errors=True)

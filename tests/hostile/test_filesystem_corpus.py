"""Bad-input corpus, filesystem share (issue 9, §7): hostile settings files and filesystem faults.

Every case runs the real CLI entry point (`cli.main`, in-process so ~150 cases stay fast) against a sandbox HOME
and asserts: no traceback (an exception would fail the test), the right exit code, the right cause id in the
output, the settings file (and whatever it points to, and the backup folder) unchanged, no API key and no raw
control character in stdout or stderr. Faults that need root (mknod, a tmpfs) are skipped without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from optscale_tui import cli
from tests.hostile.fs_faults import TAMPERS, fill, make_fifo, make_socket, need_root, tmpfs

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file kinds")

KEY = "sk-bf-CORPUS-FS-0123456789abcdef0123"
OTHER_KEY = "sk-bf-CORPUS-OTHER-9876543210fedcba"
BASE_URL = "https://gw.example.com/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1"
TIERS = {"HAIKU": "anthropic/claude-haiku-4-5", "SONNET": "anthropic/claude-sonnet-4-6",
         "OPUS": "anthropic/claude-opus-4-6"}
GOOD = json.dumps({
    "theme": "dark",
    "env": {"ANTHROPIC_BASE_URL": BASE_URL.removesuffix("/v1") + "/anthropic", "ANTHROPIC_AUTH_TOKEN": OTHER_KEY,
            **{f"ANTHROPIC_DEFAULT_{t}_MODEL": m for t, m in TIERS.items()}},
}, indent=2) + "\n"
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class Box:
    home: Path
    cwd: Path

    @property
    def config(self) -> Path:
        return self.home / ".claude"

    @property
    def settings(self) -> Path:
        return self.config / "settings.json"

    @property
    def backups(self) -> Path:
        return self.config / "optscale-tui-backups"

    def write(self, data: bytes | str, mode: int = 0o600) -> Path:
        self.config.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.settings.unlink()
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.settings.write_bytes(data)
        self.settings.chmod(mode)
        return self.settings


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Box:
    home, cwd = tmp_path / "home", tmp_path / "work"
    (home / ".claude").mkdir(parents=True)
    cwd.mkdir()
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "CLAUDE_", "NODE_EXTRA_CA", "SSL_CERT")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CORPUS_KEY", KEY)
    monkeypatch.chdir(cwd)
    return Box(home, cwd)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))  # an exception here is the traceback the corpus forbids
    out = capsys.readouterr()
    return code, out.out + out.err


def snapshot(box: Box) -> dict[str, object]:
    """Everything a refused command must leave as it was: the settings path, what it points to, the backups."""
    seen: dict[str, object] = {}
    for path in [box.settings, *sorted(box.config.rglob("*")), *sorted(box.home.glob("*"))]:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if path == box.backups and stat.S_ISDIR(st.st_mode):
            continue  # an empty backup folder may be left; what is in it is compared
        entry: list[object] = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode)]
        if stat.S_ISLNK(st.st_mode):
            entry.append(os.readlink(path))
        elif stat.S_ISREG(st.st_mode) and st.st_size < 2_000_000:
            entry.append(hashlib.sha256(path.read_bytes()).hexdigest())
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            entry.append(st.st_rdev)
        else:
            entry.append(st.st_size if stat.S_ISREG(st.st_mode) else None)
        seen[str(path)] = entry
    return seen


def assert_clean(output: str) -> None:
    assert "Traceback" not in output
    assert KEY not in output and OTHER_KEY not in output
    assert not RAW_CONTROL.search(output), repr(RAW_CONTROL.search(output))


APPLY = ("apply", "--base-url", BASE_URL, "--api-key-env", "CORPUS_KEY", "--opus", "anthropic/claude-opus-4-6",
         "--yes")


def command(name: str, box: Box) -> tuple[str, ...]:
    where = ("--settings", str(box.settings))
    return {
        "apply": (*APPLY, *where),
        "remove": ("remove", "--yes", *where),
        "restore": ("restore", "original", "--yes", *where),
        "verify": ("verify", "--no-claude-cli", "--timeout", "2", *where),
        "doctor": ("doctor", *where),
        "fix": ("fix", "base_url_v1", "--yes", *where),
    }[name]


# --- 1. settings content: valid bytes on disk, content we must refuse -------------------------------------------

def deep(depth: int) -> str:
    return '{"env": {"ANTHROPIC_AUTH_TOKEN": "' + OTHER_KEY + '"}, "a": ' + "[" * depth + "]" * depth + "}"


def with_key(broken_tail: str) -> str:
    """A file holding a key first, then the broken part: the error must not echo the key."""
    return '{\n  "env": {"ANTHROPIC_AUTH_TOKEN": "' + OTHER_KEY + '"},\n' + broken_tail


CONTENTS: dict[str, tuple[bytes | str, str]] = {
    "nesting-1000": (deep(1000), "settings_too_large"),
    "nesting-5000": (deep(5000), "settings_too_large"),
    "nesting-100000": (deep(100_000), "settings_too_large"),
    "nesting-objects-3000": ('{"a": ' + '{"b": ' * 3000 + "1" + "}" * 3000 + "}", "settings_too_large"),
    "lone-high-surrogate": (with_key('  "x": "\\ud800"\n}\n'), "settings_invalid"),
    "lone-low-surrogate": (with_key('  "x": "\\udc00"\n}\n'), "settings_invalid"),
    "surrogate-in-name": (with_key('  "\\udbff": 1\n}\n'), "settings_invalid"),
    "surrogate-in-env-value": ('{"env": {"ANTHROPIC_BASE_URL": "https://x\\ud800.example"}}', "settings_invalid"),
    "utf16-le": ("\ufeff{}".encode("utf-16-le"), "settings_invalid"),
    "utf16-be": ("\ufeff{}".encode("utf-16-be"), "settings_invalid"),
    "latin1": ('{"theme": "caf\xe9"}'.encode("latin-1"), "settings_invalid"),
    "nul-bytes": (b'{"theme": "\x00\x00"}', "settings_invalid"),
    "binary": (bytes(range(256)) * 4, "settings_invalid"),
    "trailing-comma": (with_key('  "theme": "dark",\n}\n'), "settings_invalid"),
    "comment": (with_key('  // a comment\n  "theme": "dark"\n}\n'), "settings_invalid"),
    "nan": (with_key('  "x": NaN\n}\n'), "settings_invalid"),
    "infinity": (with_key('  "x": -Infinity\n}\n'), "settings_invalid"),
    "top-array": ("[1, 2, 3]", "settings_invalid"),
    "top-string": ('"sk-bf-CORPUS-OTHER-9876543210fedcba"', "settings_invalid"),
    "env-array": ('{"env": ["' + OTHER_KEY + '"]}', "settings_invalid"),
    "env-string": ('{"env": "' + OTHER_KEY + '"}', "settings_invalid"),
    "truncated": (GOOD[: len(GOOD) // 2], "settings_invalid"),
    "single-quotes": ("{'env': {}}", "settings_invalid"),
    "escape-in-string": (with_key('  "x": "\x1b]52;c;aGk=\x07\x1b[2J"\n}\n'), "settings_invalid"),
    "escape-outside-string": (with_key('  "x": 1\x1b[2J\n}\n'), "settings_invalid"),
    "c1-and-bidi": (with_key('  "x": 1 \u202e\u0085\n}\n'), "settings_invalid"),
    "extra-data": (GOOD + '{"second": true}', "settings_invalid"),
    "python-literals": (with_key('  "x": True\n}\n'), "settings_invalid"),
}


@pytest.mark.parametrize("cmd", ["apply", "remove", "verify", "doctor"])
@pytest.mark.parametrize("name", sorted(CONTENTS))
def test_settings_content(box: Box, capsys: pytest.CaptureFixture[str], name: str, cmd: str) -> None:
    data, cause = CONTENTS[name]
    box.write(data)
    before = snapshot(box)
    code, output = run(capsys, *command(cmd, box))
    assert code == (1 if cmd == "doctor" else 2), output
    assert f"cause: {cause}" in output
    assert snapshot(box) == before
    assert_clean(output)


# --- 2. what sits at the settings path ------------------------------------------------------------------------


def make_chardev(path: Path) -> None:
    need_root()
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null


def link_to(target: str | Callable[[Path], None]) -> Callable[[Box], None]:
    def make(box: Box) -> None:
        if callable(target):
            thing = box.home / "thing"
            target(thing)
            box.settings.symlink_to(thing)
        else:
            if not os.path.exists(target):
                pytest.skip(f"{target} missing")
            box.settings.symlink_to(target)
    return make


def direct(maker: Callable[[Path], None]) -> Callable[[Box], None]:
    return lambda box: maker(box.settings)


def loop(box: Box) -> None:
    (box.home / "a").symlink_to(box.home / "b")
    (box.home / "b").symlink_to(box.home / "a")
    box.settings.symlink_to(box.home / "a")


def self_loop(box: Box) -> None:
    box.settings.symlink_to(box.settings)


def long_chain(box: Box) -> None:
    previous = box.home / "end.json"
    previous.write_text(GOOD)
    for i in range(60):  # past the kernel's 40-link limit: ELOOP though there is no cycle
        link = box.home / f"l{i}"
        link.symlink_to(previous)
        previous = link
    box.settings.symlink_to(previous)


def sparse_huge(box: Box) -> None:
    with box.settings.open("wb") as fh:
        fh.truncate(64 * 1024 * 1024 + 1)


FAULTS: dict[str, tuple[Callable[[Box], None], str]] = {
    "fifo": (direct(make_fifo), "settings_not_a_file"),
    "fifo-via-link": (link_to(make_fifo), "settings_not_a_file"),
    "socket": (direct(make_socket), "settings_not_a_file"),
    "socket-via-link": (link_to(make_socket), "settings_not_a_file"),
    "folder": (direct(lambda p: p.mkdir()), "settings_not_a_file"),
    "folder-via-link": (link_to(lambda p: p.mkdir()), "settings_not_a_file"),
    "dev-null-via-link": (link_to("/dev/null"), "settings_not_a_file"),
    "dev-zero-via-link": (link_to("/dev/zero"), "settings_not_a_file"),
    "dev-urandom-via-link": (link_to("/dev/urandom"), "settings_not_a_file"),
    "chardev": (direct(make_chardev), "settings_not_a_file"),
    "chardev-via-link": (link_to(make_chardev), "settings_not_a_file"),
    "symlink-loop": (loop, "settings_not_a_file"),
    "symlink-self-loop": (self_loop, "settings_not_a_file"),
    "symlink-chain-too-long": (long_chain, "settings_not_a_file"),
    "too-large-sparse": (sparse_huge, "settings_too_large"),
}


@pytest.mark.parametrize("cmd", ["apply", "remove", "restore", "verify", "doctor", "fix"])
@pytest.mark.parametrize("name", sorted(FAULTS))
def test_settings_path_fault(box: Box, capsys: pytest.CaptureFixture[str], name: str, cmd: str) -> None:
    make, cause = FAULTS[name]
    if cmd == "restore":  # a good original backup exists; restoring it over the fault is refused
        box.write(GOOD)
        assert run(capsys, *command("remove", box))[0] == 0
        box.settings.unlink()
    make(box)
    before = snapshot(box)
    code, output = run(capsys, *command(cmd, box))
    assert code == (1 if cmd == "doctor" else 2), output
    assert f"cause: {cause}" in output
    assert snapshot(box) == before
    assert_clean(output)


def test_a_path_through_a_file_is_refused(box: Box, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = box.home / "file"
    blocker.write_text("{}")
    path = blocker / "settings.json"
    for cmd in ("apply", "remove"):
        argv = (*APPLY, "--settings", str(path)) if cmd == "apply" else ("remove", "--yes", "--settings", str(path))
        code, output = run(capsys, *argv)
        assert code in (0, 2), output  # remove of a file that cannot exist is "nothing to remove"
        if cmd == "apply":
            assert code == 2 and ("cause: settings_not_a_file" in output or "cause: file_io_error" in output)
        assert_clean(output)
    assert blocker.read_text() == "{}"


# --- 3. the file is fine, the file system refuses ---------------------------------------------------------------


@pytest.fixture
def mounted_config(box: Box) -> Iterator[Callable[[str], None]]:
    """Mount a small tmpfs over ~/.claude on demand (root only)."""
    stack = contextlib.ExitStack()

    def mount(options: str) -> None:
        stack.enter_context(tmpfs(box.config, options))

    with stack:
        yield mount


@pytest.mark.parametrize("cmd", ["apply", "remove", "restore"])
def test_a_full_disk(box: Box, capsys: pytest.CaptureFixture[str], mounted_config, cmd: str) -> None:
    mounted_config("size=64k,mode=0700")
    box.write(GOOD)
    if cmd == "restore":
        assert run(capsys, *command("remove", box))[0] == 0
    fill(box.config)
    before = snapshot(box)
    code, output = run(capsys, *command(cmd, box))
    assert code == 2, output
    assert "cause: disk_full" in output and "Correct the JSON" not in output
    assert snapshot(box) == before
    assert_clean(output)


@pytest.mark.parametrize("cmd", ["apply", "remove", "restore"])
def test_a_read_only_file_system(box: Box, capsys: pytest.CaptureFixture[str], mounted_config, cmd: str) -> None:
    mounted_config("size=256k,mode=0700")
    box.write(GOOD)
    if cmd == "restore":
        assert run(capsys, *command("remove", box))[0] == 0
    subprocess.run(["mount", "-o", "remount,ro", str(box.config)], check=True)
    before = snapshot(box)
    code, output = run(capsys, *command(cmd, box))
    assert code == 2, output
    assert "cause: filesystem_read_only" in output
    assert snapshot(box) == before
    assert_clean(output)


# --- 4. read-only settings: refused without --force, rewritten with it ------------------------------------------


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555])
@pytest.mark.parametrize("cmd", ["apply", "remove", "restore"])
def test_a_read_only_settings_file_needs_force(box: Box, capsys: pytest.CaptureFixture[str], cmd: str,
                                              mode: int) -> None:
    box.write(GOOD)
    if cmd == "restore":
        assert run(capsys, *command("remove", box))[0] == 0
    box.settings.chmod(mode)
    before = snapshot(box)
    code, output = run(capsys, *command(cmd, box))
    assert code == 2, output
    assert "cause: settings_read_only" in output and "--force" in output and "read-only" in output
    assert snapshot(box) == before
    assert_clean(output)
    code, output = run(capsys, *command(cmd, box), "--force")
    assert code == 0, output
    assert stat.S_IMODE(box.settings.stat().st_mode) == 0o600
    assert_clean(output)


def test_a_fix_it_over_a_read_only_file_needs_force(box: Box, capsys: pytest.CaptureFixture[str]) -> None:
    box.write(GOOD.replace("/anthropic", "/v1"), mode=0o444)  # base_url_v1 has a fix-it
    before = snapshot(box)
    code, output = run(capsys, *command("fix", box))
    assert code == 2, output
    assert "cause: settings_read_only" in output and "--force" in output
    assert snapshot(box) == before
    assert_clean(output)
    code, output = run(capsys, *command("fix", box), "--force")
    assert code == 0, output
    assert json.loads(box.settings.read_text())["env"]["ANTHROPIC_BASE_URL"].endswith("/anthropic")
    assert_clean(output)


# --- 5. backups that must not be restored -----------------------------------------------------------------------


@pytest.mark.parametrize("how", sorted(TAMPERS))
def test_a_broken_backup_is_never_restored(box: Box, capsys: pytest.CaptureFixture[str], how: str) -> None:
    box.write(GOOD)
    assert run(capsys, *command("remove", box))[0] == 0
    TAMPERS[how](box.backups / "settings.json.original")
    before = snapshot(box)
    code, output = run(capsys, *command("restore", box))
    assert code == 2, output
    assert "cause: backup_broken" in output
    assert snapshot(box) == before
    assert_clean(output)
    code, output = run(capsys, "restore", "--list", "--settings", str(box.settings))
    assert code == 0
    assert re.search(r"original .*BROKEN", output), output
    assert_clean(output)


# --- 6. the backup folder itself ------------------------------------------------------------------------------


BACKUP_DIR_FAULTS: dict[str, Callable[[Box], None]] = {
    "symlink-to-folder": lambda box: (box.home.joinpath("elsewhere").mkdir(),
                                      box.backups.symlink_to(box.home / "elsewhere")),
    "regular-file": lambda box: box.backups.write_text("not a folder"),
    "fifo": lambda box: os.mkfifo(box.backups),
    "dangling-symlink": lambda box: box.backups.symlink_to(box.home / "nowhere"),
}


@pytest.mark.parametrize("cmd", ["apply", "remove"])
@pytest.mark.parametrize("name", sorted(BACKUP_DIR_FAULTS))
def test_a_backup_folder_that_is_not_a_folder(box: Box, capsys: pytest.CaptureFixture[str], name: str,
                                              cmd: str) -> None:
    box.write(GOOD)
    BACKUP_DIR_FAULTS[name](box)
    before = snapshot(box)
    code, output = run(capsys, *command(cmd, box))
    assert code == 2, output
    assert "cause: settings_not_a_file" in output or "cause: file_io_error" in output
    assert snapshot(box) == before
    assert_clean(output)


# --- 7. the things that do work ---------------------------------------------------------------------------------


def test_a_symlink_to_a_regular_file_is_written_through(box: Box, capsys: pytest.CaptureFixture[str]) -> None:
    real = box.home / "dotfiles" / "settings.json"
    real.parent.mkdir()
    real.write_text(GOOD)
    box.settings.symlink_to(real)
    code, output = run(capsys, *command("apply", box))
    assert code == 0, output
    assert box.settings.is_symlink()
    assert json.loads(real.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == KEY
    assert_clean(output)


def test_a_dangling_symlink_creates_its_target(box: Box, capsys: pytest.CaptureFixture[str]) -> None:
    box.settings.symlink_to(box.home / "dotfiles-settings.json")
    code, output = run(capsys, *command("apply", box))
    assert code == 0, output
    assert box.settings.is_symlink() and (box.home / "dotfiles-settings.json").is_file()
    assert_clean(output)


def test_ca_bundle_fifo_does_not_block_models(box: Box, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = box.home / "ca.pem"
    os.mkfifo(fifo)
    code, output = run(capsys, "models", "--base-url", BASE_URL, "--api-key-env", "CORPUS_KEY",
                       "--ca-bundle", str(fifo))
    assert code == 2, output
    assert "FIFO" in output and "--ca-bundle" in output
    assert_clean(output)


@pytest.mark.parametrize("variable", ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"])
@pytest.mark.parametrize("target", ["fifo", "/dev/zero", "loop"])
def test_ca_variables_pointing_at_non_files_do_not_block(box: Box, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch, variable: str,
                                                         target: str) -> None:
    path = box.home / "ca.pem"
    if target == "fifo":
        os.mkfifo(path)
    elif target == "loop":
        path.symlink_to(path)
    else:
        path.symlink_to(target)
    monkeypatch.setenv(variable, str(path))
    code, output = run(capsys, "models", "--base-url", BASE_URL, "--api-key-env", "CORPUS_KEY")
    assert code == 2, output
    assert variable in output
    assert_clean(output)

"""Filesystem faults shared by the hostile corpus (tests/hostile) and the core tests of reading, saving and
backups (tests/core/test_settings_file_hostile.py, test_backups_integrity.py): special files, a small tmpfs that
fills up, a call that must not block, and the ways a backup gets damaged."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")


def in_thread(fn, timeout: float = 10.0):
    """fn() in a thread; fails (instead of hanging the suite) when it blocks, e.g. on opening a FIFO."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "blocked (a FIFO was opened without O_NONBLOCK)"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_socket(path: Path) -> Path:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


# --- a small file system that fills up (root only) ------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `where` (created if missing) with mount `options`, e.g. "size=64k,mode=0700"."""
    need_root()
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the file system with `disk/ballast`, then free `leave` bytes (tmpfs rounds them to pages)."""
    ballast = disk / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    if leave:
        os.truncate(ballast, max(0, ballast.stat().st_size - leave))
    return ballast


# --- damaged backups --------------------------------------------------------------------------------------------
# Each takes a backup's path (e.g. settings.json.original) and damages it or its checksum file beside it. The
# backups these tests make hold "theme": "dark", which `flip` changes.


def checksum_of(backup: Path) -> Path:
    """The checksum file written beside each backup."""
    return backup.with_name(backup.name + ".sha256")


def cut_short(backup: Path) -> None:
    data = backup.read_bytes()
    backup.write_bytes(data[: len(data) // 2])


def flip(backup: Path) -> None:
    backup.write_bytes(backup.read_bytes().replace(b"dark", b"DARK"))


def emptied(backup: Path) -> None:
    backup.write_bytes(b"")


def garbage(backup: Path) -> None:
    backup.write_bytes(b"\x00" * 10)


def without_checksum(damage: Callable[[Path], None]) -> Callable[[Path], None]:
    """`damage`, on a backup made before checksums were recorded (no checksum file)."""
    def damaged(backup: Path) -> None:
        damage(backup)
        checksum_of(backup).unlink()
    return damaged


def symlink_to_foreign_file(backup: Path) -> None:
    foreign = backup.parent.parent.parent / "foreign.json"
    foreign.write_text('{"stolen": true}')
    backup.unlink()
    backup.symlink_to(foreign)


def fifo_instead(backup: Path) -> None:
    backup.unlink()
    os.mkfifo(backup)


def folder_instead(backup: Path) -> None:
    backup.unlink()
    backup.mkdir()


def garbage_checksum(backup: Path) -> None:
    checksum_of(backup).write_text("not a checksum\n")


def checksum_links_to_dev_zero(backup: Path) -> None:
    checksum_of(backup).unlink()
    checksum_of(backup).symlink_to("/dev/zero")


# Every way a backup must end up listed as broken and never restored.
TAMPERS: dict[str, Callable[[Path], None]] = {
    "truncated": cut_short,
    "bit-flipped": flip,
    "empty-without-checksum": without_checksum(emptied),
    "truncated-without-checksum": without_checksum(cut_short),
    "symlink-to-foreign-file": symlink_to_foreign_file,
    "fifo": fifo_instead,
    "folder": folder_instead,
    "garbage-checksum": garbage_checksum,
    "checksum-links-to-dev-zero": checksum_links_to_dev_zero,
}

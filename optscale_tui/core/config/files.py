"""Files on disk, safely: read a regular file only (bounded, never blocking on a FIFO or device), hash one in
pieces, write one atomically (temp file, fsync, read back, rename), tidy the temp files a killed save left.

Saves are atomic, keep the file private (0600) and go through symlinks to their target: a folder, device, FIFO or
socket there, directly or through a link, or a link loop, is refused and never replaced."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from optscale_tui.core.config.errors import (
    SettingsError,
    SettingsWriteError,
    not_regular_error,
    os_error,
    too_large_error,
)

# Far above any real settings file (a few KB), and what keeps a symlink to an endless device from eating memory.
MAX_SETTINGS_BYTES = 64 * 1024 * 1024
# Our temp files: `.<name>.optscale-tui.<pid>.<random>.tmp`, next to the file (and in the backup folder). A save
# removes those left by a process that no longer runs (killed mid-save), or older than an hour.
_TEMP_TAG = "optscale-tui"
_STALE_TEMP_SECONDS = 3600

_OPEN_READ = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
              | getattr(os, "O_BINARY", 0))


def read_regular_file(path: Path, *, limit: int = MAX_SETTINGS_BYTES, follow_symlinks: bool = True,
                      error: type[SettingsError] = SettingsError) -> bytes | None:
    """The bytes of a regular file, or None when it (or a dangling symlink's target) does not exist.

    Never blocks and never reads without bound: a folder, FIFO, socket or device (directly or through a symlink)
    is refused before it is opened and checked again on the open descriptor (O_NONBLOCK, so a FIFO swapped in
    meanwhile cannot hang us), and more than `limit` bytes is "too large"."""
    path = Path(path)
    try:
        st = os.stat(path) if follow_symlinks else os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular_error(path, st.st_mode, via_link=follow_symlinks and os.path.islink(path))
        if st.st_size > limit:
            raise too_large_error(path, st.st_size, limit)
        flags = _OPEN_READ | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except SettingsError:
        raise
    except OSError as exc:
        raise os_error(path, exc, "read", cls=error) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular_error(path, st.st_mode)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, max(1 << 20, min(st.st_size + 1, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise too_large_error(path, None, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise os_error(path, exc, "read", cls=error) from None
    finally:
        os.close(fd)


def regular_file_digest(path: Path, *, follow_symlinks: bool = True) -> str | None:
    """SHA-256 (hex) of a regular file read in 1 MiB pieces (never held whole), None when missing. Same refusals
    as read_regular_file: no FIFO, device, folder or socket is ever opened for reading."""
    path = Path(path)
    try:
        st = os.stat(path) if follow_symlinks else os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular_error(path, st.st_mode, via_link=follow_symlinks and os.path.islink(path))
        fd = os.open(path, _OPEN_READ | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise os_error(path, exc, "read", cls=SettingsWriteError) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise not_regular_error(path, os.fstat(fd).st_mode)
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    except OSError as exc:
        raise os_error(path, exc, "read", cls=SettingsWriteError) from None
    finally:
        os.close(fd)


def is_read_only(path: Path) -> bool:
    """True when the settings file (through symlinks) exists with no write bit at all, like 0444: someone locked
    it, so a save asks first (TUI) or needs --force (CLI)."""
    if os.name == "nt":
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222


def fsync_dir(directory: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows; os.replace is durable enough there
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_dirs(directory: Path) -> None:
    """Create missing folders one by one, each private (0700); existing ones are left alone."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)


def _temp_prefix(name: str) -> str:
    return f".{name}.{_TEMP_TAG}.{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would terminate the process there; the age rule alone applies
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temps(directory: Path, name: str) -> None:
    """Delete temp files of ours for `name` that a save killed half-way left behind: their process is gone (or
    they are older than an hour, for a pid reused since). Other programs' files are never touched."""
    prefix = f".{name}.{_TEMP_TAG}."
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    now = datetime.now(UTC).timestamp()
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        pid_text = entry.name[len(prefix):].split(".", 1)[0]
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not pid_text.isdigit() or not stat.S_ISREG(st.st_mode):
            continue
        pid = int(pid_text)
        if now - st.st_mtime > _STALE_TEMP_SECONDS or (pid != os.getpid() and not _pid_alive(pid)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def write_file_atomically(final: Path, data: bytes, *, temp_name: str, mode: int = 0o600, exclusive: bool = False,
                           before_replace=None, digest: str | None = None) -> None:
    """Temp file next to `final`, fsync, read back and compare, then rename over `final` (or, `exclusive`, link it
    to a name that must not exist yet). A full disk or a crash leaves `final` as it was, never half written."""
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(temp_name), suffix=".tmp", dir=final.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if os.name != "nt":
            os.chmod(tmp, mode)
        if regular_file_digest(tmp, follow_symlinks=False) != (digest or sha256_hex(data)):
            raise OSError(errno.EIO, "the written copy does not read back the same", str(final))
        if before_replace is not None:
            before_replace()
        if exclusive:
            try:
                os.link(tmp, final)  # fails with FileExistsError when the name is taken: never overwrites
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links
                if os.path.lexists(final):
                    raise FileExistsError(errno.EEXIST, "exists", str(final)) from None
                os.replace(tmp, final)
            else:
                tmp.unlink()
        else:
            os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_target(path: Path) -> Path:
    """The file a save replaces: `path`, or the regular file its symlink points to (created where a dangling link
    points). A folder, device, FIFO or socket there, directly or through a link, or a link loop, is refused."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Path(os.path.realpath(path))
    except OSError as exc:
        raise os_error(path, exc, "used", cls=SettingsError) from None
    if not stat.S_ISREG(st.st_mode):
        raise not_regular_error(path, st.st_mode, via_link=os.path.islink(path))
    return Path(os.path.realpath(path))


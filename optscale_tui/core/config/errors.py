"""Why a settings file cannot be used or written: the SettingsError family, each with its cause id, and how an
OSError's errno becomes one (disk full, permission, read-only file system, not a regular file, ...).

An error never carries file content, so it cannot leak a key."""

from __future__ import annotations

import errno
import stat
from pathlib import Path

from optscale_tui.core.causes import Cause


class SettingsError(Exception):
    """A settings file we must not use or write. Never carries file content, so it cannot leak a key.

    `cause` says why (the JSON, or the file system); each has its own fix in core/causes.py."""

    cause: Cause = Cause.SETTINGS_INVALID

    def __init__(self, path: Path, reason: str, *, line: int | None = None, column: int | None = None,
                 cause: Cause | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line
        self.column = column
        if cause is not None:
            self.cause = cause
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"{self.path}{where}: {reason}")


class SettingsChangedOnDisk(SettingsError):
    """The file changed (or appeared, or vanished) after it was read: saving would overwrite someone's edit."""

    cause = Cause.SETTINGS_CHANGED


class SettingsWriteError(SettingsError):
    """The operating system refused the write; the file is unchanged."""

    cause = Cause.FILE_IO_ERROR


class SettingsReadOnly(SettingsError):
    """The file's mode makes it read-only (e.g. 0444): rewritten only when the caller confirms (force=True)."""

    cause = Cause.SETTINGS_READ_ONLY


_ERRNO_CAUSES: dict[int, Cause] = {
    errno.ENOSPC: Cause.DISK_FULL,
    getattr(errno, "EDQUOT", errno.ENOSPC): Cause.DISK_FULL,
    errno.EACCES: Cause.PERMISSION_DENIED,
    errno.EPERM: Cause.PERMISSION_DENIED,
    errno.EROFS: Cause.FILESYSTEM_READ_ONLY,
    errno.ELOOP: Cause.SETTINGS_NOT_A_FILE,
    errno.EISDIR: Cause.SETTINGS_NOT_A_FILE,
    errno.ENOTDIR: Cause.SETTINGS_NOT_A_FILE,
    errno.ENXIO: Cause.SETTINGS_NOT_A_FILE,  # opening a socket
    errno.EFBIG: Cause.SETTINGS_TOO_LARGE,
}
_ERRNO_WORDS: dict[int, str] = {
    errno.ELOOP: "is a loop of symbolic links (or a chain too long to follow)",
    errno.EISDIR: "is a folder, not a settings file",
    errno.ENOTDIR: "has a part that is a file where a folder should be",
    errno.ENXIO: "is a socket or a device without a reader, not a regular file",
}


def os_error(path: Path, exc: OSError, action: str, *, cls: type[SettingsError] = SettingsWriteError,
              tail: str = "") -> SettingsError:
    """An OSError as a SettingsError with the cause its errno deserves (disk full, permission, read-only, ...)."""
    cause = _ERRNO_CAUSES.get(exc.errno or 0, Cause.FILE_IO_ERROR)
    words = _ERRNO_WORDS.get(exc.errno or 0) or f"could not be {action} ({exc.strerror or exc})"
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return cls(path, f"{words}{where}{tail}", cause=cause)


def file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def not_regular_error(path: Path, mode: int, *, via_link: bool = False) -> SettingsError:
    what = f"is a symbolic link to {file_kind(mode)}, not a regular file" if via_link else (
        f"is {file_kind(mode)}, not a regular file")
    return SettingsError(path, f"{what}; optscale-tui neither reads nor replaces it", cause=Cause.SETTINGS_NOT_A_FILE)


def too_large_error(path: Path, size: int | None, limit: int) -> SettingsError:
    got = f"{size / 1024 / 1024:.1f} MiB" if size is not None else "more than that"
    return SettingsError(path, f"is too large ({got}; the limit is {limit // 1024 // 1024} MiB)",
                         cause=Cause.SETTINGS_TOO_LARGE)


"""Saving a plan and the backups that make every save undoable.

save_plan: the one save path (plans and restores): refuses when someone else changed the file since it was read,
and when the file is read-only unless forced; always leaves a backup first; atomic, private (0600), through
symlinks to their target. Anything refused or failed leaves the file as it was and no backup from that attempt.
BackupStore.restore writes a backup's bytes back verbatim, even over a file that no longer parses (that file is
backed up first, so nothing is lost); BackupStore.remove_file backs a file up, then removes it.
"""

from __future__ import annotations

import builtins
import contextlib
import glob
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.config.diff import masked_diff
from optscale_tui.core.config.errors import (
    SettingsChangedOnDisk,
    SettingsError,
    SettingsReadOnly,
    file_kind,
    os_error,
)
from optscale_tui.core.config.files import (
    fsync_dir,
    is_read_only,
    make_private_dirs,
    read_regular_file,
    regular_file_digest,
    remove_stale_temps,
    sha256_hex,
    write_file_atomically,
    write_target,
)
from optscale_tui.core.config.jsontext import BOM, bytes_parse_as_object, is_blank, parses_as_object
from optscale_tui.core.config.plan import SettingsPlan

BACKUP_DIR_NAME = "optscale-tui-backups"
ORIGINAL_ID = "original"
RESTORE_TAG = "restore"
_STAMP_FORMAT = "%Y%m%dT%H%M%S%f"
_STAMP_RE = re.compile(r"\d{8}T\d{12}")


@dataclass(frozen=True, slots=True)
class SaveResult:
    path: Path
    backup: Path | None  # the timestamped copy taken just before this save (None: there was no file)
    original: Path | None  # the copy of the file as it was before optscale-tui first wrote it, if any
    mode_tightened: bool
    notices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Backup:
    id: str  # the timestamp part of the name, or "original"
    path: Path
    created: datetime
    size: int
    is_original: bool
    made_by: str = "save"  # what the backup was taken before: "save" (a plan or fix-it) or "restore"
    broken: str = ""  # why it must never be restored ("" = intact); only filled in by list(check_integrity=True)
    absent: bool = False  # the original is "no file" (none before the first save): restoring it removes the file

    @property
    def is_broken(self) -> bool:
        return bool(self.broken)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)


class BackupStore:
    """Backups of one settings file in `<settings dir>/optscale-tui-backups/` (0700 folder, 0600 files).

    `settings.json.<UTC timestamp>.bak` before every save, pruned to the newest N; `settings.json.original`
    once, from the first save over an existing file, and never overwritten or pruned. Each is written like the
    settings file (temp file, fsync, read back, rename) with its SHA-256 beside it (`<backup>.sha256`); a backup
    whose checksum does not match, that does not parse, or that is not a regular file in this folder (a symlink
    put there) is listed as broken and never restored.
    """

    def __init__(self, settings_path: Path) -> None:
        self.settings_path = Path(settings_path)
        self.directory = self.settings_path.parent / BACKUP_DIR_NAME
        name = re.escape(self.settings_path.name)
        # `<name>.<stamp>.bak` before a save; `<name>.<stamp>.restore.bak` before a restore (the id is the stamp).
        self._pattern = re.compile(rf"{name}\.({_STAMP_RE.pattern})(?:\.({RESTORE_TAG}))?\.bak")

    @property
    def original_path(self) -> Path:
        return self.directory / f"{self.settings_path.name}.{ORIGINAL_ID}"

    @property
    def absent_marker(self) -> Path:
        """Recorded instead of an original when the first save created the file: the original is "no file"."""
        return self.directory / f"{self.settings_path.name}.{ORIGINAL_ID}-absent"

    def _original_absent(self) -> bool:
        try:
            return stat.S_ISREG(os.lstat(self.absent_marker).st_mode) and not os.path.lexists(self.original_path)
        except OSError:
            return False

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(path.name + ".sha256")

    def _directory_ok(self) -> bool:
        """The backup folder is a real folder (a symlink put in its place is not followed)."""
        try:
            return stat.S_ISDIR(os.lstat(self.directory).st_mode)
        except OSError:
            return False

    def _load(self, path: Path) -> tuple[bytes | None, str]:
        """A backup's bytes and "" when it is intact, else (None, why it is broken)."""
        try:
            content = read_regular_file(path, follow_symlinks=False)
        except SettingsError as exc:
            return None, exc.reason
        if content is None:
            return None, "it no longer exists"
        try:
            recorded = read_regular_file(self._sidecar(path), limit=1024, follow_symlinks=False)
        except SettingsError as exc:
            return None, f"its checksum file cannot be used ({exc.reason})"
        if recorded is not None:
            if recorded.decode("ascii", "replace").strip() != sha256_hex(content):
                return None, "its content does not match the checksum recorded when it was made (damaged or cut short)"
        elif not content.strip():
            # Made before checksums were recorded: an empty one is most likely cut short by a full disk.
            return None, "it is empty and has no checksum (probably cut short when it was written)"
        if not bytes_parse_as_object(content):
            return None, "it is not a valid settings file (a JSON object)"
        return content, ""

    def list(self, *, check_integrity: bool = True) -> builtins.list[Backup]:
        """Newest first; the original last. `check_integrity` reads each one to mark the broken ones."""
        if not self._directory_ok():
            return []
        found: list[Backup] = []
        for entry in os.scandir(self.directory):
            match = self._pattern.fullmatch(entry.name)
            if not match:
                continue
            st = entry.stat(follow_symlinks=False)
            created = datetime.strptime(match.group(1), _STAMP_FORMAT).replace(tzinfo=UTC)
            broken = self._load(Path(entry.path))[1] if check_integrity else ""
            found.append(Backup(match.group(1), Path(entry.path), created, st.st_size, False,
                                "restore" if match.group(2) else "save", broken))
        found.sort(key=lambda b: b.id, reverse=True)
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(self.original_path)
            broken = self._load(self.original_path)[1] if check_integrity else ""
            found.append(Backup(ORIGINAL_ID, self.original_path, datetime.fromtimestamp(st.st_mtime, UTC),
                                st.st_size, True, broken=broken))
        if self._original_absent():
            st = os.lstat(self.absent_marker)
            found.append(Backup(ORIGINAL_ID, self.absent_marker, datetime.fromtimestamp(st.st_mtime, UTC), 0, True,
                                absent=True))
        return found

    def path_for(self, backup_id: str) -> Path:
        if not self._directory_ok():
            raise FileNotFoundError(f"No backup with id {backup_id!r}: {self.directory} is not a folder.")
        if backup_id == ORIGINAL_ID:
            path = self.absent_marker if self._original_absent() else self.original_path
        elif _STAMP_RE.fullmatch(backup_id or ""):  # ids are validated: no path tricks through an id
            path = self.directory / f"{self.settings_path.name}.{backup_id}.bak"
            tagged = self.directory / f"{self.settings_path.name}.{backup_id}.{RESTORE_TAG}.bak"
            if not os.path.lexists(path) and os.path.lexists(tagged):
                path = tagged
        else:
            raise FileNotFoundError(f"No backup with id {backup_id!r} (ids look like 20261125T204915123456).")
        if not os.path.lexists(path):
            raise FileNotFoundError(f"No backup with id {backup_id!r} in {self.directory}.")
        return path

    def read(self, backup_id: str) -> str:
        """The backup's text for showing (it may be a broken one). Never follows a symlink out of the folder.
        An original that is "no file" reads as empty."""
        path = self.path_for(backup_id)
        if path == self.absent_marker:
            return ""
        content = read_regular_file(path, follow_symlinks=False)
        return (content or b"").decode("utf-8-sig", errors="replace")

    def diff(self, backup_id: str) -> str:
        """What restoring `backup_id` would change: unified diff of the current file (a/, "-" lines) against the
        backup (b/, "+" lines), secret values masked on both sides; "" when they are the same.

        Works for a missing current file and for texts that do not parse (a broken file backed up by a restore).
        """
        backup_text = self.read(backup_id)
        current = read_regular_file(self.settings_path)
        current_text = current.decode("utf-8-sig", errors="replace") if current is not None else ""
        name = self.settings_path.name
        return masked_diff(current_text, backup_text, f"a/{name} (now)", f"b/{name} (backup {backup_id})")

    def restore(self, backup_id: str, *, keep_backups: int = 20, now: datetime | None = None,
                force: bool = False) -> SaveResult:
        """Write a backup back. The current file is backed up first (by the save path), so a restore is undoable.
        A broken backup (see the class) raises SettingsError with cause backup_broken and writes nothing."""
        path = self.path_for(backup_id)
        if path == self.absent_marker:
            return self._restore_absence(keep_backups=keep_backups, now=now, force=force)
        content, broken = self._load(path)
        if content is None:
            raise SettingsError(path, f"backup {backup_id} is broken: {broken}; it was not restored",
                                cause=Cause.BACKUP_BROKEN)
        current = read_regular_file(self.settings_path)
        result = _write_settings(
            self.settings_path, content,
            expected_hash=sha256_hex(current) if current is not None else "",
            expected_exists=current is not None, keep_backups=keep_backups, now=now, made_by="restore", force=force,
        )
        return replace(result, notices=(*result.notices, f"Restored backup {backup_id}."))

    def _restore_absence(self, *, keep_backups: int, now: datetime | None, force: bool) -> SaveResult:
        """Give back "no file": the current file is backed up (as before any restore), then removed."""
        result = self.remove_file(keep_backups=keep_backups, now=now, force=force, made_by="restore")
        if result.backup is None:
            return replace(result, notices=("There was no settings file before the first save, and there is none now.",))
        return replace(result, notices=(*result.notices, "Restored the original: there was no settings file before "
                                        "optscale-tui's first save, so it was removed (Claude Code runs with its "
                                        "defaults again)."))

    def remove_file(self, *, expected_hash: str | None = None, keep_backups: int = 20, now: datetime | None = None,
                    force: bool = False, made_by: str = "save") -> SaveResult:
        """Back the file up, then remove it (restoring the backup brings it back); refused if not as read (hash)."""
        current = read_regular_file(self.settings_path)
        if current is None:
            return SaveResult(self.settings_path, None, None, False, ())
        target = write_target(self.settings_path)
        if is_read_only(target) and not force:
            raise SettingsReadOnly(self.settings_path, "is read-only: it was not removed")
        backup = self._add(current, _utc(now), made_by)
        try:
            if regular_file_digest(target) != (expected_hash or sha256_hex(current)):
                raise SettingsChangedOnDisk(self.settings_path, "the file was changed by another program after it "
                                                                "was read; nothing was removed.")
            target.unlink()
        except SettingsError:
            self._discard([backup])
            raise
        except OSError as exc:
            self._discard([backup])
            raise os_error(self.settings_path, exc, "removed", tail="; the file was not changed") from None
        with contextlib.suppress(OSError):
            fsync_dir(target.parent)
            self._prune(keep_backups)
        return SaveResult(self.settings_path, backup, None, False, (f"Backup: {backup}",))

    # -- used by the save path

    def _ensure_dir(self) -> None:
        make_private_dirs(self.directory)
        st = os.lstat(self.directory)
        if not stat.S_ISDIR(st.st_mode):
            raise SettingsError(self.directory, f"the backup folder is {file_kind(st.st_mode)} here (a symbolic "
                                                "link is not followed); nothing was written",
                                cause=Cause.SETTINGS_NOT_A_FILE)
        if os.name != "nt" and stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(self.directory, 0o700)
        remove_stale_temps(self.directory, self.settings_path.name)

    def _write(self, final: Path, content: bytes) -> None:
        """Backup and its checksum, each atomically; raises FileExistsError when `final` is taken."""
        digest = sha256_hex(content)
        write_file_atomically(final, content, temp_name=self.settings_path.name, exclusive=True, digest=digest)
        try:
            write_file_atomically(self._sidecar(final), f"{digest}\n".encode(),
                                   temp_name=self.settings_path.name)
        except BaseException:
            self._discard([final])
            raise

    def _add(self, content: bytes, now: datetime, made_by: str = "save") -> Path:
        self._ensure_dir()
        stamp = _utc(now)
        tag = f".{RESTORE_TAG}" if made_by == "restore" else ""
        while True:  # two saves within one microsecond (or a fixed `now` in tests) must not collide
            if any(self.directory.glob(f"{glob.escape(self.settings_path.name)}.{stamp.strftime(_STAMP_FORMAT)}.*")):
                stamp += timedelta(microseconds=1)  # ids stay unique across both kinds of name
                continue
            path = self.directory / f"{self.settings_path.name}.{stamp.strftime(_STAMP_FORMAT)}{tag}.bak"
            try:
                self._write(path, content)
                return path
            except FileExistsError:
                stamp += timedelta(microseconds=1)

    def _keep_original(self, content: bytes) -> bool:
        # Kept once; and never when the first save created the file (that content is our own first write).
        if os.path.lexists(self.original_path) or os.path.lexists(self.absent_marker):
            return False
        self._ensure_dir()
        try:
            self._write(self.original_path, content)
        except FileExistsError:
            return False
        return True

    def _discard(self, paths: Iterable[Path]) -> None:
        """Remove backups this save made after all (it did not complete), with their checksums."""
        for path in paths:
            for each in (path, self._sidecar(path)):
                with contextlib.suppress(FileNotFoundError):
                    each.unlink()

    def _prune(self, keep: int) -> builtins.list[Path]:
        stale = [b.path for b in self.list(check_integrity=False) if not b.is_original][keep:]
        self._discard(stale)
        return stale


def save_plan(plan: SettingsPlan, *, keep_backups: int = 20, now: datetime | None = None,
              force: bool = False) -> SaveResult:
    """Write plan.new_text atomically, after a backup. Refuses if the file changed since it was loaded, and
    (unless `force`) if the file is read-only (SettingsReadOnly)."""
    doc = plan.document
    if not plan.has_changes:
        original = BackupStore(doc.path).original_path
        return SaveResult(doc.path, None, original if original.is_file() else None, False,
                          ("Nothing to save: the file already has these values.",))
    if not parses_as_object(plan.new_text) or is_blank(plan.new_text):
        raise SettingsError(doc.path, "internal error: refusing to write settings that are not a JSON object")
    data = (BOM if doc.bom else b"") + plan.new_text.encode("utf-8")
    return _write_settings(doc.path, data, expected_hash=doc.content_hash, expected_exists=doc.exists,
                           keep_backups=keep_backups, now=now, force=force)


def _write_settings(
    path: Path, data: bytes, *, expected_hash: str, expected_exists: bool, keep_backups: int, now: datetime | None,
    made_by: str = "save", force: bool = False,
) -> SaveResult:
    """The one save path (plans and restores): hash check, backup, atomic replace, private mode, symlinks kept.
    Anything refused or failed leaves the file as it was and no backup from this attempt behind."""
    if keep_backups < 1:
        raise ValueError("keep_backups must be at least 1")
    path = Path(path)
    target = write_target(path)  # write the file a symlink points to; the link itself stays
    attempt = _SaveAttempt(path, target, BackupStore(path), expected_hash, expected_exists)
    if target != path.absolute() and path.is_symlink():
        attempt.notices.append(f"{path} is a symbolic link; wrote its target {target} and kept the link.")
    try:
        had_file = attempt.replace(data, now=now, made_by=made_by, force=force)
    except SettingsError:
        attempt.store._discard(attempt.made)
        raise
    except OSError as exc:
        attempt.store._discard(attempt.made)
        raise os_error(path, exc, "saved", tail="; the file was not changed") from None
    with contextlib.suppress(OSError):  # the file is saved; tidying up must not report it as failed
        attempt.tidy(had_file=had_file, keep_backups=keep_backups, made_by=made_by)
    return SaveResult(path, attempt.backup, attempt.original, attempt.tightened, tuple(attempt.notices))


@dataclass
class _SaveAttempt:
    """One save in progress: the backups it made so far (removed again unless the new content lands), the mode
    the new file gets, and what it has to say."""

    path: Path
    target: Path  # `path`, or the regular file its symlink points to
    store: BackupStore
    expected_hash: str
    expected_exists: bool
    notices: list[str] = field(default_factory=list)
    made: list[Path] = field(default_factory=list)
    backup: Path | None = None
    original: Path | None = None
    tightened: bool = False
    mode: int = 0o600

    def unchanged(self, *, keep: bool = True) -> bytes | None:
        """The file's bytes if it is as it was read (`keep=False`: only check, reading in pieces)."""
        if keep:
            current = read_regular_file(self.target)
            digest = sha256_hex(current) if current is not None else None
        else:
            current, digest = None, regular_file_digest(self.target)
        if digest is None and self.expected_exists:
            raise SettingsChangedOnDisk(self.path, "the file was deleted after it was read; nothing was written. "
                                                   "Reload and review the changes again.")
        if digest is not None and not self.expected_exists:
            raise SettingsChangedOnDisk(self.path, "a file appeared here after the settings were read; nothing was "
                                                   "written. Reload and review the changes again.")
        if digest is not None and digest != self.expected_hash:
            raise SettingsChangedOnDisk(self.path, "the file was changed by another program after it was read; "
                                                   "nothing was written. Reload and review the changes again.")
        return current

    def replace(self, data: bytes, *, now: datetime | None, made_by: str, force: bool) -> bool:
        """Back the file up as it is, then put `data` in its place; True when there was a file."""
        current = self.unchanged()
        if current is not None:
            self.back_up(current, now=now, made_by=made_by, force=force)
        else:
            self.notices.append("The file did not exist, so there was nothing to back up; it is created private "
                                "(0600).")
            if self.store.original_path.is_file():
                self.original = self.store.original_path
        make_private_dirs(self.target.parent)
        remove_stale_temps(self.target.parent, self.target.name)
        # The check again right before the replace narrows the window for someone else's edit.
        write_file_atomically(self.target, data, temp_name=self.target.name, mode=self.mode,
                               before_replace=lambda: self.unchanged(keep=False))
        self.made.clear()  # the new content is in place: its backups stay
        return current is not None  # (`current` goes: the backups hold it, a 50 MB file need not stay in memory)

    def back_up(self, current: bytes, *, now: datetime | None, made_by: str, force: bool) -> None:
        old_mode = stat.S_IMODE(os.stat(self.target).st_mode)
        if is_read_only(self.target) and not force:
            raise SettingsReadOnly(self.path, f"is read-only (mode {old_mode:04o}): it was not rewritten")
        store = self.store
        if store._keep_original(current):
            self.made.append(store.original_path)
            self.notices.append(f"Kept the file as it was before the first change: {store.original_path}")
        self.original = store.original_path if os.path.lexists(store.original_path) else None
        self.backup = store._add(current, _utc(now), made_by)
        self.made.append(self.backup)
        self.notices.append(f"Backup: {self.backup}")
        if os.name != "nt" and old_mode & 0o077:
            self.tightened = True
            self.notices.append(f"The file was readable by others ({old_mode:04o}); it holds an API key, "
                                "so it is now private (0600).")
        else:
            self.mode = old_mode | 0o600

    def tidy(self, *, had_file: bool, keep_backups: int, made_by: str) -> None:
        fsync_dir(self.target.parent)
        if had_file:
            self.store._prune(keep_backups)
        elif made_by == "save" and self.original is None and not os.path.lexists(self.store.absent_marker):
            # This save created the file: its original is "no file" (restoring the original removes it again).
            self.store._ensure_dir()
            write_file_atomically(self.store.absent_marker, b"", temp_name=self.path.name, exclusive=True)

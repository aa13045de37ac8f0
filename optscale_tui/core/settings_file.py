"""Claude Code's settings.json: load strictly, plan surgical edits, show a masked diff, save safely.

Why it is built this way:
- Claude Code silently ignores a settings file that does not parse, so we refuse to touch one (and say where it
  breaks) rather than "repair" it.
- Users keep a lot in this file (hooks, permissions, plugins). Edits are made on the text itself: only the members
  we own change; every other byte - order, indentation, escapes, final newline, BOM - stays as it was, so the diff
  shows exactly our lines. New members go right after our existing keys, else first in the object (after
  `$schema` at the top level), so no existing line even gains a comma.
- Saves are atomic, keep the file private (0600), go through symlinks to their target, refuse when someone else
  changed the file since it was read, and always leave a backup first.

Behaviour worth knowing:
- Duplicate keys are valid JSON; like Claude Code (JavaScript's JSON.parse) we let the last one win, report it,
  and when we edit a duplicated key of ours we drop the earlier, ignored copies.
- plan_remove deletes the `env` block only when it held nothing but our keys (so apply → remove gives back the
  original bytes); an `env` that was already empty is left alone. A top-level `model` is removed only when it is a
  gateway model id (`provider/model`), which means nothing without the gateway.
- BackupStore.restore writes the backup's bytes back verbatim, even over a file that no longer parses (the
  broken file is backed up first, so nothing is lost).
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import errno
import gc
import glob
import hashlib
import json
import os
import re
import stat
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json.decoder import scanstring
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import (
    TIERS,
    ConnectionValues,
    GatewayUrl,
    InputError,
    TierMapping,
    mask_secret,
    parse_anthropic_base_url,
    parse_model_name,
)
from optscale_tui.core.secrets import SECRET_NAME_PARTS, is_secret_name

OWNED_ENV_KEYS: tuple[str, ...] = (
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME",
    "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME",
    "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME",
    "CLAUDE_CODE_SUBAGENT_MODEL",
    "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS",
)
BACKUP_DIR_NAME = "optscale-tui-backups"
ORIGINAL_ID = "original"

_BOM = b"\xef\xbb\xbf"
_WS_RE = re.compile(r"[ \t\n\r]*")
_LINE_INDENT_RE = re.compile(r"[ \t]*")
_STAMP_FORMAT = "%Y%m%dT%H%M%S%f"
_STAMP_RE = re.compile(r"\d{8}T\d{12}")
RESTORE_TAG = "restore"
_DECODER = json.JSONDecoder()


def _drop_pairs(pairs: list) -> None:
    return None


def _reject_constant_early(name: str) -> object:
    return _reject_constant(name)  # defined below, with the errors


# Finds where a JSON value ends (and that it is valid) without keeping what it holds: every object is dropped as
# soon as it is read, so scanning a 50 MB file does not build its hundreds of MB of dicts again.
_SKIPPER = json.JSONDecoder(object_pairs_hook=_drop_pairs, parse_constant=_reject_constant_early)
_DUPLICATE_MARK = "; Claude Code uses the last one, and so do we."
_API_KEY_REASON = (
    "Claude Code would send both x-api-key and Bearer headers (ANTHROPIC_API_KEY next to ANTHROPIC_AUTH_TOKEN)"
)


# --------------------------------------------------------------------------------------------------- errors


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


# Far above any real settings file (a few KB), and what keeps a symlink to an endless device from eating memory.
MAX_SETTINGS_BYTES = 64 * 1024 * 1024
# Our temp files: `.<name>.optscale-tui.<pid>.<random>.tmp`, next to the file (and in the backup folder). A save
# removes those left by a process that no longer runs (killed mid-save), or older than an hour.
_TEMP_TAG = "optscale-tui"
_STALE_TEMP_SECONDS = 3600

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


def _os_error(path: Path, exc: OSError, action: str, *, cls: type[SettingsError] = SettingsWriteError,
              tail: str = "") -> SettingsError:
    """An OSError as a SettingsError with the cause its errno deserves (disk full, permission, read-only, ...)."""
    cause = _ERRNO_CAUSES.get(exc.errno or 0, Cause.FILE_IO_ERROR)
    words = _ERRNO_WORDS.get(exc.errno or 0) or f"could not be {action} ({exc.strerror or exc})"
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return cls(path, f"{words}{where}{tail}", cause=cause)


def _file_kind(mode: int) -> str:
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


def _not_regular(path: Path, mode: int, *, via_link: bool = False) -> SettingsError:
    what = f"is a symbolic link to {_file_kind(mode)}, not a regular file" if via_link else (
        f"is {_file_kind(mode)}, not a regular file")
    return SettingsError(path, f"{what}; optscale-tui neither reads nor replaces it", cause=Cause.SETTINGS_NOT_A_FILE)


def _too_large(path: Path, size: int | None, limit: int) -> SettingsError:
    got = f"{size / 1024 / 1024:.1f} MiB" if size is not None else "more than that"
    return SettingsError(path, f"is too large ({got}; the limit is {limit // 1024 // 1024} MiB)",
                         cause=Cause.SETTINGS_TOO_LARGE)


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
            raise _not_regular(path, st.st_mode, via_link=follow_symlinks and os.path.islink(path))
        if st.st_size > limit:
            raise _too_large(path, st.st_size, limit)
        flags = _OPEN_READ | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except SettingsError:
        raise
    except OSError as exc:
        raise _os_error(path, exc, "read", cls=error) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, max(1 << 20, min(st.st_size + 1, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _too_large(path, None, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise _os_error(path, exc, "read", cls=error) from None
    finally:
        os.close(fd)


def regular_file_digest(path: Path, *, follow_symlinks: bool = True) -> str | None:
    """SHA-256 (hex) of a regular file read in 1 MiB pieces (never held whole), None when missing. Same refusals
    as read_regular_file: no FIFO, device, folder or socket is ever opened for reading."""
    path = Path(path)
    try:
        st = os.stat(path) if follow_symlinks else os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode, via_link=follow_symlinks and os.path.islink(path))
        fd = os.open(path, _OPEN_READ | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _os_error(path, exc, "read", cls=SettingsWriteError) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _not_regular(path, os.fstat(fd).st_mode)
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    except OSError as exc:
        raise _os_error(path, exc, "read", cls=SettingsWriteError) from None
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


class _ConstantError(ValueError):
    pass


def _reject_constant(name: str) -> object:
    # Python's json accepts NaN/Infinity; JSON (and Claude Code) do not.
    raise _ConstantError(name)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _syntax_error(path: Path, text: str, exc: json.JSONDecodeError) -> SettingsError:
    """Turn json's message into a plain reason, pointing at the character a person has to fix."""
    pos, msg = exc.pos, exc.msg
    at_end = _WS_RE.match(text, pos).end() >= len(text)
    char = text[pos] if pos < len(text) else ""
    # Python 3.13+ reports a trailing comma itself (at the comma); older versions complain at the bracket after it.
    comma = pos if char == "," else len(text[:pos].rstrip(" \t\r\n")) - 1
    if text.startswith(("//", "/*"), pos):
        reason = "comments are not allowed in JSON (remove the // or /* */ text)"
    elif (msg.startswith("Illegal trailing comma") or (char and char in "}]")) and comma >= 0 and text[comma] == ",":
        pos = comma
        reason = "trailing comma: remove the comma before the closing bracket"
    elif char == "'":
        reason = "names and strings must use double quotes (\"), not single quotes"
    elif at_end:
        reason = "the file ends before the JSON is complete (a closing } or ] or \" is missing)"
    elif msg.startswith("Expecting property name"):
        reason = "names must be in double quotes (\"name\": value)"
    elif msg.startswith("Expecting value"):
        if text.startswith(("True", "False", "None"), pos):
            reason = "write true, false and null in lower case"
        else:
            reason = "a value is missing or is not valid JSON here"
    elif msg.startswith("Expecting ',' delimiter"):
        reason = "a comma is missing between two entries (or a bracket is not closed)"
    elif msg.startswith("Expecting ':' delimiter"):
        reason = "a colon (:) is missing after a name"
    elif msg.startswith("Unterminated string"):
        reason = "a string is not closed (a \" is missing)"
    elif msg.startswith("Invalid control character"):
        reason = "a string contains a raw tab or line break; write it as \\t or \\n"
    elif msg.startswith("Invalid \\"):
        reason = "a backslash in a string starts an invalid escape; write \\\\ for a backslash (e.g. in Windows paths)"
    elif msg.startswith("Extra data"):
        reason = "there is more text after the end of the JSON object"
    else:
        reason = msg[:1].lower() + msg[1:]
    line, column = _line_col(text, pos)
    return SettingsError(path, f"not valid JSON: {reason}", line=line, column=column)


def _constant_error(path: Path, text: str, name: str) -> SettingsError:
    # Find the first NaN/Infinity outside a string (the text is otherwise valid JSON).
    pattern = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')
    for match in pattern.finditer(text):
        if match.group(1):
            line, column = _line_col(text, match.start(1))
            break
    else:
        line = column = None
    return SettingsError(path, f"not valid JSON: {name} is not a JSON number; quote it or use a number",
                         line=line, column=column)


@contextlib.contextmanager
def _collector_paused():
    """Decoding JSON makes no reference cycles, but a 50 MB file makes millions of objects, and the collector
    would walk them again and again: json.loads of one took 2.1 s with it and 0.7 s without."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _too_deep(path: Path) -> SettingsError:
    # Valid JSON, but nested deeper than Python's parser goes (about 1,000 levels): we cannot edit it safely.
    return SettingsError(path, "is nested too deeply (about 1,000 levels or more) to be edited safely",
                         cause=Cause.SETTINGS_TOO_LARGE)


# A \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one, or a \uDC00-\uDFFF escape on its own: half of
# a UTF-16 pair, which no UTF-8 text can hold (printing or saving it would fail). The leading backslashes are
# captured to tell an escape (odd count) from an escaped backslash followed by "u" (even count).
_SURROGATE_RE = re.compile(
    r"(\\+)u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(\\+)u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _check_surrogates(path: Path, text: str) -> None:
    if "\\u" not in text:
        return
    for match in _SURROGATE_RE.finditer(text):
        slashes = match.group(1) or match.group(2)
        if len(slashes) % 2:
            line, column = _line_col(text, match.start() + len(slashes) - 1)
            raise SettingsError(path, "not valid JSON: a string holds half of a UTF-16 surrogate pair (\\uD800-"
                                      "\\uDFFF on its own), which is not a character; remove or complete it",
                                line=line, column=column)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {dict: "an object", list: "an array", str: "a string", type(None): "null"}.get(type(value), "a value")


# ------------------------------------------------------------------------------------------------- scanner


@dataclass(frozen=True, slots=True)
class _Member:
    key: str
    start: int  # index of the key's opening quote
    key_end: int  # index just after the key's closing quote
    value_start: int
    value_end: int
    text: str = field(repr=False)  # the scanned text (shared, not copied)

    @property
    def value(self) -> object:
        """Decoded on demand: a scan keeps only spans, so a 50 MB file's big values are not held twice."""
        return _DECODER.raw_decode(self.text, self.value_start)[0]


@dataclass(frozen=True, slots=True)
class _Object:
    open: int  # index of "{"
    close: int  # index of "}"
    members: tuple[_Member, ...]

    def last(self, key: str) -> _Member | None:
        found = [m for m in self.members if m.key == key]
        return found[-1] if found else None

    def lead(self, text: str, index: int) -> str:
        """The whitespace that precedes member `index` (after the previous comma, or after "{")."""
        before = text[self.members[index - 1].value_end : self.members[index].start] if index else (
            text[self.open + 1 : self.members[0].start]
        )
        return before.split(",", 1)[1] if index else before


def _ws(text: str, i: int) -> int:
    return _WS_RE.match(text, i).end()


def _scan_object(text: str, open_idx: int) -> _Object:
    """Members of the object starting at `open_idx`, with their spans. Only for text json.loads accepted.

    Values are read with the C decoder (raw_decode), so a 5 MB file costs milliseconds, not a Python loop per byte.
    """
    if text[open_idx] != "{":
        raise AssertionError("not an object")
    i = _ws(text, open_idx + 1)
    if text[i] == "}":
        return _Object(open_idx, i, ())
    members: list[_Member] = []
    while True:
        key, key_end = scanstring(text, i + 1)
        colon = _ws(text, key_end)
        value_start = _ws(text, colon + 1)
        value_end = _SKIPPER.raw_decode(text, value_start)[1]
        members.append(_Member(key, i, key_end, value_start, value_end, text))
        k = _ws(text, value_end)
        if text[k] == "}":
            return _Object(open_idx, k, tuple(members))
        if text[k] != ",":
            raise AssertionError("malformed object")
        i = _ws(text, k + 1)


def _scan_top(text: str) -> _Object:
    return _scan_object(text, _ws(text, 0))


def _env_objects(text: str, top: _Object) -> list[_Object]:
    return [_scan_object(text, m.value_start) for m in top.members if m.key == "env" and text[m.value_start] == "{"]


# ------------------------------------------------------------------------------------------------- document


def _is_secret_name(name: str) -> bool:
    return is_secret_name(name)  # the one rule (core/secrets.py), shared with the doctor and every screen


def _display(key: str, value: object) -> object:
    """Value as it may appear in a PlannedChange: secrets masked, so repr/logs never hold a key."""
    if value is None or not _is_secret_name(key.removeprefix("env.")):
        return value
    return mask_secret(str(value))


@dataclass(frozen=True)
class SettingsDocument:
    """A settings file as read. `text` excludes the BOM (kept in `bom`); `content_hash` is of the raw bytes."""

    path: Path
    exists: bool
    text: str = field(repr=False)
    data: dict = field(repr=False)
    content_hash: str
    bom: bool = False
    indent: str | None = None  # indent unit of the top-level members; None when compact or unknown
    final_newline: bool = False
    was_empty: bool = False
    notices: tuple[str, ...] = ()

    @property
    def env(self) -> dict[str, object]:
        env = self.data.get("env")
        return dict(env) if isinstance(env, dict) else {}


def load_settings(path: Path) -> SettingsDocument:
    """Read a settings file strictly. A missing file is fine (exists=False); anything that is not a JSON object
    with an object `env` raises SettingsError with the line and column to fix."""
    path = Path(path)
    raw = read_regular_file(path)
    if raw is None:
        return SettingsDocument(path, False, "", {}, "", notices=(f"{path} does not exist yet; saving creates it.",))

    content_hash = hashlib.sha256(raw).hexdigest()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SettingsError(path, "is saved as UTF-16; Claude Code needs UTF-8", line=1, column=1)
    bom = raw.startswith(_BOM)
    body = raw[len(_BOM) :] if bom else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        column = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SettingsError(path, "is not UTF-8 text (saved in another encoding?)", line=line, column=column) from None
    del raw, body  # the decoded text is all we keep: a 50 MB file is not held twice

    if _blank(text):
        notice = ("The file is empty, so Claude Code ignores it; it is treated as {} and saving writes a complete "
                  "file (nothing is lost).")
        return SettingsDocument(path, True, text, {}, content_hash, bom, None, text.endswith("\n"), True, (notice,))

    try:
        with _collector_paused():
            data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _syntax_error(path, text, exc) from None
    except _ConstantError as exc:
        raise _constant_error(path, text, str(exc)) from None
    except RecursionError:
        raise _too_deep(path) from None
    _check_surrogates(path, text)
    start = _ws(text, 0)
    if not isinstance(data, dict):
        line, column = _line_col(text, start)
        raise SettingsError(path, f"the top level must be a JSON object ({{ … }}), not {_kind(data)}",
                            line=line, column=column)

    try:
        top = _scan_top(text)
    except RecursionError:
        raise _too_deep(path) from None
    notices: list[str] = []
    for key, count in Counter(m.key for m in top.members).items():
        if count > 1:
            notices.append(f'The key "{key}" appears {count} times{_DUPLICATE_MARK}')
    env_member = top.last("env")
    if env_member is not None:
        env_value = env_member.value
        if not isinstance(env_value, dict):
            line, column = _line_col(text, env_member.value_start)
            raise SettingsError(path, f'"env" must be an object of NAME: "value" pairs, not {_kind(env_value)}',
                                line=line, column=column)
        env_obj = _scan_object(text, env_member.value_start)  # env's values were scanned above: no deeper
        for key, count in Counter(m.key for m in env_obj.members).items():
            if count > 1:
                notices.append(f'env.{key} appears {count} times{_DUPLICATE_MARK}')
        odd = [f"{k} ({_kind(v)})" for k, v in env_value.items() if not isinstance(v, str)]
        if odd:
            notices.append("Claude Code's schema wants env values as strings; kept as they are: " + ", ".join(odd) + ".")

    indent: str | None = None
    if top.members:
        lead = top.lead(text, 0)
        if "\n" in lead:
            indent = lead.rsplit("\n", 1)[1]
    return SettingsDocument(path, True, text, data, content_hash, bom, indent, text.endswith("\n"), False,
                            tuple(notices))


# ----------------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """One key changed by a plan. key is "env.NAME" or a top-level key; new None = removal.

    Values of secret-named keys are held masked: a change list is for showing, new_text is what gets written.
    """

    key: str
    old: object | None
    new: object | None
    reason: str


@dataclass(frozen=True)
class SettingsPlan:
    document: SettingsDocument
    new_text: str = field(repr=False)
    changes: tuple[PlannedChange, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return self.new_text != self.document.text

    @property
    def new_data(self) -> dict:
        """The settings as they will be once saved (the plan's text always parses: `_check` makes sure)."""
        return json.loads(self.new_text) if self.new_text.strip() else {}

    def diff(self) -> str:
        """Unified diff of the file now vs after saving, secret values masked on both sides; "" when equal."""
        if not self.has_changes:
            return ""
        name = self.document.path.name
        return _masked_diff(self.document.text, self.new_text, f"a/{name}", f"b/{name}", both_parse=True)


def _masked_diff(old_text: str, new_text: str, fromfile: str, tofile: str, *, both_parse: bool = False) -> str:
    """Unified diff of two settings texts with secret values masked on both sides; "" when equal.

    Either text may be invalid JSON (a backup of a broken file): secrets there are found line by line instead.
    Only the lines around the changed region are split and diffed (a save changes a few lines; a 50 MB file
    split whole cost ~300 MB and 10 s). `both_parse` skips the check that both texts are JSON (a plan's are).
    """
    if old_text == new_text:
        return ""
    old_parses = both_parse or _parses(old_text)
    new_parses = both_parse or _parses(new_text)
    old_secrets = _secret_values(old_text) if old_parses else _secret_values_by_line(old_text)
    new_secrets = _secret_values(new_text) if new_parses else _secret_values_by_line(new_text)
    changed = {k for k, v in new_secrets.items()
               if k in old_secrets and old_secrets[k] != v and _mask(old_secrets[k]) == _mask(v)}
    raw = [str(v) for v in (*old_secrets.values(), *new_secrets.values()) if len(str(v)) >= 8]
    if len(old_text) + len(new_text) > _WINDOW_FROM:
        start, old_stop, new_stop = _diff_window(old_text, new_text)
    else:  # small files: the whole texts (difflib may align repeated lines differently in a window; both valid)
        start, old_stop, new_stop = 0, len(old_text), len(new_text)
    old = _masked_slice(old_text, start, old_stop, set(), raw, old_parses)
    new = _masked_slice(new_text, start, new_stop, changed, raw, new_parses)
    offset = old_text.count("\n", 0, start)  # the same number of lines precede the window in both texts
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=fromfile, tofile=tofile)
    out = []
    for line in lines:
        if offset and line.startswith("@@ "):
            line = _HUNK_RE.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + offset}", line)
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


_DIFF_CONTEXT = 3
_WINDOW_FROM = 512 * 1024  # characters (both texts): below that, splitting whole texts costs little
_HUNK_RE = re.compile(r"([-+])(\d+)")


def _common_prefix(a: str, b: str, chunk: int = 1 << 16) -> int:
    """Length of the common prefix, compared a chunk at a time in C."""
    n = min(len(a), len(b))
    i = 0
    while i < n:
        j = min(i + chunk, n)
        if a[i:j] != b[i:j]:
            while a[i] == b[i]:
                i += 1
            return i
        i = j
    return n


def _common_suffix(a: str, b: str, limit: int, chunk: int = 1 << 16) -> int:
    """Length of the common suffix, at most `limit` (so it never overlaps the common prefix)."""
    done = 0
    while done < limit:
        step = min(chunk, limit - done)
        if a[len(a) - done - step : len(a) - done] != b[len(b) - done - step : len(b) - done]:
            while done < limit and a[len(a) - done - 1] == b[len(b) - done - 1]:
                done += 1
            return done
        done += step
    return limit


def _diff_window(old: str, new: str) -> tuple[int, int, int]:
    """(start, old stop, new stop): whole lines around everything that differs, with context to spare on both
    sides, so difflib sees the same hunks as it would in the whole texts. `start` is the same in both."""
    prefix = _common_prefix(old, new)
    suffix = _common_suffix(old, new, min(len(old), len(new)) - prefix)
    start = old.rfind("\n", 0, prefix) + 1
    for _ in range(_DIFF_CONTEXT + 1):
        if start == 0:
            break
        start = old.rfind("\n", 0, start - 1) + 1
    old_stop = stop = len(old) - suffix
    for _ in range(_DIFF_CONTEXT + 2):
        newline = old.find("\n", stop)
        if newline < 0:
            stop = len(old)
            break
        stop = newline + 1
    extra = stop - old_stop  # inside the common suffix: the same text follows in `new`
    return start, stop, len(new) - suffix + extra


# `"NAME": "value"` with a secret-looking NAME, for text that does not parse (the scanner needs valid JSON).
_SECRET_MEMBER_RE = re.compile(
    r'"([^"\\]*(?:' + "|".join(SECRET_NAME_PARTS) + r')[^"\\]*)"(\s*:\s*)"((?:[^"\\]|\\.)*)"', re.IGNORECASE
)


def _blank(text: str) -> bool:
    return _WS_RE.match(text).end() == len(text)  # no stripped copy of a 50 MB text


def _parses(text: str) -> bool:
    """The text is one JSON object (or blank), checked without building it."""
    start = _ws(text, 0)
    if start == len(text):
        return True
    if text[start] != "{":
        return False
    try:
        end = _SKIPPER.raw_decode(text, start)[1]
    except (json.JSONDecodeError, _ConstantError, RecursionError):
        return False
    return _ws(text, end) == len(text)


def _secret_values_by_line(text: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for match in _SECRET_MEMBER_RE.finditer(text):
        try:
            found[match.group(1)] = json.loads(f'"{match.group(3)}"')
        except json.JSONDecodeError:
            found[match.group(1)] = match.group(3)
    return found


def _masked_slice(text: str, lo: int, hi: int, changed: set[str], raw_secrets: list[str], parses: bool) -> str:
    """text[lo:hi] with secret values masked. lo and hi are line boundaries, and a JSON string never spans a
    line, so each secret lies wholly inside or outside the slice."""
    if parses:
        piece = text[lo:hi]
        spans = [(a - lo, b - lo, r) for a, b, r in _secret_spans(text, changed) if lo <= a and b <= hi]
        for start, end, repl in sorted(spans, reverse=True):
            piece = piece[:start] + repl + piece[end:]
    else:
        def repl(match: re.Match[str]) -> str:
            shown = mask_secret(match.group(3)) + (" (changed)" if match.group(1) in changed else "")
            return f'"{match.group(1)}"{match.group(2)}{json.dumps(shown, ensure_ascii=False)}'

        piece = _SECRET_MEMBER_RE.sub(repl, text[lo:hi])
    # Safety net: a key pasted somewhere else (another variable, a duplicate block) is masked too.
    for secret in sorted(set(raw_secrets), key=len, reverse=True):
        if secret in piece:
            piece = piece.replace(secret, mask_secret(secret))
    return piece


def _mask(value: object) -> str:
    return mask_secret(str(value)) if value not in (None, "") else str(value or "")


def _secret_values(text: str) -> dict[str, object]:
    if _blank(text):
        return {}
    found: dict[str, object] = {}
    for env in _env_objects(text, _scan_top(text)):
        for m in env.members:
            if _is_secret_name(m.key):
                found[m.key] = m.value
    return found


def _secret_spans(text: str, changed: set[str]) -> list[tuple[int, int, str]]:
    """(start, end, masked JSON) of every secret-named env value (spans from the scanner)."""
    if _blank(text):
        return []
    spans: list[tuple[int, int, str]] = []
    for env in _env_objects(text, _scan_top(text)):
        for m in env.members:
            if _is_secret_name(m.key):
                value = m.value
                if value not in (None, ""):
                    shown = _mask(value) + (" (changed)" if m.key in changed else "")
                    spans.append((m.value_start, m.value_end, json.dumps(shown, ensure_ascii=False)))
    return spans


@dataclass
class _Edits:
    """What a plan does, before it is turned into text: ordered so inserts land in OWNED_ENV_KEYS order."""

    env_set: dict[str, object] = field(default_factory=dict)
    env_remove: list[str] = field(default_factory=list)
    top_set: dict[str, object] = field(default_factory=dict)
    top_remove: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # "env.NAME" / top-level key -> reason
    notices: list[str] = field(default_factory=list)
    drop_empty_env: bool = False


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# New members go after the last of these (grouping our keys), else first in the object; `$schema` stays first.
_ENV_ANCHORS = frozenset(OWNED_ENV_KEYS)
_TOP_ANCHORS = frozenset({"$schema", "env", "model"})


def _splice(text: str, start: int, end: int, insert: str) -> str:
    """text with text[start:end] replaced by insert: one join, so a 50 MB text is copied once, not three times."""
    return "".join((text[:start], insert, text[end:]))


class _TextEditor:
    """Applies member-level edits to JSON text, keeping every byte outside the edited members."""

    def __init__(self, doc: SettingsDocument) -> None:
        self.text = doc.text
        self.nl = "\r\n" if "\r\n" in doc.text else "\n"
        top = _scan_top(self.text)
        self.multiline = not top.members or "\n" in top.lead(self.text, 0)
        self.unit = doc.indent if doc.indent is not None else "  "
        self.sep = self.text[top.members[0].key_end : top.members[0].value_start] if top.members else ": "
        self.notices: list[str] = []

    def top(self) -> _Object:
        return _scan_top(self.text)

    def insert(self, obj: _Object, key: str, value_text: str, anchors: frozenset[str]) -> None:
        """Add a member after the last member named in `anchors` (keeps our keys together), else first.

        Inserting before an existing member, never after the last one, means no existing line gains a comma:
        the lines around the new member stay byte-identical and the diff shows only ours.
        """
        text, key_text = self.text, _dumps(key)
        members = obj.members
        if not members:
            if self.multiline:
                line_start = text.rfind("\n", 0, obj.open) + 1
                outer = _LINE_INDENT_RE.match(text, line_start).group()
                body = f"{self.nl}{outer}{self.unit}{key_text}{self.sep}{value_text}{self.nl}{outer}"
            else:
                body = f"{key_text}{self.sep}{value_text}"
            self.text = _splice(text, obj.open + 1, obj.close, body)
            return
        after = max((i for i, m in enumerate(members) if m.key in anchors), default=None)
        near = members[after if after is not None else 0]
        sep = text[near.key_end : near.value_start]
        # The whitespace the object uses between members (after a comma): "\n    ", " " or "".
        if len(members) > 1:
            between = obj.lead(text, after + 1 if after is not None and after + 1 < len(members) else 1)
        else:
            lead0 = obj.lead(text, 0)
            between = lead0 if "\n" in lead0 else (" " if sep.endswith(" ") else "")
        if after is None:  # first in the object
            first = members[0]
            self.text = _splice(text, first.start, first.start, f"{key_text}{sep}{value_text},{between}")
        else:
            prev = members[after]
            self.text = _splice(text, prev.value_end, prev.value_end, f",{between}{key_text}{sep}{value_text}")

    def remove(self, obj: _Object, index: int) -> None:
        """Delete member `index` with its comma and the whitespace that led to it; the neighbours stay as they are."""
        text, members = self.text, obj.members
        m = members[index]
        if len(members) == 1:
            self.text = _splice(text, obj.open + 1, obj.close, "")
        elif index < len(members) - 1:
            self.text = _splice(text, m.start, members[index + 1].start, "")
        else:
            self.text = _splice(text, members[index - 1].value_end, m.value_end, "")

    def replace_value(self, m: _Member, value: object) -> None:
        if not _same(m.value, value):  # equal values keep their original spelling (escapes, spacing)
            self.text = _splice(self.text, m.value_start, m.value_end, _dumps(value))

    def set(self, open_idx: int | None, key: str, value: object, anchors: frozenset[str]) -> None:
        obj = self.top() if open_idx is None else _scan_object(self.text, open_idx)
        while len([m for m in obj.members if m.key == key]) > 1:  # drop earlier, ignored duplicates
            self.remove(obj, next(i for i, m in enumerate(obj.members) if m.key == key))
            self.notices.append(f"Removed an earlier duplicate of {key} (it was ignored anyway).")
            obj = self.top() if open_idx is None else _scan_object(self.text, open_idx)
        member = obj.last(key)
        if member is None:
            self.insert(obj, key, _dumps(value), anchors)
        else:
            self.replace_value(member, value)

    def delete(self, open_idx: int | None, key: str) -> None:
        while True:
            obj = self.top() if open_idx is None else _scan_object(self.text, open_idx)
            index = next((i for i, m in enumerate(obj.members) if m.key == key), None)
            if index is None:
                return
            self.remove(obj, index)


def _build_plan(doc: SettingsDocument, edits: _Edits) -> SettingsPlan:
    old_env = doc.env
    intended: dict = dict(doc.data)
    new_env = dict(old_env)
    changes: list[PlannedChange] = []

    for key in edits.env_remove:
        if key in new_env:
            old = new_env.pop(key)
            changes.append(PlannedChange(f"env.{key}", _display(key, old), None, edits.reasons.get(f"env.{key}", "")))
    for key, value in edits.env_set.items():
        old = new_env.get(key)
        if key not in new_env or not _same(old, value):
            changes.append(PlannedChange(f"env.{key}", _display(key, old), _display(key, value),
                                         edits.reasons.get(f"env.{key}", "")))
        new_env[key] = value
    touch_env = any(c.key.startswith("env.") for c in changes)
    drop_env = edits.drop_empty_env and touch_env and not new_env and "env" in doc.data
    if drop_env:
        del intended["env"]
    elif touch_env:
        intended["env"] = new_env
    for key in edits.top_remove:
        if key in intended:
            changes.append(PlannedChange(key, _display(key, intended.pop(key)), None, edits.reasons.get(key, "")))
    for key, value in edits.top_set.items():
        old = intended.get(key)
        if key not in intended or not _same(old, value):
            changes.append(PlannedChange(key, _display(key, old), _display(key, value), edits.reasons.get(key, "")))
        intended[key] = value

    notices = list(edits.notices)
    if not changes:  # (an ignored duplicate with our value is not worth a write)
        return SettingsPlan(doc, doc.text, (), tuple(notices))
    if not doc.exists or doc.was_empty:
        # Nothing to preserve: write the file the way Claude Code itself does (2-space indent, final newline).
        new_text = json.dumps(intended, indent=2, ensure_ascii=False) + "\n"
    else:
        editor = _TextEditor(doc)
        if touch_env:
            env_member = editor.top().last("env")
            if env_member is None:
                editor.insert(editor.top(), "env", "{}", _TOP_ANCHORS)
                env_member = editor.top().last("env")
            env_open = env_member.value_start
            for key in edits.env_remove:
                editor.delete(env_open, key)
            for key, value in edits.env_set.items():
                editor.set(env_open, key, value, _ENV_ANCHORS)
            if drop_env:
                editor.delete(None, "env")
        for key in edits.top_remove:
            if key in doc.data:
                editor.delete(None, key)
        for key, value in edits.top_set.items():
            editor.set(None, key, value, _TOP_ANCHORS)
        new_text = editor.text
        notices.extend(editor.notices)
    _check(doc, new_text, intended)
    return SettingsPlan(doc, new_text, tuple(changes), tuple(notices))


def _has_duplicates(doc: SettingsDocument) -> bool:
    return any(_DUPLICATE_MARK in n for n in doc.notices)


def _check(doc: SettingsDocument, new_text: str, intended: dict) -> None:
    """Defensive: the edited text must parse to exactly the intended settings, or nothing is written.

    Checked member by member, without decoding the whole file again: members we did not edit must keep their
    exact text (a stronger check than equal values), the edited ones (env, model, …) must decode to the intended
    values, and the keys must keep their order."""
    if not _parses(new_text) or _blank(new_text):
        raise SettingsError(doc.path, "internal error: the edited settings would not be valid JSON; "
                                      "nothing was written") from None
    new_top = _scan_top(new_text)
    new_last = {m.key: m for m in new_top.members}
    old_last = {m.key: m for m in _scan_top(doc.text).members} if doc.exists and not doc.was_empty else {}
    same = list(new_last) == list(dict.fromkeys(m.key for m in new_top.members)) and set(new_last) == set(intended)
    for key, member in new_last.items() if same else ():
        old = old_last.get(key)
        if old is not None and intended.get(key) is doc.data.get(key):  # not edited: the very same text
            same = _same_span(doc.text, old.value_start, old.value_end, new_text, member.value_start,
                              member.value_end)
        else:
            same = member.value == intended.get(key)
        if not same:
            break
    if same and not _has_duplicates(doc):  # key order is only well defined without duplicates
        # Keys that were there keep their relative order (new ones may sit between them).
        after_env = new_last["env"].value if "env" in new_last else {}
        for before, after in ((list(doc.data), list(new_last)), (list(doc.env), list(after_env or {}))):
            if [k for k in before if k in after] != [k for k in after if k in before]:
                same = False
    if not same:
        raise SettingsError(doc.path, "internal error: the edited settings differ from the intended ones; "
                                      "nothing was written")


def _same_span(a: str, a0: int, a1: int, b: str, b0: int, b1: int, chunk: int = 1 << 16) -> bool:
    """a[a0:a1] == b[b0:b1], compared a chunk at a time (no copy of a 50 MB value)."""
    if a1 - a0 != b1 - b0:
        return False
    return all(a[a0 + i : min(a0 + i + chunk, a1)] == b[b0 + i : min(b0 + i + chunk, b1)]
               for i in range(0, a1 - a0, chunk))


def plan_apply(doc: SettingsDocument, values: ConnectionValues) -> SettingsPlan:
    """Set the gateway keys we own; keep everything else. See the module docstring for the rules."""
    env = doc.env
    e = _Edits()

    def put(key: str, value: str, reason: str) -> None:
        e.env_set[key] = value
        e.reasons[f"env.{key}"] = reason

    def drop(key: str, reason: str) -> None:
        if key in env:
            e.env_remove.append(key)
            e.reasons[f"env.{key}"] = reason

    if "ANTHROPIC_API_KEY" in env:
        drop("ANTHROPIC_API_KEY", _API_KEY_REASON)
    put("ANTHROPIC_BASE_URL", values.url.anthropic_base, "the gateway's Anthropic endpoint (Claude Code adds /v1/messages)")
    helper = doc.data.get("apiKeyHelper")
    if values.key is not None:
        put("ANTHROPIC_AUTH_TOKEN", values.key.value, "the gateway API key, sent as Authorization: Bearer")
        if isinstance(helper, str) and helper.strip() and not env.get("ANTHROPIC_AUTH_TOKEN"):
            # Claude Code prefers the token: the helper that supplies the key today would silently stop being used.
            e.notices.append("This file's apiKeyHelper supplies the key today; ANTHROPIC_AUTH_TOKEN takes precedence "
                             "over it, so once saved Claude Code stops running the helper. Leave the API key empty "
                             "to keep using the helper.")
    elif isinstance(helper, str) and helper.strip() and not env.get("ANTHROPIC_AUTH_TOKEN"):
        e.notices.append("No API key is written: this file's apiKeyHelper supplies it, as Claude Code runs it.")
    elif not env.get("ANTHROPIC_AUTH_TOKEN"):
        e.notices.append("No API key was given and the file has none: Claude Code cannot authenticate to the "
                         "gateway until ANTHROPIC_AUTH_TOKEN is set.")
    for tier in TIERS:
        model_key = f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL"
        name_key = f"{model_key}_NAME"
        model = getattr(values.tiers, tier)
        if model:
            put(model_key, model, f"the gateway model Claude Code uses for its {tier.capitalize()} tier")
            name = values.display_names.get(tier)
            if name is not None and name.strip():
                put(name_key, name.strip(), f"label of the {tier.capitalize()} row in /model")
            elif name is not None:
                drop(name_key, "display name cleared")
        else:
            drop(model_key, f"the {tier.capitalize()} tier was cleared")
            drop(name_key, f"the {tier.capitalize()} tier was cleared")
    if values.tiers.subagent_model:
        put("CLAUDE_CODE_SUBAGENT_MODEL", values.tiers.subagent_model, "the gateway model for subagents")
    else:
        drop("CLAUDE_CODE_SUBAGENT_MODEL", "the subagent model was cleared")
    if values.disable_experimental_betas is True:
        # The user ticked this; whether the gateway really rejects the betas is for verify to find out.
        put("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS", "1",
            "you turned off experimental betas (for gateways that reject them)")
    elif values.disable_experimental_betas is False:
        drop("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS", "you turned experimental betas back on")
    if values.tiers.main_model:
        e.top_set["model"] = values.tiers.main_model
        e.reasons["model"] = "the main model of every session"
    # Keep OWNED_ENV_KEYS order for keys that will be appended.
    e.env_set = {k: e.env_set[k] for k in OWNED_ENV_KEYS if k in e.env_set}
    return _build_plan(doc, e)


# Each value the app edits and the settings key plan_apply saves it in ("name.<tier>": the tier's /model label).
SAVED_AS: dict[str, str] = {
    "url": "env.ANTHROPIC_BASE_URL",
    "key": "env.ANTHROPIC_AUTH_TOKEN",
    **{tier: f"env.ANTHROPIC_DEFAULT_{tier.upper()}_MODEL" for tier in TIERS},
    "main_model": "model",
    "subagent_model": "env.CLAUDE_CODE_SUBAGENT_MODEL",
    "disable_experimental_betas": "env.CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS",
    **{f"name.{tier}": f"env.ANTHROPIC_DEFAULT_{tier.upper()}_MODEL_NAME" for tier in TIERS},
}


@dataclass(frozen=True)
class StoredValues:
    """Our values as a settings file holds them, read back the way plan_apply writes them: what an editor of the
    file starts from. Unusable values (a URL or model name core would refuse) read as absent."""

    base_url_text: str | None = None  # ANTHROPIC_BASE_URL as written
    url: GatewayUrl | None = None
    key: str | None = field(default=None, repr=False)  # ANTHROPIC_AUTH_TOKEN (a secret: never shown as is)
    tiers: TierMapping = field(default_factory=TierMapping)  # tiers + subagent; main_model: None
    model: str | None = None  # the top-level `model`: Claude Code's own setting as much as ours
    disable_experimental_betas: bool | None = None  # None: the file does not say
    display_names: dict[str, str] = field(default_factory=dict)


def stored_values(doc: SettingsDocument) -> StoredValues:
    env = doc.env

    def text(name: str) -> str | None:
        value = env.get(name)
        return value if isinstance(value, str) and value else None

    def model(value: object) -> str | None:
        try:
            return parse_model_name(value) if isinstance(value, str) else None
        except InputError:
            return None

    raw_url = text("ANTHROPIC_BASE_URL")
    try:
        url = parse_anthropic_base_url(raw_url) if raw_url else None
    except InputError:
        url = None
    betas = env.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS")
    return StoredValues(
        base_url_text=raw_url,
        url=url,
        key=text("ANTHROPIC_AUTH_TOKEN"),
        tiers=TierMapping(**{t: model(env.get(f"ANTHROPIC_DEFAULT_{t.upper()}_MODEL")) for t in TIERS},
                          subagent_model=model(env.get("CLAUDE_CODE_SUBAGENT_MODEL"))),
        model=model(doc.data.get("model")),
        disable_experimental_betas=None if betas is None else str(betas).strip() in ("1", "true"),
        display_names={t: name for t in TIERS if (name := text(f"ANTHROPIC_DEFAULT_{t.upper()}_MODEL_NAME"))},
    )


def plan_remove(doc: SettingsDocument) -> SettingsPlan:
    """Take our keys out again (a "disconnect"); other keys stay. Drops `env` only if we emptied it."""
    e = _Edits(drop_empty_env=True)
    for key in OWNED_ENV_KEYS:
        if key in doc.env:
            e.env_remove.append(key)
            e.reasons[f"env.{key}"] = "set by optscale-tui for the gateway"
    model = doc.data.get("model")
    if isinstance(model, str) and "/" in model:
        e.top_remove.append("model")
        e.reasons["model"] = "a gateway model id, unknown to Claude Code without the gateway"
    return _build_plan(doc, e)


def plan_env_edit(
    doc: SettingsDocument, set_keys: Mapping[str, str], remove_keys: Iterable[str], reason: str
) -> SettingsPlan:
    """A targeted fix-it: set and/or remove any env keys (not only ours), everything else kept."""
    e = _Edits()
    for key in remove_keys:
        if key in doc.env and key not in set_keys:
            e.env_remove.append(key)
            e.reasons[f"env.{key}"] = reason
    for key, value in set_keys.items():
        if not isinstance(key, str) or not key:
            raise ValueError("env names must be non-empty strings")
        e.env_set[key] = value
        e.reasons[f"env.{key}"] = reason
    return _build_plan(doc, e)


def plan_top_level_edit(
    doc: SettingsDocument, set_keys: Mapping[str, object], remove_keys: Iterable[str] = (), reason: str = ""
) -> SettingsPlan:
    """Set and/or remove top-level keys of any JSON settings file (other clients' files), everything else kept.

    New keys land in `set_keys` order: in an existing file each insert goes first in the object (the editor's rule
    when no anchor key is present), so they are inserted in reverse.
    """
    e = _Edits()
    for key in remove_keys:
        if key in doc.data and key not in set_keys:
            e.top_remove.append(key)
            e.reasons[key] = reason
    items = list(set_keys.items())
    if doc.exists and not doc.was_empty:
        items.reverse()
    for key, value in items:
        if not isinstance(key, str) or not key:
            raise ValueError("keys must be non-empty strings")
        e.top_set[key] = value
        e.reasons[key] = reason
    return _build_plan(doc, e)


# ----------------------------------------------------------------------------------------------------- save


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
    # The original is "no file": there was none before optscale-tui's first save, so restoring it removes the file.
    absent: bool = False

    @property
    def is_broken(self) -> bool:
        return bool(self.broken)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)


def _fsync_dir(directory: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows; os.replace is durable enough there
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(directory: Path) -> None:
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


def _remove_stale_temps(directory: Path, name: str) -> None:
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


def _write_file_atomically(final: Path, data: bytes, *, temp_name: str, mode: int = 0o600, exclusive: bool = False,
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
        if regular_file_digest(tmp, follow_symlinks=False) != (digest or _digest(data)):
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


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parses_bytes(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    try:
        return _parses(text)
    except RecursionError:
        return False


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
            if recorded.decode("ascii", "replace").strip() != _digest(content):
                return None, "its content does not match the checksum recorded when it was made (damaged or cut short)"
        elif not content.strip():
            # Made before checksums were recorded: an empty one is most likely cut short by a full disk.
            return None, "it is empty and has no checksum (probably cut short when it was written)"
        if not _parses_bytes(content):
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
        return _masked_diff(current_text, backup_text, f"a/{name} (now)", f"b/{name} (backup {backup_id})")

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
            expected_hash=_digest(current) if current is not None else "",
            expected_exists=current is not None, keep_backups=keep_backups, now=now, made_by="restore", force=force,
        )
        notice = f"Restored backup {backup_id}."
        return SaveResult(result.path, result.backup, result.original, result.mode_tightened,
                          (*result.notices, notice))

    def _restore_absence(self, *, keep_backups: int, now: datetime | None, force: bool) -> SaveResult:
        """Give back "no file": the current file is backed up (as before any restore), then removed."""
        current = read_regular_file(self.settings_path)
        if current is None:
            return SaveResult(self.settings_path, None, None, False,
                              ("There was no settings file before the first save, and there is none now.",))
        target = _write_target(self.settings_path)
        if is_read_only(target) and not force:
            raise SettingsReadOnly(self.settings_path, "is read-only: it was not removed")
        self._ensure_dir()
        backup = self._add(current, _utc(now), "restore")
        try:
            if regular_file_digest(target) != _digest(current):
                raise SettingsChangedOnDisk(self.settings_path, "the file was changed by another program after it "
                                                                "was read; nothing was removed.")
            target.unlink()
        except SettingsError:
            self._discard([backup])
            raise
        except OSError as exc:
            self._discard([backup])
            raise _os_error(self.settings_path, exc, "removed", tail="; the file was not changed") from None
        with contextlib.suppress(OSError):
            _fsync_dir(target.parent)
            self._prune(keep_backups)
        return SaveResult(self.settings_path, backup, None, False, (
            f"Backup: {backup}",
            "Restored the original: there was no settings file before optscale-tui's first save, so it was removed "
            "(Claude Code runs with its defaults again).",
        ))

    # -- used by the save path

    def _ensure_dir(self) -> None:
        _make_dirs(self.directory)
        st = os.lstat(self.directory)
        if not stat.S_ISDIR(st.st_mode):
            raise SettingsError(self.directory, f"the backup folder is {_file_kind(st.st_mode)} here (a symbolic "
                                                "link is not followed); nothing was written",
                                cause=Cause.SETTINGS_NOT_A_FILE)
        if os.name != "nt" and stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(self.directory, 0o700)
        _remove_stale_temps(self.directory, self.settings_path.name)

    def _write(self, final: Path, content: bytes) -> None:
        """Backup and its checksum, each atomically; raises FileExistsError when `final` is taken."""
        digest = _digest(content)
        _write_file_atomically(final, content, temp_name=self.settings_path.name, exclusive=True, digest=digest)
        try:
            _write_file_atomically(self._sidecar(final), f"{digest}\n".encode(),
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
        store = BackupStore(doc.path)
        original = store.original_path if store.original_path.is_file() else None
        return SaveResult(doc.path, None, original, False, ("Nothing to save: the file already has these values.",))
    if not _parses(plan.new_text) or _blank(plan.new_text):
        raise SettingsError(doc.path, "internal error: refusing to write settings that are not a JSON object")
    data = (_BOM if doc.bom else b"") + plan.new_text.encode("utf-8")
    return _write_settings(doc.path, data, expected_hash=doc.content_hash, expected_exists=doc.exists,
                           keep_backups=keep_backups, now=now, force=force)


def _write_target(path: Path) -> Path:
    """The file a save replaces: `path`, or the regular file its symlink points to (created where a dangling link
    points). A folder, device, FIFO or socket there, directly or through a link, or a link loop, is refused."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Path(os.path.realpath(path))
    except OSError as exc:
        raise _os_error(path, exc, "used", cls=SettingsError) from None
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode, via_link=os.path.islink(path))
    return Path(os.path.realpath(path))


def _write_settings(
    path: Path, data: bytes, *, expected_hash: str, expected_exists: bool, keep_backups: int, now: datetime | None,
    made_by: str = "save", force: bool = False,
) -> SaveResult:
    """The one save path (plans and restores): hash check, backup, atomic replace, private mode, symlinks kept.
    Anything refused or failed leaves the file as it was and no backup from this attempt behind."""
    if keep_backups < 1:
        raise ValueError("keep_backups must be at least 1")
    path = Path(path)
    target = _write_target(path)  # write the file a symlink points to; the link itself stays
    notices: list[str] = []
    if target != path.absolute() and path.is_symlink():
        notices.append(f"{path} is a symbolic link; wrote its target {target} and kept the link.")

    def check_unchanged(*, keep: bool = True) -> bytes | None:
        """The file's bytes if it is as it was read (`keep=False`: only check, reading in pieces)."""
        if keep:
            current = read_regular_file(target)
            digest = _digest(current) if current is not None else None
        else:
            current, digest = None, regular_file_digest(target)
        if digest is None and expected_exists:
            raise SettingsChangedOnDisk(path, "the file was deleted after it was read; nothing was written. "
                                              "Reload and review the changes again.")
        if digest is not None and not expected_exists:
            raise SettingsChangedOnDisk(path, "a file appeared here after the settings were read; nothing was "
                                              "written. Reload and review the changes again.")
        if digest is not None and digest != expected_hash:
            raise SettingsChangedOnDisk(path, "the file was changed by another program after it was read; nothing "
                                              "was written. Reload and review the changes again.")
        return current

    store = BackupStore(path)
    made: list[Path] = []  # backups of this attempt: removed again unless the new content lands
    try:
        current = check_unchanged()
        backup = original = None
        tightened = False
        mode = 0o600
        if current is not None:
            old_mode = stat.S_IMODE(os.stat(target).st_mode)
            if is_read_only(target) and not force:
                raise SettingsReadOnly(path, f"is read-only (mode {old_mode:04o}): it was not rewritten")
            if store._keep_original(current):
                made.append(store.original_path)
                notices.append(f"Kept the file as it was before the first change: {store.original_path}")
            original = store.original_path if os.path.lexists(store.original_path) else None
            backup = store._add(current, _utc(now), made_by)
            made.append(backup)
            notices.append(f"Backup: {backup}")
            if os.name != "nt" and old_mode & 0o077:
                tightened = True
                notices.append(f"The file was readable by others ({old_mode:04o}); it holds an API key, "
                               "so it is now private (0600).")
            else:
                mode = old_mode | 0o600
        else:
            notices.append("The file did not exist, so there was nothing to back up; it is created private (0600).")
            if store.original_path.is_file():
                original = store.original_path

        _make_dirs(target.parent)
        _remove_stale_temps(target.parent, target.name)
        # check_unchanged again right before the replace narrows the window for someone else's edit.
        _write_file_atomically(target, data, temp_name=target.name, mode=mode,
                               before_replace=lambda: check_unchanged(keep=False))
        had_file = current is not None
        current = None  # the backups hold it; a 50 MB file need not stay in memory
        made.clear()  # the new content is in place: its backups stay
    except SettingsError:
        store._discard(made)
        raise
    except OSError as exc:
        store._discard(made)
        raise _os_error(path, exc, "saved", tail="; the file was not changed") from None
    with contextlib.suppress(OSError):  # the file is saved; tidying up must not report it as failed
        _fsync_dir(target.parent)
        if had_file:
            store._prune(keep_backups)
        elif made_by == "save" and original is None and not os.path.lexists(store.absent_marker):
            # This save created the file: its original is "no file" (restoring the original removes it again).
            store._ensure_dir()
            _write_file_atomically(store.absent_marker, b"", temp_name=path.name, exclusive=True)
    return SaveResult(path, backup, original, tightened, tuple(notices))

"""JSON text as a person wrote it: the strict parse (line and column of what to fix), the member scanner (spans,
not values) and the byte-preserving editor.

Why edits are made on the text: users keep a lot in settings files (hooks, permissions, plugins), so only the
members we edit change; every other byte - order, indentation, escapes, final newline - stays as it was, and a diff
shows exactly our lines. New members go right after a group of anchor keys, else first in the object, so no
existing line even gains a comma.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.config.errors import SettingsError

BOM = b"\xef\xbb\xbf"
_WS_RE = re.compile(r"[ \t\n\r]*")
_LINE_INDENT_RE = re.compile(r"[ \t]*")
_DECODER = json.JSONDecoder()


class _ConstantError(ValueError):
    pass


def _reject_constant(name: str) -> object:
    # Python's json accepts NaN/Infinity; JSON (and Claude Code) do not.
    raise _ConstantError(name)


def _drop_pairs(pairs: list) -> None:
    return None


# Finds where a JSON value ends (and that it is valid) without keeping what it holds: every object is dropped as
# soon as it is read, so scanning a 50 MB file does not build its hundreds of MB of dicts again.
_SKIPPER = json.JSONDecoder(object_pairs_hook=_drop_pairs, parse_constant=_reject_constant)


def line_col(text: str, pos: int) -> tuple[int, int]:
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
    line, column = line_col(text, pos)
    return SettingsError(path, f"not valid JSON: {reason}", line=line, column=column)


def _constant_error(path: Path, text: str, name: str) -> SettingsError:
    # Find the first NaN/Infinity outside a string (the text is otherwise valid JSON).
    pattern = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')
    for match in pattern.finditer(text):
        if match.group(1):
            line, column = line_col(text, match.start(1))
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


def too_deep_error(path: Path) -> SettingsError:
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
            line, column = line_col(text, match.start() + len(slashes) - 1)
            raise SettingsError(path, "not valid JSON: a string holds half of a UTF-16 surrogate pair (\\uD800-"
                                      "\\uDFFF on its own), which is not a character; remove or complete it",
                                line=line, column=column)


def decode_text(path: Path, raw: bytes) -> tuple[str, bool]:
    """The text of a settings file's bytes, and whether they began with a UTF-8 BOM (not part of the text)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SettingsError(path, "is saved as UTF-16; Claude Code needs UTF-8", line=1, column=1)
    bom = raw.startswith(BOM)
    body = raw[len(BOM) :] if bom else raw
    try:
        return body.decode("utf-8"), bom
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        column = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SettingsError(path, "is not UTF-8 text (saved in another encoding?)", line=line, column=column) from None


def parse_object(path: Path, text: str) -> dict:
    """The JSON object `text` holds, read as strictly as Claude Code reads it (no comments, NaN, lone surrogate or
    top-level non-object). Raises SettingsError with the line and column to fix."""
    try:
        with _collector_paused():
            data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _syntax_error(path, text, exc) from None
    except _ConstantError as exc:
        raise _constant_error(path, text, str(exc)) from None
    except RecursionError:
        raise too_deep_error(path) from None
    _check_surrogates(path, text)
    if not isinstance(data, dict):
        line, column = line_col(text, _ws(text, 0))
        raise SettingsError(path, f"the top level must be a JSON object ({{ … }}), not {json_kind(data)}",
                            line=line, column=column)
    return data


def json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {dict: "an object", list: "an array", str: "a string", type(None): "null"}.get(type(value), "a value")


# ------------------------------------------------------------------------------------------------- scanner


@dataclass(frozen=True, slots=True)
class JsonMember:
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
class JsonObject:
    open: int  # index of "{"
    close: int  # index of "}"
    members: tuple[JsonMember, ...]

    def last(self, key: str) -> JsonMember | None:
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


def scan_object(text: str, open_idx: int) -> JsonObject:
    """Members of the object starting at `open_idx`, with their spans. Only for text json.loads accepted.

    Values are read with the C decoder (raw_decode), so a 5 MB file costs milliseconds, not a Python loop per byte.
    """
    if text[open_idx] != "{":
        raise AssertionError("not an object")
    i = _ws(text, open_idx + 1)
    if text[i] == "}":
        return JsonObject(open_idx, i, ())
    members: list[JsonMember] = []
    while True:
        key, key_end = scanstring(text, i + 1)
        colon = _ws(text, key_end)
        value_start = _ws(text, colon + 1)
        value_end = _SKIPPER.raw_decode(text, value_start)[1]
        members.append(JsonMember(key, i, key_end, value_start, value_end, text))
        k = _ws(text, value_end)
        if text[k] == "}":
            return JsonObject(open_idx, k, tuple(members))
        if text[k] != ",":
            raise AssertionError("malformed object")
        i = _ws(text, k + 1)


def scan_top(text: str) -> JsonObject:
    return scan_object(text, _ws(text, 0))


def is_blank(text: str) -> bool:
    return _WS_RE.match(text).end() == len(text)  # no stripped copy of a 50 MB text


def parses_as_object(text: str) -> bool:
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


def same_json(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _splice(text: str, start: int, end: int, insert: str) -> str:
    """text with text[start:end] replaced by insert: one join, so a 50 MB text is copied once, not three times."""
    return "".join((text[:start], insert, text[end:]))


class TextEditor:
    """Applies member-level edits to JSON text, keeping every byte outside the edited members."""

    def __init__(self, text: str, indent: str | None) -> None:
        self.text = text
        self.nl = "\r\n" if "\r\n" in text else "\n"
        top = scan_top(self.text)
        self.multiline = not top.members or "\n" in top.lead(self.text, 0)
        self.unit = indent if indent is not None else "  "
        self.sep = self.text[top.members[0].key_end : top.members[0].value_start] if top.members else ": "
        self.notices: list[str] = []

    def top(self) -> JsonObject:
        return scan_top(self.text)

    def insert(self, obj: JsonObject, key: str, value_text: str, anchors: frozenset[str]) -> None:
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

    def remove(self, obj: JsonObject, index: int) -> None:
        """Delete member `index` with its comma and the whitespace that led to it; the neighbours stay as they are."""
        text, members = self.text, obj.members
        m = members[index]
        if len(members) == 1:
            self.text = _splice(text, obj.open + 1, obj.close, "")
        elif index < len(members) - 1:
            self.text = _splice(text, m.start, members[index + 1].start, "")
        else:
            self.text = _splice(text, members[index - 1].value_end, m.value_end, "")

    def replace_value(self, m: JsonMember, value: object) -> None:
        if not same_json(m.value, value):  # equal values keep their original spelling (escapes, spacing)
            self.text = _splice(self.text, m.value_start, m.value_end, _dumps(value))

    def set(self, open_idx: int | None, key: str, value: object, anchors: frozenset[str]) -> None:
        obj = self.top() if open_idx is None else scan_object(self.text, open_idx)
        while len([m for m in obj.members if m.key == key]) > 1:  # drop earlier, ignored duplicates
            self.remove(obj, next(i for i, m in enumerate(obj.members) if m.key == key))
            self.notices.append(f"Removed an earlier duplicate of {key} (it was ignored anyway).")
            obj = self.top() if open_idx is None else scan_object(self.text, open_idx)
        member = obj.last(key)
        if member is None:
            self.insert(obj, key, _dumps(value), anchors)
        else:
            self.replace_value(member, value)

    def delete(self, open_idx: int | None, key: str) -> None:
        while True:
            obj = self.top() if open_idx is None else scan_object(self.text, open_idx)
            index = next((i for i, m in enumerate(obj.members) if m.key == key), None)
            if index is None:
                return
            self.remove(obj, index)


def same_span(a: str, a0: int, a1: int, b: str, b0: int, b1: int, chunk: int = 1 << 16) -> bool:
    """a[a0:a1] == b[b0:b1], compared a chunk at a time (no copy of a 50 MB value)."""
    if a1 - a0 != b1 - b0:
        return False
    return all(a[a0 + i : min(a0 + i + chunk, a1)] == b[b0 + i : min(b0 + i + chunk, b1)]
               for i in range(0, a1 - a0, chunk))


def bytes_parse_as_object(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    try:
        return parses_as_object(text)
    except RecursionError:
        return False


"""A settings file as read (SettingsDocument, load_settings) and the plans that edit it (SettingsPlan: the new text,
the changes, the masked diff), with the generic edits: top-level keys, and keys of the nested `env` object.

Behaviour worth knowing:
- Claude Code silently ignores a settings file that does not parse, so we refuse to touch one (and say where it
  breaks) rather than "repair" it.
- Duplicate keys are valid JSON; like Claude Code (JavaScript's JSON.parse) we let the last one win, report it,
  and when we edit a duplicated key we drop the earlier, ignored copies.
- A plan's text is checked before it is offered: it must parse to exactly the intended settings.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from optscale_tui.core.config.diff import masked_diff
from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.files import read_regular_file
from optscale_tui.core.config.jsontext import (
    JsonObject,
    TextEditor,
    decode_text,
    is_blank,
    json_kind,
    line_col,
    parse_object,
    parses_as_object,
    same_json,
    same_span,
    scan_object,
    scan_top,
    too_deep_error,
)
from optscale_tui.core.secrets import is_secret_name, mask_secret

_DUPLICATE_MARK = "; Claude Code uses the last one, and so do we."
# New top-level members go after the last of these present, else first in the object; `$schema` stays first.
# The default for every file (Claude Desktop's hold neither `env` nor `model`); SettingsEdits can name others.
TOP_ANCHORS = frozenset({"$schema", "env", "model"})


def _display(key: str, value: object) -> object:
    """Value as it may appear in a PlannedChange: secrets masked, so repr/logs never hold a key."""
    if value is None or not is_secret_name(key.removeprefix("env.")):
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
    text, bom = decode_text(path, raw)
    del raw  # the decoded text is all we keep: a 50 MB file is not held twice
    if is_blank(text):
        notice = ("The file is empty, so Claude Code ignores it; it is treated as {} and saving writes a complete "
                  "file (nothing is lost).")
        return SettingsDocument(path, True, text, {}, content_hash, bom, None, text.endswith("\n"), True, (notice,))
    data = parse_object(path, text)
    try:
        top = scan_top(text)
    except RecursionError:
        raise too_deep_error(path) from None
    notices = [f'The key "{key}" appears {count} times{_DUPLICATE_MARK}' for key, count in _duplicates(top)]
    notices += _env_notices(path, text, top)
    return SettingsDocument(path, True, text, data, content_hash, bom, _indent_unit(text, top), text.endswith("\n"),
                            False, tuple(notices))


def _duplicates(obj: JsonObject) -> list[tuple[str, int]]:
    return [(key, count) for key, count in Counter(m.key for m in obj.members).items() if count > 1]


def _env_notices(path: Path, text: str, top: JsonObject) -> list[str]:
    """What is worth saying about `env` (duplicates, values that are not strings); raises when it is no object."""
    env_member = top.last("env")
    if env_member is None:
        return []
    env_value = env_member.value
    if not isinstance(env_value, dict):
        line, column = line_col(text, env_member.value_start)
        raise SettingsError(path, f'"env" must be an object of NAME: "value" pairs, not {json_kind(env_value)}',
                            line=line, column=column)
    env_obj = scan_object(text, env_member.value_start)  # env's values were scanned above: no deeper
    notices = [f"env.{key} appears {count} times{_DUPLICATE_MARK}" for key, count in _duplicates(env_obj)]
    odd = [f"{k} ({json_kind(v)})" for k, v in env_value.items() if not isinstance(v, str)]
    if odd:
        notices.append("Claude Code's schema wants env values as strings; kept as they are: " + ", ".join(odd) + ".")
    return notices


def _indent_unit(text: str, top: JsonObject) -> str | None:
    """The indent of the top-level members, None when they share a line with the brace (compact) or are none."""
    if not top.members:
        return None
    lead = top.lead(text, 0)
    return lead.rsplit("\n", 1)[1] if "\n" in lead else None


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
        return masked_diff(self.document.text, self.new_text, f"a/{name}", f"b/{name}", both_parse=True)


@dataclass
class SettingsEdits:
    """What a plan does, before it is turned into text. Inserts land in `env_set` / `top_set` order, each after
    the last existing member named in the anchors (so a client's keys stay together), else first."""

    env_set: dict[str, object] = field(default_factory=dict)
    env_remove: list[str] = field(default_factory=list)
    top_set: dict[str, object] = field(default_factory=dict)
    top_remove: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # "env.NAME" / top-level key -> reason
    notices: list[str] = field(default_factory=list)
    drop_empty_env: bool = False
    env_anchors: frozenset[str] = frozenset()
    top_anchors: frozenset[str] = TOP_ANCHORS


def build_plan(doc: SettingsDocument, edits: SettingsEdits) -> SettingsPlan:
    """The plan for `edits`: the changes as shown (secrets masked) and the new text, checked to parse to exactly
    the intended settings. No change at all gives the document's own text (nothing to write)."""
    intended, changes, drop_env = _intended(doc, edits)
    notices = list(edits.notices)
    if not changes:  # (an ignored duplicate with our value is not worth a write)
        return SettingsPlan(doc, doc.text, (), tuple(notices))
    if not doc.exists or doc.was_empty:
        # Nothing to preserve: write the file the way Claude Code itself does (2-space indent, final newline).
        new_text = json.dumps(intended, indent=2, ensure_ascii=False) + "\n"
    else:
        touch_env = any(c.key.startswith("env.") for c in changes)
        new_text, editor_notices = _edited_text(doc, edits, touch_env=touch_env, drop_env=drop_env)
        notices.extend(editor_notices)
    _check(doc, new_text, intended)
    return SettingsPlan(doc, new_text, tuple(changes), tuple(notices))


def _intended(doc: SettingsDocument, edits: SettingsEdits) -> tuple[dict, list[PlannedChange], bool]:
    """(the settings as they will be, the changes, whether `env` goes away) for `edits` applied to `doc.data`."""
    intended: dict = dict(doc.data)
    new_env = doc.env
    changes: list[PlannedChange] = []
    for key in edits.env_remove:
        if key in new_env:
            old = new_env.pop(key)
            changes.append(PlannedChange(f"env.{key}", _display(key, old), None, edits.reasons.get(f"env.{key}", "")))
    for key, value in edits.env_set.items():
        old = new_env.get(key)
        if key not in new_env or not same_json(old, value):
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
        if key not in intended or not same_json(old, value):
            changes.append(PlannedChange(key, _display(key, old), _display(key, value), edits.reasons.get(key, "")))
        intended[key] = value
    return intended, changes, drop_env


def _edited_text(doc: SettingsDocument, edits: SettingsEdits, *, touch_env: bool,
                 drop_env: bool) -> tuple[str, list[str]]:
    """The document's text with `edits` made member by member (every other byte kept), and the editor's notices."""
    editor = TextEditor(doc.text, doc.indent)
    if touch_env:
        env_member = editor.top().last("env")
        if env_member is None:
            editor.insert(editor.top(), "env", "{}", edits.top_anchors)
            env_member = editor.top().last("env")
        env_open = env_member.value_start
        for key in edits.env_remove:
            editor.delete(env_open, key)
        for key, value in edits.env_set.items():
            editor.set(env_open, key, value, edits.env_anchors)
        if drop_env:
            editor.delete(None, "env")
    for key in edits.top_remove:
        if key in doc.data:
            editor.delete(None, key)
    for key, value in edits.top_set.items():
        editor.set(None, key, value, edits.top_anchors)
    return editor.text, editor.notices


def _has_duplicates(doc: SettingsDocument) -> bool:
    return any(_DUPLICATE_MARK in n for n in doc.notices)


def _check(doc: SettingsDocument, new_text: str, intended: dict) -> None:
    """Defensive: the edited text must parse to exactly the intended settings, or nothing is written.

    Checked member by member, without decoding the whole file again: members we did not edit must keep their
    exact text (a stronger check than equal values), the edited ones (env, model, …) must decode to the intended
    values, and the keys must keep their order."""
    if not parses_as_object(new_text) or is_blank(new_text):
        raise SettingsError(doc.path, "internal error: the edited settings would not be valid JSON; "
                                      "nothing was written") from None
    new_top = scan_top(new_text)
    new_last = {m.key: m for m in new_top.members}
    old_last = {m.key: m for m in scan_top(doc.text).members} if doc.exists and not doc.was_empty else {}
    same = list(new_last) == list(dict.fromkeys(m.key for m in new_top.members)) and set(new_last) == set(intended)
    for key, member in new_last.items() if same else ():
        old = old_last.get(key)
        if old is not None and intended.get(key) is doc.data.get(key):  # not edited: the very same text
            same = same_span(doc.text, old.value_start, old.value_end, new_text, member.value_start,
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


def plan_env_edit(
    doc: SettingsDocument, set_keys: Mapping[str, str], remove_keys: Iterable[str], reason: str, *,
    anchors: Iterable[str] = (),
) -> SettingsPlan:
    """Set and/or remove keys of the `env` object, everything else kept. New keys go after the last existing one
    named in `anchors` (a client's own keys), else first in `env`."""
    e = SettingsEdits(env_anchors=frozenset(anchors))
    for key in remove_keys:
        if key in doc.env and key not in set_keys:
            e.env_remove.append(key)
            e.reasons[f"env.{key}"] = reason
    for key, value in set_keys.items():
        if not isinstance(key, str) or not key:
            raise ValueError("env names must be non-empty strings")
        e.env_set[key] = value
        e.reasons[f"env.{key}"] = reason
    return build_plan(doc, e)


def plan_top_level_edit(
    doc: SettingsDocument, set_keys: Mapping[str, object], remove_keys: Iterable[str] = (), reason: str = ""
) -> SettingsPlan:
    """Set and/or remove top-level keys of any JSON settings file (other clients' files), everything else kept.

    New keys land in `set_keys` order: in an existing file each insert goes first in the object (the editor's rule
    when no anchor key is present), so they are inserted in reverse.
    """
    e = SettingsEdits()
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
    return build_plan(doc, e)



"""The masked diff of two settings texts: a unified diff in which every secret value is masked on both sides.

Only the lines around the changed region are split and diffed: a save changes a few lines, and a 50 MB file split
whole cost ~300 MB and 10 s. Either text may be invalid JSON (a backup of a broken file): secrets there are found
line by line instead of by the scanner."""

from __future__ import annotations

import difflib
import json
import re

from optscale_tui.core.config.jsontext import JsonObject, is_blank, parses_as_object, scan_object, scan_top
from optscale_tui.core.secrets import SECRET_NAME_PARTS, is_secret_name, mask_secret


def masked_diff(old_text: str, new_text: str, fromfile: str, tofile: str, *, both_parse: bool = False) -> str:
    """Unified diff of two settings texts with secret values masked on both sides; "" when equal.

    Either text may be invalid JSON (a backup of a broken file): secrets there are found line by line instead.
    Only the lines around the changed region are split and diffed (a save changes a few lines; a 50 MB file
    split whole cost ~300 MB and 10 s). `both_parse` skips the check that both texts are JSON (a plan's are).
    """
    if old_text == new_text:
        return ""
    old_parses = both_parse or parses_as_object(old_text)
    new_parses = both_parse or parses_as_object(new_text)
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
    if is_blank(text):
        return {}
    found: dict[str, object] = {}
    for env in _env_objects(text, scan_top(text)):
        for m in env.members:
            if is_secret_name(m.key):
                found[m.key] = m.value
    return found


def _secret_spans(text: str, changed: set[str]) -> list[tuple[int, int, str]]:
    """(start, end, masked JSON) of every secret-named env value (spans from the scanner)."""
    if is_blank(text):
        return []
    spans: list[tuple[int, int, str]] = []
    for env in _env_objects(text, scan_top(text)):
        for m in env.members:
            if is_secret_name(m.key):
                value = m.value
                if value not in (None, ""):
                    shown = _mask(value) + (" (changed)" if m.key in changed else "")
                    spans.append((m.value_start, m.value_end, json.dumps(shown, ensure_ascii=False)))
    return spans


def _env_objects(text: str, top: JsonObject) -> list[JsonObject]:
    return [scan_object(text, m.value_start) for m in top.members if m.key == "env" and text[m.value_start] == "{"]



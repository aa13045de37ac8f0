"""The one place that decides what is a secret and what outside text may reach a screen, a log or a file.

* `is_secret_name(name)`: the single rule for settings / env names whose values are secrets (every diff, report,
  doctor row and screen uses it, so `GCP_CREDENTIALS_JSON` is masked everywhere or nowhere).
* `mask_secret(value)`: the display form of one secret ("sk-bf-…1234").
* `mask_keys(text, known_secrets)`: masks the given secret values and anything shaped like an `sk-` key in free text.
* `mask_url_password(url)`, `mask_header_lines(value)`: a proxy URL's password; secret HTTP header values.
* `clean_outside_text(text, known_secrets)`: for text that came from outside (the gateway, the `claude` CLI, a
  settings file, a command line): terminal escape sequences (CSI, OSC — also unterminated —, DCS, SOS, PM, APC and
  the short ESC forms) are removed whole, other control characters (C0 but tab and newline, DEL, C1, a bare CR,
  BEL), invisible format characters that can hide or reorder text, and lone surrogates are removed, then keys are
  masked. Removing (rather than replacing) keeps a key that was split by a stray control character recognisable.
* `OutsideTextStream`: the same for text that arrives in pieces (a streamed reply), holding back a tail that may be
  the start of an escape sequence or of a key until the next piece shows what it is.

Plain Python: no Textual, no Rich (the CLI and the core use it too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

# Parts of a settings / environment variable name that make its value a secret. Over-masking is harmless, a miss
# is a leak: ANTHROPIC_AUTH_TOKEN, ANTHROPIC_API_KEY, GCP_CREDENTIALS_JSON, DB_PASSWORD, SESSION_COOKIE …
SECRET_NAME_PARTS: tuple[str, ...] = ("TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "COOKIE")

# Known secrets shorter than this are not searched for in text: masking every "abc" would garble it, and a value
# that short reveals nothing worth hiding in a sentence.
MIN_KNOWN_SECRET_LENGTH = 8
# How much of a stream may be held back waiting to see whether it is an escape sequence or a key.
MAX_STREAM_HOLD = 4096

_KEY_CHARS = r"A-Za-z0-9_.~+\-"
# An `sk-` key as a word of its own ("task-12345678" is not one), or one of the known key prefixes anywhere (sk-bf-,
# sk-ant-, sk-proj-: glued to other text, e.g. after an escape sequence written out as "\x1b[2J").
_KEY_SHAPE = re.compile(rf"(?:(?<![A-Za-z0-9])|(?=sk-(?:bf|ant|proj)-))sk-[{_KEY_CHARS}]{{8,}}", re.IGNORECASE)
# The end of a text that may grow into such a key with the next piece of a stream: "s", "sk", "sk-bf-12".
_KEY_START_AT_END = re.compile(rf"(?:(?<![A-Za-z0-9])sk?|sk-[{_KEY_CHARS}]*)\Z", re.IGNORECASE)

# Terminal escape sequences, removed whole. String commands (OSC, DCS, SOS, PM, APC) end at BEL or ST (ESC \ or
# 0x9c), are cut by CAN / SUB / a new ESC, and an unterminated one runs to the end of the text (a terminal would
# swallow everything after it, or act on it when the terminator comes later).
_STRING_BODY = r"[^\x07\x18\x1a\x1b\x9c]*"
# The final byte of a short escape: not one that opens a CSI ([) or a string command (] P X ^ _).
_SHORT_FINAL = r"[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e]"
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # CSI: ESC [ 2 J, ESC [ 31 m …
    rf"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]){_STRING_BODY}(?:\x07|\x1b\\|\x9c|[\x18\x1a]|(?=\x1b)|\Z)"
    rf"|\x1b[\x20-\x2f]*{_SHORT_FINAL}"  # ESC 7, ESC c (reset), ESC ( B …
)
# The same, but only when it is complete: what a stream must wait for before it can decide.
_COMPLETE_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    rf"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]){_STRING_BODY}(?:\x07|\x1b\\|\x9c|[\x18\x1a]|(?=\x1b))"
    rf"|\x1b[\x20-\x2f]*{_SHORT_FINAL}"
)
_ESCAPE_START = re.compile(r"[\x1b\x90\x98\x9b\x9d\x9e\x9f]")

# Characters removed from outside text: C0 controls but tab and newline (CR is handled first), DEL, C1, and the
# invisible format characters that can hide text or reorder it on screen (soft hyphen, zero-width characters, bidi
# embeddings, overrides and isolates, the BOM).
_INVISIBLE = "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_UNSAFE_CHAR = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}\ud800-\udfff]")
_REMOVED_CHAR = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LINE_BREAKS = str.maketrans({"\n": " ", "\t": " "})


def is_secret_name(name: str) -> bool:
    """Whether the value of the settings / environment variable `name` is a secret (masked wherever it is shown)."""
    upper = str(name).upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


def mask_secret(value: str | None) -> str:
    """Display form of a secret: a recognisable prefix and the last 4 characters, never more."""
    if not value:
        return ""
    value = str(value)
    if len(value) < 12:  # too short to reveal any part of it safely
        return "…"
    prefix = ""
    for known in ("sk-bf-", "sk-ant-", "sk-"):
        if value.startswith(known):
            prefix = known
            break
    return f"{prefix}…{value[-4:]}"


def _known(known_secrets: Iterable[str | None]) -> list[str]:
    found = {str(s) for s in known_secrets if s and len(str(s)) >= MIN_KNOWN_SECRET_LENGTH}
    return sorted(found, key=len, reverse=True)  # a longer secret first: it may contain a shorter one


def mask_keys(text: str, known_secrets: Iterable[str | None] = ()) -> str:
    """`text` with each known secret value, and anything shaped like an `sk-` key, in its masked form."""
    if not text:
        return text
    for secret in _known(known_secrets):
        if secret in text:
            text = text.replace(secret, mask_secret(secret))
    if "sk-" in text or "SK-" in text.upper():
        text = _KEY_SHAPE.sub(lambda m: mask_secret(m.group(0)), text)
    return text


def has_key_shape(text: str | None) -> bool:
    """Whether `text` holds something shaped like an `sk-` key."""
    return bool(text) and _KEY_SHAPE.search(str(text)) is not None


def strip_controls(text: str, *, single_line: bool = False) -> str:
    """`text` without terminal escape sequences and control / invisible characters (keys are not masked here).

    A CRLF becomes a newline and a bare CR goes (it would move the cursor back over what was printed: a spoofed
    line). With `single_line`, newlines and tabs become spaces (a model id, an error body in one line).
    """
    if not text:
        return text
    if _UNSAFE_CHAR.search(text):
        text = _ESCAPE_SEQUENCE.sub("", text)
        text = text.replace("\r\n", "\n")
        text = _REMOVED_CHAR.sub("", text)
        text = _SURROGATE.sub("\ufffd", text)  # a lone surrogate cannot even be printed (UnicodeEncodeError)
    if single_line:
        text = text.translate(_LINE_BREAKS)
    return text


def clean_outside_text(text: str | None, known_secrets: Iterable[str | None] = (), *, single_line: bool = False
                       ) -> str:
    """Outside text made safe to show, log or save: no escape sequences or control characters, keys masked."""
    if text is None:
        return ""
    return mask_keys(strip_controls(str(text), single_line=single_line), known_secrets)


def is_clean(text: str, *, single_line: bool = True) -> bool:
    """Whether `text` would be shown exactly as it is (nothing stripped, no key masked)."""
    return clean_outside_text(text, single_line=single_line) == text


# HTTP header names whose values are secrets (Authorization, X-Api-Key, Cookie …): header names are not settings
# names (`Authorization` has no TOKEN or KEY in it), so they have their own rule.
_SECRET_HEADER_RE = re.compile(r"auth|key|token|secret|cookie|pass", re.IGNORECASE)


def mask_url_password(url: str) -> str:
    """`url` with the password of its user:password@ part masked (a proxy URL); "…" when it cannot be parsed."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return "…"


def mask_header_lines(value: str) -> str:
    """`Name: value` lines (newlines or written-out `\\n` between them) with secret header values masked, and
    anything shaped like a key masked in the others; the lines come back joined by a written-out `\\n`."""
    lines = []
    for line in value.replace("\\n", "\n").split("\n"):
        name, sep, rest = line.partition(":")
        if sep and _SECRET_HEADER_RE.search(name):
            lines.append(f"{name}: {mask_secret(rest.strip()) or '…'}")
        else:
            lines.append(mask_keys(line))
    return "\\n".join(lines)


class OutsideTextStream:
    """`clean_outside_text` for text arriving in pieces (a streamed reply): `feed` each piece, `flush` at the end.

    A piece may end in the middle of an escape sequence or of a key ("… your key is sk-bf-12" + "34…"): that tail is
    held back until the next piece (or `flush`) shows what it is, so neither reaches the screen half-cleaned.
    """

    def __init__(self, known_secrets: Iterable[str | None] = (), *, max_hold: int = MAX_STREAM_HOLD) -> None:
        self._known = _known(known_secrets)
        self._max_hold = max_hold
        self._raw = ""  # not yet stripped: may be the start of an escape sequence
        self._held = ""  # stripped, not yet masked: may be the start of a key

    def feed(self, piece: str) -> str:
        raw = self._raw + (piece or "")
        self._raw = ""
        cut = self._incomplete_escape(raw)
        if cut is not None:
            raw, self._raw = raw[:cut], raw[cut:]
        text = self._held + strip_controls(raw)
        self._held = ""
        hold = self._possible_key_start(text)
        if hold is not None:
            text, self._held = text[:hold], text[hold:]
        return mask_keys(text, self._known)

    def flush(self) -> str:
        text = self._held + strip_controls(self._raw)  # an unterminated sequence goes whole
        self._raw = self._held = ""
        for secret in self._known:  # the stream ended inside a known secret: most of it is still a secret
            for size in range(min(len(secret) - 1, len(text)), 11, -1):
                if text.endswith(secret[:size]):
                    text = text[:-size] + mask_secret(secret[:size])
                    break
        return mask_keys(text, self._known)

    def _incomplete_escape(self, raw: str) -> int | None:
        """Where a trailing escape sequence that is not complete yet starts (None: there is none, or it is too long
        to wait for: it is then removed as unterminated)."""
        start = max(0, len(raw) - self._max_hold)
        for match in reversed(list(_ESCAPE_START.finditer(raw, start))):
            begin = match.start()
            if _COMPLETE_ESCAPE.match(raw, begin) is None:
                return begin
            return None  # the last sequence is complete, so every one before it ended too
        return None

    def _possible_key_start(self, text: str) -> int | None:
        """Where a tail that may still grow into a key (or a known secret) starts; None when there is none."""
        best: int | None = None
        match = _KEY_START_AT_END.search(text)
        if match is not None and len(text) - match.start() <= self._max_hold:
            best = match.start()
        for secret in self._known:
            for size in range(min(len(secret) - 1, len(text)), 0, -1):
                if text.endswith(secret[:size]):
                    at = len(text) - size
                    best = at if best is None else min(best, at)
                    break
        return best

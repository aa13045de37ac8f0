"""What the CLI prints: every line masked (keys) and cleaned (control characters), JSON for --json, the exit codes.

Imported by `--version` and `--help` (through the parser): it imports nothing heavy at module level.
"""

from __future__ import annotations

import os
import re
import sys

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with what the user asked for: printed plainly, exit code 2."""


# The key values this run has read (from --api-key-*, the settings in effect): every line printed is masked against
# them and against anything shaped like an `sk-` key, so no path of the CLI can print a key in clear.
known_secrets: list[str] = []


def remember_secret(value: str | None) -> None:
    if value and value not in known_secrets:
        known_secrets.append(value)


def masked(text: str) -> str:
    """Any text before it is printed: no escape sequence or control character (but newline and tab: the CLI's own
    text has them), keys masked. Only colour_diff adds colour, after this."""
    from optscale_tui.core.secrets import clean_outside_text

    return clean_outside_text(str(text), known_secrets)


def shown(text: str | None, *, single_line: bool = True) -> str:
    """Outside text (the gateway's, Claude Code's, a settings file's) as it may reach the terminal."""
    from optscale_tui.core.secrets import clean_outside_text

    return clean_outside_text(text, known_secrets, single_line=single_line)


def out(text: str = "", *, coloured: bool = False, json_text: bool = False) -> None:
    # JSON (from json_text) is escaped and masked already: cleaning it would not change it, but it costs time.
    print(text if coloured or json_text else masked(text), flush=True)


def err(text: str) -> None:
    print(masked(text), file=sys.stderr, flush=True)


# Characters JSON leaves raw with ensure_ascii=False that a terminal still acts on (DEL, C1) or that reorder text.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069"
                          "\ufeff\ud800-\udfff]")


def json_text(payload: object, *, ensure_ascii: bool = False) -> str:
    """JSON for stdout: keys masked in every string, and no character a terminal acts on, even unescaped ones."""
    import json

    from optscale_tui.core.secrets import mask_keys

    def masked_value(value: object) -> object:
        if isinstance(value, str):  # the data stays as it is (JSON escapes it), but for keys
            return mask_keys(value, known_secrets)
        if isinstance(value, dict):
            return {masked_value(k): masked_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [masked_value(v) for v in value]
        return value

    text = json.dumps(masked_value(payload), indent=2, ensure_ascii=ensure_ascii)
    # These only occur inside strings (JSON's own syntax is ASCII), where \uXXXX is the same character.
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def colour_diff(diff: str) -> str:
    diff = masked(diff)  # a settings file may hold DEL or C1 characters raw (JSON allows them): cleaned first
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return diff
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            lines.append(f"\x1b[1m{line}\x1b[0m")
        elif line.startswith("+"):
            lines.append(f"\x1b[32m{line}\x1b[0m")
        elif line.startswith("-"):
            lines.append(f"\x1b[31m{line}\x1b[0m")
        elif line.startswith("@@"):
            lines.append(f"\x1b[36m{line}\x1b[0m")
        else:
            lines.append(line)
    return "\n".join(lines)

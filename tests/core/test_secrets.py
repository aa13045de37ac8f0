"""core/secrets.py: the one secret-name rule, key masking, and cleaning outside text (whole and streamed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optscale_tui.core import secrets
from optscale_tui.core.clients.claude_code.effective import display_value, is_secret_variable
from optscale_tui.core.clients.claude_code.schema import plan_env_edit
from optscale_tui.core.config.plan import SettingsDocument, load_settings
from optscale_tui.core.secrets import (
    OutsideTextStream,
    clean_outside_text,
    is_clean,
    is_secret_name,
    mask_keys,
    mask_secret,
    strip_controls,
)
from tests.hostile.text_gateway import HOSTILE_MODELS, HOSTILE_REPLY, KEY, raw_control_chars

SECRET_VALUE = "projects/x/credentials-VALUE-0123456789-abcdef"

# --- one rule ------------------------------------------------------------------------------------------------

SECRET_NAMES = ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "GCP_CREDENTIALS_JSON", "AWS_SECRET_ACCESS_KEY",
                "DB_PASSWORD", "SESSION_COOKIE", "MY_PASSWD", "github_token")
PLAIN_NAMES = ("ANTHROPIC_BASE_URL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "CLAUDE_CODE_SUBAGENT_MODEL", "HTTPS_PROXY")


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_plain_names(name: str) -> None:
    assert not is_secret_name(name)


def _doc(tmp_path: Path, env: dict[str, str]) -> SettingsDocument:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"env": env}, indent=2) + "\n")
    return load_settings(path)


@pytest.mark.parametrize("name", SECRET_NAMES + PLAIN_NAMES)
def test_one_rule_for_every_diff_change_list_and_doctor_row(tmp_path: Path, name: str) -> None:
    """The settings diff, the change list and the doctor agree on every name (GCP_CREDENTIALS_JSON was masked by
    the doctor and shown in clear, old and new value, by plan_env_edit's diff)."""
    old, new = SECRET_VALUE + "-old", SECRET_VALUE + "-new"
    plan = plan_env_edit(_doc(tmp_path, {name: old}), {name: new}, (), "test")
    diff = plan.diff()
    shown_by = {
        "diff": old not in diff and new not in diff,
        "changes": all(new not in repr(c) and old not in repr(c) for c in plan.changes),
        "doctor": new not in display_value(name, new),
        "doctor rule": is_secret_variable(name),
    }
    expected = is_secret_name(name)
    assert shown_by == dict.fromkeys(shown_by, expected)


def test_diff_of_a_file_that_does_not_parse_uses_the_same_rule(tmp_path: Path) -> None:
    from optscale_tui.core.config.diff import masked_diff

    broken = '{"env": {"GCP_CREDENTIALS_JSON": "' + SECRET_VALUE + '",}'  # trailing comma: not JSON
    diff = masked_diff(broken, '{"env": {}}\n', "a", "b")
    assert diff and SECRET_VALUE not in diff


def test_mask_secret_keeps_its_old_import_path() -> None:
    from optscale_tui.core.connection import mask_secret as old_path

    assert old_path is secrets.mask_secret
    assert mask_secret(KEY) == "sk-bf-…cdef"
    assert mask_secret("short") == "…"
    assert mask_secret("") == ""


# --- masking keys in free text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"your key is {KEY}.", "your key is sk-bf-…def."),
        (f"Bearer {KEY}", "Bearer sk-bf-…cdef"),
        (f"/llm_proxy/{KEY}/v1", "/llm_proxy/sk-bf-…cdef/v1"),
        ("sk-ant-api03-abcdefghijkl", "sk-ant-…ijkl"),
        ("SK-BF-ABCDEFGH12345678", "…5678"),
        ("task-12345678 and desk-abcdefghij", "task-12345678 and desk-abcdefghij"),  # words, not keys
        ("sk-short", "sk-short"),
        ("", ""),
    ],
    ids=["sentence", "bearer", "url-path", "anthropic", "upper-case", "words", "short", "empty"],  # no key in an id
)
def test_mask_keys_by_shape(text: str, expected: str) -> None:
    assert mask_keys(text) == expected
    assert mask_keys(expected) == expected  # masking is idempotent


def test_mask_keys_known_secret_of_any_shape() -> None:
    known = "gw-KEY-without-sk-prefix-42"
    assert mask_keys(f"echo {known}!", [known]) == "echo …x-42!"
    assert mask_keys("tiny abc", ["abc"]) == "tiny abc"  # too short to search for


# --- cleaning outside text -----------------------------------------------------------------------------------

HOSTILE_TEXTS = {
    "osc52 clipboard": ("a\x1b]52;c;Y3VybCBldmls\x07b", "ab"),
    "osc0 title, ST": ("a\x1b]0;pwned\x1b\\b", "ab"),
    "osc unterminated": ("a\x1b]0;never ends", "a"),
    "osc cut by a new ESC": ("a\x1b]0;t\x1b[2Jb", "ab"),
    "clear screen": ("\x1b[2J\x1b[Hhello", "hello"),
    "sgr colour": ("\x1b[31;1mred\x1b[0m", "red"),
    "8-bit csi": ("\x9b31mred", "red"),
    "dcs string": ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
    "8-bit dcs": ("a\x90evil\x9cb", "ab"),
    "apc": ("a\x1b_hidden\x1b\\b", "ab"),
    "reset": ("a\x1bcb", "ab"),
    "charset": ("a\x1b(Bb", "ab"),
    "bell": ("ding\x07", "ding"),
    "bare cr spoof": ("bad\r✓ PASS", "bad✓ PASS"),
    "crlf": ("one\r\ntwo", "one\ntwo"),
    "nul and del": ("a\x00b\x7fc", "abc"),
    "nel c1": ("a\x85b", "ab"),
    "backspace": ("abc\x08\x08\x08xyz", "abcxyz"),
    "bidi override": ("abc\u202edcba", "abcdcba"),
    "zero width": ("a\u200bb\ufeff", "ab"),
    "lone surrogate": ("a\ud800b", "a\ufffdb"),
    "tab and newline kept": ("a\tb\nc", "a\tb\nc"),
    "unicode kept": ("wörld 👋 — ✓", "wörld 👋 — ✓"),
    "key split by a control": ("sk-bf-ab\x00cdefgh12345678", "sk-bf-…5678"),
    "key split by an escape": ("sk-bf-ab\x1b[0mcdefgh12345678", "sk-bf-…5678"),
    "key hidden by zero width": ("sk-bf-ab\u200bcdefgh12345678", "sk-bf-…5678"),
}


@pytest.mark.parametrize(("text", "expected"), HOSTILE_TEXTS.values(), ids=HOSTILE_TEXTS.keys())
def test_clean_outside_text(text: str, expected: str) -> None:
    cleaned = clean_outside_text(text)
    assert cleaned == expected
    assert not raw_control_chars(cleaned)
    assert clean_outside_text(cleaned) == cleaned


def test_single_line_turns_breaks_into_spaces() -> None:
    assert clean_outside_text("a\nb\tc\r\nd", single_line=True) == "a b c d"


def test_the_hostile_reply_whole() -> None:
    cleaned = clean_outside_text(HOSTILE_REPLY, [KEY])
    assert KEY not in cleaned and "sk-bf-…cdef" in cleaned
    assert not raw_control_chars(cleaned)
    assert "pwned" not in cleaned and "Y3Vy" not in cleaned  # sequence bodies go with their sequence


def test_is_clean_tells_which_model_ids_change_for_display() -> None:
    assert [m for m in HOSTILE_MODELS if is_clean(m)] == ["anthropic/claude-sonnet-4-6"]


def test_strip_controls_leaves_keys() -> None:
    assert strip_controls(f"\x1b[2J{KEY}") == KEY


# --- streams -------------------------------------------------------------------------------------------------


def _stream(pieces: list[str], known: tuple[str, ...] = ()) -> tuple[list[str], str]:
    cleaner = OutsideTextStream(known)
    out = [cleaner.feed(p) for p in pieces]
    out.append(cleaner.flush())
    return out, "".join(out)


@pytest.mark.parametrize("split", range(1, 40))
def test_a_key_split_across_pieces_is_never_shown(split: int) -> None:
    text = f"your key is {KEY} ok"
    out, joined = _stream([text[:split], text[split:]])
    assert joined == clean_outside_text(text)
    assert all("HOSTILE-TEST" not in piece for piece in out)


def test_a_known_secret_without_key_shape_split_across_pieces() -> None:
    known = "gw-SECRET-value-0123456789"
    text = f"x {known} y"
    for split in range(1, len(text)):
        _, joined = _stream([text[:split], text[split:]], (known,))
        assert known not in joined and "0123456789" not in joined, split


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_the_hostile_reply_streamed_in_pieces_equals_it_cleaned_whole(size: int) -> None:
    pieces = [HOSTILE_REPLY[i:i + size] for i in range(0, len(HOSTILE_REPLY), size)]
    out, joined = _stream(pieces, (KEY,))
    assert joined == clean_outside_text(HOSTILE_REPLY, [KEY])
    for piece in out:
        assert not raw_control_chars(piece)
        assert KEY not in piece


def test_a_stream_ending_inside_a_known_secret_masks_most_of_it() -> None:
    known = "gw-SECRET-value-0123456789"
    _, joined = _stream(["start ", known[:20]], (known,))
    assert known[:20] not in joined


def test_an_endless_unterminated_sequence_is_not_held_forever() -> None:
    cleaner = OutsideTextStream(max_hold=100)
    cleaner.feed("a\x1b]0;")
    shown = "".join(cleaner.feed("x" * 50) for _ in range(10))
    assert len(shown) < 500 and not raw_control_chars(shown)

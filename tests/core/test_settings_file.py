"""core/config (plan, jsontext, diff) and the Claude Code schema: strict loading, surgical plans and the masked diff (saving is in test_settings_save.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_code.schema import (
    OWNED_ENV_KEYS,
    SAVED_AS,
    plan_apply,
    plan_env_edit,
    plan_remove,
    stored_values,
)
from optscale_tui.core.config import jsontext
from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.plan import PlannedChange, SettingsDocument, load_settings
from optscale_tui.core.config.store import save_plan
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url

ORG = "7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f"
URL = parse_base_url(f"https://my.optscale.ai/llm_proxy/{ORG}/v1")
SECRET = "sk-bf-SECRET-do-not-leak-0123456789"
TIERS = TierMapping(haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6",
                    opus="anthropic/claude-opus-4-6")
VALUES = ConnectionValues(URL, ApiKey(SECRET), TIERS)
VALID = [
    "bom-utf8.json",
    "compact-one-line.json",
    "four-space-old-gateway-no-final-newline.json",
    "minimal.json",
    "non-string-env-values.json",
    "rich-user-settings.json",
    "tabs-unicode-escapes.json",
]
# Names whose lines a plan may touch: ours, the API key it removes, and the env block it may create.
OUR_NAMES = (*OWNED_ENV_KEYS, "ANTHROPIC_API_KEY")


def copy(settings_fixtures: Path, name: str, tmp_path: Path) -> Path:
    dest = tmp_path / Path(name).name
    shutil.copyfile(settings_fixtures / name, dest)  # copyfile: not the fixtures' read-only mode
    dest.chmod(0o600)
    return dest


def write(tmp_path: Path, text: str | bytes, name: str = "settings.json") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def values(**changes: object) -> ConnectionValues:
    base = {"url": URL, "key": ApiKey(SECRET), "tiers": TIERS}
    base.update(changes)
    return ConnectionValues(**base)  # type: ignore[arg-type]


def change(plan, key: str) -> PlannedChange | None:
    return next((c for c in plan.changes if c.key == key), None)


# ------------------------------------------------------------------------------------------------- loading


@pytest.mark.parametrize("name", VALID)
def test_valid_fixtures_load(settings_fixtures: Path, name: str) -> None:
    path = settings_fixtures / name
    raw = path.read_bytes()
    doc = load_settings(path)
    assert doc.exists and not doc.was_empty
    assert doc.data == json.loads(raw.decode("utf-8-sig"))
    assert doc.content_hash == hashlib.sha256(raw).hexdigest()
    assert doc.final_newline == raw.endswith(b"\n")
    assert isinstance(doc.env, dict)


@pytest.mark.parametrize(
    ("name", "indent"),
    [("bom-utf8.json", "  "), ("four-space-old-gateway-no-final-newline.json", "    "),
     ("tabs-unicode-escapes.json", "\t"), ("compact-one-line.json", None), ("rich-user-settings.json", "  ")],
)
def test_indent_style_is_detected(settings_fixtures: Path, name: str, indent: str | None) -> None:
    assert load_settings(settings_fixtures / name).indent == indent


def test_bom_is_valid_input_and_remembered(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "bom-utf8.json")
    assert doc.bom
    assert not doc.text.startswith("\ufeff")
    assert doc.env == {"EDITOR": "vim"}


def test_non_string_env_values_are_kept_with_a_notice(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "non-string-env-values.json")
    assert doc.env == {"API_TIMEOUT_MS": 600000, "DISABLE_PROMPT_CACHING": True}
    notice = " ".join(doc.notices)
    assert "API_TIMEOUT_MS (a number)" in notice and "DISABLE_PROMPT_CACHING (a boolean)" in notice
    assert "strings" in notice


@pytest.mark.parametrize(
    ("name", "line", "column", "phrase"),
    [
        ("invalid/trailing-comma.json", 3, 13, "trailing comma"),
        ("invalid/comment.json", 2, 3, "comments are not allowed in JSON"),
        ("invalid/top-level-array.json", 1, 1, "must be a JSON object"),
        ("invalid/env-not-object.json", 2, 10, '"env" must be an object'),
    ],
)
def test_invalid_fixtures_are_refused_with_line_and_column(
    settings_fixtures: Path, name: str, line: int, column: int, phrase: str
) -> None:
    path = settings_fixtures / name
    with pytest.raises(SettingsError) as err:
        load_settings(path)
    assert (err.value.line, err.value.column) == (line, column)
    assert phrase in err.value.reason
    assert err.value.cause is Cause.SETTINGS_INVALID
    assert f"line {line}, column {column}" in str(err.value)
    assert err.value.path == path


@pytest.mark.parametrize(
    ("text", "line", "column", "phrase"),
    [
        ('{\n  "a": [1, 2,]\n}', 2, 13, "trailing comma"),
        ('{"a": 1, /* c */ "b": 2}', 1, 10, "comments are not allowed"),
        ('{"a": 1 // c\n}', 1, 9, "comments are not allowed"),
        ("{'a': 1}", 1, 2, "double quotes"),
        ('{a: 1}', 1, 2, "names must be in double quotes"),
        ('{"a": True}', 1, 7, "lower case"),
        ('{"a": "C:\\Users\\me"}', 1, 10, "invalid escape"),
        ('{"a": 1 "b": 2}', 1, 9, "comma is missing"),
        ('{"a" 1}', 1, 6, "colon"),
        ('{"a": "x\ty"}', 1, 9, "raw tab or line break"),
        ('{"a": 1}\n{"b": 2}', 2, 1, "more text after the end"),
        ('{\n  "a": {\n', 3, 1, "ends before the JSON is complete"),
        ('{"a": "unclosed}', 1, 7, "string is not closed"),
        ('{"a": NaN}', 1, 7, "NaN is not a JSON number"),
        ('{"b": "NaN", "a": -Infinity}', 1, 19, "-Infinity is not a JSON number"),
        ('{"a": @}', 1, 7, "not valid JSON here"),
    ],
)
def test_common_json_mistakes_get_plain_reasons(
    tmp_path: Path, text: str, line: int, column: int, phrase: str
) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, text))
    assert phrase in err.value.reason
    assert (err.value.line, err.value.column) == (line, column)


def test_non_utf8_and_utf16_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, b'{\n  "a": "caf\xe9"\n}'))
    assert "not UTF-8" in err.value.reason
    assert err.value.line == 2
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, '{"a": 1}'.encode("utf-16")))
    assert "UTF-16" in err.value.reason


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_treated_as_empty_object_with_a_notice(tmp_path: Path, content: bytes) -> None:
    doc = load_settings(write(tmp_path, content))
    assert doc.exists and doc.was_empty
    assert doc.data == {}
    assert any("empty" in n and "nothing is lost" in n for n in doc.notices)


def test_empty_fixture_plan_writes_a_complete_file(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "invalid" / "empty-file.json")
    plan = plan_apply(doc, VALUES)
    assert plan.new_text.startswith('{\n  "env": {\n    "ANTHROPIC_BASE_URL"')
    assert plan.new_text.endswith("}\n")
    assert json.loads(plan.new_text)["env"]["ANTHROPIC_AUTH_TOKEN"] == SECRET


@pytest.mark.parametrize("relative", ["settings.json", "no/such/folder/settings.json"])
def test_missing_file_or_folder_is_fine(tmp_path: Path, relative: str) -> None:
    doc = load_settings(tmp_path / relative)
    assert not doc.exists
    assert doc.data == {} and doc.text == "" and doc.content_hash == ""
    plan = plan_apply(doc, VALUES)
    # New files: 2-space indent and a final newline.
    assert plan.new_text == json.dumps(json.loads(plan.new_text), indent=2, ensure_ascii=False) + "\n"
    assert plan.has_changes


def test_a_folder_is_not_a_settings_file(tmp_path: Path) -> None:
    (tmp_path / "settings.json").mkdir()
    with pytest.raises(SettingsError, match="folder"):
        load_settings(tmp_path / "settings.json")


def test_duplicate_keys_last_one_wins_like_claude_code(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "env": {\n    "A": "1",\n    "A": "2"\n  },\n  "theme": "x",\n  "theme": "y"\n}\n')
    doc = load_settings(path)
    assert doc.env == {"A": "2"}
    assert doc.data["theme"] == "y"
    assert any('"theme" appears 2 times' in n for n in doc.notices)
    assert any("env.A appears 2 times" in n for n in doc.notices)


def test_duplicate_owned_key_keeps_only_the_effective_copy(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "env": {\n    "ANTHROPIC_BASE_URL": "https://old/a",\n    "X": "1",\n'
                           '    "ANTHROPIC_BASE_URL": "https://older/b"\n  }\n}\n')
    plan = plan_apply(load_settings(path), VALUES)
    assert plan.new_text.count("ANTHROPIC_BASE_URL") == 1
    assert json.loads(plan.new_text)["env"]["ANTHROPIC_BASE_URL"] == URL.anthropic_base
    assert '    "X": "1",\n' in plan.new_text
    assert any("duplicate" in n for n in plan.notices)


def test_duplicate_env_blocks_edit_the_effective_last_one(tmp_path: Path) -> None:
    text = '{\n  "env": {"IGNORED": "1"},\n  "env": {\n    "USED": "2"\n  }\n}\n'
    plan = plan_apply(load_settings(write(tmp_path, text)), VALUES)
    assert '  "env": {"IGNORED": "1"},\n' in plan.new_text
    assert json.loads(plan.new_text)["env"]["USED"] == "2"
    assert json.loads(plan.new_text)["env"]["ANTHROPIC_AUTH_TOKEN"] == SECRET


# ------------------------------------------------------------------------------------------- plan_apply


@pytest.mark.parametrize("name", VALID)
def test_plan_apply_sets_our_keys_and_keeps_everything_else(settings_fixtures: Path, name: str) -> None:
    doc = load_settings(settings_fixtures / name)
    plan = plan_apply(doc, VALUES)
    new = json.loads(plan.new_text)
    env = new["env"]
    assert env["ANTHROPIC_BASE_URL"] == f"https://my.optscale.ai/llm_proxy/{ORG}/anthropic"
    assert env["ANTHROPIC_AUTH_TOKEN"] == SECRET
    assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "anthropic/claude-haiku-4-5"
    assert env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "anthropic/claude-sonnet-4-6"
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "anthropic/claude-opus-4-6"
    assert "ANTHROPIC_API_KEY" not in env
    # Every other key and value survives, in its order.
    old_top = [k for k in doc.data if k != "env"]
    assert [k for k in new if k != "env"] == old_top
    assert all(new[k] == doc.data[k] for k in old_top)
    others = [k for k in doc.env if k not in OUR_NAMES]
    assert [k for k in env if k not in OUR_NAMES] == others
    assert all(env[k] == doc.env[k] and type(env[k]) is type(doc.env[k]) for k in others)
    # The final newline is kept (or stays absent).
    assert plan.new_text.endswith("\n") == doc.text.endswith("\n")


@pytest.mark.parametrize("name", [n for n in VALID if n not in ("compact-one-line.json", "non-string-env-values.json")])
def test_plan_apply_leaves_every_other_line_byte_identical(settings_fixtures: Path, name: str) -> None:
    doc = load_settings(settings_fixtures / name)
    plan = plan_apply(doc, VALUES)
    old_lines = Counter(doc.text.splitlines())
    new_lines = Counter(plan.new_text.splitlines())
    removed = old_lines - new_lines
    added = new_lines - old_lines
    assert all(any(f'"{k}"' in line for k in OUR_NAMES) for line in removed), removed
    structural = {"{", "}", "},", '"env": {'}
    assert all(any(f'"{k}"' in line for k in OUR_NAMES) or line.strip() in structural for line in added), added
    assert added  # the plan does add our lines


def test_one_line_files_stay_one_line(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "compact-one-line.json")
    plan = plan_apply(doc, VALUES)
    assert "\n" not in plan.new_text
    assert plan.new_text.startswith('{"env":{"ANTHROPIC_AUTH_TOKEN":')
    assert plan.new_text.endswith(',"theme":"dark"}')
    assert '","ANTHROPIC_BASE_URL":"' in plan.new_text  # compact separators kept


def test_inline_env_keeps_its_spacing(settings_fixtures: Path) -> None:
    plan = plan_apply(load_settings(settings_fixtures / "non-string-env-values.json"), VALUES)
    line = plan.new_text.splitlines()[1]
    assert line.startswith('  "env": {"ANTHROPIC_BASE_URL": "')
    assert line.endswith('", "API_TIMEOUT_MS": 600000, "DISABLE_PROMPT_CACHING": true}')


@pytest.mark.parametrize(
    ("name", "member_indent"),
    [("four-space-old-gateway-no-final-newline.json", "        "), ("tabs-unicode-escapes.json", "\t\t"),
     ("rich-user-settings.json", "    "), ("minimal.json", "    ")],
)
def test_new_members_use_the_files_indent(settings_fixtures: Path, name: str, member_indent: str) -> None:
    plan = plan_apply(load_settings(settings_fixtures / name), VALUES)
    token_line = next(line for line in plan.new_text.splitlines() if "ANTHROPIC_AUTH_TOKEN" in line)
    assert token_line.startswith(member_indent + '"')
    assert not token_line.startswith(member_indent + " ") and not token_line.startswith(member_indent + "\t")


def test_escapes_and_non_ascii_in_untouched_values_are_kept_exactly(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "tabs-unicode-escapes.json")
    plan = plan_apply(doc, VALUES)
    assert '\t\t"GREETING": "h\\u00e9llo \\"quoted\\" \\\\ back\\\\slash",\n' in plan.new_text
    assert '\t\t"EMOJI": "🚀"\n' in plan.new_text


def test_api_key_in_env_is_removed_with_the_reason(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "four-space-old-gateway-no-final-newline.json")
    plan = plan_apply(doc, VALUES)
    removal = change(plan, "env.ANTHROPIC_API_KEY")
    assert removal is not None and removal.new is None
    assert "x-api-key and Bearer" in removal.reason
    assert "ANTHROPIC_API_KEY" not in plan.new_text
    assert '"apiKeyHelper": "~/bin/get-old-key.sh",' in plan.new_text  # a command, not ours: left alone
    assert not plan.new_text.endswith("\n")


def test_existing_owned_value_is_replaced_in_place(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "four-space-old-gateway-no-final-newline.json")
    plan = plan_apply(doc, VALUES)
    lines = plan.new_text.splitlines()
    assert lines[2] == f'        "ANTHROPIC_BASE_URL": "https://my.optscale.ai/llm_proxy/{ORG}/anthropic",'
    c = change(plan, "env.ANTHROPIC_BASE_URL")
    assert c is not None and c.old == "https://old-gateway.example.com/anthropic"


def test_cleared_tier_removes_its_keys(tmp_path: Path) -> None:
    text = ('{\n  "env": {\n    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "a/h",\n    "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME": "H",\n'
            '    "CLAUDE_CODE_SUBAGENT_MODEL": "a/s",\n    "KEEP": "me"\n  }\n}\n')
    doc = load_settings(write(tmp_path, text))
    plan = plan_apply(doc, values(tiers=TierMapping(haiku=None, sonnet="a/s", opus="a/o")))
    env = json.loads(plan.new_text)["env"]
    for gone in ("ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME", "CLAUDE_CODE_SUBAGENT_MODEL"):
        assert gone not in env
        c = change(plan, f"env.{gone}")
        assert c is not None and c.new is None and c.reason
    assert env["KEEP"] == "me"
    assert '    "KEEP": "me"\n' in plan.new_text


def test_optional_keys_display_names_subagent_and_main_model(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "rich-user-settings.json")
    tiers = TierMapping(haiku="a/h", sonnet="a/s", opus="a/o", main_model="a/o", subagent_model="a/h")
    plan = plan_apply(doc, values(tiers=tiers, display_names={"sonnet": " OptScale Sonnet ", "opus": "OptScale Opus"}))
    new = json.loads(plan.new_text)
    assert new["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL_NAME"] == "OptScale Sonnet"
    assert new["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL_NAME"] == "OptScale Opus"
    assert "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME" not in new["env"]
    assert new["env"]["CLAUDE_CODE_SUBAGENT_MODEL"] == "a/h"
    assert new["model"] == "a/o"
    assert change(plan, "model") == PlannedChange("model", "sonnet", "a/o", change(plan, "model").reason)
    assert '  "model": "a/o",\n' in plan.new_text  # replaced where it was (line 3)
    assert plan.new_text.splitlines()[2] == '  "model": "a/o",'


def test_main_model_none_leaves_the_users_model_alone(settings_fixtures: Path) -> None:
    plan = plan_apply(load_settings(settings_fixtures / "rich-user-settings.json"), VALUES)
    assert json.loads(plan.new_text)["model"] == "sonnet"
    assert change(plan, "model") is None


ELSEWHERE = "https://elsewhere.example/llm_proxy/other-org/anthropic"
HERE = URL.anthropic_base
SONNET_OPUS = TierMapping(sonnet="anthropic/claude-sonnet-4-6", opus="anthropic/claude-opus-4-6")
SONNET_ONLY = TierMapping(sonnet="anthropic/claude-sonnet-4-6")


@pytest.mark.parametrize(("model", "file_url", "tiers"), [
    ("other-gw/main", ELSEWHERE, TIERS),  # another gateway's id: this one would refuse it
    ("other-gw/main", None, TIERS),  # a file with no gateway yet
    ("claude-opus-4-1", ELSEWHERE, TIERS),  # a bare id of the previous connection, not a model these values map
    ("haiku", HERE, SONNET_OPUS),  # an alias of a tier left unmapped: Claude Code would send its built-in haiku
    ("opusplan", HERE, TierMapping(opus="anthropic/claude-opus-4-6")),  # Opus plans, Sonnet (unmapped) works
])
def test_without_a_main_model_a_model_these_values_cannot_serve_is_removed_with_a_reason(
        tmp_path: Path, model: str, file_url: str | None, tiers: TierMapping) -> None:
    env = {"ANTHROPIC_BASE_URL": file_url} if file_url else {}
    doc = load_settings(write(tmp_path, json.dumps({"model": model, "theme": "dark", "env": env}, indent=2)))
    plan = plan_apply(doc, values(tiers=tiers))
    data = json.loads(plan.new_text)
    assert "model" not in data and data["theme"] == "dark"
    removed = change(plan, "model")
    assert removed is not None and (removed.old, removed.new) == (model, None)
    assert "refuse" in removed.reason or "built-in" in removed.reason
    assert f'"model": "{model}"' in plan.diff()


@pytest.mark.parametrize(("model", "file_url", "tiers"), [
    ("sonnet", ELSEWHERE, TIERS),  # an alias (/model writes one) of a tier these values map
    ("opus[1m]", ELSEWHERE, TIERS),
    ("Default", None, TIERS),  # the default session: the Opus tier
    ("opusplan", ELSEWHERE, SONNET_OPUS),
    ("anthropic/claude-opus-4-6", ELSEWHERE, TIERS),  # the values' own Opus model
    ("anthropic/claude-sonnet-4-6[1m]", ELSEWHERE, TIERS),
    ("gw/picked-by-hand", HERE, TIERS),  # a model chosen for this same gateway: the user's, kept as plain apply did
    ("haiku", HERE, SONNET_ONLY),  # unmapped Haiku, but without Opus the default session is no better
    ("best", ELSEWHERE, TIERS),  # resolved by Claude Code itself
])
def test_without_a_main_model_a_model_that_reaches_these_values_stays(
        tmp_path: Path, model: str, file_url: str | None, tiers: TierMapping) -> None:
    env = {"ANTHROPIC_BASE_URL": file_url} if file_url else {}
    doc = load_settings(write(tmp_path, json.dumps({"model": model, "env": env}, indent=2)))
    plan = plan_apply(doc, values(tiers=tiers))
    assert json.loads(plan.new_text)["model"] == model
    assert change(plan, "model") is None


@pytest.mark.parametrize(("model", "file_url", "kept"), [
    ("other-gw/main", ELSEWHERE, False),  # the previous connection's id: this gateway would refuse it
    ("haiku", HERE, True),  # an alias of a tier these values map
    ("anthropic/claude-opus-4-6", ELSEWHERE, True),  # the values' own Opus model
])
def test_without_a_main_model_an_env_anthropic_model_follows_the_same_rule_as_the_top_level_one(
        tmp_path: Path, model: str, file_url: str, kept: bool) -> None:
    # ANTHROPIC_MODEL outranks the top-level `model`: left from another gateway, Claude Code would send it here.
    doc = load_settings(write(tmp_path, json.dumps({"env": {"ANTHROPIC_BASE_URL": file_url,
                                                            "ANTHROPIC_MODEL": model, "KEEP": "1"}}, indent=2)))
    plan = plan_apply(doc, values(tiers=TIERS))
    env = json.loads(plan.new_text)["env"]
    assert env["KEEP"] == "1"
    if kept:
        assert env["ANTHROPIC_MODEL"] == model and change(plan, "env.ANTHROPIC_MODEL") is None
    else:
        removed = change(plan, "env.ANTHROPIC_MODEL")
        assert "ANTHROPIC_MODEL" not in env and removed is not None and "refuse" in removed.reason
        assert f'"ANTHROPIC_MODEL": "{model}"' in plan.diff()


def test_an_env_anthropic_model_that_would_replace_the_main_model_written_is_removed(tmp_path: Path) -> None:
    doc = load_settings(write(tmp_path, json.dumps({"env": {"ANTHROPIC_MODEL": "other-gw/main"}})))
    plan = plan_apply(doc, values(tiers=replace(TIERS, main_model="anthropic/claude-sonnet-4-6")))
    data = json.loads(plan.new_text)
    assert data["model"] == "anthropic/claude-sonnet-4-6" and "ANTHROPIC_MODEL" not in data["env"]
    assert "outranks" in change(plan, "env.ANTHROPIC_MODEL").reason
    same = load_settings(write(tmp_path, json.dumps({"env": {"ANTHROPIC_MODEL": "anthropic/claude-sonnet-4-6"}})))
    plan = plan_apply(same, values(tiers=replace(TIERS, main_model="anthropic/claude-sonnet-4-6")))
    assert json.loads(plan.new_text)["env"]["ANTHROPIC_MODEL"] == "anthropic/claude-sonnet-4-6"


def test_empty_display_name_removes_it(tmp_path: Path) -> None:
    doc = load_settings(write(tmp_path, '{"env": {"ANTHROPIC_DEFAULT_OPUS_MODEL_NAME": "Old"}}'))
    plan = plan_apply(doc, values(display_names={"opus": ""}))
    assert "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME" not in json.loads(plan.new_text)["env"]


@pytest.mark.parametrize(("flag", "expected"), [(True, "1"), (False, None), (None, "keep")])
def test_disable_experimental_betas(tmp_path: Path, flag: bool | None, expected: str | None) -> None:
    doc = load_settings(write(tmp_path, '{\n  "env": {\n    "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "true"\n  }\n}\n'))
    env = json.loads(plan_apply(doc, values(disable_experimental_betas=flag)).new_text)["env"]
    if expected is None:
        assert "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS" not in env
    elif expected == "keep":
        assert env["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "true"
    else:
        assert env["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == expected


def test_key_none_keeps_the_existing_token(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "compact-one-line.json")
    plan = plan_apply(doc, values(key=None))
    assert json.loads(plan.new_text)["env"]["ANTHROPIC_AUTH_TOKEN"] == "sk-bf-FAKE-compact-0000"
    assert change(plan, "env.ANTHROPIC_AUTH_TOKEN") is None
    assert not any("API key" in n for n in plan.notices)


def test_key_none_without_a_token_is_a_notice_not_a_crash(settings_fixtures: Path) -> None:
    plan = plan_apply(load_settings(settings_fixtures / "minimal.json"), values(key=None))
    assert "ANTHROPIC_AUTH_TOKEN" not in json.loads(plan.new_text)["env"]
    assert any("No API key" in n for n in plan.notices)


def test_applying_the_same_values_twice_changes_nothing(tmp_path: Path, settings_fixtures: Path) -> None:
    first = plan_apply(load_settings(settings_fixtures / "rich-user-settings.json"), VALUES)
    doc = load_settings(write(tmp_path, first.new_text))
    again = plan_apply(doc, VALUES)
    assert not again.has_changes
    assert again.changes == ()
    assert again.diff() == ""
    assert again.new_text == doc.text


def test_equal_values_keep_their_original_spelling(tmp_path: Path) -> None:
    text = '{\n  "env": {\n    "ANTHROPIC_DEFAULT_OPUS_MODEL": "a\\/o"\n  }\n}\n'  # "a\/o" == "a/o"
    plan = plan_apply(load_settings(write(tmp_path, text)), values(tiers=TierMapping(opus="a/o")))
    assert '"ANTHROPIC_DEFAULT_OPUS_MODEL": "a\\/o"' in plan.new_text
    assert change(plan, "env.ANTHROPIC_DEFAULT_OPUS_MODEL") is None


def test_owned_non_string_value_becomes_a_string(tmp_path: Path) -> None:
    doc = load_settings(write(tmp_path, '{"env": {"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": 1}}'))
    plan = plan_apply(doc, values(disable_experimental_betas=True))
    assert json.loads(plan.new_text)["env"]["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"


def test_empty_env_and_empty_object_are_expanded_readably(tmp_path: Path) -> None:
    plan = plan_apply(load_settings(write(tmp_path, '{\n  "env": {},\n  "theme": "dark"\n}\n')),
                      values(key=None, tiers=TierMapping(opus="a/o")))
    assert plan.new_text == (
        '{\n  "env": {\n    "ANTHROPIC_BASE_URL": "' + URL.anthropic_base + '",\n'
        '    "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/o"\n  },\n  "theme": "dark"\n}\n'
    )
    plan = plan_apply(load_settings(write(tmp_path, "{}")), values(key=None, tiers=TierMapping(opus="a/o")))
    assert plan.new_text == (
        '{\n  "env": {\n    "ANTHROPIC_BASE_URL": "' + URL.anthropic_base + '",\n'
        '    "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/o"\n  }\n}'
    )


def test_crlf_files_keep_crlf(tmp_path: Path) -> None:
    text = '{\r\n  "theme": "dark"\r\n}\r\n'
    plan = plan_apply(load_settings(write(tmp_path, text)), VALUES)
    assert "\n" not in plan.new_text.replace("\r\n", "")
    assert plan.new_text.endswith('  "theme": "dark"\r\n}\r\n')


def test_schema_stays_first(tmp_path: Path) -> None:
    text = '{\n  "$schema": "https://json.schemastore.org/claude-code-settings.json",\n  "theme": "dark"\n}\n'
    new = json.loads(plan_apply(load_settings(write(tmp_path, text)), VALUES).new_text)
    assert list(new) == ["$schema", "env", "theme"]


def test_a_wrong_edit_is_caught_before_anything_could_be_written(
    settings_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulate a bug in the text editor: replacing a value silently does nothing.
    monkeypatch.setattr(jsontext.TextEditor, "replace_value", lambda self, member, value: None)
    doc = load_settings(settings_fixtures / "four-space-old-gateway-no-final-newline.json")
    with pytest.raises(SettingsError, match="internal error"):
        plan_apply(doc, VALUES)


# ---------------------------------------------------------------------------------- plan_remove / env edit


@pytest.mark.parametrize(
    "name", ["bom-utf8.json", "minimal.json", "tabs-unicode-escapes.json", "rich-user-settings.json",
             "non-string-env-values.json"],
)
def test_apply_then_remove_gives_back_the_original_bytes(tmp_path: Path, settings_fixtures: Path, name: str) -> None:
    doc = load_settings(settings_fixtures / name)
    applied = plan_apply(doc, values(display_names={"opus": "O"}, disable_experimental_betas=True))
    removed = plan_remove(load_settings(write(tmp_path, applied.new_text)))
    assert removed.new_text == doc.text
    assert {c.key for c in removed.changes} >= {f"env.{k}" for k in ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN")}


def test_remove_keeps_other_env_keys_and_foreign_model(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "four-space-old-gateway-no-final-newline.json")
    plan = plan_remove(doc)
    env = json.loads(plan.new_text)["env"]
    assert env == {"ANTHROPIC_API_KEY": "sk-old-FAKE-0000000000000000", "HTTPS_PROXY": "http://proxy.corp.example:3128"}
    rich = plan_remove(load_settings(settings_fixtures / "rich-user-settings.json"))
    assert not rich.has_changes  # nothing of ours there; "model": "sonnet" is the user's


def test_remove_drops_a_gateway_model_id(tmp_path: Path) -> None:
    plan = plan_remove(load_settings(write(tmp_path, '{\n  "model": "anthropic/claude-sonnet-4-6",\n  "theme": "x"\n}\n')))
    assert plan.new_text == '{\n  "theme": "x"\n}\n'
    assert change(plan, "model").new is None


def test_remove_leaves_an_already_empty_env_alone(tmp_path: Path) -> None:
    doc = load_settings(write(tmp_path, '{\n  "env": {}\n}\n'))
    assert not plan_remove(doc).has_changes


def test_remove_drops_env_that_held_only_our_keys(tmp_path: Path) -> None:
    doc = load_settings(write(tmp_path, '{\n  "theme": "x",\n  "env": {\n    "ANTHROPIC_AUTH_TOKEN": "t"\n  }\n}\n'))
    assert plan_remove(doc).new_text == '{\n  "theme": "x"\n}\n'


def test_plan_env_edit_sets_and_removes_any_key(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "rich-user-settings.json")
    plan = plan_env_edit(doc, {"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"}, ["MY_TEAM_TAG", "NOT_THERE"],
                         "fix: gateway rejects betas")
    env = json.loads(plan.new_text)["env"]
    assert env["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"
    assert "MY_TEAM_TAG" not in env
    assert {c.key for c in plan.changes} == {"env.CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS", "env.MY_TEAM_TAG"}
    assert all(c.reason == "fix: gateway rejects betas" for c in plan.changes)
    assert len(plan.diff().splitlines()) > 3


# --------------------------------------------------------------------------------------------------- diff


def test_diff_masks_secrets_on_both_sides(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "compact-one-line.json")
    diff = plan_apply(doc, VALUES).diff()
    assert "sk-bf-FAKE-compact-0000" not in diff
    assert SECRET not in diff
    assert '-{"env":{"ANTHROPIC_AUTH_TOKEN":"sk-bf-…0000"' in diff
    assert '+{"env":{"ANTHROPIC_AUTH_TOKEN":"sk-bf-…6789"' in diff
    assert diff.startswith("--- a/compact-one-line.json\n+++ b/compact-one-line.json\n")
    assert "\\ No newline at end of file" in diff


def test_diff_masks_any_secret_named_env_value(tmp_path: Path) -> None:
    text = ('{\n  "env": {\n    "MY_PASSWORD": "hunter2-long-password",\n    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI0000",\n'
            '    "ANTHROPIC_API_KEY": "sk-ant-api03-zzzzzzzz9999"\n  }\n}\n')
    diff = plan_apply(load_settings(write(tmp_path, text)), VALUES).diff()
    for raw in ("hunter2-long-password", "wJalrXUtnFEMI0000", "sk-ant-api03-zzzzzzzz9999", SECRET):
        assert raw not in diff
    assert '-    "ANTHROPIC_API_KEY": "sk-ant-…9999"' in diff


def test_diff_shows_a_changed_key_even_when_masks_look_alike(tmp_path: Path) -> None:
    doc = load_settings(write(tmp_path, '{\n  "env": {\n    "ANTHROPIC_AUTH_TOKEN": "sk-bf-OTHERKEY-0123456789"\n  }\n}\n'))
    diff = plan_apply(doc, values(tiers=TierMapping())).diff()
    assert '-    "ANTHROPIC_AUTH_TOKEN": "sk-bf-…6789"' in diff
    assert '"ANTHROPIC_AUTH_TOKEN": "sk-bf-…6789 (changed)"' in diff


def test_a_key_pasted_into_another_variable_is_masked_too(tmp_path: Path) -> None:
    text = json.dumps({"env": {"ANTHROPIC_CUSTOM_HEADERS": f"Authorization: Bearer {SECRET}"}}, indent=2)
    diff = plan_apply(load_settings(write(tmp_path, text)), VALUES).diff()
    assert SECRET not in diff


def test_the_key_never_leaks_through_repr_diff_or_errors(tmp_path: Path, settings_fixtures: Path) -> None:
    path = write(tmp_path, json.dumps({"env": {"ANTHROPIC_AUTH_TOKEN": SECRET}}, indent=2))
    doc = load_settings(path)
    plan = plan_apply(doc, values(key=ApiKey(SECRET[:-1] + "X"), tiers=TierMapping(opus="a/o")))
    token_change = change(plan, "env.ANTHROPIC_AUTH_TOKEN")
    shown = [plan.diff(), repr(plan), repr(doc), str(plan), repr(plan.changes), repr(token_change), *plan.notices]
    assert token_change is not None
    for text in shown:
        assert SECRET not in text and SECRET[:-1] + "X" not in text
    # Errors never quote file content.
    broken = write(tmp_path, f'{{"env": {{"ANTHROPIC_AUTH_TOKEN": "{SECRET}",}}}}', "broken.json")
    with pytest.raises(SettingsError) as err:
        load_settings(broken)
    assert SECRET not in str(err.value) and SECRET not in repr(err.value)
    bad_env = write(tmp_path, json.dumps({"env": [SECRET]}), "bad-env.json")
    with pytest.raises(SettingsError) as err:
        load_settings(bad_env)
    assert SECRET not in str(err.value)


def test_diff_of_a_new_file(tmp_path: Path) -> None:
    plan = plan_apply(load_settings(tmp_path / "settings.json"), VALUES)
    diff = plan.diff()
    assert diff.startswith("--- a/settings.json\n+++ b/settings.json\n@@ -0,0 +1,")
    assert all(line.startswith(("+", "---", "@@")) for line in diff.splitlines())
    assert SECRET not in diff


def test_document_repr_is_short_and_safe(settings_fixtures: Path) -> None:
    doc = load_settings(settings_fixtures / "compact-one-line.json")
    assert isinstance(doc, SettingsDocument)
    assert "sk-bf-FAKE" not in repr(doc)
    assert "text=" not in repr(doc) and "data=" not in repr(doc)


def test_five_megabyte_file_loads_plans_and_diffs(tmp_path: Path) -> None:
    big = {"permissions": {"allow": [f"Bash(command-{i} --flag value-{i})" for i in range(110_000)]},
           "env": {"A": "1"}, "theme": "dark"}
    path = write(tmp_path, json.dumps(big, indent=2) + "\n")
    assert path.stat().st_size > 5_000_000
    plan = plan_apply(load_settings(path), VALUES)
    assert json.loads(plan.new_text)["permissions"] == big["permissions"]
    diff = plan.diff()
    body = diff.splitlines()[2:]
    assert [line[0] for line in body].count("+") == 5
    assert not any(line.startswith("-") for line in body)


def test_the_beta_reason_says_what_the_user_chose_not_what_the_gateway_does(tmp_path: Path) -> None:
    # Ticking the box proves nothing about the gateway: the reason must not state that it rejects the betas.
    key = "env.CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"
    empty = load_settings(write(tmp_path, "{}", "empty.json"))
    off = change(plan_apply(empty, values(disable_experimental_betas=True)), key)
    assert off is not None and off.reason == "you turned off experimental betas (for gateways that reject them)"
    turned_off = load_settings(write(tmp_path, '{"env": {"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"}}'))
    back_on = change(plan_apply(turned_off, values(disable_experimental_betas=False)), key)
    assert back_on is not None and back_on.reason == "you turned experimental betas back on"


def test_stored_values_read_back_what_plan_apply_writes(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{}")
    values = ConnectionValues(
        url=parse_base_url("https://gw.example.com/llm_proxy/org/v1"), key=ApiKey("sk-bf-stored-values-0123456789"),
        tiers=TierMapping(opus="a/opus", subagent_model="a/sub", main_model="a/main"),
        disable_experimental_betas=True, display_names={"opus": "Opus via OptScale"})
    save_plan(plan_apply(load_settings(path), values))
    stored = stored_values(load_settings(path))
    assert stored.url is not None and stored.url.anthropic_base == values.url.anthropic_base
    assert stored.key == values.key.value and "sk-bf-stored" not in repr(stored)
    assert stored.tiers == TierMapping(opus="a/opus", subagent_model="a/sub") and stored.model == "a/main"
    assert stored.disable_experimental_betas is True
    assert stored.display_names == {"opus": "Opus via OptScale"}
    assert set(SAVED_AS.values()) == {f"env.{k}" for k in OWNED_ENV_KEYS} | {"model"}


LABELLED = json.dumps({"env": {
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "other/opus-old", "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME": "Opus Old",
    "ANTHROPIC_DEFAULT_OPUS_MODEL_DESCRIPTION": "the old gateway", "ANTHROPIC_DEFAULT_HAIKU_MODEL": TIERS.haiku,
    "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME": "My Haiku", "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME": "Sonnet (built-in)"}},
    indent=2) + "\n"


def test_a_label_written_for_the_tiers_old_model_is_dropped_and_shown_in_the_diff(tmp_path: Path) -> None:
    doc = load_settings(write(tmp_path, LABELLED))
    plan = plan_apply(doc, VALUES)  # no labels given (apply --opus X, profile use, the TUI with labels off)
    env = json.loads(plan.new_text)["env"]
    # Opus now maps another model: its label and description named the old one. Sonnet's named the built-in model.
    for gone in ("ANTHROPIC_DEFAULT_OPUS_MODEL_NAME", "ANTHROPIC_DEFAULT_OPUS_MODEL_DESCRIPTION",
                 "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME"):
        assert gone not in env
        c = change(plan, f"env.{gone}")
        assert c is not None and c.new is None and "mapped before" in c.reason
        assert f'-    "{gone}": ' in plan.diff()
    # Haiku maps the same model as before: the user's label stays.
    assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME"] == "My Haiku"
    assert change(plan, "env.ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME") is None


def test_a_label_given_for_the_new_model_replaces_the_old_one(tmp_path: Path) -> None:
    doc = load_settings(write(tmp_path, LABELLED))
    plan = plan_apply(doc, values(display_names={"opus": "Opus 4.6 (gateway)"}))
    env = json.loads(plan.new_text)["env"]
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL_NAME"] == "Opus 4.6 (gateway)"
    assert "ANTHROPIC_DEFAULT_OPUS_MODEL_DESCRIPTION" not in env  # it described the old model

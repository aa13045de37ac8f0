"""clients/claude_code/schema.py: the one table of Claude Code's settings names, and what is derived from it.

The derived names must stay what they were before the table (insert order decides the bytes a save writes), and
the table must agree with the rules that live elsewhere (the secret rule, the doctor's lists)."""

from __future__ import annotations

import ast
from pathlib import Path

from optscale_tui.core.clients.claude_code import schema
from optscale_tui.core.secrets import is_secret_name

CONFIG_DIR = Path(schema.__file__).resolve().parents[2] / "config"


def test_owned_env_keys_keep_their_order() -> None:
    # The order new keys are inserted in: changing it changes the bytes of every first save.
    assert schema.OWNED_ENV_KEYS == (
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


def test_saved_as_names_every_edited_value_in_order() -> None:
    assert list(schema.SAVED_AS.items()) == [
        ("url", "env.ANTHROPIC_BASE_URL"),
        ("key", "env.ANTHROPIC_AUTH_TOKEN"),
        ("haiku", "env.ANTHROPIC_DEFAULT_HAIKU_MODEL"),
        ("sonnet", "env.ANTHROPIC_DEFAULT_SONNET_MODEL"),
        ("opus", "env.ANTHROPIC_DEFAULT_OPUS_MODEL"),
        ("main_model", "model"),
        ("subagent_model", "env.CLAUDE_CODE_SUBAGENT_MODEL"),
        ("disable_experimental_betas", "env.CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"),
        ("name.haiku", "env.ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME"),
        ("name.sonnet", "env.ANTHROPIC_DEFAULT_SONNET_MODEL_NAME"),
        ("name.opus", "env.ANTHROPIC_DEFAULT_OPUS_MODEL_NAME"),
    ]


def test_the_secret_column_agrees_with_the_one_secret_rule() -> None:
    for row in schema.SCHEMA:
        assert row.secret == is_secret_name(row.key), row.key


def test_the_table_gives_the_doctors_lists_in_the_order_its_notes_use() -> None:
    # The doctor names these in its notes and project-override details, in this order.
    assert schema.TIER_VARIABLES == {
        "haiku": "ANTHROPIC_DEFAULT_HAIKU_MODEL",
        "sonnet": "ANTHROPIC_DEFAULT_SONNET_MODEL",
        "opus": "ANTHROPIC_DEFAULT_OPUS_MODEL",
    }
    assert schema.GATEWAY_ENV_KEYS == (
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_MODEL",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL",
        "ANTHROPIC_DEFAULT_SONNET_MODEL",
        "ANTHROPIC_DEFAULT_OPUS_MODEL",
        "ANTHROPIC_DEFAULT_FABLE_MODEL",
    )


def test_each_reader_drops_what_core_would_refuse() -> None:
    assert schema.read_text("") is None and schema.read_text(1) is None and schema.read_text("x") == "x"
    assert schema.read_model("bad\x1bname") is None and schema.read_model("a/b") == "a/b"
    assert schema.read_url("ftp://gw.example.com/anthropic") is None
    assert schema.read_flag(None) is None and schema.read_flag(" 1 ") is True and schema.read_flag("0") is False


def test_config_imports_no_core_module_but_secrets_and_causes() -> None:
    """core/config is client-neutral: nothing Claude Code specific (connection, doctor, clients) may creep in."""
    allowed = {"optscale_tui.core.secrets", "optscale_tui.core.causes"}
    for module in sorted(CONFIG_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("optscale_tui"):
                assert node.module in allowed or node.module.startswith("optscale_tui.core.config."), (
                    f"{module.name} imports {node.module}")
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("optscale_tui") for alias in node.names), module.name

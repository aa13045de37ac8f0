"""The CLI against a hostile gateway, and with a key typed in the wrong place: no key in clear and no raw terminal
escape in any output, right exit codes, nothing written. Real child processes, as a user runs them."""

from __future__ import annotations

import json

import pytest

from optscale_tui import cli
from tests.hostile.text_gateway import (
    CLEAN_MODEL,
    HOSTILE_MODELS,
    KEY,
    ORG,
    Behaviour,
    HostileGateway,
    raw_control_chars,
)


@pytest.fixture
def hostile():
    with HostileGateway() as gateway:
        yield gateway


def assert_clean(result) -> str:
    out = result.stdout + result.stderr
    assert KEY not in out
    assert "HOSTILE-TEST-KEY" not in out
    assert not raw_control_chars(out), raw_control_chars(out)[:5]
    assert "Traceback" not in out
    return out


def seed(sandbox, gateway: HostileGateway) -> None:
    sandbox.config_dir.mkdir(exist_ok=True)
    sandbox.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": KEY,
        **{f"ANTHROPIC_DEFAULT_{t}_MODEL": CLEAN_MODEL for t in ("HAIKU", "SONNET", "OPUS")}}}))


def test_models_prints_hostile_ids_cleaned_and_marked(sandbox, hostile) -> None:
    result = sandbox.run("models", "--base-url", hostile.base_url, "--api-key-env", "K", env={"K": KEY})
    assert result.returncode == 0, result.stderr
    out = assert_clean(result)
    assert "leak/sk-bf-…cdef  (!)" in out
    assert f"  {CLEAN_MODEL}\n" in result.stdout
    assert result.stdout.count("(!)") == len(HOSTILE_MODELS) - 1


def test_models_json_masks_keys_and_escapes_the_rest(sandbox, hostile) -> None:
    result = sandbox.run("models", "--base-url", hostile.base_url, "--api-key-env", "K", "--json", env={"K": KEY})
    assert result.returncode == 0, result.stderr
    assert_clean(result)
    data = json.loads(result.stdout)
    ids = [m["id"] for m in data["models"]]
    assert "leak/sk-bf-…cdef" in ids
    assert any("\x1b]52;" in i for i in ids)  # the data itself is kept; JSON escapes it on the way out


@pytest.mark.parametrize("as_json", [False, True], ids=["streamed", "json"])
def test_verify_streams_hostile_replies_cleaned(sandbox, hostile, as_json: bool) -> None:
    seed(sandbox, hostile)
    result = sandbox.run("verify", "--no-claude-cli", *(["--json"] if as_json else []))
    assert result.returncode == 0, result.stdout + result.stderr
    out = assert_clean(result)
    if as_json:
        json.loads(result.stdout)
    else:
        assert "pong" in out and "sk-bf-…cdef" in out
        # A reply's own lines are indented under it: none reads like one of our result lines.
        assert not any(line.startswith("✓ Connection verified:") for line in result.stdout.splitlines())


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/json", json.dumps({"error": {"message": f"key {KEY} \x1b]52;c;ZXZpbA==\x07\x1b[2J\r✓ ok"}})),
    ("text/html", f"<title>\x1b]0;pwned\x07 {KEY} \x9b2J</title>"),
    ("text/plain", f"\x1b]0;never terminated {KEY}"),
], ids=["json", "html", "plain"])
def test_error_bodies_are_printed_cleaned(sandbox, hostile, content_type: str, body: str) -> None:
    hostile.behaviour = Behaviour(error_status=502, error_body=body, error_type=content_type)
    result = sandbox.run("models", "--base-url", hostile.base_url, "--api-key-env", "K", env={"K": KEY})
    assert result.returncode == 1
    assert "server_error" in assert_clean(result)
    seed(sandbox, hostile)
    result = sandbox.run("verify", "--no-claude-cli")
    assert result.returncode == 1
    assert_clean(result)


@pytest.mark.parametrize("url", [
    f"https://gw.example.test/llm_proxy/{KEY}/v1",
    f"https://gw.example.test:{KEY}/llm_proxy/{ORG}/v1",
    f"https://gw.example.test:1{KEY}/llm_proxy/{ORG}/v1",
], ids=["path", "port", "port-digit-first"])
def test_a_key_in_the_url_is_an_input_error_and_never_saved(sandbox, url: str) -> None:
    result = sandbox.run("apply", "--base-url", url, "--api-key-env", "K", "--sonnet", CLEAN_MODEL, "--yes",
                         env={"K": KEY})
    assert result.returncode == 2
    assert "API key" in assert_clean(result)
    assert not sandbox.settings.exists()


@pytest.mark.parametrize("argv", [
    ["models", "--base-url", "https://gw.example.test/v1", "--api-key-env", "K", KEY],
    [KEY],
    ["verify", "--timeout", KEY],
    ["apply", "--base-url", "https://gw.example.test/v1", "--api-key-env", "K", "--sonnet", f"a/{KEY}", "--dry-run"],
    ["apply", "--base-url", "https://gw.example.test/v1", "--api-key-env", "K", "--sonnet", "x\x1b]0;t\x07",
     "--dry-run"],
    ["--scope", f"\x1b[2J{KEY}"],
    ["models", "--base-url", "https://gw.example.test/v1", "--api-key-env", KEY],
], ids=["stray-after-command", "stray-alone", "timeout", "model", "model-escape", "choice", "env-name"])
def test_a_key_or_escape_in_the_arguments_is_masked_in_the_error(sandbox, argv: list[str]) -> None:
    result = sandbox.run(*argv, env={"K": KEY})
    assert result.returncode == 2, result.stdout + result.stderr
    assert_clean(result)


def test_an_unexpected_error_prints_a_short_masked_message_without_locals(monkeypatch, capsys) -> None:
    def broken(_args) -> int:
        key_in_a_local = KEY
        raise RuntimeError(f"cannot go on with {key_in_a_local}\x1b[2J")

    monkeypatch.setitem(cli.COMMANDS, "doctor", broken)
    assert cli.main(["doctor"]) == cli.EXIT_PROBLEM
    err = capsys.readouterr().err
    assert "unexpected error: RuntimeError: cannot go on with sk-bf-…cdef" in err
    assert KEY not in err and "key_in_a_local" not in err and "Traceback" not in err
    assert not raw_control_chars(err)

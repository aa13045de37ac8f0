"""A bad-input corpus for the CLI: Base URLs, arguments and hostile gateway texts (model ids, streamed replies, error
bodies). Every case: no traceback, the right exit code, no key in clear and no raw control character in the output.

The CLI runs in this process (`cli.main`), so the corpus stays fast; tests/cli runs the same paths as child processes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from optscale_tui import cli
from tests.hostile.text_gateway import (
    C1,
    CLEAN_MODEL,
    CLEAR,
    HYPERLINK,
    KEY,
    ORG,
    OSC0,
    OSC52,
    SPOOF,
    UNTERMINATED_OSC,
    Behaviour,
    HostileGateway,
    raw_control_chars,
)

OK, PROBLEM, USAGE = cli.EXIT_OK, cli.EXIT_PROBLEM, cli.EXIT_USAGE
HOST = "https://gw.example.test"
GOOD_PATH = f"/llm_proxy/{ORG}/v1"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "CLAUDE_", "NODE_EXTRA_CA", "SSL_CERT", "HTTPS_PROXY", "HTTP_PROXY",
                            "https_proxy", "http_proxy")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("K", KEY)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    cli._known_secrets.clear()  # each case starts as a fresh process would
    return tmp_path


@pytest.fixture(scope="module")
def gateway() -> Iterator[HostileGateway]:
    with HostileGateway() as gw:
        yield gw


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The CLI as `optscale-tui ARGV`; an exception escaping it (a traceback) fails the test by itself."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's usage errors, --help, --version
        code = exc.code if isinstance(exc.code, int) else USAGE
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_clean(out: str) -> None:
    assert KEY not in out
    assert "HOSTILE-TEST-KEY" not in out
    assert not raw_control_chars(out), raw_control_chars(out)[:5]
    assert "Traceback" not in out
    assert "\ud800" not in out


# --- Base URLs -----------------------------------------------------------------------------------------------

BAD_URLS = {
    "key in the path": f"{HOST}/llm_proxy/{KEY}/v1",
    "key after the org": f"{HOST}/llm_proxy/{ORG}/{KEY}",
    "key after v1": f"{HOST}{GOOD_PATH}/{KEY}",
    "key as bearer in the path": f"{HOST}/Bearer%20{KEY}{GOOD_PATH}",
    "key in the query": f"{HOST}{GOOD_PATH}?key={KEY}",
    "key as user": f"https://{KEY}@gw.example.test{GOOD_PATH}",
    "key as password": f"https://u:{KEY}@gw.example.test{GOOD_PATH}",
    "key in the port": f"https://gw.example.test:{KEY}{GOOD_PATH}",
    "key in the host": f"https://{KEY}.example.test{GOOD_PATH}",
    "key glued to the host": f"https://gw{KEY}.example.test{GOOD_PATH}",
    "key as the scheme": f"{KEY}://gw.example.test{GOOD_PATH}",
    "key alone": KEY,
    "key with bearer": f"Bearer {KEY}",
    "other key shape in the path": f"{HOST}/sk-proj-abcdefgh12345678{GOOD_PATH}",
    "osc 52": f"{HOST}{GOOD_PATH}{OSC52}",
    "osc 0": f"{HOST}{OSC0}{GOOD_PATH}",
    "clear screen": f"{CLEAR}{HOST}{GOOD_PATH}",
    "bell": f"{HOST}\x07{GOOD_PATH}",
    "nul": f"{HOST}{GOOD_PATH}\x00",
    "del": f"{HOST}{GOOD_PATH}\x7f",
    "c1 nel": f"{HOST}\x85{GOOD_PATH}",
    "c1 csi": f"{HOST}\x9b2J{GOOD_PATH}",
    "bidi override": f"{HOST}\u202e{GOOD_PATH}",
    "zero width": f"https://gw\u200b.example.test{GOOD_PATH}",
    "lone surrogate": f"{HOST}\ud800{GOOD_PATH}",
    "cr inside": f"{HOST}\r{GOOD_PATH}",
    "newline inside": f"{HOST}\n{GOOD_PATH}",
    "tab inside": f"{HOST}\t{GOOD_PATH}",
    "port 0": f"https://gw.example.test:0{GOOD_PATH}",
    "port 65536": f"https://gw.example.test:65536{GOOD_PATH}",
    "huge port": f"https://gw.example.test:99999999999{GOOD_PATH}",
    "negative port": f"https://gw.example.test:-1{GOOD_PATH}",
    "word port": f"https://gw.example.test:https{GOOD_PATH}",
    "label of 64": f"https://{'a' * 64}.example.test{GOOD_PATH}",
    "host of 254": f"https://{'.'.join(['b' * 50] * 5)}{GOOD_PATH}",
    "a..b": f"https://a..b{GOOD_PATH}",
    "leading dot": f"https://.example.test{GOOD_PATH}",
    "two trailing dots": f"https://example.test..{GOOD_PATH}",
    "100k of a": "https://" + "a" * 100_000,
    "broken ipv6": f"https://[::1{GOOD_PATH}",
    "ftp": f"ftp://gw.example.test{GOOD_PATH}",
    "javascript": "javascript:alert(1)//x",
    "file": "file:///etc/passwd",
    "empty": "",
    "spaces only": "   ",
    "no scheme": f"gw.example.test{GOOD_PATH}",
    "no host": "https:///llm_proxy/x",
    "fragment": f"{HOST}{GOOD_PATH}#top",
    "plain http to a remote host": f"http://gw.example.test{GOOD_PATH}",
}

GOOD_URLS = {
    "as chat shows it": f"{HOST}{GOOD_PATH}",
    "trailing slash": f"{HOST}{GOOD_PATH}/",
    "anthropic form": f"{HOST}/llm_proxy/{ORG}/anthropic",
    "in quotes": f'"{HOST}{GOOD_PATH}"',
    "upper-case host": f"https://GW.EXAMPLE.TEST{GOOD_PATH}",
    "loopback http": f"http://127.0.0.1:8080{GOOD_PATH}",
    "ipv6 loopback": f"http://[::1]:8080{GOOD_PATH}",
    "port 443": f"https://gw.example.test:443{GOOD_PATH}",
    "fully qualified": f"https://gw.example.test.{GOOD_PATH}",
    "label of 63": f"https://{'a' * 63}.example.test{GOOD_PATH}",
    "sk inside a word": f"https://desk-12345678.example.test{GOOD_PATH}",
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_bad_base_url(home: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out = run(capsys, "apply", "--base-url", url, "--api-key-env", "K", "--sonnet", CLEAN_MODEL, "--yes")
    assert code == USAGE, out
    assert_clean(out)
    assert not (home / ".claude" / "settings.json").exists()


@pytest.mark.parametrize("url", GOOD_URLS.values(), ids=GOOD_URLS.keys())
def test_good_base_url(home: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out = run(capsys, "apply", "--base-url", url, "--api-key-env", "K", "--sonnet", CLEAN_MODEL, "--dry-run")
    assert code == OK, out
    assert_clean(out)


# --- arguments -----------------------------------------------------------------------------------------------

# Loopback: every case here fails before any request, and a test never looks up a name anyway.
MODELS_ARGS = ("models", "--base-url", f"http://127.0.0.1:9{GOOD_PATH}", "--api-key-env", "K")
APPLY_ARGS = ("apply", "--base-url", f"{HOST}{GOOD_PATH}", "--api-key-env", "K", "--dry-run")
BAD_ARGUMENTS = {
    "stray key alone": (KEY,),
    "stray key after models": (*MODELS_ARGS, KEY),
    "stray key after verify": ("verify", KEY),
    "stray key after doctor": ("doctor", KEY),
    "stray key after apply": (*APPLY_ARGS, "--sonnet", CLEAN_MODEL, KEY),
    "stray key after remove": ("remove", KEY),
    "key as restore id": ("restore", KEY, "--yes"),
    "escape as restore id": ("restore", f"{CLEAR}x", "--yes"),
    "key as timeout": ("verify", "--timeout", KEY),
    "escape as timeout": ("verify", "--timeout", f"{OSC52}1"),
    "key as scope": ("doctor", "--scope", KEY),
    "escape as scope": ("--scope", f"{CLEAR}{KEY}"),
    "key as command": (f"x{KEY}",),
    "escape as command": (f"{OSC0}doctor",),
    "key as env name": (*MODELS_ARGS[:3], "--api-key-env", KEY),
    "escape as env name": (*MODELS_ARGS[:3], "--api-key-env", f"{CLEAR}V"),
    "key as haiku": (*APPLY_ARGS, "--haiku", KEY),
    "key inside a model": (*APPLY_ARGS, "--sonnet", f"anthropic/{KEY}"),
    "key as subagent model": (*APPLY_ARGS, "--sonnet", CLEAN_MODEL, "--subagent-model", KEY),
    "osc 52 in a model": (*APPLY_ARGS, "--opus", f"m{OSC52}"),
    "newline in a model": (*APPLY_ARGS, "--sonnet", "a\n✓ Saved"),
    "c1 in a model": (*APPLY_ARGS, "--sonnet", f"m{C1}"),
    "unterminated osc in a model": (*APPLY_ARGS, "--sonnet", f"m{UNTERMINATED_OSC}"),
    "missing url value": ("apply", "--base-url"),
    "missing key source": MODELS_ARGS[:3],
    "two key sources": (*MODELS_ARGS, "--api-key-stdin"),
    "demo with a command": ("--demo", "doctor"),
    "unknown option with a key": ("doctor", f"--{KEY}"),
    "unknown option with an escape": ("doctor", f"--x{CLEAR}"),
}


@pytest.mark.parametrize("argv", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments(home: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, out = run(capsys, *argv)
    assert code == USAGE, out
    assert_clean(out)


BAD_KEY_VALUES = {
    "escape in the key": f"{KEY}{CLEAR}",
    "two keys": f"{KEY} {KEY}",
    "non-ascii key": "sk-bf-ключ-0123456789abcdef",
    "del in the key": f"{KEY}\x7f",
    "c1 inside the key": f"sk-bf-ab\x85{KEY[8:]}",
    "bidi inside the key": f"sk-bf-ab\u202e{KEY[8:]}",
}


@pytest.mark.parametrize("value", BAD_KEY_VALUES.values(), ids=BAD_KEY_VALUES.keys())
def test_bad_key_values(home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                        value: str) -> None:
    monkeypatch.setenv("K", value)
    code, out = run(capsys, *MODELS_ARGS)
    assert code == USAGE, out
    assert_clean(out)


# --- hostile gateway texts -----------------------------------------------------------------------------------

SNIPPETS = {
    "osc 52": OSC52,
    "osc 0": OSC0,
    "clear screen": CLEAR,
    "cr spoof": SPOOF,
    "bell": "ding\x07\x07",
    "c1": C1,
    "nul and del": "a\x00b\x7fc",
    "hyperlink": HYPERLINK,
    "unterminated osc": UNTERMINATED_OSC,
    "key": f" your key is {KEY} ",
    "bidi": "abc\u202edcba\u2066",
    "lone surrogate": "x\ud800y",
}


def seed(home: Path, gateway: HostileGateway) -> None:
    (home / ".claude").mkdir(exist_ok=True)
    (home / ".claude" / "settings.json").write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": KEY,
        **{f"ANTHROPIC_DEFAULT_{t}_MODEL": CLEAN_MODEL for t in ("HAIKU", "SONNET", "OPUS")}}}))


@pytest.mark.parametrize("snippet", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_hostile_model_ids(home: Path, capsys: pytest.CaptureFixture[str], gateway: HostileGateway,
                           snippet: str) -> None:
    gateway.behaviour = Behaviour(models=(CLEAN_MODEL, f"evil/m{snippet}x"), display_name=f"D{snippet}")
    code, out = run(capsys, "models", "--base-url", gateway.base_url, "--api-key-env", "K")
    assert code == OK, out
    assert_clean(out)
    assert f"  {CLEAN_MODEL}\n" in out


@pytest.mark.parametrize("snippet", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_hostile_model_ids_as_json(home: Path, capsys: pytest.CaptureFixture[str], gateway: HostileGateway,
                                   snippet: str) -> None:
    gateway.behaviour = Behaviour(models=(CLEAN_MODEL, f"evil/m{snippet}x"), display_name=f"D{snippet}")
    code, out = run(capsys, "models", "--base-url", gateway.base_url, "--api-key-env", "K", "--json")
    assert code == OK, out
    assert_clean(out)
    assert json.loads(out)["ok"] is True


@pytest.mark.parametrize("snippet", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_hostile_streamed_replies(home: Path, capsys: pytest.CaptureFixture[str], gateway: HostileGateway,
                                  snippet: str) -> None:
    gateway.behaviour = Behaviour(reply=f"pong {snippet} end", piece=2)
    seed(home, gateway)
    code, out = run(capsys, "verify", "--no-claude-cli")
    assert code == OK, out
    assert_clean(out)
    assert "pong" in out


@pytest.mark.parametrize("snippet", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_hostile_error_bodies(home: Path, capsys: pytest.CaptureFixture[str], gateway: HostileGateway,
                              snippet: str) -> None:
    body = json.dumps({"error": {"type": "api_error", "message": f"upstream said {snippet} sorry"}})
    gateway.behaviour = Behaviour(error_status=500, error_body=body)
    code, out = run(capsys, "models", "--base-url", gateway.base_url, "--api-key-env", "K")
    assert code == PROBLEM, out
    assert_clean(out)
    assert "server_error" in out


@pytest.mark.parametrize("snippet", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_hostile_html_titles_in_verify(home: Path, capsys: pytest.CaptureFixture[str], gateway: HostileGateway,
                                       snippet: str) -> None:
    gateway.behaviour = Behaviour(error_status=502, error_type="text/html",
                                  error_body=f"<html><title>Bad gateway {snippet}</title></html>")
    seed(home, gateway)
    code, out = run(capsys, "verify", "--no-claude-cli", "--json")
    assert code == PROBLEM, out
    assert_clean(out)
    assert json.loads(out)["ok"] is False


# --- Base URLs from a settings file (a project file is anyone's text) ----------------------------------------

SETTINGS_URLS = {
    # Loopback, port 9 (discard, closed): were one of them accepted, no request would leave this machine.
    "key in the port": f"http://127.0.0.1:{KEY}/llm_proxy/{ORG}/anthropic",
    "key in the path": f"http://127.0.0.1:9/llm_proxy/{KEY}/anthropic",
    "escape in the path": f"http://127.0.0.1:9/{OSC0}/llm_proxy/{ORG}/anthropic",
    "port 0": f"http://127.0.0.1:0/llm_proxy/{ORG}/anthropic",
}


@pytest.mark.parametrize("url", SETTINGS_URLS.values(), ids=SETTINGS_URLS.keys())
@pytest.mark.parametrize(("command", "expected"), [(("verify", "--no-claude-cli"), PROBLEM), (("doctor",), OK)],
                         ids=["verify", "doctor"])
def test_bad_base_url_in_the_settings(home: Path, capsys: pytest.CaptureFixture[str], url: str,
                                      command: tuple[str, ...], expected: int) -> None:
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": url, "ANTHROPIC_AUTH_TOKEN": KEY, "ANTHROPIC_DEFAULT_OPUS_MODEL": CLEAN_MODEL}}))
    code, out = run(capsys, *command)
    assert code == expected, out
    assert_clean(out)

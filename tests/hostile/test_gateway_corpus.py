"""The real CLI (`python -m optscale_tui models / verify` in a child process, sandbox HOME) against a hostile gateway.

Every case: no traceback, the right exit code, the right cause id, no API key and no raw control character in the
output, and the command ends by itself — the child runs under a subprocess timeout (CHILD_LIMIT), so a command that
hangs fails the test instead of the suite. The gateway misbehaviours are in hostile_gateway.py (one server, the mode
picked by the URL). Small deadlines (`--timeout`) keep the corpus fast; modes that end on a size cap get a larger
one, so a busy machine cannot turn "too large" into "timeout".
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.cli.conftest import Sandbox
from tests.hostile.hostile_gateway import HUGE_CATALOG_MODELS, MODEL, HostileGateway

KEY = "sk-bf-HOSTILE-0123456789abcdef"
CHILD_LIMIT = 45.0  # seconds: a command still running by then has no overall deadline
DRIP = "1"  # --timeout for the modes that never finish an answer: the deadline is what ends them
CAPPED = "15"  # --timeout for the modes that end on a size cap or an error: it must not be what ends them
MEMORY_LIMIT = 768 << 20  # address space for the child under a compression bomb (unbounded it took 3.2 GB)

# Raw control characters the terminal would act on: C0 except tab and newline, DEL, C1 (ESC starts sequences).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileGateway]:
    with HostileGateway(lifetime=900) as gw:
        yield gw


@pytest.fixture(scope="module")
def hostile_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostileGateway, Path]]:
    """The same modes over HTTPS; the CA that signed its certificate is in the returned PEM file (not trusted
    unless passed with --ca-bundle)."""
    folder = tmp_path_factory.mktemp("hostile-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile, ca_file = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(certfile)
    cert.private_key_pem.write_to_path(keyfile)
    ca.cert_pem.write_to_path(ca_file)
    with HostileGateway(certfile=certfile, keyfile=keyfile, lifetime=900) as gw:
        yield gw, ca_file


def run(sandbox: Sandbox, *args: str, env: dict[str, str] | None = None,
        memory_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit_memory() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run(
        [sys.executable, "-m", "optscale_tui", *args],
        cwd=sandbox.cwd,
        env={**sandbox.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=CHILD_LIMIT,
        preexec_fn=limit_memory,
    )


def assert_clean(result: subprocess.CompletedProcess[str], *secrets: str) -> None:
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out[-3000:]
    for secret in (KEY, *secrets):
        assert secret not in out
    bad = CONTROL.search(out)
    assert bad is None, f"raw control character {bad.group()!r} in the output" if bad else ""


def models(sandbox: Sandbox, url: str, timeout: str, *extra: str, key: str = KEY,
           memory_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    return run(sandbox, "models", "--base-url", url, "--api-key-env", "GW_KEY", f"--timeout={timeout}", *extra,
               env={"GW_KEY": key}, memory_limit=memory_limit)


# --- models: every mode, in text and in JSON -------------------------------------------------------------------

# mode -> (exit code, cause id, --timeout)
MODELS_CASES: dict[str, tuple[int, str | None, str]] = {
    "healthy": (0, None, CAPPED),
    "never_answer": (1, "timeout", DRIP),
    "close_at_once": (1, "connect", CAPPED),
    "reset_at_once": (1, "connect", CAPPED),
    "not_http": (1, "connect", CAPPED),
    "slow_headers": (1, "timeout", DRIP),
    "informational_flood": (1, "timeout", DRIP),
    "endless_drip_body": (1, "timeout", DRIP),
    "endless_fast_body": (1, "response_too_large", CAPPED),
    "endless_chunked_body": (1, "response_too_large", CAPPED),
    "gzip_bomb": (1, "response_too_large", CAPPED),
    "deflate_bomb": (1, "response_too_large", CAPPED),
    "gzip_bomb_catalog": (1, "response_too_large", CAPPED),
    "gzip_bomb_error": (1, "server_error", CAPPED),
    "gzip_bomb_html": (1, "server_error", CAPPED),
    "huge_catalog": (0, None, CAPPED),
    "reset_mid_body": (1, "stream_cut", CAPPED),
    "short_body": (1, "stream_cut", CAPPED),
    "bad_chunked": (1, "bad_response", CAPPED),
    "huge_header": (1, "bad_response", CAPPED),
    "many_headers": (1, "bad_response", CAPPED),
    "bad_status_line": (1, "bad_response", CAPPED),
    "bad_content_length": (1, "bad_response", CAPPED),
    "redirect_loop": (1, "bad_response", CAPPED),
    "redirect_elsewhere": (1, "bad_response", CAPPED),
    "deep_json": (1, "bad_response", CAPPED),
    "deep_json_error": (1, "bad_response", CAPPED),
    "html_title_bomb": (1, "bad_response", CAPPED),
    "html_login_page": (1, "bad_response", CAPPED),
    "invalid_utf8_catalog": (1, "bad_response", CAPPED),
    "unknown_encoding": (1, "bad_response", CAPPED),
    "corrupt_gzip": (1, "bad_response", CAPPED),
    "echo_key": (1, "auth_invalid_key", CAPPED),
    "sse_endless_pings": (0, None, CAPPED),  # the catalog route of a stream-breaking gateway is fine
}


# The human-readable output of one mode per kind of failure (the JSON test below covers every mode).
TEXT_MODES = ["healthy", "never_answer", "close_at_once", "slow_headers", "gzip_bomb", "gzip_bomb_html",
              "huge_catalog", "reset_mid_body", "bad_chunked", "huge_header", "redirect_loop", "deep_json",
              "html_login_page", "echo_key"]


@pytest.mark.parametrize("mode", TEXT_MODES)
def test_models_text(sandbox, hostile, mode):
    code, cause, timeout = MODELS_CASES[mode]
    result = models(sandbox, hostile.url(mode), timeout)
    assert_clean(result)
    assert result.returncode == code, result.stderr[-2000:]
    if cause is None:
        assert re.match(r"\d+ models? from ", result.stdout)
    else:
        assert f"cause: {cause}\n" in result.stderr, result.stderr[-2000:]
        assert "✗ Could not list models:" in result.stderr


@pytest.mark.parametrize("mode", list(MODELS_CASES))
def test_models_json(sandbox, hostile, mode):
    code, cause, timeout = MODELS_CASES[mode]
    result = models(sandbox, hostile.url(mode), timeout, "--json")
    assert_clean(result)
    assert result.returncode == code, result.stderr[-2000:]
    payload = json.loads(result.stdout)
    assert payload["cause"] == cause, payload["message"]
    assert payload["ok"] is (cause is None)
    if mode == "huge_catalog":  # cut at 1 MiB it was "not a model list" with a login-page hint
        assert len(payload["models"]) == HUGE_CATALOG_MODELS


@pytest.mark.parametrize("mode", ["gzip_bomb", "gzip_bomb_catalog", "endless_fast_body"])
def test_a_catalog_over_the_cap_is_called_too_large_not_a_login_page(sandbox, hostile, mode):
    result = models(sandbox, hostile.url(mode), CAPPED)
    assert_clean(result)
    assert "larger than 32 MiB" in result.stderr
    assert "not with a model list" not in result.stderr and "login page" not in result.stderr


@pytest.mark.parametrize("mode", ["gzip_bomb", "deflate_bomb", "gzip_bomb_error", "gzip_bomb_html",
                                  "gzip_bomb_catalog"])
def test_a_compression_bomb_fits_in_a_small_address_space(sandbox, hostile, mode):
    """Inflated whole, the 1 GiB bomb took 3.2 GB (MemoryError under this limit); read in capped steps it fits."""
    result = models(sandbox, hostile.url(mode), CAPPED, memory_limit=MEMORY_LIMIT)
    assert_clean(result)
    assert "MemoryError" not in result.stderr
    assert result.returncode == 1 and "cause: " in result.stderr


@pytest.mark.parametrize("mode", ["redirect_loop", "redirect_elsewhere"])
def test_redirects_are_reported_and_never_followed(sandbox, hostile, mode):
    before = sum(1 for r in hostile.requests if r.mode == mode)
    result = models(sandbox, hostile.url(mode), CAPPED)
    assert_clean(result)
    assert "not followed" in result.stderr
    assert sum(1 for r in hostile.requests if r.mode == mode) == before + 1  # the one request, no second


def test_a_key_echoed_in_an_error_body_is_masked(sandbox, hostile):
    result = models(sandbox, hostile.url("echo_key"), CAPPED)
    assert_clean(result)
    assert "invalid key: sk-bf-…" in result.stderr


# --- verify: every route a probe takes ----------------------------------------------------------------------------

# mode -> (--timeout, {check id: cause id}) for the checks that matter; every run must exit 1.
VERIFY_CASES: dict[str, tuple[str, dict[str, str | None]]] = {
    "never_answer": (DRIP, {"connect": "timeout"}),
    "slow_headers": (DRIP, {"connect": "timeout"}),
    "informational_flood": (DRIP, {"connect": "timeout"}),
    "close_at_once": (CAPPED, {"connect": "connect"}),
    "huge_header": (CAPPED, {"connect": "bad_response"}),
    "bad_status_line": (CAPPED, {"connect": "bad_response"}),
    "endless_drip_body": (DRIP, {"catalog": "timeout", "prompt.opus": "timeout", "count_tokens": "timeout"}),
    "endless_fast_body": (CAPPED, {"catalog": "response_too_large", "prompt.opus": "response_too_large",
                                   "count_tokens": "response_too_large"}),
    "gzip_bomb": (CAPPED, {"catalog": "response_too_large", "prompt.opus": "response_too_large",
                           "count_tokens": "response_too_large"}),
    "deflate_bomb": (CAPPED, {"catalog": "response_too_large", "prompt.opus": "response_too_large"}),
    "gzip_bomb_error": (CAPPED, {"catalog": "server_error", "prompt.opus": "server_error"}),
    "reset_mid_body": (CAPPED, {"catalog": "stream_cut", "prompt.opus": "stream_cut"}),
    "bad_chunked": (CAPPED, {"catalog": "bad_response", "prompt.opus": "bad_response"}),
    "redirect_loop": (CAPPED, {"catalog": "bad_response", "prompt.opus": "bad_response"}),
    "deep_json": (CAPPED, {"catalog": "bad_response", "prompt.opus": "bad_response"}),
    "deep_json_error": (CAPPED, {"catalog": "bad_response", "prompt.opus": "bad_response"}),
    "echo_key": (CAPPED, {"catalog": "auth_invalid_key", "prompt.opus": "auth_invalid_key"}),
    "sse_never_answer": (DRIP, {"catalog": None, "prompt.opus": "timeout", "tools.opus": "timeout"}),
    "sse_slow_headers": (DRIP, {"catalog": None, "prompt.opus": "timeout"}),
    "sse_drip": (DRIP, {"catalog": None, "prompt.opus": "timeout", "betas": "timeout"}),
    "sse_endless_pings": (CAPPED, {"catalog": None, "prompt.opus": "response_too_large"}),
    "sse_endless_line": (CAPPED, {"prompt.opus": "response_too_large"}),
    "sse_no_dispatch": (CAPPED, {"prompt.opus": "response_too_large"}),
    "sse_endless_text": (CAPPED, {"prompt.opus": "response_too_large", "tools.opus": "response_too_large"}),
    "sse_gzip_bomb": (CAPPED, {"prompt.opus": "response_too_large"}),
    "sse_reset": (CAPPED, {"prompt.opus": "stream_cut"}),
    "sse_bad_chunked": (CAPPED, {"prompt.opus": "bad_response"}),
    "sse_error_bomb": (CAPPED, {"prompt.opus": "server_error", "count_tokens": None}),
}


def write_settings(sandbox: Sandbox, base_url: str, key: str = KEY) -> None:
    sandbox.config_dir.mkdir(exist_ok=True)
    sandbox.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_AUTH_TOKEN": key,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": MODEL,
    }}, ensure_ascii=False))


def verify_json(sandbox: Sandbox, timeout: str, *extra: str, env: dict[str, str] | None = None):
    result = run(sandbox, "verify", "--no-claude-cli", "--json", f"--timeout={timeout}", *extra, env=env)
    assert_clean(result)
    return result, {c["id"]: c for c in json.loads(result.stdout)["checks"]}


@pytest.mark.parametrize("mode", list(VERIFY_CASES))
def test_verify_json(sandbox, hostile, mode):
    timeout, expected = VERIFY_CASES[mode]
    write_settings(sandbox, hostile.anthropic_url(mode))
    result, checks = verify_json(sandbox, timeout)
    assert result.returncode == 1
    for check_id, cause in expected.items():
        assert checks[check_id]["cause"] == cause, (check_id, checks[check_id]["message"])


@pytest.mark.parametrize("mode", ["sse_endless_text", "gzip_bomb", "sse_drip", "slow_headers"])
def test_verify_text_log(sandbox, hostile, mode):
    """The streamed log (replies printed as they arrive) of a run against a hostile gateway."""
    write_settings(sandbox, hostile.anthropic_url(mode))
    timeout = DRIP if mode in ("sse_drip", "slow_headers") else CAPPED
    result = run(sandbox, "verify", "--no-claude-cli", "--timeout", timeout)
    assert_clean(result)
    assert result.returncode == 1
    assert "Verification failed" in result.stdout


# --- --timeout: a usage error unless a finite, sensible number of seconds --------------------------------------

BAD_TIMEOUTS = ["0", "-1", "nan", "inf", "-inf", "1e9", "0.001", "soon"]


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
@pytest.mark.parametrize("command", ["models", "verify"])
def test_a_bad_timeout_is_a_usage_error(sandbox, hostile, command, value):
    if command == "models":
        result = models(sandbox, hostile.url("healthy"), value)
    else:
        write_settings(sandbox, hostile.anthropic_url("healthy"))
        result = run(sandbox, "verify", "--no-claude-cli", f"--timeout={value}")
    assert_clean(result)
    assert result.returncode == 2
    assert "--timeout: must be a number of seconds from 0.1 to 600" in result.stderr


def test_a_good_timeout_is_taken(sandbox, hostile):
    result = models(sandbox, hostile.url("healthy"), "600")
    assert_clean(result)
    assert result.returncode == 0


# --- a key an HTTP header cannot carry --------------------------------------------------------------------------

BAD_KEYS = {
    "non-ascii": "sk-bf-é0123456789abcdef",
    "cyrillic": "sk-bf-ключ0123456789abcdef",
    "zero-width": "sk-bf-0123456789\u200babcdef",
    "del": "sk-bf-0123456789\x7fabcdef",
}


@pytest.mark.parametrize("name", list(BAD_KEYS))
def test_a_bad_key_in_settings_is_diagnosed(sandbox, hostile, name):
    """It raised UnicodeEncodeError in httpx (a traceback, exit 1)."""
    write_settings(sandbox, hostile.anthropic_url("healthy"), key=BAD_KEYS[name])
    result, checks = verify_json(sandbox, CAPPED)
    assert_clean(result, BAD_KEYS[name])
    assert result.returncode == 1
    assert checks["connect"]["cause"] == "auth_invalid_key"
    assert "cannot be sent in an HTTP header" in checks["connect"]["message"]


@pytest.mark.parametrize("name", ["non-ascii", "cyrillic"])
def test_a_bad_key_in_the_shell_is_diagnosed(sandbox, hostile, name):
    sandbox.config_dir.mkdir()
    sandbox.settings.write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": hostile.anthropic_url("healthy"),
                                                    "ANTHROPIC_DEFAULT_OPUS_MODEL": MODEL}}))
    result, checks = verify_json(sandbox, CAPPED, env={"ANTHROPIC_AUTH_TOKEN": BAD_KEYS[name]})
    assert_clean(result, BAD_KEYS[name])
    assert result.returncode == 1
    assert checks["connect"]["cause"] == "auth_invalid_key"


@pytest.mark.parametrize("name", ["non-ascii", "zero-width"])
def test_a_bad_key_for_models_is_an_input_error(sandbox, hostile, name):
    result = models(sandbox, hostile.url("healthy"), CAPPED, key=BAD_KEYS[name])
    assert_clean(result, BAD_KEYS[name])
    assert result.returncode == 2
    assert "cannot be sent in an HTTP header" in result.stderr


# --- HTTPS ------------------------------------------------------------------------------------------------------


def test_an_untrusted_certificate_is_tls_untrusted(sandbox, hostile_tls):
    gw, _ca = hostile_tls
    result = models(sandbox, gw.url("healthy"), CAPPED)
    assert_clean(result)
    assert result.returncode == 1 and "cause: tls_untrusted" in result.stderr


def test_verify_never_turns_verification_off(sandbox, hostile_tls):
    gw, _ca = hostile_tls
    before = len(gw.requests)
    write_settings(sandbox, gw.anthropic_url("healthy"))
    _, checks = verify_json(sandbox, CAPPED)
    assert checks["connect"]["cause"] == "tls_untrusted"
    assert len(gw.requests) == before  # no request (and no key) got through the refused handshake


@pytest.mark.parametrize(("mode", "timeout", "cause"), [
    ("healthy", CAPPED, None),
    ("gzip_bomb", CAPPED, "response_too_large"),
    ("slow_headers", DRIP, "timeout"),
    ("endless_drip_body", DRIP, "timeout"),
    ("reset_mid_body", CAPPED, "stream_cut"),
])
def test_trusted_https_with_a_hostile_body(sandbox, hostile_tls, mode, timeout, cause):
    gw, ca = hostile_tls
    result = models(sandbox, gw.url(mode), timeout, "--json", "--ca-bundle", str(ca))
    assert_clean(result)
    assert json.loads(result.stdout)["cause"] == cause

"""Outside text leaves core clean: the gateway's replies, error bodies and HTML titles, and the `claude` CLI's events,
carry no escape sequence, no control character and no key; Base URLs and model names that would echo a key or hold
control characters are input errors with masked messages."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from optscale_tui.core.clients.claude_code.models import is_mappable_model, suggest_tier_models
from optscale_tui.core.connection import (
    ApiKey,
    ConnectionValues,
    InputError,
    TierMapping,
    parse_base_url,
    parse_model_name,
)
from optscale_tui.core.gateway.client import GatewayClient
from tests.hostile.text_gateway import CLEAN_MODEL, HOSTILE_MODELS, HOSTILE_REPLY, KEY, ORG, raw_control_chars

URL = parse_base_url(f"https://gw.example.test/llm_proxy/{ORG}/v1")


def assert_clean(text: str) -> None:
    assert KEY not in text
    assert "HOSTILE-TEST-KEY" not in text
    assert not raw_control_chars(text), repr(text)


def gateway(handler) -> GatewayClient:
    return GatewayClient(URL, ApiKey(KEY), env={}, transport=httpx.MockTransport(handler))


def sse_reply(text: str, piece: int) -> httpx.Response:
    events = [{"type": "message_start", "message": {"id": "m", "model": "x", "usage": {}}},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text[i:i + piece]}}
               for i in range(0, len(text), piece)]
    events += [{"type": "content_block_stop", "index": 0}, {"type": "message_stop"}]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


# --- the gateway ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("piece", [1, 3, 8])
async def test_streamed_reply_reaches_on_text_cleaned(piece: int) -> None:
    """`verify`'s streamed log and the TUI's Verify log print what on_text gets: it was the gateway's raw text."""
    seen: list[str] = []
    async with gateway(lambda r: sse_reply(HOSTILE_REPLY, piece)) as gw:
        result = await gw.stream_message("m", "x", on_text=seen.append)
    assert result.ok
    for chunk in seen:
        assert_clean(chunk)
    assert "sk-bf-…cdef" in "".join(seen)
    assert "".join(seen).startswith("pong ")
    assert_clean(result.text)
    assert_clean(result.detail)


ERROR_BODIES = {
    "json message": ("application/json",
                     json.dumps({"error": {"message": f"bad key {KEY}\x1b]52;c;ZXZpbA==\x07\x1b[2J\r✓ PASS"}})),
    "html title": ("text/html", f"<html><title>502 \x1b]0;pwned\x07{KEY}</title></html>"),
    "plain text": ("text/plain", f"oops\r\x1b[2Jkey={KEY}\x9b31m\x07"),
    "unterminated osc": ("text/plain", "fail \x1b]0;never ends"),
}


@pytest.mark.parametrize(("content_type", "body"), ERROR_BODIES.values(), ids=ERROR_BODIES.keys())
async def test_error_bodies_and_html_titles_are_cleaned(content_type: str, body: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, headers={"content-type": content_type, "request-id": f"\x1b[2J{KEY}"},
                              content=body.encode())

    async with gateway(handler) as gw:
        results = [await gw.stream_message("m", "x"), (await gw.list_models()).probe, await gw.count_tokens("m")]
    for result in results:
        assert not result.ok
        assert_clean(result.detail)
        for value in result.request_ids.values():
            assert_clean(value)


# --- the claude CLI ------------------------------------------------------------------------------------------

FAKE_CLAUDE = r'''#!{python}
# Speaks the stream-json session protocol the real-client check uses: control requests and prompts on stdin.
import json, sys
reply = {reply!r}
failing = {failing!r}
def out(event):
    print(json.dumps(event), flush=True)
for line in sys.stdin:
    message = json.loads(line)
    if message.get("type") == "control_request":
        request = message["request"]
        answer = {{}}
        if request.get("subtype") == "get_settings":
            answer = {{"effective": {{"env": {{"ANTHROPIC_BASE_URL": {url!r} + "]0;title/{key}"}}}}}}
        out({{"type": "control_response", "response": {{"subtype": "success", "request_id": message["request_id"],
                                                       "response": answer}}}})
        continue
    out({{"type": "system", "subtype": "init", "model": "model[2J{key}", "apiKeySource": "none",
          "claude_code_version": "9]0;x"}})
    out({{"type": "system", "subtype": "api_retry", "error_status": 500, "error": "retry [2J {key}"}})
    for i in range(0, len(reply), 4):
        out({{"type": "stream_event", "event": {{"type": "content_block_delta",
             "delta": {{"type": "text_delta", "text": reply[i:i + 4]}}}}}})
    out({{"type": "result", "is_error": failing, "api_error_status": 401 if failing else None,
          "result": "API Error: 401 " + reply if failing else reply}})
sys.stderr.write("stderr ]52;c;ZXZpbA== {key}\n")
sys.exit(1 if failing else 0)
'''


@pytest.mark.parametrize("failing", [False, True], ids=["answers", "fails"])
def test_claude_cli_events_and_results_are_cleaned(tmp_path: Path, failing: bool) -> None:
    from optscale_tui.core.verify.events import CheckProgress, TokenChunk
    from optscale_tui.core.verify.real_client import real_client
    from optscale_tui.core.verify.targets import target_from_values

    fake = tmp_path / "claude"
    fake.write_text(FAKE_CLAUDE.format(python=sys.executable, key=KEY, reply=HOSTILE_REPLY, failing=failing,
                                       url=URL.anthropic_base))
    fake.chmod(0o755)
    target = target_from_values(ConnectionValues(url=URL, key=ApiKey(KEY), tiers=TierMapping(opus=CLEAN_MODEL)))
    client = real_client(target, cwd=tmp_path, binary=fake, env={"PATH": "/usr/bin:/bin"}, timeout=30)
    events: list[object] = []

    async def run_all() -> list[object]:
        try:
            return [await factory(events.append) for _spec, factory in client.checks]
        finally:
            await client.close()  # as the verification engine does: the session process is waited for

    results = asyncio.run(run_all())
    texts = [e.text for e in events if isinstance(e, TokenChunk)]
    progress = [e.message for e in events if isinstance(e, CheckProgress)]
    assert texts and progress
    for text in [*texts, *progress]:
        assert_clean(text)
    assert "".join(texts).startswith("pong ")
    for result in results:
        for text in (result.message, result.text or "", result.model or "", json.dumps(result.to_json())):
            assert_clean(text)
    assert (results[0].cause is not None) == failing


# --- input errors --------------------------------------------------------------------------------------------

BAD_URLS = {
    "key in the path": (f"https://gw.example.test/llm_proxy/{KEY}/v1", "looks like an API key"),
    "key as a path segment after the org": (f"https://gw.example.test/llm_proxy/{ORG}/{KEY}", "looks like an API key"),
    "key in the port": (f"https://gw.example.test:{KEY}/llm_proxy/{ORG}/v1", "looks like an API key"),
    "other key shape in the path": ("https://gw.example.test/sk-proj-abcdefgh123456/v1", "looks like an API key"),
    "word in the port": ("https://gw.example.test:port/v1", "port in the Base URL"),
    "port 0": (f"https://gw.example.test:0/llm_proxy/{ORG}/v1", "from 1 to 65535"),
    "port too big": (f"https://gw.example.test:70000/llm_proxy/{ORG}/v1", "from 1 to 65535"),
    "escape sequence": (f"https://gw.example.test/llm_proxy/{ORG}/v1\x1b]0;x\x07", "control characters"),
    "nul": (f"https://gw.exa\x00mple.test/llm_proxy/{ORG}/v1", "control characters"),
    "c1": (f"https://gw.example.test/\x9b2J/llm_proxy/{ORG}/v1", "control characters"),
    "bidi": (f"https://gw.example.test/llm_proxy/{ORG}\u202e/v1", "control characters"),
    "label of 64": (f"https://{'a' * 64}.example.test/llm_proxy/{ORG}/v1", "at most 63"),
    "host of 254": (f"https://{'.'.join(['a' * 50] * 5)}/llm_proxy/{ORG}/v1", "at most 253"),
    "empty label": (f"https://a..b/llm_proxy/{ORG}/v1", "empty part between dots"),
    "leading dot": (f"https://.example.test/llm_proxy/{ORG}/v1", "empty part between dots"),
}


@pytest.mark.parametrize(("text", "phrase"), BAD_URLS.values(), ids=BAD_URLS.keys())
def test_bad_base_urls_are_input_errors_that_echo_no_key(text: str, phrase: str) -> None:
    with pytest.raises(InputError) as err:
        parse_base_url(text)
    assert phrase in err.value.reason
    assert_clean(err.value.reason)


@pytest.mark.parametrize("text", [
    f"https://{'a' * 63}.example.test/llm_proxy/{ORG}/v1",  # a label of exactly 63
    f"https://gw.example.test./llm_proxy/{ORG}/v1",  # a fully qualified name
    f"http://[::1]:8080/llm_proxy/{ORG}/v1",
    f"https://gw.example.test:65535/llm_proxy/{ORG}/v1",
    f"https://desk-12345678.example.test/llm_proxy/{ORG}/v1",  # not a key: "sk-" inside a word
])
def test_edge_urls_still_accepted(text: str) -> None:
    parse_base_url(text)


def test_warnings_quote_no_control_characters() -> None:
    url = parse_base_url("https://gw.example.test/llm_proxy/not-a-uuid/extra/v1")
    for warning in url.warnings:
        assert_clean(warning)


@pytest.mark.parametrize("text", [KEY, f"anthropic/{KEY}", f"x/{KEY}\x1b[2J"], ids=["key", "provider", "escape"])
def test_model_name_holding_a_key_is_refused_masked(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_model_name(text)
    assert_clean(err.value.reason)


def test_bad_model_name_message_is_cleaned() -> None:
    with pytest.raises(InputError) as err:
        parse_model_name("bad\x1b]0;title\x07 model")
    assert_clean(err.value.reason)


def test_catalog_ids_changed_for_display_are_never_mapped_or_suggested() -> None:
    assert [m for m in HOSTILE_MODELS if is_mappable_model(m)] == [CLEAN_MODEL]
    hostile_opus = HOSTILE_MODELS[1]  # "anthropic/claude-opus-4-6" + OSC 52
    suggestions = suggest_tier_models(TierMapping(), list(HOSTILE_MODELS), fallback=hostile_opus)
    assert {s.model for s in suggestions.values()} == {CLEAN_MODEL}

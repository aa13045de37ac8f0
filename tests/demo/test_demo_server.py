"""The demo gateway over real sockets: routes, SSE framing, errors, fault knobs, request log, TLS and shutdown."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from optscale_tui.demo import (
    DEFAULT_MODELS,
    DEMO_KEY,
    DEMO_KEY_BUDGET,
    DEMO_KEY_LIMITED,
    DEMO_KEY_OPENAI_ONLY,
    DEMO_ORG_ID,
    FAULT_KINDS,
    DemoGateway,
    Faults,
    KeyPolicy,
    demo_reply_text,
)

pytestmark = pytest.mark.timeout(30)

HAIKU = "anthropic/claude-haiku-4-5"
SONNET = "anthropic/claude-sonnet-4-6"
OPUS = "anthropic/claude-opus-4-6"
GREETING = "Hello from the OptScale demo gateway. You said: "


@pytest.fixture
def gw():
    with DemoGateway() as gateway:
        yield gateway


@pytest.fixture
def client():
    with httpx.Client(timeout=10) as c:
        yield c


def auth(key: str = DEMO_KEY) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"}


def message_body(prompt: str = "Say hello", *, model: str = OPUS, stream: bool = False, **extra: Any) -> dict:
    return {
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    """(event, data) pairs per the SSE framing rules: blank line dispatches, multiple data lines join with \\n."""
    events: list[tuple[str | None, str]] = []
    event: str | None = None
    data: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "":
            if data:
                events.append((event, "\n".join(data)))
            event, data = None, []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    return events


def anthropic_events(text: str) -> list[tuple[str, dict]]:
    out = []
    for event, data in parse_sse(text):
        payload = json.loads(data)
        assert event == payload["type"], (event, payload)
        out.append((event, payload))
    return out


def stream_text(events: list[tuple[str, dict]]) -> str:
    return "".join(p["delta"]["text"] for e, p in events if e == "content_block_delta")


def assert_anthropic_error(r: httpx.Response, status: int, etype: str) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == etype
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["message"]


def assert_openai_error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["type"], str)
    assert body["status_code"] == status
    return body["error"]["message"]


# ---------------------------------------------------------------------------------------------------------------------
# Binding and addresses
# ---------------------------------------------------------------------------------------------------------------------


def _non_loopback_ipv4() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def test_binds_to_127_0_0_1_only(gw, client):
    assert client.head(f"{gw.anthropic_url}/api/hello").status_code == 200
    # Another loopback address on the same port is refused: the socket is bound to 127.0.0.1, not 0.0.0.0.
    if sys.platform.startswith("linux"):
        with pytest.raises(OSError), socket.create_connection(("127.0.0.2", gw.port), timeout=2):
            pass
    other = _non_loopback_ipv4()
    if other is not None:
        with pytest.raises(OSError), socket.create_connection((other, gw.port), timeout=2):
            pass


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_refuses_non_loopback_hosts(host):
    with pytest.raises(ValueError, match="loopback"):
        DemoGateway(host=host)


def test_urls_follow_the_optscale_layout(gw):
    assert gw.port > 0
    assert gw.base_url == f"http://127.0.0.1:{gw.port}/llm_proxy/{DEMO_ORG_ID}/v1"
    assert gw.anthropic_url == f"http://127.0.0.1:{gw.port}/llm_proxy/{DEMO_ORG_ID}/anthropic"
    assert DEMO_ORG_ID == "00000000-0000-4000-8000-00000000d3e0"
    assert all(
        k.startswith("sk-bf-") for k in (DEMO_KEY, DEMO_KEY_LIMITED, DEMO_KEY_BUDGET, DEMO_KEY_OPENAI_ONLY)
    )
    assert len({k[-4:] for k in (DEMO_KEY, DEMO_KEY_LIMITED, DEMO_KEY_BUDGET, DEMO_KEY_OPENAI_ONLY)}) == 4


# ---------------------------------------------------------------------------------------------------------------------
# Catalogs
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (DEMO_KEY, list(DEFAULT_MODELS)),
        (DEMO_KEY_LIMITED, [HAIKU, SONNET]),
        (DEMO_KEY_OPENAI_ONLY, ["openai/gpt-5", "openai/gpt-4.1"]),
        (DEMO_KEY_BUDGET, list(DEFAULT_MODELS)),  # listing spends nothing
    ],
)
def test_openai_models_filtered_per_key(gw, client, key, expected):
    r = client.get(f"{gw.base_url}/models", headers=auth(key))
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == expected
    for m in body["data"]:
        assert m["object"] == "model"
        assert m["owned_by"] == m["id"].split("/")[0]
        assert isinstance(m["created"], int) and m["created"] > 1_600_000_000


def test_default_models(gw):
    assert list(DEFAULT_MODELS) == [HAIKU, SONNET, OPUS, "openai/gpt-5", "openai/gpt-4.1", "ollama/qwen3:32b"]
    assert gw.models == list(DEFAULT_MODELS)


def test_anthropic_models_shape_and_paging(gw, client):
    r = client.get(f"{gw.anthropic_url}/v1/models", params={"limit": 1000}, headers={"x-api-key": DEMO_KEY})
    assert r.status_code == 200
    body = r.json()
    assert [m["id"] for m in body["data"]] == list(DEFAULT_MODELS)
    assert body["has_more"] is False
    assert body["first_id"] == HAIKU and body["last_id"] == "ollama/qwen3:32b"
    by_id = {m["id"]: m for m in body["data"]}
    assert by_id[SONNET] == {
        "id": SONNET,
        "type": "model",
        "display_name": "Claude Sonnet 4.6",
        "created_at": "2026-02-17T00:00:00Z",
    }
    for m in body["data"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created_at"])

    page1 = client.get(f"{gw.anthropic_url}/v1/models", params={"limit": 2}, headers=auth()).json()
    assert [m["id"] for m in page1["data"]] == [HAIKU, SONNET] and page1["has_more"] is True
    page2 = client.get(
        f"{gw.anthropic_url}/v1/models", params={"limit": 2, "after_id": page1["last_id"]}, headers=auth()
    ).json()
    assert [m["id"] for m in page2["data"]] == [OPUS, "openai/gpt-5"]

    limited = client.get(f"{gw.anthropic_url}/v1/models", headers=auth(DEMO_KEY_LIMITED)).json()
    assert [m["id"] for m in limited["data"]] == [HAIKU, SONNET]


def test_custom_keys_and_models():
    keys = {"sk-bf-custom-test-key-0042": KeyPolicy(allowed_models={"acme/big"})}
    with DemoGateway(keys=keys, models=["acme/big", "acme/small"]) as gw, httpx.Client() as c:
        ids = [
            m["id"]
            for m in c.get(f"{gw.base_url}/models", headers=auth("sk-bf-custom-test-key-0042")).json()["data"]
        ]
        assert ids == ["acme/big"]
        # Built-in keys stay available next to the added ones.
        assert len(c.get(f"{gw.base_url}/models", headers=auth()).json()["data"]) == 2
        r = c.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(model=OPUS))
        assert_anthropic_error(r, 404, "not_found_error")


# ---------------------------------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"authorization": f"Bearer {DEMO_KEY}"}, {"x-api-key": DEMO_KEY}, {"x-bf-vk": DEMO_KEY}],
    ids=["bearer", "x-api-key", "x-bf-vk"],
)
def test_each_credential_header_is_accepted(gw, client, headers):
    assert client.get(f"{gw.base_url}/models", headers=headers).status_code == 200
    r = client.post(f"{gw.anthropic_url}/v1/messages", headers=headers, json=message_body())
    assert r.status_code == 200


def test_missing_and_invalid_keys(gw, client):
    msg = assert_openai_error(client.get(f"{gw.base_url}/models"), 401, "virtual_key_required")
    assert "required" in msg.lower()
    r = client.get(f"{gw.base_url}/models", headers=auth("sk-bf-not-a-real-key-00000000"))
    assert assert_openai_error(r, 401, "virtual_key_not_found") == "Invalid virtual key"
    assert r.json()["error"]["type"] == "authentication_error"
    r = client.post(
        f"{gw.anthropic_url}/v1/messages", headers=auth("sk-bf-nope-0000000000"), json=message_body()
    )
    assert assert_anthropic_error(r, 401, "authentication_error") == "Invalid virtual key"
    r = client.post(f"{gw.anthropic_url}/v1/messages", json=message_body())
    assert "required" in assert_anthropic_error(r, 401, "authentication_error").lower()


def test_the_first_credential_presented_is_the_one_used(gw, client):
    # Claude Code sends both Bearer (settings token) and x-api-key (shell ANTHROPIC_API_KEY); Bearer wins.
    both = {"authorization": f"Bearer {DEMO_KEY}", "x-api-key": "sk-ant-shell-key-000000000000"}
    assert client.get(f"{gw.base_url}/models", headers=both).status_code == 200


# ---------------------------------------------------------------------------------------------------------------------
# Anthropic messages
# ---------------------------------------------------------------------------------------------------------------------


def test_messages_json(gw, client):
    r = client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body("Say hello"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["type"] == "message" and body["role"] == "assistant" and body["model"] == OPUS
    assert body["id"].startswith("msg_")
    assert body["content"] == [{"type": "text", "text": GREETING + "Say hello"}]
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    assert body["usage"]["output_tokens"] == len((GREETING + "Say hello").split())
    assert body["usage"]["input_tokens"] == 2
    rid = r.headers["request-id"]
    assert rid == r.headers["x-request-id"] and rid.startswith("req_demo_")
    r2 = client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body())
    assert r2.headers["request-id"] != rid
    assert r2.json()["id"] != body["id"]


def test_messages_stream_has_the_real_event_sequence(gw, client):
    r = client.post(
        f"{gw.anthropic_url}/v1/messages",
        params={"beta": "true"},
        headers=auth(),
        json=message_body("What  is\n2+2?", stream=True),
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["request-id"].startswith("req_demo_")
    events = anthropic_events(r.text)
    names = [e for e, _ in events]
    n = names.count("content_block_delta")
    assert n >= 5
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * n,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_") and start["model"] == OPUS and start["role"] == "assistant"
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] >= 1
    assert events[1][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    assert all(
        p["delta"]["type"] == "text_delta" and p["index"] == 0
        for e, p in events
        if e == "content_block_delta"
    )
    assert stream_text(events) == GREETING + "What is 2+2?"
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == n


def claude_code_like_body(prompt: str) -> dict:
    """About 48 KB, shaped like Claude Code 2.1.332's first request (system blocks, tools, thinking, metadata)."""
    filler = "Use this tool carefully; it reads and writes files in the working tree. " * 60
    tools = [
        {
            "name": name,
            "description": filler,
            "input_schema": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "what to run"}},
                "required": ["command"],
                "additionalProperties": False,
                "$schema": "http://json-schema.org/draft-07/schema#",
            },
        }
        for name in (
            "Agent",
            "Bash",
            "Edit",
            "Read",
            "Write",
            "ToolSearch",
            "Glob",
            "Grep",
            "WebFetch",
            "TodoWrite",
        )
    ]
    return {
        "model": OPUS,
        "max_tokens": 64000,
        "stream": True,
        "system": [
            {
                "type": "text",
                "text": "x-anthropic-billing-header: cc_version=2.1.332.0b8; cc_entrypoint=sdk-cli;",
            },
            {"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK."},
            {"type": "text", "text": "Main prompt. " * 450, "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "system", "content": "You are in a git repository."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "<system-reminder>\nContext: today is Tuesday.\n</system-reminder>",
                    },
                    {"type": "text", "text": prompt, "cache_control": {"type": "ephemeral"}},
                ],
            },
        ],
        "tools": tools,
        "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "account_uuid": "", "session_id": "s"})},
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
    }


CLAUDE_CODE_HEADERS = {
    **auth(),
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27",
    "x-app": "cli",
    "user-agent": "claude-cli/2.1.332 (external, sdk-cli)",
    "x-claude-code-session-id": "3f1c2a8e-0000-4000-8000-000000000001",
    "anthropic-dangerous-direct-browser-access": "true",
    "x-stainless-retry-count": "0",
    "x-stainless-timeout": "600",
    "accept-encoding": "gzip, deflate, br, zstd",
}


def test_claude_code_shaped_request_streams(gw, client):
    body = claude_code_like_body("Reply with OK")
    assert 45_000 < len(json.dumps(body)) < 60_000
    r = client.post(f"{gw.anthropic_url}/v1/messages?beta=true", headers=CLAUDE_CODE_HEADERS, json=body)
    assert r.status_code == 200, r.text
    events = anthropic_events(r.text)
    assert events[-1][0] == "message_stop"
    # The prompt is the last plain text block; system-reminder blocks and tools do not change the reply.
    assert stream_text(events) == GREETING + "Reply with OK"
    recorded = gw.requests[-1]
    assert recorded.query == "beta=true"
    assert recorded.body is not None and len(recorded.body["tools"]) == 10
    assert recorded.headers["x-claude-code-session-id"] == CLAUDE_CODE_HEADERS["x-claude-code-session-id"]


def test_non_streaming_fallback(gw, client):
    body = claude_code_like_body("Reply with OK") | {"stream": False}
    r = client.post(f"{gw.anthropic_url}/v1/messages?beta=true", headers=CLAUDE_CODE_HEADERS, json=body)
    assert r.status_code == 200
    assert r.json()["content"][0]["text"] == GREETING + "Reply with OK"


def test_max_tokens_cuts_the_reply_with_stop_reason_max_tokens(gw, client):
    r = client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(max_tokens=3))
    assert r.json()["content"][0]["text"] == "Hello from the "
    assert r.json()["stop_reason"] == "max_tokens"
    r = client.post(
        f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(max_tokens=1, stream=True)
    )
    events = anthropic_events(r.text)
    assert stream_text(events) == "Hello "
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"


def test_reply_is_deterministic_and_echoes_the_last_user_text():
    assert demo_reply_text([]) == "Hello from the OptScale demo gateway."
    msgs = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "  second\n\tprompt "}]},
    ]
    assert demo_reply_text(msgs) == GREETING + "second prompt"
    long = demo_reply_text([{"role": "user", "content": "word " * 200}])
    assert long.endswith("…") and len(long) <= len(GREETING) + 200


def test_bare_model_names_resolve_when_unambiguous(gw, client):
    r = client.post(
        f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(model="claude-sonnet-4-6")
    )
    assert r.status_code == 200 and r.json()["model"] == "claude-sonnet-4-6"
    r = client.post(
        f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(model="claude-opus-5-5")
    )
    assert (
        assert_anthropic_error(r, 404, "not_found_error")
        == "Unknown model 'claude-opus-5-5' for this organization"
    )


def test_structured_output_request_gets_valid_json(gw, client):
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    body = message_body(model=HAIKU, output_config={"format": {"type": "json_schema", "schema": schema}})
    r = client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=body)
    assert json.loads(r.json()["content"][0]["text"]) == {"title": "demo"}


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "days", "unit"],
    },
}
OTHER_TOOL = {"name": "noop", "description": "nothing", "input_schema": {"type": "object", "properties": {}}}


def test_forced_tool_use_stream(gw, client):
    body = message_body(
        "weather?",
        stream=True,
        tools=[OTHER_TOOL, WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    r = client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=body)
    assert r.status_code == 200
    events = anthropic_events(r.text)
    names = [e for e, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    block = events[1][1]["content_block"]
    assert block["type"] == "tool_use" and block["name"] == "get_weather" and block["input"] == {}
    assert block["id"].startswith("toolu_")
    deltas = [p["delta"] for e, p in events if e == "content_block_delta"]
    assert len(deltas) > 1 and all(d["type"] == "input_json_delta" for d in deltas)
    assert json.loads("".join(d["partial_json"] for d in deltas)) == {"city": "demo", "days": 1, "unit": "c"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_forced_tool_use_json_and_any_and_auto(gw, client):
    url = f"{gw.anthropic_url}/v1/messages"
    r = client.post(url, headers=auth(), json=message_body(tools=[WEATHER_TOOL], tool_choice={"type": "any"}))
    body = r.json()
    assert body["stop_reason"] == "tool_use"
    assert body["content"][0]["type"] == "tool_use" and body["content"][0]["name"] == "get_weather"
    assert body["content"][0]["input"] == {"city": "demo", "days": 1, "unit": "c"}
    r = client.post(
        url, headers=auth(), json=message_body(tools=[WEATHER_TOOL], tool_choice={"type": "auto"})
    )
    assert r.json()["content"][0]["type"] == "text" and r.json()["stop_reason"] == "end_turn"


def test_count_tokens(gw, client):
    body = {"model": SONNET, "system": "be brief", "messages": [{"role": "user", "content": "one two three"}]}
    r = client.post(f"{gw.anthropic_url}/v1/messages/count_tokens?beta=true", headers=auth(), json=body)
    assert r.status_code == 200
    assert r.json() == {"input_tokens": 5}
    assert r.headers["request-id"].startswith("req_demo_")
    r = client.post(
        f"{gw.anthropic_url}/v1/messages/count_tokens", headers=auth(), json=body | {"model": "nope"}
    )
    assert_anthropic_error(r, 404, "not_found_error")


def test_head_hello_needs_no_auth(gw, client):
    for url in (f"{gw.anthropic_url}/api/hello", gw.anthropic_url):
        r = client.head(url, headers={"user-agent": "Bun/1.4.6"})
        assert r.status_code == 200
        assert r.content == b""
    assert [r.method for r in gw.requests] == ["HEAD", "HEAD"]


def test_request_body_sent_chunked(gw, client):
    raw = json.dumps(message_body("chunked upload")).encode()
    parts = iter([raw[:10], raw[10:50], raw[50:]])
    r = client.post(
        f"{gw.anthropic_url}/v1/messages",
        headers=auth() | {"content-type": "application/json"},
        content=parts,
    )
    assert r.status_code == 200
    assert gw.requests[-1].headers["transfer-encoding"] == "chunked"
    assert r.json()["content"][0]["text"] == GREETING + "chunked upload"


# ---------------------------------------------------------------------------------------------------------------------
# OpenAI chat completions
# ---------------------------------------------------------------------------------------------------------------------


def test_chat_completions_json(gw, client):
    body = {"model": "openai/gpt-5", "messages": [{"role": "user", "content": "ping"}]}
    r = client.post(f"{gw.base_url}/chat/completions", headers=auth(), json=body)
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "chat.completion" and data["model"] == "openai/gpt-5"
    assert data["choices"][0]["message"] == {
        "role": "assistant",
        "content": GREETING + "ping",
        "refusal": None,
    }
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["completion_tokens"] == len((GREETING + "ping").split())
    r = client.post(f"{gw.base_url}/chat/completions", headers=auth(), json=body | {"max_tokens": 2})
    assert r.json()["choices"][0]["message"]["content"] == "Hello from "
    assert r.json()["choices"][0]["finish_reason"] == "length"


def test_chat_completions_stream(gw, client):
    body = {
        "model": "ollama/qwen3:32b",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "ping"}]}],
    }
    r = client.post(f"{gw.base_url}/chat/completions", headers=auth(), json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    assert all(e is None for e, _ in events)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == GREETING + "ping"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(text.split())


# ---------------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------------


def test_unknown_model_vs_route_not_found(gw, client):
    r = client.post(
        f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(model="anthropic/nope-1")
    )
    unknown = assert_anthropic_error(r, 404, "not_found_error")
    assert unknown == "Unknown model 'anthropic/nope-1' for this organization"
    r = client.post(f"{gw.anthropic_url}/v1/nope", headers=auth(), json=message_body())
    route = assert_anthropic_error(r, 404, "not_found_error")
    assert route.startswith("Route not found: /llm_proxy/") and "model" not in route.lower()
    chat = {"model": "openai/gpt-9", "messages": [{"role": "user", "content": "x"}]}
    r = client.post(f"{gw.base_url}/chat/completions", headers=auth(), json=chat)
    assert "Unknown model 'openai/gpt-9'" in assert_openai_error(r, 404, "model_not_found")


def test_base_url_left_at_v1_gives_route_not_found(gw, client):
    # ANTHROPIC_BASE_URL=…/v1 makes Claude Code post to …/v1/v1/messages.
    r = client.post(f"{gw.base_url}/v1/messages?beta=true", headers=CLAUDE_CODE_HEADERS, json=message_body())
    msg = assert_openai_error(r, 404, "route_not_found")
    assert msg == f"Route not found: /llm_proxy/{DEMO_ORG_ID}/v1/v1/messages"
    assert r.headers["request-id"].startswith("req_demo_")


def test_wrong_org_and_foreign_paths(gw, client):
    other = "11111111-1111-4111-8111-111111111111"
    r = client.post(
        gw.anthropic_url.replace(DEMO_ORG_ID, other) + "/v1/messages", headers=auth(), json=message_body()
    )
    assert other in assert_anthropic_error(r, 404, "not_found_error")
    r = client.get(gw.base_url.replace(DEMO_ORG_ID, other) + "/models", headers=auth())
    assert_openai_error(r, 404, "organization_not_found")
    r = client.post(f"http://127.0.0.1:{gw.port}/v1/messages", headers=auth(), json=message_body())
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "404 page not found\n"
    # GET on a POST route is not a route either.
    assert_anthropic_error(
        client.get(f"{gw.anthropic_url}/v1/messages", headers=auth()), 404, "not_found_error"
    )


def test_key_policies(gw, client):
    url = f"{gw.anthropic_url}/v1/messages"
    r = client.post(url, headers=auth(DEMO_KEY_LIMITED), json=message_body(model="openai/gpt-5"))
    assert (
        assert_anthropic_error(r, 403, "permission_error")
        == "Provider 'openai' is not allowed for this virtual key"
    )
    r = client.post(url, headers=auth(DEMO_KEY_LIMITED), json=message_body(model=OPUS))
    assert (
        assert_anthropic_error(r, 403, "permission_error")
        == f"Model '{OPUS}' is not allowed for this virtual key"
    )
    r = client.post(url, headers=auth(DEMO_KEY_LIMITED), json=message_body(model=SONNET))
    assert r.status_code == 200
    r = client.post(url, headers=auth(DEMO_KEY_OPENAI_ONLY), json=message_body(model=SONNET))
    assert "Provider 'anthropic'" in assert_anthropic_error(r, 403, "permission_error")

    chat = f"{gw.base_url}/chat/completions"
    r = client.post(chat, headers=auth(DEMO_KEY_LIMITED), json=message_body(model="openai/gpt-4.1"))
    assert_openai_error(r, 403, "provider_blocked")
    r = client.post(chat, headers=auth(DEMO_KEY_LIMITED), json=message_body(model=OPUS))
    assert_openai_error(r, 403, "model_blocked")

    r = client.post(url, headers=auth(DEMO_KEY_BUDGET), json=message_body())
    assert "budget" in assert_anthropic_error(r, 402, "billing_error").lower()
    r = client.post(chat, headers=auth(DEMO_KEY_BUDGET), json=message_body())
    assert_openai_error(r, 402, "budget_exceeded")
    assert r.json()["error"]["type"] == "budget_exceeded"
    count = {"model": OPUS, "messages": [{"role": "user", "content": "x"}]}
    r = client.post(f"{url}/count_tokens", headers=auth(DEMO_KEY_BUDGET), json=count)
    assert r.status_code == 200  # counting spends nothing


def test_invalid_requests(gw, client):
    url = f"{gw.anthropic_url}/v1/messages"
    r = client.post(url, headers=auth() | {"content-type": "application/json"}, content=b"{not json")
    assert_anthropic_error(r, 400, "invalid_request_error")
    body = message_body()
    del body["max_tokens"]
    assert "max_tokens" in assert_anthropic_error(
        client.post(url, headers=auth(), json=body), 400, "invalid_request_error"
    )
    assert "model" in assert_anthropic_error(
        client.post(url, headers=auth(), json={"messages": []}), 400, "invalid_request_error"
    )


FORCED = {
    # kind: (status, anthropic error type, openai code)
    "auth": (401, "authentication_error", "virtual_key_not_found"),
    "provider": (403, "permission_error", "provider_blocked"),
    "model_blocked": (403, "permission_error", "model_blocked"),
    "not_found": (404, "not_found_error", "model_not_found"),
    "path_not_found": (404, "not_found_error", "route_not_found"),
    "rate": (429, "rate_limit_error", "rate_limited"),
    "budget": (402, "billing_error", "budget_exceeded"),
    "server": (500, "api_error", "internal_error"),
    "html_502": (502, None, None),
}


def test_forced_kinds_cover_every_fault_kind():
    assert set(FORCED) == set(FAULT_KINDS)


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_forced_kind_on_every_family(gw, client, kind):
    status, etype, code = FORCED[kind]
    gw.faults.force_kind = kind
    anth = client.post(
        f"{gw.anthropic_url}/v1/messages?beta=true", headers=auth(), json=message_body(stream=True)
    )
    chat = client.post(f"{gw.base_url}/chat/completions", headers=auth(), json=message_body())
    models = client.get(f"{gw.base_url}/models", headers=auth())
    count = client.post(f"{gw.anthropic_url}/v1/messages/count_tokens", headers=auth(), json=message_body())
    if kind == "html_502":
        for r in (anth, chat, models, count):
            assert r.status_code == 502
            assert r.headers["content-type"] == "text/html"
            assert "<title>502 Bad Gateway</title>" in r.text and "nginx" in r.text
    else:
        message = assert_anthropic_error(anth, status, etype)
        assert_anthropic_error(count, status, etype)
        assert_openai_error(chat, status, code)
        assert_openai_error(models, status, code)
        if kind == "provider":
            assert message == "Provider 'anthropic' is not allowed for this virtual key"
        if kind == "model_blocked":
            assert message == f"Model '{OPUS}' is not allowed for this virtual key"
        if kind == "not_found":
            assert message == f"Unknown model '{OPUS}' for this organization"
        if kind == "path_not_found":
            assert message.startswith("Route not found: ")
        if kind == "rate":
            assert anth.headers["retry-after"] == "2"
    # The start-up preflight is not a model route: it keeps working.
    assert client.head(f"{gw.anthropic_url}/api/hello").status_code == 200


def test_force_status(gw, client):
    url = f"{gw.anthropic_url}/v1/messages"
    gw.faults.force_kind, gw.faults.force_status = "server", 503
    assert assert_anthropic_error(
        client.post(url, headers=auth(), json=message_body()), 503, "overloaded_error"
    )
    gw.faults.force_kind, gw.faults.force_status = None, 529
    assert_anthropic_error(client.post(url, headers=auth(), json=message_body()), 529, "overloaded_error")
    gw.faults.force_status = 401
    assert_anthropic_error(client.post(url, headers=auth(), json=message_body()), 401, "authentication_error")
    gw.faults.force_status = 502
    assert client.post(url, headers=auth(), json=message_body()).headers["content-type"] == "text/html"
    gw.faults.force_status = None
    assert client.post(url, headers=auth(), json=message_body()).status_code == 200


def test_faults_validate_and_reset():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults(force_kind="nope")
    f = Faults(latency_ms=5, reject_beta=True, force_kind="rate")
    with pytest.raises(ValueError):
        f.force_kind = "typo"
    with pytest.raises(ValueError):
        f.cut_stream_after = -1
    f.reset()
    assert f == Faults()


def test_reject_beta_only_when_the_header_is_present(gw, client):
    gw.faults.reject_beta = True
    url = f"{gw.anthropic_url}/v1/messages?beta=true"
    r = client.post(url, headers=auth(), json=message_body(stream=True))
    assert r.status_code == 200
    r = client.post(url, headers=CLAUDE_CODE_HEADERS, json=message_body(stream=True))
    message = assert_anthropic_error(r, 400, "invalid_request_error")
    # Only the values outside the accepted (stable) set are named, as a gateway that knows some betas would.
    assert message == "Unexpected value(s) `context-management-2025-06-27` for the anthropic-beta header"
    stable_only = {**CLAUDE_CODE_HEADERS, "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14"}
    assert client.post(url, headers=stable_only, json=message_body(stream=True)).status_code == 200
    gw.faults.accepted_betas = ()
    r = client.post(url, headers=stable_only, json=message_body(stream=True))
    assert assert_anthropic_error(r, 400, "invalid_request_error").startswith("Unexpected value(s) `claude-code-")
    r = client.post(
        f"{gw.anthropic_url}/v1/messages/count_tokens", headers=CLAUDE_CODE_HEADERS, json=message_body()
    )
    assert r.status_code == 400
    gw.faults.reject_beta = False
    assert client.post(url, headers=CLAUDE_CODE_HEADERS, json=message_body()).status_code == 200


def test_models_route_missing(gw, client):
    gw.faults.models_route_missing = True
    assert_openai_error(client.get(f"{gw.base_url}/models", headers=auth()), 404, "route_not_found")
    assert client.get(f"{gw.anthropic_url}/v1/models", headers=auth()).status_code == 200


# ---------------------------------------------------------------------------------------------------------------------
# Timing knobs
# ---------------------------------------------------------------------------------------------------------------------


def test_latency_is_measurable_and_changeable_while_running(gw, client):
    client.head(f"{gw.anthropic_url}/api/hello")  # warm the connection
    gw.faults.latency_ms = 300
    for call in (
        lambda: client.head(f"{gw.anthropic_url}/api/hello"),
        lambda: client.get(f"{gw.base_url}/models", headers=auth()),
        lambda: client.get(f"{gw.base_url}/models"),  # errors are delayed too
    ):
        start = time.perf_counter()
        call()
        assert time.perf_counter() - start >= 0.3
    gw.faults.latency_ms = 0
    start = time.perf_counter()
    client.get(f"{gw.base_url}/models", headers=auth())
    assert time.perf_counter() - start < 0.3  # no longer delayed (a delayed answer takes at least 0.3 s)


def _timed_stream(client: httpx.Client, url: str, body: dict, headers: dict | None = None):
    """(seconds to headers, [(seconds, event name)], text) for a streamed Anthropic request."""
    start = time.perf_counter()
    marks: list[tuple[float, str]] = []
    with client.stream("POST", url, headers=headers or auth(), json=body) as r:
        t_headers = time.perf_counter() - start
        for line in r.iter_lines():
            if line.startswith("event: "):
                marks.append((time.perf_counter() - start, line[7:]))
    return t_headers, marks


def test_ttft_delays_the_first_delta_not_the_headers(gw, client):
    gw.faults.ttft_ms = 400
    t_headers, marks = _timed_stream(client, f"{gw.anthropic_url}/v1/messages", message_body(stream=True))
    assert t_headers < 0.3
    first_start = next(t for t, e in marks if e == "message_start")
    first_delta = next(t for t, e in marks if e == "content_block_delta")
    assert first_start < 0.3
    assert first_delta >= 0.4
    assert marks[-1][1] == "message_stop"
    # Non-streaming replies wait for the whole generation, so they pay the TTFT as well.
    start = time.perf_counter()
    client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body())
    assert time.perf_counter() - start >= 0.4


def test_chunk_delay_paces_the_deltas(gw, client):
    gw.faults.chunk_delay_ms = 50
    _, marks = _timed_stream(client, f"{gw.anthropic_url}/v1/messages", message_body("a b c", stream=True))
    deltas = [t for t, e in marks if e == "content_block_delta"]
    assert len(deltas) == 11
    # Paced against a clock, so a late first delta shortens the spread; unpaced, it would be ~0 s.
    assert deltas[-1] - deltas[0] >= 10 * 0.05 / 2


def test_cut_stream_after_closes_without_message_stop(gw, client):
    gw.faults.cut_stream_after = 3
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream(
            "POST", f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True)
        ) as r,
    ):
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("event: "):
                received.append(line[7:])
    assert received.count("content_block_delta") == 3
    assert "message_stop" not in received and "message_delta" not in received
    assert gw.requests[-1].status == 200

    # The OpenAI route is cut the same way (no [DONE]); a cut of 0 stops before any delta.
    gw.faults.cut_stream_after = 0
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream(
            "POST", f"{gw.base_url}/chat/completions", headers=auth(), json=message_body(stream=True)
        ) as r,
    ):
        lines.extend(line for line in r.iter_lines() if line)
    assert len(lines) == 1 and "[DONE]" not in lines[0]

    gw.faults.cut_stream_after = None  # the next request on a fresh connection is whole again
    r = client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True))
    assert anthropic_events(r.text)[-1][0] == "message_stop"


def test_cut_larger_than_the_reply_changes_nothing(gw, client):
    gw.faults.cut_stream_after = 1000
    r = client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True))
    assert anthropic_events(r.text)[-1][0] == "message_stop"


@pytest.mark.parametrize("n", [1, 7, 1234])
def test_stream_chunks_sends_exactly_n_deltas(gw, client, n):
    gw.faults.stream_chunks = n
    r = client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True))
    events = anthropic_events(r.text)
    assert sum(1 for e, _ in events if e == "content_block_delta") == n
    assert events[-2][1]["usage"]["output_tokens"] == n
    assert events[-1][0] == "message_stop"
    r = client.post(f"{gw.base_url}/chat/completions", headers=auth(), json=message_body(stream=True))
    chunks = [json.loads(d) for _, d in parse_sse(r.text) if d != "[DONE]"]
    assert (
        sum(1 for c in chunks if c["choices"] and "content" in c["choices"][0]["delta"]) == n + 1
    )  # + role chunk


@pytest.mark.timeout(60)
def test_sustains_2000_chunks_per_second(gw, client):
    gw.faults.stream_chunks = 6000
    gw.faults.chunk_delay_ms = 0.5  # 2,000 per second for 3 s
    count = 0
    start = time.perf_counter()
    with client.stream(
        "POST", f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True)
    ) as r:
        for line in r.iter_lines():
            if line == "event: content_block_delta":
                count += 1
    elapsed = time.perf_counter() - start
    assert count == 6000
    # Paced, not sent at once (the rate itself is measured by `make bench`, not asserted on a busy CI machine).
    assert elapsed >= 2.9, elapsed


def test_concurrent_streams_do_not_serialize(gw):
    gw.faults.chunk_delay_ms = 30  # 11 deltas → ≈0.3 s per stream
    results: list[str] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with httpx.Client(timeout=10) as c:
                r = c.post(
                    f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(f"n{i}", stream=True)
                )
                results.append(stream_text(anthropic_events(r.text)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == sorted(GREETING + f"n{i}" for i in range(8))
    assert time.perf_counter() - start < 1.5  # 8 × 0.3 s would be 2.4 s if serialized


# ---------------------------------------------------------------------------------------------------------------------
# Request log
# ---------------------------------------------------------------------------------------------------------------------


def test_request_log(gw, client):
    before = time.time()
    r = client.post(
        f"{gw.anthropic_url}/v1/messages?beta=true",
        headers={**CLAUDE_CODE_HEADERS, "X-Custom-Header": "Value"},
        json=message_body("logged"),
    )
    client.head(f"{gw.anthropic_url}/api/hello")
    post, head = gw.requests
    assert post.method == "POST"
    assert post.path == f"/llm_proxy/{DEMO_ORG_ID}/anthropic/v1/messages"
    assert post.query == "beta=true" and post.query_params == {"beta": ["true"]}
    assert post.headers["x-custom-header"] == "Value"
    assert all(k == k.lower() for k in post.headers)
    assert post.headers["authorization"] == f"Bearer {DEMO_KEY}"
    assert post.headers["anthropic-version"] == "2023-06-01"
    assert post.body == message_body("logged")
    assert before <= post.at <= time.time()
    assert post.status == 200 and post.request_id == r.headers["request-id"]
    assert head.method == "HEAD" and head.body is None and "authorization" not in head.headers
    # Credentials never show in the repr (what a failing assert or a log line would print).
    text = repr(post)
    assert DEMO_KEY not in text and "sk-bf-…a001" in text
    assert post.masked_headers()["authorization"] == "Bearer sk-bf-…a001"
    gw.clear_requests()
    assert gw.requests == []


def test_request_log_is_thread_safe(gw):
    def burst() -> None:
        with httpx.Client() as c:
            for _ in range(20):
                c.head(f"{gw.anthropic_url}/api/hello")

    threads = [threading.Thread(target=burst) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(gw.requests) == 120
    assert len({r.request_id for r in gw.requests}) == 120


def test_keys_are_never_logged(gw, client, caplog):
    caplog.set_level("DEBUG", logger="optscale_tui.demo")
    client.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True))
    client.get(f"{gw.base_url}/models", headers={"x-api-key": "sk-bf-wrong-key-123456789"})
    assert caplog.records  # one line per request
    assert DEMO_KEY not in caplog.text and "sk-bf-wrong-key-123456789" not in caplog.text


# ---------------------------------------------------------------------------------------------------------------------
# HTTPS
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def test_https_with_a_trusted_ca(ca, tmp_path):
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    key_path.write_bytes(cert.private_key_pem.bytes())
    with DemoGateway(certfile=cert_path, keyfile=key_path) as gw:
        assert gw.base_url.startswith(f"https://127.0.0.1:{gw.port}/llm_proxy/")
        with httpx.Client(verify=_trusting(ca), timeout=10) as c:
            r = c.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True))
            assert r.status_code == 200
            assert anthropic_events(r.text)[-1][0] == "message_stop"
        # A client that does not trust the CA fails the handshake...
        with (
            httpx.Client(verify=ssl.create_default_context(), timeout=10) as c,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            c.get(f"{gw.base_url}/models", headers=auth())
        # ...a plain-http client gets nothing useful, and neither breaks the server.
        with httpx.Client(timeout=5) as c, pytest.raises(httpx.HTTPError):
            c.get(gw.base_url.replace("https://", "http://") + "/models", headers=auth())
        with httpx.Client(verify=_trusting(ca), timeout=10) as c:
            assert c.get(f"{gw.base_url}/models", headers=auth()).status_code == 200


def test_https_with_a_combined_pem_and_a_silent_client(ca, tmp_path):
    cert = ca.issue_cert("127.0.0.1")
    combined = tmp_path / "combined.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(combined))
    # A client that connects and never starts TLS must not stall the accept loop, nor stop().
    with DemoGateway(certfile=combined) as gw, socket.create_connection(("127.0.0.1", gw.port)):
        with httpx.Client(verify=_trusting(ca), timeout=5) as c:
            assert c.head(f"{gw.anthropic_url}/api/hello").status_code == 200
        start = time.perf_counter()
        gw.stop()
        assert time.perf_counter() - start < 2


def test_keyfile_without_certfile_is_refused(tmp_path):
    with pytest.raises(ValueError):
        DemoGateway(keyfile=tmp_path / "k.pem")


# ---------------------------------------------------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------------------------------------------------


def test_stop_cuts_a_stream_in_flight_and_releases_the_port():
    gw = DemoGateway().start()
    port = gw.port
    gw.faults.chunk_delay_ms = 1000  # a stream that would take ~10 s
    outcome: dict[str, Any] = {}
    got_first = threading.Event()

    def stream() -> None:
        events: list[str] = []
        try:
            with (
                httpx.Client(timeout=20) as c,
                c.stream(
                    "POST", f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True)
                ) as r,
            ):
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        events.append(line[7:])
                        if line == "event: content_block_delta":
                            got_first.set()
        except httpx.HTTPError as exc:
            outcome["error"] = exc
        outcome["events"] = events
        outcome["ended"] = time.perf_counter()

    # An idle keep-alive connection must not hold stop() up either.
    idle = httpx.Client(timeout=5)
    assert idle.head(f"{gw.anthropic_url}/api/hello").status_code == 200

    worker = threading.Thread(target=stream)
    worker.start()
    assert got_first.wait(5)
    start = time.perf_counter()
    gw.stop()
    stopped = time.perf_counter()
    assert stopped - start < 2
    worker.join(5)
    assert not worker.is_alive()
    assert outcome["ended"] - start < 2
    assert "message_stop" not in outcome["events"]
    assert isinstance(outcome.get("error"), httpx.RemoteProtocolError)
    idle.close()

    # The port is free again: nothing accepts there, and a new gateway can bind it.
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=2) as c:
        c.head(f"http://127.0.0.1:{port}/")
    with DemoGateway(port=port) as again, httpx.Client() as c:
        assert again.port == port
        assert c.get(f"{again.base_url}/models", headers=auth()).status_code == 200


def test_stop_during_latency_and_ttft_waits():
    for knob in ("latency_ms", "ttft_ms"):
        gw = DemoGateway().start()
        setattr(gw.faults, knob, 30_000)
        worker_done = threading.Event()

        def call(gw: DemoGateway = gw, done: threading.Event = worker_done) -> None:
            with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=20) as c:
                c.post(f"{gw.anthropic_url}/v1/messages", headers=auth(), json=message_body(stream=True))
            done.set()

        threading.Thread(target=call, daemon=True).start()
        deadline = time.monotonic() + 5
        while not gw.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        start = time.perf_counter()
        gw.stop()
        assert time.perf_counter() - start < 2
        assert worker_done.wait(3)


def test_start_stop_are_idempotent_and_restartable():
    gw = DemoGateway()
    gw.stop()  # never started: nothing to do
    assert not gw.running
    with pytest.raises(RuntimeError):
        _ = gw.port
    gw.start()
    assert gw.start() is gw and gw.running
    gw.stop()
    gw.stop()
    gw.start()
    with httpx.Client() as c:
        assert c.head(f"{gw.anthropic_url}/api/hello").status_code == 200
    gw.stop()


def test_port_in_use_raises():
    with DemoGateway() as gw, pytest.raises(OSError):
        DemoGateway(port=gw.port).start()


# ---------------------------------------------------------------------------------------------------------------------
# python -m optscale_tui.demo
# ---------------------------------------------------------------------------------------------------------------------


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "optscale_tui.demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_module_entry_point_json_and_sigterm():
    proc = _spawn("--json", "--ttft-ms", "1")
    try:
        info = json.loads(proc.stdout.readline())
        assert info["api_key"] == DEMO_KEY and info["org_id"] == DEMO_ORG_ID
        assert info["anthropic_url"].endswith(f"/llm_proxy/{DEMO_ORG_ID}/anthropic")
        with httpx.Client(timeout=5) as c:
            r = c.post(f"{info['anthropic_url']}/v1/messages", headers=auth(), json=message_body(stream=True))
            assert anthropic_events(r.text)[-1][0] == "message_stop"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to a child differs on Windows")
def test_module_entry_point_text_and_ctrl_c():
    proc = _spawn("-v")
    try:
        first = proc.stdout.readline()
        assert first.startswith("OptScale demo gateway running")
        lines = [proc.stdout.readline() for _ in range(5)]
        base = next(line.split()[-1] for line in lines if "ANTHROPIC_BASE_URL" in line)
        assert DEMO_KEY in "".join(lines)
        with httpx.Client(timeout=5) as c:
            assert c.head(f"{base}/api/hello").status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
        assert proc.returncode == 0
        assert "demo gateway stopped" in out
        assert "/anthropic/api/hello -> 200" in err  # -v logs requests...
        assert DEMO_KEY not in err  # ...never keys
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_module_entry_point_refuses_a_public_host():
    proc = _spawn("--host", "0.0.0.0")
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2 and "loopback" in err

"""Deterministic replies of the demo gateway (public so tests and other modules can predict them): the greeting
that echoes the prompt, the token estimate, a forced tool call's input, a structured output's JSON, and how many
pieces a reply streams in."""

from __future__ import annotations

import json
import re
from typing import Any

from optscale_tui.demo.faults import Faults

REPLY_PREFIX = "Hello from the OptScale demo gateway."
_PROMPT_ECHO_LIMIT = 200


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for msg in reversed(messages):
        if not isinstance(msg, dict) or msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [
                b["text"]
                for b in content
                if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
            ]
            # Claude Code prepends <system-reminder> blocks; the prompt itself is the last plain text block.
            plain = [t for t in texts if not t.lstrip().startswith("<system-reminder>")]
            if plain or texts:
                return (plain or texts)[-1]
        return ""
    return ""


def demo_reply_text(messages: Any) -> str:
    """The reply the demo gateway gives to a conversation: a fixed greeting echoing the last user prompt
    (whitespace collapsed, at most 200 characters)."""
    prompt = " ".join(_last_user_text(messages).split())
    if len(prompt) > _PROMPT_ECHO_LIMIT:
        prompt = prompt[: _PROMPT_ECHO_LIMIT - 1].rstrip() + "…"
    return f"{REPLY_PREFIX} You said: {prompt}" if prompt else REPLY_PREFIX


def word_chunks(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _string_leaves(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):  # structural fields ("role": "user", "type": "text") are not text
            stack.extend(v for k, v in item.items() if k not in ("role", "type"))
        elif isinstance(item, list):
            stack.extend(item)
    return out


def rough_tokens(body: dict[str, Any]) -> int:
    """A rough, deterministic token estimate: whitespace-separated words in system, messages and tools."""
    words = sum(
        len(s.split()) for key in ("system", "messages", "tools") for s in _string_leaves(body.get(key))
    )
    return max(1, words)


def sample_input(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    out: dict[str, Any] = {}
    for name in required:
        spec = props.get(name) if isinstance(props.get(name), dict) else {}
        if isinstance(spec.get("enum"), list) and spec["enum"]:
            out[name] = spec["enum"][0]
            continue
        kind = spec.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        out[name] = {
            "string": "demo",
            "integer": 1,
            "number": 1,
            "boolean": True,
            "array": [],
            "object": {},
        }.get(kind, "demo")
    return out


def output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    schema = fmt.get("schema")
    if not isinstance(schema, dict) and isinstance(fmt.get("json_schema"), dict):
        schema = fmt["json_schema"].get("schema")
    return schema if isinstance(schema, dict) else None


def forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]
    choice = body.get("tool_choice")
    if not tools or not isinstance(choice, dict):
        return None
    if choice.get("type") == "any":
        return tools[0]
    if choice.get("type") == "tool":
        return next((t for t in tools if t["name"] == choice.get("name")), None)
    return None


def message_reply(body: dict[str, Any], faults: Faults) -> tuple[dict[str, Any] | None, Any, list[str], str]:
    """An Anthropic Messages reply: (the forced tool or None, its input, the pieces streamed, the stop reason)."""
    tool = forced_tool(body)
    if tool is not None:
        tool_input = sample_input(tool.get("input_schema"))
        text = json.dumps(tool_input, separators=(",", ":"))
        return tool, tool_input, [text[i : i + 12] for i in range(0, len(text), 12)] or [""], "tool_use"
    schema = output_schema(body)  # structured output (e.g. Claude Code's session-title request): valid JSON
    reply = json.dumps(sample_input(schema)) if schema is not None else demo_reply_text(body.get("messages"))
    words = word_chunks(reply)
    if faults.stream_chunks is not None:
        return None, None, [words[i % len(words)] for i in range(faults.stream_chunks)], "end_turn"
    max_tokens = max(1, int(body.get("max_tokens") or 1))
    return None, None, words[:max_tokens], "end_turn" if len(words) <= max_tokens else "max_tokens"


def chat_reply(body: dict[str, Any], faults: Faults) -> tuple[list[str], str]:
    """An OpenAI chat completion: (the pieces streamed, the finish reason)."""
    words = word_chunks(demo_reply_text(body.get("messages")))
    if faults.stream_chunks is not None:
        return [words[i % len(words)] for i in range(faults.stream_chunks)], "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    limit = max(1, int(limit)) if isinstance(limit, int) else len(words)
    return words[:limit], "stop" if len(words) <= limit else "length"

"""The routes under ``/llm_proxy/<org_id>/``: which one a request is, the checks in Bifrost's order (forced fault,
key, body, model, policy, budget, betas), and the replies of the model lists, Messages, chat and count_tokens."""

from __future__ import annotations

import time
from typing import Any

from optscale_tui.demo.catalog import KeyPolicy, anthropic_models, openai_models, provider_of, resolve_model
from optscale_tui.demo.errors import (
    ApiError,
    err_budget,
    err_invalid,
    err_invalid_key,
    err_missing_key,
    err_model_blocked,
    err_organization,
    err_provider,
    err_route,
    err_unknown_model,
)
from optscale_tui.demo.exchange import Exchange
from optscale_tui.demo.faults import Faults, forced_error
from optscale_tui.demo.replies import chat_reply, message_reply, rough_tokens
from optscale_tui.demo.streaming import stream_chat, stream_message

_PREFIX = "/llm_proxy/"


def route(h: Exchange, path: str, body: dict[str, Any] | None, raw: bytes, faults: Faults) -> None:
    gw = h.gateway
    if not path.startswith(_PREFIX):
        h.send_body(404, b"404 page not found\n", "text/plain; charset=utf-8", request_ids=False)
        return
    org, sep, sub = path[len(_PREFIX) :].partition("/")
    sub = f"/{sub}" if sep else ""
    family = "anthropic" if sub == "/anthropic" or sub.startswith("/anthropic/") else "openai"
    if org != gw.org_id:
        h.send_api_error(family, err_organization(org))
        return
    if h.command in ("HEAD", "GET") and sub in ("/anthropic", "/anthropic/", "/anthropic/api/hello"):
        h.send_body(200, b"", "text/plain; charset=utf-8")
        return
    name = _route_name(h.command, sub, faults)
    model = body.get("model") if body and isinstance(body.get("model"), str) else None
    policy, err = authenticate(h.req_headers, gw.keys)
    err = (err_route(path) if name is None else forced_error(faults, model, path) or err
           or _inference_error(h, name, family, body, raw, model, policy, faults))
    if err is not None:
        h.send_api_error(family, err)
        return
    assert policy is not None and name is not None
    if name == "openai_models":
        h.send_json(200, openai_models(gw.models, policy))
    elif name == "anthropic_models":
        h.send_json(200, anthropic_models(gw.models, policy, h.record.query_params if h.record else {}))
    elif name == "count_tokens":
        h.send_json(200, {"input_tokens": rough_tokens(body or {})})
    elif name == "messages":
        messages(h, body or {}, model or "", faults)
    else:
        chat(h, body or {}, model or "", faults)


def _route_name(method: str, sub: str, faults: Faults) -> str | None:
    if method == "GET" and sub == "/v1/models" and not faults.models_route_missing:
        return "openai_models"
    if method == "GET" and sub == "/anthropic/v1/models":
        return "anthropic_models"
    if method == "POST" and sub == "/v1/chat/completions":
        return "chat"
    if method == "POST" and sub == "/anthropic/v1/messages":
        return "messages"
    if method == "POST" and sub == "/anthropic/v1/messages/count_tokens":
        return "count_tokens"
    return None


def authenticate(headers: dict[str, str], keys: dict[str, KeyPolicy]) -> tuple[KeyPolicy | None, ApiError | None]:
    """The key's policy, from ``x-bf-vk``, ``Authorization: Bearer`` or ``x-api-key``: the first one presented."""
    candidates: list[str] = []
    if headers.get("x-bf-vk", "").strip():
        candidates.append(headers["x-bf-vk"].strip())
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        candidates.append(token.strip())
    if headers.get("x-api-key", "").strip():
        candidates.append(headers["x-api-key"].strip())
    if not candidates:
        return None, err_missing_key()
    policy = keys.get(candidates[0])  # the first credential presented is the one used
    if policy is None:
        return None, err_invalid_key()
    return policy, None


def _inference_error(h: Exchange, name: str, family: str, body: dict[str, Any] | None, raw: bytes,
                     model: str | None, policy: KeyPolicy | None, faults: Faults) -> ApiError | None:
    """What an inference route refuses, in Bifrost's order (the model lists pass: they have no body)."""
    if name in ("openai_models", "anthropic_models") or policy is None:
        return None
    if body is None:
        return err_invalid("Request body must be a JSON object" if raw else "Request body is required")
    if model is None:
        return err_invalid("model: Field required")
    if not isinstance(body.get("messages"), list):
        return err_invalid("messages: Field required")
    if name == "messages" and not isinstance(body.get("max_tokens"), int):
        return err_invalid("max_tokens: Field required")
    catalog_id = resolve_model(h.gateway.models, model)
    if catalog_id is None:
        return err_unknown_model(model)
    if not policy.allows_provider(provider_of(catalog_id)):
        return err_provider(provider_of(catalog_id))
    if not policy.allows_model(catalog_id):
        return err_model_blocked(model)
    if policy.budget_exceeded and name != "count_tokens":
        return err_budget()
    beta = h.req_headers.get("anthropic-beta")
    rejected = [v.strip() for v in (beta or "").split(",") if v.strip() and v.strip() not in faults.accepted_betas]
    if faults.reject_beta and family == "anthropic" and rejected:
        values = ", ".join(rejected)
        return err_invalid(f"Unexpected value(s) `{values}` for the anthropic-beta header")
    return None


def messages(h: Exchange, body: dict[str, Any], model: str, faults: Faults) -> None:
    """``POST anthropic/v1/messages``: the greeting (or the forced tool call), as JSON or as a stream."""
    msg_id = f"msg_demo_{h.gateway._next_id():06d}"
    tool, tool_input, pieces, stop_reason = message_reply(body, faults)
    if tool is not None:
        tool_id = f"toolu_demo_{h.gateway._next_id():06d}"
        block: dict[str, Any] = {"type": "tool_use", "id": tool_id, "name": tool["name"], "input": {}}
    else:
        block = {"type": "text", "text": ""}
    usage_start = {
        "input_tokens": rough_tokens(body),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
    }
    message = {"id": msg_id, "type": "message", "role": "assistant", "model": model}
    if body.get("stream") is True:
        stream_message(h, {**message, "content": [], "stop_reason": None, "stop_sequence": None,
                           "usage": usage_start}, block, pieces, faults, stop_reason)
        return
    h.pause(faults.ttft_ms)
    content = [{**block, "input": tool_input}] if tool is not None else [{"type": "text", "text": "".join(pieces)}]
    h.send_json(200, {**message, "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                      "usage": {**usage_start, "output_tokens": len(pieces)}})


def chat(h: Exchange, body: dict[str, Any], model: str, faults: Faults) -> None:
    """``POST v1/chat/completions``: the greeting, as JSON or as ``data:`` chunks."""
    head = {"id": f"chatcmpl-demo-{h.gateway._next_id():06d}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}
    pieces, finish = chat_reply(body, faults)
    prompt_tokens = rough_tokens(body)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(pieces),
        "total_tokens": prompt_tokens + len(pieces),
    }
    if body.get("stream") is True:
        options = body.get("stream_options")
        wants_usage = isinstance(options, dict) and options.get("include_usage")
        stream_chat(h, head, pieces, finish, faults, usage if wants_usage else None)
        return
    h.pause(faults.ttft_ms)
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": "".join(pieces), "refusal": None},
        "logprobs": None,
        "finish_reason": finish,
    }
    h.send_json(200, {**head, "object": "chat.completion", "choices": [choice], "usage": usage})


"""Non-streaming ``chat.completion`` bodies -> :class:`ChatResult`, normalized as streams are."""

from __future__ import annotations

import json
from typing import Any

from ..errors import MalformedResponseError, error_from_body
from .shapes import chunk_problem
from .stream import new_tool_call_id
from .types import ChatResult, ToolCall, Usage, check_tool_calls, normalize_finish_reason

__all__ = ["parse_completion"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content as a list of parts (a few converters do this)
        return "".join(
            str(p.get("text") or "")
            for p in value
            if isinstance(p, dict) and p.get("type") in ("text", "output_text")
        )
    raise MalformedResponseError(
        f"the gateway answered with message content of type {type(value).__name__}, "
        "expected a string, a list of parts or null"
    )


def _tool_call(raw: Any) -> ToolCall:
    if not isinstance(raw, dict):
        raise MalformedResponseError("the gateway answered with a tool call that is not an object")
    fn = raw.get("function")
    if not isinstance(fn, dict) or not fn.get("name"):
        raise MalformedResponseError("the gateway answered with a tool call with no function name")
    args = fn.get("arguments")
    if args is None:
        args = ""
    elif not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    extra = raw.get("extra_content")
    return ToolCall(
        id=raw.get("id") or new_tool_call_id(),
        name=str(fn["name"]),
        arguments=args,
        extra_content=dict(extra) if isinstance(extra, dict) and extra else None,
    )


def parse_completion(body: Any) -> ChatResult:
    """Read one ``chat.completion`` body (its first choice).

    Raises the typed gateway error for an ``{"error": ...}`` body that came with a 200,
    MalformedResponseError when there is no usable choice, and InvalidToolCallError
    when a tool call's arguments are not one JSON object.
    """
    if not isinstance(body, dict):
        raise MalformedResponseError(
            f"the gateway answered with a JSON {type(body).__name__}, expected an object"
        )
    if body.get("error"):
        raise error_from_body(body, model=body.get("model"))
    choices = body.get("choices")
    if not isinstance(choices, list):
        raise MalformedResponseError(
            "the gateway answered without a 'choices' list (keys: "
            + ", ".join(sorted(map(str, body))[:10])
            + ")"
        )
    choice = next(
        (c for c in choices if isinstance(c, dict) and not c.get("index")),
        None,
    )
    if choice is None:
        raise MalformedResponseError("the gateway answered with no usable choice")
    message = choice.get("message")
    if message is None:
        message = {}
    if not isinstance(message, dict):
        raise MalformedResponseError("the gateway answered with a message that is not an object")
    raw_calls = message.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise MalformedResponseError("the gateway answered with 'tool_calls' that is not a list")
    _text(message.get("content"))  # its own message first
    calls = [_tool_call(raw) for raw in raw_calls]
    problem = chunk_problem(body, streamed=False)
    if problem is not None:
        raise MalformedResponseError(f"the gateway's response is malformed: {problem}")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    refusal = message.get("refusal")
    created = body.get("created")
    result = ChatResult(
        content=_text(message.get("content")),
        tool_calls=calls,
        finish_reason=normalize_finish_reason(choice.get("finish_reason"), bool(calls)),
        usage=Usage.from_dict(body.get("usage")),
        reasoning=reasoning if isinstance(reasoning, str) and reasoning else None,
        id=body.get("id") or None,
        model=body.get("model") or None,
        created=created if isinstance(created, int) else None,
        system_fingerprint=body.get("system_fingerprint") or None,
        refusal=refusal if isinstance(refusal, str) and refusal else None,
    )
    check_tool_calls(result)
    return result

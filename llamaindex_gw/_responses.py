"""gw_core results -> LlamaIndex ``ChatResponse``s, for whole turns and stream chunks.

What every response carries, so LlamaIndex's own machinery finds it where it looks:

- ``message``: the assistant turn as blocks (``ThinkingBlock`` for reasoning, one
  ``TextBlock``, a ``ToolCallBlock`` per call) plus ``additional_kwargs["tool_calls"]``,
  the OpenAI wire dicts (with Gemini 3's ``extra_content`` thought signatures, and the
  list LlamaIndex's streaming structured output checks for).
- ``raw``: a dict shaped like the OpenAI body or chunk, with ``usage`` in OpenAI's
  spelling (``TokenCountingHandler`` reads ``raw["usage"]``) and ``route``: which model
  id, pool and attempt answered.
- ``additional_kwargs``: ``prompt_tokens``/``completion_tokens``/``total_tokens`` (plus
  cached and reasoning counts when reported), ``finish_reason``, ``model``, ``pool``,
  ``attempts``; on streams also ``thinking_delta`` for the reasoning of that chunk.

In a stream, ``delta`` is the text of that chunk only and ``message`` is cumulative.
"""

from __future__ import annotations

import json
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from gw_core.transport import Completion, Route
from gw_core.wire import ChatResult, StreamDelta, ToolCall, Usage

__all__ = [
    "chat_to_completion",
    "completion_to_chat_response",
    "stream_chunk_response",
    "usage_counts",
    "usage_wire",
]


def usage_wire(usage: Usage | None) -> dict[str, Any] | None:
    """Usage in OpenAI's spelling (the core's one serialization), or None."""
    return usage.to_wire() if usage is not None else None


def usage_counts(usage: Usage | None) -> dict[str, int]:
    """The flat counts LlamaIndex integrations put in ``additional_kwargs``."""
    return usage.counts() if usage is not None else {}


def _route_fields(route: Route | None) -> dict[str, Any]:
    if route is None:
        return {}
    return {"model": route.model, "pool": route.pool, "attempts": route.attempts}


def _route_wire(route: Route | None) -> dict[str, Any] | None:
    return _route_fields(route) or None


def tool_kwargs(arguments: str) -> dict[str, Any] | str:
    """Arguments as a dict when they are a complete JSON object, else the text as is.

    Partial (mid-stream) or invalid JSON stays a string: ``get_tool_calls_from_response``
    repairs partial JSON, and the exact text goes back to the model on the next turn.
    """
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    return value if isinstance(value, dict) else arguments


def _message(content: str, reasoning: str | None, calls: list[ToolCall]) -> ChatMessage:
    blocks: list[Any] = []
    if reasoning:
        blocks.append(ThinkingBlock(content=reasoning))
    blocks.append(TextBlock(text=content))
    for call in calls:
        blocks.append(
            ToolCallBlock(
                tool_call_id=call.id, tool_name=call.name, tool_kwargs=tool_kwargs(call.arguments)
            )
        )
    kwargs: dict[str, Any] = {}
    if calls:
        kwargs["tool_calls"] = [call.to_wire() for call in calls]
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=kwargs)


def completion_to_chat_response(completion: Completion) -> ChatResponse:
    """A finished non-streaming call as a ``ChatResponse``."""
    result: ChatResult = completion.result
    route = completion.route
    assistant = result.to_assistant_message()
    if result.reasoning:
        assistant["reasoning_content"] = result.reasoning
    raw: dict[str, Any] = {
        "id": result.id,
        "object": "chat.completion",
        "created": result.created,
        "model": result.model or route.model,
        "choices": [{"index": 0, "message": assistant, "finish_reason": result.finish_reason}],
        "usage": usage_wire(result.usage),
        "route": _route_wire(route),
    }
    if result.system_fingerprint:
        raw["system_fingerprint"] = result.system_fingerprint
    extra = {
        **usage_counts(result.usage),
        "finish_reason": result.finish_reason,
        **_route_fields(route),
    }
    return ChatResponse(
        message=_message(result.content, result.reasoning, result.tool_calls),
        raw=raw,
        additional_kwargs=extra,
    )


def chat_to_completion(response: ChatResponse) -> CompletionResponse:
    """The completion view of a chat response (text, delta, raw and counts unchanged)."""
    return CompletionResponse(
        text=response.message.content or "",
        delta=response.delta,
        raw=response.raw,
        additional_kwargs=response.additional_kwargs,
    )


def stream_chunk_response(
    delta: StreamDelta, turn: ChatResult, route: Route | None
) -> ChatResponse:
    """One stream chunk as a ``ChatResponse``: ``delta`` is its text, ``message`` the turn.

    ``turn`` is the core accumulator's read-only snapshot after this delta
    (``ChatStream.result()``): tool calls are assembled there, once, for both adapters.
    """
    chunk_delta: dict[str, Any] = {}
    if delta.content:
        chunk_delta["content"] = delta.content
    if delta.reasoning:
        chunk_delta["reasoning_content"] = delta.reasoning
    if delta.tool_calls:
        chunk_delta["tool_calls"] = [
            {
                "index": p.index,
                **({"id": p.id} if p.id else {}),
                "function": {"name": p.name, "arguments": p.arguments},
                **({"extra_content": p.extra_content} if p.extra_content else {}),
            }
            for p in delta.tool_calls
        ]
    raw = {
        "object": "chat.completion.chunk",
        "model": route.model if route else None,
        "choices": [{"index": 0, "delta": chunk_delta, "finish_reason": delta.finish_reason}],
        "usage": usage_wire(turn.usage),
        "route": _route_wire(route),
    }
    extra: dict[str, Any] = {**usage_counts(turn.usage), **_route_fields(route)}
    if turn.finish_reason is not None:
        extra["finish_reason"] = turn.finish_reason
    if delta.reasoning:
        extra["thinking_delta"] = delta.reasoning
    return ChatResponse(
        message=_message(turn.content, turn.reasoning, turn.tool_calls),
        delta=delta.content,
        raw=raw,
        additional_kwargs=extra,
    )

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
from gw_core.wire import ChatResult, StreamDelta, ToolCall, Usage, merge_extra_content
from gw_core.wire.stream import new_tool_call_id

__all__ = [
    "StreamAssembler",
    "chat_to_completion",
    "completion_to_chat_response",
    "usage_counts",
    "usage_wire",
]


def usage_wire(usage: Usage | None) -> dict[str, Any] | None:
    """Usage in OpenAI's spelling, details included when the gateway reported them."""
    if usage is None:
        return None
    wire: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        wire["prompt_tokens_details"] = {"cached_tokens": usage.cached_tokens}
    if usage.reasoning_tokens is not None:
        wire["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return wire


def usage_counts(usage: Usage | None) -> dict[str, int]:
    """The flat counts LlamaIndex integrations put in ``additional_kwargs``."""
    if usage is None:
        return {}
    counts = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        counts["cached_tokens"] = usage.cached_tokens
    if usage.reasoning_tokens is not None:
        counts["reasoning_tokens"] = usage.reasoning_tokens
    return counts


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


class _StreamCall:
    __slots__ = ("args", "extra", "id", "name")

    def __init__(self) -> None:
        self.id = new_tool_call_id()  # replaced by the upstream's id when it sends one
        self.name = ""
        self.args = ""
        self.extra: dict[str, Any] | None = None


class StreamAssembler:
    """Turns each :class:`StreamDelta` of one stream into a cumulative ``ChatResponse``.

    Tool calls are keyed by the accumulator's index (always set, whatever the dialect
    sent), so several calls per chunk and Gemini's index-less deltas come out whole.
    A call gets an id at once, since agents need one for the tool result even when the
    upstream never sends it.
    """

    def __init__(self) -> None:
        self._text = ""
        self._reasoning = ""
        self._calls: dict[int, _StreamCall] = {}
        self._usage: Usage | None = None
        self._finish: str | None = None

    def feed(self, delta: StreamDelta, route: Route | None) -> ChatResponse:
        """The response for one delta: ``delta`` is its text, ``message`` the turn so far."""
        self._text += delta.content
        self._reasoning += delta.reasoning
        for part in delta.tool_calls:
            call = self._calls.get(part.index)
            if call is None:
                call = self._calls[part.index] = _StreamCall()
            if part.id:
                call.id = part.id
            if part.name:
                call.name = part.name
            call.args += part.arguments
            if part.extra_content:
                call.extra = merge_extra_content(call.extra, part.extra_content)
        if delta.usage is not None:
            self._usage = delta.usage
        if delta.finish_reason is not None:
            self._finish = delta.finish_reason
        calls = [ToolCall(c.id, c.name, c.args, c.extra) for _, c in sorted(self._calls.items())]
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
            "usage": usage_wire(self._usage),
            "route": _route_wire(route),
        }
        extra: dict[str, Any] = {**usage_counts(self._usage), **_route_fields(route)}
        if self._finish is not None:
            extra["finish_reason"] = self._finish
        if delta.reasoning:
            extra["thinking_delta"] = delta.reasoning
        return ChatResponse(
            message=_message(self._text, self._reasoning or None, calls),
            delta=delta.content,
            raw=raw,
            additional_kwargs=extra,
        )

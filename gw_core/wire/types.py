"""The wire layer's value types: what a chunk contributed and what a turn produced.

Slotted dataclasses, no validation on construction: they are built on the per-chunk path,
where every microsecond counts, from data the parsers already checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidToolCallError

__all__ = [
    "ChatResult",
    "StreamDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "check_tool_calls",
    "normalize_finish_reason",
]

# Finish reasons that leaky converters pass through in their native spelling.
_FINISH_ALIASES = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "function_call": "tool_calls",
    "safety": "content_filter",
}


def normalize_finish_reason(raw: Any, has_tool_calls: bool) -> str | None:
    """The OpenAI spelling of a finish reason, and ``stop`` on a tool turn as ``tool_calls``.

    Gemini ends a streamed tool turn with ``stop``; callers that branch on
    ``finish_reason == "tool_calls"`` would otherwise never run the tools.
    """
    if not raw or not isinstance(raw, str):
        return None
    reason = raw.lower()
    reason = _FINISH_ALIASES.get(reason, reason)
    if has_tool_calls and reason == "stop":
        return "tool_calls"
    return reason


def _count(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(slots=True)
class Usage:
    """Token counts of one turn. ``cached_tokens``/``reasoning_tokens`` when reported."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None

    @classmethod
    def from_dict(cls, d: Any) -> Usage | None:
        """Read an OpenAI ``usage`` object; None when it holds no counts at all.

        Missing or null fields are tolerated (gateways omit them), and a missing total is
        the sum of the other two.
        """
        if not d or not isinstance(d, dict):
            return None
        prompt = _count(d.get("prompt_tokens"))
        completion = _count(d.get("completion_tokens"))
        total = _count(d.get("total_tokens"))
        if prompt is None and completion is None and total is None:
            return None
        prompt = prompt or 0
        completion = completion or 0
        if total is None:
            total = prompt + completion
        cached = reasoning = None
        details = d.get("prompt_tokens_details")
        if details and isinstance(details, dict):
            cached = _count(details.get("cached_tokens"))
        details = d.get("completion_tokens_details")
        if details and isinstance(details, dict):
            reasoning = _count(details.get("reasoning_tokens"))
        return cls(prompt, completion, total, cached, reasoning)

    def to_wire(self) -> dict[str, Any]:
        """OpenAI's ``usage`` object, details included when the gateway reported them.

        The one serialization of usage: adapters put this (or :meth:`counts`) where their
        framework looks, and never spell it themselves.
        """
        wire: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cached_tokens is not None:
            wire["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.reasoning_tokens is not None:
            wire["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return wire

    def __add__(self, other: Usage) -> Usage:
        """The usage of two separate turns together (a batch); details only when known."""

        def both(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            both(self.cached_tokens, other.cached_tokens),
            both(self.reasoning_tokens, other.reasoning_tokens),
        )

    def counts(self) -> dict[str, int]:
        """The counts as one flat dict (cached/reasoning only when reported)."""
        flat = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cached_tokens is not None:
            flat["cached_tokens"] = self.cached_tokens
        if self.reasoning_tokens is not None:
            flat["reasoning_tokens"] = self.reasoning_tokens
        return flat


@dataclass(slots=True)
class ToolCall:
    """One complete tool call. ``extra_content`` carries Gemini 3's thought signature."""

    id: str
    name: str
    arguments: str
    extra_content: dict[str, Any] | None = None

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; an empty string means no arguments.

        Raises ValueError (naming the tool) when the model produced bad JSON or a
        non-object, so callers can report an invalid tool call instead of crashing.
        """
        if not self.arguments.strip():
            return {}
        try:
            value = json.loads(self.arguments)
        except ValueError as exc:
            raise ValueError(
                f"tool call {self.name!r} has arguments that are not valid JSON: {exc}"
            ) from None
        if not isinstance(value, dict):
            raise ValueError(
                f"tool call {self.name!r} has arguments that are not a JSON object "
                f"(got {type(value).__name__})"
            )
        return value

    def to_wire(self) -> dict[str, Any]:
        """The OpenAI assistant ``tool_calls`` entry, signature included when present."""
        wire: dict[str, Any] = {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }
        if self.extra_content:
            wire["extra_content"] = self.extra_content
        return wire


@dataclass(slots=True)
class ToolCallDelta:
    """What one streamed delta added to one tool call.

    ``index`` is the accumulator's own, always set: the call's position in the turn.
    ``id`` and ``name`` are set on the first delta that revealed them and None after, so
    frameworks that concatenate chunk fields (LangChain) never double them.
    """

    index: int
    id: str | None
    name: str | None
    arguments: str
    extra_content: dict[str, Any] | None


@dataclass(slots=True)
class StreamDelta:
    """What one chunk contributed, already normalized (finish reason, tool indexes)."""

    content: str
    reasoning: str
    tool_calls: list[ToolCallDelta]
    finish_reason: str | None
    usage: Usage | None
    refusal: str = ""


@dataclass(slots=True)
class ChatResult:
    """One finished assistant turn, streamed or not."""

    content: str
    tool_calls: list[ToolCall]
    finish_reason: str | None
    usage: Usage | None
    reasoning: str | None = None
    id: str | None = None
    model: str | None = None
    created: int | None = None
    system_fingerprint: str | None = None
    refusal: str | None = None

    def to_assistant_message(self) -> dict[str, Any]:
        """The OpenAI assistant message to append to the history for the next turn.

        Tool calls keep their ``extra_content`` so Gemini 3 gets its thought signatures
        back unchanged (``build_body`` strips them for the other families). Content is
        None on a tool turn with no text, which every upstream accepts, where an empty
        string is refused by some (Anthropic rejects empty text blocks).
        """
        message: dict[str, Any] = {"role": "assistant"}
        if self.tool_calls:
            message["content"] = self.content or None
            message["tool_calls"] = [call.to_wire() for call in self.tool_calls]
        else:
            message["content"] = self.content
        if self.refusal:
            message["refusal"] = self.refusal
        return message


def check_tool_calls(result: ChatResult, *, partial_text: str = "") -> None:
    """Refuse a finished turn whose tool call arguments are not one JSON object.

    The one rule for every path (invoke, stream, both adapters): a cut or malformed call
    is an :class:`~gw_core.errors.InvalidToolCallError`, never run with repaired
    arguments. Partial JSON mid-stream is fine; only the end of a turn is checked.
    """
    for call in result.tool_calls:
        try:
            call.parsed_arguments()
        except ValueError as exc:
            if result.finish_reason == "length":
                hint = "the answer was cut at the output limit; raise max_completion_tokens"
            else:
                hint = "the gateway sent them malformed; ask again"
            raise InvalidToolCallError(
                f"{exc} ({call.arguments[:60]!r}); {hint}",
                tool_name=call.name,
                arguments=call.arguments,
                partial_text=partial_text or result.content,
                model=result.model,
            ) from None

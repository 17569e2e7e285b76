"""What the assistant says: scripted replies from tests, and the answer the dialects render.

A :class:`ScriptedReply` is what a test queues; a :class:`Reply` is what the engine (or a
script) decided to answer, before any dialect turns it into a JSON body or SSE chunks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gw_core.tokens import count_tokens

__all__ = ["Reply", "ScriptedReply", "ScriptedToolCall", "ToolCall"]


@dataclass(frozen=True)
class ScriptedToolCall:
    """A tool call to answer with. ``arguments`` as a dict (sent as JSON) or a raw string
    (sent as is, so a test can send arguments that are not valid JSON)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the wire carries them: a JSON string."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class ScriptedReply:
    """A reply a test queues with ``emulator.script(...)``; sent instead of the engine's.

    Scripted text is sent exactly (no ``stop``/``max_completion_tokens`` cut); the
    dialect still shapes it (chunks, usage, thought signatures). ``finish_reason``
    defaults to ``"tool_calls"`` with tool calls, else ``"stop"``; ``usage`` replaces the
    counted usage when given.
    """

    content: str | None = None
    tool_calls: Sequence[ScriptedToolCall] = ()
    reasoning: str | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # Accept any sequence (a list is the natural spelling) but keep the value frozen.
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))
        for call in self.tool_calls:
            if not isinstance(call, ScriptedToolCall):
                raise TypeError(f"tool_calls must hold ScriptedToolCall values, not {call!r}")


@dataclass(frozen=True)
class ToolCall:
    """One tool call of a :class:`Reply`, with its arguments already as a JSON string."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Reply:
    """The assistant turn to send, independent of the dialect."""

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_override: dict[str, Any] | None = None
    #: Set when the reply was scripted rather than computed (recorded for debugging).
    scripted: bool = False

    def usage(self, completion_tokens: int | None = None) -> dict[str, Any]:
        """The usage object; ``completion_tokens`` gives a partial (cumulative) count."""
        done = completion_tokens is None
        completion = self.completion_tokens if completion_tokens is None else completion_tokens
        if self.usage_override is not None:
            usage = dict(self.usage_override)
            if not done:
                prompt = int(usage.get("prompt_tokens", self.prompt_tokens))
                usage["completion_tokens"] = completion
                usage["total_tokens"] = prompt + completion
            return usage
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }
        if self.reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": count_tokens(self.reasoning)}
        return usage

"""Standard content blocks (``content_blocks``, ``output_version="v1"``) for our chunks.

langchain-core's generic parsing gives a streamed tool-call chunk the call's position as
its block ``index`` (0 for the first call), while the reasoning and text blocks of the same
stream get indexes counted from 0 by core. A turn with text (or reasoning) before a tool
call then has two blocks at index 0, and summing the chunks merges the tool call into the
text block. That is how ``ChatOpenAI`` streams tool calls in v1 too.

Our chunk translator keeps the two apart: tool-call chunks are indexed ``lc_tc_<n>`` (core
treats ``lc_``-prefixed indexes as identities, never concatenates them). Whole messages
use core's own parsing, which is right for them.
"""

from __future__ import annotations

from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as types
from langchain_core.messages.block_translators import register_translator

__all__ = ["register"]


def _message_blocks(message: AIMessage) -> list[types.ContentBlock]:
    raise NotImplementedError  # core's best-effort parsing handles whole messages


def _chunk_blocks(chunk: AIMessageChunk) -> list[types.ContentBlock]:
    if not isinstance(chunk.content, str):
        raise NotImplementedError  # list content came from elsewhere: core's parsing
    blocks: list[dict[str, Any]] = []
    reasoning = chunk.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append({"type": "reasoning", "reasoning": reasoning})
    if chunk.content:
        blocks.append({"type": "text", "text": chunk.content})
    if chunk.chunk_position == "last":
        for call in chunk.tool_calls:
            if call["name"]:  # the final chunk may only fill in ids: no call of its own
                blocks.append(
                    {
                        "type": "tool_call",
                        "id": call["id"],
                        "name": call["name"],
                        "args": call["args"],
                    }
                )
    else:
        for fragment in chunk.tool_call_chunks:
            block: dict[str, Any] = {
                "type": "tool_call_chunk",
                "id": fragment.get("id"),
                "name": fragment.get("name"),
                "args": fragment.get("args"),
            }
            if fragment.get("index") is not None:
                block["index"] = f"lc_tc_{fragment['index']}"
            blocks.append(block)
    return cast("list[types.ContentBlock]", blocks)


def register(provider: str) -> None:
    """Make ``provider``'s messages use these translations."""
    register_translator(provider, _message_blocks, _chunk_blocks)

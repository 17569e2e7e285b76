"""The three wire dialects of the contract: how one :class:`Reply` looks on the wire.

- **GPT** (and unknown families): the first stream chunk carries only the role; tool-call
  deltas have an ``index``; usage comes only as a final chunk with empty ``choices`` when
  ``stream_options.include_usage`` is true (every other chunk then has ``usage: null``).
- **Claude** (through the gateway's OpenAI layer): role on the first content chunk; usage
  on the finish chunk.
- **Gemini**: every chunk repeats the role and carries cumulative usage; the last content
  chunk carries the finish_reason; tool calls come whole in one chunk with no ``index``,
  and a streamed tool turn ends with ``finish_reason: "stop"``; Gemini 3 signs each tool
  call with ``extra_content.google.thought_signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from gw_core.catalog import Family, ModelSpec
from gw_core.tokens import count_tokens
from gw_emulator.replies import Reply, ToolCall

__all__ = ["Chunk", "Quirks", "completion_body", "stream_chunks", "thought_signature"]

_WORDS_PER_CHUNK = 3
_MAX_CHUNK_CHARS = 24
_SIGNING_KEY = b"gw-core emulator thought signatures"
_PIECE_RE = re.compile(rf"\s*(?:\S+\s*){{1,{_WORDS_PER_CHUNK}}}")


@dataclass(frozen=True)
class Chunk:
    """One SSE event of a stream. ``content``: it carries text, reasoning or tool calls
    (what stream faults count); ``finish``: it carries the finish_reason."""

    payload: dict[str, Any]
    content: bool = False
    finish: bool = False


@dataclass(frozen=True)
class Quirks:
    """Deliberate departures from the contract, all off by default: they let a test show
    that a checker (``gw doctor``) notices a gateway that behaves otherwise.

    ``usage_every_chunk``: cumulative usage on every stream chunk, whatever the family.
    ``omit_done``: streams end without ``data: [DONE]`` (the finish_reason still comes).
    ``accept_unsigned``: Gemini 3 takes a tool turn whose calls lost their signatures.
    """

    usage_every_chunk: bool = False
    omit_done: bool = False
    accept_unsigned: bool = False


def thought_signature(name: str, arguments: str) -> str:
    """A deterministic signature of one tool call (keyed HMAC over name and arguments).

    Arguments are compared as parsed JSON, so re-serialising them (other spacing or key
    order) keeps the signature valid, while a different call does not.
    """
    try:
        canonical = json.dumps(
            json.loads(arguments), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except ValueError:
        canonical = arguments
    digest = hmac.new(_SIGNING_KEY, f"{name}\n{canonical}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def split_text(text: str) -> list[str]:
    """A few words per piece; long runs without spaces (CJK) in short slices."""
    pieces: list[str] = []
    for piece in _PIECE_RE.findall(text) or ([text] if text else []):
        while len(piece) > _MAX_CHUNK_CHARS and " " not in piece.strip():
            pieces.append(piece[:_MAX_CHUNK_CHARS])
            piece = piece[_MAX_CHUNK_CHARS:]
        pieces.append(piece)
    if "".join(pieces) != text:  # whitespace-only text keeps its exact value
        return [text]
    return pieces


def _tool_call_json(call: ToolCall, spec: ModelSpec, index: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if index is not None:
        data["index"] = index
    data.update(
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
    )
    if spec.thought_signatures:
        signature = thought_signature(call.name, call.arguments)
        data["extra_content"] = {"google": {"thought_signature": signature}}
    return data


def completion_body(
    reply: Reply, spec: ModelSpec, *, response_id: str, created: int
) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if spec.family in (Family.GPT, Family.UNKNOWN):
        message["refusal"] = None
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [_tool_call_json(c, spec, None) for c in reply.tool_calls]
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": spec.id,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
        "usage": reply.usage(),
    }


class _Builder:
    """Shared chunk-building state for one stream."""

    def __init__(self, reply: Reply, spec: ModelSpec, response_id: str, created: int) -> None:
        self.reply = reply
        self.spec = spec
        self.base = {
            "id": response_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": spec.id,
        }

    def chunk(
        self, delta: dict[str, Any], finish: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {**self.base, "choices": [choice], **extra}

    def pieces(self) -> list[tuple[str, str]]:
        """``(field, text)`` pieces: reasoning first, then content."""
        out = [("reasoning_content", p) for p in split_text(self.reply.reasoning or "")]
        out += [("content", p) for p in split_text(self.reply.content or "")]
        return out


def _indexed_tool_chunks(b: _Builder) -> list[Chunk]:
    chunks = []
    for index, call in enumerate(b.reply.tool_calls):
        head = _tool_call_json(call, b.spec, index)
        head["function"] = {"name": call.name, "arguments": ""}
        chunks.append(Chunk(b.chunk({"tool_calls": [head]}), content=True))
        for piece in split_text(call.arguments) if call.arguments else []:
            delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            chunks.append(Chunk(b.chunk(delta), content=True))
    return chunks


def _gpt(b: _Builder, include_usage: bool) -> list[Chunk]:
    extra: dict[str, Any] = {"usage": None} if include_usage else {}
    chunks = [Chunk(b.chunk({"role": "assistant"}, **extra))]
    for field, piece in b.pieces():
        chunks.append(Chunk(b.chunk({field: piece}, **extra), content=True))
    chunks += [Chunk({**c.payload, **extra}, content=True) for c in _indexed_tool_chunks(b)]
    chunks.append(Chunk(b.chunk({}, b.reply.finish_reason, **extra), finish=True))
    if include_usage:
        chunks.append(Chunk({**b.base, "choices": [], "usage": b.reply.usage()}))
    return chunks


def _claude(b: _Builder) -> list[Chunk]:
    chunks = []
    for index, (field, piece) in enumerate(b.pieces()):
        delta = {"role": "assistant", field: piece} if index == 0 else {field: piece}
        chunks.append(Chunk(b.chunk(delta), content=True))
    tool_chunks = _indexed_tool_chunks(b)
    if not chunks and tool_chunks:
        tool_chunks[0].payload["choices"][0]["delta"]["role"] = "assistant"
    chunks += tool_chunks
    finish = b.chunk({} if chunks else {"role": "assistant", "content": ""}, b.reply.finish_reason)
    chunks.append(Chunk({**finish, "usage": b.reply.usage()}, finish=True))
    return chunks


def _gemini(b: _Builder) -> list[Chunk]:
    reply = b.reply
    produced = 0
    deltas: list[dict[str, Any]] = []
    counts: list[int] = []
    for field, piece in b.pieces():
        produced += count_tokens(piece)
        deltas.append({"role": "assistant", field: piece})
        counts.append(produced)
    if reply.tool_calls:
        calls = [_tool_call_json(c, b.spec, None) for c in reply.tool_calls]
        deltas.append({"role": "assistant", "tool_calls": calls})
        counts.append(reply.completion_tokens)
    if not deltas:
        deltas.append({"role": "assistant", "content": ""})
        counts.append(0)
    # A streamed tool turn ends with "stop" on Gemini's OpenAI layer.
    finish = "stop" if reply.finish_reason == "tool_calls" else reply.finish_reason
    chunks = []
    for position, (delta, produced_so_far) in enumerate(zip(deltas, counts, strict=True)):
        last = position == len(deltas) - 1
        usage = (
            reply.usage() if last else reply.usage(min(produced_so_far, reply.completion_tokens))
        )
        payload = b.chunk(delta, finish if last else None, usage=usage)
        has_content = any(delta.get(k) for k in ("content", "reasoning_content", "tool_calls"))
        chunks.append(Chunk(payload, content=has_content, finish=last))
    return chunks


def _usage_on_every_chunk(chunks: list[Chunk], reply: Reply) -> list[Chunk]:
    """Cumulative usage on every chunk that has a choice; no usage-only chunk."""
    out, produced = [], 0
    for chunk in chunks:
        choices = chunk.payload.get("choices")
        if not choices:
            continue
        delta = choices[0].get("delta") or {}
        produced += count_tokens(str(delta.get("content") or delta.get("reasoning_content") or ""))
        done = chunk.finish or chunk is chunks[-1]
        usage = reply.usage() if done else reply.usage(min(produced, reply.completion_tokens))
        out.append(Chunk({**chunk.payload, "usage": usage}, chunk.content, chunk.finish))
    return out


def stream_chunks(
    reply: Reply,
    spec: ModelSpec,
    *,
    response_id: str,
    created: int,
    include_usage: bool,
    quirks: Quirks | None = None,
) -> list[Chunk]:
    """The SSE events of a streamed reply in the model family's dialect (no ``[DONE]``)."""
    builder = _Builder(reply, spec, response_id, created)
    if spec.family is Family.CLAUDE:
        chunks = _claude(builder)
    elif spec.family is Family.GEMINI:
        chunks = _gemini(builder)
    else:
        chunks = _gpt(builder, include_usage)
    if quirks is not None and quirks.usage_every_chunk:
        return _usage_on_every_chunk(chunks, reply)
    return chunks

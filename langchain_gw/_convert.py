"""LangChain messages <-> the gateway's wire dicts and :mod:`gw_core.wire` results.

Outbound: :func:`to_wire_messages` turns a LangChain history into OpenAI Chat Completions
message dicts for one model (content via :mod:`langchain_gw._content`). Inbound:
:func:`to_ai_message` turns a finished :class:`~gw_core.wire.ChatResult` into an
``AIMessage``; :func:`to_chunk` and :func:`final_chunk` turn a stream's deltas into
``AIMessageChunk``\\ s that add up to the same message.

Decisions that differ from ``ChatOpenAI`` (each fixes a complaint users file against it):

- Reasoning text is kept in ``additional_kwargs["reasoning_content"]``; core turns it
  into a v1 ``reasoning`` block for ``content_blocks``.
- Gemini 3 thought signatures are kept in ``additional_kwargs["tool_call_extra_content"]``
  (tool call id -> the call's ``extra_content``) and sent back with those calls on the
  next turn, which Gemini 3 requires (else 400).
- Usage goes on one chunk of a stream, the last, taken from the assembled result: LangChain
  sums ``usage_metadata`` across chunks, and Gemini repeats cumulative usage on every chunk.
- Images in tool results: OpenAI-format ``tool`` messages take text only, so the tool
  message keeps the text (plus a note) and the images follow in one ``user`` message
  after the run of tool messages. That shape works on GPT, Claude and Gemini alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from gw_core.catalog import ModelSpec
from gw_core.errors import GatewayInputError
from gw_core.transport import Route
from gw_core.wire import ChatResult, StreamDelta, Usage
from gw_core.wire import text_part as _text_part
from langchain_gw._content import assistant_text, part_list, to_parts

__all__ = [
    "EXTRA_CONTENT_KEY",
    "PROVIDER",
    "final_chunk",
    "response_metadata",
    "to_ai_message",
    "to_chunk",
    "to_wire_messages",
    "usage_metadata",
]

#: ``response_metadata["model_provider"]`` and ``ls_provider``.
PROVIDER = "gw"
#: ``additional_kwargs`` key: tool call id -> that call's ``extra_content`` (signatures).
EXTRA_CONTENT_KEY = "tool_call_extra_content"

# -- outbound ---------------------------------------------------------------------------


def _with_name(wire: dict[str, Any], message: BaseMessage) -> dict[str, Any]:
    if message.name:
        wire["name"] = message.name
    return wire


def _assistant(message: AIMessage) -> dict[str, Any]:
    text = assistant_text(message.content)
    extras = message.additional_kwargs.get(EXTRA_CONTENT_KEY)
    extras = extras if isinstance(extras, Mapping) else {}
    calls: list[dict[str, Any]] = []
    for call in message.tool_calls:
        arguments = json.dumps(call["args"], ensure_ascii=False)
        calls.append(_wire_call(call.get("id"), call["name"], arguments, extras))
    for bad in message.invalid_tool_calls:
        # Sent back as the model wrote them, so the tool message answering it still matches.
        calls.append(
            _wire_call(bad.get("id"), bad.get("name") or "", bad.get("args") or "", extras)
        )
    wire: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        wire["content"] = text or None
        wire["tool_calls"] = calls
    return _with_name(wire, message)


def _wire_call(
    call_id: str | None, name: str, arguments: str, extras: Mapping[str, Any]
) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }
    extra = extras.get(call_id) if call_id else None
    if isinstance(extra, Mapping) and extra:
        wire["extra_content"] = dict(extra)
    return wire


def _tool(message: ToolMessage, spec: ModelSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``tool`` message, and the non-text parts that must travel in a user message."""
    wire: dict[str, Any] = {"role": "tool", "tool_call_id": message.tool_call_id}
    if isinstance(message.content, str):
        wire["content"] = message.content
        return wire, []
    texts: list[str] = []
    media: list[dict[str, Any]] = []
    for part in part_list(message.content, spec):
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("text") or ""))
        elif kind in ("image_url", "video_url", "video", "file", "input_audio"):
            media.append(part)
        else:  # structured tool output: the model reads it as JSON text
            texts.append(json.dumps(part, ensure_ascii=False))
    if media:
        texts.append(f"[{len(media)} attachment(s) from this tool follow in the next message]")
    wire["content"] = "\n".join(texts)
    return wire, media


def _attachments(pending: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for call_id, media in pending:
        parts.append(_text_part(f"Attachments returned by tool call {call_id}:"))
        parts.extend(media)
    return {"role": "user", "content": parts}


def to_wire_messages(messages: Sequence[BaseMessage], spec: ModelSpec) -> list[dict[str, Any]]:
    """OpenAI Chat Completions messages for ``spec``; raises ValueError on what cannot go.

    Run :func:`gw_core.wire.validate_messages` on the result before sending it.
    """
    out: list[dict[str, Any]] = []
    pending: list[tuple[str, list[dict[str, Any]]]] = []
    for message in messages:
        if pending and not isinstance(message, ToolMessage):
            out.append(_attachments(pending))
            pending = []
        if isinstance(message, HumanMessage):
            out.append(
                _with_name({"role": "user", "content": to_parts(message.content, spec)}, message)
            )
        elif isinstance(message, AIMessage):
            out.append(_assistant(message))
        elif isinstance(message, SystemMessage):
            out.append(
                _with_name({"role": "system", "content": to_parts(message.content, spec)}, message)
            )
        elif isinstance(message, ToolMessage):
            wire, media = _tool(message, spec)
            out.append(wire)
            if media:
                pending.append((message.tool_call_id, media))
        elif isinstance(message, ChatMessage):
            content = to_parts(message.content, spec)
            if message.role == "assistant":
                content = assistant_text(message.content)
            out.append(_with_name({"role": message.role, "content": content}, message))
        else:
            raise GatewayInputError(
                f"{type(message).__name__} cannot be sent to the gateway; use HumanMessage, "
                "AIMessage, SystemMessage or ToolMessage (FunctionMessage is the legacy "
                "function-calling API: answer tool calls with ToolMessage)"
            )
    if pending:
        out.append(_attachments(pending))
    return out


# -- inbound ----------------------------------------------------------------------------


def usage_metadata(usage: Usage | None) -> UsageMetadata | None:
    """LangChain's usage dict, with cache and reasoning details when reported."""
    if usage is None:
        return None
    result: dict[str, Any] = {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        result["input_token_details"] = InputTokenDetails(cache_read=usage.cached_tokens)
    if usage.reasoning_tokens is not None:
        result["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    return cast("UsageMetadata", result)


def response_metadata(result: ChatResult, route: Route | None) -> dict[str, Any]:
    """What users branch on: id, model, finish reason, provider, and which pool answered."""
    meta: dict[str, Any] = {"model_provider": PROVIDER}
    model = result.model or (route.model if route else None)
    if model:
        meta["model_name"] = model
    if result.id:
        meta["id"] = result.id
    if result.finish_reason:
        meta["finish_reason"] = result.finish_reason
    if route is not None:
        meta["pool"] = route.pool
        meta["attempts"] = route.attempts
    if result.system_fingerprint:
        meta["system_fingerprint"] = result.system_fingerprint
    return meta


def _extras(result: ChatResult) -> dict[str, Any]:
    extras = {call.id: call.extra_content for call in result.tool_calls if call.extra_content}
    return {EXTRA_CONTENT_KEY: extras} if extras else {}


def to_ai_message(result: ChatResult, route: Route | None) -> AIMessage:
    """A finished turn as an ``AIMessage``; bad tool-call JSON becomes ``invalid_tool_calls``."""
    calls = []
    invalid = []
    for call in result.tool_calls:
        try:
            args = call.parsed_arguments()
        except ValueError as exc:
            invalid.append(
                invalid_tool_call(name=call.name, args=call.arguments, id=call.id, error=str(exc))
            )
        else:
            calls.append(tool_call(name=call.name, args=args, id=call.id))
    additional: dict[str, Any] = _extras(result)
    if result.reasoning:
        additional["reasoning_content"] = result.reasoning
    if result.refusal:
        additional["refusal"] = result.refusal
    return AIMessage(
        content=result.content,
        additional_kwargs=additional,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata(result.usage),
        response_metadata=response_metadata(result, route),
        id=result.id,
    )


def to_chunk(delta: StreamDelta, ids: dict[int, str | None]) -> AIMessageChunk | None:
    """One delta as a chunk, or None when it adds nothing a message holds.

    Usage and finish reason are left to :func:`final_chunk`. ``ids`` records each tool
    call's id as streamed (index -> id), so the final chunk can fill in missing ones.
    """
    additional: dict[str, Any] = {}
    if delta.reasoning:
        additional["reasoning_content"] = delta.reasoning
    if delta.refusal:
        additional["refusal"] = delta.refusal
    chunks = []
    for call in delta.tool_calls:
        if call.id is not None or call.index not in ids:
            ids[call.index] = call.id
        chunks.append(
            tool_call_chunk(name=call.name, args=call.arguments, id=call.id, index=call.index)
        )
    if not (delta.content or additional or chunks):
        return None
    # Empty fields are left to their defaults: passing them costs pydantic a validation
    # each, on every chunk (about 2 µs of a text chunk's 13).
    fields: dict[str, Any] = {"response_metadata": {"model_provider": PROVIDER}}
    if additional:
        fields["additional_kwargs"] = additional
    if chunks:
        fields["tool_call_chunks"] = chunks
    return AIMessageChunk(content=delta.content, **fields)  # provider: our block translator


def final_chunk(
    result: ChatResult, route: Route | None, ids: Mapping[int, str | None]
) -> AIMessageChunk:
    """The stream's last chunk: usage (once), metadata, signatures, ids the stream lacked."""
    missing = [
        tool_call_chunk(name=None, args=None, id=call.id, index=index)
        for index, call in enumerate(result.tool_calls)
        if ids.get(index) is None
    ]
    return AIMessageChunk(
        content="",
        additional_kwargs=_extras(result),
        tool_call_chunks=missing,
        usage_metadata=usage_metadata(result.usage),
        response_metadata=response_metadata(result, route),
        id=result.id,
        chunk_position="last",
    )

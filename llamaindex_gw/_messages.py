"""LlamaIndex ``ChatMessage``s and content blocks -> OpenAI wire message dicts.

The one place that decides what each block becomes on the wire, so that the checks in
:func:`gw_core.wire.validate_messages` see exactly what will be sent:

- ``TextBlock``: a text part. A message that holds only text is sent as one string,
  its blocks joined with a newline (as ``ChatMessage.content`` joins them), never glued.
- ``ImageBlock``: an ``image_url`` part from its URL (http(s) or data URI), its bytes or
  its file path. A URL is sent as is: nothing is downloaded here.
- ``VideoBlock``: the core's ``video`` part, which keeps its kind until the body is
  spelled (then an ``image_url`` part with a ``data:video/...`` URI, or an http(s) URL).
  ``validate_messages`` refuses it for a non-Gemini model: ``CapabilityError`` (a
  ``ValueError``) before any request, the same error ``ChatGateway`` gives.
- ``DocumentBlock``: a text document (``text/*``, JSON, XML) becomes a text part; other
  documents (PDF) become a ``file`` part, which the gateway does not document, so it is
  refused unless the LLM was built with ``allow_undocumented_parts=True``.
- ``AudioBlock``: an ``input_audio`` part, under the same opt-in.
- ``ToolCallBlock`` (assistant): ``tool_calls``; Gemini 3 thought signatures kept in
  ``additional_kwargs["tool_calls"]`` are echoed back with them.
- ``ThinkingBlock`` and ``CachePoint``: not sent (reasoning is output, caching is not
  part of the gateway's protocol). ``CitableBlock``/``CitationBlock``: their content.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
from collections.abc import Iterable, Mapping, Sequence
from io import IOBase
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)

from gw_core.catalog import ModelSpec
from gw_core.errors import GatewayInputError
from gw_core.wire import audio_part, file_part, image_part, text_part, video_part

__all__ = ["TEXT_SEPARATOR", "to_wire_messages", "wire_tool_calls"]

#: Between the text blocks of a message sent as one string (``ChatMessage.content``'s join).
TEXT_SEPARATOR = "\n"

_ROLE = {
    MessageRole.SYSTEM: "system",
    # The gateway documents system/user/assistant; Claude and Gemini know no "developer".
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
}
_TEXT_DOCUMENT_TYPES = ("application/json", "application/xml", "application/x-yaml")
_DETAILS = ("auto", "low", "high")


def to_wire_messages(messages: Sequence[ChatMessage], spec: ModelSpec) -> list[dict[str, Any]]:
    """The OpenAI ``messages`` list for ``messages``; raises a ValueError on what cannot go."""
    wire = []
    for position, message in enumerate(messages):
        where = f"messages[{position}]"
        role = _ROLE.get(MessageRole(message.role))
        if role is None:
            raise GatewayInputError(
                f"{where}: role {message.role.value!r} is not supported by the gateway; "
                "use system, user, assistant or tool"
            )
        if role == "assistant":
            converted = _assistant(message, where)
            if converted is not None:
                wire.append(converted)
        elif role == "tool":
            wire.append(_tool_result(message, spec, where))
        elif role == "system":
            wire.append({"role": "system", "content": _text_only(message, where)})
        else:
            wire.append({"role": "user", "content": _content(message.blocks, spec, where)})
    return wire


# -- roles ------------------------------------------------------------------------------


def _text_only(message: ChatMessage, where: str, *, assistant: bool = False) -> str:
    """The text of a system or assistant message (an assistant's calls are read apart)."""
    texts = []
    skipped = (
        (ThinkingBlock, CachePoint, ToolCallBlock) if assistant else (ThinkingBlock, CachePoint)
    )
    for block in _flatten(message.blocks):
        if isinstance(block, TextBlock):
            if block.text:
                texts.append(block.text)
        elif not isinstance(block, skipped):
            raise GatewayInputError(
                f"{where}: {message.role.value} messages take text only, got a "
                f"{type(block).__name__}; move it to a user message"
            )
    return TEXT_SEPARATOR.join(texts)


def _assistant(message: ChatMessage, where: str) -> dict[str, Any] | None:
    calls = wire_tool_calls(message)
    text = _text_only(message, where, assistant=True)
    if not calls and not text:
        # An empty turn carries nothing, and upstreams refuse empty assistant content
        # (LlamaIndex memories keep such turns when a model answered with nothing).
        return None
    wire: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        wire["tool_calls"] = calls
    return wire


def _tool_result(message: ChatMessage, spec: ModelSpec, where: str) -> dict[str, Any]:
    call_id = message.additional_kwargs.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise GatewayInputError(
            f"{where}: a tool message needs additional_kwargs['tool_call_id'], the id of "
            "the tool call it answers"
        )
    content = _content(message.blocks, spec, where)
    if content == "":
        content = "(no output)"  # upstreams refuse empty tool results; the call did run
    return {"role": "tool", "tool_call_id": call_id, "content": content}


# -- content ----------------------------------------------------------------------------


def _flatten(blocks: Iterable[Any]) -> Iterable[Any]:
    """Blocks with citation wrappers opened up."""
    for block in blocks:
        if isinstance(block, CitableBlock):
            yield from block.content
        elif isinstance(block, CitationBlock):
            yield block.cited_content
        else:
            yield block


def _content(blocks: Sequence[Any], spec: ModelSpec, where: str) -> str | list[dict[str, Any]]:
    """One string when every block is text, else a list of parts in block order."""
    parts: list[dict[str, Any]] = []
    for block in _flatten(blocks):
        part = _part(block, spec, where)
        if part is not None:
            parts.append(part)
    # Empty text adds nothing, and Anthropic refuses empty text blocks inside a list.
    parts = [p for p in parts if p["type"] != "text" or p["text"]]
    if all(p["type"] == "text" for p in parts):
        return TEXT_SEPARATOR.join(p["text"] for p in parts)
    return parts


def _part(block: Any, spec: ModelSpec, where: str) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        return text_part(block.text)
    if isinstance(block, ImageBlock):
        return _image(block, where)
    if isinstance(block, VideoBlock):
        return _video(block, where)
    if isinstance(block, DocumentBlock):
        return _document(block, where)
    if isinstance(block, AudioBlock):
        return _audio(block, where)
    if isinstance(block, (ThinkingBlock, CachePoint)):
        return None
    if isinstance(block, ToolCallBlock):
        raise GatewayInputError(
            f"{where}: a ToolCallBlock belongs in an assistant message, not in a "
            "user or tool message"
        )
    raise GatewayInputError(
        f"{where}: {type(block).__name__} is not supported; use TextBlock, ImageBlock, "
        "VideoBlock (Gemini), DocumentBlock or AudioBlock"
    )


def _binary(value: bytes | IOBase) -> bytes:
    """The bytes of a block's data field (an IOBase is read from its start)."""
    if isinstance(value, IOBase):
        value.seek(0)
        data = value.read()
        return data if isinstance(data, bytes) else str(data).encode()
    return bytes(value)


def _base64_or_raw(value: bytes | IOBase) -> bytes | str:
    """Block data for the wire builders: base64 text, or raw bytes they will encode.

    LlamaIndex's validators store ``bytes`` fields base64-encoded; a stream (IOBase), or
    bytes assigned after construction, may be raw. Decide as LlamaIndex does: bytes that
    decode as strict base64 are base64.
    """
    data = _binary(value)
    if isinstance(value, IOBase):
        return data
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return data
    return data.decode("ascii")


def _read_path(path: Any, what: str, where: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise GatewayInputError(
            f"{where}: could not read the {what} file {str(path)!r}: {exc.strerror}"
        ) from None


def _image(block: ImageBlock, where: str) -> dict[str, Any]:
    detail = block.detail if block.detail in _DETAILS else None
    if block.image is not None:
        return image_part(
            data=_base64_or_raw(block.image), mime_type=block.image_mimetype, detail=detail
        )
    if block.url is not None:
        return image_part(url=str(block.url), detail=detail)
    if block.path is not None:
        return image_part(
            data=_read_path(block.path, "image", where),
            mime_type=block.image_mimetype,
            detail=detail,
        )
    raise GatewayInputError(f"{where}: an ImageBlock needs image (bytes), url or path")


def _video_mime(block: VideoBlock) -> str | None:
    if block.video_mimetype:
        return block.video_mimetype
    source = block.path or block.url
    if source is not None:
        guess, _ = mimetypes.guess_type(str(source))
        if guess and guess.startswith("video/"):
            return guess
    return None


def _video(block: VideoBlock, where: str) -> dict[str, Any]:
    """A video part that keeps its kind; ``validate_messages`` refuses it for non-Gemini."""
    mime = _video_mime(block)
    if block.url is not None and block.video is None:
        # The gateway fetches http(s) videos itself; a data URI names its own type.
        return video_part(url=str(block.url), mime_type=mime or "video/mp4")
    if mime is None:
        raise GatewayInputError(
            f"{where}: could not tell the video's type; set video_mimetype (e.g. 'video/mp4')"
        )
    if block.video is not None:
        return video_part(data=_base64_or_raw(block.video), mime_type=mime)
    if block.path is not None:
        return video_part(data=_read_path(block.path, "video", where), mime_type=mime)
    raise GatewayInputError(f"{where}: a VideoBlock needs video (bytes), url or path")


def _is_text_document(mime: str | None) -> bool:
    return bool(mime) and (str(mime).startswith("text/") or mime in _TEXT_DOCUMENT_TYPES)


def _document(block: DocumentBlock, where: str) -> dict[str, Any]:
    if block.data is not None:
        payload = _base64_or_raw(block.data)
    elif block.path is not None:
        payload = _read_path(block.path, "document", where)
    else:
        raise GatewayInputError(
            f"{where}: a DocumentBlock needs data or path (a URL is not fetched here: "
            "download it and pass data=)"
        )
    mime = block.document_mimetype
    if _is_text_document(mime):
        raw = base64.b64decode(payload) if isinstance(payload, str) else payload
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GatewayInputError(
                f"{where}: the {mime} document {block.title!r} is not UTF-8 text"
            ) from None
        title = block.title if block.title and block.title != "input_document" else None
        return text_part(f"{title}:\n{text}" if title else text)
    filename = block.title or "document"
    if "." not in filename:
        filename += mimetypes.guess_extension(mime or "application/pdf") or ".pdf"
    return file_part(data=payload, filename=filename, mime_type=mime or "application/pdf")


def _audio(block: AudioBlock, where: str) -> dict[str, Any]:
    fmt = (block.format or "").lower()
    if fmt not in ("wav", "mp3"):
        raise GatewayInputError(
            f"{where}: an AudioBlock needs format 'wav' or 'mp3', got {block.format!r}"
        )
    if block.audio is not None:
        return audio_part(data=_base64_or_raw(block.audio), format=fmt)
    if block.path is not None:
        return audio_part(data=_read_path(block.path, "audio", where), format=fmt)
    raise GatewayInputError(
        f"{where}: an AudioBlock needs audio (bytes) or path (a URL is not fetched here)"
    )


# -- tool calls -------------------------------------------------------------------------


def _wire_call(raw: Any) -> dict[str, Any] | None:
    """An OpenAI tool call dict from a dict or an SDK object (older LlamaIndex code)."""
    if not isinstance(raw, Mapping):
        dump = getattr(raw, "model_dump", None)
        if not callable(dump):
            return None
        raw = dump(exclude_none=True)
        if not isinstance(raw, Mapping):
            return None
    return dict(raw)


def _arguments(kwargs: Any) -> str:
    if isinstance(kwargs, str):
        return kwargs
    return json.dumps(kwargs if kwargs is not None else {}, ensure_ascii=False)


def wire_tool_calls(message: ChatMessage) -> list[dict[str, Any]]:
    """The ``tool_calls`` of an assistant message.

    ``ToolCallBlock``s are the source of truth (users and agents edit them); the wire
    dicts this adapter keeps in ``additional_kwargs["tool_calls"]`` add what a block
    cannot hold (Gemini 3's ``extra_content`` thought signature), matched by call id.
    Messages with no blocks fall back to those dicts alone.
    """
    kept = [c for c in map(_wire_call, message.additional_kwargs.get("tool_calls") or []) if c]
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    if not blocks:
        return [_normalized(c) for c in kept]
    extra_by_id = {c.get("id"): c.get("extra_content") for c in kept if c.get("extra_content")}
    calls = []
    for block in blocks:
        call: dict[str, Any] = {
            "id": block.tool_call_id,
            "type": "function",
            "function": {"name": block.tool_name, "arguments": _arguments(block.tool_kwargs)},
        }
        extra = extra_by_id.get(block.tool_call_id)
        if extra:
            call["extra_content"] = extra
        calls.append(call)
    return calls


def _normalized(call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function")
    if not isinstance(fn, Mapping):
        fn = {}
    out: dict[str, Any] = {
        "id": call.get("id"),
        "type": "function",
        "function": {"name": fn.get("name"), "arguments": _arguments(fn.get("arguments"))},
    }
    if call.get("extra_content"):
        out["extra_content"] = call["extra_content"]
    return out

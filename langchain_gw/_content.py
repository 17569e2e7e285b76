"""LangChain content blocks -> OpenAI Chat Completions content parts, per model.

LangChain users hand us content in four spellings, often mixed in one message:

- v1 standard blocks (``{"type": "image" | "video" | "audio" | "file" | "text-plain",
  "url" | "base64" + "mime_type" | "file_id"}``), what ``langchain-core`` normalizes to;
- v0 blocks (``"source_type": "url" | "base64" | "id"`` with ``"data"``);
- OpenAI parts (``text``, ``image_url``, ``input_audio``, ``file``, ``video_url``),
  passed through;
- Anthropic image blocks (``{"type": "image", "source": {...}}``).

Each becomes the part the gateway takes, built with :mod:`gw_core.wire`'s builders so
sizes and base64 are checked once, in one place. Video becomes the core's ``video`` part,
which keeps its kind: ``gw_core.wire.validate_messages`` refuses it for a model that
cannot take video (one check, the same error as ``GatewayLLM``'s), and the body spells it
as the gateway takes it (an ``image_url`` part with a ``data:video/...`` URI).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any

from gw_core.catalog import ModelSpec
from gw_core.errors import GatewayInputError
from gw_core.wire import audio_part, file_part, image_part, text_part, video_part

__all__ = ["assistant_text", "part_list", "to_parts"]

#: OpenAI part types sent as given (``validate_messages`` checks them). ``file`` is also a
#: v1 block type: the OpenAI part is the one with a ``"file"`` object.
_OPENAI_PARTS = frozenset({"image_url", "video_url", "input_audio", "file"})
#: Block types of assistant turns that are not text: the gateway gets tool calls from
#: ``AIMessage.tool_calls``, and reasoning is not sent back.
_NOT_SENT = frozenset(
    {
        "reasoning",
        "thinking",
        "redacted_thinking",
        "reasoning_content",
        "tool_use",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_result",
        "function_call",
    }
)
_AUDIO_FORMATS = {"wav": "wav", "x-wav": "wav", "wave": "wav", "mpeg": "mp3", "mp3": "mp3"}


def _source(block: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(url, base64 data, file id) of a v1 or v0 data block."""
    kind = block.get("source_type")
    url = block.get("url")
    data = block.get("base64")
    if data is None and kind == "base64":
        data = block.get("data")
    file_id = block.get("file_id")
    if file_id is None and kind == "id":
        file_id = block.get("id")
    return url, data, file_id


def _extras(block: Mapping[str, Any]) -> Mapping[str, Any]:
    extras = block.get("extras")
    if isinstance(extras, Mapping):
        return extras
    metadata = block.get("metadata")  # v0 blocks kept extra fields here
    return metadata if isinstance(metadata, Mapping) else {}


def _no_file_store(what: str) -> GatewayInputError:
    return GatewayInputError(
        f"the gateway has no file store, so a {what} block cannot be sent by file_id; "
        "send it by URL or as base64 data"
    )


def _image(block: Mapping[str, Any]) -> dict[str, Any]:
    url, data, file_id = _source(block)
    detail = _extras(block).get("detail")
    detail = detail if detail in ("auto", "low", "high") else None
    if url is not None:
        return image_part(url=url, detail=detail)
    if data is not None:
        return image_part(data=data, mime_type=block.get("mime_type"), detail=detail)
    if file_id is not None:
        raise _no_file_store("image")
    raise GatewayInputError("an image block needs 'url' or 'base64' (with 'mime_type')")


def _video(block: Mapping[str, Any]) -> dict[str, Any]:
    """A video part that keeps its kind; ``validate_messages`` refuses it for non-Gemini."""
    url, data, file_id = _source(block)
    mime = block.get("mime_type")
    if url is not None:
        if url.startswith("data:"):
            return video_part(url=url, mime_type=url[5:].split(";", 1)[0])
        guessed = mimetypes.guess_type(url)[0]
        fallback = guessed if guessed and guessed.startswith("video/") else "video/mp4"
        return video_part(url=url, mime_type=mime or fallback)
    if data is not None:
        if not mime:
            raise GatewayInputError(
                "a base64 video block needs 'mime_type' (e.g. 'video/mp4') so Gemini can decode it"
            )
        return video_part(data=data, mime_type=mime)
    if file_id is not None:
        raise _no_file_store("video")
    raise GatewayInputError("a video block needs 'url' or 'base64' (with 'mime_type')")


def _audio(block: Mapping[str, Any]) -> dict[str, Any]:
    url, data, file_id = _source(block)
    if data is None:
        raise (
            _no_file_store("audio")
            if file_id is not None
            else GatewayInputError(
                "audio goes to the gateway inline only: give the block 'base64' data and "
                "'mime_type' (audio/wav or audio/mpeg)" + (", not a URL" if url is not None else "")
            )
        )
    mime = str(block.get("mime_type") or "audio/wav")
    fmt = _AUDIO_FORMATS.get(mime.split("/")[-1].lower())
    if fmt is None:
        raise GatewayInputError(f"audio must be wav or mp3 (audio/wav, audio/mpeg), got {mime!r}")
    return audio_part(data=data, format=fmt)


def _filename(block: Mapping[str, Any], mime: str) -> str:
    extras = _extras(block)
    for value in (block.get("filename"), extras.get("filename"), block.get("name")):
        if isinstance(value, str) and value:
            return value
    return "document" + (mimetypes.guess_extension(mime) or "")


def _file(block: Mapping[str, Any], spec: ModelSpec) -> dict[str, Any]:
    _, data, file_id = _source(block)
    mime = str(block.get("mime_type") or "")
    # A "file" that is an image or a video is sent as one: that is what the gateway takes.
    if mime.startswith("image/"):
        return _image(block)
    if mime.startswith("video/"):
        return _video(block)
    if file_id is not None:
        return {"type": "file", "file": {"file_id": file_id}}
    if data is None:
        raise GatewayInputError(
            "files go to the gateway inline only: give the file block 'base64' data and "
            "'mime_type' (a URL cannot be sent)"
        )
    mime = mime or "application/pdf"
    return file_part(data=data, filename=_filename(block, mime), mime_type=mime)


def _plain_text(block: Mapping[str, Any]) -> dict[str, Any]:
    url, data, _ = _source(block)
    text = block.get("text")
    if isinstance(text, str):
        return text_part(text)
    if data is not None:
        try:
            return text_part(base64.b64decode(data, validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            raise GatewayInputError("a text-plain block's base64 data is not UTF-8 text") from None
    raise GatewayInputError(
        "a text-plain block needs 'text' (or base64 'data'); "
        + ("a URL cannot be sent" if url is not None else "it has neither")
    )


def _anthropic_image(source: Mapping[str, Any]) -> dict[str, Any]:
    if source.get("type") == "url":
        return image_part(url=source.get("url"))
    if source.get("type") == "base64":
        return image_part(data=source.get("data"), mime_type=source.get("media_type"))
    raise GatewayInputError(f"unsupported image source {source.get('type')!r}; use url or base64")


def _part(block: Any, spec: ModelSpec) -> dict[str, Any] | None:
    """One block as a gateway part; None for blocks that are not sent."""
    if isinstance(block, str):
        return text_part(block)
    if not isinstance(block, Mapping):
        raise GatewayInputError(
            f"content blocks must be strings or dicts, got {type(block).__name__}"
        )
    kind = block.get("type")
    if kind == "text":
        return text_part(block.get("text") or "")
    if kind in _OPENAI_PARTS and (kind != "file" or isinstance(block.get("file"), Mapping)):
        part = dict(block)
        if kind == "image_url" and isinstance(part.get("image_url"), str):
            part["image_url"] = {"url": part["image_url"]}  # the old string spelling
        return part
    if kind == "image":
        source = block.get("source")
        if isinstance(source, Mapping):
            return _anthropic_image(source)
        return _image(block)
    if kind == "video":
        if isinstance(block.get("video"), Mapping):
            return dict(block)  # a part built by gw_core.wire.video_part
        return _video(block)
    if kind == "audio":
        return _audio(block)
    if kind == "file":
        return _file(block, spec)
    if kind == "text-plain":
        return _plain_text(block)
    if kind in _NOT_SENT:
        return None
    if kind == "non_standard" and isinstance(block.get("value"), Mapping):
        return dict(block["value"])  # a provider-native part the caller wrapped
    return dict(block)  # unknown: validate_messages refuses it with a clear message


def part_list(content: Sequence[Any], spec: ModelSpec) -> list[dict[str, Any]]:
    """List content as gateway parts (blocks that are not sent are left out)."""
    parts = []
    for block in content:
        part = _part(block, spec)
        if part is not None:
            parts.append(part)
    return parts


def to_parts(content: str | Sequence[Any], spec: ModelSpec) -> str | list[dict[str, Any]]:
    """A message's content as the gateway takes it: a string, or a list of parts."""
    if isinstance(content, str):
        return content
    return part_list(content, spec)


def assistant_text(content: str | Sequence[Any]) -> str:
    """The text of an assistant turn (its other blocks go elsewhere or are not sent)."""
    if isinstance(content, str):
        return content
    pieces = []
    for block in content:
        if isinstance(block, str):
            pieces.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            pieces.append(str(block.get("text") or ""))
    return "".join(pieces)

"""Content parts, and the checks a history must pass before it is sent.

What the gateway takes, and so what this module lets through:

- ``text`` parts, and ``image_url`` parts with an http(s) URL or a base64 data URI:
  every model (the gateway documents image input for all of them).
- Video: Gemini models only. :func:`video_part` builds a ``video`` part that keeps its
  kind (so the check below knows it is a video, whatever its URL); on the wire it becomes
  the documented route, an ``image_url`` part whose URL is a ``data:video/<type>;base64``
  URI (or an http(s) URL to a video, which the gateway downloads). An ``image_url`` with
  a video data URI or a video file URL, and a ``video_url`` part, count as video too.
  Video for any other model is refused here, once, with a CapabilityError before any
  request; the adapters do not check it themselves.
- ``file`` (PDF) and ``input_audio`` parts: the OpenAI format has them, the gateway does
  not document them, and Claude's converter drops audio without a word. They are refused
  unless the caller opts in with ``allow_undocumented_parts=True`` (audio stays refused
  for Claude even then, since it would be silently dropped).

Inline data is measured from the base64 length (never decoded) against
:data:`MAX_INLINE_IMAGE_BYTES` / :data:`MAX_INLINE_VIDEO_BYTES` / :data:`MAX_INLINE_FILE_BYTES`.
"""

from __future__ import annotations

import base64
from typing import Any

from ..catalog import Family, ModelSpec
from ..errors import CapabilityError, GatewayInputError
from ._media import (
    MiB,
    b64_payload,
    check_b64,
    check_remote_url,
    check_size,
    data_uri,
    decoded_size,
    is_video_url,
    parse_data_uri,
    sniff_image,
)

__all__ = [
    "MAX_INLINE_FILE_BYTES",
    "MAX_INLINE_IMAGE_BYTES",
    "MAX_INLINE_VIDEO_BYTES",
    "audio_part",
    "file_part",
    "image_part",
    "spell_media",
    "text_part",
    "validate_messages",
    "video_part",
]

#: Largest image sent inline (decoded size); larger ones should be sent by URL.
MAX_INLINE_IMAGE_BYTES = 20 * MiB
#: Largest video sent inline. Gemini takes more, gateways' body limits less (expect 413).
MAX_INLINE_VIDEO_BYTES = 20 * MiB
#: Largest PDF or audio clip sent inline.
MAX_INLINE_FILE_BYTES = 20 * MiB

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_AUDIO_FORMATS = ("wav", "mp3")
_DETAILS = ("auto", "low", "high")
_OPT_IN = "pass allow_undocumented_parts=True to send it anyway"

# -- builders ---------------------------------------------------------------------------


def text_part(text: str) -> dict[str, Any]:
    """``{"type": "text", "text": ...}``."""
    if not isinstance(text, str):
        raise GatewayInputError(f"text must be a string, got {type(text).__name__}")
    return {"type": "text", "text": text}


def _inline_image(data: bytes | str, mime_type: str | None) -> str:
    payload = b64_payload(data, "image")
    check_size(decoded_size(payload), MAX_INLINE_IMAGE_BYTES, "image")
    mime = mime_type or sniff_image(base64.b64decode(payload[:16]))
    if mime is None:
        raise GatewayInputError(
            "could not tell the image type from its bytes; pass mime_type='image/png' "
            "(or image/jpeg, image/gif, image/webp)"
        )
    if not mime.startswith("image/"):
        raise GatewayInputError(f"mime_type must be an image/* type, got {mime!r}")
    return data_uri(mime, payload)


def _check_media_arg(url: Any, what: str) -> None:
    """A URL given to a builder: http(s), or a data URI of the right type and size."""
    if isinstance(url, str) and url.startswith("data:"):
        mime, size = parse_data_uri(url)
        if not mime.startswith(what + "/"):
            raise GatewayInputError(f"{what}_part got a data URI of type {mime!r}")
        limit = MAX_INLINE_VIDEO_BYTES if what == "video" else MAX_INLINE_IMAGE_BYTES
        check_size(size, limit, what)
    else:
        check_remote_url(url, what)


def image_part(
    *,
    url: str | None = None,
    data: bytes | str | None = None,
    mime_type: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """An ``image_url`` part from a URL (http(s) or data URI) or raw/base64 data.

    With data and no ``mime_type`` the type is read from the image's first bytes
    (PNG, JPEG, GIF, WebP).
    """
    if (url is None) == (data is None):
        raise GatewayInputError("image_part needs exactly one of url= or data=")
    if detail is not None and detail not in _DETAILS:
        raise GatewayInputError(f"detail must be 'auto', 'low' or 'high', got {detail!r}")
    if url is not None:
        _check_media_arg(url, "image")
        final = url
    else:
        assert data is not None
        if isinstance(data, str) and data.startswith("data:"):
            return image_part(url=data, detail=detail)
        final = _inline_image(data, mime_type)
    image_url: dict[str, Any] = {"url": final}
    if detail is not None:
        image_url["detail"] = detail
    return {"type": "image_url", "image_url": image_url}


def video_part(
    *, data: bytes | str | None = None, url: str | None = None, mime_type: str
) -> dict[str, Any]:
    """A video part: ``{"type": "video", "video": {"url": ..., "mime_type": ...}}``.

    The part keeps its kind until the body is spelled for the wire, so
    :func:`validate_messages` knows it is a video whatever its URL looks like (and refuses
    it, once, for a model that cannot take video). :func:`gw_core.wire.build_body` then
    spells it as the gateway forwards video to Gemini: an ``image_url`` part whose URL is
    the ``data:video/<type>;base64,...`` URI, or the http(s) URL (the gateway downloads
    it). Gemini takes video/mp4, mpeg, mov, avi, x-flv, mpg, webm, wmv and 3gpp.
    """
    if (url is None) == (data is None):
        raise GatewayInputError("video_part needs exactly one of url= or data=")
    if not isinstance(mime_type, str) or not mime_type.startswith("video/"):
        raise GatewayInputError(f"mime_type must be a video/* type, got {mime_type!r}")
    if url is not None:
        _check_media_arg(url, "video")
        final = url
    else:
        assert data is not None
        payload = b64_payload(data, "video")
        check_size(decoded_size(payload), MAX_INLINE_VIDEO_BYTES, "video")
        final = data_uri(mime_type, payload)
    return {"type": "video", "video": {"url": final, "mime_type": mime_type}}


def spell_media(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with each ``video`` part spelled the way the gateway takes video.

    The list (and each changed message) is copied only if something changes.
    """
    out: list[dict[str, Any]] | None = None
    for position, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if content.__class__ is not list or not any(_is_video(p) for p in content):
            continue
        if out is None:
            out = list(messages)
        spelled = [
            {"type": "image_url", "image_url": {"url": part["video"]["url"]}}
            if _is_video(part)
            else part
            for part in content
        ]
        out[position] = {**message, "content": spelled}
    return messages if out is None else out


def _is_video(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "video"


def file_part(
    *, data: bytes | str, filename: str, mime_type: str = "application/pdf"
) -> dict[str, Any]:
    """An OpenAI ``file`` part (a PDF). Not documented by the gateway: see the module doc."""
    if not isinstance(filename, str) or not filename:
        raise GatewayInputError("file_part needs a filename such as 'report.pdf'")
    payload = b64_payload(data, "file")
    check_size(decoded_size(payload), MAX_INLINE_FILE_BYTES, "file")
    return {
        "type": "file",
        "file": {"file_data": data_uri(mime_type, payload), "filename": filename},
    }


def audio_part(*, data: bytes | str, format: str) -> dict[str, Any]:
    """An OpenAI ``input_audio`` part (wav or mp3). Not documented by the gateway."""
    if format not in _AUDIO_FORMATS:
        raise GatewayInputError(f"audio format must be 'wav' or 'mp3', got {format!r}")
    payload = b64_payload(data, "audio")
    check_size(decoded_size(payload), MAX_INLINE_FILE_BYTES, "audio")
    return {"type": "input_audio", "input_audio": {"data": payload, "format": format}}


# -- validation -------------------------------------------------------------------------


def _refuse_video(spec: ModelSpec) -> CapabilityError:
    return CapabilityError(
        f"{spec.id} cannot take video: the gateway accepts video input on Gemini models "
        "only (e.g. gemini-3.1-pro-preview); remove the video part or use a Gemini model"
    )


def _check_media_url(spec: ModelSpec, url: Any, declared_video: bool) -> None:
    """An image_url/video_url URL: capability, data URI shape, size."""
    if not isinstance(url, str) or not url:
        raise GatewayInputError("an image_url/video_url part needs 'url': a non-empty string")
    if url.startswith("data:"):
        mime, size = parse_data_uri(url)
        video = mime.startswith("video/")
        if declared_video and not video:
            raise GatewayInputError(f"a video part's data URI must be video/*, got {mime!r}")
        if not video and not mime.startswith("image/"):
            raise GatewayInputError(
                f"an image_url data URI must hold an image/* or video/* type, got {mime!r}"
            )
    else:
        check_remote_url(url, "video" if declared_video else "image")
        video, size = is_video_url(url), 0
    if declared_video or video:
        if not spec.video_input:
            raise _refuse_video(spec)
        check_size(size, MAX_INLINE_VIDEO_BYTES, "video")
    else:
        if not spec.image_input:
            raise CapabilityError(
                f"{spec.id} cannot take images; remove the image part or use another model"
            )
        check_size(size, MAX_INLINE_IMAGE_BYTES, "image")


def _check_part(spec: ModelSpec, part: Any, role: str, where: str, opt_in: bool) -> None:
    if not isinstance(part, dict):
        raise GatewayInputError(f"{where}: each content part must be a dict with a 'type'")
    kind = part.get("type")
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise GatewayInputError(f"{where}: a text part needs 'text': a string")
        return
    if kind == "refusal" and role == "assistant":
        if not isinstance(part.get("refusal"), str):
            raise GatewayInputError(f"{where}: a refusal part needs 'refusal': a string")
        return
    if role in ("system", "developer", "assistant"):
        raise GatewayInputError(
            f"{where}: {role} messages take text only, got a {kind!r} part; move it to a "
            "user message"
        )
    if kind in ("image_url", "video_url", "video"):
        body = part.get(kind)
        if not isinstance(body, dict):
            raise GatewayInputError(f"{where}: a {kind} part needs '{kind}': {{'url': ...}}")
        _check_media_url(spec, body.get("url"), kind != "image_url")
        return
    if kind in ("file", "input_audio"):
        _check_undocumented(spec, part, kind, where, opt_in)
        return
    raise GatewayInputError(
        f"{where}: unknown content part type {kind!r}; use text, image_url (images, and "
        "video for Gemini) or build parts with gw_core.wire's text_part/image_part/video_part"
    )


def _check_undocumented(
    spec: ModelSpec, part: dict[str, Any], kind: str, where: str, opt_in: bool
) -> None:
    label = "PDF/file" if kind == "file" else "audio"
    if not opt_in:
        raise CapabilityError(
            f"{where}: the gateway documents only text, image and (Gemini) video input, not "
            f"{label} parts; convert it (e.g. PDF pages to images or text), {_OPT_IN}"
        )
    if kind == "input_audio" and spec.family is Family.CLAUDE:
        raise CapabilityError(
            f"{where}: {spec.id} cannot take audio (Claude's converter drops it silently); "
            "transcribe it first or use a Gemini model"
        )
    body = part.get(kind)
    if not isinstance(body, dict):
        raise GatewayInputError(f"{where}: a {kind} part needs '{kind}': {{...}}")
    if kind == "file":
        file_data = body.get("file_data")
        if isinstance(file_data, str) and file_data.startswith("data:"):
            check_size(parse_data_uri(file_data)[1], MAX_INLINE_FILE_BYTES, "file")
        elif not body.get("file_id") and not isinstance(file_data, str):
            raise GatewayInputError(f"{where}: a file part needs 'file_data' (a data URI)")
    else:
        data = body.get("data")
        if not isinstance(data, str) or body.get("format") not in _AUDIO_FORMATS:
            raise GatewayInputError(
                f"{where}: an input_audio part needs 'data' (base64) and 'format' (wav or mp3)"
            )
        check_b64(data, "audio")
        check_size(decoded_size(data), MAX_INLINE_FILE_BYTES, "audio")


def _check_content(spec: ModelSpec, content: Any, role: str, where: str, opt_in: bool) -> bool:
    """Check a message's content; True when it holds something."""
    if content is None:
        return False
    if isinstance(content, str):
        return bool(content)
    if not isinstance(content, list):
        raise GatewayInputError(
            f"{where}: content must be a string or a list of parts, got {type(content).__name__}"
        )
    for part in content:
        _check_part(spec, part, role, where, opt_in)
    return bool(content)


def _tool_call_ids(calls: Any, where: str) -> list[str]:
    if not isinstance(calls, list):
        raise GatewayInputError(f"{where}: tool_calls must be a list")
    ids = []
    for call in calls:
        fn = call.get("function") if isinstance(call, dict) else None
        call_id = call.get("id") if isinstance(call, dict) else None
        if not isinstance(call_id, str) or not call_id or not isinstance(fn, dict):
            raise GatewayInputError(
                f"{where}: each tool call needs an 'id' and 'function': {{'name', 'arguments'}}"
            )
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            raise GatewayInputError(f"{where}: tool call {call_id!r} has no function name")
        ids.append(call_id)
    return ids


def validate_messages(
    spec: ModelSpec,
    messages: list[dict[str, Any]],
    *,
    allow_undocumented_parts: bool = False,
) -> None:
    """Refuse, before any request, a history the gateway or the model would reject.

    Raises GatewayInputError (a ValueError) or its subtypes CapabilityError and
    PayloadTooLargeError, each with a message that says what to change.
    """
    if not isinstance(messages, list) or not messages:
        raise GatewayInputError("messages must be a non-empty list of message dicts")
    call_ids: set[str] = set()
    for position, message in enumerate(messages):
        where = f"messages[{position}]"
        if not isinstance(message, dict):
            raise GatewayInputError(f"{where} must be a dict with 'role' and 'content'")
        role = message.get("role")
        content = message.get("content")
        if role == "user" or role == "system" or role == "developer":
            if content.__class__ is str and content:
                continue  # the common case, checked in two comparisons
            if not _check_content(spec, content, role, where, allow_undocumented_parts):
                raise GatewayInputError(f"{where}: a {role} message needs non-empty content")
        elif role == "assistant":
            has_text = _check_content(spec, content, role, where, allow_undocumented_parts)
            calls = message.get("tool_calls")
            if calls:
                call_ids.update(_tool_call_ids(calls, where))
            elif not has_text:
                raise GatewayInputError(
                    f"{where}: an assistant message needs content or tool_calls (Claude and "
                    "Gemini refuse empty turns); drop the empty message or give it text"
                )
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise GatewayInputError(
                    f"{where}: a tool message needs 'tool_call_id', the id of the tool call "
                    "it answers"
                )
            if call_id not in call_ids:
                raise GatewayInputError(
                    f"{where}: tool_call_id {call_id!r} matches no tool call of an earlier "
                    "assistant message; put the assistant message with that call before it"
                )
            if content is None:
                raise GatewayInputError(f"{where}: a tool message needs content (the result)")
            _check_content(spec, content, role, where, allow_undocumented_parts)
        else:
            raise GatewayInputError(
                f"{where}: role must be one of {', '.join(sorted(ROLES))}, got {role!r}"
            )

"""Data URIs, base64 and URLs: the small checks content parts share.

Inline data is sized from its base64 length and spot-checked at both ends, never decoded:
a 20 MiB video must not cost a decode on every request.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from ..errors import GatewayInputError, PayloadTooLargeError

__all__ = [
    "MiB",
    "b64_payload",
    "check_b64",
    "check_remote_url",
    "check_size",
    "data_uri",
    "decoded_size",
    "is_video_url",
    "parse_data_uri",
    "sniff_image",
]

MiB = 1024 * 1024
_VIDEO_SUFFIXES = tuple(".mp4 .mov .webm .avi .mkv .mpeg .mpg .wmv .flv .3gp .3gpp .m4v".split())
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_SAMPLE = 256


def sniff_image(head: bytes) -> str | None:
    """The image type from its first bytes, so callers need not name it."""
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def b64_payload(data: bytes | str, what: str) -> str:
    """Base64 text for raw bytes, or base64 text checked as given."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return base64.b64encode(data).decode("ascii")
    if isinstance(data, str):
        check_b64(data, what)
        return data
    raise GatewayInputError(f"{what} data must be bytes or a base64 string")


def data_uri(mime: str, payload: str) -> str:
    return f"data:{mime};base64,{payload}"


def decoded_size(payload: str) -> int:
    """Bytes a base64 payload decodes to, from its length alone."""
    return len(payload) * 3 // 4 - payload[-2:].count("=")


def check_b64(payload: str, what: str) -> None:
    """Spot-check base64 (length, alphabet at both ends) without decoding megabytes."""
    if not payload or len(payload) % 4 or not _B64.issuperset(payload[:_SAMPLE]):
        raise GatewayInputError(
            f"the {what} data is not standard padded base64; encode the raw bytes with "
            "base64.b64encode (or pass the bytes themselves)"
        )
    if not _B64.issuperset(payload[-_SAMPLE:]):
        raise GatewayInputError(f"the {what} data is not standard base64 (bad characters)")


def parse_data_uri(url: str) -> tuple[str, int]:
    """(mime type, decoded size) of ``data:<mime>;base64,<payload>``."""
    header, sep, payload = url[5:].partition(",")
    params = header.split(";")
    mime = params[0].strip().lower()
    if not sep or "/" not in mime or "base64" not in params[1:]:
        raise GatewayInputError(
            f"malformed data URI: expected 'data:<type>/<subtype>;base64,<data>', got {url[:40]!r}…"
        )
    check_b64(payload, mime)
    return mime, decoded_size(payload)


def check_size(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise PayloadTooLargeError(
            f"the {what} is {size / MiB:.1f} MiB, over the {limit // MiB} MiB the gateway "
            f"takes inline; shrink it or send it by http(s) URL"
        )


def check_remote_url(url: Any, what: str) -> None:
    """Only http(s) URLs leave the machine; local paths get a hint instead."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        shown = url[:60] if isinstance(url, str) else type(url).__name__
        raise GatewayInputError(
            f"the {what} URL must be http(s) or a data: URI, got {shown!r}; for a local "
            f"file read its bytes and use {what}_part(data=...)"
        )


def is_video_url(url: str) -> bool:
    """An http(s) URL whose path names a video file (the gateway sniffs what it downloads)."""
    return urlsplit(url).path.lower().endswith(_VIDEO_SUFFIXES)

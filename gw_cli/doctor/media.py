"""Tiny media made or shipped in code, so the image and video checks need no files.

The PNG is drawn here (8x8 pixels of one colour). The MP4 is one 16x16 red frame of
H.264 lasting one second (815 bytes), made once with
``ffmpeg -f lavfi -i color=c=red:s=16x16:r=1:d=1 -c:v libx264 -pix_fmt yuv420p
-bsf:v filter_units=remove_types=6 -map_metadata -1 -frames:v 1``: small enough to
embed, and a real video an upstream can decode.
"""

from __future__ import annotations

import base64
import struct
import zlib
from functools import cache

__all__ = ["TINY_MP4_BASE64", "tiny_mp4", "tiny_png"]

TINY_MP4_BASE64 = (
    "AAAAIGZ0eXBpc29tAAACAGlzb21pc28yYXZjMW1wNDEAAALobW9vdgAAAGxtdmhkAAAAAAAAAAAAAAAAAAAD6AAA"
    "A+gAAQAAAQAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAgAAAjd0cmFrAAAAXHRraGQAAAADAAAAAAAAAAAAAAABAAAAAAAAA+gAAAAAAAAAAAAA"
    "AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAABAAAAAABAAAAAQAAAAAAAkZWR0cwAAABxlbHN0"
    "AAAAAAAAAAEAAAPoAAAAAAABAAAAAAGvbWRpYQAAACBtZGhkAAAAAAAAAAAAAAAAAABAAAAAQABVxAAAAAAALWhk"
    "bHIAAAAAAAAAAHZpZGUAAAAAAAAAAAAAAABWaWRlb0hhbmRsZXIAAAABWm1pbmYAAAAUdm1oZAAAAAEAAAAAAAAA"
    "AAAAACRkaW5mAAAAHGRyZWYAAAAAAAAAAQAAAAx1cmwgAAAAAQAAARpzdGJsAAAAtnN0c2QAAAAAAAAAAQAAAKZh"
    "dmMxAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAABAAEABIAAAASAAAAAAAAAABDExhdmMgbGlieDI2NAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAGP//AAAALGF2Y0MBQsAK/+EAFWdCwAraewEQAAADABAAAAMAIPEiagEABGjOD8gAAAAQcGFz"
    "cAAAAAEAAAABAAAAFGJ0cnQAAAAAAAAAuAAAAAAAAAAYc3R0cwAAAAAAAAABAAAAAQAAQAAAAAAcc3RzYwAAAAAA"
    "AAABAAAAAQAAAAEAAAABAAAAFHN0c3oAAAAAAAAAFwAAAAEAAAAUc3RjbwAAAAAAAAABAAADGAAAAD11ZHRhAAAA"
    "NW1ldGEAAAAAAAAAIWhkbHIAAAAAAAAAAG1kaXJhcHBsAAAAAAAAAAAAAAAACGlsc3QAAAAIZnJlZQAAAB9tZGF0"
    "AAAAE2WIhDoRigACGPHAAED2OAAIeWA="
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@cache
def tiny_png(rgb: tuple[int, int, int] = (220, 30, 30), size: int = 8) -> bytes:
    """A ``size`` x ``size`` PNG of one colour (8-bit RGB, no interlace)."""
    row = b"\x00" + bytes(rgb) * size  # filter byte 0, then the pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(row * size))
        + _png_chunk(b"IEND", b"")
    )


def tiny_mp4() -> bytes:
    """The one-frame MP4 as bytes."""
    return base64.b64decode(TINY_MP4_BASE64)

"""Just enough HTTP/1.1 for the emulator, written by hand to stay fast and dependency-free.

Parses one request at a time from a connection's buffer (request line, headers, a
``Content-Length`` or ``chunked`` body) and formats response heads and chunked frames.
Malformed input raises :class:`HTTPParseError` carrying the status to answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from gw_emulator.faults import reason_phrase

__all__ = ["HTTPParseError", "Request", "chunk_frame", "parse_request", "response_head"]

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
LAST_CHUNK = b"0\r\n\r\n"


class HTTPParseError(Exception):
    """The bytes are not an HTTP/1.1 request we can serve; answer ``status`` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Request:
    """One parsed request. Header names are lower-case."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes any byte
        raise HTTPParseError(400, "undecodable request head") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HTTPParseError(400, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HTTPParseError(400, "malformed header line")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return method, target, version, headers


def _parse_chunked(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at ``start``; ``None`` until it is complete."""
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            if len(buffer) - position > 1024:
                raise HTTPParseError(400, "chunk size line too long")
            return None
        size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise HTTPParseError(400, "bad chunk size") from exc
        if size < 0 or len(body) + size > MAX_BODY_BYTES:
            raise HTTPParseError(413, "request body too large")
        position = line_end + 2
        if size == 0:
            # Trailers (ignored) end with an empty line.
            trailer_end = buffer.find(b"\r\n\r\n", position - 2)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 4
        if len(buffer) < position + size + 2:
            return None
        body += buffer[position : position + size]
        if buffer[position + size : position + size + 2] != b"\r\n":
            raise HTTPParseError(400, "chunk not followed by CRLF")
        position += size + 2


def parse_request(buffer: bytearray) -> tuple[Request, int] | None:
    """Parse the first complete request in ``buffer``: the request and the bytes it used,
    or ``None`` if more bytes are needed."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise HTTPParseError(431, "request head too large")
        return None
    method, target, version, headers = _parse_head(bytes(buffer[:head_end]))
    start = head_end + 4
    if "chunked" in headers.get("transfer-encoding", "").lower():
        decoded = _parse_chunked(buffer, start)
        if decoded is None:
            return None
        body, end = decoded
        return Request(method, target, version, headers, body), end
    length_text = headers.get("content-length", "0")
    try:
        length = int(length_text)
    except ValueError as exc:
        raise HTTPParseError(400, "bad Content-Length") from exc
    if length < 0:
        raise HTTPParseError(400, "bad Content-Length")
    if length > MAX_BODY_BYTES:
        raise HTTPParseError(413, "request body too large")
    if len(buffer) < start + length:
        return None
    body = bytes(buffer[start : start + length])
    return Request(method, target, version, headers, body), start + length


def expects_continue(buffer: bytearray) -> bool:
    """Whether the buffered head asks for ``100 Continue`` before sending its body."""
    head_end = buffer.find(b"\r\n\r\n")
    return head_end >= 0 and b"100-continue" in bytes(buffer[:head_end]).lower()


def response_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """Status line and headers, ending with the blank line."""
    lines = [f"HTTP/1.1 {status} {reason_phrase(status)}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk_frame(data: bytes) -> bytes:
    """One ``Transfer-Encoding: chunked`` frame around ``data``."""
    return b"%x\r\n%s\r\n" % (len(data), data)

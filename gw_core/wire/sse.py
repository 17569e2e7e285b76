"""Server-Sent Events as gateways send them, decoded to chunk dicts.

Follows the SSE spec where it matters (``data:`` with or without the space, multi-line
data joined by ``\\n``, ``:`` comments, other fields ignored) and survives what real
gateways add: ``data: : keepalive`` pings, empty data events, ``[DONE]``, and an
``{"error": ...}`` event in the middle of a stream.

A data line that is a whole JSON document on its own is dispatched at once, without
waiting for the blank line that ends the event. For JSON this is the same result as the
spec's (a complete JSON value followed by more data lines is not JSON), and it keeps a
stream streaming even when a transport drops the blank separator lines. An event still
open when the input ends is discarded, as the spec says: a stream cut mid-event is a cut
stream (no finish reason, see the accumulator), not a malformed one.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from json import loads
from typing import Any

from ..errors import MalformedResponseError, error_from_body

__all__ = ["SSEState", "aiter_sse_data", "iter_sse_data"]

_SNIPPET = 80


def _malformed(text: str, why: str) -> MalformedResponseError:
    snippet = text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"
    return MalformedResponseError(f"the gateway sent a stream event that is {why}: {snippet!r}")


class SSEState:
    """Decoder state for one stream; ``done`` tells whether ``[DONE]`` arrived.

    The transport keeps a reference to tell a stream the server ended properly from one
    that was cut (which the openai client would end silently).
    """

    __slots__ = ("_pending", "done", "events", "incomplete_event")

    def __init__(self) -> None:
        #: True once ``data: [DONE]`` was seen; nothing after it is read.
        self.done = False
        #: How many JSON events were decoded so far.
        self.events = 0
        #: True when the input ended inside an event (discarded, as the spec says).
        self.incomplete_event = False
        self._pending: list[str] | None = None

    def feed(self, line: str | bytes) -> dict[str, Any] | None:
        """Decode one line; returns a chunk dict when this line completed an event."""
        if line.__class__ is not str:
            line = _decode(line)
        if line[-1:] in ("\n", "\r"):
            line = line.rstrip("\r\n")
        if not line:
            return None if self._pending is None else self.flush()
        if line.startswith("data:"):
            payload = line[6:] if line[5:6] == " " else line[5:]
            if self._pending is None and payload[:1] == "{":
                # The fast path: one whole JSON object on one line.
                try:
                    obj = loads(payload)
                except ValueError:
                    self._pending = [payload]  # maybe the first line of a multi-line event
                    return None
                if obj.__class__ is dict and not obj.get("error"):
                    self.events += 1
                    return obj
                return self._checked(obj, payload)
            return self._slow_data(payload)
        if line[0] == "\ufeff":  # a byte-order mark before the first field
            return self.feed(line[1:])
        # ":" comments and event:/id:/retry: fields carry nothing we use.
        return None

    def _slow_data(self, payload: str) -> dict[str, Any] | None:
        if self._pending is not None:
            self._pending.append(payload)
            return None
        text = payload.strip()
        if not text or text[0] == ":":
            return None  # empty data, or a "data: : keepalive" ping
        if text == "[DONE]":
            self.done = True
            return None
        try:
            obj = loads(text)
        except ValueError:
            self._pending = [payload]  # maybe the first line of a multi-line event
            return None
        return self._checked(obj, text)

    def flush(self) -> dict[str, Any] | None:
        """End the current event (blank line or end of input) and decode what it held."""
        pending = self._pending
        if pending is None:
            return None
        self._pending = None
        text = "\n".join(pending).strip()
        if not text or text[0] == ":":
            return None
        if text == "[DONE]":
            self.done = True
            return None
        try:
            obj = loads(text)
        except ValueError:
            raise _malformed(text, "not valid JSON") from None
        return self._checked(obj, text)

    def _checked(self, obj: Any, text: str) -> dict[str, Any]:
        if obj.__class__ is not dict:
            raise _malformed(text, "not a JSON object")
        if obj.get("error"):
            raise error_from_body(obj)
        self.events += 1
        return obj

    def close(self) -> None:
        """The input ended: discard an event that was never finished by a blank line."""
        if self._pending is not None:
            self._pending = None
            self.incomplete_event = True


def _decode(line: Any) -> str:
    try:
        return bytes(line).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedResponseError("the gateway sent a stream line that is not UTF-8") from None


def iter_sse_data(
    lines: Iterable[str | bytes], state: SSEState | None = None
) -> Iterator[dict[str, Any]]:
    """Yield each JSON event of a stream's lines; stop at ``[DONE]``.

    Raises the typed error of an ``{"error": ...}`` event (a GatewayAPIError without a
    status: the caller decides what it means at that point of the stream) and
    MalformedResponseError for an event that is not a JSON object.
    """
    st = SSEState() if state is None else state
    feed = st.feed
    for line in lines:
        chunk = feed(line)
        if chunk is not None:
            yield chunk
        elif st.done:
            return
    st.close()


async def aiter_sse_data(
    lines: AsyncIterable[str | bytes], state: SSEState | None = None
) -> AsyncIterator[dict[str, Any]]:
    """The async twin of :func:`iter_sse_data`."""
    st = SSEState() if state is None else state
    feed = st.feed
    async for line in lines:
        chunk = feed(line)
        if chunk is not None:
            yield chunk
        elif st.done:
            return
    st.close()

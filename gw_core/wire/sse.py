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
from json import loads as _loads
from typing import Any

from ..errors import MalformedResponseError, ResponseTooLargeError, error_from_body, excerpt
from .shapes import chunk_problem

__all__ = ["SSEState", "aiter_sse_data", "iter_sse_data"]

_SNIPPET = 80
# The first line of a stream must be one of the SSE fields (or a comment): anything else
# is an HTML page or a JSON body answering a streaming request.
_FIELDS = ("data:", ":", "event:", "id:", "retry:", "\ufeff")


def _malformed(text: str, why: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"the gateway sent a stream event that is {why}: {excerpt(text, _SNIPPET)!r}"
    )


def loads(text: str) -> Any:
    """``json.loads``, with nesting too deep for Python as invalid JSON (ValueError)."""
    try:
        return _loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _not_a_stream(line: str) -> BaseException:
    """The error for a 200 to a streaming request whose body is not SSE."""
    text = line.strip()
    if text[:1] == "{":
        try:
            obj = loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and obj.get("error"):
            return error_from_body(obj)
    kind = "an HTML page" if text[:1] == "<" else "a body that is not Server-Sent Events"
    return MalformedResponseError(
        f"the gateway answered a streaming request with {kind}: {excerpt(text, _SNIPPET)!r}"
    )


class SSEState:
    """Decoder state for one stream; ``done`` tells whether ``[DONE]`` arrived.

    The transport keeps a reference to tell a stream the server ended properly from one
    that was cut (which the openai client would end silently).
    """

    __slots__ = (
        "_event",
        "_max_event",
        "_pending",
        "_pending_size",
        "_started",
        "done",
        "events",
        "incomplete_event",
    )

    def __init__(self, max_event_bytes: int | None = None) -> None:
        #: True once ``data: [DONE]`` was seen; nothing after it is read.
        self.done = False
        #: How many JSON events were decoded so far.
        self.events = 0
        #: True when the input ended inside an event (discarded, as the spec says).
        self.incomplete_event = False
        self._pending: list[str] | None = None
        self._pending_size = 0
        #: The current event's ``event:`` field (None when it has none).
        self._event: str | None = None
        self._started = False
        self._max_event = max_event_bytes

    def feed(self, line: str | bytes) -> dict[str, Any] | None:
        """Decode one line; returns a chunk dict when this line completed an event."""
        if line.__class__ is not str:
            line = _decode(line)
        if line[-1:] in ("\n", "\r"):
            line = line.rstrip("\r\n")
        if not line:
            if self._pending is None and self._event is not None:
                return self._end_bare_event()
            return None if self._pending is None else self.flush()
        if line.startswith("data:"):
            self._started = True
            payload = line[6:] if line[5:6] == " " else line[5:]
            if self._pending is None and payload[:1] == "{" and self._event is None:
                # The fast path: one whole JSON object on one line.
                try:
                    obj = loads(payload)
                except ValueError:
                    return self._hold(payload)  # maybe the first line of a multi-line event
                if obj.__class__ is dict and not obj.get("error"):
                    problem = chunk_problem(obj)
                    if problem is not None:
                        raise _malformed(payload, problem)
                    self.events += 1
                    return obj
                return self._checked(obj, payload)
            return self._slow_data(payload)
        if line[0] == "\ufeff":  # a byte-order mark before the first field
            return self.feed(line[1:])
        if not self._started and not line.startswith(_FIELDS):
            raise _not_a_stream(line)
        self._started = True
        if line.startswith("event:"):
            self._event = line[6:].strip() or None
        # ":" comments and id:/retry: fields carry nothing we use.
        return None

    def _hold(self, payload: str) -> dict[str, Any] | None:
        """Keep a data line of an event that is not finished yet (within the event cap)."""
        if self._pending is None:
            self._pending, self._pending_size = [], 0
        self._pending.append(payload)
        self._pending_size += len(payload)
        if self._max_event is not None and self._pending_size > self._max_event:
            limit = self._max_event
            raise ResponseTooLargeError(
                f"one stream event is larger than max_event_bytes={limit} bytes; raise "
                "max_event_bytes= if this answer is legitimate (the rest was not downloaded)",
                limit="max_event_bytes",
                max_bytes=limit,
            )
        return None

    def _end_bare_event(self) -> dict[str, Any] | None:
        """A blank line after an ``event:`` field with no data."""
        event, self._event = self._event, None
        if event == "error":
            raise error_from_body({"error": {"message": "the gateway sent an empty error event"}})
        return None

    def _slow_data(self, payload: str) -> dict[str, Any] | None:
        if self._pending is not None or self._event == "error":
            return self._hold(payload)  # an error event's text is read whole, at its end
        return self._data(payload.strip(), payload)

    def _data(self, text: str, line: str | None) -> dict[str, Any] | None:
        """An event's data: nothing (empty, a ``: keepalive`` ping), ``[DONE]``, or a chunk.

        ``line`` is the data line ``text`` came from, kept when ``text`` is not JSON on
        its own (maybe the first line of a multi-line event); None at the end of an event,
        where text that is not JSON is malformed.
        """
        if not text or text[0] == ":":
            return None
        if text == "[DONE]":
            self.done = True
            return None
        try:
            obj = loads(text)
        except ValueError:
            if line is None:
                raise _malformed(text, "not valid JSON") from None
            return self._hold(line)
        return self._checked(obj, text)

    def flush(self) -> dict[str, Any] | None:
        """End the current event (blank line or end of input) and decode what it held."""
        pending = self._pending
        if pending is None:
            return None
        self._pending = None
        event, self._event = self._event, None
        text = "\n".join(pending).strip()
        if event == "error":
            return self._error_event(text)
        return self._data(text, None)

    def _error_event(self, text: str) -> dict[str, Any]:
        """An ``event: error`` frame: the gateway's error, whatever its data holds."""
        try:
            obj = loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            raise error_from_body(obj if obj.get("error") else {"error": obj})
        message = text or "the gateway sent an empty error event"
        raise error_from_body({"error": {"message": message}})

    def _checked(self, obj: Any, text: str) -> dict[str, Any]:
        if self._event == "error":
            self._event = None
            return self._error_event(text)
        if obj.__class__ is not dict:
            raise _malformed(text, "not a JSON object")
        if obj.get("error"):
            raise error_from_body(obj)
        problem = chunk_problem(obj)
        if problem is not None:
            raise _malformed(text, problem)
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

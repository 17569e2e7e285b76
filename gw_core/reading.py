"""Reading a response under limits: size caps, deadlines and the stall timer.

The SDK hands us the raw HTTP response; everything read from it goes through here, so a
broken or hostile gateway cannot make the client grow without bound or wait forever:

- a non-streaming body is read up to ``max_response_bytes`` and within ``timeout`` (the
  whole response, not each read);
- an error body is cut at ``max_error_body_bytes`` before the SDK reads it (only its
  head is needed for the message), by a response hook on the cached client;
- a stream's lines are split here, each at most ``max_event_bytes``, the stream at most
  ``max_stream_bytes``; the stall timer restarts only when an event carried something
  (comments and empty deltas do not count), and ``stream_timeout`` bounds the whole stream.

Overflows are :class:`~gw_core.errors.ResponseTooLargeError` (never retried: the same
answer would be downloaded again); each names the setting to raise.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from gw_core import errors
from gw_core.client import httpx_module
from gw_core.wire.sse import SSEState

__all__ = [
    "Clock",
    "Limits",
    "LineSplitter",
    "Stalled",
    "adrain",
    "aread_body",
    "asse_events",
    "cap_error_bodies",
    "drain_in_background",
    "read_body",
    "sse_events",
    "stalled",
]

MiB = 1024 * 1024
_ERROR_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """The caps and deadlines of one request (defaults fit the catalog's largest answer)."""

    max_response_bytes: int = 64 * MiB
    max_error_body_bytes: int = _ERROR_BODY
    max_event_bytes: int = 16 * MiB
    max_stream_bytes: int = 256 * MiB
    timeout: float = 600.0
    stall: float = 120.0
    stream_timeout: float | None = None

    @classmethod
    def of(cls, settings: Any) -> Limits:
        """The limits a :class:`~gw_core.settings.Settings` asks for (defaults otherwise)."""
        default = cls()
        values = {
            name: getattr(settings, name, getattr(default, name))
            for name in (
                "max_response_bytes",
                "max_error_body_bytes",
                "max_event_bytes",
                "max_stream_bytes",
                "timeout",
                "stream_timeout",
            )
        }
        values["stall"] = getattr(settings, "stream_chunk_timeout", default.stall)
        return cls(**values)


def _too_large(limit: str, max_bytes: int, what: str) -> errors.ResponseTooLargeError:
    return errors.ResponseTooLargeError(
        f"{what} is larger than {limit}={max_bytes} bytes; raise {limit}= if this answer "
        "is legitimate (the rest was not downloaded)",
        limit=limit,
        max_bytes=max_bytes,
    )


# -- non-streaming bodies -------------------------------------------------------------------


def _body_timeout(limits: Limits) -> errors.GatewayTimeoutError:
    return errors.GatewayTimeoutError(
        f"the gateway's response did not finish within timeout={limits.timeout:g}s; "
        "raise timeout= if the model needs longer"
    )


def read_body(response: Any, limits: Limits, deadline: float) -> bytes:
    """The whole body, or a typed error once it passes its size cap or the deadline."""
    parts: list[bytes] = []
    size = 0
    for data in response.iter_bytes():
        size += len(data)
        if size > limits.max_response_bytes:
            raise _too_large("max_response_bytes", limits.max_response_bytes, "the response")
        parts.append(data)
        if time.monotonic() > deadline:
            raise _body_timeout(limits)
    return b"".join(parts)


async def aread_body(response: Any, limits: Limits, deadline: float) -> bytes:
    """Async twin of :func:`read_body`."""
    parts: list[bytes] = []
    size = 0
    async for data in response.aiter_bytes():
        size += len(data)
        if size > limits.max_response_bytes:
            raise _too_large("max_response_bytes", limits.max_response_bytes, "the response")
        parts.append(data)
        if time.monotonic() > deadline:
            raise _body_timeout(limits)
    return b"".join(parts)


# -- error bodies ---------------------------------------------------------------------------

# The cap of the request in flight: the hook runs inside the SDK's ``post``, in the
# caller's thread (or task), so a context variable carries the request's own limit. Unset
# (None) outside our requests: a client the user shares with other code is hooked too, and
# their own requests' error bodies are theirs to read whole.
error_body_cap: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "gw_error_body_cap", default=None
)


@cache
def _capped_streams() -> tuple[type[Any], type[Any]]:
    httpx = httpx_module()

    class Capped(httpx.SyncByteStream):  # type: ignore[misc,name-defined]
        """The first ``cap`` bytes of a body; the rest is never read."""

        def __init__(self, inner: Any, cap: int) -> None:
            self._inner, self._cap = inner, cap

        def __iter__(self) -> Iterator[bytes]:
            left = self._cap
            for data in self._inner:
                yield data[:left]
                left -= len(data)
                if left <= 0:
                    return

        def close(self) -> None:
            self._inner.close()

    class ACapped(httpx.AsyncByteStream):  # type: ignore[misc,name-defined]
        """Async twin of ``Capped``."""

        def __init__(self, inner: Any, cap: int) -> None:
            self._inner, self._cap = inner, cap

        async def __aiter__(self) -> AsyncIterator[bytes]:
            left = self._cap
            async for data in self._inner:
                yield data[:left]
                left -= len(data)
                if left <= 0:
                    return

        async def aclose(self) -> None:
            await self._inner.aclose()

    return Capped, ACapped


def _cap_sync(response: Any) -> None:
    cap = error_body_cap.get()
    if cap is not None and response.status_code >= 400:
        response.stream = _capped_streams()[0](response.stream, cap)


async def _cap_async(response: Any) -> None:
    cap = error_body_cap.get()
    if cap is not None and response.status_code >= 400:
        response.stream = _capped_streams()[1](response.stream, cap)


_hooked: weakref.WeakSet[Any] = weakref.WeakSet()
_hook_lock = threading.Lock()


def cap_error_bodies(client: Any, *, is_async: bool) -> None:
    """Install (once per client) the response hook that cuts error bodies short.

    The SDK reads a whole error body before raising its status error; the hook makes
    that body the first ``max_error_body_bytes`` bytes, and closing it drops the rest.
    Only the requests this library sends are cut (``error_body_cap`` is set around them):
    a user's client is hooked as well, and the user's own requests on it are left alone.
    """
    if client in _hooked:
        return
    with _hook_lock:
        if client in _hooked:
            return
        http = client._client  # the SDK's httpx client (openai 2.x and 3.x alike)
        hooks = http.event_hooks
        hooks["response"] = [*hooks.get("response", []), _cap_async if is_async else _cap_sync]
        http.event_hooks = hooks
        _hooked.add(client)


# -- streams --------------------------------------------------------------------------------


class LineSplitter:
    """Bytes in, lines out (``\\n``, ``\\r\\n`` or ``\\r``), under the line and stream caps."""

    __slots__ = ("_limits", "_pending", "_pending_size", "total")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._pending: list[bytes] = []
        self._pending_size = 0
        #: Bytes of the stream read so far.
        self.total = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The lines ``data`` completed (without their terminators)."""
        self.total += len(data)
        if self.total > self._limits.max_stream_bytes:
            raise _too_large("max_stream_bytes", self._limits.max_stream_bytes, "the stream")
        if b"\n" not in data and b"\r" not in data:
            self._hold(data)
            return []
        if self._pending:
            data = b"".join(self._pending) + data
            self._pending.clear()
            self._pending_size = 0
        if b"\r" in data:
            # A "\r" at the very end may be the first half of a "\r\n" split across reads.
            split_pair = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if split_pair:
                data = data[:-1]
        lines = data.split(b"\n")
        tail = lines.pop()
        if tail:
            self._hold(tail)
        if len(data) > self._limits.max_event_bytes:
            self._check(max(map(len, lines), default=0))
        return lines

    def _hold(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        self._check(self._pending_size)

    def _check(self, size: int) -> None:
        if size > self._limits.max_event_bytes:
            raise _too_large("max_event_bytes", self._limits.max_event_bytes, "one stream event")

    def rest(self) -> bytes:
        """The last line, when the body ended without a terminator."""
        data = b"".join(self._pending)
        self._pending.clear()
        return data


class Stalled(Exception):
    """The stall timer or the stream deadline ran out (mapped by the transport)."""

    def __init__(self, deadline: bool) -> None:
        super().__init__("stream deadline" if deadline else "stream stalled")
        self.deadline = deadline


class Clock:
    """The stall timer (restarted only by events that carried something) and the deadline."""

    __slots__ = ("_deadline", "_last", "_stall")

    def __init__(self, limits: Limits) -> None:
        now = time.monotonic()
        self._stall = limits.stall
        self._last = now
        self._deadline = now + limits.stream_timeout if limits.stream_timeout else None

    def mark(self) -> None:
        """Data that carried something arrived (or the caller asked for the next one)."""
        self._last = time.monotonic()

    def check(self) -> None:
        """Raise :class:`Stalled` when the stream is past its stall timer or deadline."""
        now = time.monotonic()
        if self._deadline is not None and now > self._deadline:
            raise Stalled(deadline=True)
        if now - self._last > self._stall:
            raise Stalled(deadline=False)


# The two readers below share their decoders and their end of input; the loop between is
# written in each (``for`` / ``async for``), because sharing it would cost a call or an
# allocation on every chunk of every stream.


def _decoders(limits: Limits) -> tuple[LineSplitter, SSEState]:
    """The line splitter and the SSE decoder of one stream, under its caps."""
    return LineSplitter(limits), SSEState(max_event_bytes=limits.max_event_bytes)


def _end_of_input(lines: LineSplitter, state: SSEState) -> dict[str, Any] | None:
    """The input ended: its unterminated last line, if that completes an event."""
    chunk = state.feed(lines.rest())
    state.close()
    return chunk


def sse_events(chunks: Iterator[bytes], limits: Limits, clock: Clock) -> Iterator[dict[str, Any]]:
    """The stream's JSON events, read under the caps; the clock is checked on every read."""
    lines, state = _decoders(limits)
    for data in chunks:
        for line in lines.feed(data):
            chunk = state.feed(line)
            if chunk is not None:
                yield chunk
            elif state.done:
                return
        clock.check()
    chunk = _end_of_input(lines, state)
    if chunk is not None:
        yield chunk


async def asse_events(
    chunks: AsyncIterator[bytes], limits: Limits, clock: Clock
) -> AsyncIterator[dict[str, Any]]:
    """Async twin of :func:`sse_events`."""
    lines, state = _decoders(limits)
    async for data in chunks:
        for line in lines.feed(data):
            chunk = state.feed(line)
            if chunk is not None:
                yield chunk
            elif state.done:
                return
        clock.check()
    chunk = _end_of_input(lines, state)
    if chunk is not None:
        yield chunk


def stalled(deadline: bool, limits: Limits, model: str, partial: str | None) -> errors.GatewayError:
    """The stall or deadline error; ``partial`` is None before the first delta."""
    if deadline:
        return errors.StreamDeadlineError(
            f"the stream for {model} did not finish within stream_timeout="
            f"{limits.stream_timeout:g}s; raise stream_timeout= if the model needs longer",
            partial_text=partial or "",
            model=model,
        )
    message = (
        f"no data from the gateway for {model} within stream_chunk_timeout={limits.stall:g}s "
        "(keep-alives and empty chunks do not count); raise stream_chunk_timeout= if the "
        "model pauses longer"
    )
    if partial is None:
        return errors.GatewayTimeoutError(message)
    return errors.StreamStalledError(message, partial_text=partial, model=model)


# -- after [DONE] ---------------------------------------------------------------------------

# After ``[DONE]`` normally only the end of the chunked body is left. Reading it lets the
# connection go back to the pool (closing early drops it: one new TCP/TLS handshake per
# stream). A normal server sent it with ``[DONE]``, so reading it takes microseconds; a
# server that holds the body open gets ``_DRAIN_WAIT`` of the caller's time, no more: an
# async drain is then cancelled (the connection is closed), a sync one goes on for a
# bounded while on its daemon thread. ``_DRAIN_BYTES`` bounds a server that keeps talking.
_DRAIN_BYTES = 64 * 1024
_DRAIN_SECONDS = 5.0
_DRAIN_WAIT = 0.25


def _drain(chunks: Iterator[bytes], response: Any) -> None:
    try:
        size, end = 0, time.monotonic() + _DRAIN_SECONDS
        for data in chunks:
            size += len(data)
            if size > _DRAIN_BYTES or time.monotonic() > end:
                break
    except Exception:  # the answer is complete; a failure here only costs the connection
        pass
    finally:
        response.close()


def drain_in_background(chunks: Iterator[bytes], response: Any) -> None:
    """Read what is left of a finished stream on a daemon thread, then close it.

    Waits up to ``_DRAIN_WAIT`` for it, so that a stream started right after this one
    finds the connection back in the pool.
    """
    thread = threading.Thread(target=_drain, args=(chunks, response), daemon=True)
    thread.start()
    thread.join(_DRAIN_WAIT)


async def _aread_rest(chunks: AsyncIterator[bytes]) -> None:
    size = 0
    async for data in chunks:
        size += len(data)
        if size > _DRAIN_BYTES:
            return


async def adrain(chunks: AsyncIterator[bytes], response: Any) -> None:
    """Read what is left of a finished stream for at most ``_DRAIN_WAIT``, then close it."""
    try:
        await asyncio.wait_for(_aread_rest(chunks), _DRAIN_WAIT)
    except Exception:  # the answer is complete; a failure here only costs the connection
        pass
    finally:
        await response.aclose()

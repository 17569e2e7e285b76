"""One client connection: parse requests, write answers, play faults on the wire.

Written on :class:`asyncio.Protocol` rather than streams or a framework, so that a plain
answer costs one parse and one ``transport.write``: a response that needs no waiting
(no delay, stall or ``chunk_delay``) is written synchronously from ``data_received``.
Answers that wait run as a task; the connection handles its next request only after
the current answer is complete (HTTP/1.1 without pipelining in parallel).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from typing import Any

from gw_emulator.dialects import Chunk
from gw_emulator.faults import error_body
from gw_emulator.handler import Answer, decide
from gw_emulator.http11 import (
    LAST_CHUNK,
    HTTPParseError,
    Request,
    chunk_frame,
    expects_continue,
    parse_request,
    response_head,
)
from gw_emulator.state import EmulatorState, LogEntry

__all__ = ["Connection"]

logger = logging.getLogger("gw_emulator")

_DONE = b"data: [DONE]\n\n"
_KEEPALIVE = b": keep-alive\n\n"
#: Stream ends whose body completes but whose connection then closes (an error event,
#: Quirks.omit_done): the head says ``connection: close`` so no client pools it.
_CLOSES_AFTER_BODY = frozenset({"error", "close"})
_MALFORMED = b"data: {not json\n\n"
_STREAM_FAULTS = frozenset({"cut", "error_event", "malformed", "stall"})


def _event(chunk: Chunk) -> bytes:
    return (
        b"data: "
        + json.dumps(chunk.payload, ensure_ascii=False, separators=(",", ":")).encode()
        + b"\n\n"
    )


def _error_event(message: str, code: str | int | None) -> bytes:
    body = error_body(message, type_="upstream_error", code=code)
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


class Connection(asyncio.Protocol):
    """Serves the requests of one TCP connection, one after another."""

    def __init__(self, state: EmulatorState, registry: set[Connection]) -> None:
        self.state = state
        self.registry = registry
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.task: asyncio.Task[None] | None = None
        self.entry: LogEntry | None = None
        self.closed = False
        self.continue_sent = False
        self.eof = False
        self.writable: asyncio.Event | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.registry.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.task is None:
            self._serve_buffered()

    def eof_received(self) -> bool:
        # HTTP clients never half-close: an EOF while an answer is still in flight means
        # the client went away (a cancelled stream). Returning False closes the transport,
        # and connection_lost records the early disconnect and stops the answer at once,
        # instead of noticing only at the next write.
        self.eof = True
        if self.task is None:
            self._close()
            return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.registry.discard(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.entry is not None and not self.entry.finished:
            self.entry.disconnected_early = True
            self.state.finish(self.entry)
        if self.writable is not None:
            self.writable.set()

    def pause_writing(self) -> None:
        self.writable = asyncio.Event()

    def resume_writing(self) -> None:
        if self.writable is not None:
            self.writable.set()
            self.writable = None

    # -- request loop ----------------------------------------------------------------------

    def _serve_buffered(self) -> None:
        while not self.closed and self.task is None and self.buffer:
            try:
                parsed = parse_request(self.buffer)
            except HTTPParseError as exc:
                self._refuse(exc)
                return
            if parsed is None:
                if not self.continue_sent and expects_continue(self.buffer):
                    self.continue_sent = True
                    self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            request, used = parsed
            del self.buffer[:used]
            self.continue_sent = False
            self._serve(request)

    def _serve(self, request: Request) -> None:
        entry, answer = decide(self.state, request)
        self.entry = entry
        logger.info(
            "%s %s -> %s%s",
            request.method,
            request.path,
            answer.status,
            f" [{entry.fault}]" if entry.fault else "",
        )
        if answer.status is None:
            self._reset()
            return
        keep_alive = request.keep_alive
        if self._needs_time(answer):
            self.task = asyncio.get_running_loop().create_task(self._send_later(answer, keep_alive))
            self.task.add_done_callback(self._task_done)
            return
        if answer.chunks is None:
            self._send_plain_now(answer, keep_alive)
        else:
            self._send_stream_now(answer, keep_alive)

    def _needs_time(self, answer: Answer) -> bool:
        fault = answer.fault
        if fault is not None and fault.kind in ("delay", "stall"):
            return True
        return answer.chunks is not None and self.state.chunk_delay > 0

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.task = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("emulator answer failed", exc_info=task.exception())
            self._close()
            return
        if not self.closed:
            self._serve_buffered()

    # -- writing -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def _head(self, answer: Answer, keep_alive: bool, length: int | None) -> bytes:
        assert answer.status is not None
        if self.entry is not None:
            self.entry.status = answer.status
        headers = list(answer.headers)
        if length is None:
            headers.append(("transfer-encoding", "chunked"))
        else:
            headers.append(("content-length", str(length)))
        if not keep_alive:
            headers.append(("connection", "close"))
        return response_head(answer.status, headers)

    def _complete(self, keep_alive: bool) -> None:
        if self.entry is not None:
            self.state.finish(self.entry)
        if not keep_alive or self.eof:
            self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def _reset(self) -> None:
        """Drop the connection with a TCP RST: SO_LINGER 0, then abort."""
        if self.transport is not None and not self.closed:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
        if self.entry is not None:
            self.state.finish(self.entry)

    def _refuse(self, exc: HTTPParseError) -> None:
        body = json.dumps(
            error_body(exc.message, type_="invalid_request_error", code=None)
        ).encode()
        head = response_head(
            exc.status,
            [
                ("content-type", "application/json"),
                ("content-length", str(len(body))),
                ("connection", "close"),
            ],
        )
        self._write(head + body)
        self._close()

    def _plain_body(self, answer: Answer) -> bytes:
        fault = answer.fault
        if fault is not None and fault.kind == "error_event":
            answer.status = 200
            answer.headers = [("content-type", "application/json")]
            return json.dumps(
                error_body(fault.message, type_="upstream_error", code=fault.code)
            ).encode()
        if fault is not None and fault.kind == "malformed":
            return b"{not json"
        return answer.body

    def _send_plain_now(self, answer: Answer, keep_alive: bool) -> None:
        body = self._plain_body(answer)
        fault = answer.fault
        if fault is not None and fault.kind == "cut":
            self._write(self._head(answer, keep_alive, len(body)) + body[: len(body) // 2])
            self._complete(keep_alive=False)
            return
        self._write(self._head(answer, keep_alive, len(body)) + body)
        self._complete(keep_alive)

    def _stream_plan(self, answer: Answer) -> list[tuple[str, Any]]:
        """The stream as steps: ``("send", bytes)``, ``("sleep", s)``, ``("end", how)``."""
        assert answer.chunks is not None
        fault = answer.fault if answer.fault and answer.fault.kind in _STREAM_FAULTS else None
        steps: list[tuple[str, Any]] = []
        sent_content = 0
        pending = fault
        for position, chunk in enumerate(answer.chunks):
            due = pending is not None and (
                chunk.finish
                or (
                    sent_content >= pending.after_chunks
                    and (pending.after_chunks == 0 or chunk.content)
                )
            )
            if due and pending is not None:
                if pending.kind == "cut":
                    steps.append(("end", "done" if pending.done else "cut"))
                    return steps
                if pending.kind == "error_event":
                    steps.append(("send", _error_event(pending.message, pending.code)))
                    steps.append(("end", "error"))
                    return steps
                if pending.kind == "malformed":
                    steps.append(("send", _MALFORMED))
                else:
                    steps.append(("sleep", pending.seconds))
                pending = None
            if position and answer.keepalive_comments:
                steps.append(("send", _KEEPALIVE))
            steps.append(("send", _event(chunk)))
            sent_content += chunk.content
        # "close": end the body cleanly but without [DONE] (Quirks.omit_done).
        steps.append(("end", "close" if self.state.quirks.omit_done else "done"))
        return steps

    def _send_stream_now(self, answer: Answer, keep_alive: bool) -> None:
        steps = self._stream_plan(answer)
        data = b"".join(payload for kind, payload in steps if kind == "send")
        how = steps[-1][1]
        # A body that ends cleanly but closes the connection says so in its head, so a
        # client never pools a connection that is about to close (a stale-socket race).
        out = self._head(answer, keep_alive and how not in _CLOSES_AFTER_BODY, None)
        if how == "done":
            data += _DONE
        if data:
            out += chunk_frame(data)
        if how == "cut":
            self._write(out)
            self._complete(keep_alive=False)
            return
        self._write(out + LAST_CHUNK)
        self._complete(keep_alive and how == "done")

    async def _send_later(self, answer: Answer, keep_alive: bool) -> None:
        fault = answer.fault
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        if answer.chunks is None:
            if fault is not None and fault.kind == "stall":
                body = self._plain_body(answer)
                self._write(self._head(answer, keep_alive, len(body)))
                await asyncio.sleep(fault.seconds)
                self._write(body)
                self._complete(keep_alive)
            else:
                self._send_plain_now(answer, keep_alive)
            return
        plan = self._stream_plan(answer)
        keep_alive = keep_alive and plan[-1][1] not in _CLOSES_AFTER_BODY  # announced
        self._write(self._head(answer, keep_alive, None))
        delay = self.state.chunk_delay
        first = True
        for kind, payload in plan:
            if kind == "sleep":
                await asyncio.sleep(payload)
            elif kind == "send":
                if delay > 0 and not first and payload is not _KEEPALIVE:
                    await asyncio.sleep(delay)
                first = False
                self._write(chunk_frame(payload))
                if self.writable is not None:
                    await self.writable.wait()
            elif payload == "cut":
                self._complete(keep_alive=False)
                return
            else:
                self._write((chunk_frame(_DONE) if payload == "done" else b"") + LAST_CHUNK)
                self._complete(keep_alive and payload == "done")
            if self.closed:
                return

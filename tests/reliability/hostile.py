"""A scriptable hostile gateway on loopback: raw bytes, on purpose, where the emulator is polite.

The emulator speaks the protocol; this server speaks whatever a test scripts: a body
dripped a byte at a time, an endless body, a 100 MB line, a stream held open after
``[DONE]``, an HTML page where a stream was expected. It reads each HTTP/1.1 request
(headers and ``Content-Length`` body) and runs the current script on the connection.

Every script is bounded: endless bodies end when the client goes away or the server
stops, holds end when the server stops, and :meth:`HostileServer.stop` cancels every
connection. The server counts requests and the bytes it managed to send per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Conn", "HostileServer", "Script", "chunk_event", "hostile_server"]

Script = Callable[["Conn"], Awaitable[None]]


def chunk_event(delta: dict[str, Any] | Any, *, finish: str | None = None, **extra: Any) -> bytes:
    """One ``data:`` line of a ``chat.completion.chunk`` (``delta`` as given, any type)."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}
    body.update(extra)
    return b"data: " + json.dumps(body).encode() + b"\n\n"


@dataclass
class Conn:
    """One request on one connection, and the verbs a script writes with."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    request: dict[str, Any]
    stopping: asyncio.Event
    sent: int = 0
    #: True once the client closed or reset the connection.
    client_left: bool = False

    async def raw(self, data: bytes) -> None:
        """Write bytes and wait until the socket took them (False once the client left)."""
        try:
            self.writer.write(data)
            await self.writer.drain()
            self.sent += len(data)
        except (ConnectionError, RuntimeError):
            self.client_left = True
            raise _ClientLeft from None

    async def head(
        self,
        status: int = 200,
        content_type: str = "text/event-stream",
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        """Status line and headers: chunked unless ``length`` is given."""
        lines = [f"HTTP/1.1 {status} X", f"content-type: {content_type}"]
        if length is None:
            lines.append("transfer-encoding: chunked")
        else:
            lines.append(f"content-length: {length}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        await self.raw(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def chunk(self, data: bytes) -> None:
        """One chunk of a chunked body."""
        if data:
            await self.raw(b"%x\r\n%s\r\n" % (len(data), data))

    async def end(self) -> None:
        """The chunked body's terminator: the connection can be reused."""
        await self.raw(b"0\r\n\r\n")

    async def drip(self, data: bytes, interval: float, *, chunked: bool = True) -> None:
        """``data`` a byte at a time, ``interval`` seconds apart."""
        for byte in data:
            piece = bytes([byte])
            await (self.chunk(piece) if chunked else self.raw(piece))
            await self.pause(interval)

    async def endless(self, piece: bytes, *, interval: float = 0.0, chunked: bool = True) -> None:
        """``piece`` again and again until the client leaves or the server stops."""
        while not self.stopping.is_set():
            await (self.chunk(piece) if chunked else self.raw(piece))
            if interval:
                await self.pause(interval)

    async def pause(self, seconds: float) -> None:
        """Sleep, but end at once when the server stops."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        if self.stopping.is_set():
            raise _ClientLeft

    async def hold(self) -> None:
        """Keep the connection open, silent, until the client leaves or the server stops."""
        reading = asyncio.ensure_future(self.reader.read(1))
        stopping = asyncio.ensure_future(self.stopping.wait())
        done, pending = await asyncio.wait({reading, stopping}, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
        if reading in done:
            self.client_left = True
        raise _ClientLeft


class _ClientLeft(Exception):
    """The script cannot go on: the client left or the server is stopping."""


@dataclass
class _Record:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    conn: Conn | None = None


@dataclass
class HostileServer:
    """The server; ``serve(script)`` sets what every following request gets."""

    api_key: str = "sk-hostile-0123456789abcdef"
    requests: list[_Record] = field(default_factory=list)
    _script: Script | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.AbstractServer | None = None
    _thread: threading.Thread | None = None
    _stopping: asyncio.Event | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, script: Script) -> None:
        self._script = script

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> HostileServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()

        async def boot() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

        loop.run_until_complete(boot())
        ready.set()
        loop.run_forever()
        loop.close()

    def stop(self) -> None:
        """Stop serving; every open connection ends (holds and endless bodies too)."""
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            assert self._stopping is not None and self._server is not None
            self._stopping.set()
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=30)
        self._loop = None

    # -- serving ----------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None and self._stopping is not None
        self._tasks.add(task)
        try:
            while not self._stopping.is_set():
                record = await self._read_request(reader)
                if record is None:
                    return
                conn = Conn(reader, writer, {"path": record.path}, self._stopping)
                record.conn = conn
                self.requests.append(record)
                assert self._script is not None, "serve(script) first"
                try:
                    await self._script(conn)
                except _ClientLeft:
                    return
                if conn.client_left:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> _Record | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        size = int(headers.get("content-length", "0"))
        raw = await reader.readexactly(size) if size else b""
        body = json.loads(raw) if raw else {}
        return _Record(path, body, headers)


@contextlib.contextmanager
def hostile_server(**options: Any) -> Iterator[HostileServer]:
    """A started server, stopped (every connection ended) when the block exits."""
    server = HostileServer(**options).start()
    try:
        yield server
    finally:
        server.stop()

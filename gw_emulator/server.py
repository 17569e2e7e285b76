"""``GatewayEmulator``: the gateway on loopback, on its own thread and event loop.

A real HTTP server, so tests exercise the same client path as production: sockets,
keep-alive, SSE parsing, connection errors. Start it with ``with GatewayEmulator() as
emu:``, ``start()``/``stop()``, the ``gateway_emulator`` pytest fixture, or
``gw emulator``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from types import TracebackType

from gw_emulator.dialects import Quirks
from gw_emulator.faults import Fault
from gw_emulator.protocol import Connection
from gw_emulator.replies import ScriptedReply
from gw_emulator.state import EmulatorState, RecordedRequest

__all__ = ["GatewayEmulator"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


def _check_base_path(base_path: str) -> str:
    """``base_path`` as served: ``""`` or ``/segment[/segment...]``, no trailing ``/``."""
    if not isinstance(base_path, str):
        raise ValueError(f"base_path must be a string such as '/gw_llm_power', not {base_path!r}")
    path = base_path.rstrip("/")
    if path and (not path.startswith("/") or any(c in path for c in "?# ")):
        raise ValueError(
            f"base_path must start with '/' and hold no query, fragment or space, such as "
            f"'/gw_llm_power'; got {base_path!r}"
        )
    if path.endswith("/v1"):
        raise ValueError(
            f"base_path is the part before /v1 (clients append /v1 themselves); got {base_path!r}"
        )
    return path


class GatewayEmulator:
    """A loopback server that speaks the gateway contract, with dialects and faults.

    ``api_key``: the key clients must send (a random ``gw-emu-...`` key when ``None``).
    ``port``: 0 picks a free port. ``chunk_delay``: seconds between stream chunks (0
    writes a stream at once; a delay lets a test cancel mid-stream). ``keepalive_comments``:
    ``: keep-alive`` lines between Gemini chunks. ``log_limit``: how many requests the log
    keeps (the oldest go first), so a long-running ``gw emulator`` does not grow.
    ``base_path``: the path the gateway lives under, as in the real
    ``http://apillm.globalaiopc.com/gw_llm_power`` (default: none). Only
    ``{base_path}/v1/...`` is served; any other path answers 404, as the gateway does, so
    a wrong ``GW_BASE_URL`` fails in tests too. :attr:`base_url` includes it.
    """

    def __init__(
        self,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        chunk_delay: float = 0.0,
        keepalive_comments: bool = True,
        log_limit: int = 10_000,
        base_path: str = "",
    ) -> None:
        if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
            raise ValueError("api_key must be a non-empty string, or None for a generated key")
        if log_limit < 1:
            raise ValueError(f"log_limit must be >= 1, not {log_limit!r}")
        if chunk_delay < 0:
            raise ValueError(f"chunk_delay must be >= 0 seconds, not {chunk_delay!r}")
        self._state = EmulatorState(
            api_key=api_key or "gw-emu-" + secrets.token_hex(12),
            base_path=_check_base_path(base_path),
            chunk_delay=chunk_delay,
            keepalive_comments=keepalive_comments,
            log_limit=log_limit,
        )
        self._defaults = (chunk_delay, keepalive_comments)
        self._host = host
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._lifecycle = threading.Lock()

    # -- identity --------------------------------------------------------------------------

    def __repr__(self) -> str:  # never the key
        state = "running" if self.running else "stopped"
        return f"GatewayEmulator(host={self._host!r}, port={self._port}, {state})"

    @property
    def api_key(self) -> str:
        """The key clients must send as ``Authorization: Bearer <key>``."""
        return self._state.api_key

    @property
    def port(self) -> int:
        """The bound port (known after :meth:`start` when 0 was asked)."""
        return self._port

    @property
    def base_path(self) -> str:
        """The path the gateway is served under (``""`` for the root)."""
        return self._state.base_path

    @property
    def base_url(self) -> str:
        """``http://host:port`` plus :attr:`base_path`: the gateway base, without ``/v1``
        (clients append it). Use it as ``GW_BASE_URL``."""
        if self._port == 0:
            raise RuntimeError(
                "the emulator has no port yet: call start() or use it as a context manager"
            )
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}{self._state.base_path}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- behaviour knobs -----------------------------------------------------------------

    @property
    def chunk_delay(self) -> float:
        """Seconds between stream chunks; settable, restored by :meth:`reset`."""
        return self._state.chunk_delay

    @chunk_delay.setter
    def chunk_delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"chunk_delay must be >= 0 seconds, not {seconds!r}")
        self._state.chunk_delay = float(seconds)

    @property
    def keepalive_comments(self) -> bool:
        """Whether Gemini streams carry ``: keep-alive`` comments; settable."""
        return self._state.keepalive_comments

    @keepalive_comments.setter
    def keepalive_comments(self, value: bool) -> None:
        self._state.keepalive_comments = bool(value)

    @property
    def quirks(self) -> Quirks:
        """Deliberate departures from the contract (:class:`Quirks`); settable, restored
        by :meth:`reset`."""
        return self._state.quirks

    @quirks.setter
    def quirks(self, value: Quirks) -> None:
        if not isinstance(value, Quirks):
            raise TypeError(f"quirks must be a Quirks value, not {value!r}")
        self._state.quirks = value

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> GatewayEmulator:
        """Bind and serve on a background thread; returns once the port accepts."""
        with self._lifecycle:
            if self.running:
                return self
            self._ready.clear()
            self._error = None
            self._thread = threading.Thread(target=self._run, name="gw-emulator", daemon=True)
            self._thread.start()
            if not self._ready.wait(_START_TIMEOUT):
                raise RuntimeError("the gateway emulator did not start within 10 s")
            if self._error is not None:
                self._thread.join()
                self._thread = None
                raise RuntimeError(
                    f"the gateway emulator could not start: {self._error}"
                ) from self._error
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop and join the thread. Safe to call twice."""
        with self._lifecycle:
            thread, loop = self._thread, self._loop
            if thread is None or loop is None:
                return
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(self._shutdown)
            thread.join(_STOP_TIMEOUT)
            self._thread = None

    def __enter__(self) -> GatewayEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            server = loop.run_until_complete(
                loop.create_server(
                    lambda: Connection(self._state, self._connections),
                    self._host,
                    self._port,
                    backlog=2048,
                    reuse_address=True,
                )
            )
        except BaseException as exc:  # report bind errors to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._server = server
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._server = None

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.abort()
        assert self._loop is not None
        # Let the aborts' connection_lost callbacks run before the loop stops.
        self._loop.call_soon(self._loop.stop)

    # -- test API ----------------------------------------------------------------------------

    def inject(self, fault: Fault, *, times: int = 1, model: str | None = None) -> None:
        """Queue ``fault`` for the next ``times`` chat requests (only those for ``model``
        when given). Queued faults are used first-in, first-out."""
        if not isinstance(fault, Fault):
            raise TypeError(f"inject() takes a Fault (e.g. Fault.status(429)), not {fault!r}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be an int >= 1, not {times!r}")
        self._state.queue_fault(fault, times, model)

    def script(self, reply: ScriptedReply, *, model: str | None = None) -> None:
        """Queue a reply to send instead of the engine's for the next valid chat request
        (only one for ``model`` when given); first-in, first-out."""
        if not isinstance(reply, ScriptedReply):
            raise TypeError(f"script() takes a ScriptedReply, not {reply!r}")
        self._state.queue_script(reply, model)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received since the last clear, oldest first."""
        return self._state.snapshot()

    @property
    def request_count(self) -> int:
        with self._state.lock:
            return len(self._state.log)

    def clear_log(self) -> None:
        """Forget the requests received so far."""
        self._state.clear(log=True, queues=False)

    def reset(self) -> None:
        """Clear the log, queued faults and scripted replies; restore the knobs."""
        self._state.clear(log=True, queues=True)
        self._state.chunk_delay, self._state.keepalive_comments = self._defaults
        self._state.quirks = Quirks()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no answer is in flight (e.g. after a client cancelled a stream);
        ``False`` on timeout."""
        return self._state.wait_idle(timeout)

"""What the emulator remembers between requests: the request log, queued faults and
scripted replies. Shared by the server thread and the test thread, so every access
takes one lock."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gw_emulator.dialects import Quirks
from gw_emulator.faults import Fault
from gw_emulator.replies import ScriptedReply

__all__ = ["EmulatorState", "LogEntry", "RecordedRequest"]

_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it, with credentials redacted.

    ``headers`` has lower-case names; ``authorization`` reads ``"Bearer ***"``. ``body``
    is the parsed JSON (``None`` if it was not JSON); ``model`` its ``model`` field.

    ``status`` is what was answered (``None`` if the connection was reset or the answer
    had not started yet); ``fault`` is the injected fault's name; ``disconnected_early``
    is true when the client closed the connection before the response was complete.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    model: str | None
    status: int | None
    fault: str | None
    disconnected_early: bool
    #: ``time.time()`` when the request line arrived (rate-limit tests count windows).
    received_at: float = 0.0


@dataclass
class LogEntry:
    """The mutable record the server fills in while it answers."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    model: str | None = None
    status: int | None = None
    fault: str | None = None
    disconnected_early: bool = False
    finished: bool = False
    received_at: float = field(default_factory=time.time)

    def frozen(self) -> RecordedRequest:
        return RecordedRequest(
            method=self.method,
            path=self.path,
            headers=dict(self.headers),
            body=self.body,
            model=self.model,
            status=self.status,
            fault=self.fault,
            disconnected_early=self.disconnected_early,
            received_at=self.received_at,
        )


@dataclass
class _Queued:
    fault: Fault
    remaining: int
    model: str | None


def redact(headers: dict[str, str]) -> dict[str, str]:
    """Headers with every credential replaced, so a log can be printed safely."""
    clean = {}
    for name, value in headers.items():
        if name in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} ***" if scheme.lower() == "bearer" else "***"
        clean[name] = value
    return clean


@dataclass
class EmulatorState:
    """Configuration and mutable state of one emulator."""

    api_key: str
    #: The path the gateway is served under ("" or "/gw_llm_power"); others answer 404.
    base_path: str = ""
    chunk_delay: float = 0.0
    keepalive_comments: bool = True
    quirks: Quirks = field(default_factory=Quirks)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: The oldest entries are dropped past this many, so a long-running server stays small.
    log_limit: int = 10_000
    log: deque[LogEntry] = field(init=False)
    faults: deque[_Queued] = field(default_factory=deque)
    scripts: deque[tuple[ScriptedReply, str | None]] = field(default_factory=deque)
    instance: str = field(default_factory=lambda: secrets.token_hex(4))
    served: int = 0
    idle: threading.Condition = field(init=False)
    in_flight: int = 0

    def __post_init__(self) -> None:
        self.idle = threading.Condition(self.lock)
        self.log = deque(maxlen=self.log_limit)

    # -- log -----------------------------------------------------------------------------

    def record(self, method: str, path: str, headers: dict[str, str]) -> LogEntry:
        entry = LogEntry(method=method, path=path, headers=redact(headers))
        with self.lock:
            self.log.append(entry)
            self.served += 1
            self.in_flight += 1
        return entry

    def finish(self, entry: LogEntry) -> None:
        with self.lock:
            if not entry.finished:
                entry.finished = True
                self.in_flight -= 1
                self.idle.notify_all()

    def snapshot(self) -> list[RecordedRequest]:
        with self.lock:
            return [entry.frozen() for entry in self.log]

    def wait_idle(self, timeout: float) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.in_flight == 0, timeout=timeout)

    def next_response_id(self) -> str:
        with self.lock:
            return f"chatcmpl-emu{self.instance}{self.served:06d}"

    # -- faults and scripts ---------------------------------------------------------------

    def queue_fault(self, fault: Fault, times: int, model: str | None) -> None:
        with self.lock:
            self.faults.append(_Queued(fault, times, model))

    def take_fault(self, model: str | None) -> Fault | None:
        with self.lock:
            for queued in self.faults:
                if queued.model is None or queued.model == model:
                    queued.remaining -= 1
                    if queued.remaining <= 0:
                        self.faults.remove(queued)
                    return queued.fault
        return None

    def queue_script(self, reply: ScriptedReply, model: str | None) -> None:
        with self.lock:
            self.scripts.append((reply, model))

    def take_script(self, model: str | None) -> ScriptedReply | None:
        with self.lock:
            for item in self.scripts:
                if item[1] is None or item[1] == model:
                    self.scripts.remove(item)
                    return item[0]
        return None

    def clear(self, *, log: bool = True, queues: bool = True) -> None:
        with self.lock:
            if log:
                # In-flight entries stay referenced by their connection; dropping them here
                # only hides them from later snapshots.
                self.log = deque(maxlen=self.log_limit)
            if queues:
                self.faults.clear()
                self.scripts.clear()

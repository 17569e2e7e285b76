"""Sends the doctor's requests and keeps everything about each answer the checks look at.

Requests go through the library's own client (:func:`gw_core.client.sync_client`: the
openai SDK with its retries off), but raw: the doctor must see status codes, headers,
``[DONE]`` and every stream chunk exactly as the gateway sent them, which the library's
transport deliberately smooths over. Nothing is retried, so every request counted
in the plan is sent at most once, and a :class:`Budget` refuses any past the cap.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gw_core.client import httpx_module, sync_client
from gw_core.errors import GatewayError
from gw_core.settings import Settings
from gw_core.wire.sse import SSEState

__all__ = ["RATE_LIMIT_HEADERS", "Budget", "Exchange", "Probe"]

#: Header names (or prefixes) that say something about rate limits.
RATE_LIMIT_HEADERS = ("retry-after", "retry-after-ms", "x-ratelimit-", "ratelimit-", "x-should-")
_KEPT_HEADERS = ("content-type", "x-request-id", "x-oneapi-request-id", "server")
_BODY_CHARS = 4000


class BudgetExhausted(Exception):
    """The run reached ``--max-requests``."""


@dataclass
class Budget:
    """At most ``limit`` requests (None: no cap); a check reserves what it needs first."""

    limit: int | None = None
    used: int = 0

    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def allows(self, requests: int) -> bool:
        left = self.remaining()
        return left is None or left >= requests

    def spend(self) -> None:
        if not self.allows(1):
            raise BudgetExhausted(f"--max-requests {self.limit} reached")
        self.used += 1


@dataclass
class Exchange:
    """One request and what came back. ``status`` None: no HTTP answer (``error`` says why).

    For streams, ``chunks`` holds every decoded event, ``done`` whether ``[DONE]`` came,
    ``stream_error`` an error event or a broken connection after the headers.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    text: str = ""
    chunks: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    stream_error: str | None = None
    error: str | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def error_object(self) -> dict[str, Any] | None:
        """The ``error`` object of an error body, if the body is OpenAI-style JSON."""
        err = self.body.get("error") if isinstance(self.body, dict) else None
        return err if isinstance(err, dict) else None

    def evidence(self) -> dict[str, Any]:
        """Status, the headers worth keeping and the relevant part of the body."""
        out: dict[str, Any] = {"status": self.status}
        if self.error:
            out["error"] = self.error
        kept = {k: v for k, v in self.headers.items() if k in _KEPT_HEADERS or _rate(k)}
        if kept:
            out["headers"] = kept
        err = self.error_object()
        if err is not None:
            out["body"] = {"error": err}
        elif not self.ok and self.text:
            out["body_excerpt"] = self.text
        if self.stream_error:
            out["stream_error"] = self.stream_error
        return out


def _rate(name: str) -> bool:
    return name.startswith(RATE_LIMIT_HEADERS)


def _has_content(chunk: dict[str, Any]) -> bool:
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and any(
            delta.get(k) for k in ("content", "reasoning_content", "reasoning", "tool_calls")
        ):
            return True
    return False


class Probe:
    """Sends requests for one run; remembers rate-limit headers seen on any answer."""

    def __init__(self, settings: Settings, budget: Budget) -> None:
        self.settings = settings
        self.budget = budget
        #: Rate-limit headers seen so far: name -> (value, model).
        self.rate_headers: dict[str, tuple[str, str | None]] = {}
        self.responses = 0

    def chat(
        self, body: dict[str, Any], *, settings: Settings | None = None, stream: bool = False
    ) -> Exchange:
        """POST one chat completion (raw body, no local checks) and record the answer."""
        self.budget.spend()
        client: Any = sync_client(settings or self.settings)
        options: dict[str, Any] = {}
        if stream:
            options["timeout"] = self.settings.stream_chunk_timeout
        started = time.perf_counter()
        exchange = Exchange()
        try:
            response = client.post(
                "/chat/completions",
                cast_to=httpx_module().Response,
                body=body,
                options=options,
                stream=stream,
            )
        except Exception as exc:
            self._failed(exc, exchange)
        else:
            self._read(response, exchange, started, stream)
        exchange.latency_ms = (time.perf_counter() - started) * 1000
        self._note_headers(exchange, body.get("model"))
        return exchange

    def models(self) -> Exchange:
        """GET ``/v1/models``."""
        self.budget.spend()
        client: Any = sync_client(self.settings)
        started = time.perf_counter()
        exchange = Exchange()
        try:
            response = client.get("/models", cast_to=httpx_module().Response)
        except Exception as exc:
            self._failed(exc, exchange)
        else:
            self._read(response, exchange, started, stream=False)
        exchange.latency_ms = (time.perf_counter() - started) * 1000
        self._note_headers(exchange, None)
        return exchange

    def _failed(self, exc: Exception, exchange: Exchange) -> None:
        response = getattr(exc, "response", None)
        if response is None:
            exchange.error = f"no answer: {type(exc).__name__}"
            return
        exchange.status = response.status_code
        exchange.headers = {k.lower(): v for k, v in response.headers.items()}
        try:
            raw = response.read()
        except Exception:  # a body that could not be read: the status still tells
            raw = b""
        self._set_body(exchange, raw)

    def _read(self, response: Any, exchange: Exchange, started: float, stream: bool) -> None:
        exchange.status = response.status_code
        exchange.headers = {k.lower(): v for k, v in response.headers.items()}
        if not stream:
            self._set_body(exchange, response.content)
            return
        try:
            for chunk in self._events(response, exchange):
                if exchange.ttft_ms is None and _has_content(chunk):
                    exchange.ttft_ms = (time.perf_counter() - started) * 1000
                exchange.chunks.append(chunk)
        except GatewayError as exc:
            exchange.stream_error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # the connection broke mid-stream
            exchange.stream_error = f"the stream broke: {type(exc).__name__}"
        finally:
            response.close()

    @staticmethod
    def _events(response: Any, exchange: Exchange) -> Iterator[dict[str, Any]]:
        state = SSEState()
        for line in response.iter_lines():
            chunk = state.feed(line)
            if chunk is not None:
                yield chunk
            elif state.done:
                exchange.done = True
                return
        tail = state.flush()
        if tail is not None:
            yield tail

    @staticmethod
    def _set_body(exchange: Exchange, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace")
        exchange.text = text[:_BODY_CHARS]
        try:
            exchange.body = json.loads(text) if text.strip() else None
        except ValueError:
            exchange.body = None

    def _note_headers(self, exchange: Exchange, model: Any) -> None:
        if exchange.status is not None:
            self.responses += 1
        for name, value in exchange.headers.items():
            if _rate(name) and name not in self.rate_headers:
                self.rate_headers[name] = (value, model if isinstance(model, str) else None)

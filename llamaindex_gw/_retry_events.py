"""Retries as LlamaIndex instrumentation events: one :class:`GatewayRetryEvent` per retry.

LlamaIndex has no retry callback; its instrumentation dispatcher is where observability
tools (Arize Phoenix, Langfuse, custom ``BaseEventHandler``s) listen. Each retry of a
``GatewayLLM`` call is dispatched as an event inside that call's span, carrying metadata
only: attempt, wait, model and the reason (error type, status, code), never a body or key.
The ``gw_core.retry`` logger also writes one WARNING line per retry.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TypeVar

import llama_index.core.instrumentation as instrument
from llama_index.core.instrumentation.events import BaseEvent

from gw_core.retry import RetryEvent, aobserved, observed, observing_retries

__all__ = ["GatewayRetryEvent", "areport_retries", "report_retries", "reporting_retries"]

T = TypeVar("T")

# The documented entry point; llama_index.core re-exports it without __all__.
dispatcher = instrument.get_dispatcher(__name__)  # type: ignore[attr-defined]


class GatewayRetryEvent(BaseEvent):
    """A ``GatewayLLM`` call failed and is about to be retried after ``wait`` seconds."""

    model: str | None = None
    attempt: int
    max_attempts: int
    wait: float
    reason: str
    error_type: str
    status_code: int | None = None
    code: str | None = None
    request_id: str | None = None

    @classmethod
    def class_name(cls) -> str:
        return "GatewayRetryEvent"


def dispatch_retry(event: RetryEvent) -> None:
    """Send one retry to LlamaIndex's instrumentation handlers."""
    error = event.error
    dispatcher.event(
        GatewayRetryEvent(
            model=event.model,
            attempt=event.attempt,
            max_attempts=event.max_attempts,
            wait=event.wait,
            reason=event.reason,
            error_type=type(error).__name__,
            status_code=getattr(error, "status_code", None),
            code=getattr(error, "code", None),
            request_id=getattr(error, "request_id", None),
        )
    )


def reporting_retries() -> contextlib.AbstractContextManager[None]:
    """A block whose retries are dispatched as :class:`GatewayRetryEvent`."""
    return observing_retries(dispatch_retry)


def report_retries(items: Iterable[T]) -> Iterator[T]:
    """A stream's deltas, with retries before the first one dispatched as events."""
    return observed(items, dispatch_retry)


def areport_retries(items: AsyncIterable[T]) -> AsyncIterator[T]:
    """Async twin of :func:`report_retries`."""
    return aobserved(items, dispatch_retry)

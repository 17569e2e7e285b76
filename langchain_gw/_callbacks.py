"""Retries as LangChain callbacks: every retry of a call reaches ``run_manager.on_retry``.

The retry loop lives in :mod:`gw_core.retry`; it tells observers registered for the
current call (a context variable). Here we register one that forwards each retry's
tenacity state to the run manager, where tracers (LangSmith's included) record the
attempt, the wait and the reason (the typed error, whose message never holds the key).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun

from gw_core.retry import RetryEvent, RetryObserver, aobserved, observed, observing_retries

__all__ = ["areport_retries", "report_retries", "reporting_retries", "retry_observer"]

T = TypeVar("T")

RunManager = CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun


def retry_observer(run_manager: RunManager | None) -> RetryObserver | None:
    """An observer that calls ``run_manager.on_retry(retry_state)`` (awaited when async)."""
    if run_manager is None:
        return None

    def on_retry(event: RetryEvent) -> object:
        if event.retry_state is None:
            return None
        return run_manager.on_retry(event.retry_state)

    return on_retry


def reporting_retries(run_manager: RunManager | None) -> contextlib.AbstractContextManager[None]:
    """A block whose retries reach ``run_manager`` (a no-op without one)."""
    observer = retry_observer(run_manager)
    return observing_retries(observer) if observer else contextlib.nullcontext()


def report_retries(items: Iterable[T], run_manager: RunManager | None) -> Iterator[T]:
    """A stream's deltas, with retries made before the first one sent to ``run_manager``."""
    return observed(items, retry_observer(run_manager))


def areport_retries(items: AsyncIterable[T], run_manager: RunManager | None) -> AsyncIterator[T]:
    """Async twin of :func:`report_retries`."""
    return aobserved(items, retry_observer(run_manager))

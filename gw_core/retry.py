"""The one retry loop both adapters share: a frozen policy that drives tenacity.

Why one loop: the SDK's own retries are switched off (``max_retries=0``) because two
independent loops multiply (3 x 3 attempts on a persistent 500). The transport maps
every openai/httpx failure to a :mod:`gw_core.errors` type first, so the policy only
classifies our own errors.

What is retried: connection errors and timeouts, 408, 409, 429 and 5xx; never quota,
unknown-model, local input or stream errors. ``x-should-retry`` (``should_retry`` on
the error) overrides the status either way.

How long we wait: the server's ``retry-after-ms`` / ``Retry-After`` exactly, unless it
is above ``max_wait`` or beyond the remaining ``budget``: then we fail at once with the
error (a 429 stays a :class:`~gw_core.errors.RateLimitError` carrying ``retry_after``),
because sleeping into a certain failure only hides it. Otherwise exponential backoff
plus jitter, within the budget.

Who hears about a retry: the ``gw_core.retry`` logger (one metadata-only WARNING line),
the policy's ``on_retry``, and any observer registered for the current call with
:func:`observing_retries` (a context variable, so concurrent calls and tasks each report
to their own observer: this is how an adapter forwards retries to its framework's
callbacks without the transport knowing about frameworks).

A call that succeeds first time never touches tenacity: ``fn(1)`` runs directly, and
the tenacity engine is built only after a retryable failure, replaying that failure
as its first attempt so the semantics are the same as a plain tenacity loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import itertools
import logging
import math
import re
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import tenacity
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from gw_core.errors import (
    ConflictError,
    GatewayAPIError,
    GatewayConnectionError,
    GatewayError,
    GatewayInputError,
    MalformedResponseError,
    ModelNotFoundError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
)

__all__ = [
    "RetryEvent",
    "RetryObserver",
    "RetryPolicy",
    "aobserved",
    "is_retryable",
    "observed",
    "observing_retries",
    "parse_retry_after",
]

T = TypeVar("T")

logger = logging.getLogger("gw_core.retry")

# delay-seconds as digits, optionally with a fraction: no sign, exponent, "inf" or "nan".
_SECONDS = re.compile(r"\d+(?:\.\d*)?|\.\d+")

_NEVER_RETRIED = (
    QuotaExceededError,
    ModelNotFoundError,
    GatewayInputError,
    StreamError,
    MalformedResponseError,
)
_RETRIED_CLASSES = (RateLimitError, ServerError, ConflictError)
_RETRIED_STATUSES = frozenset({408, 409, 429})


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, or None when it gave no usable value.

    ``retry-after-ms`` wins over ``Retry-After`` (seconds or an HTTP-date, measured from
    ``now``, default ``time.time()``). A garbage ``retry-after-ms`` falls through to
    ``Retry-After``. Zero, negative, non-finite and unparsable values give None, so the
    caller falls back to backoff instead of hammering or sleeping forever.
    """
    millis = seconds = None
    for key, value in headers.items():  # one pass: works for dicts and httpx Headers alike
        name = key.lower()
        if name == "retry-after-ms":
            millis = value
        elif name == "retry-after":
            seconds = value
    if millis is not None:
        parsed = _parse_seconds(millis)
        if parsed is not None:
            return parsed / 1000.0
    if seconds is None:
        return None
    parsed = _parse_seconds(seconds)
    if parsed is None:
        parsed = _parse_http_date(seconds, time.time() if now is None else now)
    return parsed


def _parse_seconds(value: str) -> float | None:
    text = value.strip()
    if not _SECONDS.fullmatch(text):
        return None
    return _usable(float(text))


def _parse_http_date(value: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" and asctime dates carry no zone: HTTP dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return _usable(when.timestamp() - now)


def _usable(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt could succeed: the classifier the policy retries on."""
    if isinstance(exc, _NEVER_RETRIED) or not isinstance(exc, GatewayError):
        return False
    if isinstance(exc, GatewayConnectionError):
        return True
    if not isinstance(exc, GatewayAPIError):
        return False
    if exc.should_retry is not None:  # the server's x-should-retry beats the status
        return exc.should_retry
    status = exc.status_code
    return isinstance(exc, _RETRIED_CLASSES) or (
        status is not None and (status in _RETRIED_STATUSES or status >= 500)
    )


def _server_wait(exc: BaseException | None) -> float | None:
    """The server's requested wait, when the error carries a usable one."""
    wait = getattr(exc, "retry_after", None) if isinstance(exc, GatewayAPIError) else None
    if isinstance(wait, (int, float)) and math.isfinite(wait) and wait > 0:
        return float(wait)
    return None


def _failure(retry_state: tenacity.RetryCallState) -> BaseException | None:
    outcome = retry_state.outcome
    return outcome.exception() if outcome is not None else None


class _WaitServerOrBackoff(wait_base):
    """Wait exactly what the server asked for; otherwise the fallback (backoff + jitter)."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        server = _server_wait(_failure(retry_state))
        return server if server is not None else float(self.fallback(retry_state))


class _StopOverServerCap(stop_base):
    """Stop when the server asks for a longer wait than we honour."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        server = _server_wait(_failure(retry_state))
        return server is not None and server > self.cap


class _StopBeforeDeadline(stop_base):
    """Stop when the coming sleep would use up the rest of the budget.

    tenacity's ``stop_before_delay`` does this on ``time.monotonic``; ours reads the
    policy's clock so tests (and callers) can drive time.
    """

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self.deadline - self.clock()


@dataclass(frozen=True)
class RetryEvent:
    """One retry about to happen: what failed and how long we will sleep."""

    attempt: int
    max_attempts: int
    wait: float
    error: GatewayError = field(repr=False)  # its message is the gateway's text: keep it out
    model: str | None
    #: tenacity's state for this retry (what LangChain's ``on_retry`` takes).
    retry_state: tenacity.RetryCallState | None = field(default=None, repr=False, compare=False)

    @property
    def reason(self) -> str:
        """Why we retry, in a few words: the error type, status and code (never the body)."""
        status = getattr(self.error, "status_code", None)
        code = getattr(self.error, "code", None)
        bits = [type(self.error).__name__]
        bits += [str(status)] if status is not None else []
        bits += [f"code={code}"] if code else []
        return " ".join(bits)


#: Told of every retry of a call; may return an awaitable, awaited on the async path.
RetryObserver = Callable[[RetryEvent], object]

_observers: ContextVar[tuple[RetryObserver, ...]] = ContextVar("gw_retry_observers", default=())


@contextlib.contextmanager
def observing_retries(observer: RetryObserver) -> Iterator[None]:
    """Report every retry made inside the block (in this thread or task) to ``observer``."""
    token = _observers.set((*_observers.get(), observer))
    try:
        yield
    finally:
        _observers.reset(token)


def observed(items: Iterable[T], observer: RetryObserver | None) -> Iterator[T]:
    """``items`` with retries made while fetching the first item reported to ``observer``.

    A gateway stream retries only while fetching its first delta, so the observer is
    registered during that fetch alone (never while the consumer holds an item); the
    rest pass straight through, at no cost per chunk.
    """
    iterator = iter(items)
    if observer is not None:
        with observing_retries(observer):
            try:
                first = next(iterator)
            except StopIteration:
                return
        yield first
    yield from iterator


async def aobserved(items: AsyncIterable[T], observer: RetryObserver | None) -> AsyncIterator[T]:
    """Async twin of :func:`observed`."""
    iterator = items.__aiter__()
    if observer is not None:
        with observing_retries(observer):
            try:
                first = await iterator.__anext__()
            except StopAsyncIteration:
                return
        yield first
    async for item in iterator:
        yield item


class _ReportRetry:
    """before_sleep: one metadata-only WARNING line, then the caller's observer.

    Not tenacity's ``before_sleep_log``: that writes ``str(exc)``, i.e. the response body.
    """

    def __init__(
        self,
        max_attempts: int,
        model: str | None,
        on_retry: Callable[[RetryEvent], None] | None,
    ) -> None:
        self.max_attempts = max_attempts
        self.model = model
        self.on_retry = on_retry

    def __call__(self, retry_state: tenacity.RetryCallState) -> None:
        for result in self.report(retry_state):
            if inspect.isawaitable(result):  # an async observer on the sync path
                _discard(result)

    def report(self, retry_state: tenacity.RetryCallState) -> list[object]:
        """Log the retry and tell every observer; their results (maybe awaitables)."""
        error = _failure(retry_state)
        assert isinstance(error, GatewayError)  # only GatewayErrors pass is_retryable
        event = RetryEvent(
            attempt=retry_state.attempt_number,
            max_attempts=self.max_attempts,
            wait=float(retry_state.upcoming_sleep),
            error=error,
            model=self.model if self.model is not None else getattr(error, "model", None),
            retry_state=retry_state,
        )
        logger.warning(
            "gw retry: model=%s attempt %d/%d failed with %s status=%s code=%s "
            "request_id=%s; retrying in %.3fs",
            event.model,
            event.attempt,
            event.max_attempts,
            type(error).__name__,
            getattr(error, "status_code", None),
            getattr(error, "code", None),
            getattr(error, "request_id", None),
            event.wait,
        )
        observers = _observers.get()
        if self.on_retry is not None:
            observers = (self.on_retry, *observers)
        return [observer(event) for observer in observers]


class _AsyncReportRetry(_ReportRetry):
    """before_sleep on the async path: async observers (LangChain's async run managers)
    are awaited before the sleep."""

    async def __call__(self, retry_state: tenacity.RetryCallState) -> None:  # type: ignore[override]
        for result in self.report(retry_state):
            if inspect.isawaitable(result):
                await result


def _discard(awaitable: Awaitable[object]) -> None:
    if inspect.iscoroutine(awaitable):
        awaitable.close()  # no "never awaited" warning: the sync path cannot await it
    logger.debug("gw retry: an async retry observer was skipped on a sync call")


_retry_if_retryable = tenacity.retry_if_exception(is_retryable)


@dataclass(frozen=True)
class RetryPolicy:
    """How one gateway call is retried; immutable, shared by every call of a model.

    ``max_retries`` counts retries (attempts = ``max_retries + 1``; 0 disables them).
    ``budget`` bounds the whole call, waits included; ``max_wait`` is the longest
    server-requested wait we honour. ``sleep``/``asleep``/``clock`` are injectable so
    tests run without real time.
    """

    max_retries: int = 2
    budget: float = 90.0
    max_wait: float = 30.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    jitter: float = 0.25
    on_retry: Callable[[RetryEvent], None] | None = field(default=None, repr=False, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    asleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.max_retries) is not int or self.max_retries < 0:
            raise GatewayInputError(
                f"RetryPolicy.max_retries must be an int >= 0 (0 disables retries), "
                f"got {self.max_retries!r}"
            )
        _check_seconds("budget", self.budget, positive=True, finite=False)
        _check_seconds("max_wait", self.max_wait, positive=False, finite=False)
        _check_seconds("backoff_initial", self.backoff_initial, positive=False, finite=True)
        _check_seconds("backoff_max", self.backoff_max, positive=False, finite=True)
        _check_seconds("jitter", self.jitter, positive=False, finite=True)
        for name in ("sleep", "asleep", "clock"):
            if not callable(getattr(self, name)):
                raise GatewayInputError(f"RetryPolicy.{name} must be callable")
        if self.on_retry is not None and not callable(self.on_retry):
            raise GatewayInputError("RetryPolicy.on_retry must be callable or None")

    @property
    def max_attempts(self) -> int:
        """Attempts per call, the first one included."""
        return self.max_retries + 1

    def with_overrides(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed, validated like a new policy.

        An unknown field name raises TypeError (from ``dataclasses.replace``).
        """
        return dataclasses.replace(self, **changes)

    def call(self, fn: Callable[[int], T], *, model: str | None = None) -> T:
        """Run ``fn(attempt)`` under the policy; the last error propagates unchanged."""
        start = self.clock()
        try:
            return fn(1)
        except GatewayError as exc:
            if self.max_retries == 0 or not is_retryable(exc):
                raise
            first: GatewayError = exc
        numbers = itertools.count(1)

        def attempt() -> T:
            number = next(numbers)
            if number == 1:
                raise first  # replay the failure the fast path already saw
            return fn(number)

        sleep = self.sleep
        engine = tenacity.Retrying(
            sleep=lambda seconds: sleep(float(seconds)), **self._strategies(start, model)
        )
        return engine(attempt)

    async def acall(self, fn: Callable[[int], Awaitable[T]], *, model: str | None = None) -> T:
        """Async twin of :meth:`call`; waits use ``asleep`` and cancellation propagates."""
        start = self.clock()
        try:
            return await fn(1)
        except GatewayError as exc:
            if self.max_retries == 0 or not is_retryable(exc):
                raise
            first: GatewayError = exc
        numbers = itertools.count(1)

        async def attempt() -> T:
            number = next(numbers)
            if number == 1:
                raise first
            return await fn(number)

        asleep = self.asleep
        strategies = self._strategies(start, model)
        strategies["before_sleep"] = _AsyncReportRetry(self.max_attempts, model, self.on_retry)
        engine = tenacity.AsyncRetrying(sleep=lambda seconds: asleep(float(seconds)), **strategies)
        result: T = await engine(attempt)
        return result

    def _strategies(self, start: float, model: str | None) -> dict[str, Any]:
        """tenacity's retry/stop/wait/before_sleep for one call that started at ``start``."""
        backoff: wait_base = tenacity.wait_exponential(
            multiplier=self.backoff_initial, max=self.backoff_max
        )
        if self.jitter > 0:
            backoff = backoff + tenacity.wait_random(0, self.jitter)
        return {
            "retry": _retry_if_retryable,
            "stop": (
                tenacity.stop_after_attempt(self.max_attempts)
                | _StopOverServerCap(self.max_wait)
                | _StopBeforeDeadline(start + self.budget, self.clock)
            ),
            "wait": _WaitServerOrBackoff(backoff),
            "before_sleep": _ReportRetry(self.max_attempts, model, self.on_retry),
            "reraise": True,
        }


def _check_seconds(name: str, value: object, *, positive: bool, finite: bool) -> None:
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not math.isnan(value)
        and (value > 0 if positive else value >= 0)
        and (math.isfinite(value) or not finite)
    )
    if not ok:
        bound = "> 0" if positive else ">= 0"
        kind = "a finite number" if finite else "a number (inf allowed)"
        raise GatewayInputError(f"RetryPolicy.{name} must be {kind} {bound} seconds, got {value!r}")

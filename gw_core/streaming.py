"""Streams of :class:`StreamDelta`, sync and async, with the stream rules in one place.

- a stream is retried only until its first delta; that delta is fetched inside the retry
  loop, so nothing has reached a caller or a callback when a retry happens;
- after that, failures are typed and carry the partial text: a broken connection or an
  ``{"error": ...}`` event is :class:`StreamInterruptedError`, silence past
  ``stream_chunk_timeout`` is :class:`StreamStalledError`, and a stream that ends
  without a ``finish_reason`` (with or without ``[DONE]``) is :class:`IncompleteStreamError`.

:class:`ChatStream` and :class:`AsyncChatStream` differ only in their IO (``for`` or
``async for``, ``close`` or ``aclose``, how the rest of a finished body is drained); every
decision (which pool an attempt goes to, when a stream counts as open, what a failure
becomes before and after the first delta, when the answer is over before ``[DONE]``) is
written once, in :class:`_StreamBase` or a function here, and both call it. The per-chunk
loop itself is written in each: sharing it would put a call or an allocation on every
chunk.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gw_core import errors
from gw_core.catalog import Family, ModelSpec
from gw_core.exchange import (
    Route,
    apost,
    cause,
    map_error,
    post,
    retryable_event_error,
    sdk,
    with_model,
)
from gw_core.reading import (
    Clock,
    Limits,
    Stalled,
    adrain,
    asse_events,
    cap_error_bodies,
    drain_in_background,
    sse_events,
    stalled,
)
from gw_core.wire.stream import StreamAccumulator
from gw_core.wire.types import ChatResult, StreamDelta

if TYPE_CHECKING:
    from gw_core.transport import Gateway

__all__ = ["AsyncChatStream", "ChatStream"]


@dataclass(slots=True)
class _Opened:
    """A stream that is open: its first delta (None for a bare finish) and what follows."""

    response: Any
    chunks: Any
    events: Any
    accumulator: StreamAccumulator
    first: StreamDelta | None
    route: Route


def _before_first(exc: BaseException, model: str, limits: Limits) -> BaseException:
    """Failures before the first delta: retryable per the policy's rules (caps are not)."""
    if isinstance(exc, Stalled):
        return stalled(exc.deadline, limits, model, None)
    if isinstance(exc, errors.GatewayAPIError):
        return retryable_event_error(exc)
    return map_error(exc, model=model)


def _after_first(
    exc: BaseException, acc: StreamAccumulator, model: str, limits: Limits
) -> BaseException:
    """Failures once output began: typed, carrying the partial text, never retried."""
    partial = acc.text
    if isinstance(exc, Stalled):
        return stalled(exc.deadline, limits, model, partial)
    if isinstance(exc, errors.ResponseTooLargeError):
        exc.partial_text = partial
        return exc
    if isinstance(exc, errors.StreamError | errors.MalformedResponseError):
        return exc
    if isinstance(exc, errors.GatewayAPIError):
        err = errors.StreamInterruptedError(
            f"the gateway sent an error mid-stream for {model}: {exc.message}",
            partial_text=partial,
            model=model,
        )
        err.cause = exc
        return err
    classes = sdk()
    if isinstance(exc, classes.timeouts):
        return stalled(False, limits, model, partial)
    if isinstance(exc, classes.connection_errors):
        return errors.StreamInterruptedError(
            f"the connection broke mid-stream for {model} ({type(exc).__name__})",
            partial_text=partial,
            model=model,
        )
    return exc


def _opened(
    response: Any,
    chunks: Any,
    events: Any,
    acc: StreamAccumulator,
    first: StreamDelta | None,
    target: ModelSpec,
    number: int,
) -> _Opened:
    """The open stream once its first delta arrived, or once the events ended without one:
    open all the same when a finish reason came, else a failure to retry."""
    if first is None and acc.finish_reason is None:
        raise errors.GatewayConnectionError(
            f"the stream for {target.id} ended before its first chunk"
        )
    return _Opened(response, chunks, events, acc, first, Route(target.id, target.pool, number))


async def _no_events() -> AsyncIterator[dict[str, Any]]:
    return
    yield  # an async generator that yields nothing


class _StreamBase:
    """What a sync and an async stream decide alike; the subclasses do the IO."""

    def __init__(
        self, gateway: Gateway, body: dict[str, Any], spec: ModelSpec, options: Any
    ) -> None:
        self._gateway = gateway
        self._body = body
        self._spec = spec
        self._options = options
        self._limits = gateway.limits
        self._candidates = gateway.candidates(spec)
        # Claude's dialect sends usage with the finish reason: nothing is left after it.
        self._ends_at_finish = spec.family is Family.CLAUDE
        #: Set once the stream is open: which model id / pool is answering.
        self.route: Route | None = None
        self._acc: StreamAccumulator | None = None

    def result(self) -> ChatResult:
        """The assembled message; complete once iteration has finished."""
        if self._acc is None:
            raise RuntimeError("the stream has not started")
        return self._acc.result()

    @property
    def partial_text(self) -> str:
        """Text received so far."""
        return self._acc.text if self._acc is not None else ""

    def _last(self, delta: StreamDelta | None) -> bool:
        """Whether ``delta`` ends the answer before ``[DONE]`` (finish and usage together)."""
        return (
            self._ends_at_finish
            and delta is not None
            and delta.finish_reason is not None
            and delta.usage is not None
        )

    def _attempt(self, number: int) -> tuple[ModelSpec, dict[str, Any]]:
        """The model id attempt ``number`` goes to (its failover pool), and its body."""
        target = self._candidates[(number - 1) % len(self._candidates)]
        return target, with_model(self._body, target)


class ChatStream(_StreamBase):
    """Iterator of :class:`StreamDelta`; closes its connection when done, closed or broken."""

    def __init__(
        self, gateway: Gateway, body: dict[str, Any], spec: ModelSpec, options: Any
    ) -> None:
        super().__init__(gateway, body, spec, options)
        self._gen = self._run()

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> StreamDelta:
        return next(self._gen)

    def close(self) -> None:
        """Stop early and release the connection."""
        self._gen.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open(self, number: int, clock: Clock) -> _Opened:
        target, body = self._attempt(number)
        client = self._gateway.clients.sync()
        cap_error_bodies(client, is_async=False)
        response = post(client, target, body, self._options, self._limits)
        acc = StreamAccumulator(model=target.id)
        try:
            chunks = response.iter_bytes()
            events = sse_events(chunks, self._limits, clock)
            first = None
            for chunk in events:
                first = acc.add(chunk)
                if first is not None:
                    break
            return _opened(response, chunks, events, acc, first, target, number)
        except BaseException as exc:
            response.close()
            mapped = _before_first(exc, target.id, self._limits)
            if mapped is exc:
                raise
            raise mapped from cause(exc)

    def _run(self) -> Generator[StreamDelta, None, None]:
        clock = Clock(self._limits)  # the stream deadline spans every attempt
        opened = self._gateway.policy.call(
            lambda number: self._open(number, clock), model=self._spec.id
        )
        self.route, self._acc = opened.route, opened.accumulator
        acc = opened.accumulator
        finished = False
        try:
            if opened.first is not None:
                yield opened.first
                clock.mark()
            try:
                events = () if self._last(opened.first) else opened.events
                for chunk in events:
                    delta = acc.add(chunk)
                    if delta is not None:
                        yield delta
                        clock.mark()  # the caller asked for more: the stall timer restarts
                        if self._last(delta):
                            break
                acc.check_complete()
            except GeneratorExit:
                raise
            except Exception as exc:
                mapped = _after_first(exc, acc, opened.route.model, self._limits)
                if mapped is exc:
                    raise
                raise mapped from cause(exc)
            finished = True
        finally:
            if finished:
                drain_in_background(opened.chunks, opened.response)
            else:
                opened.response.close()


class AsyncChatStream(_StreamBase):
    """Async iterator of :class:`StreamDelta`; cancellation closes the connection."""

    def __init__(
        self, gateway: Gateway, body: dict[str, Any], spec: ModelSpec, options: Any
    ) -> None:
        super().__init__(gateway, body, spec, options)
        self._gen = self._run()

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> StreamDelta:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop early and release the connection."""
        await self._gen.aclose()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _open(self, number: int, clock: Clock) -> _Opened:
        target, body = self._attempt(number)
        client = self._gateway.clients.async_()
        cap_error_bodies(client, is_async=True)
        response = await apost(client, target, body, self._options, self._limits)
        acc = StreamAccumulator(model=target.id)
        try:
            chunks = response.aiter_bytes()
            events = asse_events(chunks, self._limits, clock)
            first = None
            async for chunk in events:
                first = acc.add(chunk)
                if first is not None:
                    break
            return _opened(response, chunks, events, acc, first, target, number)
        except BaseException as exc:
            await response.aclose()
            mapped = _before_first(exc, target.id, self._limits)
            if mapped is exc:
                raise
            raise mapped from cause(exc)

    async def _run(self) -> AsyncGenerator[StreamDelta, None]:
        clock = Clock(self._limits)  # the stream deadline spans every attempt

        async def attempt(number: int) -> _Opened:
            return await self._open(number, clock)

        opened = await self._gateway.policy.acall(attempt, model=self._spec.id)
        self.route, self._acc = opened.route, opened.accumulator
        acc = opened.accumulator
        finished = False
        try:
            if opened.first is not None:
                yield opened.first
                clock.mark()
            try:
                events = _no_events() if self._last(opened.first) else opened.events
                async for chunk in events:
                    delta = acc.add(chunk)
                    if delta is not None:
                        yield delta
                        clock.mark()  # the caller asked for more: the stall timer restarts
                        if self._last(delta):
                            break
                acc.check_complete()
            except GeneratorExit:
                raise
            except Exception as exc:
                mapped = _after_first(exc, acc, opened.route.model, self._limits)
                if mapped is exc:
                    raise
                raise mapped from cause(exc)
            finished = True
        finally:
            if finished:
                await adrain(opened.chunks, opened.response)
            else:
                await opened.response.aclose()

"""Sends a shaped request through the openai client, under the one retry loop.

This is where the shared pieces meet: the client factory (transport), the retry policy
(one tenacity loop, pool failover by attempt number), the error mapping (every openai /
httpx / httpx2 failure becomes a :mod:`gw_core.errors` type), and the stream rules:

- a stream is retried only until its first delta; that delta is fetched inside the retry
  loop, so nothing has reached a caller or a callback when a retry happens;
- after that, failures are typed and carry the partial text: a broken connection or an
  ``{"error": ...}`` event is :class:`StreamInterruptedError`, silence past
  ``stream_chunk_timeout`` is :class:`StreamStalledError`, and a stream that ends
  without a ``finish_reason`` (with or without ``[DONE]``) is :class:`IncompleteStreamError`.

The SDK stays the transport (auth, base URL, headers, connection pools), but we ask it for
the raw HTTP response and parse JSON and SSE ourselves: the SDK's per-chunk model
building is most of a stream's client-side cost.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from gw_core import errors
from gw_core.catalog import Family, ModelSpec
from gw_core.client import Clients, httpx_module
from gw_core.failures import connection_error
from gw_core.reading import (
    Clock,
    Limits,
    Stalled,
    adrain,
    aread_body,
    asse_events,
    cap_error_bodies,
    drain_in_background,
    error_body_cap,
    read_body,
    sse_events,
    stalled,
)
from gw_core.retry import RetryPolicy, parse_retry_after
from gw_core.settings import Settings
from gw_core.wire.response import parse_completion
from gw_core.wire.stream import StreamAccumulator
from gw_core.wire.types import ChatResult, StreamDelta

__all__ = ["AsyncChatStream", "ChatStream", "Completion", "Gateway", "map_error"]

_PATH = "/chat/completions"


@dataclass(frozen=True, slots=True)
class Route:
    """Which model id (and so which pool) answered, after how many attempts."""

    model: str
    pool: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished non-streaming call."""

    result: ChatResult
    route: Route


@dataclass(frozen=True, slots=True)
class _SDK:
    """The SDK's exception classes, looked up once the SDK is first needed."""

    status_error: type[BaseException]
    timeouts: tuple[type[BaseException], ...]
    connection_errors: tuple[type[BaseException], ...]
    connection_error: type[BaseException]
    timeout: Any


@cache
def _sdk() -> _SDK:
    import openai

    httpx = httpx_module()
    return _SDK(
        status_error=openai.APIStatusError,
        timeouts=(openai.APITimeoutError, httpx.TimeoutException),
        connection_errors=(openai.APIConnectionError, httpx.TransportError),
        connection_error=openai.APIConnectionError,
        timeout=openai.Timeout,
    )


def _should_retry_header(headers: Mapping[str, str]) -> bool | None:
    value = headers.get("x-should-retry")
    if value is None:
        return None
    return value.strip().lower() == "true"


def map_error(exc: BaseException, *, model: str | None = None) -> BaseException:
    """The typed error for any failure the SDK or its HTTP library raised."""
    if isinstance(exc, errors.GatewayError):
        return exc
    sdk = _sdk()
    if isinstance(exc, sdk.status_error):
        response = exc.response  # type: ignore[attr-defined]
        headers = response.headers
        try:
            body: Any = response.content
        except Exception:  # a streamed error body that could not be read
            body = exc.message  # type: ignore[attr-defined]
        return errors.error_from_body(
            body,
            status_code=exc.status_code,  # type: ignore[attr-defined]
            request_id=headers.get("x-request-id"),
            retry_after=parse_retry_after(headers),
            should_retry=_should_retry_header(headers),
            model=model,
        )
    if isinstance(exc, (*sdk.timeouts, *sdk.connection_errors)):
        # Where we tried to go and why it failed (refused, DNS, TLS, timeout): failures.py
        return connection_error(exc, timed_out=isinstance(exc, sdk.timeouts))
    return exc


def _retryable_event_error(err: errors.GatewayAPIError) -> errors.GatewayAPIError:
    """An error event (or 200 error body) has no HTTP status: take it from the code.

    Before the first chunk such an error is the upstream failing to start, which is
    worth a retry unless its code says otherwise.
    """
    if err.status_code is not None:
        return err
    status = 502
    if err.code and err.code.isdigit() and 400 <= int(err.code) <= 599:
        status = int(err.code)
    payload = {"error": {"message": err.message, "code": err.code, "type": err.type}}
    return errors.error_from_body(payload, status_code=status, model=err.model)


class Gateway:
    """One configured route to the gateway: settings, retry policy and failover pools.

    Adapters build one per model object and call :meth:`complete` / :meth:`stream` (and
    the async twins) with a body shaped by :func:`gw_core.wire.params.build_body`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        policy: RetryPolicy | None = None,
        pools: Sequence[str] = (),
        http_client: Any = None,
        http_async_client: Any = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy()
        self.pools = tuple(pools)
        #: The openai clients, looked up once per process (see :class:`Clients`).
        self.clients = Clients(
            settings, http_client=http_client, http_async_client=http_async_client
        )
        self._stream_timeout = _sdk().timeout(
            settings.stream_chunk_timeout, connect=settings.connect_timeout
        )

    def __repr__(self) -> str:
        return f"Gateway({self.settings!r}, pools={self.pools!r})"

    @property
    def limits(self) -> Limits:
        """The size caps and deadlines the settings ask for."""
        return Limits.of(self.settings)

    def candidates(self, spec: ModelSpec) -> tuple[ModelSpec, ...]:
        """The model ids to try in order: the model itself, or one per failover pool."""
        if not self.pools:
            return (spec,)
        return tuple(spec.with_pool(pool) for pool in self.pools)

    def _options(self, headers: Mapping[str, str] | None, stream: bool) -> Any:
        # The SDK's RequestOptions TypedDict: headers, a per-request timeout, and no
        # redirects (set per request, so a user-supplied http_client follows none either).
        options: dict[str, Any] = {"follow_redirects": False}
        if headers:
            options["headers"] = dict(headers)
        if stream:
            options["timeout"] = self._stream_timeout
        return options

    # -- non-streaming ---------------------------------------------------------------

    def complete(
        self, body: dict[str, Any], spec: ModelSpec, *, headers: Mapping[str, str] | None = None
    ) -> Completion:
        """Send a non-streaming request; retried and failed over per the policy."""
        candidates = self.candidates(spec)
        options = self._options(headers, stream=False)
        client = self.clients.sync()
        cap_error_bodies(client, is_async=False)
        limits = self.limits

        def attempt(number: int) -> Completion:
            target = candidates[(number - 1) % len(candidates)]
            deadline = time.monotonic() + limits.timeout
            response = _post(client, target, _with_model(body, target), options, limits)
            try:
                content = read_body(response, limits, deadline)
            except Exception as exc:
                failure: BaseException = exc
            else:
                return _finish_completion(content, target, number)
            finally:
                response.close()
            raise _typed(failure, target.id)

        return self.policy.call(attempt, model=spec.id)

    async def acomplete(
        self, body: dict[str, Any], spec: ModelSpec, *, headers: Mapping[str, str] | None = None
    ) -> Completion:
        """Async twin of :meth:`complete`."""
        candidates = self.candidates(spec)
        options = self._options(headers, stream=False)
        client = self.clients.async_()
        cap_error_bodies(client, is_async=True)
        limits = self.limits

        async def attempt(number: int) -> Completion:
            target = candidates[(number - 1) % len(candidates)]
            deadline = time.monotonic() + limits.timeout
            response = await _apost(client, target, _with_model(body, target), options, limits)
            try:
                content = await aread_body(response, limits, deadline)
            except Exception as exc:
                failure: BaseException = exc
            else:
                return _finish_completion(content, target, number)
            finally:
                await response.aclose()
            raise _typed(failure, target.id)

        return await self.policy.acall(attempt, model=spec.id)

    # -- streaming -------------------------------------------------------------------

    def stream(
        self, body: dict[str, Any], spec: ModelSpec, *, headers: Mapping[str, str] | None = None
    ) -> ChatStream:
        """Open a stream lazily: the request goes out on the first ``next()``."""
        return ChatStream(self, body, spec, self._options(headers, stream=True))

    def astream(
        self, body: dict[str, Any], spec: ModelSpec, *, headers: Mapping[str, str] | None = None
    ) -> AsyncChatStream:
        """Async twin of :meth:`stream`."""
        return AsyncChatStream(self, body, spec, self._options(headers, stream=True))


def _cause(exc: BaseException) -> BaseException | None:
    # Keep transport causes for debugging; drop SDK status errors, whose text repeats the
    # whole response body.
    return None if isinstance(exc, _sdk().status_error) else exc


def _typed(failure: BaseException, model: str) -> BaseException:
    mapped = map_error(failure, model=model)
    if mapped is not failure:
        mapped.__cause__ = _cause(failure)
        mapped.__suppress_context__ = True
    return mapped


# The typed error is raised outside the ``except`` block on purpose: raised inside it,
# Python would chain the SDK's exception as ``__context__``, and that one's text repeats
# the whole response body (which can echo the key back).


# Every request is sent with ``stream=True``: the body is then read here, under the caps
# and the deadline, never by the SDK (which would read any size, for any time).


def _post(
    client: Any, target: ModelSpec, body: dict[str, Any], options: Any, limits: Limits
) -> Any:
    token = error_body_cap.set(limits.max_error_body_bytes)
    try:
        return client.post(
            _PATH, cast_to=httpx_module().Response, body=body, options=options, stream=True
        )
    except Exception as exc:
        failure: BaseException = exc
    finally:
        error_body_cap.reset(token)
    raise _typed(failure, target.id)


async def _apost(
    client: Any, target: ModelSpec, body: dict[str, Any], options: Any, limits: Limits
) -> Any:
    token = error_body_cap.set(limits.max_error_body_bytes)
    try:
        return await client.post(
            _PATH, cast_to=httpx_module().Response, body=body, options=options, stream=True
        )
    except Exception as exc:
        failure: BaseException = exc
    finally:
        error_body_cap.reset(token)
    raise _typed(failure, target.id)


def _with_model(body: dict[str, Any], target: ModelSpec) -> dict[str, Any]:
    if body.get("model") == target.id:
        return body
    return {**body, "model": target.id}


def _finish_completion(content: bytes, target: ModelSpec, attempt: int) -> Completion:
    try:
        payload = json.loads(content)
    except (ValueError, RecursionError):
        raise errors.MalformedResponseError(
            f"the gateway's response for {target.id} is not JSON (or nested too deeply): "
            f"{len(content)} bytes starting {errors.excerpt(content, 60)!r}"
        ) from None
    try:
        result = parse_completion(payload)
    except errors.GatewayAPIError as err:
        err.model = target.id
        raise _retryable_event_error(err) from None
    return Completion(result, Route(target.id, target.pool, attempt))


@dataclass(slots=True)
class _Opened:
    response: Any
    chunks: Any
    events: Any
    accumulator: StreamAccumulator
    first: StreamDelta | None
    route: Route
    clock: Clock


def _before_first(exc: BaseException, model: str, limits: Limits) -> BaseException:
    """Failures before the first delta: retryable per the policy's rules (caps are not)."""
    if isinstance(exc, Stalled):
        return stalled(exc.deadline, limits, model, None)
    if isinstance(exc, errors.GatewayAPIError):
        return _retryable_event_error(exc)
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
    sdk = _sdk()
    if isinstance(exc, sdk.timeouts):
        return stalled(False, limits, model, partial)
    if isinstance(exc, sdk.connection_errors):
        return errors.StreamInterruptedError(
            f"the connection broke mid-stream for {model} ({type(exc).__name__})",
            partial_text=partial,
            model=model,
        )
    return exc


async def _no_events() -> AsyncIterator[dict[str, Any]]:
    return
    yield  # an async generator that yields nothing


def _no_first_chunk(model: str) -> errors.GatewayConnectionError:
    return errors.GatewayConnectionError(f"the stream for {model} ended before its first chunk")


class _StreamBase:
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

    def _target(self, number: int) -> ModelSpec:
        return self._candidates[(number - 1) % len(self._candidates)]


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
        target, limits = self._target(number), self._limits
        client = self._gateway.clients.sync()
        cap_error_bodies(client, is_async=False)
        response = _post(client, target, _with_model(self._body, target), self._options, limits)
        acc = StreamAccumulator(model=target.id)
        route = Route(target.id, target.pool, number)
        try:
            chunks = response.iter_bytes()
            events = sse_events(chunks, limits, clock)
            for chunk in events:
                delta = acc.add(chunk)
                if delta is not None:
                    return _Opened(response, chunks, events, acc, delta, route, clock)
            if acc.finish_reason is not None:
                return _Opened(response, chunks, events, acc, None, route, clock)
            raise _no_first_chunk(target.id)
        except BaseException as exc:
            response.close()
            mapped = _before_first(exc, target.id, limits)
            if mapped is exc:
                raise
            raise mapped from _cause(exc)

    def _run(self) -> Generator[StreamDelta, None, None]:
        clock = Clock(self._limits)  # the stream deadline spans every attempt
        opened = self._gateway.policy.call(
            lambda number: self._open(number, clock), model=self._spec.id
        )
        self.route, self._acc = opened.route, opened.accumulator
        acc, model = opened.accumulator, opened.route.model
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
                mapped = _after_first(exc, acc, model, self._limits)
                if mapped is exc:
                    raise
                raise mapped from _cause(exc)
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
        target, limits = self._target(number), self._limits
        client = self._gateway.clients.async_()
        cap_error_bodies(client, is_async=True)
        response = await _apost(
            client, target, _with_model(self._body, target), self._options, limits
        )
        acc = StreamAccumulator(model=target.id)
        route = Route(target.id, target.pool, number)
        try:
            chunks = response.aiter_bytes()
            events = asse_events(chunks, limits, clock)
            async for chunk in events:
                delta = acc.add(chunk)
                if delta is not None:
                    return _Opened(response, chunks, events, acc, delta, route, clock)
            if acc.finish_reason is not None:
                return _Opened(response, chunks, events, acc, None, route, clock)
            raise _no_first_chunk(target.id)
        except BaseException as exc:
            await response.aclose()
            mapped = _before_first(exc, target.id, limits)
            if mapped is exc:
                raise
            raise mapped from _cause(exc)

    async def _run(self) -> AsyncGenerator[StreamDelta, None]:
        clock = Clock(self._limits)  # the stream deadline spans every attempt

        async def attempt(number: int) -> _Opened:
            return await self._open(number, clock)

        opened = await self._gateway.policy.acall(attempt, model=self._spec.id)
        self.route, self._acc = opened.route, opened.accumulator
        acc, model = opened.accumulator, opened.route.model
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
                mapped = _after_first(exc, acc, model, self._limits)
                if mapped is exc:
                    raise
                raise mapped from _cause(exc)
            finished = True
        finally:
            if finished:
                await adrain(opened.chunks, opened.response)
            else:
                await opened.response.aclose()

"""Sends a shaped request through the openai client, under the one retry loop.

This is where the shared pieces meet: the client factory (:mod:`gw_core.client`), the
retry policy (one tenacity loop, pool failover by attempt number), one request on the wire
with its errors typed (:mod:`gw_core.exchange`), and the streams (:mod:`gw_core.streaming`,
where the stream rules live).

The SDK stays the transport (auth, base URL, headers, connection pools), but we ask it for
the raw HTTP response and parse JSON and SSE ourselves: the SDK's per-chunk model
building is most of a stream's client-side cost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gw_core.catalog import ModelSpec
from gw_core.client import Clients
from gw_core.exchange import (
    Completion,
    Route,
    apost,
    decode_completion,
    map_error,
    post,
    retyped,
    sdk,
    with_model,
)
from gw_core.reading import Limits, aread_body, cap_error_bodies, read_body
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_core.streaming import AsyncChatStream, ChatStream

__all__ = [
    "AsyncChatStream",
    "AttemptHook",
    "ChatStream",
    "Completion",
    "Gateway",
    "RawAnswer",
    "Route",
    "map_error",
]


@dataclass(slots=True)
class RawAnswer:
    """An answered call as :meth:`Gateway.asend` returns it: the completion, and the
    gateway's JSON body and headers as they came (a batch output keeps both)."""

    completion: Completion
    payload: Any
    headers: Mapping[str, str]

    @property
    def request_id(self) -> str | None:
        """The gateway's ``x-request-id`` (looked up only by those who ask)."""
        return self.headers.get("x-request-id")


class AttemptHook(Protocol):
    """Work around each attempt of :meth:`Gateway.asend` (the batch sender's rate limiter)."""

    async def before(self, target: ModelSpec, body: dict[str, Any]) -> None:
        """Called before an attempt's request goes to ``target`` with ``body``."""

    async def failed(self, target: ModelSpec, error: Exception) -> None:
        """Called when the attempt failed with ``error`` (re-raised once this returns)."""


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
        self.settings = settings  # also sets the limits and the stream timeout
        self.policy = policy or RetryPolicy()
        self.pools = tuple(pools)
        #: The openai clients, looked up once per process (see :class:`Clients`).
        self.clients = Clients(
            settings, http_client=http_client, http_async_client=http_async_client
        )

    @property
    def settings(self) -> Settings:
        """The route's settings; assigning new ones re-derives what calls read from them."""
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        # Derived once here, not on every call: settings do not change between calls.
        self._settings = settings
        self._limits = Limits.of(settings)
        self._stream_timeout = sdk().timeout(
            settings.stream_chunk_timeout, connect=settings.connect_timeout
        )

    def __repr__(self) -> str:
        return f"Gateway({self.settings!r}, pools={self.pools!r})"

    @property
    def limits(self) -> Limits:
        """The size caps and deadlines the settings ask for."""
        return self._limits

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
            response = post(client, target, with_model(body, target), options, limits)
            try:
                content = read_body(response, limits, deadline)
            except Exception as exc:
                failure: BaseException = exc
            else:
                return decode_completion(content, target, number)[1]
            finally:
                response.close()
            raise retyped(failure, map_error(failure, model=target.id))

        return self.policy.call(attempt, model=spec.id)

    async def acomplete(
        self, body: dict[str, Any], spec: ModelSpec, *, headers: Mapping[str, str] | None = None
    ) -> Completion:
        """Async twin of :meth:`complete`."""
        return (await self.asend(body, spec, headers=headers)).completion

    async def asend(
        self,
        body: dict[str, Any],
        spec: ModelSpec,
        *,
        headers: Mapping[str, str] | None = None,
        hook: AttemptHook | None = None,
    ) -> RawAnswer:
        """The async attempt loop: :meth:`acomplete` and the batch sender both run this one.

        Retried and failed over per the policy; ``hook`` runs around every attempt (a
        retry is a request an upstream counts too).
        """
        candidates = self.candidates(spec)
        options = self._options(headers, stream=False)
        client = self.clients.async_()
        cap_error_bodies(client, is_async=True)
        limits = self.limits

        async def send(target: ModelSpec, sent: dict[str, Any], number: int) -> RawAnswer:
            deadline = time.monotonic() + limits.timeout
            response = await apost(client, target, sent, options, limits)
            try:
                content = await aread_body(response, limits, deadline)
            except Exception as exc:
                failure: BaseException = exc
            else:
                payload, completion = decode_completion(content, target, number)
                return RawAnswer(completion, payload, response.headers)
            finally:
                await response.aclose()
            raise retyped(failure, map_error(failure, model=target.id))

        async def attempt(number: int) -> RawAnswer:
            target = candidates[(number - 1) % len(candidates)]
            sent = with_model(body, target)
            if hook is None:
                return await send(target, sent, number)
            await hook.before(target, sent)
            try:
                return await send(target, sent, number)
            except Exception as exc:
                await hook.failed(target, exc)
                raise

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

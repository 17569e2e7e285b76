"""Client-side rate limits: requests and tokens per minute, per model pool.

"N per minute" means at most N in any 60-second window, the way an upstream counts it:
the ``limits`` library's *moving window* strategy keeps one timestamp per unit spent
and refuses a hit while the window already holds N, so there is no burst of N followed
by a refill. Each pool (the model id's suffix: ``-low``, ``-official``, ...) has its own
counters, because the upstream limits the pools separately.

Where the counters live:

- in this process by default (``limits``' memory storage, thread-safe);
- in Redis when ``url="redis://..."`` is given: every process and machine with the same
  URL and ``namespace`` shares one limit (``limits``' Lua scripts make each hit atomic).
  Timestamps come from each client's clock, so machines need synced clocks (NTP).

When the gateway answers 429 with a Retry-After, :meth:`RateLimiter.pause` (or
:meth:`observe` with the error) stops every caller of the pool for that long; with Redis
the pause is a key with that expiry, so other processes pause too.

Tokens are counted before sending, from :func:`estimate_tokens`: the offline prompt
estimate of :mod:`gw_core.tokens` plus the output cap when the request sets one. To keep
Redis lists short, tokens are counted in blocks (``tpm / 10,000`` tokens, rounded up per
request): rounding only ever makes the limiter stricter.

``limits`` and ``redis`` are imported on first use, so importing this module costs nothing.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from gw_core.catalog import parse
from gw_core.errors import GatewayInputError, RateLimitError
from gw_core.tokens import count_tokens

__all__ = ["PoolLimit", "RateLimiter", "estimate_tokens"]

_WINDOW_SECONDS = 60
_MAX_UNITS = 10_000
_MIN_SLEEP = 0.005
_MAX_SLEEP = 1.0
_PAUSE_REFRESH = 0.1


@dataclass(frozen=True)
class PoolLimit:
    """Requests and tokens per minute for one pool; None means unlimited."""

    rpm: int | None = None
    tpm: int | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value <= 0):
                raise GatewayInputError(
                    f"{name} must be a positive int (per minute) or None, got {value!r}"
                )

    @property
    def token_block(self) -> int:
        """Tokens per counted unit: keeps at most ~10,000 entries per Redis list."""
        return max(1, math.ceil(self.tpm / _MAX_UNITS)) if self.tpm else 1


def estimate_tokens(body: Mapping[str, Any]) -> int:
    """Tokens a chat request may use: prompt estimate plus its output cap, if any.

    Counts the text of every message (string content and text parts), tool definitions
    and the response format; images count nothing (their cost depends on the upstream).
    """
    total = 0
    for message in body.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        total += 4  # role and separators, as chat formats add per message
        content = message.get("content")
        if isinstance(content, str):
            total += count_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    total += count_tokens(part["text"])
        if message.get("tool_calls"):
            total += count_tokens(json.dumps(message["tool_calls"]))
    for key in ("tools", "response_format"):
        if body.get(key):
            total += count_tokens(json.dumps(body[key]))
    for key in ("max_completion_tokens", "max_tokens"):
        cap = body.get(key)
        if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
            return total + cap
    return total


def _redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    auth = "***@" if parts.password or parts.username else ""
    return f"{parts.scheme}://{auth}{host}{port}{parts.path}"


@dataclass
class _Backend:
    """The storages of one process; built lazily, never pickled."""

    sync_strategy: Any = None
    sync_redis: Any = None
    async_by_loop: weakref.WeakKeyDictionary[Any, tuple[Any, Any]] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    lock: threading.Lock = field(default_factory=threading.Lock)


class RateLimiter:
    """Requests/tokens per minute per pool, in process or shared through Redis.

    ``rpm``/``tpm`` apply to every pool; ``pools`` overrides them for named pools
    (``{"low": PoolLimit(rpm=60)}``). ``window`` is the sliding window in seconds: 60 for
    "per minute"; tests use shorter ones. ``url`` (``redis://...``) shares the counters;
    its password is kept as a secret and never shown. Picklable: a copy sent to another
    process (a Ray worker) rebuilds its connections there.
    """

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        pools: Mapping[str, PoolLimit] | None = None,
        url: str | SecretStr | None = None,
        namespace: str = "gw",
        window: int = _WINDOW_SECONDS,
    ) -> None:
        if type(window) is not int or window < 1:
            raise GatewayInputError(
                f"window must be a whole number of seconds >= 1, got {window!r}"
            )
        self.window = window
        self.default = PoolLimit(rpm, tpm)
        self.pools = dict(pools or {})
        for pool, limit in self.pools.items():
            if not isinstance(limit, PoolLimit):
                raise GatewayInputError(f"pools[{pool!r}] must be a PoolLimit, got {limit!r}")
        raw = url.get_secret_value() if isinstance(url, SecretStr) else url
        if raw is not None and urlsplit(raw).scheme not in ("redis", "rediss", "redis+unix"):
            raise GatewayInputError(
                f"limiter url must be redis://host:port[/db] or rediss://...; got {_redact(raw)!r}"
            )
        self._url = SecretStr(raw) if raw else None
        self.namespace = namespace
        self._pauses: dict[str, float] = {}  # pool -> time.time() when the pause ends
        self._checked: dict[str, float] = {}  # pool -> time.monotonic() of the last Redis read
        self._backend = _Backend()

    # -- identity ---------------------------------------------------------------------

    @property
    def shared(self) -> bool:
        """Whether the counters live in Redis (shared across processes)."""
        return self._url is not None

    def __repr__(self) -> str:
        where = _redact(self._url.get_secret_value()) if self._url else "in-process"
        return (
            f"RateLimiter(rpm={self.default.rpm}, tpm={self.default.tpm}, "
            f"pools={self.pools!r}, storage={where!r}, namespace={self.namespace!r}, "
            f"window={self.window}s)"
        )

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        return {
            "default": self.default,
            "pools": self.pools,
            "_url": self._url,
            "namespace": self.namespace,
            "window": self.window,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pauses, self._checked = {}, {}
        self._backend = _Backend()

    def share_of(self, workers: int) -> RateLimiter:
        """This limiter for one of ``workers`` processes that cannot share counters.

        Shared (Redis) limiters are returned as they are; in-process ones get 1/workers of
        each limit, rounded down, so the workers together stay within the limit.
        """
        if self.shared or workers <= 1:
            return self

        def part(limit: PoolLimit) -> PoolLimit:
            for name, value in (("rpm", limit.rpm), ("tpm", limit.tpm)):
                if value is not None and value < workers:
                    raise GatewayInputError(
                        f"{name}={value} cannot be split across {workers} workers: give the "
                        "limiter a redis:// URL to share it, or use fewer workers"
                    )
            return PoolLimit(
                limit.rpm // workers if limit.rpm else None,
                limit.tpm // workers if limit.tpm else None,
            )

        return RateLimiter(
            part(self.default).rpm,
            part(self.default).tpm,
            pools={pool: part(limit) for pool, limit in self.pools.items()},
            namespace=self.namespace,
            window=self.window,
        )

    def limit_for(self, pool: str) -> PoolLimit:
        """The limit that applies to ``pool``."""
        return self.pools.get(pool, self.default)

    def check(self, model: str, tokens: int) -> None:
        """Raise :class:`GatewayInputError` when such a request could never be sent."""
        self._items(parse(model).pool, tokens)

    def _items(self, pool: str, tokens: int) -> list[tuple[Any, int, str]]:
        """(limits item, cost, what) for each limit this request must pass."""
        from limits import RateLimitItemPerSecond

        def item(amount: int) -> Any:
            return RateLimitItemPerSecond(amount, self.window, namespace=self.namespace)

        limit = self.limit_for(pool)
        items: list[tuple[Any, int, str]] = []
        if limit.rpm:
            items.append((item(limit.rpm), 1, "rpm"))
        if limit.tpm and tokens > 0:
            block = limit.token_block
            units, cap = math.ceil(tokens / block), limit.tpm // block
            if tokens > limit.tpm:
                raise GatewayInputError(
                    f"a request estimated at {tokens} tokens can never fit the {pool!r} pool's "
                    f"limit of {limit.tpm} tokens per minute: raise tpm or shorten the request"
                )
            items.append((item(cap), units, "tpm"))
        return items

    # -- backends ---------------------------------------------------------------------

    def _sync(self) -> tuple[Any, Any]:
        backend = self._backend
        with backend.lock:
            if backend.sync_strategy is None:
                from limits.storage import storage_from_string
                from limits.strategies import MovingWindowRateLimiter

                if self._url is None:
                    storage = storage_from_string("memory://")
                else:
                    url = self._url.get_secret_value()
                    storage = storage_from_string(url)
                    backend.sync_redis = _redis_client(url, asyncio_=False)
                backend.sync_strategy = MovingWindowRateLimiter(storage)
            return backend.sync_strategy, backend.sync_redis

    def _async(self) -> tuple[Any, Any]:
        """Redis storages are bound to an event loop: one per loop, dropped with it."""
        if self._url is None:
            return self._sync()
        loop = asyncio.get_running_loop()
        backend = self._backend
        with backend.lock:
            found = backend.async_by_loop.get(loop)
            if found is None:
                from limits.aio.strategies import MovingWindowRateLimiter
                from limits.storage import storage_from_string

                url = self._url.get_secret_value()
                storage = storage_from_string("async+" + url, implementation="redispy")
                found = (MovingWindowRateLimiter(storage), _redis_client(url, asyncio_=True))
                backend.async_by_loop[loop] = found
            return found

    def _pause_key(self, pool: str) -> str:
        return f"{self.namespace}:gw-pause:{pool}"

    # -- acquiring --------------------------------------------------------------------

    def acquire(self, model: str, tokens: int = 0, *, blocking: bool = True) -> bool:
        """Wait until a request to ``model`` of ``tokens`` fits every limit, and count it.

        Returns False only when ``blocking=False`` and it does not fit now.
        """
        pool = parse(model).pool
        items = self._items(pool, tokens)
        strategy, client = self._sync()
        careful = not blocking
        while True:
            if client is not None and self._check_due(pool):
                self._learn(pool, client.pttl(self._pause_key(pool)))
            wait = self._pauses.get(pool, 0.0) - time.time()
            if wait <= 0:
                wait = _try_hits(strategy, items, pool, careful)
                if wait <= 0:
                    return True
            if not blocking:
                return False
            careful = True
            time.sleep(wait)

    async def aacquire(self, model: str, tokens: int = 0, *, blocking: bool = True) -> bool:
        """Async twin of :meth:`acquire`."""
        pool = parse(model).pool
        items = self._items(pool, tokens)
        strategy, client = self._async()
        careful = not blocking
        while True:
            if client is not None and self._check_due(pool):
                self._learn(pool, await client.pttl(self._pause_key(pool)))
            wait = self._pauses.get(pool, 0.0) - time.time()
            if wait <= 0:
                if self._url is None:
                    wait = _try_hits(strategy, items, pool, careful)
                else:
                    wait = await _atry_hits(strategy, items, pool, careful)
                if wait <= 0:
                    return True
            if not blocking:
                return False
            careful = True
            await asyncio.sleep(wait)

    def _check_due(self, pool: str) -> bool:
        """Whether to read the shared pause again: at most every 0.1 s per pool, so a
        busy process pays one Redis round trip per acquire, not two."""
        now = time.monotonic()
        if now - self._checked.get(pool, -math.inf) < _PAUSE_REFRESH:
            return False
        self._checked[pool] = now
        return True

    def _learn(self, pool: str, pttl_ms: Any) -> None:
        if isinstance(pttl_ms, int) and pttl_ms > 0:
            until = time.time() + pttl_ms / 1000.0
            self._pauses[pool] = max(self._pauses.get(pool, 0.0), until)

    # -- being told to back off -------------------------------------------------------

    def pause(self, model_or_pool: str, seconds: float) -> None:
        """Stop every caller of the pool for ``seconds`` (the gateway's Retry-After)."""
        pool = _pool_of(model_or_pool)
        if not (seconds > 0 and math.isfinite(seconds)):
            return
        self._pauses[pool] = max(self._pauses.get(pool, 0.0), time.time() + seconds)
        _, client = self._sync()
        if client is not None:
            key, millis = self._pause_key(pool), max(1, int(seconds * 1000))
            if client.pttl(key) < millis:
                client.set(key, b"1", px=millis)

    async def apause(self, model_or_pool: str, seconds: float) -> None:
        """Async twin of :meth:`pause`."""
        pool = _pool_of(model_or_pool)
        if not (seconds > 0 and math.isfinite(seconds)):
            return
        self._pauses[pool] = max(self._pauses.get(pool, 0.0), time.time() + seconds)
        _, client = self._async()
        if client is not None:
            key, millis = self._pause_key(pool), max(1, int(seconds * 1000))
            if await client.pttl(key) < millis:
                await client.set(key, b"1", px=millis)

    def observe(self, error: BaseException, model: str) -> float | None:
        """Pause the pool when ``error`` is a 429 carrying a wait; returns that wait."""
        wait = _rate_limit_wait(error)
        if wait is not None:
            self.pause(model, wait)
        return wait

    async def aobserve(self, error: BaseException, model: str) -> float | None:
        """Async twin of :meth:`observe`."""
        wait = _rate_limit_wait(error)
        if wait is not None:
            await self.apause(model, wait)
        return wait


def _rate_limit_wait(error: BaseException) -> float | None:
    if isinstance(error, RateLimitError) and error.retry_after:
        return float(error.retry_after)
    return None


def _pool_of(model_or_pool: str) -> str:
    if "-" not in model_or_pool:  # a bare pool name: "standard", "low", "official"
        return model_or_pool
    return parse(model_or_pool).pool


def _redis_client(url: str, *, asyncio_: bool) -> Any:
    if asyncio_:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(url)
    import redis

    return redis.Redis.from_url(url)


def _clamp(seconds: float) -> float:
    return min(_MAX_SLEEP, max(_MIN_SLEEP, seconds))


# Hitting: the first try hits each limit at once (one Redis round trip per limit). If a
# later limit refuses, the earlier hit stays counted (the limiter then sends fewer, never
# more), and every retry is "careful": it tests the later limits first, so that waiting on
# the token limit does not spend a request slot on each re-check.


def _try_hits(strategy: Any, items: list[tuple[Any, int, str]], pool: str, careful: bool) -> float:
    """Hit every limit; 0 when all passed, else how long to wait before re-checking."""
    if careful:
        for item, cost, _ in items[1:]:
            if not strategy.test(item, pool, cost=cost):
                return _clamp(strategy.get_window_stats(item, pool).reset_time - time.time())
    for item, cost, _ in items:
        if not strategy.hit(item, pool, cost=cost):
            return _clamp(strategy.get_window_stats(item, pool).reset_time - time.time())
    return 0.0


async def _atry_hits(
    strategy: Any, items: list[tuple[Any, int, str]], pool: str, careful: bool
) -> float:
    if careful:
        for item, cost, _ in items[1:]:
            if not await strategy.test(item, pool, cost=cost):
                stats = await strategy.get_window_stats(item, pool)
                return _clamp(stats.reset_time - time.time())
    for item, cost, _ in items:
        if not await strategy.hit(item, pool, cost=cost):
            stats = await strategy.get_window_stats(item, pool)
            return _clamp(stats.reset_time - time.time())
    return 0.0

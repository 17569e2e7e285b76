"""Run any async callable over a dataset with bounded concurrency and the shared limiter.

For what is not an OpenAI Batch file: a LangChain runnable (``chain.ainvoke``) or a
LlamaIndex query engine (``engine.aquery``) over a list of questions. Framework-free: it
only awaits the callable. When the callable makes several model calls per item (a RAG
app), give the limiter to the model instead (``ChatGateway(rate_limiter=...)``,
``GatewayLLM(rate_limiter=...)``) so every call is counted, and pass ``limiter=None``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from gw_core.errors import GatewayInputError
from gw_core.limits import RateLimiter

__all__ = ["amap_limited"]

T = TypeVar("T")
R = TypeVar("R")


async def amap_limited(
    fn: Callable[[T], Awaitable[R]],
    items: Sequence[T],
    *,
    concurrency: int = 16,
    limiter: RateLimiter | None = None,
    model: str | None = None,
    tokens: Callable[[T], int] | None = None,
) -> list[R | BaseException]:
    """``fn`` over ``items`` in input order; a failed item gives its exception, not a raise.

    With ``limiter``, each item first waits for one request (and ``tokens(item)`` tokens)
    of ``model``'s pool.
    """
    if type(concurrency) is not int or concurrency < 1:
        raise GatewayInputError(f"concurrency must be an int >= 1, got {concurrency!r}")
    if limiter is not None and not model:
        raise GatewayInputError("pass model= with limiter=: the limit is per model pool")
    results: list[R | BaseException] = [RuntimeError("not run")] * len(items)
    indexes = iter(range(len(items)))

    async def worker() -> None:
        for index in indexes:
            item = items[index]
            try:
                if limiter is not None and model:
                    await limiter.aacquire(model, tokens(item) if tokens else 0)
                results[index] = await fn(item)
            except Exception as exc:
                results[index] = exc

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)) or 1)))
    return results

"""What "leaks nothing" means, measured: pooled connections, tasks, file descriptors.

The pool is read from the openai client's HTTP transport (httpcore / httpcore2 share the
shape; aiohttp's connector has its own); the cached clients come from ``gw_core.client``'s
per-loop cache, which has no public accessor (see the report: a public ``aclose`` for them
is wanted).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil  # type: ignore[import-untyped]

from gw_core import client as gw_client

__all__ = [
    "PoolState",
    "asettle",
    "close_loop_clients",
    "fd_count",
    "loop_clients",
    "other_tasks",
    "pool_state",
    "settle",
]


@dataclass(frozen=True)
class PoolState:
    """Connections of one client's pool: serving a request, kept alive idle, closed."""

    active: int
    idle: int
    waiting_requests: int


def pool_state(client: Any) -> PoolState:
    transport = client._client._transport
    if not hasattr(transport, "_pool"):  # aiohttp (gw_core._async_http wraps its transport)
        return _aiohttp_pool_state(transport.inner.client)
    pool = transport._pool
    connections = list(pool.connections)
    active = sum(1 for c in connections if not c.is_idle() and not c.is_closed())
    idle = sum(1 for c in connections if c.is_idle())
    return PoolState(active=active, idle=idle, waiting_requests=len(pool._requests))


def _aiohttp_pool_state(session: Any) -> PoolState:
    if session is None:  # the session opens with the first request
        return PoolState(active=0, idle=0, waiting_requests=0)
    connector = session.connector
    if connector is None or connector.closed:
        return PoolState(active=0, idle=0, waiting_requests=0)
    return PoolState(
        active=len(connector._acquired),
        idle=sum(len(conns) for conns in connector._conns.values()),
        waiting_requests=sum(len(waiters) for waiters in connector._waiters.values()),
    )


def loop_clients() -> list[Any]:
    """The AsyncOpenAI clients gw_core cached for the running loop."""
    loop = asyncio.get_running_loop()
    return [client for client, _closer in gw_client._async_clients.get(loop, {}).values()]


async def close_loop_clients() -> None:
    """Close (and forget) the running loop's cached clients."""
    await gw_client.aclose_clients()


def other_tasks() -> set[asyncio.Task[Any]]:
    """Tasks of the running loop other than the current one."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


def fd_count() -> int:
    count: int = psutil.Process().num_fds()
    return count


def settle(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll ``condition`` (sockets close asynchronously on the emulator's thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


async def asettle(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """:func:`settle` for async tests: lets the loop run its close callbacks meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()

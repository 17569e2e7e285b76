"""Builds the official ``openai`` clients we send through, one per settings (and event loop).

The SDK is only the transport: its own retries are off (``max_retries=0``: tenacity in
:mod:`gw_core.retry` is the one loop) and redirects are not followed (a redirect to
another host would carry the Authorization header along). openai 2.x runs on ``httpx``,
3.x on ``httpx2``; :func:`httpx_module` is whichever the installed SDK uses, so the rest of the
code never names either.

Clients are cached so connection pools are reused. The cache key holds a keyed hash of
the API key, never the key itself. Async clients are cached per event loop, because an
``AsyncClient``'s pooled connections belong to the loop that opened them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import AsyncGenerator
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from gw_core._async_http import build_async_http_client
from gw_core._version import __version__
from gw_core.settings import Settings

if TYPE_CHECKING:
    import openai

__all__ = [
    "aclose_clients",
    "async_client",
    "clear_cache",
    "httpx_module",
    "openai_major",
    "sync_client",
    "user_agent",
]


@cache
def httpx_module() -> ModuleType:
    """The HTTP library under the installed openai SDK (``httpx2`` on 3.x, ``httpx`` on 2.x).

    Looked up on first use, like the SDK itself: ``import openai`` is ~0.4-0.9 s, most
    of an adapter's import time, and an app pays it only when it first talks to the
    gateway (the catalog, settings and errors need none of it).
    """
    from openai import _base_client

    module = getattr(_base_client, "httpx2", None) or getattr(_base_client, "httpx", None)
    assert isinstance(module, ModuleType), "the openai SDK's HTTP library was not found"
    return module


def __getattr__(name: str) -> Any:
    if name == "HTTPX":  # the module-level spelling of httpx_module()
        return httpx_module()
    raise AttributeError(f"module 'gw_core.client' has no attribute {name!r}")


def openai_major() -> int:
    """The installed openai SDK's major version."""
    import openai

    return int(openai.__version__.split(".", 1)[0])


def user_agent() -> str:
    """Our User-Agent: names us and the SDK version underneath."""
    import openai

    return f"gw-integrations/{__version__} openai-python/{openai.__version__}"


# A per-process salt: cache keys fingerprint the API key without being reversible to it,
# and without two processes sharing fingerprints.
_SALT = secrets.token_bytes(16)
_lock = threading.Lock()
_sync_clients: dict[tuple[Any, ...], openai.OpenAI] = {}
# loop -> cache key -> (client, the async generator that closes it with the loop)
_async_clients: weakref.WeakKeyDictionary[
    AbstractEventLoop, dict[tuple[Any, ...], tuple[openai.AsyncOpenAI, AsyncGenerator[None, None]]]
] = weakref.WeakKeyDictionary()


def _cache_key(settings: Settings) -> tuple[Any, ...]:
    fingerprint = hmac.new(_SALT, settings.secret().encode(), hashlib.sha256).hexdigest()
    return (
        fingerprint,
        settings.base_url,
        settings.timeout,
        settings.connect_timeout,
        settings.default_headers,
    )


_ssl_context: Any = None
_ssl_lock = threading.Lock()  # not _lock: sync_client holds that while it builds a client


def _shared_ssl_context() -> Any:
    """One TLS context per process: building one costs ~30 ms, and an app that calls
    ``asyncio.run`` per request would otherwise pay it for every new event loop."""
    global _ssl_context
    if _ssl_context is None:
        with _ssl_lock:
            if _ssl_context is None:
                _ssl_context = httpx_module().create_ssl_context()
    return _ssl_context


def _timeout(settings: Settings) -> Any:
    import openai

    return openai.Timeout(settings.timeout, connect=settings.connect_timeout)


def _headers(settings: Settings) -> dict[str, str]:
    headers = {"User-Agent": user_agent()}
    headers.update(dict(settings.default_headers))
    return headers


def _build_sync(settings: Settings) -> openai.OpenAI:
    import openai

    return openai.OpenAI(
        api_key=settings.secret(),
        base_url=settings.api_base,
        max_retries=0,  # tenacity is the only retry loop
        timeout=_timeout(settings),
        default_headers=_headers(settings),
        http_client=openai.DefaultHttpxClient(
            follow_redirects=False, timeout=_timeout(settings), verify=_shared_ssl_context()
        ),
    )


def _build_async(settings: Settings) -> openai.AsyncOpenAI:
    import openai

    return openai.AsyncOpenAI(
        api_key=settings.secret(),
        base_url=settings.api_base,
        max_retries=0,  # tenacity is the only retry loop
        timeout=_timeout(settings),
        default_headers=_headers(settings),
        # aiohttp unless GW_ASYNC_HTTP=sdk: see gw_core._async_http for why.
        http_client=build_async_http_client(
            timeout=_timeout(settings),
            verify=_shared_ssl_context(),
            choice=getattr(settings, "async_http", None),
        ),
    )


def sync_client(settings: Settings) -> openai.OpenAI:
    """The shared sync client for these settings."""
    key = _cache_key(settings)
    client = _sync_clients.get(key)
    if client is None:
        with _lock:
            client = _sync_clients.get(key)
            if client is None:
                client = _sync_clients[key] = _build_sync(settings)
    return client


def async_client(settings: Settings) -> openai.AsyncOpenAI:
    """The shared async client for these settings on the running event loop.

    A client's pooled connections belong to its loop, and the loop is kept alive by them,
    so the client is closed when its loop shuts down (``asyncio.run`` and pytest-asyncio
    finalize async generators then: see :func:`_close_with_loop`). Loops that end without
    that step are dropped from the cache the next time a client is built.
    """
    loop = get_running_loop()
    key = _cache_key(settings)
    per_loop = _async_clients.get(loop)
    if per_loop is not None:
        entry = per_loop.get(key)
        if entry is not None:
            return entry[0]
    _forget_closed_loops()
    client = _build_async(settings)
    closer = _close_with_loop(loop, key, client)
    _async_clients.setdefault(loop, {})[key] = (client, closer)
    # Step the closer to its first ``yield`` right here (it awaits nothing before it):
    # from then on the loop tracks it and ``shutdown_asyncgens()`` will ``aclose()`` it.
    step: Any = closer.__anext__()
    with contextlib.suppress(StopIteration):
        step.send(None)
    return client


async def _close_with_loop(
    loop: AbstractEventLoop, key: tuple[Any, ...], client: openai.AsyncOpenAI
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        per_loop = _async_clients.get(loop)
        if per_loop is not None and per_loop.get(key, (None,))[0] is client:
            del per_loop[key]
            if not per_loop:
                _async_clients.pop(loop, None)
        await client.close()


def _forget_closed_loops() -> None:
    for loop in [loop for loop in list(_async_clients) if loop.is_closed()]:
        _async_clients.pop(loop, None)


async def aclose_clients() -> None:
    """Close the running loop's cached clients now (e.g. before a long idle period)."""
    per_loop = _async_clients.pop(get_running_loop(), {})
    for client, closer in per_loop.values():
        await client.close()
        await closer.aclose()


def clear_cache() -> None:
    """Close cached sync clients and forget every cached client (tests; key rotation).

    Async clients of a running loop are better closed with :func:`aclose_clients`.
    """
    with _lock:
        for client in _sync_clients.values():
            client.close()
        _sync_clients.clear()
        _async_clients.clear()

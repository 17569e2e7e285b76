"""Builds the official ``openai`` clients we send through, one per settings (and event loop).

The SDK is only the transport: its own retries are off (``max_retries=0``: tenacity in
:mod:`gw_core.retry` is the one loop) and redirects are not followed (a redirect to
another host would carry the Authorization header along). openai 2.x runs on ``httpx``,
3.x on ``httpx2``; :func:`httpx_module` is whichever the installed SDK uses, so the rest of the
code never names either.

Clients are cached so connection pools are reused. The cache key holds a keyed hash of
the API key, never the key itself; a :class:`Clients` handle computes it once, so the
hot path is a dict lookup. Async clients are cached per event loop, because an
``AsyncClient``'s pooled connections belong to the loop that opened them.

Fork safety: a pooled keep-alive socket inherited through ``fork`` is shared by parent
and child, and their requests and answers interleave on it. The caches are therefore
dropped in the child (``os.register_at_fork``) and checked against ``os.getpid()`` on
use (a fork that skips the hooks), so a child always opens its own connections. The
parent's clients are kept referenced but never closed in the child: closing could shut
down a connection the parent is still using.

A user-supplied ``http_client`` / ``http_async_client`` is used as given (its proxies,
TLS settings and hooks apply); the SDK around it still has retries off, and every request
asks for redirects not to be followed. Its connections are the user's: after a fork the
child must build its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
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
from gw_core.errors import GatewayInputError
from gw_core.settings import Settings

if TYPE_CHECKING:
    import openai

__all__ = [
    "Clients",
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
# Bumped whenever the caches are emptied (clear_cache, a fork): handles re-fetch then.
_generation = 0
_pid = os.getpid()
# The parent's clients, as a forked child inherited them: referenced, never used or closed.
_abandoned: list[tuple[Any, ...]] = []


def _after_fork_in_child() -> None:
    """Forget every client built by the parent; the child opens its own connections."""
    global _pid, _generation, _lock, _ssl_lock
    # Another thread may have held the parent's locks at the fork: the child gets new ones.
    _lock, _ssl_lock = threading.Lock(), threading.Lock()
    _abandoned.append((dict(_sync_clients), dict(_async_clients)))
    _sync_clients.clear()
    _async_clients.clear()
    _generation += 1
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_pid() -> int:
    """The cache generation, after dropping the caches if this is a forked child."""
    if _pid != os.getpid():  # forked without the hooks (e.g. by a C extension)
        _after_fork_in_child()
    return _generation


def _cache_key(settings: Settings) -> tuple[Any, ...]:
    fingerprint = hmac.new(_SALT, settings.secret().encode(), hashlib.sha256).hexdigest()
    return (
        fingerprint,
        settings.base_url,
        settings.timeout,
        settings.connect_timeout,
        settings.default_headers,
        settings.async_http,
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


def _sdk_arguments(settings: Settings, http_client: Any) -> dict[str, Any]:
    """What the sync and the async SDK client are built with alike."""
    return {
        "api_key": settings.secret(),
        "base_url": settings.api_base,
        "max_retries": 0,  # tenacity is the only retry loop
        "timeout": _timeout(settings),
        "default_headers": _headers(settings),
        "http_client": http_client,
    }


def _build_sync(settings: Settings, http_client: Any = None) -> openai.OpenAI:
    import openai

    if http_client is None:
        http_client = openai.DefaultHttpxClient(
            follow_redirects=False, timeout=_timeout(settings), verify=_shared_ssl_context()
        )
    return openai.OpenAI(**_sdk_arguments(settings, http_client))


def _build_async(settings: Settings, http_client: Any = None) -> openai.AsyncOpenAI:
    import openai

    if http_client is None:  # a user's client wins; else aiohttp unless GW_ASYNC_HTTP=sdk
        http_client = build_async_http_client(
            timeout=_timeout(settings),
            verify=_shared_ssl_context(),
            choice=getattr(settings, "async_http", None),
        )
    return openai.AsyncOpenAI(**_sdk_arguments(settings, http_client))


def check_http_client(client: Any, *, asynchronous: bool) -> None:
    """Refuse a user HTTP client of the wrong kind, naming the kind the SDK needs."""
    if client is None:
        return
    httpx = httpx_module()
    wanted = httpx.AsyncClient if asynchronous else httpx.Client
    if isinstance(client, wanted):
        return
    argument = "http_async_client" if asynchronous else "http_client"
    other = httpx.Client if asynchronous else httpx.AsyncClient
    given = f"{type(client).__module__}.{type(client).__qualname__}"
    if isinstance(client, other):
        hint = "http_client" if asynchronous else "http_async_client"
        raise GatewayInputError(
            f"{argument} must be a {httpx.__name__}.{wanted.__name__}; a {given} goes in {hint}"
        )
    raise GatewayInputError(
        f"{argument} must be a {httpx.__name__}.{wanted.__name__} (openai "
        f"{openai_major()}.x runs on {httpx.__name__}); got a {given}"
    )


def sync_client(settings: Settings) -> openai.OpenAI:
    """The shared sync client for these settings."""
    return _shared_sync(_cache_key(settings), settings)


def _shared_sync(key: tuple[Any, ...], settings: Settings) -> openai.OpenAI:
    _check_pid()
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
    return _shared_async(_cache_key(settings), settings)


def _shared_async(key: tuple[Any, ...], settings: Settings) -> openai.AsyncOpenAI:
    _check_pid()
    loop = get_running_loop()
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


class Clients:
    """The openai clients of one route, looked up without re-hashing the key per call.

    With a user-supplied HTTP client the SDK client around it belongs to this handle
    (its pool is the user's); otherwise the process-wide caches above are used, so
    every route with the same settings shares one pool.
    """

    __slots__ = ("_async", "_async_user", "_key", "_settings", "_sync", "_sync_user")

    def __init__(
        self, settings: Settings, *, http_client: Any = None, http_async_client: Any = None
    ) -> None:
        check_http_client(http_client, asynchronous=False)
        check_http_client(http_async_client, asynchronous=True)
        self._settings = settings
        self._key = _cache_key(settings)
        self._sync_user = http_client
        self._async_user = http_async_client
        self._sync: tuple[int, int, openai.OpenAI] | None = None
        self._async: openai.AsyncOpenAI | None = None

    def __repr__(self) -> str:
        return f"Clients({self._settings!r})"

    def sync(self) -> openai.OpenAI:
        """The sync client: built once per process and cache generation."""
        generation = _check_pid()
        held = self._sync
        if held is not None and held[0] == generation and held[1] == _pid:
            return held[2]
        if self._sync_user is not None:
            client = held[2] if held is not None else _build_sync(self._settings, self._sync_user)
        else:
            client = _shared_sync(self._key, self._settings)
        self._sync = (generation, _pid, client)
        return client

    def async_(self) -> openai.AsyncOpenAI:
        """The async client for the running loop (or around the user's async client)."""
        if self._async_user is None:
            return _shared_async(self._key, self._settings)
        if self._async is None:
            self._async = _build_async(self._settings, self._async_user)
        return self._async


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
    global _generation
    with _lock:
        for client in _sync_clients.values():
            client.close()
        _sync_clients.clear()
        _async_clients.clear()
        _generation += 1

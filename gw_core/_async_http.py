"""The HTTP client under every async openai client we build: aiohttp unless told otherwise.

Why not the SDK's default: httpcore's async pool walks every pooled connection on every
request it assigns, so its cost grows with the pool. On loopback, 200 requests in flight
ran 2-3x faster on aiohttp (the SDK's own ``DefaultAioHttpClient``, openai 2.x and 3.x
alike), and a burst after a spike that left 100 idle connections fell to a fifth of its
rate on httpx but not on aiohttp (``make bench``: ``async_idle_pool_rps_ratio``).

The switch back: ``GW_ASYNC_HTTP=sdk`` (or the ``async_http="sdk"`` setting) builds the
SDK's default httpx/httpx2 client instead. A user's own async HTTP client always wins over
either. The aiohttp client keeps our rules: no redirects, our timeouts and TLS context,
proxies from the environment (``HTTP(S)_PROXY``/``NO_PROXY``, read by httpx's mounts),
and the SDK's connection limits.

aiohttp's failures arrive as httpx exceptions through the SDK's adapter, whose mapping
calls a refused connection or a dropped one a ``ConnectTimeout``; our wrapping transport
(:func:`_remapping_transport`) gives them the class httpx itself would raise, so error
types and retries do not depend on the transport. Its connector also checks a pooled
connection before reusing it, as httpcore does (:func:`_connector_class`).
"""

from __future__ import annotations

import logging
import os
import select
from collections.abc import AsyncIterator
from functools import cache
from typing import Any

from gw_core.errors import GatewayInputError

__all__ = ["ASYNC_HTTP_CHOICES", "ENV_ASYNC_HTTP", "async_http_choice", "build_async_http_client"]

ENV_ASYNC_HTTP = "GW_ASYNC_HTTP"
#: ``aiohttp``: the SDK's aiohttp-backed client (the default); ``sdk``: its httpx default.
ASYNC_HTTP_CHOICES = ("aiohttp", "sdk")
_DEFAULT = "aiohttp"

_log = logging.getLogger("gw_core")


def async_http_choice(value: str | None = None) -> str:
    """The async HTTP library to use: the argument, else ``GW_ASYNC_HTTP``, else aiohttp."""
    origin = "async_http"
    if value is None:
        value, origin = os.environ.get(ENV_ASYNC_HTTP) or _DEFAULT, ENV_ASYNC_HTTP
    choice = value.strip().lower()
    if choice not in ASYNC_HTTP_CHOICES:
        raise GatewayInputError(
            f"{origin} must be one of {', '.join(ASYNC_HTTP_CHOICES)}; got {value!r}"
        )
    return choice


def build_async_http_client(*, timeout: Any, verify: Any, choice: str | None = None) -> Any:
    """An ``httpx.AsyncClient`` (``httpx2`` on openai 3.x) for ``openai.AsyncOpenAI``.

    ``choice`` is the ``async_http`` setting (``None``: ``GW_ASYNC_HTTP``, then aiohttp).
    Without the aiohttp extra installed, an explicit ``aiohttp`` is refused with what to
    install; the default falls back to the SDK's client and says so once in the log.
    """
    import openai

    explicit = choice is not None or bool(os.environ.get(ENV_ASYNC_HTTP))
    options = {"follow_redirects": False, "timeout": timeout, "verify": verify}
    if async_http_choice(choice) == "aiohttp":
        client_class = _aiohttp_client_class()
        if client_class is not None:
            return client_class(**options)
        if explicit:
            raise GatewayInputError(
                "async_http='aiohttp' needs the aiohttp extra of the openai SDK: "
                "pip install 'openai[aiohttp]', or choose async_http='sdk' (GW_ASYNC_HTTP=sdk)"
            )
        _warn_missing_once()
    return openai.DefaultAsyncHttpxClient(**options)


@cache
def _warn_missing_once() -> None:
    _log.warning(
        "aiohttp is not installed: async calls use the SDK's httpx client, which slows "
        "as its pool grows. pip install 'openai[aiohttp]' for the faster transport."
    )


@cache
def _aiohttp_client_class() -> type[Any] | None:
    """The SDK's aiohttp-backed client class with our error mapping, or None if missing."""
    import openai

    from gw_core.client import httpx_module

    base: type[Any] = openai.DefaultAioHttpClient
    if base._init_transport is httpx_module().AsyncClient._init_transport:
        return None  # the SDK's stand-in that raises: its aiohttp adapter is not installed
    transport = _remapping_transport()

    class AioHttpClient(base):  # type: ignore[misc, valid-type]
        """``openai.DefaultAioHttpClient`` whose transports raise httpx's own classes and
        never send on a pooled connection the server has already closed."""

        def _init_transport(self, *args: Any, **kwargs: Any) -> Any:
            return transport(_with_fresh_connections(super()._init_transport(*args, **kwargs)))

        def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> Any:
            inner = super()._init_proxy_transport(*args, **kwargs)
            return transport(_with_fresh_connections(inner))

    return AioHttpClient


def _with_fresh_connections(inner: Any) -> Any:
    """Give the adapter's transport a session whose connector checks a pooled connection
    before reusing it, as httpcore does (the adapter's own session is built the same way,
    with a plain ``TCPConnector``)."""
    import aiohttp

    if inner.client is not None or inner.uds or inner.local_address:
        return inner  # configured by hand: leave it as it is

    def session() -> aiohttp.ClientSession:
        limit = inner.limits.max_connections
        connector = _connector_class()(
            keepalive_timeout=inner.limits.keepalive_expiry,
            ssl=inner.ssl_context,
            **({"limit": limit} if limit is not None else {}),
        )
        return aiohttp.ClientSession(connector=connector)

    inner.client = session
    return inner


def _readable(protocol: Any) -> bool:
    """An idle keep-alive socket that is readable was closed by the server (or sent
    garbage): either way it must not carry the next request. httpcore checks the same."""
    transport = protocol.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


@cache
def _connector_class() -> type[Any]:
    import aiohttp

    class Connector(aiohttp.TCPConnector):
        """Drops pooled connections the server closed before the event loop noticed.

        Without it a request can go out on a socket whose FIN is already in the kernel
        (the server answered, then closed without ``Connection: close``) and fail with
        ``ServerDisconnectedError``; only the connection about to be reused is checked,
        so the cost does not grow with the pool.
        """

        _pid = os.getpid()  # replaced per instance in __init__

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pid = os.getpid()

        def _abandoned(self) -> bool:
            """Its loop is closed, or it was inherited through ``fork``: unusable for good."""
            return bool(self._loop.is_closed() or self._pid != os.getpid())

        async def _get(self, key: Any, traces: Any) -> Any:
            conns = getattr(self, "_conns", {}).get(key)
            while conns and _readable(conns[0][0]):
                conns.popleft()[0].close()
            return await super()._get(key, traces)

        # A loop closed without ``shutdown_asyncgens()`` never ran our closer, and a child
        # process after ``fork`` must not touch its parent's sockets: nothing can close the
        # session properly any more. Its sockets go with the garbage, as the SDK's httpx
        # pool's do, without aiohttp's "Unclosed client session" error log.
        @property
        def closed(self) -> bool:
            return bool(super().closed or self._abandoned())

        def __del__(self, *args: Any) -> None:
            if self._abandoned():
                self._closed = True
            super().__del__(*args)

    return Connector


def _httpx_class_for(exc: BaseException, httpx: Any) -> type[BaseException] | None:
    """The exception httpx would raise for this aiohttp failure (None: keep as mapped)."""
    import aiohttp

    found: Any = None
    if isinstance(exc, aiohttp.ServerTimeoutError):
        connect = isinstance(exc, aiohttp.ConnectionTimeoutError)
        found = httpx.ConnectTimeout if connect else httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        found = httpx.ProxyError
    elif isinstance(exc, aiohttp.ClientConnectorError):
        found = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        found = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        found = httpx.ReadError
    return found  # type: ignore[no-any-return]


def _remapped(exc: BaseException, httpx: Any) -> BaseException | None:
    """``exc`` as the class httpx would have raised, or None when it already is.

    Its cause is the aiohttp failure; it is raised outside the ``except`` block (see
    :func:`_without_context`), so the misnamed original is not left in its chain, where
    the failure description (gw_core.failures) would read it as a timeout.
    """
    cause = exc.__cause__
    cls = None if cause is None else _httpx_class_for(cause, httpx)
    if cls is None or type(exc) is cls:
        return None
    new: BaseException = cls(str(exc))
    new.__cause__ = cause
    return new


def _without_context(exc: BaseException) -> BaseException:
    exc.__context__ = None
    return exc


@cache
def _remapping_transport() -> type[Any]:
    """A transport class wrapping the adapter's, for the installed httpx module."""
    from gw_core.client import httpx_module

    httpx = httpx_module()

    class Body(httpx.AsyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        async def __aiter__(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self._inner:
                    yield chunk
            except httpx.TransportError as exc:
                new = _remapped(exc, httpx)
                if new is None:
                    raise
            else:
                return
            raise _without_context(new)

        async def aclose(self) -> None:
            await self._inner.aclose()

    class Transport(httpx.AsyncBaseTransport):  # type: ignore[misc, name-defined]
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def handle_async_request(self, request: Any) -> Any:
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.TransportError as exc:
                new = _remapped(exc, httpx)
                if new is None:
                    raise
            else:
                response.stream = Body(response.stream)
                return response
            raise _without_context(new)

        async def aclose(self) -> None:
            await self.inner.aclose()

    return Transport

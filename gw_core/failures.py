"""Connection failures in words a user can act on: where we tried to go, and why it failed.

The openai SDK reports every network failure as ``APIConnectionError('Connection error.')``
or ``APITimeoutError('Request timed out.')``; the cause sits a few links down the exception
chain (httpx or httpx2, then httpcore, then the socket or ssl error). We walk that chain
and name the address (``host:port``, never the key: base URLs cannot carry credentials)
and one cause a user can fix: connection refused, DNS lookup failed, TLS handshake failed,
a connect/read/write/pool timeout, or the connection closed before a response.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

from gw_core.errors import GatewayConnectionError, GatewayTimeoutError, scrub

__all__ = ["connection_error", "describe", "endpoint"]

# httpx and httpx2 name their timeout classes alike; matching names covers both.
_TIMEOUTS = {
    "ConnectTimeout": "connect timeout",
    "ReadTimeout": "read timeout",
    "WriteTimeout": "write timeout",
    "PoolTimeout": "no free connection in the pool (pool timeout)",
}
_CLOSED = ("RemoteProtocolError", "ReadError", "WriteError")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_CHAIN = 12


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and the members of exception groups, once each."""
    pending = [exc]
    seen: set[int] = set()
    while pending and len(seen) < _MAX_CHAIN:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(getattr(current, "exceptions", ()))  # ExceptionGroup members
        for link in (current.__cause__, current.__context__):
            if link is not None:
                pending.append(link)


def endpoint(exc: BaseException) -> str | None:
    """``host:port`` of the request that failed, when the exception chain carries it."""
    for link in _chain(exc):
        try:
            request = getattr(link, "request", None)
        except RuntimeError:  # httpx raises when an error has no request attached
            continue
        url = getattr(request, "url", None)
        host = getattr(url, "host", None)
        if url is None or not host:
            continue
        port = getattr(url, "port", None) or _DEFAULT_PORTS.get(str(getattr(url, "scheme", "")))
        shown = f"[{host}]" if ":" in str(host) else str(host)
        return f"{shown}:{port}" if port else shown
    return None


def _is_timeout(links: list[BaseException]) -> str | None:
    for link in links:
        phase = _TIMEOUTS.get(type(link).__name__)
        if phase is not None:
            return phase
    return None


def describe(exc: BaseException) -> tuple[str, bool]:
    """(the cause in a few words, whether it is a timeout), from the exception chain."""
    links = list(_chain(exc))
    timeout = _is_timeout(links)
    if timeout is not None:
        return timeout, True
    for link in links:
        if isinstance(link, socket.gaierror):
            return "DNS lookup failed (the host name does not resolve)", False
    for link in links:
        if isinstance(link, ssl.SSLError) and not isinstance(
            link, ssl.SSLWantReadError | ssl.SSLWantWriteError
        ):
            reason = getattr(link, "verify_message", None) or getattr(link, "reason", None)
            return f"TLS handshake failed ({reason or type(link).__name__})", False
    for link in links:
        if isinstance(link, ConnectionRefusedError):
            return "connection refused", False
    for link in links:
        if isinstance(link, TimeoutError | socket.timeout):
            return "timeout", True
    for link in links:
        if isinstance(link, ConnectionResetError | BrokenPipeError) or (
            type(link).__name__ in _CLOSED
        ):
            return "the connection was closed before a response", False
    innermost = links[-1]
    detail = str(innermost).strip()
    name = type(innermost).__name__
    return (f"{name}: {detail[:120]}" if detail else name), False


_ADVICE = {
    "DNS": "check the host name in base_url / GW_BASE_URL, and your network or proxy",
    "TLS": "check that the URL's scheme and port match the server (https:// needs TLS) "
    "and that your client trusts the server's certificate",
    "refused": "nothing listens at that address: check the host and port in base_url / "
    "GW_BASE_URL, and that the gateway (or `gw emulator`) is running there",
}


def connection_error(exc: BaseException, *, timed_out: bool = False) -> GatewayConnectionError:
    """The typed error for a failure before any response: where, why, what to do.

    ``timed_out``: the SDK already called it a timeout (a :class:`GatewayTimeoutError`
    then, even when the chain does not say which phase).
    """
    cause, is_timeout = describe(exc)
    if timed_out and not is_timeout:
        cause, is_timeout = "timeout", True
    where = endpoint(exc)
    at = f" at {where}" if where else ""
    if is_timeout:
        advice = (
            "the TCP or TLS handshake did not finish: check the address, proxy and firewall"
            if cause == "connect timeout"
            else "raise timeout= or stream_chunk_timeout= if the model needs longer"
        )
        return GatewayTimeoutError(
            scrub(f"timed out waiting for the gateway{at} ({cause}); {advice}")
        )
    advice = next((text for key, text in _ADVICE.items() if key in cause), "")
    tail = f"; {advice}" if advice else ""
    return GatewayConnectionError(
        scrub(f"could not get a response from the gateway{at}: {cause}{tail}")
    )

"""Connection failures name the address and the cause, never the key, through real sockets.

Each case is a real failure on loopback (a closed port, a server that speaks plain HTTP to
a TLS client, a server that never answers) or, for DNS, the resolver's own error: the
exception chains are the ones httpx/httpx2 and the SDK really build, sync and async.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gw_core.catalog import parse
from gw_core.errors import GatewayConnectionError, GatewayTimeoutError
from gw_core.failures import describe
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_core.transport import Gateway

BODY: dict[str, Any] = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}


def _fail(url: str, key: str, mode: str, **timeouts: float) -> GatewayConnectionError:
    settings = Settings.resolve(api_key=key, base_url=url, **timeouts)
    gateway = Gateway(settings, policy=RetryPolicy(max_retries=0))
    with pytest.raises(GatewayConnectionError) as caught:
        if mode == "sync":
            gateway.complete(BODY, parse("gpt-5.4"))
        else:
            asyncio.run(gateway.acomplete(BODY, parse("gpt-5.4")))
    return caught.value


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose server accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    """A server that answers every connection with plain HTTP: a TLS client's handshake
    fails on it, as it does when an https:// URL points at an http:// port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(5)


MODES = ["sync", "async"]


@pytest.mark.parametrize("mode", MODES)
def test_a_closed_port_says_connection_refused_and_names_host_and_port(
    closed_port: int, canary_key: str, mode: str
) -> None:
    err = _fail(f"http://127.0.0.1:{closed_port}", canary_key, mode)
    text = str(err)
    assert f"127.0.0.1:{closed_port}" in text
    assert "connection refused" in text and "GW_BASE_URL" in text
    assert canary_key not in text
    assert not isinstance(err, GatewayTimeoutError)


@pytest.mark.parametrize("mode", MODES)
def test_a_host_that_does_not_resolve_says_dns(
    monkeypatch: pytest.MonkeyPatch, canary_key: str, mode: str
) -> None:
    def no_such_host(*args: object, **kwargs: object) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    err = _fail("https://gw.invalid:8443/gw_llm_power", canary_key, mode)
    assert "gw.invalid:8443" in str(err)
    assert "DNS lookup failed" in str(err)
    assert canary_key not in str(err)


@pytest.mark.parametrize("mode", MODES)
def test_https_to_a_plain_http_server_says_tls(
    plain_http_port: int, canary_key: str, mode: str
) -> None:
    err = _fail(f"https://127.0.0.1:{plain_http_port}", canary_key, mode)
    assert f"127.0.0.1:{plain_http_port}" in str(err)
    assert "TLS handshake failed" in str(err)
    assert canary_key not in str(err)


@pytest.mark.parametrize("mode", MODES)
def test_a_server_that_never_answers_is_a_read_timeout(
    silent_port: int, canary_key: str, mode: str
) -> None:
    err = _fail(f"http://127.0.0.1:{silent_port}", canary_key, mode, timeout=0.3)
    assert isinstance(err, GatewayTimeoutError)
    assert f"127.0.0.1:{silent_port}" in str(err)
    assert "read timeout" in str(err) and "timeout=" in str(err)


def test_an_unknown_cause_is_named_by_its_innermost_exception() -> None:
    try:
        try:
            raise PermissionError(13, "Permission denied")
        except PermissionError as inner:
            raise RuntimeError("Connection error.") from inner
    except RuntimeError as outer:
        assert describe(outer) == ("PermissionError: [Errno 13] Permission denied", False)

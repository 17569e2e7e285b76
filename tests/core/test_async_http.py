"""The async HTTP client under the SDK: aiohttp by default, the SDK's own on request.

Either way the rules hold: no redirects, our timeouts and TLS context, failures typed the
same (a refused or dropped connection is never called a timeout), proxies from the
environment, pooled connections the server closed never reused, sessions closed with
their event loop.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from gw_core import _async_http, errors
from gw_core import client as gw_client
from gw_core.catalog import parse
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_core.transport import Gateway
from gw_core.wire.params import build_body
from gw_emulator import Fault, GatewayEmulator

SPEC = parse("gpt-5.4")
BOTH = ("aiohttp", "sdk")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    gw_client.clear_cache()
    yield
    gw_client.clear_cache()


def _gateway(base_url: str, api_key: str = "sk-test", **settings: Any) -> Gateway:
    s = Settings.resolve(api_key=api_key, base_url=base_url, **settings)
    return Gateway(s, policy=RetryPolicy(max_retries=0))


def _body() -> dict[str, Any]:
    return build_body(SPEC, [{"role": "user", "content": "Hi"}], {})


def _uses_aiohttp(client: Any) -> bool:
    return hasattr(client._client._transport, "inner")


def test_async_clients_run_on_aiohttp_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_async_http.ENV_ASYNC_HTTP, raising=False)
    s = Settings.resolve(api_key="k", base_url="http://127.0.0.1:9")

    async def build() -> Any:
        return gw_client.async_client(s)

    assert _uses_aiohttp(asyncio.run(build()))


def test_gw_async_http_sdk_switches_back_to_the_sdk_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, "sdk")
    s = Settings.resolve(api_key="k", base_url="http://127.0.0.1:9")

    async def build() -> Any:
        return gw_client.async_client(s)

    client = asyncio.run(build())
    assert not _uses_aiohttp(client)
    assert hasattr(client._client._transport, "_pool")  # httpcore's pool


def test_the_setting_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, "aiohttp")
    assert _async_http.async_http_choice("sdk") == "sdk"
    assert _async_http.async_http_choice(" AIOHTTP ") == "aiohttp"
    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, "sdk")
    assert _async_http.async_http_choice() == "sdk"


@pytest.mark.parametrize(("value", "names"), [("httpx", "async_http"), (None, "GW_ASYNC_HTTP")])
def test_an_unknown_choice_is_refused_with_the_allowed_values(
    monkeypatch: pytest.MonkeyPatch, value: str | None, names: str
) -> None:
    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, "curl")
    with pytest.raises(errors.GatewayInputError, match=f"{names} must be one of aiohttp, sdk"):
        _async_http.async_http_choice(value)


@pytest.mark.parametrize("choice", BOTH)
def test_both_keep_our_timeouts_no_redirects_and_one_tls_context(choice: str) -> None:
    import openai

    context = gw_client._shared_ssl_context()
    timeout = openai.Timeout(7.0, connect=3.0)
    http = _async_http.build_async_http_client(timeout=timeout, verify=context, choice=choice)
    assert http.follow_redirects is False
    assert (http.timeout.read, http.timeout.connect) == (7.0, 3.0)
    transport = http._transport
    if choice == "aiohttp":
        assert transport.inner.ssl_context is context
    else:
        assert transport._pool._ssl_context is context


def test_without_aiohttp_the_default_falls_back_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(_async_http.ENV_ASYNC_HTTP, raising=False)
    monkeypatch.setattr(_async_http, "_aiohttp_client_class", lambda: None)
    _async_http._warn_missing_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="gw_core"):
        http = _async_http.build_async_http_client(timeout=5.0, verify=True)
    assert hasattr(http._transport, "_pool")
    assert "pip install 'openai[aiohttp]'" in caplog.text
    with pytest.raises(errors.GatewayInputError, match=r"openai\[aiohttp\].*GW_ASYNC_HTTP=sdk"):
        _async_http.build_async_http_client(timeout=5.0, verify=True, choice="aiohttp")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("choice", BOTH)
async def test_a_refused_connection_is_a_connection_error_not_a_timeout(
    monkeypatch: pytest.MonkeyPatch, choice: str
) -> None:
    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, choice)
    gateway = _gateway(f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(errors.GatewayConnectionError, match="connection refused") as info:
        await gateway.acomplete(_body(), SPEC)
    assert not isinstance(info.value, errors.GatewayTimeoutError)
    await gw_client.aclose_clients()


@pytest.mark.parametrize("choice", BOTH)
async def test_a_connection_reset_before_the_answer_is_not_a_timeout(
    monkeypatch: pytest.MonkeyPatch, gateway_emulator: GatewayEmulator, choice: str
) -> None:
    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, choice)
    gateway_emulator.inject(Fault.reset())
    gateway = _gateway(gateway_emulator.base_url, gateway_emulator.api_key)
    with pytest.raises(errors.GatewayConnectionError) as info:
        await gateway.acomplete(_body(), SPEC)
    assert not isinstance(info.value, errors.GatewayTimeoutError), info.value
    await gw_client.aclose_clients()


_ANSWER = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-5.4",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
    }
).encode()


class _OneShotServer:
    """Answers each connection's first request (saying keep-alive), then closes it.

    It runs on its own thread, so the client's event loop has not seen the close when
    it sends the next request: only a check of the socket itself can tell.
    """

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.request_lines: list[str] = []
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    )
                )
                while len(body) < length:
                    body += conn.recv(65536)
                self.request_lines.append(head.split(b"\r\n")[0].decode())
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"connection: keep-alive\r\ncontent-length: "
                    + str(len(_ANSWER)).encode()
                    + b"\r\n\r\n"
                    + _ANSWER
                )
            self.closed.set()

    def close(self) -> None:
        self.sock.close()
        self._thread.join(5)


@pytest.fixture
def one_shot() -> Iterator[_OneShotServer]:
    server = _OneShotServer()
    yield server
    server.close()


async def test_a_pooled_connection_the_server_closed_is_not_reused(
    one_shot: _OneShotServer,
) -> None:
    gateway = _gateway(f"http://127.0.0.1:{one_shot.port}")
    assert (await gateway.acomplete(_body(), SPEC)).result.content == "hi"
    # Block the loop (on purpose) until the server has closed: the FIN is in the kernel,
    # and the loop has not run since, so aiohttp's own bookkeeping still says "open".
    assert one_shot.closed.wait(10)
    assert (await gateway.acomplete(_body(), SPEC)).route.attempts == 1
    assert len(one_shot.request_lines) == 2
    await gw_client.aclose_clients()


@pytest.mark.parametrize("choice", BOTH)
async def test_environment_proxies_carry_async_requests(
    monkeypatch: pytest.MonkeyPatch, one_shot: _OneShotServer, choice: str
) -> None:
    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, choice)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{one_shot.port}")
    with warnings.catch_warnings():  # plain http to a remote host: warned, not refused
        warnings.simplefilter("ignore")
        gateway = _gateway("http://gateway.invalid/gw")
    client = gw_client.async_client(gateway.settings)
    assert _uses_aiohttp(client) is (choice == "aiohttp")
    assert (await gateway.acomplete(_body(), SPEC)).result.content == "hi"
    assert one_shot.request_lines == ["POST http://gateway.invalid/gw/v1/chat/completions HTTP/1.1"]
    await gw_client.aclose_clients()


def test_sessions_close_with_their_event_loop_without_a_warning(
    monkeypatch: pytest.MonkeyPatch,
    gateway_emulator: GatewayEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, "aiohttp")
    gateway = _gateway(gateway_emulator.base_url, gateway_emulator.api_key)

    async def call() -> Any:
        await gateway.acomplete(_body(), SPEC)
        return gw_client.async_client(gateway.settings)._client._transport.inner.client

    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        sessions = [asyncio.run(call()) for _ in range(2)]
        loop = asyncio.new_event_loop()  # closed without shutdown_asyncgens: abandoned
        abandoned = loop.run_until_complete(call())
        loop.close()
        del loop
        asyncio.run(call())  # drops the abandoned loop's client from the cache
        gc.collect()
    assert all(session.closed for session in sessions)
    assert abandoned.closed  # nothing can use it any more; nothing logs it as an error
    assert "Unclosed" not in caplog.text
    assert not [w for w in seen if "Unclosed client session" in str(w.message)]


def test_the_suite_runs_on_the_async_http_it_was_asked_for(request: pytest.FixtureRequest) -> None:
    asked = request.config.getoption("--async-http")
    s = Settings.resolve(api_key="k", base_url="http://127.0.0.1:9")

    async def build() -> Any:
        return gw_client.async_client(s)

    assert _uses_aiohttp(asyncio.run(build())) is (asked in (None, "aiohttp"))


def test_a_forked_child_counts_the_parents_session_as_closed(
    monkeypatch: pytest.MonkeyPatch, gateway_emulator: GatewayEmulator
) -> None:
    """Nothing in the child may use or close the parent's sockets; dropping the session
    there (fork safety drops the parent's clients) must not log aiohttp's error."""
    import os

    monkeypatch.setenv(_async_http.ENV_ASYNC_HTTP, "aiohttp")
    gateway = _gateway(gateway_emulator.base_url, gateway_emulator.api_key)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(gateway.acomplete(_body(), SPEC))  # a pooled connection
        client = gw_client._async_clients[loop][gw_client._cache_key(gateway.settings)][0]
        session = client._client._transport.inner.client
        assert not session.closed
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            seen: list[str] = []
            handler = logging.Handler()
            handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
            logging.getLogger("asyncio").addHandler(handler)
            state = "closed" if session.closed else "open"
            del session, client
            gw_client._async_clients.clear()
            gc.collect()
            os.write(write, "|".join([state, *seen]).encode())
            os._exit(0)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        report = os.read(read, 4096).decode()
        os.close(read)
        assert not session.closed  # the parent's own session is untouched
    finally:
        loop.run_until_complete(gw_client.aclose_clients())
        loop.close()
    assert status == 0
    assert report == "closed"

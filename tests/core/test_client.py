"""The client factory: SDK retries off, no redirects, our User-Agent, cached without the key."""

from __future__ import annotations

import asyncio
import gc

import openai
import pytest

from gw_core import client as gw_client
from gw_core._version import __version__
from gw_core.settings import Settings


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    gw_client.clear_cache()


def _settings(key: str = "k1", **kw: object) -> Settings:
    return Settings.resolve(api_key=key, base_url="http://127.0.0.1:9", **kw)  # type: ignore[arg-type]


def test_sdk_retries_off_and_redirects_not_followed() -> None:
    c = gw_client.sync_client(_settings())
    assert c.max_retries == 0
    assert c._client.follow_redirects is False
    assert str(c.base_url) == "http://127.0.0.1:9/v1/"


def test_transport_module_matches_the_sdk_major() -> None:
    expected = "httpx2" if gw_client.openai_major() >= 3 else "httpx"
    assert gw_client.HTTPX.__name__ == expected
    assert isinstance(gw_client.sync_client(_settings())._client, gw_client.HTTPX.Client)


def test_user_agent_names_us_and_the_sdk() -> None:
    c = gw_client.sync_client(_settings())
    ua = c.default_headers["User-Agent"]
    assert ua == f"gw-integrations/{__version__} openai-python/{openai.__version__}"


def test_cached_per_settings_not_per_call() -> None:
    a = gw_client.sync_client(_settings("k1"))
    assert gw_client.sync_client(_settings("k1")) is a
    assert gw_client.sync_client(_settings("k2")) is not a
    assert gw_client.sync_client(_settings("k1", timeout=5)) is not a


def test_cache_keys_never_hold_the_key(canary_key: str) -> None:
    gw_client.sync_client(_settings(canary_key))
    assert gw_client._sync_clients
    for key in gw_client._sync_clients:
        assert canary_key not in repr(key)


def test_default_headers_reach_the_client() -> None:
    c = gw_client.sync_client(_settings(default_headers={"X-Team": "rag"}))
    assert c.default_headers["X-Team"] == "rag"


def test_async_clients_are_per_event_loop() -> None:
    s = _settings()

    async def get() -> openai.AsyncOpenAI:
        first = gw_client.async_client(s)
        assert gw_client.async_client(s) is first
        assert first.max_retries == 0 and first._client.follow_redirects is False
        return first

    one = asyncio.run(get())
    two = asyncio.run(get())
    assert one is not two
    del one, two
    gc.collect()


def test_one_tls_context_per_process() -> None:
    sync = gw_client.sync_client(_settings())
    s = _settings()

    async def get() -> openai.AsyncOpenAI:
        return gw_client.async_client(s)

    one, two = asyncio.run(get()), asyncio.run(get())
    contexts = {id(gw_client._shared_ssl_context())}
    for c in (sync, one, two):
        transport = c._client._transport
        if hasattr(transport, "inner"):  # aiohttp, wrapped by gw_core._async_http
            contexts.add(id(transport.inner.ssl_context))
        else:
            contexts.add(id(transport._pool._ssl_context))
    assert len(contexts) == 1


def test_async_clients_close_with_their_event_loop() -> None:
    s = _settings()

    async def use() -> openai.AsyncOpenAI:
        return gw_client.async_client(s)

    clients = [asyncio.run(use()) for _ in range(3)]
    gc.collect()
    assert not gw_client._async_clients  # no loop kept alive by its cached client
    assert all(c.is_closed() for c in clients)


async def test_aclose_clients_closes_the_running_loops_clients() -> None:
    c = gw_client.async_client(_settings())
    await gw_client.aclose_clients()
    assert c.is_closed()
    assert gw_client.async_client(_settings()) is not c

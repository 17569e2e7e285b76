"""The user's own HTTP client, proxies, custom CA bundles and mTLS, all on loopback.

Each path of ``docs/configuration.md`` is run for real: a proxy from the standard
environment variables, a user client tunnelling through a CONNECT proxy, a TLS server
whose certificate only a custom CA bundle trusts, and one that requires a client
certificate.
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from gw_core import client as gw_client
from gw_core.catalog import parse
from gw_core.config import ClientConfig
from gw_core.errors import GatewayAPIError, GatewayConnectionError
from gw_emulator import GatewayEmulator
from tests.core.loopback_net import Certificates, Proxy, Redirector, TLSFront, make_certificates

SPEC = parse("gpt-5.4")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    return make_certificates(Path(tmp_path_factory.mktemp("certs")))


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    gw_client.clear_cache()  # cached clients read the environment when they were built
    yield
    gw_client.clear_cache()


def _port(emu: GatewayEmulator) -> int:
    port = urlsplit(emu.base_url).port
    assert port is not None
    return port


def _config(emu: GatewayEmulator, base_url: str | None = None, **options: Any) -> ClientConfig:
    return ClientConfig.resolve(
        model=SPEC.id,
        api_key=emu.api_key,
        base_url=base_url or emu.base_url,
        max_retries=0,
        **options,
    )


def _body(word: str) -> dict[str, Any]:
    return {"model": SPEC.id, "messages": [{"role": "user", "content": f"Say {word} back."}]}


def _ask(config: ClientConfig, word: str) -> str:
    return config.gateway.complete(_body(word), SPEC).result.content


def _trusting(certs: Certificates, *, client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certs.ca_cert)
    if client_cert:
        context.load_cert_chain(certs.client_cert, certs.client_key)
    return context


def test_a_proxy_from_the_standard_environment_variables_is_used(
    gateway_emulator: GatewayEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        assert "via-env" in _ask(_config(gateway_emulator), "via-env")
    assert proxy.seen == [f"POST {gateway_emulator.base_url}/v1/chat/completions HTTP/1.1"]


def test_a_user_client_tunnels_tls_through_a_connect_proxy(
    gateway_emulator: GatewayEmulator, certs: Certificates
) -> None:
    httpx = gw_client.httpx_module()
    with TLSFront(_port(gateway_emulator), certs, client_ca=False) as front, Proxy() as proxy:
        client = httpx.Client(proxy=proxy.url, verify=_trusting(certs))
        config = _config(gateway_emulator, front.url, http_client=client)
        assert "tunnelled" in _ask(config, "tunnelled")
    assert proxy.seen == [f"CONNECT 127.0.0.1:{front.port} HTTP/1.1"]


def test_a_custom_ca_bundle_is_needed_and_enough(
    gateway_emulator: GatewayEmulator, certs: Certificates
) -> None:
    httpx = gw_client.httpx_module()
    with TLSFront(_port(gateway_emulator), certs, client_ca=False) as front:
        with pytest.raises(GatewayConnectionError):
            _ask(_config(gateway_emulator, front.url), "untrusted")
        client = httpx.Client(verify=_trusting(certs))
        assert "trusted" in _ask(
            _config(gateway_emulator, front.url, http_client=client), "trusted"
        )


def test_mutual_tls_needs_the_client_certificate(
    gateway_emulator: GatewayEmulator, certs: Certificates
) -> None:
    httpx = gw_client.httpx_module()
    with TLSFront(_port(gateway_emulator), certs, client_ca=True) as front:
        anonymous = httpx.Client(verify=_trusting(certs))
        with pytest.raises(GatewayConnectionError):
            _ask(_config(gateway_emulator, front.url, http_client=anonymous), "anonymous")
        known = httpx.Client(verify=_trusting(certs, client_cert=True))
        assert "mtls" in _ask(_config(gateway_emulator, front.url, http_client=known), "mtls")


async def test_a_user_async_client_goes_through_its_proxy(
    gateway_emulator: GatewayEmulator, certs: Certificates
) -> None:
    httpx = gw_client.httpx_module()
    with TLSFront(_port(gateway_emulator), certs, client_ca=False) as front, Proxy() as proxy:
        client = httpx.AsyncClient(proxy=proxy.url, verify=_trusting(certs))
        config = _config(gateway_emulator, front.url, http_async_client=client)
        completion = await config.gateway.acomplete(_body("async-tunnel"), SPEC)
        await client.aclose()
    assert "async-tunnel" in completion.result.content
    assert proxy.seen == [f"CONNECT 127.0.0.1:{front.port} HTTP/1.1"]


def test_a_user_client_that_follows_redirects_still_follows_none(
    gateway_emulator: GatewayEmulator,
) -> None:
    httpx = gw_client.httpx_module()
    with Redirector(gateway_emulator.base_url + "/v1/chat/completions") as redirector:
        client = httpx.Client(follow_redirects=True)
        config = _config(gateway_emulator, redirector.url, http_client=client)
        with pytest.raises(GatewayAPIError) as caught:
            _ask(config, "redirected")
    assert caught.value.status_code == 307
    assert redirector.requests == 1
    assert gateway_emulator.requests == []  # the key never went to the other origin


def _error_server_body() -> bytes:
    """Longer than the default cap (64 KiB): would be cut if the hook cut every request."""
    return b"E" * (100 * 1024)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_a_shared_user_client_reads_its_own_error_bodies_whole(asynchronous: bool) -> None:
    """Our error-body cap is a hook on the user's client; it cuts only our requests."""
    from tests.reliability.hostile import Conn, hostile_server

    body = _error_server_body()

    async def script(conn: Conn) -> None:
        await conn.head(500, content_type="text/plain", length=len(body))
        await conn.raw(body)

    httpx = gw_client.httpx_module()
    with hostile_server() as server:
        server.serve(script)
        user = httpx.AsyncClient() if asynchronous else httpx.Client()
        option = "http_async_client" if asynchronous else "http_client"
        config = ClientConfig.resolve(
            model=SPEC.id, api_key=server.api_key, base_url=server.base_url, max_retries=0,
            tunables={"max_error_body_bytes": 40}, **{option: user},
        )  # fmt: skip
        with pytest.raises(GatewayAPIError) as ours:
            if asynchronous:
                await config.gateway.acomplete(_body("x"), SPEC)
            else:
                config.gateway.complete(_body("x"), SPEC)
        theirs = (
            await user.post(server.base_url + "/elsewhere")
            if asynchronous
            else user.post(server.base_url + "/elsewhere")
        )
        if asynchronous:
            await user.aclose()
        else:
            user.close()
    assert "E" * 40 in str(ours.value) and "E" * 41 not in str(ours.value)  # ours: cut
    assert theirs.status_code == 500 and theirs.content == body  # theirs: whole

"""ClientConfig: frozen and hashable, builds its route once, pickles without it."""

from __future__ import annotations

import asyncio
import copy
import pickle

import pytest

from gw_core import client as gw_client
from gw_core.config import ClientConfig
from gw_core.errors import GatewayInputError
from gw_core.retry import RetryPolicy

BASE = "http://127.0.0.1:9"


def _config(**options: object) -> ClientConfig:
    return ClientConfig.resolve(model="gpt-5.4", api_key="sk-config-test", base_url=BASE, **options)  # type: ignore[arg-type]


def test_equal_arguments_give_equal_hashable_configurations() -> None:
    assert _config(timeout=5) == _config(timeout=5)
    assert hash(_config(timeout=5)) == hash(_config(timeout=5))
    assert len({_config(), _config(timeout=5), _config(pools=["hc"]), _config(max_retries=0)}) == 4
    with pytest.raises(AttributeError):
        _config().pools = ("hc",)  # type: ignore[misc]


def test_the_route_is_built_once_and_held() -> None:
    config = _config(pools=["hc", "official"], max_retries=1)
    route = config.gateway
    assert route is config.gateway
    assert (route.pools, route.policy.max_retries) == (("hc", "official"), 1)
    assert copy.copy(config) is config and copy.deepcopy(config) is config


def test_a_call_no_longer_hashes_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    route = _config().gateway
    first = route.clients.sync()
    calls: list[object] = []
    monkeypatch.setattr(gw_client, "_cache_key", lambda settings: calls.append(settings))

    async def twice() -> None:
        assert route.clients.async_() is route.clients.async_()

    for _ in range(3):
        assert route.clients.sync() is first
    asyncio.run(twice())
    assert calls == []


def test_a_pickle_keeps_the_key_and_rebuilds_the_route() -> None:
    config = _config(timeout=5)
    route = config.gateway
    revived = pickle.loads(pickle.dumps(config))
    assert revived == config
    assert revived.settings.secret() == "sk-config-test"
    assert revived.gateway is not route
    assert revived.gateway.settings.timeout == 5


def test_max_retries_overrides_the_policy_and_a_bad_policy_is_named() -> None:
    policy = RetryPolicy(max_retries=4, budget=10)
    config = _config(policy=policy, max_retries=1)
    assert (config.policy.max_retries, config.policy.budget) == (1, 10)
    assert _config(policy=policy).policy is policy
    with pytest.raises(GatewayInputError, match="RetryPolicy"):
        _config(policy={"max_retries": 1})


def test_user_clients_of_the_wrong_kind_name_the_right_one() -> None:
    httpx = gw_client.httpx_module()
    with pytest.raises(GatewayInputError, match=f"{httpx.__name__}.Client.*http_async_client"):
        _config(http_client=httpx.AsyncClient())
    with pytest.raises(GatewayInputError, match=f"openai {gw_client.openai_major()}.x runs on"):
        _config(http_async_client=object())


def test_a_configuration_with_a_user_client_refuses_to_pickle() -> None:
    config = _config(http_client=gw_client.httpx_module().Client())
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(config)


def test_a_client_from_the_other_http_library_is_refused_naming_ours() -> None:
    ours = gw_client.httpx_module().__name__
    other = pytest.importorskip("httpx" if ours == "httpx2" else "httpx2")
    with pytest.raises(GatewayInputError, match=f"must be a {ours}.Client \\(openai") as caught:
        _config(http_client=other.Client())
    assert f"runs on {ours}" in str(caught.value)

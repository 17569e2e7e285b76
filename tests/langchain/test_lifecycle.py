"""ChatGateway's lifecycle: copies rebuild their route, constructor errors never show the
key, HTTP clients of the user's choosing, and moving a model between processes."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from langchain_core.load import dumpd, dumps, load

from gw_core.client import httpx_module
from gw_emulator import GatewayEmulator
from langchain_gw import ChatGateway
from tests.conftest import CANARY_KEY as CANARY
from tests.reliability.secrets_check import find_key, texts_of_error

BASE = "http://127.0.0.1:9"


def make(**kwargs: Any) -> ChatGateway:
    kwargs.setdefault("model", "gpt-5.4")
    kwargs.setdefault("api_key", CANARY)
    kwargs.setdefault("base_url", BASE)
    return ChatGateway(**kwargs)


# -- a changed copy is a new route --------------------------------------------------------


def test_model_copy_with_changed_fields_rebuilds_the_route() -> None:
    llm = make()
    changed = llm.model_copy(update={"max_retries": 0, "timeout": 5, "pools": ["hc"]})
    route = changed.gateway
    assert route.policy.max_retries == 0
    assert route.settings.timeout == 5
    assert route.pools == ("hc",)
    assert route.settings.secret() == CANARY
    original = llm.gateway  # the original keeps its own
    assert (original.policy.max_retries, original.settings.timeout, original.pools) == (
        2,
        600,
        (),
    )


def test_a_bad_value_in_model_copy_fails_at_the_copy() -> None:
    with pytest.raises(ValueError, match="unknown pool 'gold'"):
        make().model_copy(update={"pools": ["gold"]})


def test_assigning_a_field_rebuilds_the_route_and_a_bad_value_is_refused() -> None:
    llm = make()
    llm.timeout = 7
    llm.base_url = "http://127.0.0.1:10/v1"
    assert llm.gateway.settings.timeout == 7
    assert llm.gateway.settings.base_url == "http://127.0.0.1:10"
    with pytest.raises(ValueError, match="positive number"):
        llm.timeout = -1
    assert llm.timeout == 7 and llm.gateway.settings.timeout == 7


def test_plain_copies_share_the_route_of_their_unchanged_configuration() -> None:
    llm = make()
    assert copy.copy(llm).gateway is llm.gateway
    assert copy.deepcopy(llm).gateway is llm.gateway
    assert llm.model_copy().gateway is llm.gateway


def test_model_copy_validates_its_updates_and_keeps_a_new_key_secret() -> None:
    copied = make().model_copy(update={"api_key": "sk-replaced-key-0002", "seed": 5})
    assert copied.gateway.settings.secret() == "sk-replaced-key-0002"
    assert (
        copied.api_key is not None and copied.api_key.get_secret_value() == "sk-replaced-key-0002"
    )
    assert "sk-replaced-key-0002" not in repr(copied) and copied.seed == 5
    with pytest.raises(ValueError, match="temperature") as caught:
        make().model_copy(update={"temperature": CANARY})
    assert find_key(texts_of_error(caught.value)) == []


# -- constructor errors never show the key --------------------------------------------------


BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"model": None},  # missing model
    {"model": 123},
    {"model": ""},
    {"model": CANARY},  # the key passed where the model goes
    {"apikey": CANARY},  # unknown argument whose value is the key
    {"temprature": CANARY},
    {"api_key": 12345},
    {"base_url": "ftp://example.com"},
    {"base_url": CANARY},  # the key passed where the URL goes
    {"base_url": f"http://user:{CANARY}@example.com"},
    {"base_url": f"http://example.com/?key={CANARY}"},
    {"timeout": -1},
    {"timeout": "soon"},
    {"stream_chunk_timeout": 0},
    {"max_retries": -1},
    {"max_retries": "many"},
    {"temperature": "hot"},
    {"pools": ["gold"]},
    {"pools": "hc"},
    {"default_headers": {"Authorization": f"Bearer {CANARY}"}},
    {"model_kwargs": {"temperature": 1}},
    {"http_client": object()},
    {"http_async_client": "a client"},
]


@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=lambda bad: ",".join(bad))
def test_no_constructor_error_shows_the_key(bad: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"model": "gpt-5.4", "api_key": CANARY, "base_url": BASE, **bad}
    if kwargs["model"] is None:
        del kwargs["model"]
    with pytest.raises((ValueError, TypeError)) as caught:
        ChatGateway(**kwargs)
    assert find_key(texts_of_error(caught.value)) == []


def test_a_missing_model_is_named_model() -> None:
    with pytest.raises(ValueError, match=r"\bmodel\b") as caught:
        ChatGateway(api_key=CANARY)
    assert "model_name" not in str(caught.value)


# -- the user's own HTTP client ------------------------------------------------------------


def test_a_user_http_client_is_used_with_our_rules(gateway_emulator: GatewayEmulator) -> None:
    seen: list[str] = []
    httpx = httpx_module()
    client = httpx.Client(event_hooks={"request": [lambda request: seen.append(request.url.path)]})
    llm = ChatGateway(
        model="gpt-5.4",
        api_key=gateway_emulator.api_key,
        base_url=gateway_emulator.base_url,
        http_client=client,
    )
    assert "Say hello back." in str(llm.invoke("Say hello back.").content)
    assert seen == ["/v1/chat/completions"]
    assert llm.gateway.clients.sync()._client is client
    assert llm.gateway.clients.sync().max_retries == 0  # retries stay ours


async def test_a_user_async_client_is_used(gateway_emulator: GatewayEmulator) -> None:
    seen: list[str] = []

    async def record(request: Any) -> None:
        seen.append(request.url.path)

    client = httpx_module().AsyncClient(event_hooks={"request": [record]})
    llm = ChatGateway(
        model="gpt-5.4",
        api_key=gateway_emulator.api_key,
        base_url=gateway_emulator.base_url,
        http_async_client=client,
    )
    chunks = [chunk.content async for chunk in llm.astream("Say hello back.")]
    assert "hello" in "".join(str(c) for c in chunks)
    assert seen == ["/v1/chat/completions"]
    await client.aclose()


def test_a_client_of_the_wrong_kind_names_the_right_one() -> None:
    httpx = httpx_module()
    with pytest.raises(ValueError, match=f"http_client must be a {httpx.__name__}.Client"):
        make(http_client=httpx.AsyncClient())
    with pytest.raises(ValueError, match=f"{httpx.__name__}.AsyncClient"):
        make(http_async_client=httpx.Client())


# -- moving between processes ---------------------------------------------------------------


def _ask(llm: ChatGateway, prompt: str) -> str:
    import os

    assert "GW_API_KEY" not in os.environ
    return str(llm.invoke(prompt).content)


def test_a_pickled_model_works_in_a_spawned_process_without_gw_api_key(
    gateway_emulator: GatewayEmulator,
) -> None:
    llm = ChatGateway(
        model="gpt-5.4", api_key=gateway_emulator.api_key, base_url=gateway_emulator.base_url
    )
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        answer = pool.submit(_ask, llm, "Say worker-ok back.").result(timeout=240)
    assert "worker-ok" in answer


def test_a_model_with_a_user_http_client_refuses_to_pickle_clearly() -> None:
    llm = make(http_client=httpx_module().Client())
    with pytest.raises(TypeError, match="receiving process its own client"):
        pickle.dumps(llm)


def test_text_serializations_never_hold_the_key() -> None:
    llm = make(temperature=0.2, http_client=httpx_module().Client())
    texts = [dumps(llm), repr(dumpd(llm)), repr(llm), llm.model_dump_json()]
    assert find_key(texts) == []


def test_load_of_dumpd_with_the_documented_call(
    gateway_emulator: GatewayEmulator,
) -> None:
    llm = ChatGateway(
        model="gpt-5.4",
        api_key=gateway_emulator.api_key,
        base_url=gateway_emulator.base_url,
        temperature=0.2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # langchain-core's beta warning
        revived = load(
            dumpd(llm),
            secrets_map={"GW_API_KEY": gateway_emulator.api_key},
            valid_namespaces=["langchain_gw"],
            allowed_objects=[ChatGateway],
        )
    assert isinstance(revived, ChatGateway) and revived.temperature == 0.2
    assert "Say loaded back." in str(revived.invoke("Say loaded back.").content)

"""GatewayLLM's lifecycle, the same as ChatGateway's: copies rebuild their route,
constructor errors never show the key, the same parameters, the user's HTTP clients,
and moving a model between processes."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.tools import FunctionTool
from pydantic import SecretStr

from gw_core.client import httpx_module
from gw_emulator import GatewayEmulator
from langchain_gw import ChatGateway
from llamaindex_gw import GatewayLLM
from tests.conftest import CANARY_KEY as CANARY
from tests.reliability.secrets_check import find_key, texts_of_error

BASE = "http://127.0.0.1:9"


def make(**kwargs: Any) -> GatewayLLM:
    kwargs.setdefault("api_key", CANARY)
    kwargs.setdefault("base_url", BASE)
    return GatewayLLM(**kwargs)


# -- a changed copy is a new route ------------------------------------------------------------


def test_model_copy_with_changed_fields_rebuilds_the_route() -> None:
    llm = make()
    changed = llm.model_copy(update={"max_retries": 0, "timeout": 5, "pools": ["hc"]})
    route = changed.gateway
    assert (route.policy.max_retries, route.settings.timeout, route.pools) == (0, 5, ("hc",))
    assert route.settings.secret() == CANARY
    assert (llm.gateway.policy.max_retries, llm.gateway.pools) == (2, ())
    assert copy.copy(llm).gateway is llm.gateway
    with pytest.raises(ValueError, match="unknown pool 'gold'"):
        llm.model_copy(update={"pools": ["gold"]})


def test_api_key_reads_as_a_secret_and_can_be_replaced() -> None:
    llm = make()
    assert isinstance(llm.api_key, SecretStr)
    assert llm.api_key.get_secret_value() == CANARY
    assert CANARY not in repr(llm.api_key) + repr(llm) + llm.to_json()
    llm.api_key = "sk-rotated-key-0001"
    assert llm.gateway.settings.secret() == "sk-rotated-key-0001"


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
    {"model": 123},
    {"model": ""},
    {"model": CANARY},  # the key passed where the model goes
    {"apikey": CANARY},  # unknown argument whose value is the key
    {"temprature": CANARY},
    {"api_key": 12345},
    {"api_key": CANARY.encode()},
    {"base_url": "ftp://example.com"},
    {"base_url": CANARY},
    {"base_url": f"http://user:{CANARY}@example.com"},
    {"base_url": f"http://example.com/?key={CANARY}"},
    {"timeout": -1},
    {"timeout": "soon"},
    {"stream_chunk_timeout": 0},
    {"max_retries": -1},
    {"top_logprobs": "many"},
    {"temperature": "hot"},
    {"pools": ["gold"]},
    {"default_headers": {"Authorization": f"Bearer {CANARY}"}},
    {"retry_policy": {"token": CANARY}},
    {"http_client": object()},
    {"http_async_client": "a client"},
]


@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=lambda bad: ",".join(bad))
def test_no_constructor_error_shows_the_key(bad: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"api_key": CANARY, "base_url": BASE, **bad}
    with pytest.raises((ValueError, TypeError)) as caught:
        GatewayLLM(**kwargs)
    assert find_key(texts_of_error(caught.value)) == []


# -- the same parameters as ChatGateway ---------------------------------------------------------

PARAMS: dict[str, Any] = {
    "reasoning_effort": "low",
    "seed": 7,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.2,
    "logprobs": True,
    "top_logprobs": 2,
}


def test_chat_gateways_parameters_are_sent_the_same_way(
    gateway_emulator: GatewayEmulator,
) -> None:
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    GatewayLLM(model="gpt-5.4", **where, **PARAMS).complete("Hi")
    ChatGateway(
        model="gpt-5.4",
        **where,
        **{
            k: v
            for k, v in PARAMS.items()
            if k in ("reasoning_effort", "seed", "presence_penalty", "frequency_penalty")
        },
        model_kwargs={"logprobs": True, "top_logprobs": 2},
    ).invoke("Hi")
    ours, theirs = (request.body for request in gateway_emulator.requests)
    assert ours == theirs
    assert {key: ours[key] for key in PARAMS} == PARAMS


def test_strict_and_parallel_tool_calls_reach_the_tools_request(
    gateway_emulator: GatewayEmulator,
) -> None:
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    llm = GatewayLLM(
        model="gpt-5.4",
        api_key=gateway_emulator.api_key,
        base_url=gateway_emulator.base_url,
        strict=True,
        parallel_tool_calls=False,
    )
    llm.chat_with_tools([FunctionTool.from_defaults(add)], user_msg="add 1 and 2")
    llm.complete("no tools here")
    with_tools, without = gateway_emulator.requests
    assert with_tools.body["tools"][0]["function"]["strict"] is True
    assert with_tools.body["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in without.body  # refused upstream without tools


# -- the user's own HTTP client --------------------------------------------------------------


def test_a_user_http_client_is_used(gateway_emulator: GatewayEmulator) -> None:
    seen: list[str] = []
    client = httpx_module().Client(
        event_hooks={"request": [lambda request: seen.append(request.url.path)]}
    )
    llm = GatewayLLM(
        model="gpt-5.4",
        api_key=gateway_emulator.api_key,
        base_url=gateway_emulator.base_url,
        http_client=client,
    )
    assert "Say hi back." in llm.complete("Say hi back.").text
    assert seen == ["/v1/chat/completions"]
    assert "http_client" not in llm.to_dict()


def test_a_client_of_the_wrong_kind_names_the_right_one() -> None:
    httpx = httpx_module()
    with pytest.raises(ValueError, match=f"http_client must be a {httpx.__name__}.Client"):
        make(http_client=httpx.AsyncClient())


# -- moving between processes ---------------------------------------------------------------


def _ask(llm: GatewayLLM, prompt: str) -> str:
    import os

    assert "GW_API_KEY" not in os.environ
    return llm.chat([ChatMessage(role=MessageRole.USER, content=prompt)]).message.content or ""


def test_a_pickled_model_works_in_a_spawned_process_without_gw_api_key(
    gateway_emulator: GatewayEmulator,
) -> None:
    llm = GatewayLLM(
        model="gpt-5.4", api_key=gateway_emulator.api_key, base_url=gateway_emulator.base_url
    )
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        answer = pool.submit(_ask, llm, "Say worker-ok back.").result(timeout=240)
    assert "worker-ok" in answer


def test_a_model_with_a_user_http_client_refuses_to_pickle_clearly() -> None:
    with pytest.raises(TypeError, match="receiving process its own client"):
        pickle.dumps(make(http_client=httpx_module().Client()))


def test_from_dict_of_to_dict_with_the_key_given_again(gateway_emulator: GatewayEmulator) -> None:
    llm = GatewayLLM(
        model="gpt-5.4",
        api_key=gateway_emulator.api_key,
        base_url=gateway_emulator.base_url,
        seed=3,
    )
    data = llm.to_dict()
    assert gateway_emulator.api_key not in repr(data)
    revived = GatewayLLM.from_dict(data, api_key=gateway_emulator.api_key)
    assert revived.seed == 3
    assert "Say again back." in revived.complete("Say again back.").text

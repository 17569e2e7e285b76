"""GatewayLLM's own lifecycle: the key as a property, its own constructor errors, tool
options, and LlamaIndex's ``to_dict``/``from_dict``.

What both adapters share (copies rebuild their route, constructor errors never show the
key, the same parameters, the user's HTTP clients, moving between processes) is in
tests/test_adapters_agree.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.tools import FunctionTool
from pydantic import SecretStr

from gw_core.client import httpx_module
from gw_emulator import GatewayEmulator
from llamaindex_gw import GatewayLLM
from tests.conftest import CANARY_KEY as CANARY
from tests.reliability.secrets_check import find_key, texts_of_error

BASE = "http://127.0.0.1:9"


def make(**kwargs: Any) -> GatewayLLM:
    kwargs.setdefault("api_key", CANARY)
    kwargs.setdefault("base_url", BASE)
    return GatewayLLM(**kwargs)


def test_api_key_reads_as_a_secret_and_can_be_replaced() -> None:
    llm = make()
    assert isinstance(llm.api_key, SecretStr)
    assert llm.api_key.get_secret_value() == CANARY
    assert CANARY not in repr(llm.api_key) + repr(llm) + llm.to_json()
    llm.api_key = "sk-rotated-key-0001"
    assert llm.gateway.settings.secret() == "sk-rotated-key-0001"


# -- constructor errors never show the key (the cases only GatewayLLM has) ----------------

BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"top_logprobs": "many"},
    {"retry_policy": {"token": CANARY}},
]


@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=lambda bad: ",".join(bad))
def test_no_constructor_error_shows_the_key(bad: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"api_key": CANARY, "base_url": BASE, **bad}
    with pytest.raises((ValueError, TypeError)) as caught:
        GatewayLLM(**kwargs)
    assert find_key(texts_of_error(caught.value)) == []


# -- tool options --------------------------------------------------------------------------


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


# -- LlamaIndex's serializations -----------------------------------------------------------


def test_a_user_http_client_is_left_out_of_to_dict() -> None:
    assert "http_client" not in make(http_client=httpx_module().Client()).to_dict()


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

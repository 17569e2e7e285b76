"""ChatGateway's own lifecycle: a missing model, LangChain's serializations and ``load``.

What both adapters share (copies rebuild their route, constructor errors never show the
key, the user's HTTP clients, moving between processes) is in tests/test_adapters_agree.py.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.load import dumpd, dumps, load

from gw_core.client import httpx_module
from gw_emulator import GatewayEmulator
from langchain_gw import ChatGateway
from tests.conftest import CANARY_KEY as CANARY
from tests.reliability.secrets_check import find_key, texts_of_error

BASE = "http://127.0.0.1:9"


# -- constructor errors never show the key (the cases only ChatGateway has) ---------------


BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"model": None},  # missing model (GatewayLLM has a default)
    {"model_kwargs": {"temperature": 1}},  # a typed field passed in model_kwargs
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


# -- LangChain's serializations ------------------------------------------------------------


def test_text_serializations_never_hold_the_key() -> None:
    llm = ChatGateway(
        model="gpt-5.4",
        api_key=CANARY,
        base_url=BASE,
        temperature=0.2,
        http_client=httpx_module().Client(),
    )
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

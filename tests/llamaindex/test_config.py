"""Construction, configuration, metadata and the key's secrecy."""

from __future__ import annotations

import json
import logging
import pickle
import traceback

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms.function_calling import FunctionCallingLLM
from pydantic import SecretStr, ValidationError

from gw_core.catalog import all_ids, parse
from gw_core.retry import RetryPolicy
from gw_core.settings import DEFAULT_BASE_URL, MissingAPIKeyError
from gw_emulator import GatewayEmulator
from llamaindex_gw import DEFAULT_MODEL, AuthenticationError, GatewayLLM

from .conftest import FAST_RETRIES, EventLog, MakeLLM

LOOPBACK = "http://127.0.0.1:9"


def test_is_a_function_calling_llm_named_gateway_llm(canary_key: str) -> None:
    llm = GatewayLLM(api_key=canary_key, base_url=LOOPBACK)
    assert isinstance(llm, FunctionCallingLLM)
    assert GatewayLLM.class_name() == "GatewayLLM"
    assert llm.model == DEFAULT_MODEL == "gpt-5.4"


def test_missing_key_fails_at_construction_naming_the_variable() -> None:
    with pytest.raises(MissingAPIKeyError, match="GW_API_KEY") as info:
        GatewayLLM(model="claude-sonnet-4-6")
    assert isinstance(info.value, ValueError)


def test_key_and_address_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_API_KEY", "sk-from-env")
    monkeypatch.setenv("GW_BASE_URL", "http://127.0.0.1:8080/v1/")
    llm = GatewayLLM()
    assert llm.base_url == "http://127.0.0.1:8080"


def test_documented_address_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_API_KEY", "sk-from-env")
    with pytest.warns(UserWarning, match="plain http"):
        llm = GatewayLLM()
    assert llm.base_url == DEFAULT_BASE_URL


def test_aliases_api_base_and_max_tokens(canary_key: str) -> None:
    llm = GatewayLLM(api_key=SecretStr(canary_key), api_base=LOOPBACK + "/v1", max_tokens=300)
    assert llm.base_url == LOOPBACK
    assert llm.max_completion_tokens == 300
    assert llm.metadata.num_output == 300


def test_misspelled_argument_is_an_error_not_ignored(canary_key: str) -> None:
    with pytest.raises(ValidationError, match="temprature"):
        GatewayLLM(api_key=canary_key, base_url=LOOPBACK, temprature=0.2)


def test_unknown_pool_fails_at_construction(canary_key: str) -> None:
    with pytest.raises(ValueError, match="not offered in the 'low' pool"):
        GatewayLLM(model="claude-opus-4-7", api_key=canary_key, base_url=LOOPBACK, pools=["low"])


def test_bad_retry_policy_type_is_refused(canary_key: str) -> None:
    with pytest.raises(ValidationError, match="RetryPolicy"):
        GatewayLLM(api_key=canary_key, base_url=LOOPBACK, retry_policy={"max_retries": 1})


@pytest.mark.parametrize("model_id", all_ids())
def test_metadata_is_right_for_every_catalog_model(canary_key: str, model_id: str) -> None:
    spec = parse(model_id)
    meta = GatewayLLM(model=model_id, api_key=canary_key, base_url=LOOPBACK).metadata
    assert meta.model_name == model_id
    assert meta.is_chat_model and meta.is_function_calling_model
    assert meta.context_window == spec.context_window
    assert meta.num_output == spec.max_output
    assert meta.system_role == MessageRole.SYSTEM


def test_metadata_overrides_and_unknown_models(canary_key: str) -> None:
    llm = GatewayLLM(
        model="mistral-large-3", api_key=canary_key, base_url=LOOPBACK, context_window=32_000
    )
    assert llm.metadata.context_window == 32_000
    assert llm.metadata.num_output == parse("mistral-large-3").max_output
    llm = GatewayLLM(model="gpt-5.5", api_key=canary_key, base_url=LOOPBACK, num_output=512)
    assert llm.metadata.num_output == 512


def test_retry_settings(canary_key: str) -> None:
    llm = GatewayLLM(api_key=canary_key, base_url=LOOPBACK, max_retries=5)
    assert llm._transport().policy.max_retries == 5
    llm = GatewayLLM(api_key=canary_key, base_url=LOOPBACK, retry_policy=FAST_RETRIES)
    assert llm.max_retries == FAST_RETRIES.max_retries
    assert llm._transport().policy is FAST_RETRIES
    both = GatewayLLM(
        api_key=canary_key, base_url=LOOPBACK, retry_policy=FAST_RETRIES, max_retries=0
    )
    policy = both._transport().policy
    assert isinstance(policy, RetryPolicy) and policy.max_retries == 0
    assert policy.sleep is FAST_RETRIES.sleep


def test_changing_a_field_rebuilds_the_transport_with_the_same_key(canary_key: str) -> None:
    llm = GatewayLLM(api_key=canary_key, base_url=LOOPBACK, timeout=5)
    before = llm._transport()
    llm.timeout = 7
    llm.pools = ["hc", "official"]
    after = llm._transport()
    assert after is not before
    assert after.settings.timeout == 7 and after.pools == ("hc", "official")
    assert after.settings.secret() == canary_key
    assert llm._transport() is after


# -- the key never shows -----------------------------------------------------------------


def _everything_printable(llm: GatewayLLM) -> str:
    return "\n".join(
        [
            repr(llm),
            str(llm),
            json.dumps(llm.to_dict()),
            llm.to_json(),
            json.dumps(llm.to_payload()),
            llm.model_dump_json(),
            repr(llm._transport()),
            repr(llm._transport().settings),
        ]
    )


def test_canary_key_absent_from_repr_dumps_and_payload(canary_key: str) -> None:
    llm = GatewayLLM(
        model="claude-opus-4-7",
        api_key=canary_key,
        base_url=LOOPBACK,
        default_headers={"X-Team": "search"},
    )
    text = _everything_printable(llm)
    assert canary_key not in text
    assert "api_key" not in llm.to_dict()
    assert llm.to_dict()["default_headers"] == {"X-Team": "search"}


def test_to_dict_round_trip_reads_the_key_from_the_environment(
    canary_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = GatewayLLM(model="gemini-2.5-pro", api_key=canary_key, base_url=LOOPBACK, top_p=0.5)
    with pytest.raises(MissingAPIKeyError):
        GatewayLLM.from_dict(llm.to_dict())
    monkeypatch.setenv("GW_API_KEY", "sk-other")
    again = GatewayLLM.from_json(llm.to_json())
    assert (again.model, again.top_p, again.base_url) == ("gemini-2.5-pro", 0.5, LOOPBACK)


def test_a_pickled_model_keeps_its_key_like_chat_gateway(canary_key: str) -> None:
    # One policy for both adapters (docs/security.md): a pickle moves a working model to
    # a worker, so it carries the key; no text form shows it.
    llm = GatewayLLM(api_key=canary_key, base_url=LOOPBACK, temperature=0.3)
    copy = pickle.loads(pickle.dumps(llm))
    assert copy.temperature == 0.3
    assert copy._transport().settings.secret() == canary_key
    assert copy.api_key is not None and copy.api_key.get_secret_value() == canary_key
    assert canary_key not in repr(copy) + repr(copy.api_key) + copy.to_json()


def test_canary_key_absent_from_errors_logs_and_events(
    gateway_emulator: GatewayEmulator,
    canary_key: str,
    caplog: pytest.LogCaptureFixture,
    events: EventLog,
) -> None:
    # The emulator expects its own key: ours is refused with a 401.
    llm = GatewayLLM(
        model="gpt-5.5",
        api_key=canary_key,
        base_url=gateway_emulator.base_url,
        retry_policy=FAST_RETRIES,
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as info:
        llm.chat([ChatMessage(role=MessageRole.USER, content="hello")])
    with pytest.raises(AuthenticationError) as stream_info:
        list(llm.stream_chat([ChatMessage(role=MessageRole.USER, content="hello")]))
    rendered = "".join(
        traceback.format_exception(info.value) + traceback.format_exception(stream_info.value)
    )
    assert canary_key not in rendered
    assert canary_key not in caplog.text
    assert canary_key not in repr([e.model_dump() for e in events.events])
    assert "LLMChatStartEvent" in events.names()


def test_llm_from_the_fixture_is_usable(make_llm: MakeLLM) -> None:
    assert make_llm().complete("Say hello.").text

"""Construction, identity, tools binding and serialization of ChatGateway (no network)."""

from __future__ import annotations

import copy
import pickle
import warnings
from typing import Any

import pytest
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableBinding, RunnableSequence
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from gw_core.errors import ParameterError
from gw_core.settings import MissingAPIKeyError
from langchain_gw import ChatGateway, GatewayInputError
from tests.conftest import CANARY_KEY as CANARY

BASE = "http://127.0.0.1:9"


def make(**kwargs: Any) -> ChatGateway:
    kwargs.setdefault("model", "gpt-5.4")
    kwargs.setdefault("api_key", CANARY)
    kwargs.setdefault("base_url", BASE)
    return ChatGateway(**kwargs)


class Weather(BaseModel):
    """Weather in a city."""

    city: str = Field(description="the city")


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "sunny"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# -- construction --------------------------------------------------------------------------


def test_missing_key_is_a_typed_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GW_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="GW_API_KEY") as caught:
        ChatGateway(model="gpt-5.4", base_url=BASE)
    assert isinstance(caught.value, ValueError)


def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_API_KEY", CANARY)
    monkeypatch.setenv("GW_BASE_URL", "http://localhost:8080/v1")
    llm = ChatGateway(model_name="claude-opus-4-7")
    assert llm.api_key is not None and llm.api_key.get_secret_value() == CANARY
    assert llm.gateway.settings.base_url == "http://localhost:8080"  # /v1 accepted
    assert llm.model == "claude-opus-4-7"


def test_aliases() -> None:
    llm = make(model_name="gemini-2.5-pro", max_tokens=50, api_base=BASE, stop_sequences=["x"])
    assert (llm.model, llm.max_completion_tokens, llm.base_url, llm.stop) == (
        "gemini-2.5-pro",
        50,
        BASE,
        ["x"],
    )


def test_unset_parameters_are_not_request_parameters() -> None:
    assert make()._default_params == {}
    llm = make(temperature=0, max_tokens=10, model_kwargs={"logprobs": True})
    assert llm._default_params == {"temperature": 0, "max_completion_tokens": 10, "logprobs": True}


def test_misspelt_argument_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(GatewayInputError, match="'temprature' \\(did you mean 'temperature'\\?\\)"):
        make(temprature=0.2)


@pytest.mark.parametrize(
    ("model_kwargs", "match"),
    [
        ({"temperature": 0.1}, "pass temperature as"),
        ({"max_tokens": 5}, "pass max_tokens as"),
        ({"stream": True}, "may not set stream"),
    ],
)
def test_model_kwargs_may_not_shadow_fields(model_kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(GatewayInputError, match=match):
        make(model_kwargs=model_kwargs)


def test_pools_are_checked_against_the_catalog() -> None:
    assert make(pools=["hc", "official"]).gateway.pools == ("hc", "official")
    with pytest.raises(ValueError, match="unknown pool 'gold'"):
        make(pools=["gold"])
    with pytest.raises(ValueError, match="not offered in the 'low' pool"):
        make(model="claude-opus-4-7", pools=["low"])


def test_validation_errors_never_echo_the_key() -> None:
    for bad in ({"base_url": "ftp://x"}, {"pools": ["gold"]}, {"temperature": "hot"}):
        with pytest.raises(ValueError) as caught:
            make(**bad)
        assert CANARY not in str(caught.value)
        assert CANARY not in repr(caught.value)


# -- identity ----------------------------------------------------------------------------


def test_identity_and_tracing_params() -> None:
    llm = make(temperature=0.3, max_tokens=64, stop="END")
    assert llm._llm_type == "gw-chat"
    assert llm._get_ls_params() == {
        "ls_provider": "gw",
        "ls_model_name": "gpt-5.4",
        "ls_model_type": "chat",
        "ls_temperature": 0.3,
        "ls_max_tokens": 64,
        "ls_stop": ["END"],
    }
    overridden = llm._get_ls_params(stop=["x"], model="gpt-5.5", temperature=1, max_tokens=5)
    assert overridden["ls_model_name"] == "gpt-5.5"
    assert (overridden["ls_temperature"], overridden["ls_max_tokens"]) == (1.0, 5)
    assert overridden["ls_stop"] == ["x"]
    assert llm._identifying_params == {
        "model": "gpt-5.4",
        "base_url": BASE,
        "pools": None,
        "temperature": 0.3,
        "max_completion_tokens": 64,
        "stop": "END",
    }


@pytest.mark.parametrize(
    ("model", "context", "video", "structured"),
    [
        ("gpt-5.4-hc", 1_050_000, False, True),
        ("claude-opus-4-7-official", 1_000_000, False, False),
        ("gemini-3.1-pro-preview-low", 1_048_576, True, True),
        ("gpt-6-experimental", 128_000, False, True),
    ],
)
def test_profile_from_the_catalog_for_pool_suffixed_ids(
    model: str, context: int, video: bool, structured: bool
) -> None:
    profile = make(model=model).profile
    assert profile is not None
    assert profile["max_input_tokens"] == context
    assert profile["video_inputs"] is video
    assert profile["structured_output"] is structured
    assert profile["tool_calling"] is True
    assert profile["temperature"] is (model != "claude-opus-4-7-official")


def test_token_counting_is_offline_and_deterministic() -> None:
    llm = make()
    assert llm.get_num_tokens("Hello, world! 123456") == 6
    assert len(llm.get_token_ids("Hello, world!")) == 4
    assert llm.get_token_ids("a b") == llm.get_token_ids("a b")
    messages = [
        HumanMessage("What is the weather in Paris?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "1"}]),
    ]
    without_tools = llm.get_num_tokens_from_messages(messages)
    with_tools = llm.get_num_tokens_from_messages(messages, tools=[get_weather])
    assert 0 < without_tools < with_tools
    custom = make(custom_get_token_ids=lambda text: [1] * len(text))
    assert custom.get_num_tokens("abc") == 3


# -- tools and structured output -------------------------------------------------------------


def _bound(runnable: Any) -> dict[str, Any]:
    assert isinstance(runnable, RunnableBinding)
    return dict(runnable.kwargs)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        (False, "none"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_bind_tools_normalizes_tool_choice(choice: Any, expected: Any) -> None:
    kwargs = _bound(make().bind_tools([get_weather, add, Weather], tool_choice=choice))
    assert kwargs["tool_choice"] == expected
    assert [t["function"]["name"] for t in kwargs["tools"]] == ["get_weather", "add", "Weather"]


def test_bind_tools_formats_every_kind_of_tool() -> None:
    schema = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }
    kwargs = _bound(
        make().bind_tools(
            [get_weather, add, Weather, schema], strict=True, parallel_tool_calls=False
        )
    )
    tools = kwargs["tools"]
    assert tools[0]["function"]["strict"] is True
    assert tools[2]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    assert tools[3] == schema
    assert kwargs["parallel_tool_calls"] is False
    assert "tool_choice" not in kwargs


def test_bad_tool_choice_fails_at_bind_time() -> None:
    with pytest.raises(ParameterError, match="not among the tools"):
        make().bind_tools([get_weather], tool_choice="launch_rockets")
    with pytest.raises(ParameterError, match="no tools were given"):
        make().bind_tools([], tool_choice="any")


@pytest.mark.parametrize(
    ("model", "method"),
    [
        ("claude-sonnet-4-6", "function_calling"),
        ("gpt-5.4", "json_schema"),
        ("gemini-2.5-pro", "json_schema"),
    ],
)
def test_structured_output_default_method_per_family(model: str, method: str) -> None:
    runnable = make(model=model).with_structured_output(Weather)
    assert isinstance(runnable, RunnableSequence)
    kwargs = _bound(runnable.first)
    assert kwargs["ls_structured_output_format"]["kwargs"]["method"] == method
    if method == "function_calling":
        assert kwargs["tool_choice"] == {"type": "function", "function": {"name": "Weather"}}
        assert "parallel_tool_calls" not in kwargs  # the user did not set it
        assert "response_format" not in kwargs
    else:
        assert kwargs["response_format"]["type"] == "json_schema"
        assert kwargs["response_format"]["json_schema"]["name"] == "Weather"
        assert "tools" not in kwargs


def test_structured_output_json_schema_strict_and_bad_arguments() -> None:
    runnable = make().with_structured_output(Weather, method="json_schema", strict=True)
    assert isinstance(runnable, RunnableSequence)
    fmt = _bound(runnable.first)["response_format"]["json_schema"]
    assert fmt["strict"] is True
    assert fmt["schema"]["additionalProperties"] is False
    with pytest.raises(ValueError, match="method must be one of"):
        make().with_structured_output(Weather, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported arguments"):
        make().with_structured_output(Weather, tools=[add])


# -- secrets -----------------------------------------------------------------------------


def test_canary_key_never_appears_in_repr_dumps_or_traces() -> None:
    llm = make(temperature=0.1)
    texts = [
        repr(llm),
        str(llm),
        repr(llm.gateway),
        dumps(llm),
        str(dumpd(llm)),
        str(llm._identifying_params),
        str(llm._get_invocation_params()),
        str(llm._get_ls_params()),
        repr(copy.deepcopy(llm)),
        str(llm.model_dump()),
        llm.model_dump_json(),
    ]
    for text in texts:
        assert CANARY not in text
    assert dumpd(llm)["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["GW_API_KEY"]}


def test_dumps_round_trips_through_load_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = make(model="claude-haiku-4-5", temperature=0.5, pools=["hc", "official"])
    monkeypatch.setenv("GW_API_KEY", "another-key")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        revived = load(
            dumpd(llm),
            valid_namespaces=["langchain_gw"],
            allowed_objects=[ChatGateway],
            secrets_from_env=True,
        )
    assert isinstance(revived, ChatGateway)
    assert (revived.model, revived.temperature, revived.pools) == (
        "claude-haiku-4-5",
        0.5,
        ["hc", "official"],
    )
    assert revived.api_key is not None and revived.api_key.get_secret_value() == "another-key"


def test_a_pickled_model_still_works_and_keeps_its_key() -> None:
    # Pickle must carry the key (a revived model has to authenticate); what it must not
    # do is expose it through repr: SecretStr stays masked after the round trip.
    revived = pickle.loads(pickle.dumps(make()))
    assert revived.api_key is not None and revived.api_key.get_secret_value() == CANARY
    assert CANARY not in repr(revived)

"""Both adapters give the same answer for the same input (the core decides, once)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, VideoBlock
from llama_index.core.llms.function_calling import FunctionCallingLLM

from gw_core.config import PARAM_FIELDS
from gw_core.errors import CapabilityError, GatewayInputError, ParameterError
from gw_emulator import GatewayEmulator, ScriptedReply
from langchain_gw import ChatGateway
from llamaindex_gw import GatewayLLM

ROOT = Path(__file__).resolve().parent.parent
LOCAL = "http://127.0.0.1:9"  # never called: these tests fail or pass before any request
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20
VIDEOS = {
    "inline": (
        {"type": "video", "base64": base64.b64encode(MP4).decode(), "mime_type": "video/mp4"},
        VideoBlock(video=MP4, video_mimetype="video/mp4"),
    ),
    "url-without-a-video-suffix": (
        {"type": "video", "url": "https://example.com/watch?v=42", "mime_type": "video/mp4"},
        VideoBlock(url="https://example.com/watch?v=42", video_mimetype="video/mp4"),
    ),
}


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gpt-5.4"])
@pytest.mark.parametrize("video", list(VIDEOS), ids=list(VIDEOS))
def test_video_to_a_non_gemini_model_is_the_same_error_before_any_request(
    model: str, video: str, gateway_emulator: GatewayEmulator
) -> None:
    lc_block, li_block = VIDEOS[video]
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    with pytest.raises(CapabilityError) as from_langchain:
        ChatGateway(model=model, **where).invoke(
            [HumanMessage(content=[{"type": "text", "text": "what happens?"}, lc_block])]
        )
    message = ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="what happens?"), li_block])
    with pytest.raises(CapabilityError) as from_llamaindex:
        GatewayLLM(model=model, **where).chat([message])
    assert type(from_langchain.value) is type(from_llamaindex.value)
    assert str(from_langchain.value) == str(from_llamaindex.value)
    assert f"{model} cannot take video" in str(from_langchain.value)
    assert gateway_emulator.requests == []


def test_both_adapters_report_usage_in_the_cores_one_spelling(
    gateway_emulator: GatewayEmulator,
) -> None:
    usage = {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    gateway_emulator.script(ScriptedReply(content="ok", usage=usage))
    gateway_emulator.script(ScriptedReply(content="ok", usage=usage))
    result = ChatGateway(model="gpt-5.4", **where).generate([[HumanMessage(content="hi")]])
    response = GatewayLLM(model="gpt-5.4", **where).chat(
        [ChatMessage(role=MessageRole.USER, content="hi")]
    )
    assert result.llm_output is not None
    assert result.llm_output["token_usage"] == usage
    assert isinstance(response.raw, dict)
    assert response.raw["usage"] == usage


def test_no_adapter_module_assembles_streams_or_spells_usage_itself() -> None:
    """Stream assembly and usage dicts live in gw_core.wire, once."""
    for package in ("langchain_gw", "llamaindex_gw"):
        for path in (ROOT / package).glob("*.py"):
            source = path.read_text()
            for core_only in ('"prompt_tokens"', "new_tool_call_id", "merge_extra_content"):
                assert core_only not in source, (path.name, core_only)


@pytest.mark.parametrize(
    ("arguments", "sent"),
    [
        ({"max_tokens": 10}, 10),
        ({"max_completion_tokens": 20}, 20),
        ({"max_tokens": 15, "max_completion_tokens": 15}, 15),
    ],
)
def test_both_constructors_take_either_spelling_of_the_output_limit(
    arguments: dict[str, int], sent: int, gateway_emulator: GatewayEmulator
) -> None:
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    ChatGateway(model="gpt-5.4", **where, **arguments).invoke("Hi")
    GatewayLLM(model="gpt-5.4", **where, **arguments).complete("Hi")
    bodies = [request.body for request in gateway_emulator.requests]
    assert [body["max_completion_tokens"] for body in bodies] == [sent, sent]
    assert all("max_tokens" not in body for body in bodies)


def test_both_constructors_refuse_two_output_limits_that_disagree_alike() -> None:
    arguments = {
        "api_key": "k-test",
        "base_url": LOCAL,
        "max_tokens": 10,
        "max_completion_tokens": 20,
    }
    with pytest.raises(ParameterError) as from_langchain:
        ChatGateway(model="gpt-5.4", **arguments)
    with pytest.raises(ParameterError) as from_llamaindex:
        GatewayLLM(model="gpt-5.4", **arguments)
    assert str(from_langchain.value) == str(from_llamaindex.value)
    assert "set only one of them" in str(from_langchain.value)


@pytest.mark.parametrize(
    ("name", "value", "attribute"),
    [
        ("max_response_bytes", 4096, 4096),
        ("max_error_body_bytes", 512, 512),
        ("max_event_bytes", 2048, 2048),
        ("max_stream_bytes", 8192, 8192),
        ("stream_timeout", 30, 30.0),
        ("async_http", "sdk", "sdk"),
    ],
)
def test_both_adapters_carry_the_caps_and_deadlines_into_their_settings(
    name: str, value: object, attribute: object
) -> None:
    for model in (
        ChatGateway(model="gpt-5.4", api_key="k-test", base_url=LOCAL, **{name: value}),
        GatewayLLM(model="gpt-5.4", api_key="k-test", base_url=LOCAL, **{name: value}),
    ):
        assert getattr(model.gateway.settings, name) == attribute


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_response_bytes", 0), ("max_stream_bytes", -1), ("stream_timeout", 0)],
)
def test_both_adapters_refuse_a_cap_that_is_not_positive_alike(name: str, value: int) -> None:
    with pytest.raises(GatewayInputError) as from_langchain:
        ChatGateway(model="gpt-5.4", api_key="k-test", base_url=LOCAL, **{name: value})
    with pytest.raises(GatewayInputError) as from_llamaindex:
        GatewayLLM(model="gpt-5.4", api_key="k-test", base_url=LOCAL, **{name: value})
    assert str(from_langchain.value) == str(from_llamaindex.value)
    assert name in str(from_langchain.value)


# -- one list of request parameters, read by both ------------------------------------------

#: What each adapter's own fields are beyond the core's parameters and route fields: a
#: field added to one adapter without a place here (or in gw_core.config) fails below.
ADAPTER_ONLY_FIELDS: dict[type[Any], tuple[type[Any], set[str]]] = {
    ChatGateway: (BaseChatModel, {"extra_body", "model_kwargs", "streaming"}),
    GatewayLLM: (
        FunctionCallingLLM,
        {
            "additional_kwargs",
            "context_window",
            "extra_body",
            "limiter",
            "logprobs",
            "num_output",
            "parallel_tool_calls",
            "strict",
            "top_logprobs",
        },
    ),
}


@pytest.mark.parametrize("adapter", list(ADAPTER_ONLY_FIELDS), ids=lambda cls: cls.__name__)
def test_each_adapter_has_every_core_parameter_and_no_field_unaccounted_for(
    adapter: type[ChatGateway] | type[GatewayLLM],
) -> None:
    framework, own_extras = ADAPTER_ONLY_FIELDS[adapter]
    own = set(adapter.model_fields) - set(framework.model_fields)
    assert set(PARAM_FIELDS) <= own, "an adapter lacks a field the core forwards"
    assert own - set(PARAM_FIELDS) - adapter.route_fields == own_extras


#: A value for every core parameter (the test fails when the core list grows until a value
#: is added here); gpt-5.4 with the rule checks off takes them all together.
PARAM_VALUES: dict[str, Any] = {
    "temperature": 0.5,
    "top_p": 0.9,
    "max_completion_tokens": 33,
    "stop": ["THE END"],
    "reasoning_effort": "low",
    "seed": 7,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.2,
}


def test_both_adapters_send_every_core_parameter_the_same_way(
    gateway_emulator: GatewayEmulator,
) -> None:
    assert set(PARAM_VALUES) == set(PARAM_FIELDS)
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    same = {"model": "gpt-5.4", "check_model_rules": False, **where, **PARAM_VALUES}
    ChatGateway(**same, model_kwargs={"logprobs": True, "top_logprobs": 2}).invoke("Hi")
    GatewayLLM(**same, logprobs=True, top_logprobs=2).complete("Hi")
    from_langchain, from_llamaindex = (request.body for request in gateway_emulator.requests)
    assert from_langchain == from_llamaindex
    assert {key: from_langchain[key] for key in PARAM_VALUES} == PARAM_VALUES
    assert (from_langchain["logprobs"], from_langchain["top_logprobs"]) == (True, 2)


def test_neither_adapter_sends_a_parameter_it_was_not_given(
    gateway_emulator: GatewayEmulator,
) -> None:
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    ChatGateway(model="gpt-5.4", **where).invoke("Hi")
    GatewayLLM(model="gpt-5.4", **where).complete("Hi")
    for request in gateway_emulator.requests:
        assert set(request.body) & set(PARAM_FIELDS) == set()

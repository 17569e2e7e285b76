"""Tool calling: request shape, streamed calls per dialect, agents, thought signatures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

from gw_core.errors import InvalidToolCallError, ParameterError
from gw_core.wire.params import SKIP_SIGNATURE
from gw_emulator import GatewayEmulator, ScriptedReply, ScriptedToolCall

from .conftest import MakeLLM, chat_requests, last_body

# LlamaIndex's workflows (FunctionAgent) and StructuredLLM call pydantic APIs deprecated
# since 2.0; the warnings come from their code, not ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]


FAMILIES = ["gpt-5.4", "claude-opus-4-5", "gemini-2.5-pro", "gemini-3.1-pro-preview"]


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 22 degrees in {city}."


def get_time(city: str) -> str:
    """Local time in a city."""
    return f"It is 14:05 in {city}."


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


WEATHER = FunctionTool.from_defaults(fn=get_weather)
TIME = FunctionTool.from_defaults(fn=get_time)
ADD = FunctionTool.from_defaults(fn=add)


def test_prepare_chat_with_tools_shapes_the_request(make_llm: MakeLLM) -> None:
    llm = make_llm()
    history = [ChatMessage(role=MessageRole.SYSTEM, content="Be brief.")]
    kwargs = llm._prepare_chat_with_tools(
        [WEATHER, TIME], user_msg="weather?", chat_history=history, tool_required=True
    )
    assert [m.content for m in kwargs["messages"]] == ["Be brief.", "weather?"]
    assert history == [history[0]]  # the caller's list is not modified
    assert [t["function"]["name"] for t in kwargs["tools"]] == ["get_weather", "get_time"]
    assert kwargs["tool_choice"] == "required"
    assert "parallel_tool_calls" not in kwargs
    named = llm._prepare_chat_with_tools([WEATHER, TIME], tool_choice="get_time")
    assert named["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert "tool_choice" not in llm._prepare_chat_with_tools([WEATHER])
    assert llm._prepare_chat_with_tools([], user_msg="hi").keys() == {"messages"}


def test_strict_is_sent_only_when_given(make_llm: MakeLLM) -> None:
    llm = make_llm()
    plain = llm._prepare_chat_with_tools([WEATHER])["tools"][0]["function"]
    assert "strict" not in plain
    strict = llm._prepare_chat_with_tools([WEATHER], strict=True)["tools"][0]["function"]
    assert strict["strict"] is True
    assert strict["parameters"]["additionalProperties"] is False


def test_unknown_tool_choice_fails_before_any_request(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    with pytest.raises(ParameterError, match="not among the tools"):
        make_llm().chat_with_tools([WEATHER], user_msg="hi", tool_choice="get_stock")
    assert chat_requests(gateway_emulator) == []


@pytest.mark.parametrize("model", FAMILIES)
def test_chat_with_tools_returns_the_call(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    llm = make_llm(model)
    response = llm.chat_with_tools([WEATHER], user_msg="Use get_weather for Paris.")
    (selection,) = llm.get_tool_calls_from_response(response)
    assert selection.tool_name == "get_weather"
    assert selection.tool_kwargs == {"city": "Paris"}
    assert selection.tool_id
    body = last_body(gateway_emulator)
    assert "parallel_tool_calls" not in body and "tool_choice" not in body


@pytest.mark.parametrize("model", FAMILIES)
def test_streamed_parallel_calls_come_out_whole(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    llm = make_llm(model)
    prompt = "Use get_weather for Paris and get_time for Tokyo."
    chunks = list(
        llm.stream_chat_with_tools([WEATHER, TIME], user_msg=prompt, allow_parallel_tool_calls=True)
    )
    calls = llm.get_tool_calls_from_response(chunks[-1])
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"city": "Tokyo"}),
    ]
    assert len({c.tool_id for c in calls}) == 2
    # Gemini ends a streamed tool turn with "stop"; callers branch on "tool_calls".
    assert chunks[-1].additional_kwargs["finish_reason"] == "tool_calls"
    if model.startswith("gemini"):
        # Gemini's dialect: both calls whole in one chunk, no index.
        deltas = [c.raw["choices"][0]["delta"] for c in chunks if isinstance(c.raw, dict)]
        per_chunk = [len(d.get("tool_calls", [])) for d in deltas]
        assert 2 in per_chunk
    nonstream = llm.chat_with_tools(
        [WEATHER, TIME], user_msg=prompt, allow_parallel_tool_calls=True
    )
    assert len(llm.get_tool_calls_from_response(nonstream)) == 2


def test_one_call_is_kept_when_parallel_calls_are_not_allowed(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("claude-sonnet-4-6")
    response = llm.chat_with_tools(
        [WEATHER, TIME], user_msg="Use get_weather for Paris and get_time for Tokyo."
    )
    (call,) = llm.get_tool_calls_from_response(response)
    assert call.tool_name == "get_weather"
    assert len(response.message.additional_kwargs["tool_calls"]) == 1
    assert "parallel_tool_calls" not in last_body(gateway_emulator)


def test_explicit_parallel_tool_calls_is_passed_through(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    make_llm().chat_with_tools([WEATHER], user_msg="Use get_weather.", parallel_tool_calls=False)
    assert last_body(gateway_emulator)["parallel_tool_calls"] is False


@pytest.mark.parametrize("model", FAMILIES)
async def test_predict_and_call_sync_and_async(make_llm: MakeLLM, model: str) -> None:
    llm = make_llm(model)
    out = llm.predict_and_call([ADD], user_msg="Please add 2 and 40.")
    assert out.response == "42"
    out = await llm.apredict_and_call([ADD], user_msg="Please add 2 and 40.")
    assert out.response == "42"


@pytest.mark.parametrize("model", ["gemini-3.1-pro-preview", "gemini-3-flash-preview"])
def test_gemini3_thought_signatures_round_trip(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    llm = make_llm(model)
    user = ChatMessage(role=MessageRole.USER, content="Use get_weather for Oslo.")
    for stream in (False, True):
        if stream:
            response = list(llm.stream_chat_with_tools([WEATHER], chat_history=[user]))[-1]
        else:
            response = llm.chat_with_tools([WEATHER], chat_history=[user])
        (call,) = llm.get_tool_calls_from_response(response)
        kept = response.message.additional_kwargs["tool_calls"][0]
        assert kept["extra_content"]["google"]["thought_signature"]
        result = ChatMessage(
            role=MessageRole.TOOL,
            content=get_weather(**call.tool_kwargs),
            additional_kwargs={"tool_call_id": call.tool_id},
        )
        history = [user, response.message, result]
        answer = llm.chat_with_tools([WEATHER], chat_history=history)
        assert "Sunny and 22 degrees in Oslo" in (answer.message.content or "")
        sent = last_body(gateway_emulator)["messages"][1]["tool_calls"][0]
        assert sent["extra_content"] == kept["extra_content"]

    # Without the signature (a hand-built history) the call goes out with Google's
    # documented placeholder instead of earning a 400; the real signature always wins.
    response.message.additional_kwargs["tool_calls"] = []
    llm.chat_with_tools([WEATHER], chat_history=[user, response.message, result])
    sent = last_body(gateway_emulator)["messages"][1]["tool_calls"][0]
    assert sent["extra_content"] == {"google": {"thought_signature": SKIP_SIGNATURE}}


def test_signatures_are_not_sent_to_other_families(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gemini = make_llm("gemini-3.1-pro-preview")
    user = ChatMessage(role=MessageRole.USER, content="Use get_weather for Oslo.")
    response = gemini.chat_with_tools([WEATHER], chat_history=[user])
    (call,) = gemini.get_tool_calls_from_response(response)
    result = ChatMessage(
        role=MessageRole.TOOL, content="cold", additional_kwargs={"tool_call_id": call.tool_id}
    )
    make_llm("claude-opus-4-6").chat([user, response.message, result])
    assert "extra_content" not in last_body(gateway_emulator)["messages"][1]["tool_calls"][0]


# -- agents --------------------------------------------------------------------------------


async def _run_agent(agent: FunctionAgent, prompt: str) -> tuple[Any, list[Any]]:
    handler = agent.run(user_msg=prompt)
    seen = [event async for event in handler.stream_events()]
    return await handler, seen


@pytest.mark.parametrize("streaming", [True, False])
@pytest.mark.parametrize("model", FAMILIES)
async def test_function_agent_runs_a_multi_step_tool_loop(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str, streaming: bool
) -> None:
    # Two tool rounds scripted, then the emulator's engine answers from the tool results.
    gateway_emulator.script(
        ScriptedReply(tool_calls=[ScriptedToolCall("get_weather", {"city": "Paris"})])
    )
    gateway_emulator.script(
        ScriptedReply(
            tool_calls=[
                ScriptedToolCall("get_time", {"city": "Paris"}),
                ScriptedToolCall("add", {"a": 20, "b": 22}),
            ]
        )
    )
    agent = FunctionAgent(tools=[WEATHER, TIME, ADD], llm=make_llm(model), streaming=streaming)
    result, seen = await _run_agent(agent, "Plan my afternoon in Paris.")
    text = str(result.response.content)
    # The engine reports the latest round's results.
    assert "14:05 in Paris" in text and "add returned: 42" in text
    results = [e for e in seen if isinstance(e, ToolCallResult)]
    assert [r.tool_name for r in results] == ["get_weather", "get_time", "add"]
    assert "Sunny and 22 degrees in Paris" in str(results[0].tool_output.content)
    requests = chat_requests(gateway_emulator)
    assert len(requests) == 3 and all(r.status == 200 for r in requests)
    last = requests[-1].body["messages"]
    assert [m["role"] for m in last].count("tool") == 3
    if streaming:
        deltas = "".join(e.delta for e in seen if isinstance(e, AgentStream))
        assert deltas == text


async def test_function_agent_on_gemini3_echoes_signatures(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    agent = FunctionAgent(tools=[WEATHER], llm=make_llm("gemini-3.1-pro-preview"))
    result, _ = await _run_agent(agent, "Use get_weather for Lisbon.")
    assert "Sunny and 22 degrees in Lisbon" in str(result.response.content)
    assistant = chat_requests(gateway_emulator)[-1].body["messages"][-2]
    signature = assistant["tool_calls"][0]["extra_content"]["google"]["thought_signature"]
    assert signature


async def test_agent_memory_survives_serialization(make_llm: MakeLLM) -> None:
    agent = FunctionAgent(tools=[WEATHER], llm=make_llm("gemini-3-flash-preview"))
    handler = agent.run(user_msg="Use get_weather for Rome.")
    await handler
    memory = await handler.ctx.store.get("memory")
    messages = await memory.aget_all()
    assistant = next(m for m in messages if any(isinstance(b, ToolCallBlock) for b in m.blocks))
    restored = ChatMessage.model_validate(json.loads(assistant.model_dump_json()))
    llm = make_llm("gemini-3-flash-preview")
    (call,) = llm.get_tool_calls_from_response(ChatResponse(message=restored))
    assert call.tool_kwargs == {"city": "Rome"}
    signature = restored.additional_kwargs["tool_calls"][0]["extra_content"]["google"]
    assert signature["thought_signature"]


@pytest.mark.parametrize("model", ["gpt-5.4", "gemini-2.5-pro"])
@pytest.mark.parametrize("arguments", ['{"city": "Par', '{"city": Paris}'])
def test_arguments_that_are_not_json_are_one_error_on_chat_and_stream(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str, arguments: str
) -> None:
    """The same rule as ChatGateway's: never a call run with repaired arguments."""
    llm = make_llm(model)
    calls = (
        lambda: llm.chat_with_tools([WEATHER], user_msg="weather?"),
        lambda: list(llm.stream_chat_with_tools([WEATHER], user_msg="weather?")),
    )
    for call in calls:
        gateway_emulator.script(
            ScriptedReply(tool_calls=[ScriptedToolCall("get_weather", arguments)])
        )
        with pytest.raises(InvalidToolCallError, match="get_weather") as caught:
            call()
        assert (caught.value.tool_name, caught.value.arguments) == ("get_weather", arguments)

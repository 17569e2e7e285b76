"""Tools and structured output against the emulator, per dialect.

The upstream quirks: Gemini streams tool calls without ``index`` and ends tool turns with
``finish_reason: "stop"``; Gemini 3 answers 400 unless each tool call's thought signature
comes back on the next turn; a model may write arguments that are not JSON.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langchain_tests.utils.stream_lifecycle import assert_valid_event_stream
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from gw_core.errors import InvalidToolCallError
from gw_core.wire.params import SKIP_SIGNATURE
from gw_emulator import GatewayEmulator, ScriptedReply, ScriptedToolCall
from langchain_gw import ChatGateway
from langchain_gw._convert import EXTRA_CONTENT_KEY
from langchain_gw._structured import build_structured
from tests.langchain.conftest import MakeLLM

DIALECTS = ["gpt-5.4", "claude-sonnet-4-6", "gemini-3-flash-preview"]
PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21 C in {city}."


@tool
def get_time(timezone: str) -> str:
    """Get the current time in a timezone."""
    return "10:42"


class Forecast(BaseModel):
    """A weather forecast."""

    city: str = Field(description="the city")
    celsius: int = Field(description="temperature in Celsius")


class ForecastDict(TypedDict):
    """A weather forecast."""

    city: str
    celsius: int


def _sum(chunks: Iterable[Any]) -> AIMessageChunk:
    """Add up streamed chunks (typed loosely: a tool binding's stream is typed AIMessage)."""
    items = list(chunks)
    total = items[0]
    for chunk in items[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    return total


@pytest.mark.parametrize("model", DIALECTS)
def test_forced_tool_call_invoke_and_stream(
    model: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm(model).bind_tools(
        [get_weather, get_time], tool_choice="get_weather", parallel_tool_calls=False
    )
    prompt = "What is the weather in Paris?"
    called = llm.invoke(prompt)
    streamed = _sum(llm.stream(prompt))
    assert [c["name"] for c in called.tool_calls] == ["get_weather"]
    assert streamed.tool_calls == called.tool_calls
    assert called.response_metadata["finish_reason"] == "tool_calls"
    assert streamed.response_metadata["finish_reason"] == "tool_calls"  # Gemini said "stop"
    assert {c.get("index") for c in streamed.tool_call_chunks} == {0}
    assert not streamed.invalid_tool_calls
    body = gateway_emulator.requests[0].body
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]


@pytest.mark.parametrize("model", DIALECTS)
def test_parallel_calls_stream_with_stable_indexes(
    model: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    reply = ScriptedReply(
        tool_calls=[
            ScriptedToolCall("get_weather", {"city": "Paris"}),
            ScriptedToolCall("get_time", {"timezone": "Europe/Paris"}),
        ]
    )
    gateway_emulator.script(reply)
    gateway_emulator.script(reply)
    llm = make_llm(model).bind_tools([get_weather, get_time])
    called = llm.invoke("weather and time in Paris")
    chunks: list[Any] = list(llm.stream("weather and time in Paris"))
    streamed = _sum(chunks)
    expected = [("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "Europe/Paris"})]
    assert [(c["name"], c["args"]) for c in called.tool_calls] == expected
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == expected
    assert [c["id"] for c in streamed.tool_calls] == [c["id"] for c in called.tool_calls]
    # Each fragment of call n carries index n, whatever the dialect sent.
    for chunk in chunks:
        for fragment in chunk.tool_call_chunks:
            if fragment["name"]:
                assert fragment["index"] == [n for n, _ in expected].index(fragment["name"])


@pytest.mark.parametrize("model", ["gpt-5.4", "gemini-2.5-pro"])
@pytest.mark.parametrize("arguments", ['{"city": "Par', '{"city": Paris}'])
def test_arguments_that_are_not_json_are_one_error_on_invoke_and_stream(
    model: str, arguments: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    """One rule (docs/retries-and-errors.md): never a call run with repaired arguments."""
    llm = make_llm(model).bind_tools([get_weather])
    for call in (llm.invoke, lambda q: _sum(llm.stream(q))):
        gateway_emulator.script(
            ScriptedReply(tool_calls=[ScriptedToolCall("get_weather", arguments)])
        )
        with pytest.raises(InvalidToolCallError, match="get_weather") as caught:
            call("weather?")
        assert (caught.value.tool_name, caught.value.arguments) == ("get_weather", arguments)


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_gemini3_thought_signatures_round_trip(
    stream: bool, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("gemini-3.1-pro-preview").bind_tools([get_weather], tool_choice="any")
    question = HumanMessage("What is the weather in Oslo?")
    first = _sum(llm.stream([question])) if stream else llm.invoke([question])
    [call] = first.tool_calls
    signature = first.additional_kwargs[EXTRA_CONTENT_KEY][call["id"]]
    assert signature["google"]["thought_signature"]
    result = get_weather.invoke(call)
    answer = make_llm("gemini-3.1-pro-preview").invoke([question, first, result])
    assert "Sunny" in answer.text
    sent = gateway_emulator.requests[-1].body["messages"][1]["tool_calls"][0]
    assert sent["extra_content"] == signature

    # A history without the signature (hand-built, or from another model) goes out with
    # Google's documented placeholder instead of earning a 400; the real one always wins.
    stripped = AIMessage(content="", tool_calls=first.tool_calls)
    make_llm("gemini-3.1-pro-preview").invoke([question, stripped, result])
    sent = gateway_emulator.requests[-1].body["messages"][1]["tool_calls"][0]
    assert sent["extra_content"] == {"google": {"thought_signature": SKIP_SIGNATURE}}


def test_signatures_are_not_sent_to_other_families(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("gemini-3-flash-preview").bind_tools([get_weather], tool_choice="any")
    question = HumanMessage("Weather in Rome?")
    first = llm.invoke([question])
    assert first.additional_kwargs[EXTRA_CONTENT_KEY]
    # Switching model mid-conversation: GPT gets the history without Gemini's extras.
    make_llm("gpt-5.4").invoke([question, first, get_weather.invoke(first.tool_calls[0])])
    sent = gateway_emulator.requests[-1].body["messages"][1]["tool_calls"][0]
    assert "extra_content" not in sent


def test_agent_loop_on_gemini3(make_llm: MakeLLM, gateway_emulator: GatewayEmulator) -> None:
    agent = create_agent(make_llm("gemini-3-flash-preview"), tools=[get_weather])
    state = agent.invoke({"messages": [HumanMessage("Use get_weather for Lisbon, please.")]})
    messages = state["messages"]
    assert isinstance(messages[1], AIMessage) and messages[1].tool_calls
    assert isinstance(messages[2], ToolMessage)
    assert "Lisbon" in messages[-1].text
    assert [r.status for r in gateway_emulator.requests] == [200, 200]


@pytest.mark.parametrize("model", DIALECTS)
def test_tool_results_as_list_content_and_images(
    model: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    ai = AIMessage(content="", tool_calls=[{"name": "snapshot", "args": {}, "id": "s1"}])
    result = ToolMessage(
        content=[
            {"type": "text", "text": "camera 3"},
            {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
        ],
        tool_call_id="s1",
        status="error",
    )
    answer = make_llm(model).invoke([HumanMessage("Show camera 3."), ai, result])
    assert isinstance(answer, AIMessage)
    [request] = gateway_emulator.requests
    assert request.status == 200
    roles = [m["role"] for m in request.body["messages"]]
    assert roles == ["user", "assistant", "tool", "user"]


# -- structured output ---------------------------------------------------------------------


@pytest.mark.parametrize("model", DIALECTS)
@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
@pytest.mark.parametrize("schema", [Forecast, ForecastDict], ids=["pydantic", "typeddict"])
def test_structured_output_methods(
    model: str, method: str, schema: Any, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    structured = make_llm(model).with_structured_output(schema, method=method)  # type: ignore[arg-type]
    parsed = structured.invoke("Forecast for Oslo.")
    streamed = list(structured.stream("Forecast for Oslo."))
    for value in (parsed, streamed[-1]):
        data: Any = value.model_dump() if isinstance(value, BaseModel) else value
        assert set(data) == {"city", "celsius"}
        assert isinstance(data["celsius"], int)
    body = gateway_emulator.requests[0].body
    if method == "json_schema":
        assert body["response_format"]["json_schema"]["name"] in ("Forecast", "ForecastDict")
        assert "tools" not in body
    else:
        assert body["tool_choice"]["function"]["name"] in ("Forecast", "ForecastDict")
        assert "parallel_tool_calls" not in body
        assert "response_format" not in body


def test_claude_defaults_to_a_forced_tool(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    result = make_llm("claude-opus-4-6-hc").with_structured_output(Forecast).invoke("Oslo?")
    assert isinstance(result, Forecast)
    [request] = gateway_emulator.requests
    assert "response_format" not in request.body
    assert request.body["tool_choice"] == {"type": "function", "function": {"name": "Forecast"}}


def test_json_mode_sends_json_object(make_llm: MakeLLM, gateway_emulator: GatewayEmulator) -> None:
    result = make_llm("gpt-5.4").with_structured_output(method="json_mode").invoke("Reply in JSON.")
    assert isinstance(result, dict)
    assert gateway_emulator.requests[0].body["response_format"] == {"type": "json_object"}


def test_include_raw_keeps_the_message_and_the_parsing_error(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("gpt-5.4")
    ok: Any = llm.with_structured_output(Forecast, include_raw=True).invoke("Oslo?")
    assert isinstance(ok["parsed"], Forecast) and ok["parsing_error"] is None
    assert isinstance(ok["raw"], AIMessage)
    gateway_emulator.script(ScriptedReply(content='{"city": "Oslo"}'))  # celsius missing
    bad: Any = llm.with_structured_output(Forecast, include_raw=True).invoke("Oslo?")
    assert bad["parsed"] is None and bad["parsing_error"] is not None
    assert bad["raw"].text == '{"city": "Oslo"}'


def test_a_refusal_raises_instead_of_a_parse_error() -> None:
    refusal = AIMessage(content="", additional_kwargs={"refusal": "I can't help with that."})
    fake: RunnableLambda[Any, AIMessage] = RunnableLambda(lambda _: refusal)
    structured = build_structured(
        bind=lambda **_: fake,
        bind_tools=lambda *_, **__: fake,
        schema=Forecast,
        method="json_schema",
        include_raw=False,
        strict=None,
    )
    expected: type[Exception] = ValueError  # langchain-core < 1.7.5 has no refusal error
    try:
        from langchain_core.exceptions import ModelRefusalError

        expected = ModelRefusalError
    except ImportError:
        pass
    with pytest.raises(expected, match=r"refused.*can't help") as caught:
        structured.invoke("x")
    assert getattr(caught.value, "raw_message", refusal) is refusal


def test_structured_output_on_a_model_built_from_env(
    gateway_env: GatewayEmulator,
) -> None:
    result = ChatGateway(model="gemini-2.5-pro").with_structured_output(Forecast).invoke("Oslo?")
    assert isinstance(result, Forecast)
    assert gateway_env.requests[0].body["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gemini-3-flash-preview"])
def test_v1_stream_keeps_text_reasoning_and_tool_call_blocks_apart(
    model: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    # Text before a tool call: core's generic parsing would give both blocks index 0 and
    # merge the tool call into the text (ChatOpenAI streams v1 tool calls that way).
    reply = ScriptedReply(
        content="Let me check.",
        reasoning="The user wants weather.",
        tool_calls=[ScriptedToolCall("get_weather", {"city": "Oslo"})],
    )
    gateway_emulator.script(reply)
    gateway_emulator.script(reply)
    llm = make_llm(model, output_version="v1").bind_tools([get_weather])
    streamed = _sum(llm.stream("weather in Oslo?"))
    assert isinstance(streamed.content, list)
    blocks: list[Any] = streamed.content
    assert [b["type"] for b in blocks] == ["reasoning", "text", "tool_call"]
    assert blocks[1]["text"] == "Let me check."
    assert (blocks[2]["name"], blocks[2]["args"]) == ("get_weather", {"city": "Oslo"})
    events = list(make_llm(model).bind_tools([get_weather]).stream_events("x", version="v3"))
    assert_valid_event_stream(events)

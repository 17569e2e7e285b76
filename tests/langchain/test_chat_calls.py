"""Every call path against the emulator, per dialect: invoke/ainvoke/stream/astream/batch.

What ChatOpenAI gets wrong through the gateway, checked here: cumulative usage summed on
Gemini streams, reasoning dropped, parameters sent that the user never set, and tokens
reported twice to callbacks.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGenerationChunk

from gw_core.errors import ParameterError
from gw_emulator import GatewayEmulator, ScriptedReply
from tests.langchain.conftest import MakeLLM

DIALECTS = ["gpt-5.4", "claude-sonnet-4-6", "gemini-3-flash-preview"]
QUESTION = "The bridge opened in 1932. It is 1149 metres long. When did the bridge open?"


class TokenRecorder(BaseCallbackHandler):
    """Records every on_llm_new_token call with its chunk."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.chunks: list[ChatGenerationChunk] = []

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, chunk: Any = None, **kwargs: Any
    ) -> None:
        assert isinstance(token, str) and isinstance(chunk, ChatGenerationChunk)
        self.tokens.append(token)
        self.chunks.append(chunk)


def _sum(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def _bodies(emu: GatewayEmulator) -> list[dict[str, Any]]:
    return [r.body for r in emu.requests]


@pytest.mark.parametrize("model", DIALECTS)
def test_invoke_and_stream_agree_per_dialect(
    model: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm(model)
    answer = llm.invoke(QUESTION)
    recorder = TokenRecorder()
    chunks = list(llm.stream(QUESTION, config={"callbacks": [recorder]}))
    streamed = _sum(chunks)

    assert "1932" in answer.text
    assert streamed.text == answer.text
    # Usage once per stream, equal to the non-streamed turn's: never summed (Gemini sends
    # cumulative usage on every chunk; Claude on the finish chunk; GPT in a last chunk).
    assert answer.usage_metadata is not None and answer.usage_metadata["input_tokens"] > 0
    assert streamed.usage_metadata == answer.usage_metadata
    assert [bool(c.usage_metadata) for c in chunks].count(True) == 1
    for key in ("model_name", "finish_reason", "model_provider", "pool"):
        assert streamed.response_metadata[key] == answer.response_metadata[key]
    assert answer.response_metadata["model_name"] == model
    assert answer.response_metadata["pool"] == "standard"
    assert chunks[-1].chunk_position == "last"
    # Callbacks: once per chunk, with that very chunk, and no other calls.
    assert len(chunks) > 2
    assert [c.message for c in recorder.chunks] == chunks
    assert all(a is b for a, b in zip((c.message for c in recorder.chunks), chunks, strict=True))
    assert "".join(recorder.tokens) == answer.text
    bodies = _bodies(gateway_emulator)
    assert [b.get("stream", False) for b in bodies] == [False, True]


@pytest.mark.parametrize("model", DIALECTS)
async def test_async_paths_per_dialect(
    model: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm(model)
    answer = await llm.ainvoke(QUESTION)
    recorder = TokenRecorder()
    chunks = [c async for c in llm.astream(QUESTION, config={"callbacks": [recorder]})]
    streamed = _sum(chunks)
    assert streamed.text == answer.text
    assert streamed.usage_metadata == answer.usage_metadata
    assert [c.message for c in recorder.chunks] == chunks
    batch = await llm.abatch([QUESTION, "Say hello."])
    assert batch[0].text == answer.text and batch[1].text
    assert len(gateway_emulator.requests) == 4


def test_batch_runs_each_input(make_llm: MakeLLM, gateway_emulator: GatewayEmulator) -> None:
    results = make_llm("claude-haiku-4-5").batch(["Say one.", "Say two.", "Say three."])
    assert len(results) == 3 and all(isinstance(r, AIMessage) and r.text for r in results)
    assert sorted(b["messages"][0]["content"] for b in _bodies(gateway_emulator)) == [
        "Say one.",
        "Say three.",
        "Say two.",
    ]


def test_streaming_true_makes_invoke_stream_with_one_callback_per_chunk(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    recorder = TokenRecorder()
    answer = make_llm("gemini-2.5-pro", streaming=True).invoke(
        QUESTION, config={"callbacks": [recorder]}
    )
    [body] = _bodies(gateway_emulator)
    assert body["stream"] is True
    assert "".join(recorder.tokens) == answer.text
    assert len(recorder.chunks) > 2
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["total_tokens"] == (
        answer.usage_metadata["input_tokens"] + answer.usage_metadata["output_tokens"]
    )


def test_nothing_is_sent_that_the_user_did_not_set(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("claude-opus-4-7")  # rejects temperature/top_p outright: none go out
    llm.invoke("hi")
    list(llm.stream("hi"))
    list(make_llm("claude-opus-4-7", stream_usage=False).stream("hi"))
    plain, streamed, no_usage = _bodies(gateway_emulator)
    assert set(plain) == {"model", "messages"}
    assert set(streamed) == {"model", "messages", "stream", "stream_options"}
    assert streamed["stream_options"] == {"include_usage": True}
    assert set(no_usage) == {"model", "messages", "stream"}


def test_set_parameters_and_call_time_overrides_are_sent_as_given(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm(
        "gpt-5.4",
        temperature=0.2,
        max_tokens=300,
        seed=7,
        model_kwargs={"logprobs": False},
        extra_body={"metadata": {"team": "a"}},
    )
    llm.invoke("hi")
    llm.invoke("hi", temperature=0.9, max_tokens=20, stop=["END"], model="gpt-5.5")
    first, second = _bodies(gateway_emulator)
    assert {k: v for k, v in first.items() if k != "messages"} == {
        "model": "gpt-5.4",
        "temperature": 0.2,
        "max_completion_tokens": 300,
        "seed": 7,
        "logprobs": False,
        "metadata": {"team": "a"},
    }
    assert "max_tokens" not in first  # GPT-5.x refuses max_tokens
    assert (second["model"], second["temperature"]) == ("gpt-5.5", 0.9)
    assert (second["max_completion_tokens"], second["stop"]) == (20, ["END"])


def test_model_override_is_reported_in_metadata(make_llm: MakeLLM) -> None:
    result = make_llm("gpt-5.4").invoke("hi", model="gpt-5.5-low")
    assert result.response_metadata["model_name"] == "gpt-5.5-low"
    assert result.response_metadata["pool"] == "low"


def test_stop_and_max_tokens_cut_the_answer(make_llm: MakeLLM) -> None:
    long = make_llm("gpt-5.4", max_tokens=3).invoke(QUESTION)
    assert long.response_metadata["finish_reason"] == "length"
    assert long.usage_metadata is not None and long.usage_metadata["output_tokens"] <= 3


@pytest.mark.parametrize("model", DIALECTS)
def test_reasoning_is_kept_on_invoke_and_stream(
    model: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    reply = ScriptedReply(content="It opened in 1932.", reasoning="The text says 1932.")
    gateway_emulator.script(reply)
    gateway_emulator.script(reply)
    llm = make_llm(model)
    answer = llm.invoke(QUESTION)
    streamed = _sum(list(llm.stream(QUESTION)))
    for message in (answer, streamed):
        assert message.text == "It opened in 1932."
        assert message.additional_kwargs["reasoning_content"] == "The text says 1932."
        blocks = message.content_blocks
        assert blocks[0] == {"type": "reasoning", "reasoning": "The text says 1932."}
        assert message.usage_metadata is not None
        details = message.usage_metadata.get("output_token_details", {})
        assert details.get("reasoning", 0) > 0


def test_v1_output_puts_reasoning_and_text_blocks_in_content(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.script(ScriptedReply(content="Done.", reasoning="Short."))
    message = make_llm("gpt-5.4", output_version="v1").invoke("go")
    assert isinstance(message.content, list)
    assert [b["type"] for b in message.content] == ["reasoning", "text"]  # type: ignore[index]


def test_cache_read_tokens_are_reported(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    usage = {
        "prompt_tokens": 900,
        "completion_tokens": 4,
        "total_tokens": 904,
        "prompt_tokens_details": {"cached_tokens": 768},
    }
    gateway_emulator.script(ScriptedReply(content="ok", usage=usage))
    message = make_llm("claude-sonnet-4-6").invoke("again")
    assert message.usage_metadata == {
        "input_tokens": 900,
        "output_tokens": 4,
        "total_tokens": 904,
        "input_token_details": {"cache_read": 768},
    }


def test_message_history_with_system_and_names(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    history = [
        SystemMessage("The office opens at 9."),
        HumanMessage("hello", name="ann"),
        AIMessage("Hi Ann."),
        HumanMessage("When does the office open?"),
    ]
    answer = make_llm("gemini-2.5-flash-lite").invoke(history)
    assert "9" in answer.text
    [body] = _bodies(gateway_emulator)
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][1]["name"] == "ann"


def test_max_tokens_rule_a_conflict_in_one_call_is_refused_and_a_call_overrides_the_field(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("gpt-5.4", max_completion_tokens=20)
    with pytest.raises(ParameterError, match="max_tokens=10 and max_completion_tokens=20"):
        llm.invoke("hi", max_tokens=10, max_completion_tokens=20)
    assert _bodies(gateway_emulator) == []
    llm.invoke("hi", max_tokens=10)
    assert _bodies(gateway_emulator)[-1]["max_completion_tokens"] == 10

"""Faults, refusals before sending, and the API key, through ChatGateway on the emulator.

Each case asserts what the emulator saw (how many requests, to which model), because
"retried" and "nothing was sent" are claims about the wire.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import traceback
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ContextOverflowError as LangChainOverflow
from langchain_core.exceptions import ModelRateLimitError
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

import gw_core.errors as core
import langchain_gw
from gw_emulator import Fault, GatewayEmulator, ScriptedReply
from langchain_gw import (
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    ChatGateway,
    GatewayInputError,
    IncompleteStreamError,
    ParameterError,
    QuotaExceededError,
    StreamInterruptedError,
    StreamStalledError,
)
from tests.conftest import CANARY_KEY
from tests.langchain.conftest import MakeLLM

QUESTION = "The dam was finished in 1936 after five years of work. When was the dam finished?"
MP4_B64 = base64.b64encode(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20).decode()


def _models(emu: GatewayEmulator) -> list[str | None]:
    return [r.model for r in emu.requests]


# -- streams -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-sonnet-4-6", "gemini-2.5-pro"])
@pytest.mark.parametrize("done", [False, True], ids=["no-done", "with-done"])
def test_a_cut_stream_is_an_error_with_the_partial_text(
    model: str, done: bool, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.cut(2, done=done))
    received = []
    with pytest.raises((IncompleteStreamError, StreamInterruptedError)) as caught:
        for chunk in make_llm(model).stream(QUESTION):
            received.append(chunk.text)
    assert caught.value.partial_text == "".join(received)
    assert caught.value.partial_text  # something arrived before the cut
    assert len(gateway_emulator.requests) == 1  # never retried once output began


async def test_an_error_event_mid_stream_is_typed_async(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.error_event(2))
    received = []
    with pytest.raises(StreamInterruptedError, match="upstream stream error") as caught:
        async for chunk in make_llm("gpt-5.4").astream(QUESTION):
            received.append(chunk.text)
    assert caught.value.partial_text == "".join(received) != ""
    assert len(gateway_emulator.requests) == 1


def test_a_stalled_stream_times_out_with_the_partial_text(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.stall(2, 3.0))
    received = []
    with pytest.raises(StreamStalledError, match="stream_chunk_timeout") as caught:
        for chunk in make_llm("claude-sonnet-4-6", stream_chunk_timeout=0.3).stream(QUESTION):
            received.append(chunk.text)
    assert caught.value.partial_text == "".join(received) != ""
    assert len(gateway_emulator.requests) == 1


@pytest.mark.parametrize(
    "fault", [Fault.status(503, retry_after=0), Fault.cut(0)], ids=["503", "cut-0"]
)
def test_a_stream_that_fails_before_its_first_chunk_is_retried(
    fault: Fault, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(fault)
    tokens: list[str] = []

    class Tokens(BaseCallbackHandler):
        def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
            assert isinstance(token, str)
            tokens.append(token)

    chunks = list(make_llm("gemini-2.5-pro").stream(QUESTION, config={"callbacks": [Tokens()]}))
    text = "".join(c.text for c in chunks)
    assert "1936" in text
    assert "".join(tokens) == text  # no token reported twice across the retry
    assert [r.status for r in gateway_emulator.requests] == [
        503 if "503" in fault.name else 200,
        200,
    ]


async def test_cancelling_an_async_stream_closes_the_connection(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.chunk_delay = 0.02
    gateway_emulator.script(ScriptedReply(content=" ".join(["word"] * 300)))  # ~2 s of chunks
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in make_llm("gpt-5.4").astream(QUESTION):
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    await asyncio.sleep(0.05)  # the consumer is now waiting on the socket for a chunk
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Waited for off the loop, so the loop can finish closing the response.
    assert await asyncio.to_thread(gateway_emulator.wait_idle, 1.5)  # long before the end
    [request] = gateway_emulator.requests
    assert request.disconnected_early


# -- retries and failover -------------------------------------------------------------------


@pytest.mark.parametrize("call", ["invoke", "stream"])
def test_pool_failover_answers_from_the_next_pool(
    call: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.status(503, retry_after=0), model="claude-sonnet-4-6-hc")
    llm = make_llm("claude-sonnet-4-6", pools=["hc", "official"])
    if call == "invoke":
        message = llm.invoke(QUESTION)
    else:
        chunks = list(llm.stream(QUESTION))
        message = chunks[0]
        for chunk in chunks[1:]:
            message = message + chunk
    assert "1936" in message.text
    assert message.response_metadata["pool"] == "official"
    assert message.response_metadata["model_name"] == "claude-sonnet-4-6-official"
    assert message.response_metadata["attempts"] == 2
    assert _models(gateway_emulator) == ["claude-sonnet-4-6-hc", "claude-sonnet-4-6-official"]


async def test_rate_limit_is_retried_async(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.status(429, retry_after=0))
    message = await make_llm("gpt-5.4").ainvoke(QUESTION)
    assert "1936" in message.text
    assert [r.status for r in gateway_emulator.requests] == [429, 200]


def test_max_retries_zero_and_non_retryable_errors_fail_at_once(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.status(503, retry_after=0))
    with pytest.raises(Exception, match="503"):
        make_llm("gpt-5.4", max_retries=0).invoke(QUESTION)
    gateway_emulator.inject(Fault.quota())
    with pytest.raises(QuotaExceededError):
        make_llm("gpt-5.4").invoke(QUESTION)
    assert len(gateway_emulator.requests) == 2


# -- refused before sending ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        ("claude-sonnet-4-6", {"temperature": 1.5}, "temperature from 0 to 1"),
        ("claude-haiku-4-5", {"temperature": 0.5, "top_p": 0.9}, "temperature and top_p"),
        ("claude-opus-4-7", {"temperature": 0.2}, "rejects 'temperature'"),
        ("gpt-5.4", {"stop": ["a", "b", "c", "d", "e"]}, "at most 4 stop"),
        ("gpt-5.4", {"temperature": 3}, "from 0 to 2"),
    ],
)
@pytest.mark.parametrize("call", ["invoke", "stream"])
def test_family_rules_fail_before_any_request(
    model: str,
    kwargs: dict[str, object],
    match: str,
    call: str,
    make_llm: MakeLLM,
    gateway_emulator: GatewayEmulator,
) -> None:
    llm = make_llm(model, **kwargs)
    with pytest.raises(ParameterError, match=match) as caught:
        llm.invoke("hi") if call == "invoke" else list(llm.stream("hi"))
    assert isinstance(caught.value, ValueError)
    assert gateway_emulator.requests == []


def test_the_escape_hatch_sends_what_the_rules_would_refuse(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("claude-opus-4-7", temperature=0.2, check_model_rules=False)
    with pytest.raises(BadRequestError):  # the upstream (emulated) refuses it instead
        llm.invoke("hi")
    assert gateway_emulator.requests[0].body["temperature"] == 0.2


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-opus-4-7"])
async def test_video_to_non_gemini_is_refused_before_any_request(
    model: str, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What happens in this clip?"},
            {"type": "video", "base64": MP4_B64, "mime_type": "video/mp4"},
        ]
    )
    with pytest.raises(CapabilityError, match="Gemini"):
        await make_llm(model).ainvoke([message])
    assert gateway_emulator.requests == []
    answer = await make_llm("gemini-2.5-pro").ainvoke([message])  # and Gemini takes it
    assert answer.text
    part = gateway_emulator.requests[0].body["messages"][0]["content"][1]
    assert part["image_url"]["url"].startswith("data:video/mp4;base64,")


def test_a_tool_result_without_its_call_is_refused_before_any_request(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    history = [HumanMessage("hi"), AIMessage("hello"), ToolMessage("42", tool_call_id="nope")]
    with pytest.raises(GatewayInputError, match="tool_call_id 'nope'"):
        make_llm("gpt-5.4").invoke(history)
    assert gateway_emulator.requests == []


# -- the key -----------------------------------------------------------------------------


def test_the_key_never_reaches_logs_or_errors(
    gateway_emulator: GatewayEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    real_key = gateway_emulator.api_key
    canary = CANARY_KEY
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        llm = ChatGateway(model="gpt-5.4", api_key=real_key, base_url=gateway_emulator.base_url)
        texts.append(llm.invoke(QUESTION).text)
        texts.extend(c.text for c in llm.stream(QUESTION))
        gateway_emulator.inject(Fault.status(500, retry_after=0))  # a retry gets logged
        llm.invoke(QUESTION)
        wrong = ChatGateway(model="gpt-5.4", api_key=canary, base_url=gateway_emulator.base_url)
        with pytest.raises(AuthenticationError) as caught:
            wrong.invoke(QUESTION)
        texts += [str(caught.value), repr(caught.value)]
        texts += traceback.format_exception(caught.value)
        with pytest.raises(AuthenticationError):
            list(wrong.stream(QUESTION))
    assert any("retry" in r.getMessage() for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for key in (real_key, canary):
        assert key not in logged
        assert all(key not in text for text in texts)
    assert [r.status for r in gateway_emulator.requests] == [200, 200, 500, 200, 401, 401]


# -- errors from one list ----------------------------------------------------------------

OVERFLOW = "This model's maximum context length is 128000 tokens; your prompt has 130000."


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_a_prompt_too_long_is_langchains_context_overflow_error_and_the_cores(
    stream: bool, make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("gpt-5.4")
    call = (lambda: list(llm.stream(QUESTION))) if stream else (lambda: llm.invoke(QUESTION))
    for caught_as in (LangChainOverflow, core.ContextOverflowError, langchain_gw.BadRequestError):
        gateway_emulator.inject(Fault.status(400, code="context_length_exceeded", message=OVERFLOW))
        with pytest.raises(caught_as) as caught:
            call()
        assert type(caught.value) is langchain_gw.ContextOverflowError
        assert "maximum context length" in str(caught.value)
    assert len(gateway_emulator.requests) == 3  # not retried


def test_except_works_with_the_core_class_and_langchains_for_a_rate_limit(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("gpt-5.4", max_retries=0)
    for caught_as in (core.RateLimitError, ModelRateLimitError, core.GatewayAPIError):
        gateway_emulator.inject(Fault.status(429, retry_after=0))
        with pytest.raises(caught_as):
            llm.invoke(QUESTION)

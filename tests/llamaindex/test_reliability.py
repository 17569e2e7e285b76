"""Retries, pool failover and stream failures: one policy, one loop, typed errors."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

import llamaindex_gw
from gw_core.retry import RetryEvent
from gw_emulator import Fault, GatewayEmulator
from llamaindex_gw import (
    BadRequestError,
    IncompleteStreamError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
)

from .conftest import FAST_RETRIES, MakeLLM, chat_requests

CONTEXT = "Alpha centauri is the closest star system. Sirius is the brightest star at night."
MESSAGES = [
    ChatMessage(role=MessageRole.SYSTEM, content=CONTEXT),
    ChatMessage(role=MessageRole.USER, content="Which star is the brightest at night?"),
]


def statuses(emu: GatewayEmulator) -> list[int | None]:
    return [r.status for r in chat_requests(emu)]


async def test_429_then_success_is_one_retry(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.status(429, retry_after=0))
    response = make_llm("claude-sonnet-4-6").chat(MESSAGES)
    assert "Sirius" in (response.message.content or "")
    assert response.additional_kwargs["attempts"] == 2
    assert statuses(gateway_emulator) == [429, 200]
    gateway_emulator.inject(Fault.status(503))
    response = await make_llm("claude-sonnet-4-6").achat(MESSAGES)
    assert response.additional_kwargs["attempts"] == 2


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (1, 2), (3, 4)])
def test_retries_never_multiply(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, max_retries: int, attempts: int
) -> None:
    gateway_emulator.inject(Fault.status(500), times=10)
    with pytest.raises(ServerError):
        make_llm("gpt-5.4", max_retries=max_retries).chat(MESSAGES)
    assert statuses(gateway_emulator) == [500] * attempts


def test_server_wait_beyond_the_cap_fails_at_once_with_the_wait(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.status(429, retry_after=3600))
    with pytest.raises(RateLimitError) as info:
        make_llm().complete("hi")
    assert info.value.retry_after == 3600
    assert statuses(gateway_emulator) == [429]


@pytest.mark.parametrize("fault", [Fault.status(400), Fault.quota()])
def test_client_errors_are_not_retried(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, fault: Fault
) -> None:
    gateway_emulator.inject(fault, times=3)
    with pytest.raises((BadRequestError, QuotaExceededError)):
        make_llm().chat(MESSAGES)
    assert len(chat_requests(gateway_emulator)) == 1


async def test_stream_is_retried_before_its_first_chunk(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("gemini-2.5-pro")
    gateway_emulator.inject(Fault.status(502))
    chunks = list(llm.stream_chat(MESSAGES))
    assert "Sirius" in (chunks[-1].message.content or "")
    assert chunks[-1].additional_kwargs["attempts"] == 2
    gateway_emulator.inject(Fault.reset())
    chunks = [c async for c in await llm.astream_chat(MESSAGES)]
    assert "Sirius" in (chunks[-1].message.content or "")
    assert len(chat_requests(gateway_emulator)) == 4


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-opus-4-6", "gemini-3-flash-preview"])
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.cut(after_chunks=1, done=True), IncompleteStreamError),
        (Fault.cut(after_chunks=2), StreamError),
        (Fault.error_event(after_chunks=1), StreamInterruptedError),
    ],
)
async def test_a_broken_stream_is_a_typed_error_with_the_partial_text_never_retried(
    make_llm: MakeLLM,
    gateway_emulator: GatewayEmulator,
    model: str,
    fault: Fault,
    error: type[StreamError],
) -> None:
    llm = make_llm(model)
    gateway_emulator.inject(fault)
    seen: list[str] = []
    with pytest.raises(error) as info:
        for chunk in llm.stream_chat(MESSAGES):
            seen.append(chunk.delta or "")
    assert seen and info.value.partial_text == "".join(seen)
    assert len(chat_requests(gateway_emulator)) == 1

    gateway_emulator.inject(fault)
    seen = []
    with pytest.raises(error) as info:
        async for chunk in await llm.astream_chat(MESSAGES):
            seen.append(chunk.delta or "")
    assert seen and info.value.partial_text == "".join(seen)
    assert len(chat_requests(gateway_emulator)) == 2


def test_a_stalled_stream_is_reported(make_llm: MakeLLM, gateway_emulator: GatewayEmulator) -> None:
    gateway_emulator.inject(Fault.stall(after_chunks=1, seconds=2.0))
    llm = make_llm("claude-haiku-4-5", stream_chunk_timeout=0.3)
    with pytest.raises(StreamStalledError):
        list(llm.stream_complete("Which star is the brightest? Sirius is the brightest star."))
    assert len(chat_requests(gateway_emulator)) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_pool_failover_and_which_pool_answered(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, stream: bool
) -> None:
    gateway_emulator.inject(Fault.status(503), times=5, model="claude-sonnet-4-6-hc")
    llm = make_llm("claude-sonnet-4-6", pools=["hc", "official"])
    response = list(llm.stream_chat(MESSAGES))[-1] if stream else llm.chat(MESSAGES)
    assert response.additional_kwargs["pool"] == "official"
    assert response.additional_kwargs["model"] == "claude-sonnet-4-6-official"
    assert response.raw["route"]["pool"] == "official"
    requests = chat_requests(gateway_emulator)
    assert [r.model for r in requests] == ["claude-sonnet-4-6-hc", "claude-sonnet-4-6-official"]


def test_retry_events_reach_the_policy_observer(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    seen: list[RetryEvent] = []
    policy = FAST_RETRIES.with_overrides(on_retry=seen.append)
    gateway_emulator.inject(Fault.status(503))
    make_llm(retry_policy=policy).complete("hi")
    assert [(e.attempt, type(e.error).__name__) for e in seen] == [(1, "ServerError")]


def test_a_prompt_too_long_is_a_context_overflow_error(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(
        Fault.status(400, code="context_length_exceeded", message="maximum context length")
    )
    with pytest.raises(llamaindex_gw.ContextOverflowError):
        make_llm("gpt-5.4").chat([ChatMessage(role=MessageRole.USER, content="hi")])
    assert len(chat_requests(gateway_emulator)) == 1

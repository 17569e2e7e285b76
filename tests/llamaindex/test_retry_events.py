"""Every retry of a GatewayLLM call is a GatewayRetryEvent in LlamaIndex instrumentation."""

from __future__ import annotations

import pytest
from llama_index.core.llms import ChatMessage

from gw_core.errors import ServerError
from gw_emulator import Fault, GatewayEmulator
from llamaindex_gw import GatewayRetryEvent

from .conftest import EventLog, MakeLLM

HELLO = [ChatMessage(role="user", content="Hello")]


def _retries(events: EventLog) -> list[GatewayRetryEvent]:
    return [e for e in events.events if isinstance(e, GatewayRetryEvent)]


def _summary(events: EventLog) -> list[tuple[int, str, int | None, str | None]]:
    return [(e.attempt, e.reason, e.status_code, e.model) for e in _retries(events)]


TWO_503 = [(1, "ServerError 503", 503, "gpt-5.4"), (2, "ServerError 503", 503, "gpt-5.4")]


def test_two_503s_then_success_dispatch_two_retry_events_with_the_reason(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, events: EventLog
) -> None:
    gateway_emulator.inject(Fault.status(503), times=2)
    assert make_llm().chat(HELLO).message.content
    assert _summary(events) == TWO_503
    assert [r.status for r in gateway_emulator.requests] == [503, 503, 200]


def test_retry_events_sit_inside_the_calls_span(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, events: EventLog
) -> None:
    gateway_emulator.inject(Fault.status(503))
    make_llm().complete("Hello")
    (retry,) = _retries(events)
    start = next(e for e in events.events if type(e).__name__ == "LLMCompletionStartEvent")
    assert retry.span_id is not None and retry.span_id == start.span_id


async def test_async_chat_dispatches_retry_events(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, events: EventLog
) -> None:
    gateway_emulator.inject(Fault.status(503), times=2)
    assert (await make_llm().achat(HELLO)).message.content
    assert _summary(events) == TWO_503


def test_a_stream_dispatches_retries_made_before_its_first_token(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, events: EventLog
) -> None:
    gateway_emulator.inject(Fault.status(503), times=2)
    assert "".join(r.delta or "" for r in make_llm().stream_chat(HELLO))
    assert _summary(events) == TWO_503


async def test_an_async_stream_dispatches_retries_too(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, events: EventLog
) -> None:
    gateway_emulator.inject(Fault.status(503))
    stream = await make_llm().astream_chat(HELLO)
    assert [r async for r in stream]
    assert _summary(events) == TWO_503[:1]


def test_a_call_that_fails_after_its_retries_dispatched_each_retry_once(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, events: EventLog
) -> None:
    gateway_emulator.inject(Fault.status(503), times=3)
    with pytest.raises(ServerError):
        make_llm().chat(HELLO)
    assert _summary(events) == TWO_503


def test_retry_events_carry_no_key(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, events: EventLog
) -> None:
    gateway_emulator.inject(Fault.status(503))
    make_llm().chat(HELLO)
    assert gateway_emulator.api_key not in _retries(events)[0].model_dump_json()

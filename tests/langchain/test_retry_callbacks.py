"""Every retry reaches LangChain's ``on_retry`` with its reason, so tracers see it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_core.outputs import ChatGenerationChunk
from tenacity import RetryCallState

from gw_core.errors import ServerError
from gw_emulator import Fault, GatewayEmulator

from .conftest import MakeLLM


class RetryRecorder(BaseCallbackHandler):
    """Keeps (attempt, error type, status) of every on_retry, and the run it belonged to."""

    def __init__(self) -> None:
        self.retries: list[tuple[int, str, int | None]] = []
        self.run_ids: set[UUID] = set()

    def on_retry(self, retry_state: RetryCallState, *, run_id: UUID, **kwargs: Any) -> Any:
        assert retry_state.outcome is not None and retry_state.outcome.failed
        error = retry_state.outcome.exception()
        self.retries.append(
            (retry_state.attempt_number, type(error).__name__, getattr(error, "status_code", None))
        )
        self.run_ids.add(run_id)


class AsyncRetryRecorder(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.retries: list[tuple[int, str]] = []

    async def on_retry(self, retry_state: RetryCallState, **kwargs: Any) -> None:
        assert retry_state.outcome is not None
        self.retries.append(
            (retry_state.attempt_number, type(retry_state.outcome.exception()).__name__)
        )


TWO_503 = [(1, "ServerError", 503), (2, "ServerError", 503)]


def test_two_503s_then_success_fire_on_retry_twice_with_the_reason(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.status(503), times=2)
    recorder = RetryRecorder()
    reply = make_llm(max_retries=2).invoke("Hello", config={"callbacks": [recorder]})
    assert reply.content
    assert recorder.retries == TWO_503
    assert len(recorder.run_ids) == 1  # both on the model's own run
    assert [r.status for r in gateway_emulator.requests] == [503, 503, 200]


async def test_async_handlers_are_awaited_for_every_retry(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.status(503), times=2)
    recorder = AsyncRetryRecorder()
    reply = await make_llm(max_retries=2).ainvoke("Hello", config={"callbacks": [recorder]})
    assert reply.content
    assert recorder.retries == [(1, "ServerError"), (2, "ServerError")]


def test_a_call_that_fails_after_its_retries_reports_each_retry_once(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gateway_emulator.inject(Fault.status(503), times=3)
    recorder = RetryRecorder()
    with pytest.raises(ServerError):
        make_llm(max_retries=2).invoke("Hello", config={"callbacks": [recorder]})
    assert recorder.retries == TWO_503  # the third failure is raised, not retried


def test_a_stream_given_a_run_manager_reports_retries_before_its_first_token(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    from langchain_core.callbacks import CallbackManager

    gateway_emulator.inject(Fault.status(503), times=2)
    recorder = RetryRecorder()
    llm = make_llm(max_retries=2)
    (run_manager,) = CallbackManager([recorder]).on_chat_model_start({}, [[]])
    chunks: list[ChatGenerationChunk] = list(
        llm._stream([HumanMessage("Hello")], run_manager=run_manager)
    )
    assert "".join(c.text for c in chunks)
    assert recorder.retries == TWO_503


def test_retries_of_one_call_do_not_reach_another_calls_handlers(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm(max_retries=2)
    first, second = RetryRecorder(), RetryRecorder()
    gateway_emulator.inject(Fault.status(503))
    llm.invoke("one", config={"callbacks": [first]})
    llm.invoke("two", config={"callbacks": [second]})
    assert len(first.retries) == 1 and second.retries == []

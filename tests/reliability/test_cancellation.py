"""Stopping a stream mid-way closes its connection and leaks nothing.

"Closed" is what the emulator saw (the request's ``disconnected_early``); "leaks
nothing" is measured: no active connection or waiting request in the client's pool, no
task left on the loop, and the process's file descriptors back to where they were once
the cached clients are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from gw_core import client as gw_client
from gw_emulator import Fault, GatewayEmulator, ScriptedReply
from tests.reliability.drivers import ADAPTERS, Adapter, FakeTime, build
from tests.reliability.leaks import (
    asettle,
    close_loop_clients,
    fd_count,
    loop_clients,
    other_tasks,
    pool_state,
    settle,
)

LONG = " ".join(f"Sentence {i} of a long answer about the dam on the river." for i in range(80))
QUESTION = "Tell me about the dam."


def _messages(adapter: Adapter) -> Any:
    if adapter == "langchain":
        return QUESTION
    return [ChatMessage(role=MessageRole.USER, content=QUESTION)]


async def _open_astream(adapter: Adapter, llm: Any) -> Any:
    if adapter == "langchain":
        return llm.astream(_messages(adapter))
    return await llm.astream_chat(_messages(adapter))


def _open_stream(adapter: Adapter, llm: Any) -> Iterator[Any]:
    if adapter == "langchain":
        return iter(llm.stream(_messages(adapter)))
    return iter(llm.stream_chat(_messages(adapter)))


def _text(adapter: Adapter, item: Any) -> str:
    return str(item.text if adapter == "langchain" else item.delta or "")


@pytest.fixture
def slow_emu(emu: GatewayEmulator) -> GatewayEmulator:
    """A long answer, 20 ms between chunks: time to stop it mid-way."""
    emu.chunk_delay = 0.02
    emu.script(ScriptedReply(content=LONG))
    return emu


async def _assert_nothing_left(emu: GatewayEmulator, base_fds: int, base_tasks: set[Any]) -> None:
    assert await asettle(lambda: bool(emu.requests) and emu.requests[-1].disconnected_early)
    assert emu.wait_idle(60.0)
    assert emu.request_count == 1  # stopping is not a failure: nothing was retried
    for client in loop_clients():
        state = pool_state(client)
        assert state.active == 0 and state.waiting_requests == 0, state
    # Frameworks iterate our generator inside theirs without closing it when theirs is
    # closed (langchain-core's astream does so); the loop's async-generator finalizer then
    # closes ours in a task of its own, so give that task its turn.
    assert await asettle(lambda: other_tasks() == base_tasks), other_tasks()
    await close_loop_clients()
    assert await asettle(lambda: fd_count() <= base_fds), (fd_count(), base_fds)


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_cancelling_the_task_closes_the_stream(
    adapter: Adapter, slow_emu: GatewayEmulator, fake_time: FakeTime
) -> None:
    """Cancelling the task that iterates an async stream closes the connection;
    CancelledError propagates; no retry, no task, connection or fd left behind."""
    await close_loop_clients()
    base_fds, base_tasks = fd_count(), other_tasks()
    llm = build(adapter, slow_emu, "gpt-5.4", policy=fake_time.policy())
    received: list[str] = []
    three = asyncio.Event()

    async def consume() -> None:
        async for item in await _open_astream(adapter, llm):
            received.append(_text(adapter, item))
            if len(received) == 3:
                three.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three.wait(), 120)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 3 <= len(received) < 40
    assert fake_time.waits == []
    await _assert_nothing_left(slow_emu, base_fds, base_tasks)


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_closing_an_async_stream_early_closes_the_connection(
    adapter: Adapter, slow_emu: GatewayEmulator, fake_time: FakeTime
) -> None:
    """Leaving an async stream early and closing it (`aclose`) closes the connection.

    With LangChain the close reaches our generator through the loop's async-generator
    finalizer (langchain-core's `astream` does not close the model's `_astream` when it
    is closed itself), one loop turn later: nothing stays open.
    """
    await close_loop_clients()
    base_fds, base_tasks = fd_count(), other_tasks()
    llm = build(adapter, slow_emu, "gpt-5.4", policy=fake_time.policy())
    received: list[str] = []
    async with contextlib.aclosing(await _open_astream(adapter, llm)) as stream:
        async for item in stream:
            received.append(_text(adapter, item))
            if len(received) == 3:
                break
    await _assert_nothing_left(slow_emu, base_fds, base_tasks)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_closing_a_sync_stream_early_closes_the_connection(
    adapter: Adapter, slow_emu: GatewayEmulator, fake_time: FakeTime
) -> None:
    """Closing a sync stream's generator after three chunks closes the connection and
    leaves the pool with no active connection."""
    llm = build(adapter, slow_emu, "gpt-5.4", policy=fake_time.policy())
    stream = _open_stream(adapter, llm)
    for _ in range(3):
        next(stream)
    close = getattr(stream, "close", None)
    assert close is not None
    close()
    assert settle(lambda: bool(slow_emu.requests) and slow_emu.requests[-1].disconnected_early)
    assert slow_emu.wait_idle(60.0)
    assert slow_emu.request_count == 1
    for client in list(gw_client._sync_clients.values()):
        state = pool_state(client)
        assert state.active == 0 and state.waiting_requests == 0, state


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_cancel_during_a_server_stall_is_seen_at_once(
    adapter: Adapter, emu: GatewayEmulator, fake_time: FakeTime
) -> None:
    """Cancelled while the gateway is silent (a 5 s stall), the connection is closed at
    once: the emulator sees the disconnect within a second, not when it next writes."""
    emu.inject(Fault.stall(2, 5.0))
    emu.script(ScriptedReply(content=LONG))
    await close_loop_clients()
    base_fds, base_tasks = fd_count(), other_tasks()
    llm = build(adapter, emu, "gpt-5.4", policy=fake_time.policy())
    two = asyncio.Event()
    received: list[str] = []

    async def consume() -> None:
        async for item in await _open_astream(adapter, llm):
            if _text(adapter, item):
                received.append(_text(adapter, item))
            if len(received) == 2:
                two.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(two.wait(), 120)
    await asyncio.sleep(0.1)  # now inside the stall
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await close_loop_clients()
    assert await asettle(lambda: fd_count() <= base_fds)
    assert other_tasks() == base_tasks
    assert await asettle(lambda: emu.requests[-1].disconnected_early)
    assert emu.wait_idle(60.0)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_an_event_loop_per_call_leaves_no_connection_behind(
    adapter: Adapter, emu: GatewayEmulator
) -> None:
    """`asyncio.run(llm.ainvoke(...))` once per request (scripts, workers, notebooks): when
    each loop ends its connections go with it; file descriptors do not grow per call."""
    llm = build(adapter, emu, "gpt-5.4")

    async def call() -> None:
        if adapter == "langchain":
            await llm.ainvoke(QUESTION)
        else:
            await llm.achat(_messages(adapter))

    asyncio.run(call())  # warm-up: lazy imports and first-use files are opened here
    gc.collect()
    base_fds = fd_count()
    for _ in range(5):
        asyncio.run(call())
    assert emu.request_count == 6
    assert settle(lambda: gc.collect() >= 0 and fd_count() <= base_fds), (fd_count(), base_fds)

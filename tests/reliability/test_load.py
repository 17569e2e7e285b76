"""Load: 1,000 concurrent async streams per adapter, each answered right, nothing leaked.

Correctness only: every stream's text is the answer to its own prompt (no crossed
streams) and its usage is the usage the gateway reported for that prompt (not summed,
not another stream's); afterwards no connection is busy, no task is left and, once the
cached clients are closed, the process holds no more file descriptors than before.
Timings and memory belong to the benchmark (``make bench``), not here.

Nothing here is a deadline a busy machine can miss: at most :data:`CONNECTING` streams
are opening at once (each gives its slot back at its first chunk, so up to all 1,000
stay in flight together), because a thousand simultaneous connects on a loaded 2-core
box can outlast the 10 s connect timeout while the event loop is starved; and the waits
for connections and descriptors to settle are generous, returning as soon as they hold.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole

from gw_core.tokens import count_tokens
from gw_emulator import GatewayEmulator
from gw_emulator.engine import prompt_tokens
from tests.reliability.drivers import ADAPTERS, Adapter, build
from tests.reliability.leaks import (
    asettle,
    close_loop_clients,
    fd_count,
    loop_clients,
    other_tasks,
    pool_state,
)

STREAMS = 1000
#: Streams opening (connecting, waiting for their first chunk) at one time.
CONNECTING = 50
#: Longest wait for the process to settle after the streams: not a speed assertion.
SETTLE = 120.0


def _case(i: int) -> tuple[str, str]:
    """(prompt, the answer the gateway gives it): a fact only this prompt holds."""
    team = f"K{i * 37 % 1000:03d}Z{i}"
    filler = " The office is closed on Sundays." * (i % 5)
    prompt = f"Ticket {i} is owned by team {team}.{filler} Which team owns ticket {i}?"
    return prompt, f"Ticket {i} is owned by team {team}."


def _usage(prompt: str, answer: str) -> tuple[int, int, int]:
    """What the gateway reports: its documented tokenizer over the prompt and answer."""
    body = {"messages": [{"role": "user", "content": prompt}]}
    sent, received = prompt_tokens(body), count_tokens(answer)
    return sent, received, sent + received


class _Opening:
    """One of :data:`CONNECTING` slots, given back at the first chunk (or on failure)."""

    def __init__(self, gate: asyncio.Semaphore) -> None:
        self._gate = gate
        self._held = False

    async def __aenter__(self) -> _Opening:
        await self._gate.acquire()
        self._held = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._held = False
            self._gate.release()


async def _one(
    adapter: Adapter, llm: Any, prompt: str, gate: asyncio.Semaphore
) -> tuple[str, tuple[int, ...], int]:
    """(text, usage, chunks) of one async stream."""
    chunks = 0
    async with _Opening(gate) as opening:
        if adapter == "langchain":
            total: AIMessageChunk | None = None
            async for chunk in llm.astream(prompt):
                opening.release()
                chunks += 1
                total = chunk if total is None else total + chunk
            assert total is not None and total.usage_metadata is not None
            usage = total.usage_metadata
            return (
                total.text,
                (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]),
                chunks,
            )
        last: ChatResponse | None = None
        messages = [ChatMessage(role=MessageRole.USER, content=prompt)]
        async for response in await llm.astream_chat(messages):
            opening.release()
            chunks += 1
            last = response
    assert last is not None
    extra = last.additional_kwargs
    usage_li = (extra["prompt_tokens"], extra["completion_tokens"], extra["total_tokens"])
    return last.message.content or "", usage_li, chunks


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_thousand_concurrent_streams(adapter: Adapter, emu: GatewayEmulator) -> None:
    """1,000 concurrent astreams: each gets its own answer and usage; afterwards no busy
    connection, no task, and no file descriptor beyond the baseline once clients close."""
    await close_loop_clients()
    base_fds, base_tasks = fd_count(), other_tasks()
    llm = build(adapter, emu, "gpt-5.4", max_retries=0)
    cases = [_case(i) for i in range(STREAMS)]

    gate = asyncio.Semaphore(CONNECTING)
    results = await asyncio.gather(*(_one(adapter, llm, prompt, gate) for prompt, _ in cases))

    wrong = [
        (i, text, usage)
        for i, ((prompt, answer), (text, usage, chunks)) in enumerate(
            zip(cases, results, strict=True)
        )
        if text != answer or usage != _usage(prompt, answer) or chunks < 2
    ]
    assert wrong == [], wrong[:5]
    assert emu.request_count == STREAMS  # no retries needed, none made
    assert all(r.status == 200 and not r.disconnected_early for r in emu.requests)

    clients = loop_clients()
    assert len(clients) == 1  # one pooled client served them all
    state = pool_state(clients[0])
    assert state.active == 0 and state.waiting_requests == 0, state
    assert await asettle(lambda: other_tasks() == base_tasks, SETTLE), len(other_tasks())
    await close_loop_clients()
    assert emu.wait_idle(SETTLE)
    assert await asettle(lambda: fd_count() <= base_fds, SETTLE), (fd_count(), base_fds)

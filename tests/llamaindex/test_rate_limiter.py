"""GatewayLLM(limiter=...): every request waits on the shared limiter, tokens included."""

from __future__ import annotations

from llama_index.core.llms import ChatMessage

from gw_core.limits import RateLimiter
from tests.llamaindex.conftest import MakeLLM


def test_chat_and_stream_each_take_a_request_slot(make_llm: MakeLLM) -> None:
    shared = RateLimiter(rpm=2)
    llm = make_llm("gpt-5.4-low", limiter=shared)
    llm.chat([ChatMessage(role="user", content="hello")])
    assert "".join(r.delta or "" for r in llm.stream_chat([ChatMessage(role="user", content="x")]))
    assert not shared.acquire("gpt-5.4-low", blocking=False)
    assert shared.acquire("gpt-5.4-official", blocking=False)


async def test_async_calls_count_the_prompt_and_the_output_cap(make_llm: MakeLLM) -> None:
    shared = RateLimiter(tpm=1000)
    llm = make_llm(limiter=shared, max_completion_tokens=100)
    await llm.achat([ChatMessage(role="user", content="one two three four five")])
    spent = 4 + 5 + 100
    assert not shared.acquire("gpt-5.4", tokens=1000 - spent + 1, blocking=False)
    assert shared.acquire("gpt-5.4", tokens=1000 - spent, blocking=False)

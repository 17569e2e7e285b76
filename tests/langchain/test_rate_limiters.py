"""langchain_gw.GatewayRateLimiter: LangChain's rate_limiter hook on the shared limiter."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from gw_core.limits import RateLimiter
from langchain_gw.rate_limiters import GatewayRateLimiter
from tests.langchain.conftest import MakeLLM


def test_each_call_takes_a_request_slot_of_the_models_pool(make_llm: MakeLLM) -> None:
    shared = RateLimiter(rpm=2)
    llm = make_llm("gpt-5.4-low", rate_limiter=GatewayRateLimiter(shared, model="gpt-5.4-low"))
    llm.invoke("hello")
    llm.invoke("again")
    assert not shared.acquire("gpt-5.4-low", blocking=False)
    assert shared.acquire("gpt-5.4", blocking=False)


async def test_as_a_callback_too_it_counts_the_prompts_tokens(make_llm: MakeLLM) -> None:
    shared = RateLimiter(tpm=1000)
    limiter = GatewayRateLimiter(shared, model="gpt-5.4", max_output_tokens=100)
    llm = make_llm(rate_limiter=limiter, callbacks=[limiter])
    await llm.ainvoke([HumanMessage("one two three four five six seven eight nine ten")])
    spent = 4 + 10 + 100
    assert not shared.acquire("gpt-5.4", tokens=1000 - spent + 1, blocking=False)
    assert shared.acquire("gpt-5.4", tokens=1000 - spent, blocking=False)


def test_without_the_callback_only_requests_are_counted(make_llm: MakeLLM) -> None:
    shared = RateLimiter(rpm=5, tpm=50)
    llm = make_llm(rate_limiter=GatewayRateLimiter(shared, model="gpt-5.4"))
    llm.invoke("a prompt with several words in it")
    assert shared.acquire("gpt-5.4", tokens=50, blocking=False)


def test_its_repr_hides_the_redis_password() -> None:
    shared = RateLimiter(rpm=5, url="redis://:hunter2@127.0.0.1:6379/0")
    assert "hunter2" not in repr(GatewayRateLimiter(shared, model="gpt-5.4"))


def test_the_sync_path_counts_the_prompts_tokens_too(make_llm: MakeLLM) -> None:
    shared = RateLimiter(tpm=1000)
    limiter = GatewayRateLimiter(shared, model="gpt-5.4")
    make_llm(rate_limiter=limiter, callbacks=[limiter]).invoke("one two three")
    assert not shared.acquire("gpt-5.4", tokens=1000 - 7 + 1, blocking=False)
    assert shared.acquire("gpt-5.4", tokens=1000 - 7, blocking=False)

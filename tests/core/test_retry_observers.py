"""Per-call retry observers: every retry of the call, nothing of other calls, any loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from gw_core.errors import GatewayError, RateLimitError, ServerError
from gw_core.retry import RetryEvent, RetryPolicy, aobserved, observed, observing_retries


async def _no_sleep(seconds: float) -> None:
    return None


POLICY = RetryPolicy(max_retries=3, sleep=lambda s: None, asleep=_no_sleep)


def _flaky(failures: list[GatewayError]) -> Callable[[int], str]:
    def attempt(number: int) -> str:
        if number <= len(failures):
            raise failures[number - 1]
        return "ok"

    return attempt


FAILURES: list[GatewayError] = [
    ServerError("down", status_code=503),
    RateLimitError("slow down", status_code=429, code="rate_limited"),
]


def test_an_observer_hears_every_retry_of_calls_inside_its_block() -> None:
    heard: list[RetryEvent] = []
    with observing_retries(heard.append):
        assert POLICY.call(_flaky(FAILURES)) == "ok"
    assert [(e.attempt, e.reason) for e in heard] == [
        (1, "ServerError 503"),
        (2, "RateLimitError 429 code=rate_limited"),
    ]
    assert all(e.retry_state is not None for e in heard)
    POLICY.call(_flaky(FAILURES))
    assert len(heard) == 2  # outside the block: not told


def test_the_policys_own_observer_and_the_calls_both_hear_it() -> None:
    own: list[RetryEvent] = []
    per_call: list[RetryEvent] = []
    policy = POLICY.with_overrides(on_retry=own.append)
    with observing_retries(per_call.append):
        policy.call(_flaky(FAILURES[:1]))
    assert len(own) == len(per_call) == 1


async def test_async_observers_are_awaited_and_tasks_keep_their_own() -> None:
    heard: dict[str, list[int]] = {"a": [], "b": []}

    async def call(name: str, failures: int) -> None:
        async def observer(event: RetryEvent) -> None:
            await asyncio.sleep(0)
            heard[name].append(event.attempt)

        async def attempt(number: int) -> str:
            await asyncio.sleep(0)
            if number <= failures:
                raise ServerError("down", status_code=503)
            return "ok"

        with observing_retries(observer):
            await POLICY.acall(attempt)

    await asyncio.gather(call("a", 1), call("b", 3))
    assert heard == {"a": [1], "b": [1, 2, 3]}


def test_an_async_observer_on_a_sync_call_is_skipped_without_a_warning(
    recwarn: pytest.WarningsRecorder,
) -> None:
    async def observer(event: RetryEvent) -> None:
        raise AssertionError("never awaited, never run")

    with observing_retries(observer):
        assert POLICY.call(_flaky(FAILURES[:1])) == "ok"
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


def test_observed_registers_the_observer_only_while_fetching() -> None:
    heard: list[RetryEvent] = []

    def items() -> Iterator[int]:
        POLICY.call(_flaky(FAILURES[:1]))  # a retry while fetching
        yield 1
        yield 2

    seen = []
    for item in observed(items(), heard.append):
        seen.append(item)
        POLICY.call(_flaky(FAILURES[:1]))  # the consumer's own call
    assert seen == [1, 2]
    assert len(heard) == 1


def test_observed_watches_the_first_fetch_only_where_a_stream_can_retry() -> None:
    heard: list[RetryEvent] = []

    def items() -> Iterator[int]:
        yield 1
        POLICY.call(_flaky(FAILURES[:1]))  # not a stream's retry: none after the first
        yield 2

    assert list(observed(items(), heard.append)) == [1, 2]
    assert heard == []


async def test_aobserved_is_the_async_twin() -> None:
    heard: list[RetryEvent] = []

    async def items() -> AsyncIterator[int]:
        async def attempt(number: int) -> int:
            if number == 1:
                raise ServerError("down", status_code=503)
            return number

        yield await POLICY.acall(attempt)

    assert [i async for i in aobserved(items(), heard.append)] == [2]
    assert len(heard) == 1

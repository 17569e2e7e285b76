"""gw_core.limits: sliding-window limits per pool, in process and shared through a real Redis.

No deadlines: a test records when each ``acquire`` was called and when it returned. The
limiter stamps a request between the two, so "at most N in any window W" implies that
the (i+N)-th return comes at least W after the i-th call, however slow the machine.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gw_core.errors import GatewayInputError, RateLimitError
from gw_core.limits import PoolLimit, RateLimiter, estimate_tokens
from tests import real_services


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from real_services.redis_server(tmp_path_factory.mktemp("redis"))


def _namespace(request: pytest.FixtureRequest) -> str:
    return f"t-{request.node.name}-{time.time_ns()}"


def _timed_acquires(limiter: RateLimiter, model: str, count: int) -> list[tuple[float, float]]:
    spans = []
    for _ in range(count):
        called = time.time()
        assert limiter.acquire(model)
        spans.append((called, time.time()))
    return spans


def _assert_at_most(spans: list[tuple[float, float]], limit: int, window: float) -> None:
    for i in range(len(spans) - limit):
        assert spans[i + limit][1] - spans[i][0] >= window, (i, spans)


def test_requests_per_window_slide_instead_of_refilling_in_a_burst() -> None:
    limiter = RateLimiter(rpm=3, window=1)
    spans = _timed_acquires(limiter, "gpt-5.4", 8)
    _assert_at_most(spans, 3, 1.0)


def test_a_full_window_refuses_a_non_blocking_acquire_and_pools_count_apart() -> None:
    limiter = RateLimiter(rpm=2, window=60)
    assert limiter.acquire("gpt-5.4-low", blocking=False)
    assert limiter.acquire("gemini-2.5-pro-low", blocking=False)  # same pool: "low"
    assert not limiter.acquire("gpt-5.4-low", blocking=False)
    assert limiter.acquire("gpt-5.4-official", blocking=False)
    assert limiter.acquire("gpt-5.4", blocking=False)


def test_a_pool_can_have_its_own_limit() -> None:
    limiter = RateLimiter(rpm=100, pools={"low": PoolLimit(rpm=1)})
    assert limiter.acquire("gpt-5.4-low", blocking=False)
    assert not limiter.acquire("gpt-5.4-low", blocking=False)
    assert all(limiter.acquire("gpt-5.4", blocking=False) for _ in range(5))


def test_tokens_are_counted_against_the_token_limit() -> None:
    limiter = RateLimiter(tpm=100)
    assert limiter.acquire("gpt-5.4", tokens=60, blocking=False)
    assert not limiter.acquire("gpt-5.4", tokens=60, blocking=False)
    assert limiter.acquire("gpt-5.4", tokens=40, blocking=False)


def test_a_request_larger_than_the_token_limit_is_refused_before_waiting() -> None:
    limiter = RateLimiter(tpm=100)
    with pytest.raises(GatewayInputError, match=r"never fit.*raise tpm"):
        limiter.acquire("gpt-5.4", tokens=101)


def test_waiting_on_tokens_does_not_spend_request_slots() -> None:
    limiter = RateLimiter(rpm=3, tpm=100, window=60)
    assert limiter.acquire("gpt-5.4", tokens=100, blocking=False)
    for _ in range(5):
        assert not limiter.acquire("gpt-5.4", tokens=10, blocking=False)
    assert limiter.acquire("gpt-5.4", tokens=0, blocking=False)
    assert limiter.acquire("gpt-5.4", tokens=0, blocking=False)


@pytest.mark.parametrize(("rpm", "tpm", "window"), [(0, None, 60), (None, -5, 60), (3, 3, 0)])
def test_bad_limits_are_refused_with_what_to_change(rpm: int, tpm: int, window: int) -> None:
    with pytest.raises(GatewayInputError, match="must be"):
        RateLimiter(rpm, tpm, window=window)


def test_a_url_that_is_not_redis_is_refused_without_showing_its_password() -> None:
    with pytest.raises(GatewayInputError) as caught:
        RateLimiter(rpm=1, url="memcached://user:hunter2@cache:11211")
    assert "redis://" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_the_repr_and_a_pickle_hide_nothing_but_the_password() -> None:
    limiter = RateLimiter(rpm=5, url="redis://:hunter2@127.0.0.1:6379/0")
    assert "hunter2" not in repr(limiter)
    assert "127.0.0.1:6379" in repr(limiter)
    copy = pickle.loads(pickle.dumps(limiter))
    assert copy.shared and repr(copy) == repr(limiter)


def test_a_rate_limit_error_with_retry_after_pauses_the_pool() -> None:
    limiter = RateLimiter(rpm=100)
    error = RateLimitError("slow down", status_code=429, retry_after=30.0)
    assert limiter.observe(error, "gpt-5.4-low") == 30.0
    assert not limiter.acquire("gpt-5.4-low", blocking=False)
    assert limiter.acquire("gpt-5.4", blocking=False)
    assert limiter.observe(RateLimitError("no wait", status_code=429), "gpt-5.4") is None


def test_the_estimate_counts_the_prompt_and_the_output_cap() -> None:
    body = {"messages": [{"role": "user", "content": "one two three"}]}
    prompt_only = estimate_tokens(body)
    assert prompt_only >= 3
    assert estimate_tokens({**body, "max_completion_tokens": 50}) == prompt_only + 50
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "one two"}]}]}
    assert estimate_tokens(parts) >= 2


def test_an_in_process_limiter_split_across_workers_keeps_the_total() -> None:
    limiter = RateLimiter(rpm=10, tpm=1001, pools={"low": PoolLimit(rpm=3)})
    share = limiter.share_of(3)
    assert (share.default.rpm, share.default.tpm, share.pools["low"].rpm) == (3, 333, 1)
    with pytest.raises(GatewayInputError, match="cannot be split across 4 workers"):
        limiter.share_of(4)


# -- shared through a real Redis ----------------------------------------------------------


def test_two_limiters_on_one_redis_share_the_count(
    redis_url: str, request: pytest.FixtureRequest
) -> None:
    namespace = _namespace(request)
    first = RateLimiter(rpm=3, url=redis_url, namespace=namespace)
    second = pickle.loads(pickle.dumps(first))
    assert first.acquire("gpt-5.4", blocking=False)
    assert second.acquire("gpt-5.4", blocking=False)
    assert first.acquire("gpt-5.4", blocking=False)
    assert not second.acquire("gpt-5.4", blocking=False)
    assert second.acquire("gpt-5.4-low", blocking=False)


def test_the_sync_and_async_paths_count_in_the_same_redis_window(
    redis_url: str, request: pytest.FixtureRequest
) -> None:
    limiter = RateLimiter(rpm=2, url=redis_url, namespace=_namespace(request))
    assert limiter.acquire("gpt-5.4", blocking=False)

    async def both() -> list[bool]:
        return [await limiter.aacquire("gpt-5.4", blocking=False) for _ in range(2)]

    assert asyncio.run(both()) == [True, False]


def test_a_pause_reaches_every_process_through_redis(
    redis_url: str, request: pytest.FixtureRequest
) -> None:
    namespace = _namespace(request)
    RateLimiter(rpm=100, url=redis_url, namespace=namespace).pause("gpt-5.4-low", 30)
    other = RateLimiter(rpm=100, url=redis_url, namespace=namespace)
    assert not other.acquire("gpt-5.4-low", blocking=False)
    assert other.acquire("gpt-5.4-official", blocking=False)


def test_the_redis_window_slides_for_async_callers(
    redis_url: str, request: pytest.FixtureRequest
) -> None:
    limiter = RateLimiter(rpm=2, url=redis_url, namespace=_namespace(request), window=1)

    async def spans() -> list[tuple[float, float]]:
        out = []
        for _ in range(6):
            called = time.time()
            assert await limiter.aacquire("gpt-5.4")
            out.append((called, time.time()))
        return out

    _assert_at_most(asyncio.run(spans()), 2, 1.0)


_SENDER = textwrap.dedent(
    """
    import json, sys
    from gw_core.batch import BatchConfig, run_batch
    from gw_core.limits import RateLimiter
    url, namespace, source, target = sys.argv[1:5]
    limiter = RateLimiter(rpm=4, url=url, namespace=namespace, window=4)
    summary = run_batch(source, target, BatchConfig(concurrency=8, limiter=limiter))
    print(json.dumps(summary.to_dict()))
    """
)


def _rows(path: Path, prefix: str, count: int) -> None:
    lines = [
        {
            "custom_id": f"{prefix}{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-5.4-low", "messages": [{"role": "user", "content": f"q{i}"}]},
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_two_processes_sharing_redis_stay_within_the_limit_at_the_gateway(
    redis_url: str, gateway_env: object, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Arrival times in the emulator's log: at most 4 in any 2 s (window 4 s, 2 s slack
    for the trip from the limiter's stamp to the server)."""
    from gw_emulator import GatewayEmulator

    assert isinstance(gateway_env, GatewayEmulator)
    namespace = _namespace(request)
    processes = []
    for name in ("a", "b"):
        _rows(tmp_path / f"{name}.jsonl", name, 6)
        source, target = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.out"
        args = [redis_url, namespace, str(source), str(target)]
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", _SENDER, *args], stdout=subprocess.PIPE, text=True
            )
        )
    summaries = [json.loads(process.communicate()[0]) for process in processes]
    assert [s["rows_ok"] for s in summaries] == [6, 6]
    log = gateway_env.requests
    arrivals = sorted(r.received_at for r in log if r.path.endswith("/completions"))
    assert len(arrivals) == 12
    for i in range(len(arrivals) - 4):
        assert arrivals[i + 4] - arrivals[i] >= 2.0, arrivals

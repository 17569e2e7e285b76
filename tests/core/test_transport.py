"""The transport on a real loopback server: one retry loop, failover, stream integrity.

Every test counts the requests the emulator saw, so a hidden second retry loop (the SDK's)
or a retry after output began would show up as a wrong count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from gw_core import errors
from gw_core.catalog import ModelSpec, parse
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_core.transport import Gateway
from gw_core.wire.params import build_body
from gw_emulator import Fault, GatewayEmulator
from tests.reliability.leaks import pool_state

CONTEXT = (
    "The retry policy waits for Retry-After. Pools pick an account group. "
    "Bananas are yellow. Streams are retried only before their first chunk."
)
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": CONTEXT},
    {"role": "user", "content": "When are streams retried?"},
]


class Sleeps(list[float]):
    """Records the waits the policy asked for, without sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def emu(gateway_emulator: GatewayEmulator) -> Iterator[GatewayEmulator]:
    yield gateway_emulator


def _gateway(
    emu: GatewayEmulator, sleeps: Sleeps, *, pools: tuple[str, ...] = (), **settings: Any
) -> Gateway:
    s = Settings.resolve(api_key=emu.api_key, base_url=emu.base_url, **settings)
    policy = RetryPolicy(sleep=sleeps, asleep=sleeps.asleep, jitter=0)
    return Gateway(s, policy=policy, pools=pools)


def _body(model: str, *, stream: bool = False) -> dict[str, Any]:
    return build_body(parse(model), MESSAGES, {}, stream=stream)


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-sonnet-4-6", "gemini-3-flash-preview"])
def test_complete_answers_from_context(emu: GatewayEmulator, sleeps: Sleeps, model: str) -> None:
    done = _gateway(emu, sleeps).complete(_body(model), parse(model))
    assert "retried only before their first chunk" in done.result.content
    assert done.result.finish_reason == "stop"
    assert done.result.usage is not None and done.result.usage.total_tokens > 0
    assert (done.route.model, done.route.pool, done.route.attempts) == (model, "standard", 1)
    assert emu.request_count == 1
    sent = emu.requests[0]
    assert sent.headers["authorization"] == "Bearer ***"
    assert sent.headers["user-agent"].startswith("gw-integrations/")
    assert sent.headers.get("x-stainless-retry-count", "0") == "0"


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-opus-4-6", "gemini-2.5-pro"])
def test_stream_assembles_the_same_answer(emu: GatewayEmulator, sleeps: Sleeps, model: str) -> None:
    gw = _gateway(emu, sleeps)
    stream = gw.stream(_body(model, stream=True), parse(model))
    deltas = list(stream)
    assert len(deltas) >= 2
    text = "".join(d.content for d in deltas)
    result = stream.result()
    assert result.content == text
    assert "first chunk" in text and result.finish_reason == "stop"
    assert result.usage is not None and result.usage.completion_tokens > 0
    assert stream.route is not None and stream.route.attempts == 1
    assert emu.request_count == 1


def test_retry_after_is_honoured_without_sleeping(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    emu.inject(Fault.status(429, retry_after=2))
    emu.inject(Fault.status(503, retry_after_ms=1500))
    done = _gateway(emu, sleeps).complete(_body("gpt-5.4"), parse("gpt-5.4"))
    assert done.route.attempts == 3
    assert sleeps == [2.0, 1.5]
    assert [r.status for r in emu.requests] == [429, 503, 200]


def test_retry_after_over_the_cap_fails_at_once(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    emu.inject(Fault.status(429, retry_after=3600))
    with pytest.raises(errors.RateLimitError) as info:
        _gateway(emu, sleeps).complete(_body("gpt-5.4"), parse("gpt-5.4"))
    assert info.value.retry_after == 3600
    assert sleeps == [] and emu.request_count == 1


@pytest.mark.parametrize(
    ("fault", "error", "requests"),
    [
        (Fault.status(400), errors.BadRequestError, 1),
        (Fault.status(401), errors.AuthenticationError, 1),
        (Fault.status(404), errors.NotFoundError, 1),
        (Fault.status(422), errors.BadRequestError, 1),
        (Fault.quota(), errors.QuotaExceededError, 1),
        (Fault.model_not_found(), errors.ModelNotFoundError, 1),
        (Fault.status(503, should_retry=False), errors.ServerError, 1),
    ],
)
def test_not_retried(
    emu: GatewayEmulator, sleeps: Sleeps, fault: Fault, error: type[Exception], requests: int
) -> None:
    emu.inject(fault, times=5)
    with pytest.raises(error):
        _gateway(emu, sleeps).complete(_body("gpt-5.4"), parse("gpt-5.4"))
    assert emu.request_count == requests and sleeps == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(500), errors.ServerError),
        (Fault.status(502), errors.ServerError),
        (Fault.html(502), errors.ServerError),
        (Fault.status(504), errors.ServerError),
        (Fault.reset(), errors.GatewayConnectionError),
    ],
)
def test_retried_until_attempts_run_out(
    emu: GatewayEmulator, sleeps: Sleeps, fault: Fault, error: type[Exception]
) -> None:
    emu.inject(fault, times=10)
    with pytest.raises(error) as info:
        _gateway(emu, sleeps).complete(_body("gpt-5.4"), parse("gpt-5.4"))
    assert emu.request_count == 3 and len(sleeps) == 2
    assert "<html" not in str(info.value).lower()


def test_read_timeout_is_retried_then_typed(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    emu.inject(Fault.delay(1.0), times=3)
    with pytest.raises(errors.GatewayTimeoutError, match="timed out"):
        _gateway(emu, sleeps, timeout=0.2).complete(_body("gpt-5.4"), parse("gpt-5.4"))
    assert emu.request_count == 3


def test_pool_failover_moves_to_the_next_pool(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    emu.inject(Fault.status(503), model="gpt-5.4-hc", times=5)
    gw = _gateway(emu, sleeps, pools=("hc", "official"))
    done = gw.complete(_body("gpt-5.4"), parse("gpt-5.4"))
    assert (done.route.model, done.route.pool, done.route.attempts) == (
        "gpt-5.4-official",
        "official",
        2,
    )
    assert [r.model for r in emu.requests] == ["gpt-5.4-hc", "gpt-5.4-official"]


def test_stream_failover_before_the_first_chunk(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    emu.inject(Fault.cut(0), model="claude-opus-4-6-hc")
    gw = _gateway(emu, sleeps, pools=("hc", "fd"))
    stream = gw.stream(_body("claude-opus-4-6", stream=True), parse("claude-opus-4-6"))
    text = "".join(d.content for d in stream)
    assert text and stream.route is not None and stream.route.pool == "fd"
    assert [r.model for r in emu.requests] == ["claude-opus-4-6-hc", "claude-opus-4-6-fd"]


@pytest.mark.parametrize(
    "fault",
    [Fault.cut(0), Fault.cut(0, done=True), Fault.error_event(0), Fault.status(429), Fault.reset()],
)
def test_stream_retried_before_its_first_chunk(
    emu: GatewayEmulator, sleeps: Sleeps, fault: Fault
) -> None:
    emu.inject(fault)
    stream = _gateway(emu, sleeps).stream(_body("gpt-5.4", stream=True), parse("gpt-5.4"))
    assert "".join(d.content for d in stream)
    assert emu.request_count == 2 and stream.route is not None and stream.route.attempts == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.cut(2), (errors.StreamInterruptedError, errors.IncompleteStreamError)),
        (Fault.cut(2, done=True), errors.IncompleteStreamError),
        (Fault.error_event(2), errors.StreamInterruptedError),
    ],
)
def test_stream_failure_after_output_is_typed_with_partial_text(
    emu: GatewayEmulator,
    sleeps: Sleeps,
    fault: Fault,
    error: type[Exception] | tuple[type[Exception], ...],
) -> None:
    emu.inject(fault)
    seen: list[str] = []
    stream = _gateway(emu, sleeps).stream(
        _body("gemini-2.5-pro", stream=True), parse("gemini-2.5-pro")
    )
    with pytest.raises(error) as info:
        for delta in stream:
            seen.append(delta.content)
    assert isinstance(info.value, errors.StreamError)
    assert info.value.partial_text == "".join(seen) != ""
    assert emu.request_count == 1 and sleeps == []


def test_error_event_mid_stream_keeps_the_gateway_error(
    emu: GatewayEmulator, sleeps: Sleeps
) -> None:
    emu.inject(Fault.error_event(1, message="upstream overloaded", code="upstream_error"))
    with pytest.raises(errors.StreamInterruptedError) as info:
        list(_gateway(emu, sleeps).stream(_body("gpt-5.4", stream=True), parse("gpt-5.4")))
    assert info.value.cause is not None and info.value.cause.code == "upstream_error"
    assert "upstream overloaded" in str(info.value)


def test_malformed_chunk_is_typed_and_not_retried(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    emu.inject(Fault.malformed(1))
    with pytest.raises(errors.MalformedResponseError):
        list(_gateway(emu, sleeps).stream(_body("gpt-5.4", stream=True), parse("gpt-5.4")))
    assert emu.request_count == 1


def test_stall_after_output_is_a_stalled_stream(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    emu.inject(Fault.stall(1, seconds=2.0))
    gw = _gateway(emu, sleeps, stream_chunk_timeout=0.3)
    with pytest.raises(errors.StreamStalledError) as info:
        list(gw.stream(_body("gpt-5.4", stream=True), parse("gpt-5.4")))
    assert info.value.partial_text
    assert emu.request_count == 1


def test_closing_a_stream_early_releases_the_connection(
    emu: GatewayEmulator, sleeps: Sleeps
) -> None:
    stream = _gateway(emu, sleeps).stream(_body("gpt-5.4", stream=True), parse("gpt-5.4"))
    next(stream)
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)


# -- async twins -------------------------------------------------------------------------


async def test_async_complete_retries_and_fails_over(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    emu.inject(Fault.status(502), model="gemini-3-flash-preview-official")
    gw = _gateway(emu, sleeps, pools=("official", "low"))
    done = await gw.acomplete(_body("gemini-3-flash-preview"), parse("gemini-3-flash-preview"))
    assert done.route.pool == "low" and done.route.attempts == 2
    assert "first chunk" in done.result.content


class Hook:
    """Records what Gateway.asend tells an attempt hook."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def before(self, target: ModelSpec, body: dict[str, Any]) -> None:
        assert body["model"] == target.id  # the body as sent to that pool
        self.seen.append(("before", target.id))

    async def failed(self, target: ModelSpec, error: Exception) -> None:
        self.seen.append((type(error).__name__, target.id))


async def test_asend_runs_its_hook_around_every_attempt_and_keeps_the_raw_answer(
    emu: GatewayEmulator, sleeps: Sleeps
) -> None:
    emu.inject(Fault.status(429), model="gpt-5.4-hc")
    gw = _gateway(emu, sleeps, pools=("hc", "fd"))
    hook = Hook()
    sent = await gw.asend(_body("gpt-5.4"), parse("gpt-5.4"), hook=hook)
    assert hook.seen == [
        ("before", "gpt-5.4-hc"),
        ("RateLimitError", "gpt-5.4-hc"),
        ("before", "gpt-5.4-fd"),
    ]
    route = sent.completion.route
    assert (route.model, route.pool, route.attempts) == ("gpt-5.4-fd", "fd", 2)
    assert sent.payload["choices"][0]["message"]["content"] == sent.completion.result.content
    assert sent.request_id is not None and sent.request_id == sent.payload["id"]
    assert emu.request_count == 2


async def test_async_stream_retried_before_first_chunk_then_typed_after(
    emu: GatewayEmulator, sleeps: Sleeps
) -> None:
    gw = _gateway(emu, sleeps)
    emu.inject(Fault.status(500))
    stream = gw.astream(_body("claude-haiku-4-5", stream=True), parse("claude-haiku-4-5"))
    text = "".join([d.content async for d in stream])
    assert text == stream.result().content and emu.request_count == 2

    emu.inject(Fault.cut(2, done=True))
    with pytest.raises(errors.IncompleteStreamError) as info:
        async for _ in gw.astream(
            _body("claude-haiku-4-5", stream=True), parse("claude-haiku-4-5")
        ):
            pass
    assert info.value.partial_text and emu.request_count == 3


async def test_cancelling_an_async_stream_closes_the_connection(
    emu: GatewayEmulator, sleeps: Sleeps
) -> None:
    emu.inject(Fault.stall(1, seconds=5.0))
    gw = _gateway(emu, sleeps)
    got_first = asyncio.Event()

    async def consume() -> None:
        async for _ in gw.astream(_body("gpt-5.4", stream=True), parse("gpt-5.4")):
            got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if emu.requests and emu.requests[0].disconnected_early:
            break
        await asyncio.sleep(0.02)
    assert emu.requests[0].disconnected_early
    assert emu.request_count == 1


def test_a_key_echoed_by_the_gateway_never_reaches_the_error(emu: GatewayEmulator) -> None:
    gw = _gateway(emu, Sleeps())
    key = gw.settings.secret()
    emu.inject(Fault.status(401, message=f"Incorrect API key provided: {key}. Check it."))
    with pytest.raises(errors.AuthenticationError) as info:
        gw.complete(_body("gpt-5.4"), parse("gpt-5.4"))
    assert key not in str(info.value) and key not in info.value.message
    assert "Incorrect API key provided: ***" in str(info.value)
    # The SDK's own exception (whose text repeats the body) is not chained on at all.
    assert info.value.__context__ is None and info.value.__cause__ is None
    emu.inject(Fault.error_event(1, message=f"bad key {key}"))
    with pytest.raises(errors.StreamInterruptedError) as stream_info:
        list(gw.stream(_body("gpt-5.4", stream=True), parse("gpt-5.4")))
    assert key not in str(stream_info.value)
    assert stream_info.value.cause is not None and key not in str(stream_info.value.cause)


def test_finished_streams_hand_their_connection_back(emu: GatewayEmulator, sleeps: Sleeps) -> None:
    from gw_core.client import sync_client

    gw = _gateway(emu, sleeps)
    for _ in range(3):
        assert "".join(
            d.content for d in gw.stream(_body("gpt-5.4", stream=True), parse("gpt-5.4"))
        )
    pool = sync_client(gw.settings)._client._transport._pool
    assert len(pool.connections) == 1  # one kept-alive connection served all three


async def test_finished_async_streams_hand_their_connection_back(
    emu: GatewayEmulator, sleeps: Sleeps
) -> None:
    from gw_core.client import async_client

    gw = _gateway(emu, sleeps)
    for _ in range(3):
        async for _delta in gw.astream(
            _body("gemini-2.5-pro", stream=True), parse("gemini-2.5-pro")
        ):
            pass
    # one kept-alive connection served all three, on either async HTTP client
    state = pool_state(async_client(gw.settings))
    assert (state.active, state.idle) == (0, 1)

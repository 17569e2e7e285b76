"""Streams on a real loopback server: retried only before their first delta, typed after.

Every test counts the requests the emulator saw, so a retry after output began shows up
as a wrong count; the connection tests check that a finished stream hands its connection
back and that a cancelled one closes it.
"""

from __future__ import annotations

import asyncio

import pytest

from gw_core import errors
from gw_core.catalog import parse
from gw_emulator import Fault, GatewayEmulator
from tests.core.gateway_helpers import Sleeps
from tests.core.gateway_helpers import body as _body
from tests.core.gateway_helpers import gateway as _gateway
from tests.reliability.leaks import pool_state


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

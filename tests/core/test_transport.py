"""The transport on a real loopback server: one retry loop, failover, typed errors.

Every test counts the requests the emulator saw, so a hidden second retry loop (the SDK's)
shows up as a wrong count. Streams have their own file, test_streaming.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from gw_core import errors
from gw_core.catalog import ModelSpec, parse
from gw_emulator import Fault, GatewayEmulator
from tests.core.gateway_helpers import Sleeps
from tests.core.gateway_helpers import body as _body
from tests.core.gateway_helpers import gateway as _gateway


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

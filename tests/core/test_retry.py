"""The retry policy: exact attempts and exact waits on a fake clock, never a real long sleep.

Every policy case runs twice, through ``call`` and through ``acall`` (the ``run`` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import formatdate
from typing import Any

import pytest
import tenacity
from hypothesis import given
from hypothesis import strategies as st

from gw_core.errors import (
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    ConflictError,
    GatewayAPIError,
    GatewayConnectionError,
    GatewayError,
    GatewayInputError,
    GatewayTimeoutError,
    IncompleteStreamError,
    MalformedResponseError,
    ModelNotFoundError,
    NotFoundError,
    ParameterError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
    StreamStalledError,
    error_from_body,
    error_from_status,
)
from gw_core.retry import RetryEvent, RetryPolicy, is_retryable, parse_retry_after

NOW = 1_700_000_000.0  # wall-clock "now" for HTTP dates
CANARY = "CANARY-body-3b9d1f"  # planted in error messages; must never reach the log


# --- helpers ------------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only moves when the policy sleeps or a fake request runs."""

    def __init__(self) -> None:
        self.now = 5_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Script:
    """The ``fn`` under test: one outcome per attempt (raise it, or return it)."""

    def __init__(self, *outcomes: object, fake: FakeTime | None = None, takes: float = 0.0):
        self.outcomes = outcomes
        self.attempts: list[int] = []
        self.fake = fake
        self.takes = takes  # seconds each attempt costs on the fake clock

    def __call__(self, attempt: int) -> object:
        self.attempts.append(attempt)
        if len(self.attempts) > len(self.outcomes):
            raise AssertionError(f"unexpected attempt {attempt}")  # not retryable: surfaces
        if self.fake is not None:
            self.fake.now += self.takes
        outcome = self.outcomes[len(self.attempts) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def run_async(self, attempt: int) -> object:
        await asyncio.sleep(0)
        return self(attempt)


Runner = Callable[..., object]


@pytest.fixture(params=["call", "acall"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Run a script under a policy through the sync or the async entry point."""

    def runner(policy: RetryPolicy, script: Script, model: str | None = None) -> object:
        if request.param == "call":
            return policy.call(script, model=model)
        # a lambda, not a coroutine function: acall must accept any awaitable-returning fn
        return asyncio.run(policy.acall(lambda n: script.run_async(n), model=model))

    return runner


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_policy(fake: FakeTime, **changes: Any) -> RetryPolicy:
    changes.setdefault("jitter", 0.0)
    return RetryPolicy(sleep=fake.sleep, asleep=fake.asleep, clock=fake.clock, **changes)


def api_error(status: int, **fields: Any) -> GatewayAPIError:
    fields.setdefault("request_id", "req-42")
    return error_from_status(status, f"upstream said {CANARY}", **fields)


def raises(runner: Runner, *args: Any, **kwargs: Any) -> BaseException:
    with pytest.raises(BaseException) as info:
        runner(*args, **kwargs)
    return info.value


# --- parse_retry_after --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"RETRY-AFTER": " 7 "}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After-Ms": "250.5"}, 0.2505),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after-ms": "-5", "Retry-After": "9"}, 9.0),
        ({"retry-after": formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"retry-after": formatdate(NOW + 30, usegmt=True).replace("GMT", "+0100")}, 30.0 - 3600),
        ({"retry-after": formatdate(NOW + 3630, usegmt=True).replace("GMT", "+0100")}, 30.0),
    ],
)
def test_parse_retry_after_values(headers: dict[str, str], expected: float) -> None:
    got = parse_retry_after(headers, now=NOW)
    if expected <= 0:
        assert got is None  # a date in the past is no wait at all
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    "value",
    ["", "   ", "0", "0.0", "-1", "-0.5", "nan", "NaN", "inf", "-inf", "Infinity", "soon", "2 s",
     "1,5", "+3", "1e3", "9" * 400, "Mon", formatdate(NOW - 5, usegmt=True)],
)  # fmt: skip
def test_parse_retry_after_rejects_unusable_values(value: str) -> None:
    assert parse_retry_after({"Retry-After": value}, now=NOW) is None
    assert parse_retry_after({"retry-after-ms": value}, now=NOW) is None


def test_parse_retry_after_without_the_headers() -> None:
    assert parse_retry_after({}) is None
    assert parse_retry_after({"x-ratelimit-reset": "3", "content-type": "text/plain"}) is None


def test_parse_retry_after_dates_default_to_the_wall_clock() -> None:
    # No `now`: measured from time.time(), so a date a minute ahead is about 60 s.
    got = parse_retry_after({"Retry-After": formatdate(time.time() + 60, usegmt=True)})
    assert got is not None and 55 < got <= 60


@pytest.mark.parametrize("zone", ["-0000", "asctime"])
def test_parse_retry_after_zoneless_dates_are_gmt_not_local_time(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # a local zone far from GMT
    time.tzset()
    try:
        if zone == "asctime":
            value = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(NOW + 45))
        else:
            value = formatdate(NOW + 45, usegmt=True).replace("GMT", "-0000")
        assert parse_retry_after({"Retry-After": value}, now=NOW) == 45.0
    finally:
        monkeypatch.undo()
        time.tzset()


HEADER_TYPES: list[Callable[[dict[str, str]], Mapping[str, str]]] = [dict]
for _module in ("httpx", "httpx2"):
    with contextlib.suppress(ImportError):  # each openai major brings its own HTTP stack
        HEADER_TYPES.append(importlib.import_module(_module).Headers)


@pytest.mark.parametrize("headers_type", HEADER_TYPES)
def test_parse_retry_after_reads_httpx_headers(
    headers_type: Callable[[dict[str, str]], Mapping[str, str]],
) -> None:
    assert parse_retry_after(headers_type({"Retry-After-Ms": "1500", "Retry-After": "3"})) == 1.5
    assert parse_retry_after(headers_type({"Retry-After": "3"})) == 3.0


@given(st.integers(min_value=1, max_value=10**9))
def test_parse_retry_after_round_trips_whole_seconds_and_ms(n: int) -> None:
    assert parse_retry_after({"Retry-After": str(n)}) == float(n)
    assert parse_retry_after({"retry-after-ms": str(n)}) == n / 1000


@given(st.floats(min_value=0.001, max_value=1e6))
def test_parse_retry_after_round_trips_fractional_seconds(seconds: float) -> None:
    text = f"{seconds:.3f}"
    assert parse_retry_after({"retry-after": text}) == float(text)


@given(st.integers(min_value=1, max_value=10**8))
def test_parse_retry_after_round_trips_http_dates(offset: int) -> None:
    header = formatdate(NOW + offset, usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=NOW) == float(offset)


@given(st.text(), st.text())
def test_parse_retry_after_never_raises_and_never_returns_unusable(ms: str, ra: str) -> None:
    got = parse_retry_after({"retry-after-ms": ms, "retry-after": ra}, now=NOW)
    assert got is None or (math.isfinite(got) and got > 0)


# --- is_retryable -------------------------------------------------------------------------

RETRYABLE = [
    GatewayConnectionError("connection reset"),
    GatewayTimeoutError("read timeout"),
    api_error(408),
    api_error(409),
    api_error(429),
    api_error(500),
    api_error(502),
    api_error(503),
    api_error(504),
    api_error(400, should_retry=True),
    api_error(401, should_retry=True),
    GatewayAPIError("no class for this status", status_code=503),
]
NOT_RETRYABLE = [
    api_error(400),
    api_error(401),
    api_error(403),
    api_error(404),
    api_error(413),
    api_error(422),
    api_error(503, should_retry=False),
    api_error(429, should_retry=False),
    error_from_body({"error": {"code": "insufficient_user_quota"}}, status_code=403),
    error_from_body({"error": {"code": "insufficient_quota"}}, status_code=429),
    error_from_body({"error": {"code": "model_not_found"}}, status_code=503),
    error_from_body({"error": {"code": "model_not_found"}}, status_code=503, should_retry=True),
    error_from_body({"error": {"code": "insufficient_quota"}}, status_code=429, should_retry=True),
    GatewayAPIError("an error event with no status"),
    GatewayInputError("bad input"),
    ParameterError("temperature too high"),
    CapabilityError("no video"),
    StreamInterruptedError("cut", partial_text="Hel"),
    IncompleteStreamError("no finish_reason"),
    StreamStalledError("stalled"),
    MalformedResponseError("not JSON"),
    ValueError("not ours"),
    ConnectionResetError("raw, unmapped"),
    KeyboardInterrupt(),
    asyncio.CancelledError(),
]


def _ids(errors: Sequence[BaseException]) -> list[str]:
    return [f"{type(e).__name__}-{getattr(e, 'status_code', '')}" for e in errors]


@pytest.mark.parametrize("exc", RETRYABLE, ids=_ids(RETRYABLE))
def test_retryable(exc: BaseException) -> None:
    assert is_retryable(exc) is True


@pytest.mark.parametrize("exc", NOT_RETRYABLE, ids=_ids(NOT_RETRYABLE))
def test_not_retryable(exc: BaseException) -> None:
    assert is_retryable(exc) is False


def test_the_tables_use_the_classes_the_error_mapping_builds() -> None:
    kinds = {type(e) for e in RETRYABLE + NOT_RETRYABLE}
    assert {RateLimitError, ServerError, ConflictError, BadRequestError} <= kinds
    assert {AuthenticationError, PermissionDeniedError, NotFoundError} <= kinds
    assert {QuotaExceededError, ModelNotFoundError} <= kinds


# --- the policy: server-requested waits -----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "1500", "Retry-After": "20"}, 1.5),
        ({"Retry-After": formatdate(NOW + 12, usegmt=True)}, 12.0),
    ],
)
def test_429_waits_exactly_what_the_server_asked(
    run: Runner, fake: FakeTime, headers: dict[str, str], wait: float
) -> None:
    error = api_error(429, retry_after=parse_retry_after(headers, now=NOW))
    script = Script(error, "ok")
    # jitter is on: a server-requested wait must get none of it
    assert run(make_policy(fake, jitter=0.25), script) == "ok"
    assert script.attempts == [1, 2]
    assert fake.sleeps == [wait]


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", ""])
def test_unusable_retry_after_falls_back_to_backoff(
    run: Runner, fake: FakeTime, value: str
) -> None:
    errors = [api_error(429, retry_after=parse_retry_after({"Retry-After": value})) for _ in "abc"]
    script = Script(*errors)
    assert raises(run, make_policy(fake), script) is errors[2]
    assert script.attempts == [1, 2, 3]
    assert fake.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -3.0, 0.0])
def test_hand_built_bad_retry_after_falls_back_to_backoff(
    run: Runner, fake: FakeTime, bad: float
) -> None:
    script = Script(RateLimitError("slow down", status_code=429, retry_after=bad), "ok")
    assert run(make_policy(fake), script) == "ok"
    assert fake.sleeps == [0.5]


def test_a_wait_over_the_cap_fails_at_once_with_the_wait(run: Runner, fake: FakeTime) -> None:
    error = api_error(429, retry_after=31.0)
    script = Script(error, "ok")
    raised = raises(run, make_policy(fake, max_wait=30.0), script)
    assert raised is error and isinstance(raised, RateLimitError)
    assert raised.retry_after == 31.0
    assert script.attempts == [1]
    assert fake.sleeps == []


def test_a_wait_at_the_cap_is_honoured(run: Runner, fake: FakeTime) -> None:
    script = Script(api_error(429, retry_after=30.0), "ok")
    assert run(make_policy(fake, max_wait=30.0), script) == "ok"
    assert fake.sleeps == [30.0]


@pytest.mark.parametrize(("retry_after", "attempts"), [(6.0, [1]), (5.0, [1]), (4.0, [1, 2])])
def test_a_wait_over_the_remaining_budget_fails_at_once(
    run: Runner, fake: FakeTime, retry_after: float, attempts: list[int]
) -> None:
    # The first attempt takes 15 s of a 20 s budget: 5 s remain, and a wait that uses them
    # all leaves no time for the next attempt.
    error = api_error(429, retry_after=retry_after)
    script = Script(error, "ok", fake=fake, takes=15.0)
    policy = make_policy(fake, budget=20.0)
    if attempts == [1]:
        raised = raises(run, policy, script)
        assert raised is error and isinstance(raised, RateLimitError)
        assert raised.retry_after == retry_after
        assert fake.sleeps == []
    else:
        assert run(policy, script) == "ok"
        assert fake.sleeps == [retry_after]
    assert script.attempts == attempts


def test_a_5xx_with_a_wait_over_the_cap_raises_itself(run: Runner, fake: FakeTime) -> None:
    error = api_error(503, retry_after=600.0)
    raised = raises(run, make_policy(fake), Script(error, "ok"))
    assert raised is error and type(raised) is ServerError
    assert raised.retry_after == 600.0
    assert fake.sleeps == []


# --- the policy: what is retried, how many times --------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("max_retries", [1, 2, 4])
def test_5xx_gets_exactly_max_retries_plus_one_attempts(
    run: Runner, fake: FakeTime, status: int, max_retries: int
) -> None:
    errors = [api_error(status) for _ in range(max_retries + 1)]
    script = Script(*errors)
    raised = raises(run, make_policy(fake, max_retries=max_retries), script)
    assert raised is errors[-1]  # the last error, unchanged: not a tenacity.RetryError
    assert type(raised) is ServerError and raised.status_code == status
    assert raised.request_id == "req-42"
    assert script.attempts == list(range(1, max_retries + 2))
    assert fake.sleeps == [0.5, 1.0, 2.0, 4.0][:max_retries]


def test_recovers_and_returns_the_result(run: Runner, fake: FakeTime) -> None:
    script = Script(api_error(502), GatewayTimeoutError("read timeout"), {"answer": 42})
    assert run(make_policy(fake), script) == {"answer": 42}
    assert script.attempts == [1, 2, 3]
    assert fake.sleeps == [0.5, 1.0]


def test_success_first_time_does_not_sleep(run: Runner, fake: FakeTime) -> None:
    script = Script("ok")
    assert run(make_policy(fake), script) == "ok"
    assert script.attempts == [1]
    assert fake.sleeps == []


@pytest.mark.parametrize(
    "make", [lambda: GatewayConnectionError("refused"), lambda: GatewayTimeoutError("timeout")]
)
def test_connection_errors_and_timeouts_are_retried(
    run: Runner, fake: FakeTime, make: Callable[[], GatewayError]
) -> None:
    errors = [make() for _ in range(3)]
    script = Script(*errors)
    assert raises(run, make_policy(fake), script) is errors[2]
    assert script.attempts == [1, 2, 3]


def test_should_retry_false_is_one_attempt(run: Runner, fake: FakeTime) -> None:
    error = api_error(503, should_retry=False)
    script = Script(error, "ok")
    assert raises(run, make_policy(fake), script) is error
    assert script.attempts == [1]
    assert fake.sleeps == []


def test_should_retry_true_retries_a_400(run: Runner, fake: FakeTime) -> None:
    errors = [api_error(400, should_retry=True) for _ in range(3)]
    script = Script(*errors)
    assert raises(run, make_policy(fake), script) is errors[2]
    assert script.attempts == [1, 2, 3]


NEVER = [e for e in NOT_RETRYABLE if isinstance(e, Exception)]


@pytest.mark.parametrize("error", NEVER, ids=_ids(NEVER))
def test_no_retry_on_final_errors(run: Runner, fake: FakeTime, error: Exception) -> None:
    script = Script(error, "ok")
    assert raises(run, make_policy(fake), script) is error
    assert script.attempts == [1]
    assert fake.sleeps == []


def test_a_final_error_on_a_later_attempt_stops_there(run: Runner, fake: FakeTime) -> None:
    final = api_error(401)
    script = Script(api_error(503), final, "ok")
    assert raises(run, make_policy(fake), script) is final
    assert script.attempts == [1, 2]
    assert fake.sleeps == [0.5]


def test_max_retries_zero_is_one_attempt(run: Runner, fake: FakeTime) -> None:
    error = api_error(503)
    script = Script(error, "ok")
    assert raises(run, make_policy(fake, max_retries=0), script) is error
    assert script.attempts == [1]
    assert fake.sleeps == []


# --- the policy: backoff and budget ---------------------------------------------------------


def test_backoff_doubles_up_to_its_cap(run: Runner, fake: FakeTime) -> None:
    script = Script(*[api_error(500) for _ in range(7)])
    raises(run, make_policy(fake, max_retries=6, backoff_max=4.0, budget=1000.0), script)
    assert fake.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_adds_up_to_jitter_seconds(run: Runner) -> None:
    waits = []
    for _ in range(40):
        fake = FakeTime()
        run(make_policy(fake, max_retries=1, jitter=0.25), Script(api_error(500), "ok"))
        waits += fake.sleeps
    assert all(0.5 <= w <= 0.75 for w in waits)
    assert len(set(waits)) > 1  # actually random


def test_budget_spent_by_slow_attempts_stops_retrying(run: Runner, fake: FakeTime) -> None:
    # 40 s per attempt, 90 s budget: fail at 40, sleep 0.5, fail at 80.5, sleep 1, fail at
    # 121.5 with nothing left. Five retries were allowed; the budget ends it after three.
    errors = [api_error(503) for _ in range(6)]
    script = Script(*errors, fake=fake, takes=40.0)
    raised = raises(run, make_policy(fake, max_retries=5, budget=90.0), script)
    assert raised is errors[2]
    assert script.attempts == [1, 2, 3]
    assert fake.sleeps == [0.5, 1.0]


def test_backoff_longer_than_the_rest_of_the_budget_is_not_slept(
    run: Runner, fake: FakeTime
) -> None:
    # budget 2 s: wait 1 s (1 s remains), then the next backoff (2 s) no longer fits.
    errors = [api_error(500) for _ in range(4)]
    script = Script(*errors)
    raised = raises(run, make_policy(fake, max_retries=3, budget=2.0, backoff_initial=1.0), script)
    assert raised is errors[1]
    assert script.attempts == [1, 2]
    assert fake.sleeps == [1.0]


# --- the policy: events and logs ------------------------------------------------------------


def test_on_retry_gets_one_event_per_retry(run: Runner, fake: FakeTime) -> None:
    events: list[RetryEvent] = []
    errors = [api_error(503), api_error(429, retry_after=3.0), api_error(500)]
    policy = make_policy(fake, on_retry=events.append)
    raises(run, policy, Script(*errors), model="claude-opus-4-6-hc")
    assert events == [
        RetryEvent(1, 3, 0.5, errors[0], "claude-opus-4-6-hc"),
        RetryEvent(2, 3, 3.0, errors[1], "claude-opus-4-6-hc"),
    ]


def test_event_model_falls_back_to_the_errors_model(run: Runner, fake: FakeTime) -> None:
    events: list[RetryEvent] = []
    script = Script(api_error(503, model="gemini-2.5-pro"), "ok")
    run(make_policy(fake, on_retry=events.append), script)
    assert [e.model for e in events] == ["gemini-2.5-pro"]


def test_event_repr_leaves_out_the_error_message() -> None:
    event = RetryEvent(1, 3, 0.5, api_error(503), "gpt-5.4")
    assert CANARY not in repr(event) and "gpt-5.4" in repr(event)


def test_each_retry_logs_one_metadata_line_and_never_the_body(
    run: Runner, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors = [api_error(429, code="rate_limit_exceeded") for _ in range(3)]
    raises(run, make_policy(fake), Script(*errors), model="gpt-5.5-fd")
    records = [r for r in caplog.records if r.name == "gw_core.retry"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    first = records[0].getMessage()
    for part in ("model=gpt-5.5-fd", "1/3", "RateLimitError", "status=429"):
        assert part in first
    assert "code=rate_limit_exceeded" in first and "0.500s" in first
    assert "2/3" in records[1].getMessage() and "1.000s" in records[1].getMessage()
    assert all(r.exc_info is None for r in records)  # a traceback would print the message
    assert CANARY in str(errors[0])  # the canary is really in the error...
    assert CANARY not in caplog.text  # ...and in no log line, from us or from tenacity


def test_success_and_final_errors_log_nothing(
    run: Runner, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gw_core.retry")
    run(make_policy(fake), Script("ok"))
    raises(run, make_policy(fake), Script(api_error(400)))
    assert caplog.records == []


def test_fn_errors_propagate_unwrapped_and_unchained(run: Runner, fake: FakeTime) -> None:
    errors = [api_error(500) for _ in range(3)]
    raised = raises(run, make_policy(fake), Script(*errors))
    assert not isinstance(raised, tenacity.RetryError)
    assert raised is errors[2] and raised.__cause__ is None and raised.__context__ is None


# --- async specifics --------------------------------------------------------------------------


async def test_cancellation_during_a_wait_propagates_at_once(fake: FakeTime) -> None:
    sleeping = asyncio.Event()

    async def never_wakes(seconds: float) -> None:
        fake.sleeps.append(seconds)
        sleeping.set()
        await asyncio.Event().wait()

    script = Script(api_error(503), "ok")
    policy = make_policy(fake).with_overrides(asleep=never_wakes)
    task = asyncio.create_task(policy.acall(script.run_async))
    await asyncio.wait_for(sleeping.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert script.attempts == [1]
    assert fake.sleeps == [0.5]


async def test_default_asyncio_sleep_is_cancellable() -> None:
    # The real asyncio.sleep: a 600 s server wait, cancelled, ends long before it would
    # have (the bound is far from both, so a busy machine cannot make it flaky).
    script = Script(api_error(429, retry_after=600.0), "ok")
    task = asyncio.create_task(RetryPolicy(max_wait=900.0, budget=1000.0).acall(script.run_async))
    for _ in range(50):
        await asyncio.sleep(0)  # let the first attempt fail and the wait begin
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 300.0
    assert script.attempts == [1]


def test_default_time_sleep_really_sleeps() -> None:
    script = Script(api_error(503), "ok")
    started = time.monotonic()
    policy = RetryPolicy(max_retries=1, backoff_initial=0.02, jitter=0.0)
    assert policy.call(script) == "ok"
    assert time.monotonic() - started >= 0.02
    assert script.attempts == [1, 2]


# --- the policy object ------------------------------------------------------------------------


def test_defaults_match_the_design() -> None:
    policy = RetryPolicy()
    assert (policy.max_retries, policy.max_attempts, policy.budget) == (2, 3, 90.0)
    assert (policy.max_wait, policy.backoff_initial, policy.backoff_max) == (30.0, 0.5, 8.0)
    assert policy.jitter == 0.25
    assert policy.sleep is time.sleep and policy.asleep is asyncio.sleep
    assert policy.clock is time.monotonic


def test_repr_and_equality_ignore_the_callables(fake: FakeTime) -> None:
    injected = make_policy(fake, jitter=0.25, on_retry=print)
    assert injected == RetryPolicy() and hash(injected) == hash(RetryPolicy())
    text = repr(injected)
    assert "max_retries=2" in text
    for hidden in ("sleep", "clock", "on_retry", "function", "method", "built-in"):
        assert hidden not in text


def test_with_overrides_copies_and_validates(fake: FakeTime) -> None:
    policy = make_policy(fake)
    more = policy.with_overrides(max_retries=5, budget=10.0)
    assert (more.max_retries, more.budget, more.max_attempts) == (5, 10.0, 6)
    assert policy.max_retries == 2 and more.clock == fake.clock  # original untouched
    with pytest.raises(TypeError, match="'max_retry'"):
        policy.with_overrides(max_retry=1)
    with pytest.raises(GatewayInputError, match="max_retries"):
        policy.with_overrides(max_retries=-1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", True),
        ("budget", 0),
        ("budget", float("nan")),
        ("max_wait", -1.0),
        ("backoff_initial", float("inf")),
        ("backoff_max", "8"),
        ("jitter", -0.1),
        ("sleep", None),
        ("clock", 3),
        ("on_retry", "log"),
    ],
)
def test_bad_settings_are_refused_with_the_field_name(field: str, value: Any) -> None:
    with pytest.raises(GatewayInputError, match=f"RetryPolicy.{field}") as info:
        RetryPolicy(**{field: value})
    assert isinstance(info.value, ValueError)


def test_infinite_budget_and_cap_are_allowed(fake: FakeTime) -> None:
    policy = make_policy(fake, budget=math.inf, max_wait=math.inf)
    script = Script(api_error(429, retry_after=3600.0), "ok")
    assert policy.call(script) == "ok"
    assert fake.sleeps == [3600.0]

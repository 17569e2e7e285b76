"""The fault matrix as data: each case is a fault script and what must follow from it.

A case says what to inject, how to build the model, and, separately for the
non-streaming paths (``invoke``/``ainvoke``, ``chat``/``achat``) and the streaming paths
(``stream``/``astream``, ``stream_chat``/``astream_chat``), the exact number of requests
the emulator must see, the error type (by name: it must be the same class in
``gw_core``, ``langchain_gw`` and ``llamaindex_gw``), and the waits the retry policy
must ask for (seconds, as ``(low, high)`` bounds: the policy's backoff has jitter).

Every case runs with the production retry policy (2 retries, 90 s budget, 30 s cap);
only its clock and sleeps are fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gw_emulator import Fault

__all__ = ["CASES", "Case", "Expect"]

#: Bounds of the policy's first and second backoff waits: 0.5 s and 1 s, plus up to
#: 0.25 s of jitter (``RetryPolicy`` defaults).
FIRST_BACKOFF = (0.5, 0.75)
SECOND_BACKOFF = (1.0, 1.25)

#: Short timeouts for the timeout and stall cases, so they cost well under a second.
QUICK = 0.5


def exactly(*seconds: float) -> tuple[tuple[float, float], ...]:
    return tuple((s, s) for s in seconds)


@dataclass(frozen=True)
class Expect:
    """What one kind of path must observe."""

    requests: int
    error: str | None = None
    waits: tuple[tuple[float, float], ...] = ()
    statuses: tuple[int | None, ...] | None = None
    #: The error must carry the text the caller had already received.
    partial: bool = False
    #: The pool that answered (failover cases).
    pool: str | None = None
    #: Models the requests named, in order (failover cases).
    models: tuple[str, ...] | None = None
    #: ``retry_after`` the error must carry (rate-limit cases).
    retry_after: float | None = None
    #: Words the error message must contain (it says what happened / what to change).
    message: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.error is None:
            return "answered"
        return self.error + (" with the partial text" if self.partial else "")


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    faults: tuple[tuple[Fault, int, str | None], ...]
    call: Expect
    stream_expect: Expect | None = None
    model: str = "gpt-5.4"
    options: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)

    def expect(self, streaming: bool) -> Expect:
        return self.stream_expect if streaming and self.stream_expect else self.call


def _f(fault: Fault, times: int = 1, model: str | None = None) -> tuple[Fault, int, str | None]:
    return (fault, times, model)


_QUICK_TIMEOUTS = {"timeout": QUICK, "stream_chunk_timeout": QUICK}


def _server_error(status: int) -> Case:
    return Case(
        f"{status}-every-attempt",
        f"{status} on every attempt",
        (_f(Fault.status(status), 3),),
        Expect(
            3,
            "ServerError",
            waits=(FIRST_BACKOFF, SECOND_BACKOFF),
            statuses=(status,) * 3,
            message=(str(status),),
        ),
    )


CASES: tuple[Case, ...] = (
    Case(
        "429-retry-after-seconds",
        "429 with `Retry-After: 2`",
        (_f(Fault.status(429, retry_after=2)),),
        Expect(2, waits=exactly(2.0), statuses=(429, 200)),
    ),
    Case(
        "429-retry-after-ms",
        "429 with `retry-after-ms: 1500`",
        (_f(Fault.status(429, retry_after_ms=1500)),),
        Expect(2, waits=exactly(1.5), statuses=(429, 200)),
    ),
    Case(
        "429-retry-after-date",
        "429 with `Retry-After` as an HTTP date 5 s ahead",
        (_f(Fault.status(429, retry_after=5, retry_after_date=True)),),
        # The date has one-second resolution and is read against the wall clock.
        Expect(2, waits=((3.0, 5.0),), statuses=(429, 200)),
    ),
    Case(
        "429-over-cap",
        "429 with `Retry-After: 3600` (over the 30 s cap)",
        (_f(Fault.status(429, retry_after=3600), 3),),
        Expect(1, "RateLimitError", statuses=(429,), retry_after=3600.0),
    ),
    Case(
        "429-over-budget",
        "429 with `Retry-After: 20` twice, 30 s budget",
        (_f(Fault.status(429, retry_after=20), 3),),
        Expect(2, "RateLimitError", waits=exactly(20.0), statuses=(429, 429), retry_after=20.0),
        policy={"budget": 30.0},
    ),
    Case(
        "503-then-ok",
        "503 once",
        (_f(Fault.status(503)),),
        Expect(2, waits=(FIRST_BACKOFF,), statuses=(503, 200)),
    ),
    _server_error(500),
    _server_error(502),
    _server_error(503),
    _server_error(504),
    Case(
        "html-502",
        "HTML 502 page from a proxy, every attempt",
        (_f(Fault.html(502), 3),),
        Expect(
            3,
            "ServerError",
            waits=(FIRST_BACKOFF, SECOND_BACKOFF),
            statuses=(502,) * 3,
            message=("HTML page", "502 Bad Gateway"),
        ),
    ),
    Case(
        "x-should-retry-false",
        "503 with `x-should-retry: false`",
        (_f(Fault.status(503, should_retry=False), 3),),
        Expect(1, "ServerError", statuses=(503,)),
    ),
    Case(
        "400",
        "400 bad request",
        (_f(Fault.status(400, message="messages[0].content is invalid"), 3),),
        Expect(1, "BadRequestError", statuses=(400,), message=("messages[0].content",)),
    ),
    Case(
        "401-wrong-key",
        "401: wrong API key",
        (),
        Expect(1, "AuthenticationError", statuses=(401,), message=("Incorrect API key",)),
        options={"api_key": "sk-gw-not-the-emulators-key"},
    ),
    Case(
        "quota",
        "403 `insufficient_user_quota`",
        (_f(Fault.quota(), 3),),
        Expect(1, "QuotaExceededError", statuses=(403,), message=("insufficient_user_quota",)),
    ),
    Case(
        "unknown-model",
        "unknown model (503 `model_not_found`)",
        (),
        Expect(1, "ModelNotFoundError", statuses=(503,), message=("gpt-9-imaginary",)),
        model="gpt-9-imaginary",
    ),
    Case(
        "reset-once",
        "connection reset once",
        (_f(Fault.reset()),),
        Expect(2, waits=(FIRST_BACKOFF,), statuses=(None, 200)),
    ),
    Case(
        "reset-every-attempt",
        "connection reset on every attempt",
        (_f(Fault.reset(), 3),),
        Expect(3, "GatewayConnectionError", waits=(FIRST_BACKOFF, SECOND_BACKOFF)),
    ),
    Case(
        "read-timeout-once",
        f"no response headers within the {QUICK:g} s read timeout, once",
        (_f(Fault.delay(3.0)),),
        Expect(2, waits=(FIRST_BACKOFF,)),
        options=_QUICK_TIMEOUTS,
    ),
    Case(
        "read-timeout-every-attempt",
        f"no response headers within the {QUICK:g} s read timeout (max_retries=1)",
        (_f(Fault.delay(3.0), 2),),
        Expect(2, "GatewayTimeoutError", waits=(FIRST_BACKOFF,), message=("timed out",)),
        options={**_QUICK_TIMEOUTS, "max_retries": 1},
    ),
    Case(
        "cut-before-first-chunk",
        "stream cut before its first chunk (body cut when not streaming)",
        (_f(Fault.cut(0)),),
        Expect(2, waits=(FIRST_BACKOFF,)),
    ),
    Case(
        "cut-before-first-chunk-with-done",
        "stream of no chunks ending in `[DONE]` (body cut when not streaming)",
        (_f(Fault.cut(0, done=True)),),
        Expect(2, waits=(FIRST_BACKOFF,)),
    ),
    Case(
        "cut-after-first-chunk",
        "stream cut after 2 chunks, no `[DONE]`",
        (_f(Fault.cut(2)),),
        Expect(2, waits=(FIRST_BACKOFF,)),
        Expect(1, "StreamInterruptedError", partial=True, message=("mid-stream",)),
    ),
    Case(
        "cut-after-first-chunk-gemini",
        "Gemini stream (keep-alives) cut after 2 chunks",
        (_f(Fault.cut(2)),),
        Expect(2, waits=(FIRST_BACKOFF,)),
        Expect(1, "StreamInterruptedError", partial=True),
        model="gemini-2.5-pro",
    ),
    Case(
        "cut-with-done",
        "stream ends with `[DONE]` after 2 chunks but no finish_reason",
        (_f(Fault.cut(2, done=True)),),
        Expect(2, waits=(FIRST_BACKOFF,)),
        Expect(1, "IncompleteStreamError", partial=True),
    ),
    Case(
        "error-event-first",
        '`{"error": ...}` event before the first chunk (200 error body when not streaming)',
        (_f(Fault.error_event(0)),),
        Expect(2, waits=(FIRST_BACKOFF,), statuses=(200, 200)),
    ),
    Case(
        "error-event-mid-stream",
        '`{"error": ...}` event after 2 chunks',
        (_f(Fault.error_event(2)),),
        Expect(2, waits=(FIRST_BACKOFF,), statuses=(200, 200)),
        Expect(1, "StreamInterruptedError", partial=True, message=("upstream stream error",)),
    ),
    Case(
        "malformed-chunk",
        "malformed chunk after 2 chunks (a non-JSON body when not streaming)",
        (_f(Fault.malformed(2)),),
        Expect(1, "MalformedResponseError", statuses=(200,)),
    ),
    Case(
        "stall-before-first-chunk",
        f"stall of 3 s before the first chunk ({QUICK:g} s chunk timeout)",
        (_f(Fault.stall(0, 3.0)),),
        Expect(2, waits=(FIRST_BACKOFF,)),
        options=_QUICK_TIMEOUTS,
    ),
    Case(
        "stall-mid-stream",
        f"stall of 3 s after 2 chunks ({QUICK:g} s chunk timeout)",
        (_f(Fault.stall(2, 3.0)),),
        Expect(2, waits=(FIRST_BACKOFF,)),
        Expect(1, "StreamStalledError", partial=True, message=("stream_chunk_timeout",)),
        options=_QUICK_TIMEOUTS,
    ),
    Case(
        "pool-failover",
        'pool failover: `pools=["hc", "official"]`, the hc pool answers 503',
        (_f(Fault.status(503), 3, "claude-sonnet-4-6-hc"),),
        Expect(
            2,
            waits=(FIRST_BACKOFF,),
            statuses=(503, 200),
            pool="official",
            models=("claude-sonnet-4-6-hc", "claude-sonnet-4-6-official"),
        ),
        model="claude-sonnet-4-6",
        options={"pools": ["hc", "official"]},
    ),
    Case(
        "pool-failover-cut",
        "pool failover: the hc pool's stream is cut before its first chunk",
        (_f(Fault.cut(0), 3, "claude-sonnet-4-6-hc"),),
        Expect(
            2,
            waits=(FIRST_BACKOFF,),
            pool="official",
            models=("claude-sonnet-4-6-hc", "claude-sonnet-4-6-official"),
        ),
        model="claude-sonnet-4-6",
        options={"pools": ["hc", "official"]},
    ),
)

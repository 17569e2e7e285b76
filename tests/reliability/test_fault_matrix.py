"""The fault matrix: every fault x both adapters x sync, async, stream and astream.

Each case asserts the exact number of requests the emulator saw (one retry loop, never
multiplied: the SDK's own ``x-stainless-retry-count`` stays 0), the typed error (the same
class from ``gw_core``, ``langchain_gw`` and ``llamaindex_gw``), the waits the policy
asked for (recorded on a fake clock, never slept), and that callbacks and
instrumentation saw each token exactly once.
"""

from __future__ import annotations

import pytest

import gw_core
from gw_core.errors import GatewayError, StreamError
from gw_emulator import Fault, GatewayEmulator, ScriptedReply
from tests.reliability.cases import CASES, Case
from tests.reliability.conftest import Record
from tests.reliability.drivers import (
    ADAPTERS,
    PACKAGES,
    PATHS,
    Adapter,
    FakeTime,
    Outcome,
    Path,
    build,
    call_name,
    run,
)

PROMPT = "When was the dam finished? Answer in one sentence."
ANSWER = "The dam was finished in 1936, after five years of work on the river."
USAGE = (17, 16, 33)


def _script(emu: GatewayEmulator, times: int) -> None:
    usage = dict(zip(("prompt_tokens", "completion_tokens", "total_tokens"), USAGE, strict=True))
    for _ in range(times):
        emu.script(ScriptedReply(content=ANSWER, usage=usage))


def outcome_text(out: Outcome) -> str:
    """The outcome as the report states it."""
    if out.error is None:
        failed_over = out.pool not in (None, "standard")
        return f"answered by the {out.pool} pool" if failed_over else "answered"
    text = type(out.error).__name__
    if isinstance(out.error, StreamError) and out.error.partial_text:
        text += " with the partial text"
    retry_after = getattr(out.error, "retry_after", None)
    if retry_after is not None:
        text += f" (retry_after={retry_after:g} s)"
    return text


def test_the_matrix_error_types_are_one_class_everywhere() -> None:
    """Every error type of the matrix is the core's class in both adapters, or (in
    langchain_gw, where LangChain has that kind of error) a subclass of it."""
    names = {c.expect(s).error for c in CASES for s in (False, True)} - {None}
    assert names
    for name in sorted(n for n in names if n):
        core = getattr(gw_core, name)
        assert issubclass(core, GatewayError)
        for package in PACKAGES.values():
            assert issubclass(getattr(package, name), core), f"{package.__name__}.{name}"
            assert name in package.__all__


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_fault(
    case: Case,
    adapter: Adapter,
    path: Path,
    emu: GatewayEmulator,
    fake_time: FakeTime,
    record: Record,
    close_async_clients: None,
) -> None:
    """The fault ends as the case says, with exactly the requests and waits it says."""
    for fault, times, model in case.faults:
        emu.inject(fault, times=times, model=model)
    _script(emu, 3)
    llm = build(adapter, emu, case.model, policy=fake_time.policy(**case.policy), **case.options)

    out = await run(adapter, llm, path, PROMPT)

    streaming = path in ("stream", "astream")
    expect = case.expect(streaming)
    requests = emu.requests
    record(
        kind="fault",
        order=CASES.index(case),
        case=case.id,
        title=case.title,
        adapter=adapter,
        path=path,
        call=call_name(adapter, path),
        requests=len(requests),
        statuses=[r.status for r in requests],
        waits=fake_time.waits,
        outcome=outcome_text(out),
        expected=expect.describe(),
    )

    # The wire: how many requests, answered how, and never an SDK-level retry.
    assert len(requests) == expect.requests, [(r.status, r.fault) for r in requests]
    assert all(r.headers.get("x-stainless-retry-count") == "0" for r in requests)
    if expect.statuses is not None:
        assert tuple(r.status for r in requests) == expect.statuses
    if expect.models is not None:
        assert tuple(r.model for r in requests) == expect.models

    # The waits the policy asked for, on the fake clock.
    assert len(fake_time.waits) == len(expect.waits), fake_time.waits
    for wait, (low, high) in zip(fake_time.waits, expect.waits, strict=True):
        assert low <= wait <= high, fake_time.waits

    # The outcome.
    if expect.error is None:
        assert out.error is None, repr(out.error)
        assert out.text == ANSWER
        assert out.usage == USAGE
        if expect.pool is not None:
            assert out.pool == expect.pool
    else:
        error_class = getattr(PACKAGES[adapter], expect.error)
        assert issubclass(error_class, getattr(gw_core, expect.error))
        assert type(out.error) is error_class, repr(out.error)
        for word in expect.message:
            assert word in str(out.error)
        if expect.retry_after is not None:
            assert getattr(out.error, "retry_after", None) == expect.retry_after
        if expect.partial:
            assert isinstance(out.error, StreamError)
            assert out.error.partial_text
            assert out.error.partial_text == "".join(out.chunks)
            assert ANSWER.startswith(out.error.partial_text)

    _assert_observers(adapter, streaming, expect.error is None, out)


def _assert_observers(adapter: Adapter, streaming: bool, ok: bool, out: Outcome) -> None:
    """Callbacks / instrumentation saw one run, and each token once, in order."""
    if streaming:
        # Exactly the chunks the caller got: nothing replayed from a failed attempt.
        assert [t for t in out.tokens if t] == [c for c in out.chunks if c]
        assert len(out.tokens) == len(out.chunks)
        if ok:
            assert "".join(out.tokens) == ANSWER
    else:
        assert out.tokens == []
    assert out.observer_starts == 1
    assert out.observer_ends + (out.observer_errors if adapter == "langchain" else 0) == 1
    if adapter == "llamaindex":
        assert out.observer_errors == (0 if ok else 1)
        if ok:
            assert out.legacy_text == ANSWER


@pytest.mark.parametrize("call", ["batch", "abatch"])
async def test_batch_retries_each_input_on_its_own(
    call: str, emu: GatewayEmulator, fake_time: FakeTime, close_async_clients: None
) -> None:
    """LangChain `batch`/`abatch` of 3 inputs with one 503: only the input that met it is
    retried (4 requests), and every input gets its answer."""
    emu.inject(Fault.status(503))
    _script(emu, 4)
    llm = build("langchain", emu, "gpt-5.4", policy=fake_time.policy())
    inputs = [f"{PROMPT} ({n})" for n in range(3)]
    if call == "batch":
        results = llm.batch(inputs, config={"max_concurrency": 1})
    else:
        results = await llm.abatch(inputs, config={"max_concurrency": 1})
    assert [r.content for r in results] == [ANSWER] * 3
    assert [r.status for r in emu.requests] == [503, 200, 200, 200]
    assert len(fake_time.waits) == 1

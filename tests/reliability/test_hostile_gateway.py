"""A broken or hostile gateway: size caps, deadlines and the end of a stream.

Every experiment runs against :mod:`tests.reliability.hostile` on loopback, through the
public API of both adapters on the call paths where it applies. Each is bounded: scripts
end on their own (a hostile behaviour lasts at most ~20 s, then the server answers
properly, so a client that fails to defend itself gets an answer and the test fails
instead of hanging), and the size tests assert a peak-RSS bound, never a duration.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest

from gw_core import errors
from tests.reliability.drivers import (
    ADAPTERS,
    PATHS,
    Adapter,
    FakeTime,
    Path,
    build,
    change_settings,
    run,
)
from tests.reliability.hostile import Conn, HostileServer, chunk_event

pytestmark = pytest.mark.timeout(120)

MB = 1024 * 1024
RSS_BOUND = 300 * MB
MODEL = "gpt-5.4"
STREAMS: tuple[Path, ...] = ("stream", "astream")
CALLS: tuple[Path, ...] = ("sync", "async")
DONE = b"data: [DONE]\n\n"
FINISH = chunk_event({}, finish="stop")
# How long a hostile behaviour lasts before the script gives up and answers properly.
PATIENCE = 20.0


def _model(adapter: Adapter, server: HostileServer, **options: Any) -> Any:
    return build(adapter, server, MODEL, policy=FakeTime().policy(), **options)


@contextlib.contextmanager
def peak_rss() -> Iterator[Callable[[], int]]:
    """Sample this process's RSS while the block runs; yields the peak growth so far."""
    process = psutil.Process()
    start = process.memory_info().rss
    peak = [start]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield lambda: peak[0] - start
    finally:
        stop.set()
        sampler.join()
        peak[0] = max(peak[0], process.memory_info().rss)


async def _answer(conn: Conn) -> None:
    """A proper streamed answer (what a script sends once its hostile part gave up)."""
    await conn.chunk(chunk_event({"content": "late"}) + FINISH + DONE)
    await conn.end()


# -- size caps --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_an_endless_200_body_stops_at_a_cap_and_is_not_downloaded_again(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """An endless 200 body (no line end) stops at max_response_bytes (a call) or
    max_event_bytes (a stream), defaults untouched: one request, typed, RSS bounded."""

    async def endless(conn: Conn) -> None:
        await conn.head(content_type="application/json")
        await conn.chunk(b'{"choices": [{"message": {"content": "')
        await conn.endless(b"x" * 65536)

    server.serve(endless)
    with peak_rss() as growth:
        out = await run(adapter, _model(adapter, server), path, "hi")
    assert isinstance(out.error, errors.ResponseTooLargeError), out.error
    limit = "max_response_bytes" if path in CALLS else "max_event_bytes"
    assert out.error.limit == limit and limit in str(out.error)
    assert len(server.requests) == 1
    assert growth() < RSS_BOUND


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_an_endless_error_body_is_read_only_up_to_its_cap(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """A 500 whose body never ends: each attempt reads only a bounded prefix for the
    message (the server cannot push more than the cap plus socket buffers)."""

    async def endless_error(conn: Conn) -> None:
        await conn.head(500, content_type="text/plain")
        await conn.endless(b"upstream exploded " * 4096)

    server.serve(endless_error)
    with peak_rss() as growth:
        out = await run(adapter, _model(adapter, server), path, "hi")
    assert isinstance(out.error, errors.ServerError), out.error
    assert "upstream exploded" in str(out.error)
    assert len(server.requests) == 3  # retried as any 500, never read whole
    assert all(r.conn is not None and r.conn.sent < 32 * MB for r in server.requests)
    assert growth() < RSS_BOUND


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_huge_sse_line_stops_at_max_event_bytes_before_the_first_token(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """One SSE line far over max_event_bytes (default cap) is refused as it arrives:
    typed, not retried (so not downloaded again), RSS bounded."""

    async def huge_line(conn: Conn) -> None:
        await conn.head()
        await conn.chunk(b'data: {"choices": [{"index": 0, "delta": {"content": "')
        await conn.endless(b"y" * 65536)

    server.serve(huge_line)
    with peak_rss() as growth:
        out = await run(adapter, _model(adapter, server), path, "hi")
    assert isinstance(out.error, errors.ResponseTooLargeError), out.error
    assert out.error.limit == "max_event_bytes"
    assert len(server.requests) == 1
    assert growth() < RSS_BOUND


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_an_endless_stream_of_deltas_stops_at_max_stream_bytes(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """Deltas that never end stop at max_stream_bytes, with the text so far kept."""

    async def endless_deltas(conn: Conn) -> None:
        await conn.head()
        await conn.endless(chunk_event({"content": "z" * 8000}) * 16)

    server.serve(endless_deltas)
    llm = _model(adapter, server)
    change_settings(adapter, llm, max_stream_bytes=MB)  # small: frameworks copy the text per delta
    with peak_rss() as growth:
        out = await run(adapter, llm, path, "hi")
    assert isinstance(out.error, errors.ResponseTooLargeError), out.error
    assert out.error.limit == "max_stream_bytes" and "max_stream_bytes" in str(out.error)
    assert out.error.partial_text.startswith("z" * 8000)
    assert len(server.requests) == 1
    assert growth() < RSS_BOUND


# -- deadlines --------------------------------------------------------------------------------


def _completion_body() -> bytes:
    message = {"role": "assistant", "content": "dripped"}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return (b'{"id": "x", "model": "m", "choices": [%s]}' % str(choice).encode()).replace(
        b"'", b'"'
    )


@pytest.mark.parametrize("path", CALLS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_timeout_bounds_the_whole_response_not_each_read(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """A body dripped a byte every 0.1 s (it would take ~15 s) with timeout=1: a typed
    timeout before the body is complete, not an answer."""
    body = _completion_body()

    async def drip(conn: Conn) -> None:
        await conn.head(content_type="application/json", length=len(body))
        await conn.drip(body, 0.1, chunked=False)

    server.serve(drip)
    out = await run(adapter, _model(adapter, server, timeout=1.0, max_retries=0), path, "hi")
    assert isinstance(out.error, errors.GatewayTimeoutError), out.error
    assert "timeout=1s" in str(out.error)
    sent = server.requests[0].conn
    assert sent is not None and sent.sent < len(body)


def _stall_script(first: bytes, filler: bytes) -> Callable[[Conn], Any]:
    async def script(conn: Conn) -> None:
        await conn.head()
        await conn.chunk(chunk_event({"role": "assistant"}) + first)
        for _ in range(int(PATIENCE / 0.05)):
            await conn.chunk(filler)
            await conn.pause(0.05)
        await _answer(conn)

    return script


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(
    "filler", [b": keep-alive\n\n", chunk_event({})], ids=["comments", "empty-deltas"]
)
async def test_keep_alives_do_not_reset_the_stall_timer_before_the_first_token(
    server: HostileServer, adapter: Adapter, path: Path, filler: bytes
) -> None:
    """Comments or empty deltas for 20 s before any token, stream_chunk_timeout=1: a
    typed timeout, not a late answer."""
    server.serve(_stall_script(b"", filler))
    llm = _model(adapter, server, stream_chunk_timeout=1.0, max_retries=0)
    out = await run(adapter, llm, path, "hi")
    assert isinstance(out.error, errors.GatewayTimeoutError), out.error
    assert "stream_chunk_timeout=1s" in str(out.error)


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(
    "filler", [b": keep-alive\n\n", chunk_event({})], ids=["comments", "empty-deltas"]
)
async def test_keep_alives_do_not_reset_the_stall_timer_after_the_first_token(
    server: HostileServer, adapter: Adapter, path: Path, filler: bytes
) -> None:
    """After a first token, 20 s of comments or empty deltas with stream_chunk_timeout=1:
    StreamStalledError carrying the text so far."""
    server.serve(_stall_script(chunk_event({"content": "Hel"}), filler))
    llm = _model(adapter, server, stream_chunk_timeout=1.0, max_retries=0)
    out = await run(adapter, llm, path, "hi")
    assert isinstance(out.error, errors.StreamStalledError), out.error
    assert out.error.partial_text == "Hel"


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_stream_timeout_bounds_a_stream_that_never_ends(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """A steady trickle of real tokens for 20 s with stream_timeout=1: StreamDeadlineError
    with the text so far (the stall timer alone would never fire)."""
    server.serve(_stall_script(b"", chunk_event({"content": "t"})))
    llm = _model(adapter, server, max_retries=0)
    change_settings(adapter, llm, stream_timeout=1.0)
    out = await run(adapter, llm, path, "hi")
    assert isinstance(out.error, errors.StreamDeadlineError), out.error
    assert out.error.partial_text.startswith("t") and "stream_timeout=1s" in str(out.error)


# -- the end of a stream ----------------------------------------------------------------------


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_stream_ends_at_done_even_when_the_server_holds_the_body_open(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """The server sends the answer, usage and [DONE], then holds the body open: the
    caller's loop ends with the whole answer (it waits at most 0.25 s for the rest)."""
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}

    async def hold_after_done(conn: Conn) -> None:
        await conn.head()
        await conn.chunk(
            chunk_event({"role": "assistant", "content": "Hello"})
            + FINISH
            + b'data: {"id": "c1", "choices": [], "usage": %s}\n\n'
            % str(usage).replace("'", '"').encode()
            + DONE
        )
        await conn.hold()

    server.serve(hold_after_done)
    # The stall timer is far above the test's own timeout: a client that waited for the
    # server to let go would be stopped by pytest-timeout and fail.
    out = await run(adapter, _model(adapter, server, stream_chunk_timeout=600.0), path, "hi")
    assert out.error is None, out.error
    assert out.text == "Hello" and out.usage == (3, 2, 5)


@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_claude_stream_ends_at_its_finish_chunk_with_usage(
    server: HostileServer, adapter: Adapter, path: Path
) -> None:
    """Claude's dialect sends usage with the finish reason: the loop ends there, even
    when the server then holds the body open without [DONE]."""
    usage = {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}

    async def hold_after_finish(conn: Conn) -> None:
        await conn.head()
        await conn.chunk(
            chunk_event({"role": "assistant", "content": "Hi"})
            + chunk_event({}, finish="end_turn", usage=usage)
        )
        await conn.hold()

    server.serve(hold_after_finish)
    llm = build(
        adapter,
        server,
        "claude-sonnet-4-6",
        policy=FakeTime().policy(),
        stream_chunk_timeout=600.0,  # far above the test's timeout, as above
    )
    out = await run(adapter, llm, path, "hi")
    assert out.error is None, out.error
    assert out.text == "Hi" and out.usage == (4, 1, 5)

"""Line splitting under caps, the stall clock, and the size-limit errors of gw_core.reading."""

from __future__ import annotations

import pickle

import pytest

from gw_core import errors
from gw_core.reading import Clock, Limits, LineSplitter, Stalled
from gw_core.settings import Settings


def test_lines_split_on_every_terminator_even_across_reads() -> None:
    lines = LineSplitter(Limits())
    out = lines.feed(b"data: a\r")
    out += lines.feed(b"\ndata: b\rdata: c\n\nda")
    out += lines.feed(b"ta: d\n")
    assert out == [b"data: a", b"data: b", b"data: c", b"", b"data: d"]
    assert lines.rest() == b""


def test_a_line_over_max_event_bytes_is_refused_as_it_grows() -> None:
    lines = LineSplitter(Limits(max_event_bytes=10))
    lines.feed(b"data: 1234")
    with pytest.raises(errors.ResponseTooLargeError, match="max_event_bytes=10") as info:
        lines.feed(b"5")
    assert info.value.limit == "max_event_bytes" and info.value.max_bytes == 10


def test_a_long_complete_line_in_one_read_is_refused_too() -> None:
    with pytest.raises(errors.ResponseTooLargeError, match="max_event_bytes"):
        LineSplitter(Limits(max_event_bytes=10)).feed(b"data: 0123456789abc\n")


def test_a_stream_over_max_stream_bytes_is_refused() -> None:
    lines = LineSplitter(Limits(max_stream_bytes=20))
    lines.feed(b"data: {}\n\n" * 2)
    with pytest.raises(errors.ResponseTooLargeError, match="raise max_stream_bytes="):
        lines.feed(b"x")


def test_the_size_error_survives_pickling_with_its_fields() -> None:
    err = errors.ResponseTooLargeError("too big", limit="max_stream_bytes", max_bytes=5)
    err.partial_text = "so far"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.limit, copy.max_bytes, copy.partial_text, str(copy)) == (
        "max_stream_bytes",
        5,
        "so far",
        "too big",
    )


def test_the_clock_stalls_only_without_marks() -> None:
    clock = Clock(Limits(stall=3600.0))
    clock.check()  # fresh: nothing to say
    stalled = Clock(Limits(stall=-1.0))
    with pytest.raises(Stalled) as info:
        stalled.check()
    assert not info.value.deadline


def test_the_stream_deadline_wins_over_marks() -> None:
    clock = Clock(Limits(stream_timeout=-1.0))
    clock.mark()
    with pytest.raises(Stalled) as info:
        clock.check()
    assert info.value.deadline


def test_limits_come_from_the_settings() -> None:
    settings = Settings.resolve(api_key="sk-reading-test", base_url="http://127.0.0.1:9")
    limits = Limits.of(settings)
    assert limits.max_event_bytes == settings.max_event_bytes
    assert limits.stall == settings.stream_chunk_timeout and limits.stream_timeout is None

"""SSE decoding as gateways really send it: keep-alives, [DONE], error events, cut streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gw_core.errors import (
    GatewayAPIError,
    MalformedResponseError,
    QuotaExceededError,
    RateLimitError,
    ResponseTooLargeError,
)
from gw_core.wire import SSEState, aiter_sse_data, iter_sse_data
from gw_core.wire.shapes import chunk_problem

A = {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}
B = {"id": "c1", "choices": [{"index": 0, "delta": {"content": "lo"}}]}


def sse(*events: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for event in events:
        out += ["data: " + json.dumps(event), ""]
    return out


async def _alines(lines: Iterable[str | bytes]) -> AsyncIterator[str | bytes]:
    for line in lines:
        yield line


async def _acollect(lines: Iterable[str | bytes], state: SSEState | None = None) -> list[Any]:
    return [chunk async for chunk in aiter_sse_data(_alines(lines), state)]


def test_plain_stream_with_done() -> None:
    state = SSEState()
    assert list(iter_sse_data([*sse(A, B), "data: [DONE]", ""], state)) == [A, B]
    assert state.done is True
    assert state.events == 2


def test_data_without_space_bytes_and_crlf_line_endings() -> None:
    lines: list[str | bytes] = [
        "data:" + json.dumps(A) + "\r\n",
        b"\r\n",
        ("data: " + json.dumps(B) + "\n").encode(),
        "\n",
        b"data:[DONE]",
    ]
    state = SSEState()
    assert list(iter_sse_data(lines, state)) == [A, B]
    assert state.done


def test_keepalives_comments_blank_data_and_other_fields_are_skipped() -> None:
    lines = [
        ": OPENROUTER PROCESSING",
        "",
        "data: : keepalive",
        "",
        "data:",
        "data: ",
        "",
        "event: message",
        "id: 7",
        "retry: 3000",
        *sse(A),
        ":ping",
        *sse(B),
        "data: [DONE]",
    ]
    assert list(iter_sse_data(lines)) == [A, B]


def test_done_ends_iteration_without_reading_further() -> None:
    def lines() -> Iterator[str]:
        yield from sse(A)
        yield "data: [DONE]"
        raise AssertionError("read past [DONE]")

    assert list(iter_sse_data(lines())) == [A]


def test_a_cut_stream_is_visible_in_the_state() -> None:
    state = SSEState()
    assert list(iter_sse_data(sse(A, B), state)) == [A, B]
    assert state.done is False


def test_multi_line_data_event_is_joined_with_newlines() -> None:
    pretty = json.dumps(A, indent=2).splitlines()
    lines = [*("data: " + part for part in pretty), "", "data: [DONE]"]
    assert list(iter_sse_data(lines)) == [A]


def test_an_event_cut_by_the_end_of_input_is_discarded() -> None:
    pretty = json.dumps(B, indent=1).splitlines()
    state = SSEState()
    assert list(iter_sse_data(["data: " + part for part in pretty], state)) == []
    assert state.incomplete_event and not state.done
    # A line cut in the middle of its JSON is not "malformed": the stream was cut.
    state = SSEState()
    assert list(iter_sse_data([*sse(A), 'data: {"id": "c1", "cho'], state)) == [A]
    assert state.incomplete_event


def test_a_complete_stream_has_no_incomplete_event() -> None:
    state = SSEState()
    list(iter_sse_data([*sse(A), "data: [DONE]"], state))
    assert not state.incomplete_event


def test_events_are_dispatched_even_when_blank_lines_are_dropped() -> None:
    lines = ["data: " + json.dumps(A), "data: " + json.dumps(B), "data: [DONE]"]
    assert list(iter_sse_data(lines)) == [A, B]


def test_byte_order_mark_before_the_first_field() -> None:
    assert list(iter_sse_data(["\ufeffdata: " + json.dumps(A), ""])) == [A]


def test_error_event_raises_the_typed_gateway_error() -> None:
    error = {"error": {"message": "上游负载已饱和", "type": "new_api_error", "code": None}}
    with pytest.raises(GatewayAPIError, match="上游负载已饱和") as info:
        list(iter_sse_data([*sse(A), *sse(error), *sse(B)]))
    assert info.value.status_code is None


def test_error_event_with_a_quota_code_maps_to_its_class() -> None:
    error = {"error": {"message": "用户额度不足", "code": "insufficient_user_quota"}}
    with pytest.raises(QuotaExceededError):
        list(iter_sse_data(sse(error)))


def test_error_event_in_an_openrouter_chunk() -> None:
    chunk = {
        "id": "x",
        "object": "chat.completion.chunk",
        "error": {"code": 429, "message": "Rate limited"},
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    with pytest.raises(GatewayAPIError, match="Rate limited") as info:
        list(iter_sse_data(sse(chunk)))
    assert info.value.code == "429"
    # No status in a stream: the transport decides what the event means.
    assert not isinstance(info.value, RateLimitError)


def test_a_null_error_field_is_not_an_error() -> None:
    chunk = {**A, "error": None}
    assert list(iter_sse_data(sse(chunk))) == [chunk]


def test_invalid_json_raises_malformed_with_a_short_snippet() -> None:
    bad = '{"id": "c1", "choices": [' + "x" * 500
    with pytest.raises(MalformedResponseError, match="not valid JSON") as info:
        list(iter_sse_data(["data: " + bad, ""]))
    message = str(info.value)
    assert "x" * 79 not in message
    assert len(message) < 200


def test_invalid_json_followed_by_more_data_raises() -> None:
    with pytest.raises(MalformedResponseError):
        list(iter_sse_data(["data: {oops", "data: " + json.dumps(A), ""]))


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "42", "null"])
def test_json_that_is_not_an_object_is_malformed(payload: str) -> None:
    with pytest.raises(MalformedResponseError, match="not a JSON object"):
        list(iter_sse_data(["data: " + payload, ""]))


def test_non_utf8_bytes_are_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="UTF-8"):
        list(iter_sse_data([b"data: \xff\xfe", b""]))


async def test_async_twin_decodes_the_same() -> None:
    lines = [": ping", *sse(A), "data: : keepalive", *sse(B), "data: [DONE]", ""]
    state = SSEState()
    assert await _acollect(lines, state) == [A, B]
    assert state.done


async def test_async_twin_reports_a_cut_stream_and_raises_errors() -> None:
    state = SSEState()
    assert await _acollect(sse(A), state) == [A]
    assert not state.done
    with pytest.raises(MalformedResponseError):
        await _acollect(["data: nope", ""])
    with pytest.raises(GatewayAPIError):
        await _acollect(sse({"error": {"message": "boom"}}))


# -- round trip ------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
# Framing is under test here, so events are any JSON objects whose chunk shape is valid
# (shape refusals have their own tests in test_wire_shapes.py).
_events = st.dictionaries(
    st.text(max_size=6).filter(lambda k: k != "error"), _json_values, min_size=1, max_size=4
).filter(lambda event: chunk_problem(event) is None)
_noise = st.sampled_from(
    [": keepalive", ": OPENROUTER PROCESSING", "data: : keepalive", "event: x"]
)


@st.composite
def _encoded(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[str | bytes]]:
    events = draw(st.lists(_events, max_size=6))
    lines: list[str | bytes] = []
    for event in events:
        for _ in range(draw(st.integers(0, 2))):
            lines += [draw(_noise), ""]
        text = json.dumps(event, ensure_ascii=draw(st.booleans()))
        # Spread over several data lines, as the spec allows, or one line.
        parts = json.dumps(event, indent=1).split("\n") if draw(st.booleans()) else [text]
        space = draw(st.sampled_from(["", " "]))
        ending = draw(st.sampled_from(["", "\n", "\r\n"]))
        for part in parts:
            line = f"data:{space}{part}{ending}"
            lines.append(line.encode() if draw(st.booleans()) else line)
        lines.append(ending)
    if draw(st.booleans()):
        lines += ["data: [DONE]", "", "data: " + json.dumps({"after": "done"}), ""]
    return events, lines


@settings(max_examples=60, deadline=None)
@given(_encoded())
def test_sse_round_trip(case: tuple[list[dict[str, Any]], list[str | bytes]]) -> None:
    events, lines = case
    assert list(iter_sse_data(lines)) == events


def test_an_error_event_frame_raises_the_gateways_error() -> None:
    lines = ["event: error", 'data: {"message": "overloaded", "code": "529"}', ""]
    with pytest.raises(GatewayAPIError, match="overloaded") as info:
        list(iter_sse_data(lines))
    assert info.value.code == "529"


def test_an_error_event_with_plain_text_data_keeps_its_text() -> None:
    with pytest.raises(GatewayAPIError, match="upstream died"):
        list(iter_sse_data(["event: error", "data: upstream died", ""]))


def test_other_event_types_still_carry_chunks() -> None:
    lines = ["event: message", 'data: {"choices": []}', "", "data: [DONE]"]
    assert list(iter_sse_data(lines)) == [{"choices": []}]


@pytest.mark.parametrize(
    ("first", "words"),
    [("<!doctype html>", "HTML page"), ('{"id": "x", "choices": []}', "not Server-Sent Events")],
)
def test_a_body_that_is_not_sse_is_malformed_at_its_first_line(first: str, words: str) -> None:
    with pytest.raises(MalformedResponseError, match=words):
        list(iter_sse_data([first, ""]))


def test_a_json_error_body_answering_a_stream_is_the_gateways_error() -> None:
    with pytest.raises(GatewayAPIError, match="no quota"):
        list(iter_sse_data(['{"error": {"message": "no quota"}}']))


def test_nesting_too_deep_for_python_is_malformed() -> None:
    deep = "data: " + '{"a":' * 100_000 + "1" + "}" * 100_000
    with pytest.raises(MalformedResponseError, match="not valid JSON"):
        list(iter_sse_data([deep, ""]))


def test_a_wrong_json_type_in_a_chunk_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="'delta' is a JSON str"):
        list(iter_sse_data(['data: {"choices": [{"index": 0, "delta": "oops"}]}']))


def test_a_multi_line_event_over_its_cap_is_refused() -> None:
    state = SSEState(max_event_bytes=8)
    state.feed("data: [1,")
    with pytest.raises(ResponseTooLargeError, match="max_event_bytes=8"):
        state.feed("data: 2345678]")

"""Property: however one logical turn is split into deltas, chunks and SSE lines, the
accumulator rebuilds the same message, and it equals the non-streamed body's parse."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gw_core.wire import (
    ChatResult,
    StreamAccumulator,
    ToolCall,
    Usage,
    iter_sse_data,
    parse_completion,
)

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
_names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
_args = st.dictionaries(_names, st.integers() | _text | st.booleans(), max_size=3)
_signature = st.none() | st.builds(
    lambda s: {"google": {"thought_signature": s}},
    st.from_regex(r"[A-Za-z0-9+/]{4,16}=", fullmatch=True),
)


@dataclass
class Turn:
    text: str
    reasoning: str
    calls: list[ToolCall]
    usage: Usage | None
    with_ids: bool


@st.composite
def turns(draw: st.DrawFn) -> Turn:
    with_ids = draw(st.booleans())
    calls = []
    for n in range(draw(st.integers(0, 3))):
        calls.append(
            ToolCall(
                id=f"call_{n}_x" if with_ids else "",
                name=draw(_names),
                arguments=json.dumps(draw(_args), ensure_ascii=draw(st.booleans())),
                extra_content=draw(_signature),
            )
        )
    prompt, completion = draw(st.integers(0, 5000)), draw(st.integers(1, 5000))
    usage = draw(st.none() | st.just(Usage(prompt, completion, prompt + completion)))
    return Turn(draw(_text), draw(_text), calls, usage, with_ids)


def _pieces(draw: st.DrawFn, text: str) -> list[str]:
    """Split a string at random points (empty pieces allowed: gateways send them)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=5)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def streams(draw: st.DrawFn) -> tuple[Turn, list[dict[str, Any]], str]:
    turn = draw(turns())
    indexed = draw(st.booleans())
    # Each event: ("content"|"reasoning", str) or ("tool", delta dict).
    events: list[tuple[str, Any]] = [("reasoning", p) for p in _pieces(draw, turn.reasoning)]
    events += [("content", p) for p in _pieces(draw, turn.text)]
    for i, call in enumerate(turn.calls):
        fragments = _pieces(draw, call.arguments)
        sig_at = draw(st.integers(0, len(fragments)))  # len(fragments): a trailing delta
        for j, fragment in enumerate(fragments):
            delta: dict[str, Any] = {"function": {"arguments": fragment}}
            if j == 0:
                delta["function"]["name"] = call.name
                delta["type"] = "function"
            if call.id and (j == 0 or draw(st.booleans())):
                delta["id"] = call.id
            if indexed:
                delta["index"] = i
            if call.extra_content and sig_at == j:
                delta["extra_content"] = call.extra_content
            events.append(("tool", delta))
        if call.extra_content and sig_at == len(fragments):
            events.append(("tool", {"index": i} if indexed else {}))
            events[-1][1]["extra_content"] = call.extra_content

    finish = "tool_calls" if draw(st.booleans()) and turn.calls else "stop"
    usage_mode = draw(st.sampled_from(["last_chunk", "finish_chunk", "every_chunk"]))
    chunks: list[dict[str, Any]] = [_chunk({"role": "assistant", "content": ""})]
    position = 0
    while position < len(events):
        size = draw(st.integers(1, 4))
        group, position = events[position : position + size], position + size
        delta = {}
        for kind, value in group:
            if kind == "tool":
                delta.setdefault("tool_calls", []).append(value)
            else:
                key = "content" if kind == "content" else "reasoning_content"
                delta[key] = delta.get(key, "") + value
        chunks.append(_chunk(delta))
    chunks.append(_chunk({}, finish))
    if turn.usage is not None:
        final = {
            "prompt_tokens": turn.usage.prompt_tokens,
            "completion_tokens": turn.usage.completion_tokens,
            "total_tokens": turn.usage.total_tokens,
        }
        if usage_mode == "last_chunk":
            chunks.append(
                {"id": "r1", "model": "gemini-3-flash-preview", "choices": [], "usage": final}
            )
        elif usage_mode == "finish_chunk":
            chunks[-1]["usage"] = final
        else:  # cumulative on every chunk: growing completion counts, the last is final
            for k, c in enumerate(chunks):
                grown = min(k, turn.usage.completion_tokens)
                c["usage"] = {**final, "completion_tokens": grown, "total_tokens": 0}
            chunks[-1]["usage"] = final

    lines: list[str] = []
    for c in chunks:
        if draw(st.booleans()):
            lines += [draw(st.sampled_from([": keepalive", "data: : keepalive"])), ""]
        lines += ["data: " + json.dumps(c, ensure_ascii=draw(st.booleans())), ""]
    lines.append("data: [DONE]")
    return turn, chunks, "\n".join(lines)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "r1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gemini-3-flash-preview",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _expected(turn: Turn) -> ChatResult:
    return ChatResult(
        content=turn.text,
        tool_calls=turn.calls,
        finish_reason="tool_calls" if turn.calls else "stop",
        usage=turn.usage,
        reasoning=turn.reasoning or None,
        id="r1",
        model="gemini-3-flash-preview",
        created=1700000000,
    )


def _without_synthetic_ids(result: ChatResult, turn: Turn) -> ChatResult:
    if turn.with_ids:
        return result
    ids = [c.id for c in result.tool_calls]
    assert all(i.startswith("call_") for i in ids) and len(set(ids)) == len(ids)
    return replace(result, tool_calls=[replace(c, id="") for c in result.tool_calls])


@settings(max_examples=120, deadline=None)
@given(streams())
def test_any_split_gives_the_same_message(case: tuple[Turn, list[dict[str, Any]], str]) -> None:
    turn, _chunks, wire = case
    acc = StreamAccumulator()
    for c in iter_sse_data(wire.split("\n")):
        acc.add(c)
    acc.check_complete()
    assert _without_synthetic_ids(acc.result(), turn) == _expected(turn)


@settings(max_examples=60, deadline=None)
@given(streams())
def test_streamed_and_non_streamed_agree(case: tuple[Turn, list[dict[str, Any]], str]) -> None:
    turn, chunks, _wire = case
    acc = StreamAccumulator()
    for c in chunks:
        acc.add(c)
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.reasoning:
        message["reasoning_content"] = turn.reasoning
    if turn.calls:
        message["tool_calls"] = [c.to_wire() for c in turn.calls]
    body: dict[str, Any] = {
        "id": "r1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gemini-3-flash-preview",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
    if turn.usage is not None:
        body["usage"] = {
            "prompt_tokens": turn.usage.prompt_tokens,
            "completion_tokens": turn.usage.completion_tokens,
            "total_tokens": turn.usage.total_tokens,
        }
    streamed = _without_synthetic_ids(acc.result(), turn)
    parsed = _without_synthetic_ids(parse_completion(body), turn)
    assert streamed == parsed

"""Chunk and message shapes are checked before anything reads them."""

from __future__ import annotations

from typing import Any

import pytest

from gw_core.wire.shapes import chunk_problem


def _chunk(delta: Any, **choice: Any) -> dict[str, Any]:
    return {"id": "c", "choices": [{"index": 0, "delta": delta, **choice}]}


@pytest.mark.parametrize(
    ("chunk", "words"),
    [
        (_chunk("text"), "'delta' is a JSON str"),
        (_chunk({"content": 5}), "'content' is a JSON int"),
        (_chunk({"tool_calls": [{"index": [0]}]}), "'index' is a JSON list"),
        (_chunk({"tool_calls": [{"index": 0, "id": 7}]}), "'id' is not a string"),
        (_chunk({"tool_calls": [{"function": "f"}]}), "'function' is not an object"),
        (_chunk({"tool_calls": [{"function": {"arguments": 3}}]}), "arguments"),
        (_chunk({}, finish_reason=1), "'finish_reason'"),
        ({"choices": {}}, "'choices' is not a list"),
        ({"choices": [], "usage": "lots"}, "'usage' is not an object"),
        ({"choices": [], "model": 3}, "'model' is not a string"),
    ],
)
def test_wrong_json_types_are_named(chunk: dict[str, Any], words: str) -> None:
    problem = chunk_problem(chunk)
    assert problem is not None and words in problem


@pytest.mark.parametrize(
    "chunk",
    [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": [{"type": "text", "text": "a"}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": {"a": 1}}}]}),
        _chunk(None, finish_reason="stop"),
        {"choices": [], "usage": {"prompt_tokens": 1}},
    ],
)
def test_every_shape_the_dialects_send_passes(chunk: dict[str, Any]) -> None:
    assert chunk_problem(chunk) is None


def test_a_completion_tool_call_needs_its_function() -> None:
    body = {"choices": [{"message": {"tool_calls": [{"id": "a"}]}}]}
    assert chunk_problem(body, streamed=False) == "a tool call has no 'function'"

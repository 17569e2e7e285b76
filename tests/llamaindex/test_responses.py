"""gw_core results and stream deltas -> ChatResponse, fed with raw dialect chunks."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import TextBlock, ThinkingBlock, ToolCallBlock
from llama_index.core.callbacks.token_counting import get_tokens_from_response

from gw_core.transport import Completion, Route
from gw_core.wire import ChatResult, StreamAccumulator, ToolCall, Usage
from llamaindex_gw import GatewayLLM
from llamaindex_gw._responses import completion_to_chat_response, stream_chunk_response, tool_kwargs
from llamaindex_gw._tools import tool_selections

ROUTE = Route(model="gemini-3.1-pro-preview", pool="standard", attempts=1)


def feed(chunks: list[dict[str, Any]]) -> list[Any]:
    """Run raw chunks through the core accumulator and its snapshot, as a stream does."""
    acc, out = StreamAccumulator(), []
    for chunk in chunks:
        delta = acc.add(chunk)
        if delta is not None:
            out.append(stream_chunk_response(delta, acc.result(), ROUTE))
    return out


def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "c1", "choices": [{"index": 0, "delta": delta}]}
    body["choices"][0]["finish_reason"] = finish
    if usage is not None:
        body["usage"] = usage
    return body


def test_text_stream_deltas_and_cumulative_message() -> None:
    responses = feed(
        [
            chunk({"role": "assistant"}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk({}, "stop"),
            {"id": "c1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
        ]
    )
    assert [r.delta for r in responses] == ["Hel", "lo", "", ""]
    assert [r.message.content for r in responses] == ["Hel", "Hello", "Hello", "Hello"]
    last = responses[-1]
    assert last.additional_kwargs["prompt_tokens"] == 5
    assert last.additional_kwargs["total_tokens"] == 7
    assert last.additional_kwargs["finish_reason"] == "stop"
    assert last.raw["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    assert get_tokens_from_response(last) == (5, 2)
    assert "prompt_tokens" not in responses[0].additional_kwargs


def test_gemini_whole_calls_without_index_several_in_one_chunk() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {
            "id": "b",
            "type": "function",
            "function": {"name": "g", "arguments": '{"y": 2}'},
            "extra_content": {"google": {"thought_signature": "sig"}},
        },
    ]
    usage = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    (response,) = feed([chunk({"role": "assistant", "tool_calls": calls}, "stop", usage)])
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert [(b.tool_call_id, b.tool_name, b.tool_kwargs) for b in blocks] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {"y": 2}),
    ]
    kept = response.message.additional_kwargs["tool_calls"]
    assert kept[1]["extra_content"] == {"google": {"thought_signature": "sig"}}
    assert response.additional_kwargs["finish_reason"] == "tool_calls"
    selections = tool_selections(response.message)
    assert [s.tool_kwargs for s in selections] == [{"x": 1}, {"y": 2}]


def test_indexed_fragments_and_a_trailing_signature_delta() -> None:
    responses = feed(
        [
            chunk({"tool_calls": [{"index": 0, "id": "t1", "function": {"name": "search"}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q": "ca'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ts"}'}}]}),
            chunk({"tool_calls": [{"extra_content": {"google": {"thought_signature": "z"}}}]}),
            chunk({}, "tool_calls"),
        ]
    )
    mid = tool_selections(responses[1].message)
    # LlamaIndex's partial-JSON repair keeps the key of an unfinished string value.
    assert mid[0].tool_name == "search" and list(mid[0].tool_kwargs) == ["q"]
    final = responses[-1].message
    (block,) = [b for b in final.blocks if isinstance(b, ToolCallBlock)]
    assert block.tool_kwargs == {"q": "cats"}
    assert final.additional_kwargs["tool_calls"][0]["extra_content"]["google"] == {
        "thought_signature": "z"
    }


def test_a_call_without_an_upstream_id_gets_one_that_stays() -> None:
    responses = feed(
        [
            chunk({"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}),
            chunk({}, "stop"),
        ]
    )
    ids = {tool_selections(r.message)[0].tool_id for r in responses}
    assert len(ids) == 1 and next(iter(ids)).startswith("call_")


def test_reasoning_goes_to_a_thinking_block_and_thinking_delta() -> None:
    responses = feed(
        [chunk({"reasoning_content": "let me think"}), chunk({"content": "42"}, "stop")]
    )
    assert responses[0].additional_kwargs["thinking_delta"] == "let me think"
    assert responses[0].delta == ""
    blocks = responses[-1].message.blocks
    assert isinstance(blocks[0], ThinkingBlock) and blocks[0].content == "let me think"
    assert isinstance(blocks[1], TextBlock) and blocks[1].text == "42"


def test_completion_response_carries_usage_route_and_calls() -> None:
    result = ChatResult(
        content="",
        tool_calls=[ToolCall("c9", "lookup", '{"k": "v"}', {"google": {"thought_signature": "s"}})],
        finish_reason="tool_calls",
        usage=Usage(10, 3, 13, cached_tokens=4, reasoning_tokens=1),
        reasoning="why",
        id="r1",
        model="gemini-3.1-pro-preview-official",
    )
    route = Route(model="gemini-3.1-pro-preview-official", pool="official", attempts=2)
    response = completion_to_chat_response(Completion(result, route))
    extra = response.additional_kwargs
    assert extra["prompt_tokens"] == 10 and extra["cached_tokens"] == 4
    assert extra["reasoning_tokens"] == 1
    assert (extra["pool"], extra["attempts"]) == ("official", 2)
    raw = response.raw
    assert isinstance(raw, dict)
    assert raw["route"]["pool"] == "official"
    assert raw["usage"]["prompt_tokens_details"] == {"cached_tokens": 4}
    assert raw["choices"][0]["message"]["reasoning_content"] == "why"
    assert response.message.content == ""
    call = response.message.additional_kwargs["tool_calls"][0]
    assert call["extra_content"] == {"google": {"thought_signature": "s"}}


def test_tool_kwargs_keeps_text_that_is_not_a_json_object() -> None:
    assert tool_kwargs("") == {}
    assert tool_kwargs('{"a": [1, 2]}') == {"a": [1, 2]}
    assert tool_kwargs('{"a": ') == '{"a": '
    assert tool_kwargs("[1, 2]") == "[1, 2]"


def test_get_tool_calls_reads_partial_json_and_raises_on_none(canary_key: str) -> None:
    llm = GatewayLLM(api_key=canary_key, base_url="http://127.0.0.1:9")
    partial = {"index": 0, "id": "p", "function": {"name": "f", "arguments": '{"a": "b", "c'}}
    (response,) = feed([chunk({"tool_calls": [partial]})])
    (selection,) = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert selection.tool_name == "f" and selection.tool_kwargs["a"] == "b"
    (text,) = feed([chunk({"content": "no tools here"}, "stop")])
    assert llm.get_tool_calls_from_response(text, error_on_no_tool_call=False) == []
    try:
        llm.get_tool_calls_from_response(text)
    except ValueError as exc:
        assert "tool_required=True" in str(exc)
    else:
        raise AssertionError("expected a ValueError")

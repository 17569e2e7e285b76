"""Non-streamed bodies: the documented shape, each dialect's extras, and broken bodies."""

from __future__ import annotations

from typing import Any

import pytest

from gw_core.errors import (
    GatewayAPIError,
    InvalidToolCallError,
    MalformedResponseError,
    ModelNotFoundError,
    QuotaExceededError,
)
from gw_core.wire import ToolCall, Usage, parse_completion

SIG = {"google": {"thought_signature": "U0lH"}}

# The gateway's own example response, verbatim.
DOCUMENTED = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1761635478,
    "model": "gpt-5.4",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Artificial intelligence (AI) is the simulation of human intelligence.",
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 20, "completion_tokens": 34, "total_tokens": 54},
}


def body(message: dict[str, Any], finish: str | None = "stop", **top: Any) -> dict[str, Any]:
    return {
        "id": "r1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        **top,
    }


def test_the_documented_example() -> None:
    result = parse_completion(DOCUMENTED)
    assert result.content.startswith("Artificial intelligence")
    assert result.finish_reason == "stop"
    assert result.usage == Usage(20, 34, 54)
    assert (result.id, result.model, result.created) == ("chatcmpl-abc123", "gpt-5.4", 1761635478)
    assert result.tool_calls == [] and result.reasoning is None


def test_gemini_tool_turn_with_signature_and_stop() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "function-call-1",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"id": 1}'},
                "extra_content": SIG,
            }
        ],
    }
    result = parse_completion(body(message, "stop"))
    assert result.tool_calls == [ToolCall("function-call-1", "lookup", '{"id": 1}', SIG)]
    assert result.finish_reason == "tool_calls"
    assert result.content == ""
    assert result.to_assistant_message()["tool_calls"][0]["extra_content"] == SIG


def test_reasoning_usage_details_fingerprint_and_refusal() -> None:
    usage = {
        "prompt_tokens": 9,
        "completion_tokens": 40,
        "total_tokens": 49,
        "prompt_tokens_details": {"cached_tokens": 3},
        "completion_tokens_details": {"reasoning_tokens": 30},
    }
    message = {"role": "assistant", "content": "42", "reasoning_content": "think", "refusal": None}
    result = parse_completion(body(message, usage=usage, system_fingerprint="fp_9"))
    assert result.reasoning == "think"
    assert result.usage == Usage(9, 40, 49, cached_tokens=3, reasoning_tokens=30)
    assert result.system_fingerprint == "fp_9"
    assert result.refusal is None
    refused = parse_completion(body({"role": "assistant", "content": None, "refusal": "No."}))
    assert refused.refusal == "No." and refused.content == ""


def test_reasoning_under_its_other_name() -> None:
    message = {"role": "assistant", "content": "ok", "reasoning": "because"}
    assert parse_completion(body(message)).reasoning == "because"


def test_content_as_a_list_of_parts() -> None:
    parts = [{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}]
    assert parse_completion(body({"role": "assistant", "content": parts})).content == "ab"


def test_tool_call_without_id_and_with_object_arguments() -> None:
    message = {"tool_calls": [{"function": {"name": "f", "arguments": {"x": [1]}}}]}
    call = parse_completion(body(message, "tool_calls")).tool_calls[0]
    assert call.id.startswith("call_")
    assert call.parsed_arguments() == {"x": [1]}


def test_choice_index_zero_is_the_one_read() -> None:
    doc = body({"content": "first"})
    doc["choices"].insert(
        0, {"index": 1, "message": {"content": "second"}, "finish_reason": "stop"}
    )
    assert parse_completion(doc).content == "first"


def test_error_body_with_status_200_raises_the_typed_error() -> None:
    with pytest.raises(QuotaExceededError, match="额度"):
        parse_completion({"error": {"message": "用户额度不足", "code": "insufficient_user_quota"}})
    with pytest.raises(ModelNotFoundError):
        parse_completion({"error": {"message": "无可用渠道", "code": "model_not_found"}})
    with pytest.raises(GatewayAPIError, match="boom"):
        parse_completion({"error": "boom"})


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"id": "x", "object": "chat.completion"}, "without a 'choices' list"),
        ({"choices": {"0": {}}}, "without a 'choices' list"),
        ({"choices": []}, "no usable choice"),
        ({"choices": ["x"]}, "no usable choice"),
        ({"choices": [{"message": "text"}]}, "not an object"),
        ({"choices": [{"message": {"content": 5}}]}, "content of type int"),
        ({"choices": [{"message": {"tool_calls": "f()"}}]}, "not a list"),
        ({"choices": [{"message": {"tool_calls": [{"function": {}}]}}]}, "no function name"),
        ([1, 2], "JSON list"),
    ],
)
def test_malformed_bodies(doc: Any, match: str) -> None:
    with pytest.raises(MalformedResponseError, match=match):
        parse_completion(doc)


def test_a_missing_message_is_an_empty_turn() -> None:
    result = parse_completion({"choices": [{"index": 0, "finish_reason": "length"}]})
    assert result.content == "" and result.finish_reason == "length"


def test_a_tool_call_whose_arguments_are_not_a_json_object_is_refused() -> None:
    body = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{"}}
                    ],
                },
            }
        ]
    }
    with pytest.raises(InvalidToolCallError, match=r"'f'.*malformed"):
        parse_completion(body)

"""The wire value types: usage parsing, tool calls, the assistant message for the history."""

from __future__ import annotations

import pytest

from gw_core.wire import ChatResult, ToolCall, Usage, normalize_finish_reason

SIG = {"google": {"thought_signature": "c2lnbmF0dXJl"}}


def test_usage_reads_counts_and_details() -> None:
    usage = Usage.from_dict(
        {
            "prompt_tokens": 12,
            "completion_tokens": 30,
            "total_tokens": 42,
            "prompt_tokens_details": {"cached_tokens": 8},
            "completion_tokens_details": {"reasoning_tokens": 20},
        }
    )
    assert usage == Usage(12, 30, 42, cached_tokens=8, reasoning_tokens=20)


def test_usage_tolerates_missing_and_null_fields() -> None:
    usage = Usage.from_dict(
        {
            "prompt_tokens": 5,
            "completion_tokens": None,
            "prompt_tokens_details": None,
            "completion_tokens_details": {"reasoning_tokens": None},
        }
    )
    # The total is derived when the gateway leaves it out.
    assert usage == Usage(5, 0, 5, cached_tokens=None, reasoning_tokens=None)


@pytest.mark.parametrize("raw", [None, {}, [], "usage", {"prompt_tokens_details": {}}])
def test_usage_without_counts_is_none(raw: object) -> None:
    assert Usage.from_dict(raw) is None


def test_usage_keeps_a_reported_total_and_ignores_booleans() -> None:
    usage = Usage.from_dict({"prompt_tokens": 3, "completion_tokens": True, "total_tokens": 9})
    assert usage == Usage(3, 0, 9)


def test_tool_call_parsed_arguments() -> None:
    assert ToolCall("c1", "f", '{"a": 1}').parsed_arguments() == {"a": 1}
    assert ToolCall("c1", "f", "").parsed_arguments() == {}
    with pytest.raises(ValueError, match=r"'lookup'.*not valid JSON"):
        ToolCall("c1", "lookup", '{"a": ').parsed_arguments()
    with pytest.raises(ValueError, match="not a JSON object"):
        ToolCall("c1", "lookup", "[1, 2]").parsed_arguments()


def test_tool_call_to_wire_includes_signature_only_when_present() -> None:
    plain = ToolCall("c1", "f", "{}").to_wire()
    assert plain == {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    signed = ToolCall("c2", "g", '{"x":1}', SIG).to_wire()
    assert signed["extra_content"] == SIG
    assert signed["function"] == {"name": "g", "arguments": '{"x":1}'}


def test_assistant_message_for_a_text_turn() -> None:
    result = ChatResult("hello", [], "stop", None, reasoning="thinking")
    # Reasoning is not echoed back: no upstream takes it as input.
    assert result.to_assistant_message() == {"role": "assistant", "content": "hello"}


def test_assistant_message_for_a_tool_turn_keeps_signatures() -> None:
    calls = [ToolCall("c1", "f", "{}", SIG), ToolCall("c2", "g", '{"a":2}')]
    message = ChatResult("", calls, "tool_calls", None).to_assistant_message()
    assert message["content"] is None
    assert message["tool_calls"][0]["extra_content"] == SIG
    assert "extra_content" not in message["tool_calls"][1]
    assert [c["id"] for c in message["tool_calls"]] == ["c1", "c2"]


def test_assistant_message_carries_a_refusal() -> None:
    message = ChatResult("", [], "stop", None, refusal="I can't help").to_assistant_message()
    assert message == {"role": "assistant", "content": "", "refusal": "I can't help"}


@pytest.mark.parametrize(
    ("raw", "has_tools", "expected"),
    [
        ("stop", False, "stop"),
        ("stop", True, "tool_calls"),
        ("STOP", True, "tool_calls"),
        ("tool_calls", True, "tool_calls"),
        ("length", True, "length"),
        ("end_turn", False, "stop"),
        ("max_tokens", False, "length"),
        ("tool_use", True, "tool_calls"),
        ("content_filter", False, "content_filter"),
        (None, True, None),
        ("", False, None),
    ],
)
def test_normalize_finish_reason(raw: str | None, has_tools: bool, expected: str | None) -> None:
    assert normalize_finish_reason(raw, has_tools) == expected


def test_usage_has_one_serialization_that_reads_back_and_adds_up() -> None:
    usage = Usage(11, 7, 18, cached_tokens=4, reasoning_tokens=2)
    assert Usage.from_dict(usage.to_wire()) == usage
    assert usage.counts() == {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
        "cached_tokens": 4,
        "reasoning_tokens": 2,
    }
    assert usage + Usage(1, 1, 2) == Usage(12, 8, 20, cached_tokens=4, reasoning_tokens=2)
    assert Usage(1, 1, 2).to_wire() == {
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "total_tokens": 2,
    }

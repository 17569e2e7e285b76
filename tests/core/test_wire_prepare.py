"""One request path: parameter layers, the max_tokens rule, tools, then the body."""

from __future__ import annotations

import pytest

from gw_core.catalog import parse
from gw_core.errors import ParameterError
from gw_core.wire import merge_params, prepare

MSGS = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


def test_max_tokens_and_max_completion_tokens_that_disagree_in_one_layer_are_refused() -> None:
    with pytest.raises(ParameterError, match="max_tokens=10 and max_completion_tokens=20"):
        merge_params({"max_tokens": 10, "max_completion_tokens": 20})


def test_the_same_value_under_both_spellings_is_sent_once() -> None:
    assert merge_params({"max_tokens": 10, "max_completion_tokens": 10}) == {
        "max_completion_tokens": 10
    }


def test_a_later_layer_overrides_an_earlier_one_whichever_spelling_it_uses() -> None:
    assert merge_params({"max_completion_tokens": 20}, {"max_tokens": 10}) == {
        "max_completion_tokens": 10
    }
    assert merge_params({"max_tokens": 20}, {"max_completion_tokens": 10}) == {
        "max_completion_tokens": 10
    }


def test_unset_values_and_empty_stop_and_tools_are_not_sent() -> None:
    params = merge_params({"temperature": None, "stop": ["x"]}, {"stop": [], "tools": []})
    assert params == {}


def test_extra_body_layers_merge_key_by_key() -> None:
    params = merge_params({"extra_body": {"a": 1, "b": 1}}, None, {"extra_body": {"b": 2}})
    assert params == {"extra_body": {"a": 1, "b": 2}}


def test_tools_are_checked_and_tool_choice_is_spelled_the_openai_way() -> None:
    params = merge_params({"tools": [TOOL], "tool_choice": "get_time"})
    assert params["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    with pytest.raises(ParameterError, match="unique"):
        merge_params({"tools": [TOOL, TOOL]})


def test_prepare_checks_the_history_and_shapes_the_body() -> None:
    body = prepare(parse("gpt-5.4"), MSGS, {"max_tokens": 5}, stream=True)
    assert body == {
        "model": "gpt-5.4",
        "messages": MSGS,
        "max_completion_tokens": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with pytest.raises(ValueError, match="non-empty"):
        prepare(parse("gpt-5.4"), [], stream=False)

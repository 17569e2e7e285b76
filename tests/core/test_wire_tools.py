"""tool_choice in every spelling users write it, mapped to OpenAI's one spelling."""

from __future__ import annotations

from typing import Any

import pytest

from gw_core.errors import ParameterError
from gw_core.wire.tools import normalize_tool_choice, tool_names, validate_tools


def _tool(name: str, **params: Any) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": "d", "parameters": {"type": "object", **params}},
    }


TOOLS = [_tool("get_weather"), _tool("get_time")]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        ("auto", "auto"),
        ("none", "none"),
        ("NONE", "none"),
        ("required", "required"),
        ("any", "required"),
        (False, "none"),
        (True, "required"),
        ("get_time", {"type": "function", "function": {"name": "get_time"}}),
        ({"name": "get_time"}, {"type": "function", "function": {"name": "get_time"}}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_spellings(choice: Any, expected: Any) -> None:
    assert normalize_tool_choice(choice, TOOLS) == expected


def test_true_with_one_tool_forces_it() -> None:
    assert normalize_tool_choice(True, [_tool("only")]) == {
        "type": "function",
        "function": {"name": "only"},
    }


@pytest.mark.parametrize(
    ("choice", "tools", "match"),
    [
        ("lookup", TOOLS, "not among the tools"),
        ({"type": "function", "function": {"name": "x"}}, TOOLS, "not among"),
        ("required", [], "no tools were given"),
        ("any", [], "no tools were given"),
        (True, [], "no tools were given"),
        (3, TOOLS, "not understood"),
        ({"type": "web"}, TOOLS, "not understood"),
    ],
)
def test_refused_before_any_request(choice: Any, tools: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(ParameterError, match=match) as info:
        normalize_tool_choice(choice, tools)
    assert isinstance(info.value, ValueError)


def test_tool_names_in_order() -> None:
    assert tool_names(TOOLS) == ["get_weather", "get_time"]


def test_validate_tools_accepts_openai_function_tools() -> None:
    validate_tools(TOOLS)


@pytest.mark.parametrize(
    ("tools", "match"),
    [
        ([{"type": "function"}], "not an OpenAI function tool"),
        ([{"name": "x", "parameters": {}}], "not an OpenAI function tool"),
        ([{"type": "function", "function": {"description": "no name"}}], "no function name"),
        ([_tool("has space")], "must be 1-64"),
        ([_tool("x" * 65)], "must be 1-64"),
        ([_tool("dup"), _tool("dup")], "unique"),
        (
            [{"type": "function", "function": {"name": "p", "parameters": "{}"}}],
            "JSON schema object",
        ),
    ],
)
def test_validate_tools_refuses_what_upstreams_reject(
    tools: list[dict[str, Any]], match: str
) -> None:
    with pytest.raises(ParameterError, match=match):
        validate_tools(tools)

"""Request bodies: nothing unset is sent, family rules refuse what upstreams reject."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gw_core.catalog import Family, all_ids, parse
from gw_core.errors import GatewayInputError, ParameterError
from gw_core.wire import build_body

MSGS = [{"role": "user", "content": "hi"}]
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
SIG = {"google": {"thought_signature": "U0lH"}}
HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "weather?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"},
                "extra_content": SIG,
            }
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
]


def body(model: str, **params: Any) -> dict[str, Any]:
    return build_body(parse(model), MSGS, params)


def test_nothing_unset_is_sent() -> None:
    assert body("gpt-5.4") == {"model": "gpt-5.4", "messages": MSGS}
    assert body("claude-opus-4-7", temperature=None, top_p=None, stop=None) == {
        "model": "claude-opus-4-7",
        "messages": MSGS,
    }


def test_the_messages_list_is_passed_as_is_when_nothing_changes() -> None:
    assert build_body(parse("gpt-5.4"), MSGS, {})["messages"] is MSGS


def test_max_tokens_is_sent_as_max_completion_tokens() -> None:
    assert body("gpt-5.4", max_tokens=100) == {
        "model": "gpt-5.4",
        "messages": MSGS,
        "max_completion_tokens": 100,
    }
    assert body("gpt-5.4", max_tokens=5, max_completion_tokens=5)["max_completion_tokens"] == 5
    with pytest.raises(ParameterError, match="disagree"):
        body("gpt-5.4", max_tokens=5, max_completion_tokens=6)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"temperature": 2.5}, "temperature must be from 0 to 2"),
        ({"temperature": -0.1}, "temperature must be from 0 to 2"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"temperature": True}, "temperature must be a number"),
        ({"top_p": 1.5}, "top_p must be from 0 to 1"),
        ({"max_completion_tokens": 0}, "at least 1"),
        ({"max_tokens": 2.5}, "at least 1"),
        ({"n": 0}, "n must be"),
        ({"stop": 5}, "stop must be a string or a list"),
        ({"stop": ["a", 1]}, "stop must be a string or a list"),
    ],
)
@pytest.mark.parametrize("check", [True, False])
def test_protocol_checks_hold_even_with_the_escape_hatch(
    params: dict[str, Any], match: str, check: bool
) -> None:
    with pytest.raises(ParameterError, match=match):
        build_body(parse("gpt-5.4"), MSGS, params, check_model_rules=check)


def test_parameter_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        body("gpt-5.4", temperature=9)
    assert issubclass(ParameterError, GatewayInputError)


def test_claude_temperature_above_one_is_refused_with_what_to_do() -> None:
    with pytest.raises(ParameterError) as info:
        body("claude-sonnet-4-6", temperature=1.5)
    message = str(info.value)
    assert "claude-sonnet-4-6" in message and "0 to 1" in message
    assert "check_model_rules=False" in message
    sent = build_body(
        parse("claude-sonnet-4-6"), MSGS, {"temperature": 1.5}, check_model_rules=False
    )
    assert sent["temperature"] == 1.5


@pytest.mark.parametrize("model", ["claude-sonnet-4-5-hc", "claude-haiku-4-5", "claude-opus-4-6"])
def test_claude_temperature_with_top_p_is_refused(model: str) -> None:
    assert body(model, temperature=0.3)["temperature"] == 0.3
    assert body(model, top_p=0.9)["top_p"] == 0.9
    with pytest.raises(ParameterError, match="temperature and top_p") as info:
        body(model, temperature=0.3, top_p=0.9)
    assert "check_model_rules=False" in str(info.value)
    sent = build_body(
        parse(model), MSGS, {"temperature": 0.3, "top_p": 0.9}, check_model_rules=False
    )
    assert (sent["temperature"], sent["top_p"]) == (0.3, 0.9)


@pytest.mark.parametrize("key", ["temperature", "top_p"])
def test_opus_4_7_refuses_sampling_parameters_outright(key: str) -> None:
    with pytest.raises(ParameterError, match=f"rejects '{key}'") as info:
        body("claude-opus-4-7-official", **{key: 0.5})
    assert "remove it" in str(info.value) and "check_model_rules=False" in str(info.value)
    sent = build_body(parse("claude-opus-4-7"), MSGS, {key: 0.5}, check_model_rules=False)
    assert sent[key] == 0.5


@pytest.mark.parametrize("model", all_ids())
def test_temperature_rules_across_the_catalog(model: str) -> None:
    spec = parse(model)
    if spec.family is Family.CLAUDE:
        with pytest.raises(ParameterError):
            body(model, temperature=1.5)
    else:
        assert body(model, temperature=1.5)["temperature"] == 1.5


def test_stop_sequences() -> None:
    assert body("gpt-5.4", stop="END")["stop"] == "END"
    assert body("gemini-2.5-pro", stop=["a", "b", "c", "d"])["stop"] == ["a", "b", "c", "d"]
    with pytest.raises(ParameterError, match="at most 4 stop sequences") as info:
        body("gemini-2.5-pro", stop=["a", "b", "c", "d", "e"])
    assert "check_model_rules=False" in str(info.value)
    five = ["a", "b", "c", "d", "e"]
    assert (
        build_body(parse("gemini-2.5-pro"), MSGS, {"stop": five}, check_model_rules=False)["stop"]
        == five
    )


def test_max_completion_tokens_above_the_model_limit() -> None:
    assert body("claude-haiku-4-5", max_completion_tokens=64_000)["max_completion_tokens"] == 64_000
    with pytest.raises(ParameterError, match="at most 64000 tokens") as info:
        body("claude-haiku-4-5", max_completion_tokens=64_001)
    assert "check_model_rules=False" in str(info.value)
    # Unknown models have no known limit: nothing is refused for them.
    assert body("gpt-7-preview", max_completion_tokens=500_000)["max_completion_tokens"] == 500_000
    sent = build_body(
        parse("claude-haiku-4-5"), MSGS, {"max_tokens": 70_000}, check_model_rules=False
    )
    assert sent["max_completion_tokens"] == 70_000


def test_streaming_adds_stream_and_usage_only() -> None:
    spec = parse("gemini-3-flash-preview")
    assert build_body(spec, MSGS, {}, stream=True) == {
        "model": "gemini-3-flash-preview",
        "messages": MSGS,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    no_usage = build_body(spec, MSGS, {}, stream=True, stream_usage=False)
    assert no_usage["stream"] is True and "stream_options" not in no_usage
    mine = {"include_usage": False}
    assert build_body(spec, MSGS, {"stream_options": mine}, stream=True)["stream_options"] is mine
    with pytest.raises(ParameterError, match="only allowed on a streaming request"):
        build_body(spec, MSGS, {"stream_options": mine})


@pytest.mark.parametrize("key", ["model", "messages", "stream"])
def test_reserved_keys_are_refused_in_params(key: str) -> None:
    with pytest.raises(ParameterError, match=repr(key)):
        build_body(parse("gpt-5.4"), MSGS, {key: "x"})


def test_other_parameters_pass_through_untouched() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "Answer", "schema": {}}}
    params = {
        "seed": 7,
        "n": 2,
        "user": "u-1",
        "logprobs": True,
        "reasoning_effort": "low",
        "response_format": schema,
        "verbosity": "low",
        "frequency_penalty": 0.5,
    }
    sent = body("gpt-5.4", **params)
    assert {k: sent[k] for k in params} == params
    assert sent["response_format"] is schema


def test_extra_body_is_merged_last_and_unchecked() -> None:
    sent = body("claude-opus-4-7", extra_body={"thinking": {"type": "enabled"}, "top_k": 5})
    assert sent["thinking"] == {"type": "enabled"} and sent["top_k"] == 5
    assert "extra_body" not in sent
    with pytest.raises(ParameterError, match="may not set 'model'"):
        body("gpt-5.4", extra_body={"model": "other"})
    with pytest.raises(ParameterError, match="mapping"):
        body("gpt-5.4", extra_body=["x"])


@pytest.mark.parametrize(
    "fmt",
    [{"type": "xml"}, "json", {"type": "json_schema"}, {"type": "json_schema", "json_schema": {}}],
)
def test_response_format_shape(fmt: Any) -> None:
    with pytest.raises(ParameterError, match="json_schema"):
        body("gpt-5.4", response_format=fmt)


@pytest.mark.parametrize(
    "choice",
    ["auto", "none", "required", {"type": "function", "function": {"name": "get_time"}}],
)
def test_tool_choice_forms(choice: Any) -> None:
    sent = body("gpt-5.4", tools=TOOLS, tool_choice=choice, parallel_tool_calls=False)
    assert sent["tools"] is TOOLS and sent["tool_choice"] == choice
    assert sent["parallel_tool_calls"] is False


def test_tool_choice_naming_an_undeclared_function() -> None:
    choice = {"type": "function", "function": {"name": "get_news"}}
    with pytest.raises(ParameterError, match=r"'get_news'.*get_time, get_weather"):
        body("gpt-5.4", tools=TOOLS, tool_choice=choice)
    with pytest.raises(ParameterError, match="'get_news'"):
        build_body(
            parse("gpt-5.4"), MSGS, {"tools": TOOLS, "tool_choice": choice}, check_model_rules=False
        )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"tools": TOOLS, "tool_choice": "any"}, "'auto', 'none', 'required'"),
        ({"tools": TOOLS, "tool_choice": 3}, "string or a dict"),
        ({"tools": TOOLS, "tool_choice": {"type": "function"}}, "needs 'function'"),
        ({"tool_choice": "auto"}, "only allowed with tools"),
        ({"parallel_tool_calls": True}, "only allowed with tools"),
        ({"tools": TOOLS, "parallel_tool_calls": "yes"}, "True or False"),
        ({"tools": {"name": "f"}}, "tools must be a list"),
        ({"tools": ["f"]}, "OpenAI tool dict"),
        ({"tools": [{"type": "function", "function": {}}]}, "needs 'function'"),
    ],
)
def test_tool_parameter_errors(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        body("gpt-5.4", **params)


def test_non_function_tools_pass_through() -> None:
    custom = [{"type": "custom", "custom": {"name": "grammar"}}]
    assert body("gpt-5.4", tools=custom)["tools"] is custom


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-opus-4-6", "some-new-model"])
def test_signatures_are_stripped_for_non_gemini_models(model: str) -> None:
    before = copy.deepcopy(HISTORY)
    sent = build_body(parse(model), HISTORY, {})
    call = sent["messages"][1]["tool_calls"][0]
    assert "extra_content" not in call
    assert call == {
        "id": "c1",
        "type": "function",
        "function": HISTORY[1]["tool_calls"][0]["function"],
    }
    assert before == HISTORY  # the caller's history is not mutated
    assert sent["messages"][0] is HISTORY[0] and sent["messages"][2] is HISTORY[2]


@pytest.mark.parametrize("model", ["gemini-3.1-pro-preview", "gemini-2.5-flash-lite"])
def test_signatures_are_kept_exactly_for_gemini(model: str) -> None:
    sent = build_body(parse(model), HISTORY, {})
    assert sent["messages"] is HISTORY
    assert sent["messages"][1]["tool_calls"][0]["extra_content"] is SIG


def test_messages_must_be_a_list() -> None:
    with pytest.raises(ParameterError, match="list of message dicts"):
        build_body(parse("gpt-5.4"), ({"role": "user", "content": "x"},), {})  # type: ignore[arg-type]


def _tool_turn(extra: dict[str, Any] | None) -> list[dict[str, Any]]:
    call: dict[str, Any] = {
        "id": "c1",
        "type": "function",
        "function": {"name": "lookup", "arguments": "{}"},
    }
    if extra is not None:
        call["extra_content"] = extra
    return [
        {"role": "user", "content": "look it up"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "found"},
    ]


def test_gemini3_unsigned_tool_calls_get_googles_placeholder(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gw_core.wire.params import SKIP_SIGNATURE

    history = _tool_turn(None)
    with caplog.at_level("WARNING", logger="gw_core.wire"):
        body = build_body(parse("gemini-3-flash-preview"), history, {})
    sent = body["messages"][1]["tool_calls"][0]
    assert sent["extra_content"] == {"google": {"thought_signature": SKIP_SIGNATURE}}
    assert "extra_content" not in history[1]["tool_calls"][0]  # caller's history untouched
    assert "placeholder" in caplog.text


def test_gemini3_real_signatures_win_and_older_gemini_is_left_alone() -> None:
    signed = _tool_turn({"google": {"thought_signature": "real=="}})
    body = build_body(parse("gemini-3.1-pro-preview"), signed, {})
    assert body["messages"] is signed
    unsigned = _tool_turn(None)
    assert build_body(parse("gemini-2.5-pro"), unsigned, {})["messages"] is unsigned

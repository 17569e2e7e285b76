"""The deterministic engine through the wire: grounded answers, limits, tools, JSON."""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import openai
import pytest

from gw_core.tokens import count_tokens
from gw_emulator import GatewayEmulator

from .support import ask

DOCS = (
    "The emulator listens on loopback only. "
    "Retries are handled by tenacity with exponential backoff and jitter. "
    "Bananas are rich in potassium. "
    "Pool failover moves a request to the next account pool before the first token."
)

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": False,
        },
    },
}
ADD: Any = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
}


def _content(response: Any) -> str:
    text = response.choices[0].message.content
    assert isinstance(text, str)
    return text


def test_rag_question_gets_the_relevant_context_sentences(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="claude-sonnet-4-6", messages=ask("How are retries handled?", system=DOCS)
    )
    answer = _content(response)
    assert "tenacity" in answer
    assert "Bananas" not in answer


def test_context_inside_the_user_turn_is_used_like_a_rag_template(client: openai.OpenAI) -> None:
    prompt = (
        f"Context information is below.\n---\n{DOCS}\n---\n"
        "Query: what does pool failover do\nAnswer:"
    )
    answer = _content(client.chat.completions.create(model="gpt-5.4", messages=ask(prompt)))
    assert "next account pool" in answer
    assert "potassium" not in answer


def test_without_context_the_answer_echoes_the_question(client: openai.OpenAI) -> None:
    answer = _content(client.chat.completions.create(model="gpt-5.4", messages=ask("Hello there")))
    assert "Hello there" in answer


def test_answers_are_deterministic(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-5.4", messages=ask("Why?", system=DOCS))
    second = client.chat.completions.create(model="gpt-5.4", messages=ask("Why?", system=DOCS))
    assert _content(first) == _content(second)


def test_max_completion_tokens_truncates_with_finish_length(client: openai.OpenAI) -> None:
    long_question = "please repeat " + "many words " * 30
    response = client.chat.completions.create(
        model="gpt-5.4", messages=ask(long_question), max_completion_tokens=5
    )
    assert response.choices[0].finish_reason == "length"
    assert count_tokens(_content(response)) == 5
    assert response.usage is not None and response.usage.completion_tokens == 5


def test_stop_cuts_before_the_first_stop_string(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gemini-2.5-pro", messages=ask("alpha beta gamma delta"), stop=["delta", "beta"]
    )
    assert _content(response) == "You said: alpha "
    assert response.choices[0].finish_reason == "stop"


def test_usage_counts_prompt_and_completion(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="gpt-5.4", messages=ask("count me"))
    usage = response.usage
    assert usage is not None
    assert usage.completion_tokens == count_tokens(_content(response))
    assert usage.prompt_tokens >= count_tokens("count me")
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_named_tool_is_called_with_arguments_from_the_prompt(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gpt-5.4",
        messages=ask("Use get_weather for Lisbon in fahrenheit over 3 days"),
        tools=[WEATHER, ADD],
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
    assert arguments == {"city": "Lisbon", "unit": "fahrenheit", "days": 3}
    jsonschema.validate(arguments, WEATHER["function"]["parameters"])


def test_tool_named_with_spaces_and_several_tools_in_one_turn(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="claude-opus-4-6",
        messages=ask("Get weather in Oslo, then add 2 and 40."),
        tools=[WEATHER, ADD],
    )
    calls = response.choices[0].message.tool_calls or []
    names = [c.function.name for c in calls]  # type: ignore[union-attr]
    assert names == ["get_weather", "add"]
    assert json.loads(calls[1].function.arguments) == {"a": 2, "b": 40}  # type: ignore[union-attr]
    assert len({c.id for c in calls}) == 2


def test_a_compound_tool_name_is_recognised_by_its_topic_words(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gpt-5.4",
        messages=ask("What's the weather like in San Francisco, in celsius, for 2 days?"),
        tools=[WEATHER, ADD],
    )
    calls = response.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather"]  # type: ignore[union-attr]
    arguments = json.loads(calls[0].function.arguments)  # type: ignore[union-attr]
    assert arguments == {"city": "San Francisco", "unit": "celsius", "days": 2}


def test_parallel_tool_calls_false_gives_one_call(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gpt-5.4",
        messages=ask("get weather in Oslo and add 1 and 2"),
        tools=[WEATHER, ADD],
        parallel_tool_calls=False,
    )
    assert len(response.choices[0].message.tool_calls or []) == 1


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "function", "function": {"name": "add"}}, ["add"]),
        ("required", ["get_weather"]),
        ("none", []),
        ("auto", []),
    ],
)
def test_tool_choice(client: openai.OpenAI, choice: Any, expected: list[str]) -> None:
    response = client.chat.completions.create(
        model="gpt-5.4",
        messages=ask("What is 7 plus 5?"),
        tools=[WEATHER, ADD],
        tool_choice=choice,
    )
    calls = response.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == expected  # type: ignore[union-attr]
    if not expected:
        assert response.choices[0].message.content


def test_tool_result_is_used_in_the_answer(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model="gpt-5.4",
        messages=ask("add 2 and 3"),
        tools=[ADD],
    )
    call = (first.choices[0].message.tool_calls or [])[0]
    messages: list[Any] = [
        *ask("add 2 and 3"),
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "5"},
    ]
    second = client.chat.completions.create(model="gpt-5.4", messages=messages, tools=[ADD])
    assert second.choices[0].finish_reason == "stop"
    assert "add returned: 5" in _content(second)


PERSON: Any = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "email": {"type": "string", "format": "email"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {"$ref": "#/$defs/Address"},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["name", "age", "email", "tags", "address", "nickname"],
    "$defs": {
        "Address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
            "required": ["city", "zip"],
        }
    },
}


def test_json_schema_response_format_fits_the_schema(client: openai.OpenAI) -> None:
    text = "Record Alice, age 31, alice@example.org, who lives in Berlin."
    response = client.chat.completions.create(
        model="gemini-3-flash-preview",
        messages=ask(text),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON},
        },
    )
    value = json.loads(_content(response))
    jsonschema.validate(value, PERSON)
    assert value["name"] == "Alice"
    assert value["age"] == 31
    assert value["email"] == "alice@example.org"


def test_json_object_response_format_gives_an_object(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gpt-5.4", messages=ask("Return JSON please"), response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(_content(response)), dict)


def test_images_are_acknowledged(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    parts: list[Any] = [
        {"type": "text", "text": "Describe this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    response = client.chat.completions.create(
        model="gpt-5.4", messages=[{"role": "user", "content": parts}]
    )
    assert _content(response).startswith("I received 1 attachment.")
    assert emu.requests[-1].body["messages"][0]["content"] == parts


def test_tables_and_diagrams_are_not_sentences_to_answer_with() -> None:
    from gw_emulator.prompt import split_sentences

    text = (
        "Only Gemini models accept video.\n"
        "| case | requests | outcome |\n"
        "|---|---|---|\n"
        "│ ├── RateLimitError 429, retry_after holds the wait\n"
        "Claude takes images."
    )
    assert split_sentences(text) == ["Only Gemini models accept video.", "Claude takes images."]

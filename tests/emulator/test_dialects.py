"""The three dialects on the wire, read both through the raw openai client and as raw SSE."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from gw_emulator import GatewayEmulator, ScriptedReply, ScriptedToolCall

from .support import ask

LOOKUP: Any = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {
            "type": "object",
            "properties": {"term": {"type": "string"}},
            "required": ["term"],
        },
    },
}
QUESTION = "Tell me something about the river Danube and its many bridges."


def raw_events(client: openai.OpenAI, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Every SSE line of a streamed answer, and the JSON of its data events."""
    with client.chat.completions.with_streaming_response.create(stream=True, **params) as response:
        lines = list(response.iter_lines())
    events = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert lines.count("data: [DONE]") == 1
    return lines, events


def _text(events: list[dict[str, Any]]) -> str:
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])


# -- GPT ----------------------------------------------------------------------------------------


def test_gpt_stream_role_chunk_first_and_no_usage_unless_asked(client: openai.OpenAI) -> None:
    _, events = raw_events(client, model="gpt-5.5", messages=ask(QUESTION))
    assert events[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert len(events) > 4  # text arrives in several chunks
    assert all("usage" not in e for e in events)
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


def test_gpt_stream_usage_chunk_with_empty_choices_when_asked(client: openai.OpenAI) -> None:
    _, events = raw_events(
        client, model="gpt-5.4-hc", messages=ask(QUESTION), stream_options={"include_usage": True}
    )
    *body, last = events
    assert last["choices"] == [] and last["usage"]["total_tokens"] > 0
    assert all(e["usage"] is None for e in body)


def test_gpt_stream_tool_call_deltas_carry_an_index(client: openai.OpenAI) -> None:
    _, events = raw_events(
        client, model="gpt-5.4", messages=ask("please lookup 'Vienna'"), tools=[LOOKUP]
    )
    deltas = [d for e in events for d in e["choices"][0]["delta"].get("tool_calls", [])]
    assert deltas and all(d["index"] == 0 for d in deltas)
    assert deltas[0]["function"]["name"] == "lookup"
    assert json.loads("".join(d["function"]["arguments"] for d in deltas)) == {"term": "Vienna"}
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


# -- Claude -------------------------------------------------------------------------------------


def test_claude_stream_usage_on_the_finish_chunk(client: openai.OpenAI) -> None:
    _, events = raw_events(client, model="claude-opus-4-6-fd", messages=ask(QUESTION))
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert events[0]["choices"][0]["delta"]["content"]
    finish = events[-1]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["usage"]["completion_tokens"] > 0
    assert all("usage" not in e for e in events[:-1])


# -- Gemini -------------------------------------------------------------------------------------


def test_gemini_stream_cumulative_usage_on_every_chunk_and_keepalives(
    client: openai.OpenAI,
) -> None:
    lines, events = raw_events(client, model="gemini-2.5-flash-lite", messages=ask(QUESTION))
    completions = [e["usage"]["completion_tokens"] for e in events]
    assert completions == sorted(completions) and len(set(completions)) > 1
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["choices"][0]["delta"]["content"]  # the finish rides on content
    assert lines.count(": keep-alive") == len(events) - 1


def test_gemini_keepalives_can_be_turned_off(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    emu.keepalive_comments = False
    lines, _ = raw_events(client, model="gemini-2.5-pro", messages=ask(QUESTION))
    assert not any(line.startswith(":") for line in lines)
    emu.reset()
    assert emu.keepalive_comments is True


def test_gemini_stream_tool_calls_without_index_end_with_stop(client: openai.OpenAI) -> None:
    _, events = raw_events(
        client, model="gemini-2.5-pro", messages=ask("lookup 'Danube' please"), tools=[LOOKUP]
    )
    calls = [c for e in events for c in e["choices"][0]["delta"].get("tool_calls", [])]
    assert len(calls) == 1 and "index" not in calls[0]
    assert json.loads(calls[0]["function"]["arguments"]) == {"term": "Danube"}
    assert "extra_content" not in calls[0]  # only Gemini 3 signs
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


def test_gemini_non_stream_tool_turn_ends_with_tool_calls(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="gemini-2.5-pro",
        messages=ask("lookup 'Danube'"),
        tools=[LOOKUP],
    )
    assert response.choices[0].finish_reason == "tool_calls"


def _signed_turn(client: openai.OpenAI, model: str) -> dict[str, Any]:
    response = client.chat.completions.create(
        model=model,
        messages=ask("lookup 'Rhine' now"),
        tools=[LOOKUP],
    )
    message = response.choices[0].message.model_dump(exclude_none=True)
    return message


def _next_turn(assistant: dict[str, Any]) -> list[Any]:
    call_id = assistant["tool_calls"][0]["id"]
    return [
        *ask("lookup 'Rhine' now"),
        assistant,
        {"role": "tool", "tool_call_id": call_id, "content": "1,230 km"},
    ]


def test_gemini3_signs_tool_calls_and_accepts_the_echo(client: openai.OpenAI) -> None:
    assistant = _signed_turn(client, "gemini-3-flash-preview")
    signature = assistant["tool_calls"][0]["extra_content"]["google"]["thought_signature"]
    assert isinstance(signature, str) and len(signature) > 20
    again = _signed_turn(client, "gemini-3-flash-preview")
    assert again["tool_calls"][0]["extra_content"] == assistant["tool_calls"][0]["extra_content"]
    answer = client.chat.completions.create(
        model="gemini-3-flash-preview",
        messages=_next_turn(assistant),
        tools=[LOOKUP],
    )
    assert "1,230 km" in (answer.choices[0].message.content or "")


def test_gemini3_signature_survives_reserialised_arguments(client: openai.OpenAI) -> None:
    assistant = _signed_turn(client, "gemini-3.1-pro-preview")
    function = assistant["tool_calls"][0]["function"]
    function["arguments"] = json.dumps(json.loads(function["arguments"]), indent=2)
    client.chat.completions.create(
        model="gemini-3.1-pro-preview",
        messages=_next_turn(assistant),
        tools=[LOOKUP],
    )


@pytest.mark.parametrize("damage", ["drop", "tamper", "other_call"])
def test_gemini3_rejects_a_turn_without_the_right_signature(
    client: openai.OpenAI, emu: GatewayEmulator, damage: str
) -> None:
    assistant = _signed_turn(client, "gemini-3-flash-preview")
    call = assistant["tool_calls"][0]
    if damage == "drop":
        del call["extra_content"]
    elif damage == "tamper":
        call["extra_content"]["google"]["thought_signature"] = "AAAA"
    else:
        call["function"]["arguments"] = json.dumps({"term": "Elbe"})
    with pytest.raises(openai.BadRequestError, match="thought_signature") as caught:
        client.chat.completions.create(
            model="gemini-3-flash-preview",
            messages=_next_turn(assistant),
            tools=[LOOKUP],
        )
    assert caught.value.param == "messages[1].tool_calls[0].extra_content"
    assert emu.requests[-1].status == 400


@pytest.mark.parametrize(
    "placeholder", ["skip_thought_signature_validator", "context_engineering_is_the_way_to_go"]
)
def test_gemini3_accepts_googles_documented_placeholders(
    client: openai.OpenAI, placeholder: str
) -> None:
    assistant = _signed_turn(client, "gemini-3-flash-preview")
    assistant["tool_calls"][0]["extra_content"]["google"]["thought_signature"] = placeholder
    answer = client.chat.completions.create(
        model="gemini-3-flash-preview", messages=_next_turn(assistant), tools=[LOOKUP]
    )
    assert answer.choices[0].message.content


def test_gemini3_checks_only_the_current_turn(client: openai.OpenAI) -> None:
    unsigned = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c9", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
        ],
    }
    messages: list[Any] = [
        *ask("first"),
        unsigned,
        {"role": "tool", "tool_call_id": "c9", "content": "x"},
        *ask("a new question"),
    ]
    response = client.chat.completions.create(model="gemini-3-flash-preview", messages=messages)
    assert response.choices[0].message.content


def test_gemini3_streamed_tool_calls_are_signed(client: openai.OpenAI) -> None:
    _, events = raw_events(
        client, model="gemini-3.1-flash-lite-preview", messages=ask("lookup 'Po'"), tools=[LOOKUP]
    )
    calls = [c for e in events for c in e["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["extra_content"]["google"]["thought_signature"]


# -- all dialects, through the SDK, sync and async --------------------------------------------

MODELS = ["gpt-5.4", "claude-sonnet-4-5", "gemini-2.5-pro", "gemini-3-flash-preview"]


@pytest.mark.parametrize("model", MODELS)
def test_stream_text_equals_non_stream_text(client: openai.OpenAI, model: str) -> None:
    whole = client.chat.completions.create(model=model, messages=ask(QUESTION))
    pieces = []
    finish = None
    for chunk in client.chat.completions.create(model=model, messages=ask(QUESTION), stream=True):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces) == whole.choices[0].message.content
    assert finish == "stop"
    assert whole.object == "chat.completion" and whole.model == model and whole.id


@pytest.mark.parametrize("model", MODELS)
async def test_async_stream_and_create(aclient: openai.AsyncOpenAI, model: str) -> None:
    whole = await aclient.chat.completions.create(model=model, messages=ask(QUESTION))
    stream = await aclient.chat.completions.create(
        model=model, messages=ask(QUESTION), stream=True, stream_options={"include_usage": True}
    )
    pieces = []
    usage = None
    async for chunk in stream:
        usage = chunk.usage or usage
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
    assert "".join(pieces) == whole.choices[0].message.content
    assert usage is not None and whole.usage is not None
    assert usage.completion_tokens == whole.usage.completion_tokens


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-opus-4-5", "gemini-3-flash-preview"])
def test_scripted_reasoning_and_several_tool_calls_stream_in_each_dialect(
    client: openai.OpenAI, emu: GatewayEmulator, model: str
) -> None:
    emu.script(
        ScriptedReply(
            content="Checking both.",
            reasoning="The user wants two lookups.",
            tool_calls=[
                ScriptedToolCall("lookup", {"term": "a"}),
                ScriptedToolCall("lookup", {"term": "b"}),
            ],
        )
    )
    _, events = raw_events(client, model=model, messages=ask("go"), tools=[LOOKUP])
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert reasoning == "The user wants two lookups."
    assert _text(events) == "Checking both."
    calls = [c for d in deltas for c in d.get("tool_calls", [])]
    named = [c for c in calls if c.get("function", {}).get("name")]
    assert len(named) == 2 and named[0]["id"] != named[1]["id"]

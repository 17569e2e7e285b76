"""Scripted replies: queued per model, first-in first-out, still shaped by the dialect."""

from __future__ import annotations

import openai
import pytest

from gw_core.tokens import count_tokens
from gw_emulator import Fault, GatewayEmulator, ScriptedReply, ScriptedToolCall

from .support import ask


def test_scripted_text_is_sent_exactly_with_counted_usage(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.script(ScriptedReply(content="Exactly this, stop words and all."))
    response = client.chat.completions.create(
        model="gpt-5.4", messages=ask("anything"), stop=["this"], max_completion_tokens=2
    )
    assert response.choices[0].message.content == "Exactly this, stop words and all."
    assert response.choices[0].finish_reason == "stop"
    assert response.usage is not None
    assert response.usage.completion_tokens == count_tokens("Exactly this, stop words and all.")


def test_scripted_finish_reason_and_usage_override(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 7,
        "total_tokens": 107,
        "prompt_tokens_details": {"cached_tokens": 64},
    }
    emu.script(ScriptedReply(content="cut", finish_reason="length", usage=usage))
    response = client.chat.completions.create(model="claude-opus-4-6", messages=ask("x"))
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None
    assert response.usage.prompt_tokens_details is not None
    assert response.usage.prompt_tokens_details.cached_tokens == 64
    assert response.usage.total_tokens == 107


def test_scripted_usage_override_is_cumulative_on_gemini_streams(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60}
    emu.script(ScriptedReply(content="a b c d e f g h i j", usage=usage))
    stream = client.chat.completions.create(model="gemini-2.5-pro", messages=ask("x"), stream=True)
    totals = [chunk.usage.total_tokens for chunk in stream if chunk.usage is not None]
    assert totals[-1] == 60 and totals == sorted(totals)


def test_scripts_follow_model_filters_in_fifo_order(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.script(ScriptedReply(content="for claude"), model="claude-haiku-4-5")
    emu.script(ScriptedReply(content="first"))
    emu.script(ScriptedReply(content="second"))
    answers = [
        client.chat.completions.create(model=model, messages=ask("x")).choices[0].message.content
        for model in ["gpt-5.4", "claude-haiku-4-5", "claude-haiku-4-5", "gpt-5.4"]
    ]
    assert answers[:3] == ["first", "for claude", "second"]
    assert answers[3] == "You said: x"  # the queue is empty: the engine answers again


def test_a_rejected_request_does_not_use_the_script(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.script(ScriptedReply(content="kept"))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-5.4", messages=ask("x"), temperature=3)
    assert (
        client.chat.completions.create(model="gpt-5.4", messages=ask("x"))
        .choices[0]
        .message.content
        == "kept"
    )


def test_a_delayed_answer_still_uses_the_script(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.script(ScriptedReply(content="late"))
    emu.inject(Fault.delay(0.05))
    assert (
        client.chat.completions.create(model="gpt-5.4", messages=ask("x"))
        .choices[0]
        .message.content
        == "late"
    )


def test_scripted_tool_calls_with_ids_and_raw_arguments(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.script(
        ScriptedReply(
            tool_calls=[
                ScriptedToolCall("search", {"q": "émulateur"}, id="call_fixed"),
                ScriptedToolCall("broken", "{not json"),
            ]
        )
    )
    response = client.chat.completions.create(model="gpt-5.4", messages=ask("x"))
    calls = response.choices[0].message.tool_calls or []
    assert response.choices[0].finish_reason == "tool_calls"
    assert calls[0].id == "call_fixed"
    assert [c.function.arguments for c in calls] == ['{"q": "émulateur"}', "{not json"]  # type: ignore[union-attr]
    assert response.choices[0].message.content is None


def test_reset_clears_scripts_faults_and_log(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    client.chat.completions.create(model="gpt-5.4", messages=ask("x"))
    emu.script(ScriptedReply(content="never"))
    emu.inject(Fault.status(500))
    emu.chunk_delay = 1.0
    emu.reset()
    assert emu.request_count == 0 and emu.chunk_delay == 0.0
    assert (
        client.chat.completions.create(model="gpt-5.4", messages=ask("x"))
        .choices[0]
        .message.content
        == "You said: x"
    )


def test_clear_log_keeps_the_queues(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    client.chat.completions.create(model="gpt-5.4", messages=ask("x"))
    emu.script(ScriptedReply(content="still here"))
    emu.clear_log()
    assert emu.requests == []
    assert (
        client.chat.completions.create(model="gpt-5.4", messages=ask("x"))
        .choices[0]
        .message.content
        == "still here"
    )


def test_script_validates() -> None:
    with pytest.raises(TypeError):
        ScriptedReply(tool_calls=[{"name": "x"}])  # type: ignore[list-item]
    with GatewayEmulator() as emu, pytest.raises(TypeError):
        emu.script("text")  # type: ignore[arg-type]

"""``Quirks``: deliberate departures from the contract, off by default, reset with the rest."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from gw_emulator import GatewayEmulator, Quirks

from .support import ask

QUESTION = "Tell me something about the river Danube and its many bridges."


def _stream(client: openai.OpenAI, model: str, **params: Any) -> list[str]:
    with client.chat.completions.with_streaming_response.create(
        model=model, messages=ask(QUESTION), stream=True, **params
    ) as response:
        return list(response.iter_lines())


def _events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in lines if line.startswith("data: {")]


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gpt-5.4"])
def test_usage_every_chunk_puts_cumulative_usage_on_every_chunk(
    client: openai.OpenAI, emu: GatewayEmulator, model: str
) -> None:
    emu.quirks = Quirks(usage_every_chunk=True)
    events = _events(_stream(client, model, stream_options={"include_usage": True}))
    assert len(events) > 3
    assert all(e["choices"] and e["usage"] for e in events)
    totals = [e["usage"]["completion_tokens"] for e in events]
    assert totals == sorted(totals) and totals[-1] > totals[0]


def test_omit_done_ends_the_stream_after_its_finish_reason(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    emu.quirks = Quirks(omit_done=True)
    lines = _stream(client, "gpt-5.4")
    assert "data: [DONE]" not in lines
    assert _events(lines)[-1]["choices"][0]["finish_reason"] == "stop"


def test_accept_unsigned_lets_a_gemini_3_turn_through_without_signatures(
    client: openai.OpenAI, emu: GatewayEmulator
) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages: Any = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]
    with pytest.raises(openai.BadRequestError, match="thought_signature"):
        client.chat.completions.create(model="gemini-3-flash-preview", messages=messages)
    emu.quirks = Quirks(accept_unsigned=True)
    answer = client.chat.completions.create(model="gemini-3-flash-preview", messages=messages)
    assert answer.choices[0].finish_reason == "stop"


def test_reset_restores_the_contract(emu: GatewayEmulator) -> None:
    emu.quirks = Quirks(omit_done=True, usage_every_chunk=True, accept_unsigned=True)
    emu.reset()
    assert emu.quirks == Quirks()
    with pytest.raises(TypeError, match="Quirks"):
        emu.quirks = {"omit_done": True}  # type: ignore[assignment]

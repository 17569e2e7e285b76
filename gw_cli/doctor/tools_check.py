"""The tool call round trip, and on Gemini 3 the thought-signature echo.

Turn one forces a call to ``get_weather``; turn two sends the assistant's calls back as
the gateway gave them (signatures included) with a tool result, built by the library's
own :func:`gw_core.wire.build_body`. On Gemini 3 a third request sends turn two with the
signatures removed, raw (the library would add Google's placeholder), to see whether the
upstream still refuses it as our emulator does.
"""

from __future__ import annotations

import json
from typing import Any

from gw_cli.doctor.context import TOOL_ANSWER, Context, first_choice, user
from gw_cli.doctor.probe import Exchange
from gw_cli.doctor.report import CheckResult, Status, excerpt
from gw_core.catalog import ModelSpec
from gw_core.wire import build_body

__all__ = ["TOOLS", "check_tools", "tool_requests"]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "the city name"}},
                "required": ["city"],
            },
        },
    }
]
_RESULT = json.dumps({"city": "Paris", "temperature_c": 18, "sky": "clear"})


def tool_requests(spec: ModelSpec) -> int:
    return 3 if spec.thought_signatures else 2


def _signature(call: Any) -> Any:
    extra = call.get("extra_content") if isinstance(call, dict) else None
    google = extra.get("google") if isinstance(extra, dict) else None
    return google.get("thought_signature") if isinstance(google, dict) else None


def _calls(ex: Exchange) -> list[dict[str, Any]]:
    message = first_choice(ex.body).get("message")
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


def _history(ex: Exchange, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    message = first_choice(ex.body).get("message") or {}
    assistant = {"role": "assistant", "content": message.get("content"), "tool_calls": calls}
    results = [
        {"role": "tool", "tool_call_id": call.get("id"), "content": _RESULT} for call in calls
    ]
    return [user(_PROMPT), assistant, *results]


def _unsigned(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        calls = message.get("tool_calls")
        if calls:
            stripped = [{k: v for k, v in c.items() if k != "extra_content"} for c in calls]
            message = {**message, "tool_calls": stripped}
        out.append(message)
    return out


_PROMPT = "What is the weather in Paris? Use the get_weather tool."


def check_tools(ctx: Context, spec: ModelSpec) -> list[CheckResult]:
    """A forced tool call, then the turn with its result; on Gemini 3 the unsigned turn."""
    first = build_body(
        spec,
        [user(_PROMPT)],
        {"tools": TOOLS, "tool_choice": "required", "max_completion_tokens": TOOL_ANSWER},
    )
    ex = ctx.probe.chat(first)
    no_sig = "only Gemini 3 signs tool calls"
    if not ex.ok:
        signature = ctx.skipped("thought_signature", spec.id, "the first tool turn failed")
        return [ctx.failed("tool_round_trip", spec.id, ex), signature]
    calls = _calls(ex)
    if not calls:
        why = "no tool call to sign" if spec.thought_signatures else no_sig
        if first_choice(ex.body).get("finish_reason") == "length":
            detail = f"the {TOOL_ANSWER}-token budget ran out before the tool call"
            first_result = ctx.result("tool_round_trip", spec.id, Status.SKIPPED, detail, ex)
        else:
            detail = "no tool call came back although tool_choice was 'required'"
            first_result = ctx.result("tool_round_trip", spec.id, Status.DIFFERS, detail, ex)
        return [first_result, ctx.skipped("thought_signature", spec.id, why)]
    history = _history(ex, calls)
    second = build_body(spec, history, {"tools": TOOLS, "max_completion_tokens": TOOL_ANSWER})
    ex2 = ctx.probe.chat(second)
    results = [_round_trip(ctx, spec, calls, ex2)]
    if not spec.thought_signatures:
        return [*results, ctx.skipped("thought_signature", spec.id, no_sig)]
    return [*results, _signature_echo(ctx, spec, calls, second)]


def _round_trip(
    ctx: Context, spec: ModelSpec, calls: list[dict[str, Any]], ex2: Exchange
) -> CheckResult:
    if not ex2.ok:
        return ctx.failed("tool_round_trip", spec.id, ex2)
    function = calls[0].get("function") or {}
    message = first_choice(ex2.body).get("message") or {}
    answer = message.get("content") if isinstance(message, dict) else None
    detail = (
        f"called {function.get('name')}({excerpt(str(function.get('arguments')), 60)}), "
        f"then answered {excerpt(str(answer or ''), 60)!r}"
    )
    return ctx.result("tool_round_trip", spec.id, Status.PASS, detail, ex2)


def _signature_echo(
    ctx: Context, spec: ModelSpec, calls: list[dict[str, Any]], second: dict[str, Any]
) -> CheckResult:
    if not all(_signature(c) for c in calls):
        detail = "the Gemini 3 tool call came back without extra_content.google.thought_signature"
        return ctx.result("thought_signature", spec.id, Status.DIFFERS, detail)
    ex3 = ctx.probe.chat({**second, "messages": _unsigned(second["messages"])})
    if ex3.status is not None and 400 <= ex3.status < 500:
        err = ex3.error_object() or {}
        detail = (
            f"signed calls; the turn without signatures was refused (HTTP {ex3.status}: "
            f"{excerpt(str(err.get('message') or ex3.text), 80)})"
        )
        return ctx.result("thought_signature", spec.id, Status.PASS, detail, ex3)
    if ex3.ok:
        detail = (
            "the upstream accepted a Gemini 3 tool turn without its thought signatures; "
            "our emulator refuses it and the library echoes signatures (or Google's "
            "placeholder) to avoid that 400"
        )
        return ctx.result("thought_signature", spec.id, Status.DIFFERS, detail, ex3)
    return ctx.failed("thought_signature", spec.id, ex3)

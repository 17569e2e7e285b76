"""The deterministic engine: a sensible answer from the prompt alone, no model weights.

- A question with context (system text, retrieved documents, earlier turns) gets the most
  relevant context sentences back, so a RAG app's answer is grounded in its documents.
- With nothing relevant, a short echo of the question.
- Tools are called when ``tool_choice`` forces one or the user names one (``get_weather``
  or "get weather"), with arguments filled from the prompt to fit the tool's schema.
- After tool results, the answer reports them.
- ``response_format`` gives JSON that fits the schema; ``stop`` and
  ``max_completion_tokens`` cut the text as an upstream would.

Usage is counted with :mod:`gw_core.tokens`. Nothing keys on any particular wording.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from gw_core.tokens import count_tokens, truncate
from gw_emulator.prompt import (
    Prompt,
    content_text,
    content_words,
    pick_relevant,
    read_prompt,
)
from gw_emulator.replies import Reply, ScriptedReply, ToolCall
from gw_emulator.schema_fill import SchemaFiller

__all__ = ["answer", "from_script", "prompt_tokens"]

_ECHO_TOKENS = 40
_TOOL_RESULT_TOKENS = 200
_PER_MESSAGE_TOKENS = 3


def prompt_tokens(body: dict[str, Any]) -> int:
    """Tokens of every message's text (plus a small per-message overhead) and the tools."""
    total = 0
    for message in body.get("messages") or ():
        total += _PER_MESSAGE_TOKENS + count_tokens(content_text(message.get("content")))
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            total += count_tokens(f"{function.get('name', '')} {function.get('arguments', '')}")
    if body.get("tools"):
        total += count_tokens(json.dumps(body["tools"], ensure_ascii=False))
    return total


def _call_id(body: dict[str, Any], index: int, name: str, arguments: str) -> str:
    seed = f"{len(body.get('messages') or ())}:{index}:{name}:{arguments}"
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _tools(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Tool name -> parameters schema, in declaration order."""
    tools: dict[str, dict[str, Any]] = {}
    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            params = function.get("parameters")
            tools[function["name"]] = params if isinstance(params, dict) else {"type": "object"}
    return tools


def _topic_position(lowered: str, name: str) -> int | None:
    """Where a compound tool name's topic words all appear (``get_weather`` in "what is
    the weather"): the verb-like function words of the name are not needed."""
    parts = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")
    if len(parts.split()) < 2:
        return None
    topics = content_words(parts)
    if not topics or not set(topics) <= set(content_words(lowered)):
        return None
    match = re.search(rf"\b{re.escape(parts.split()[-1].lower()[:4])}", lowered)
    return match.start() if match else 0


def _mentions(text: str, names: Sequence[str]) -> list[tuple[int, str]]:
    """Where the text names each tool, sorted: by its name, with ``_``/``-`` as spaces,
    or failing those by all the topic words of a compound name."""
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for name in names:
        spellings = {name.lower(), name.lower().replace("_", " "), name.lower().replace("-", " ")}
        positions = [
            m.start()
            for spelling in spellings
            for m in re.finditer(rf"(?<![\w]){re.escape(spelling)}(?![\w])", lowered)
        ]
        position = min(positions) if positions else _topic_position(lowered, name)
        if position is not None:
            found.append((position, name))
    return sorted(found)


def _named_in(text: str, names: Sequence[str]) -> list[str]:
    """Tools the text names, in order of mention."""
    return [name for _, name in _mentions(text, names)]


def _segments(text: str, names: Sequence[str]) -> dict[str, str]:
    """For each tool, the text from where it is named to where the next one is: values
    written right after a tool's name belong to it ("add 2 and 40")."""
    starts = _mentions(text, names)
    segments = {}
    for position, (start, name) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else len(text)
        segments[name] = text[start:end]
    return segments


def _choose_tools(body: dict[str, Any], prompt: Prompt, tools: dict[str, Any]) -> list[str]:
    choice = body.get("tool_choice", "auto")
    if not tools or choice == "none":
        return []
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else choice.get("name")
        if isinstance(name, str) and name in tools:
            return [name]
        if choice.get("type") in ("any", "required"):
            choice = "required"
    named = [] if prompt.tool_results else _named_in(prompt.user_text, list(tools))
    if choice in ("required", "any") and not named:
        named = _named_in(prompt.user_text, list(tools)) or [next(iter(tools))]
    if body.get("parallel_tool_calls") is False:
        named = named[:1]
    return named


def _tool_calls(body: dict[str, Any], prompt: Prompt, names: list[str]) -> tuple[ToolCall, ...]:
    tools = _tools(body)
    excluded: list[str] = []
    for name in tools:
        spaced = name.replace("_", " ").replace("-", " ")
        excluded.extend([name, spaced, *spaced.split()])
    segments = _segments(prompt.user_text, list(tools))
    calls = []
    for index, name in enumerate(names):
        # The tool's own stretch of text first, then the whole message as a fallback.
        source = segments.get(name, "") + "\n" + prompt.user_text
        filler = SchemaFiller(source, exclude=tuple(excluded), question=prompt.question)
        arguments = filler.fill(tools[name] or {"type": "object"})
        if not isinstance(arguments, dict):
            arguments = {}
        text = json.dumps(arguments, ensure_ascii=False)
        calls.append(ToolCall(id=_call_id(body, index, name, text), name=name, arguments=text))
    return tuple(calls)


def _text_answer(prompt: Prompt) -> str:
    if prompt.tool_results:
        parts = [f"{name} returned: {result}" for name, result in prompt.tool_results]
        return truncate("Based on the tool results, " + "; ".join(parts), _TOOL_RESULT_TOKENS)
    relevant = pick_relevant(prompt.question, prompt.context)
    if relevant:
        text = " ".join(relevant)
    else:
        question = truncate(" ".join(prompt.question.split()), _ECHO_TOKENS)
        text = f"You said: {question}" if question else "Hello! How can I help?"
    if prompt.media:
        noun = "attachment" if prompt.media == 1 else "attachments"
        text = f"I received {prompt.media} {noun}. {text}"
    return text


def _structured(body: dict[str, Any], prompt: Prompt) -> str | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        source = "\n".join([prompt.user_text, *prompt.context])
        value = SchemaFiller(source, question=prompt.question).fill(
            schema if isinstance(schema, dict) else {"type": "object"}
        )
        return json.dumps(value, ensure_ascii=False)
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": _text_answer(prompt)}, ensure_ascii=False)
    return None


def _stops(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    if isinstance(stop, str):
        return [stop] if stop else []
    return [s for s in stop or () if isinstance(s, str) and s]


def _limit(body: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def answer(body: dict[str, Any]) -> Reply:
    """The engine's reply to a validated request body."""
    messages: list[dict[str, Any]] = body["messages"]
    prompt = read_prompt(messages)
    names = _choose_tools(body, prompt, _tools(body))
    used_prompt = prompt_tokens(body)
    if names:
        calls = _tool_calls(body, prompt, names)
        completion = sum(count_tokens(f"{c.name} {c.arguments}") for c in calls)
        return Reply(
            content=None,
            tool_calls=calls,
            finish_reason="tool_calls",
            prompt_tokens=used_prompt,
            completion_tokens=completion,
        )
    text = _structured(body, prompt)
    if text is None:
        text = _text_answer(prompt)
    finish = "stop"
    cuts = [text.find(s) for s in _stops(body) if s in text]
    if cuts:
        text = text[: min(cuts)]
    limit = _limit(body)
    if limit is not None and count_tokens(text) > limit:
        text, finish = truncate(text, limit), "length"
    return Reply(
        content=text,
        finish_reason=finish,
        prompt_tokens=used_prompt,
        completion_tokens=count_tokens(text),
    )


def from_script(body: dict[str, Any], script: ScriptedReply) -> Reply:
    """A scripted reply, with ids for its tool calls and counted usage unless given."""
    calls = []
    for index, call in enumerate(script.tool_calls):
        arguments = call.arguments_json()
        calls.append(
            ToolCall(
                id=call.id or _call_id(body, index, call.name, arguments),
                name=call.name,
                arguments=arguments,
            )
        )
    completion = count_tokens(script.content or "") + count_tokens(script.reasoning or "")
    completion += sum(count_tokens(f"{c.name} {c.arguments}") for c in calls)
    finish = script.finish_reason or ("tool_calls" if calls else "stop")
    return Reply(
        content=script.content,
        tool_calls=tuple(calls),
        reasoning=script.reasoning,
        finish_reason=finish,
        prompt_tokens=prompt_tokens(body),
        completion_tokens=completion,
        usage_override=dict(script.usage) if script.usage is not None else None,
        scripted=True,
    )

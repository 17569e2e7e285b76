"""LlamaIndex tools <-> the gateway's OpenAI tool format, and tool calls back out.

Decisions, each the opposite of a reported upstream problem:

- ``tool_required=True`` and ``tool_choice`` (``"auto"``/``"none"``/``"required"``, a
  tool name, or OpenAI's dict) go through :func:`gw_core.wire.tools.normalize_tool_choice`
  so both adapters spell them the same way; a bad choice fails before any request.
- ``parallel_tool_calls`` is not derived from ``allow_parallel_tool_calls``: that flag
  has a framework default, and an unset parameter is never sent (several upstreams
  reject the field). A single call is enforced on our side instead, as LlamaIndex's
  contract for ``allow_parallel_tool_calls=False`` says; pass ``parallel_tool_calls=``
  yourself to send it.
- ``strict`` is sent only when given.
- Tool calls are read from every ``ToolCallBlock`` (each chunk may hold several), with
  partial JSON repaired while a stream is still arriving.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ToolCallBlock
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json

from gw_core.wire.tools import normalize_tool_choice, validate_tools

if TYPE_CHECKING:
    from llama_index.core.llms.function_calling import FunctionCallingLLM
    from llama_index.core.program.function_program import FunctionCallingProgram
    from llama_index.core.prompts import BasePromptTemplate
    from llama_index.core.tools.types import BaseTool

__all__ = [
    "force_single_call",
    "forced_program",
    "tool_selections",
    "tool_specs",
    "tools_request",
]

logger = logging.getLogger("llamaindex_gw")


def tool_specs(tools: Sequence[BaseTool], strict: bool | None) -> list[dict[str, Any]]:
    """OpenAI tool dicts for LlamaIndex tools, checked the way every upstream checks them."""
    specs = [tool.metadata.to_openai_tool() for tool in tools]
    if strict is not None:
        for spec in specs:
            spec["function"]["strict"] = strict
            if strict:
                # OpenAI's strict mode requires closed objects.
                spec["function"]["parameters"].setdefault("additionalProperties", False)
    validate_tools(specs)
    return specs


def tools_request(
    tools: Sequence[BaseTool],
    *,
    tool_required: bool,
    tool_choice: str | Mapping[str, Any] | None,
    strict: bool | None,
) -> dict[str, Any]:
    """The ``tools``/``tool_choice`` request parameters (empty when there are no tools)."""
    if not tools:
        return {}
    specs = tool_specs(tools, strict)
    choice = normalize_tool_choice(tool_choice, specs)
    if choice is None and tool_required:
        choice = normalize_tool_choice("required", specs)
    params: dict[str, Any] = {"tools": specs}
    if choice is not None:
        params["tool_choice"] = choice
    return params


def _parse_arguments(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        parsed = parse_partial_json(value)
    except (ValueError, TypeError, json.JSONDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def tool_selections(message: ChatMessage) -> list[ToolSelection]:
    """Every tool call of ``message``, from its blocks or (older messages) its kwargs."""
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    if blocks:
        return [
            ToolSelection(
                tool_id=block.tool_call_id or "",
                tool_name=block.tool_name,
                tool_kwargs=_parse_arguments(block.tool_kwargs),
            )
            for block in blocks
        ]
    selections = []
    for raw in message.additional_kwargs.get("tool_calls") or []:
        call = raw if isinstance(raw, Mapping) else getattr(raw, "model_dump", dict)()
        fn = call.get("function") or {}
        selections.append(
            ToolSelection(
                tool_id=call.get("id") or "",
                tool_name=fn.get("name") or "",
                tool_kwargs=_parse_arguments(fn.get("arguments")),
            )
        )
    return selections


def force_single_call(response: ChatResponse) -> ChatResponse:
    """Keep only the first tool call (``allow_parallel_tool_calls=False``)."""
    message = response.message
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    if len(blocks) <= 1:
        return response
    logger.debug("the model made %d tool calls; keeping the first", len(blocks))
    first = blocks[0]
    message.blocks = [b for b in message.blocks if not isinstance(b, ToolCallBlock) or b is first]
    calls = message.additional_kwargs.get("tool_calls")
    if isinstance(calls, list):
        message.additional_kwargs["tool_calls"] = [
            c for c in calls if isinstance(c, Mapping) and c.get("id") == first.tool_call_id
        ]
    return response


def forced_program(
    output_cls: type[Any], prompt: BasePromptTemplate, llm: FunctionCallingLLM
) -> FunctionCallingProgram[Any]:
    """A function-calling program whose one tool (the output class) is forced by name."""
    from llama_index.core.program.function_program import (
        FunctionCallingProgram,
        get_function_tool,
    )

    name = get_function_tool(output_cls).metadata.to_openai_tool()["function"]["name"]
    return FunctionCallingProgram.from_defaults(
        output_cls=output_cls, prompt=prompt, llm=llm, tool_choice=name
    )

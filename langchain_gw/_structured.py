"""``with_structured_output`` for the gateway: three methods, one default per family.

- ``json_schema``: ``response_format`` with the schema (GPT and Gemini honour it).
- ``function_calling``: one forced tool shaped like the schema. The default for Claude,
  because the gateway's Claude route may ignore ``response_format`` (the contract says so),
  and a forced tool call is the one thing every upstream obeys. ``parallel_tool_calls``
  is not sent (not every upstream's OpenAI layer takes it); the parser reads the first
  call.
- ``json_mode``: ``response_format={"type": "json_object"}``; the prompt must ask for the
  keys.

Parsing uses langchain-core's own parsers, so streamed partial objects work as users
expect. A refusal raises ``ModelRefusalError`` (langchain-core >= 1.7.5; a ValueError
before that) instead of surfacing as a confusing parse error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from operator import itemgetter
from typing import Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import (
    Runnable,
    RunnableGenerator,
    RunnableMap,
    RunnablePassthrough,
)
from langchain_core.utils.function_calling import convert_to_openai_function
from langchain_core.utils.pydantic import is_basemodel_subclass

__all__ = ["Method", "build_structured"]

Method = Literal["json_schema", "function_calling", "json_mode"]
_METHODS = ("json_schema", "function_calling", "json_mode")


def _is_pydantic(schema: Any) -> bool:
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def response_format(schema: Any, strict: bool | None) -> dict[str, Any]:
    """OpenAI's ``json_schema`` response format for any schema LangChain accepts."""
    function = convert_to_openai_function(schema, strict=strict)
    spec: dict[str, Any] = {
        "name": function["name"],
        "schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        spec["description"] = function["description"]
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def _refusal_error(text: str, message: BaseMessage | None) -> Exception:
    try:
        from langchain_core.exceptions import ModelRefusalError
    except ImportError:  # langchain-core < 1.7.5
        return ValueError(f"the model refused to produce the structured output: {text}")
    return ModelRefusalError(
        f"the model refused to produce the structured output: {text}", raw_message=message
    )


def _refusal_of(message: Any) -> str:
    if isinstance(message, BaseMessage):
        value = message.additional_kwargs.get("refusal")
        return value if isinstance(value, str) else ""
    return ""


def _check_refusals(chunks: Iterator[Any]) -> Iterator[Any]:
    refusal, last = "", None
    for chunk in chunks:
        refusal += _refusal_of(chunk)
        last = chunk
        yield chunk
    if refusal:
        raise _refusal_error(refusal, last)


async def _acheck_refusals(chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
    refusal, last = "", None
    async for chunk in chunks:
        refusal += _refusal_of(chunk)
        last = chunk
        yield chunk
    if refusal:
        raise _refusal_error(refusal, last)


def _parser(schema: Any, method: str, tool_name: str) -> Runnable[Any, Any]:
    if method == "function_calling":
        if _is_pydantic(schema):
            return PydanticToolsParser(tools=[schema], first_tool_only=True)
        return JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)
    if _is_pydantic(schema):
        return PydanticOutputParser(pydantic_object=schema)
    return JsonOutputParser()


def build_structured(
    *,
    bind: Callable[..., Runnable[LanguageModelInput, BaseMessage]],
    bind_tools: Callable[..., Runnable[LanguageModelInput, BaseMessage]],
    schema: Mapping[str, Any] | type | None,
    method: str,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[LanguageModelInput, Any]:
    """The structured-output runnable; ``bind``/``bind_tools`` are the model's own."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if schema is None and method != "json_mode":
        raise ValueError(f"method={method!r} needs a schema; pass one, or use 'json_mode'")
    trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    tool_name = ""
    llm: Runnable[LanguageModelInput, BaseMessage]
    if method == "function_calling":
        assert schema is not None
        tool_name = convert_to_openai_function(schema)["name"]
        llm = bind_tools(
            [schema],
            tool_choice=tool_name,
            strict=strict,
            ls_structured_output_format=trace,
        )
    elif method == "json_mode":
        llm = bind(response_format={"type": "json_object"}, ls_structured_output_format=trace)
    else:
        llm = bind(
            response_format=response_format(schema, strict), ls_structured_output_format=trace
        )
    if schema is None:
        parser: Runnable[Any, Any] = JsonOutputParser()
    else:
        parser = _parser(schema, method, tool_name)
    guarded = RunnableGenerator(_check_refusals, _acheck_refusals) | parser
    if not include_raw:
        return llm | guarded
    parse_raw = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | guarded, parsing_error=lambda _: None
    )
    keep_raw = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parse_raw.with_fallbacks(
        [keep_raw], exception_key="parsing_error"
    )

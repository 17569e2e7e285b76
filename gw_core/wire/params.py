"""Request bodies: only what the user set, checked against what the upstreams reject.

Two layers of checks, both before any request:

- Protocol checks, always on: types and the ranges every OpenAI-compatible endpoint
  enforces (temperature 0..2, top_p 0..1, max_completion_tokens >= 1, stop a string or
  a list of strings, tool_choice naming a declared tool, ...). Values that fail them
  cannot be meant, so there is no switch.
- Family rules from the catalog (:class:`gw_core.catalog.ParamRules`): Claude's
  temperature 0..1, temperature with top_p on Claude 4.5+, parameters an upstream
  refuses outright (Opus 4.7), the number of stop sequences, a model's output limit.
  Upstreams change faster than we release, so ``check_model_rules=False`` skips these and
  sends the values as given.

``max_tokens`` is always sent as ``max_completion_tokens``: the only spelling the gateway
documents, and the only one GPT-5.x accepts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..catalog import Family, ModelSpec
from ..errors import ParameterError
from .content import spell_media
from .tools import check_schema

logger = logging.getLogger("gw_core.wire")

#: Google's documented placeholder signature for a Gemini 3 tool call the model did not
#: sign itself (a hand-built history, or a turn carried over from another model).
SKIP_SIGNATURE = "skip_thought_signature_validator"

__all__ = ["build_body", "spell_max_tokens"]

_HATCH = "or pass check_model_rules=False to send it anyway"
_RESERVED = ("model", "messages", "stream")
_TOOL_CHOICES = ("auto", "none", "required")
_RESPONSE_FORMATS = ("text", "json_object", "json_schema")


def build_body(
    spec: ModelSpec,
    messages: list[dict[str, Any]],
    params: Mapping[str, Any],
    *,
    stream: bool = False,
    stream_usage: bool = True,
    check_model_rules: bool = True,
) -> dict[str, Any]:
    """The JSON body for ``POST /v1/chat/completions``.

    ``params`` holds what the user set; None values count as unset and are dropped, and
    nothing is added but ``stream``/``stream_options`` when streaming. Unknown keys pass
    through untouched; an ``extra_body`` mapping is merged last, unchecked, as the openai
    client does. Call :func:`gw_core.wire.content.validate_messages` on the messages first.
    """
    if not isinstance(messages, list):
        raise ParameterError(
            f"messages must be a list of message dicts, got {type(messages).__name__}"
        )
    values = {key: value for key, value in params.items() if value is not None}
    for key in _RESERVED:
        if key in values:
            where = "the stream= argument" if key == "stream" else "its own argument"
            raise ParameterError(f"do not pass {key!r} in the parameters; use {where}")
    extra_body = values.pop("extra_body", None)
    spell_max_tokens(values)
    _check_protocol(values, stream)
    if check_model_rules:
        _check_rules(spec, values)

    history = spell_media(_history_for(spec, messages))
    body: dict[str, Any] = {"model": spec.id, "messages": history}
    body.update(values)
    if stream:
        body["stream"] = True
        if stream_usage and "stream_options" not in values:
            body["stream_options"] = {"include_usage": True}
    if extra_body:
        if not isinstance(extra_body, Mapping):
            raise ParameterError(
                f"extra_body must be a mapping of JSON fields, got {type(extra_body).__name__}"
            )
        for key in _RESERVED:
            if key in extra_body:
                where = "the stream= argument" if key == "stream" else "its own argument"
                raise ParameterError(
                    f"extra_body may not set {key!r}: the library sets it; use {where}"
                )
        body.update(extra_body)
    return body


def spell_max_tokens(values: dict[str, Any]) -> None:
    """``max_tokens`` moved to ``max_completion_tokens`` (the only spelling sent), in place;
    both spellings with different values is a ``ParameterError``."""
    if "max_tokens" not in values:
        return
    max_tokens = values.pop("max_tokens")
    other = values.get("max_completion_tokens")
    if other is not None and other != max_tokens:
        raise ParameterError(
            f"max_tokens={max_tokens!r} and max_completion_tokens={other!r} disagree; "
            "set only one of them (max_tokens is sent as max_completion_tokens)"
        )
    values["max_completion_tokens"] = max_tokens


def _number(values: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{key} must be a number from {low:g} to {high:g}, got {value!r}")
    if not low <= value <= high:
        raise ParameterError(f"{key} must be from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _positive_int(values: dict[str, Any], key: str) -> int | None:
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"{key} must be a whole number of at least 1, got {value!r}")
    return value


def _stop_count(values: dict[str, Any]) -> int:
    stop = values.get("stop")
    if stop is None:
        return 0
    if isinstance(stop, str):
        return 1
    if isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        return len(stop)
    raise ParameterError(f"stop must be a string or a list of strings, got {stop!r}")


def _check_protocol(values: dict[str, Any], stream: bool) -> None:
    _number(values, "temperature", 0.0, 2.0)
    _number(values, "top_p", 0.0, 1.0)
    _positive_int(values, "max_completion_tokens")
    _positive_int(values, "n")
    _stop_count(values)
    if "stream_options" in values and not stream:
        raise ParameterError(
            "stream_options is only allowed on a streaming request; remove it or stream"
        )
    fmt = values.get("response_format")
    if fmt is not None:
        _check_response_format(fmt)
    _check_tools(values)


def _check_response_format(fmt: Any) -> None:
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind not in _RESPONSE_FORMATS:
        raise ParameterError(
            "response_format must be {'type': 'json_schema', 'json_schema': {...}}, "
            f"{{'type': 'json_object'}} or {{'type': 'text'}}, got {fmt!r}"[:300]
        )
    if kind == "json_schema":
        schema = fmt.get("json_schema")
        if not isinstance(schema, Mapping) or not isinstance(schema.get("name"), str):
            raise ParameterError(
                "response_format json_schema needs 'json_schema': {'name': ..., 'schema': {...}}"
            )


def _tool_names(tools: Any) -> set[str]:
    if not isinstance(tools, (list, tuple)):
        raise ParameterError(f"tools must be a list of tool dicts, got {type(tools).__name__}")
    names = set()
    for tool in tools:
        if not isinstance(tool, Mapping):
            raise ParameterError(
                "each tool must be an OpenAI tool dict "
                "{'type': 'function', 'function': {'name': ..., 'parameters': {...}}}"
            )
        if tool.get("type", "function") != "function":
            continue  # other tool kinds pass through as given
        fn = tool.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ParameterError(
                "a function tool needs 'function': {'name': ..., 'parameters': {...}}, "
                f"got {tool!r}"[:300]
            )
        params = fn.get("parameters") if isinstance(fn, Mapping) else None
        if params is not None and not isinstance(params, Mapping):
            raise ParameterError(f"tool {name!r}: 'parameters' must be a JSON schema object")
        if params:
            check_schema(name, params)  # remembered once valid: cheap on every call
        names.add(name)
    return names


def _check_tools(values: dict[str, Any]) -> None:
    tools = values.get("tools")
    names = _tool_names(tools) if tools is not None else None
    for key in ("tool_choice", "parallel_tool_calls"):
        if key in values and not tools:
            raise ParameterError(f"{key} is only allowed with tools; add tools or remove {key}")
    parallel = values.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise ParameterError(f"parallel_tool_calls must be True or False, got {parallel!r}")
    choice = values.get("tool_choice")
    if choice is None or names is None:
        return
    if isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise ParameterError(
                f"tool_choice must be 'auto', 'none', 'required' or "
                f"{{'type': 'function', 'function': {{'name': ...}}}}, got {choice!r}"
            )
        return
    if not isinstance(choice, Mapping):
        raise ParameterError(f"tool_choice must be a string or a dict, got {choice!r}")
    if choice.get("type") != "function":
        return  # other forms (allowed_tools, custom) pass through as given
    fn = choice.get("function")
    name = fn.get("name") if isinstance(fn, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ParameterError(
            "tool_choice {'type': 'function'} needs 'function': {'name': <one of the tools>}"
        )
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ParameterError(
            f"tool_choice names the function {name!r}, which is not among the tools "
            f"({known}); add it to tools or choose one of those"
        )


def _check_rules(spec: ModelSpec, values: dict[str, Any]) -> None:
    rules = spec.rules
    for key in sorted(rules.forbidden):
        if key in values:
            raise ParameterError(
                f"{spec.id} rejects {key!r} (the upstream answers 400); remove it, {_HATCH}"
            )
    temperature = values.get("temperature")
    if temperature is not None and temperature > rules.temperature_max:
        raise ParameterError(
            f"{spec.id} takes temperature from 0 to {rules.temperature_max:g}, got "
            f"{temperature!r}; lower it, {_HATCH}"
        )
    if rules.temperature_top_p_exclusive and "temperature" in values and "top_p" in values:
        raise ParameterError(
            f"{spec.id} rejects temperature and top_p in one request; set only one, {_HATCH}"
        )
    stops = _stop_count(values)
    if stops > rules.max_stop:
        raise ParameterError(
            f"{spec.id} takes at most {rules.max_stop} stop sequences, got {stops}; "
            f"drop some, {_HATCH}"
        )
    limit = values.get("max_completion_tokens")
    if spec.known and limit is not None and limit > spec.max_output:
        raise ParameterError(
            f"{spec.id} writes at most {spec.max_output} tokens, got "
            f"max_completion_tokens={limit}; lower it, {_HATCH}"
        )


def _history_for(spec: ModelSpec, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop ``extra_content`` from tool calls unless the model is Gemini.

    Only Gemini understands it. Gemini 3 needs its signatures echoed exactly, so real
    signatures go untouched there, and unsigned calls get Google's placeholder instead of
    a 400. The list is copied only if something changes.
    """
    if spec.family is Family.GEMINI:
        return _sign_unsigned(messages) if spec.thought_signatures else messages
    out: list[dict[str, Any]] | None = None
    for position, message in enumerate(messages):
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if not calls or not isinstance(calls, list):
            continue
        if not any(isinstance(c, dict) and "extra_content" in c for c in calls):
            continue
        if out is None:
            out = list(messages)
        out[position] = {
            **message,
            "tool_calls": [
                {k: v for k, v in c.items() if k != "extra_content"} if isinstance(c, dict) else c
                for c in calls
            ],
        }
    return messages if out is None else out


def _signature(call: Any) -> Any:
    extra = call.get("extra_content") if isinstance(call, dict) else None
    google = extra.get("google") if isinstance(extra, dict) else None
    return google.get("thought_signature") if isinstance(google, dict) else None


def _sign_unsigned(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give Gemini 3 tool calls that carry no signature Google's documented placeholder."""
    out: list[dict[str, Any]] | None = None
    for position, message in enumerate(messages):
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if not calls or not isinstance(calls, list):
            continue
        if all(_signature(c) or not isinstance(c, dict) for c in calls):
            continue
        if out is None:
            out = list(messages)
        signed = []
        for call in calls:
            if isinstance(call, dict) and not _signature(call):
                extra = dict(call.get("extra_content") or {})
                extra["google"] = {
                    **(extra.get("google") or {}),
                    "thought_signature": SKIP_SIGNATURE,
                }
                call = {**call, "extra_content": extra}
            signed.append(call)
        out[position] = {**message, "tool_calls": signed}
    if out is None:
        return messages
    logger.warning(
        "tool calls without a Gemini thought signature were sent with Google's placeholder "
        "(%s); echo the model's own signatures to keep its reasoning across turns",
        SKIP_SIGNATURE,
    )
    return out

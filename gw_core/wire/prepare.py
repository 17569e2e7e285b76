"""One request path: from a framework call's messages and parameters to the wire body.

Both adapters call :func:`prepare` with their messages already in OpenAI's shape and
their parameters as *layers*, lowest precedence first (the instance's fields, its extra
request fields, the call's keyword arguments). Everything after that is decided here,
once, so the two adapters give the same answer for the same input:

- ``max_tokens`` is an alias of ``max_completion_tokens`` (the only spelling sent).
  Within one layer, both spellings with different values is a :class:`ParameterError`;
  across layers, the later layer wins whichever spelling it uses, so a call's
  ``max_tokens=10`` overrides an instance's ``max_completion_tokens=20``.
- ``extra_body`` mappings of every layer are merged, later keys winning.
- An empty ``stop`` or ``tools`` list means "none" and is not sent.
- Tools are checked (:func:`gw_core.wire.tools.validate_tools`) and ``tool_choice``
  spelled the OpenAI way (:func:`gw_core.wire.tools.normalize_tool_choice`).
- The history is checked (:func:`gw_core.wire.content.validate_messages`) and the body
  shaped (:func:`gw_core.wire.params.build_body`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog import ModelSpec
from ..errors import ParameterError
from .content import validate_messages
from .params import build_body, spell_max_tokens
from .tools import normalize_tool_choice, validate_tools

__all__ = ["fold_max_tokens", "merge_params", "prepare"]


def _layer(values: Mapping[str, Any]) -> dict[str, Any]:
    """One layer with ``max_tokens`` spelled ``max_completion_tokens``; unset is dropped."""
    layer = {key: value for key, value in values.items() if value is not None}
    spell_max_tokens(layer)
    return layer


def fold_max_tokens(arguments: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments with ``max_tokens`` folded into ``max_completion_tokens``.

    The same rule as a call's parameters (:func:`merge_params`), so both adapters treat
    ``Model(max_tokens=10, max_completion_tokens=20)`` alike: a ``ParameterError``.
    """
    if "max_tokens" not in arguments or "max_completion_tokens" not in arguments:
        return arguments
    folded = dict(arguments)
    limit = {"max_tokens": folded.pop("max_tokens")}
    limit["max_completion_tokens"] = folded.pop("max_completion_tokens")
    folded["max_completion_tokens"] = _layer(limit).get("max_completion_tokens")
    return folded


def merge_params(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request parameters of several layers, later layers winning (see module doc)."""
    params: dict[str, Any] = {}
    extra_body: dict[str, Any] = {}
    for values in layers:
        if not values:
            continue
        layer = _layer(values)
        extra = layer.pop("extra_body", None)
        if extra is not None:
            if not isinstance(extra, Mapping):
                raise ParameterError(
                    f"extra_body must be a mapping of JSON fields, got {type(extra).__name__}"
                )
            extra_body.update(extra)
        params.update(layer)
    if params.get("stop") == []:
        del params["stop"]
    if extra_body:
        params["extra_body"] = extra_body
    _shape_tools(params)
    return params


def _shape_tools(params: dict[str, Any]) -> None:
    tools = params.get("tools")
    if tools is None:
        return
    if isinstance(tools, (list, tuple)) and not tools:
        del params["tools"]  # an empty list is refused upstream; no tools means none
        return
    if not isinstance(tools, (list, tuple)):
        raise ParameterError(f"tools must be a list of tool dicts, got {type(tools).__name__}")
    validate_tools(tools)
    choice = params.get("tool_choice")
    if choice is not None:
        params["tool_choice"] = normalize_tool_choice(choice, tools)


def prepare(
    spec: ModelSpec,
    messages: list[dict[str, Any]],
    *layers: Mapping[str, Any] | None,
    stream: bool,
    stream_usage: bool = True,
    check_model_rules: bool = True,
    allow_undocumented_parts: bool = False,
) -> dict[str, Any]:
    """The JSON body of one call; every local refusal happens here, before any request."""
    validate_messages(spec, messages, allow_undocumented_parts=allow_undocumented_parts)
    return build_body(
        spec,
        messages,
        merge_params(*layers),
        stream=stream,
        stream_usage=stream_usage,
        check_model_rules=check_model_rules,
    )

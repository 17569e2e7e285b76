"""Tool definitions and ``tool_choice`` in the one spelling the gateway takes.

Both frameworks let users say "call some tool" in several ways (LangChain: ``"any"``,
``True``, a bare tool name; LlamaIndex: ``tool_required=True``, a name). This is the one
place that maps them to OpenAI's ``tool_choice``, and refuses the ambiguous ones before a
request is made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gw_core.errors import ParameterError

__all__ = ["check_schema", "normalize_tool_choice", "tool_names", "validate_tools"]

_KEYWORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def tool_names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    """The function names of OpenAI-format tool dicts, in order."""
    return [str(t.get("function", {}).get("name", "")) for t in tools]


def validate_tools(tools: Sequence[Mapping[str, Any]]) -> None:
    """Refuse tool lists the upstreams reject: unnamed, badly named, or duplicated tools."""
    seen: set[str] = set()
    for position, tool in enumerate(tools):
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, Mapping):
            raise ParameterError(
                f"tool #{position} is not an OpenAI function tool "
                '({"type": "function", "function": {"name": ..., "parameters": {...}}})'
            )
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise ParameterError(f"tool #{position} has no function name")
        if len(name) > 64 or not all(c.isalnum() or c in "_-" for c in name):
            raise ParameterError(
                f"tool name {name!r} must be 1-64 letters, digits, '_' or '-' "
                "(every upstream behind the gateway requires that)"
            )
        if name in seen:
            raise ParameterError(f"two tools are named {name!r}; tool names must be unique")
        seen.add(name)
        params = function.get("parameters")
        if params is not None and not isinstance(params, Mapping):
            raise ParameterError(f"tool {name!r}: 'parameters' must be a JSON schema object")
        if params:
            check_schema(name, params)


# Schemas already checked (their canonical JSON): a tool list is checked on every call.
_VALID_SCHEMAS: set[str] = set()
_MAX_REMEMBERED = 1024


def check_schema(name: str, schema: Mapping[str, Any]) -> None:
    """Refuse a ``parameters`` schema that is not valid JSON Schema (``"type": "objekt"``).

    Checked against the metaschema its ``$schema`` names (Draft 2020-12 when none), with
    the maintained ``jsonschema`` library; the upstreams would reject it with a 400.
    """
    try:
        key = json.dumps(schema, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        raise ParameterError(f"tool {name!r}: 'parameters' is not JSON") from None
    if key in _VALID_SCHEMAS:
        return
    from jsonschema import (  # type: ignore[import-untyped]
        Draft202012Validator,
        exceptions,
        validators,
    )

    validator = validators.validator_for(schema, default=Draft202012Validator)
    try:
        validator.check_schema(schema)
    except exceptions.SchemaError as err:
        where = "/".join(str(part) for part in err.path) or "the top level"
        raise ParameterError(
            f"tool {name!r}: 'parameters' is not a valid JSON Schema at {where}: {err.message}"
        ) from None
    if len(_VALID_SCHEMAS) < _MAX_REMEMBERED:
        _VALID_SCHEMAS.add(key)


def normalize_tool_choice(
    choice: str | bool | Mapping[str, Any] | None, tools: Sequence[Mapping[str, Any]]
) -> str | dict[str, Any] | None:
    """OpenAI's ``tool_choice`` for any of the ways users spell it; None means "not set".

    - ``"auto"`` / ``"none"`` / ``"required"`` pass through; ``"any"`` is ``"required"``.
    - ``True`` forces the only tool if there is one, else any tool (``"required"``);
      ``False`` is ``"none"``.
    - a tool's name forces that tool; a dict in OpenAI's shape is checked and kept.
    """
    if choice is None:
        return None
    names = tool_names(tools)
    if isinstance(choice, bool):
        if not choice:
            return "none"
        return _force(names[0], names) if len(names) == 1 else _require_tools(names)
    if isinstance(choice, str):
        keyword = _KEYWORDS.get(choice.lower())
        if keyword is not None:
            if keyword == "required":
                return _require_tools(names)
            return keyword
        return _force(choice, names)
    if isinstance(choice, Mapping):
        if choice.get("type") == "function":
            function = choice.get("function")
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                _force(function["name"], names)
                return dict(choice)
        if isinstance(choice.get("name"), str):  # {"name": "tool"} shorthand
            return _force(choice["name"], names)
    raise ParameterError(
        f"tool_choice {choice!r} is not understood: use 'auto', 'none', 'required', "
        "a tool name, or {'type': 'function', 'function': {'name': ...}}"
    )


def _require_tools(names: list[str]) -> str:
    if not names:
        raise ParameterError("tool_choice asks for a tool call, but no tools were given")
    return "required"


def _force(name: str, names: list[str]) -> dict[str, Any]:
    if name not in names:
        known = ", ".join(names) or "none"
        raise ParameterError(f"tool_choice names {name!r}, which is not among the tools ({known})")
    return {"type": "function", "function": {"name": name}}

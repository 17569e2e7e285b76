"""The JSON types a chunk or a completion may have, checked before anything reads them.

The accumulator and the response parser read fields by name and trust their types (they
run on every chunk). A gateway that sends a string ``delta``, a list ``index`` or a
numeric tool-call id must get a :class:`~gw_core.errors.MalformedResponseError` here, not
an ``AttributeError`` or a framework's validation error three layers up. Each check
returns what is wrong, in words, or None.
"""

from __future__ import annotations

from typing import Any

__all__ = ["chunk_problem", "message_problem", "tool_call_problem"]

_STR_OR_NONE = (str, type(None))


def _is_int(value: Any) -> bool:
    return value.__class__ is int


def _text_problem(value: Any, where: str) -> str | None:
    if value is None or value.__class__ is str:
        return None
    if value.__class__ is list:
        if all(part.__class__ is dict for part in value):
            return None
        return f"'{where}' is a list whose parts are not all objects"
    return f"'{where}' is a JSON {type(value).__name__}, expected a string"


def tool_call_problem(raw: Any, *, streamed: bool) -> str | None:
    """What is wrong with one tool call (or tool-call delta), or None."""
    if raw.__class__ is not dict:
        return "a tool call is not an object"
    index = raw.get("index")
    if index is not None and not _is_int(index):
        return f"a tool call's 'index' is a JSON {type(index).__name__}, expected an integer"
    for name in ("id", "type"):
        if not isinstance(raw.get(name), _STR_OR_NONE):
            return f"a tool call's '{name}' is not a string"
    fn = raw.get("function")
    if fn is not None:
        if fn.__class__ is not dict:
            return "a tool call's 'function' is not an object"
        if not isinstance(fn.get("name"), _STR_OR_NONE):
            return "a tool call's function name is not a string"
        args = fn.get("arguments")
        if args is not None and args.__class__ not in (str, dict):
            return "a tool call's arguments are neither a string nor an object"
    elif not streamed:
        return "a tool call has no 'function'"
    extra = raw.get("extra_content")
    if extra is not None and extra.__class__ is not dict:
        return "a tool call's 'extra_content' is not an object"
    return None


def message_problem(message: Any, *, streamed: bool) -> str | None:
    """What is wrong with a ``delta`` (streamed) or a ``message``, or None."""
    where = "delta" if streamed else "message"
    if message.__class__ is not dict:
        return f"'{where}' is a JSON {type(message).__name__}, expected an object"
    problem = _text_problem(message.get("content"), "content")
    if problem is not None:
        return problem
    for name in ("reasoning_content", "reasoning", "refusal", "role"):
        if not isinstance(message.get(name), _STR_OR_NONE):
            return f"'{name}' is not a string"
    calls = message.get("tool_calls")
    if calls is None:
        return None
    if calls.__class__ is not list:
        return "'tool_calls' is not a list"
    for raw in calls:
        problem = tool_call_problem(raw, streamed=streamed)
        if problem is not None:
            return problem
    return None


def _choice_problem(choice: Any, *, streamed: bool) -> str | None:
    if choice.__class__ is not dict:
        return "a choice is not an object"
    index = choice.get("index")
    if index is not None and not _is_int(index):
        return "a choice's 'index' is not an integer"
    if not isinstance(choice.get("finish_reason"), _STR_OR_NONE):
        return "'finish_reason' is not a string"
    message = choice.get("delta" if streamed else "message")
    if message is None:
        return None
    return message_problem(message, streamed=streamed)


def chunk_problem(chunk: dict[str, Any], *, streamed: bool = True) -> str | None:
    """What is wrong with a ``chat.completion(.chunk)`` object, or None."""
    choices = chunk.get("choices")
    if choices is not None:
        if choices.__class__ is not list:
            return "'choices' is not a list"
        for choice in choices:
            problem = _choice_problem(choice, streamed=streamed)
            if problem is not None:
                return problem
    usage = chunk.get("usage")
    if usage is not None and usage.__class__ is not dict:
        return "'usage' is not an object"
    for name in ("id", "model", "system_fingerprint"):
        if not isinstance(chunk.get(name), _STR_OR_NONE):
            return f"'{name}' is not a string"
    return None

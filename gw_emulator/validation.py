"""Request checks, answered the way the gateway and its upstreams answer them.

Each check returns a :class:`Rejection` (status and OpenAI-style error body) or ``None``.
Order follows the real path: the gateway routes the model first (unknown model: 503
``model_not_found`` like new-api), then the upstream checks the request (400 with
``param`` naming the field to fix).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gw_core.catalog import Family, ModelSpec, all_ids, parse
from gw_emulator.dialects import thought_signature
from gw_emulator.faults import error_body

__all__ = ["KNOWN_IDS", "Rejection", "model_not_found", "validate"]

KNOWN_IDS = frozenset(all_ids())
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_NUMERIC_RANGES = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}


@dataclass(frozen=True)
class Rejection:
    """An error answer: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]

    def encoded(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode()


def _bad(message: str, param: str | None, code: str | None = None) -> Rejection:
    return Rejection(
        400, error_body(message, type_="invalid_request_error", code=code, param=param)
    )


def model_not_found(model: str) -> Rejection:
    """new-api's answer when no channel serves ``model``."""
    body = {
        "error": {
            "code": "model_not_found",
            "message": f"分组 default 下模型 {model} 无可用渠道（distributor） (request id: emu)",
            "type": "new_api_error",
        }
    }
    return Rejection(503, body)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_messages(messages: Any) -> Rejection | None:
    if not isinstance(messages, list) or not messages:
        return _bad("'messages' must be a non-empty array of message objects.", "messages")
    call_ids: set[str] = set()
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return _bad(f"messages[{i}] must be an object.", f"messages[{i}]")
        role = message.get("role")
        if role not in _ROLES:
            return _bad(
                f"Invalid value: {role!r}. Supported values are: 'system', 'developer', "
                "'user', 'assistant', and 'tool'.",
                f"messages[{i}].role",
                "invalid_value",
            )
        for call in message.get("tool_calls") or () if role == "assistant" else ():
            if isinstance(call, dict) and call.get("id") is not None:
                call_ids.add(str(call["id"]))
        if role == "tool" and str(message.get("tool_call_id")) not in call_ids:
            return _bad(
                "Invalid parameter: messages with role 'tool' must be a response to a "
                "preceding message with 'tool_calls' (no earlier tool call has id "
                f"{message.get('tool_call_id')!r}).",
                f"messages[{i}].tool_call_id",
            )
    return None


def _has_video(messages: list[dict[str, Any]]) -> int | None:
    for i, message in enumerate(messages):
        content = message.get("content")
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict):
                continue
            if part.get("type") == "video_url":
                return i
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str) and url[:11].lower() == "data:video/":
                return i
    return None


def _check_params(body: dict[str, Any], spec: ModelSpec) -> Rejection | None:
    rules = spec.rules
    for name, (low, high) in _NUMERIC_RANGES.items():
        value = body.get(name)
        if value is not None and (not _is_number(value) or not low <= value <= high):
            return _bad(
                f"Invalid '{name}': expected a number between {low:g} and {high:g}, got {value!r}.",
                name,
                "invalid_value",
            )
    for name in sorted(rules.forbidden):
        if body.get(name) is not None:
            return _bad(f"`{name}` is deprecated for this model.", name, "unsupported_parameter")
    temperature = body.get("temperature")
    if temperature is not None and temperature > rules.temperature_max:
        return _bad(
            f"temperature: range: 0..{rules.temperature_max:g} for {spec.base}.",
            "temperature",
            "invalid_value",
        )
    if (
        rules.temperature_top_p_exclusive
        and temperature is not None
        and body.get("top_p") is not None
    ):
        return _bad(
            "`temperature` and `top_p` cannot both be specified for this model. "
            "Please use only one.",
            "top_p",
        )
    if spec.family in (Family.GPT, Family.UNKNOWN) and body.get("max_tokens") is not None:
        return _bad(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    stop = body.get("stop")
    if stop is not None:
        if not isinstance(stop, (str, list)) or (
            isinstance(stop, list) and not all(isinstance(s, str) for s in stop)
        ):
            return _bad("'stop' must be a string or an array of strings.", "stop")
        if isinstance(stop, list) and len(stop) > rules.max_stop:
            return _bad(
                f"Invalid 'stop': array too long. Expected an array with maximum length "
                f"{rules.max_stop}, but got an array with length {len(stop)} instead.",
                "stop",
                "array_above_max_length",
            )
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            return _bad(f"Invalid '{name}': expected an integer >= 1.", name, "invalid_value")
    return None


def _check_tools(body: dict[str, Any]) -> Rejection | None:
    tools = body.get("tools")
    names: set[str] = set()
    if tools is not None:
        if not isinstance(tools, list):
            return _bad("'tools' must be an array.", "tools")
        for i, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                return _bad(
                    f"tools[{i}] must be {{'type': 'function', 'function': {{'name': ...}}}}.",
                    f"tools[{i}]",
                )
            names.add(function["name"])
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if name is not None and name not in names:
            return _bad(f"tool_choice names {name!r}, which is not in 'tools'.", "tool_choice")
    elif choice is not None and choice not in ("none", "auto", "required"):
        return _bad(
            "'tool_choice' must be 'none', 'auto', 'required' or a function.", "tool_choice"
        )
    return None


#: The placeholders Google documents for tool calls the model did not sign (calls built
#: by hand, or carried over from another model's turn); Gemini 3 accepts them.
DUMMY_SIGNATURES = frozenset(
    {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
)


def _check_signatures(messages: list[dict[str, Any]]) -> Rejection | None:
    """Gemini 3 wants its thought signatures back on the current turn's tool calls."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    for i, message in enumerate(messages[last_user + 1 :], start=last_user + 1):
        if message.get("role") != "assistant":
            continue
        for position, call in enumerate(message.get("tool_calls") or ()):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue
            extra = call.get("extra_content") or {}
            google = extra.get("google") if isinstance(extra, dict) else None
            signature = google.get("thought_signature") if isinstance(google, dict) else None
            expected = thought_signature(
                str(function.get("name")), str(function.get("arguments", ""))
            )
            if signature != expected and signature not in DUMMY_SIGNATURES:
                what = (
                    "is missing a thought_signature"
                    if not signature
                    else "has an invalid thought_signature"
                )
                return _bad(
                    f"Function call {what} in functionCall parts. This is required for tools "
                    "to work correctly, and missing thought_signature may lead to degraded "
                    f"model performance. (messages[{i}].tool_calls[{position}])",
                    f"messages[{i}].tool_calls[{position}].extra_content",
                )
    return None


def validate(
    body: Any, *, accept_unsigned: bool = False
) -> tuple[ModelSpec | None, Rejection | None]:
    """Check a parsed request body; the model's spec when it is usable.

    ``accept_unsigned`` skips the Gemini 3 signature check (a gateway that does not
    enforce it, see :class:`gw_emulator.dialects.Quirks`)."""
    if not isinstance(body, dict):
        return None, _bad("We could not parse the JSON body of your request.", None)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return None, _bad("you must provide a model parameter", "model")
    if model not in KNOWN_IDS:
        return None, model_not_found(model)
    spec = parse(model)
    rejection = _check_messages(body.get("messages"))
    rejection = rejection or _check_params(body, spec) or _check_tools(body)
    if rejection is not None:
        return spec, rejection
    messages: list[dict[str, Any]] = body["messages"]
    if not spec.video_input:
        index = _has_video(messages)
        if index is not None:
            return spec, _bad(
                f"{spec.base} does not accept video input; video goes to Gemini models only.",
                f"messages[{index}].content",
            )
    if spec.thought_signatures and not accept_unsigned:
        return spec, _check_signatures(messages)
    return spec, None

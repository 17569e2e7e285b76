"""What our library and emulator assume about the gateway, and where each assumption lives.

A ``differs`` result names one of these, so whoever reads the report knows which code
to revisit when the gateway changes. The pointers are ``module:function`` strings;
``tests/test_doctor.py`` checks that each one resolves.
"""

from __future__ import annotations

from dataclasses import dataclass

from gw_core.catalog import Family

__all__ = ["ASSUMPTIONS", "USAGE_SHAPES", "Assumption", "UsageShape"]


@dataclass(frozen=True)
class Assumption:
    """One belief about the gateway, in words, with the code that holds it."""

    says: str
    where: tuple[str, ...]


class UsageShape:
    """Where a stream carries its usage."""

    FINAL_CHUNK = "once, on a last chunk with empty choices"
    FINISH_CHUNK = "once, on the chunk that carries the finish_reason"
    EVERY_CHUNK = "on every chunk, cumulative (the last one is the total)"


#: The usage shape the emulator sends, and the accumulator is written for, per family.
USAGE_SHAPES = {
    Family.GPT: UsageShape.FINAL_CHUNK,
    Family.UNKNOWN: UsageShape.FINAL_CHUNK,
    Family.CLAUDE: UsageShape.FINISH_CHUNK,
    Family.GEMINI: UsageShape.EVERY_CHUNK,
}

_STREAM = "gw_core.wire.stream:StreamAccumulator.add"

ASSUMPTIONS: dict[str, Assumption] = {
    "auth": Assumption(
        "the key goes as 'Authorization: Bearer <key>' and a good key gets a 200",
        ("gw_core.client:_build_sync", "gw_core.settings:Settings.resolve"),
    ),
    "models_endpoint": Assumption(
        "the catalog lists every model the gateway serves (GET /v1/models is not documented; "
        "the library never depends on it)",
        ("gw_core.catalog:all_ids", "gw_emulator.handler:_models_body"),
    ),
    "plain": Assumption(
        "a chat.completion body has id, object, created, model, choices[].message "
        "{role, content} and usage {prompt_tokens, completion_tokens, total_tokens}, "
        "as the gateway's page documents and our emulator sends",
        ("gw_core.wire.response:parse_completion", "gw_emulator.dialects:completion_body"),
    ),
    "stream_end": Assumption(
        "a stream carries a finish_reason and ends with 'data: [DONE]'",
        (
            "gw_core.wire.sse:SSEState.feed",
            "gw_core.wire.stream:StreamAccumulator.check_complete",
            "gw_emulator.protocol:Connection._stream_plan",
        ),
    ),
    "stream_usage": Assumption(
        "usage in the family's shape: GPT once on a last empty-choices chunk, Claude once on "
        "the finish chunk, Gemini cumulative on every chunk (never summed)",
        (_STREAM, "gw_emulator.dialects:stream_chunks"),
    ),
    "stop": Assumption(
        "'stop' (a list of up to 4 strings) ends the answer before the stop text, "
        "with finish_reason 'stop'",
        ("gw_core.wire.params:_check_rules", "gw_emulator.engine:answer"),
    ),
    "image": Assumption(
        "every model takes an image as an image_url part with a data: URI",
        ("gw_core.wire.content:image_part", "gw_core.catalog:parse"),
    ),
    "video": Assumption(
        "Gemini takes video as an image_url part whose URL is data:video/<type>;base64,...",
        ("gw_core.wire.content:video_part", "gw_core.wire.content:validate_messages"),
    ),
    "tool_round_trip": Assumption(
        "a tool call comes back in message.tool_calls and a follow-up turn with the "
        "assistant's calls and the tool result gets an answer",
        ("gw_core.wire.response:parse_completion", "gw_core.wire.params:build_body"),
    ),
    "thought_signature": Assumption(
        "Gemini 3 signs each tool call with extra_content.google.thought_signature and "
        "refuses (400) the next turn when the signature is not echoed back",
        (
            "gw_core.catalog:ModelSpec.thought_signatures",
            "gw_core.wire.params:_sign_unsigned",
            "gw_emulator.validation:_check_signatures",
        ),
    ),
    "structured_output": Assumption(
        "GPT and Gemini honour response_format json_schema; Claude may ignore it, so "
        "ChatGateway uses tool calling for Claude",
        (
            "langchain_gw.chat_models:ChatGateway.with_structured_output",
            "gw_emulator.engine:_structured",
        ),
    ),
    "family_rule": Assumption(
        "the upstream refuses (400) what our family rules refuse locally, so refusing it "
        "before sending saves a round trip and says what to change",
        (
            "gw_core.catalog:ParamRules",
            "gw_core.wire.params:_check_rules",
            "gw_emulator.validation:_check_params",
        ),
    ),
    "bad_key_error": Assumption(
        "a wrong key gets 401 with an OpenAI-style {'error': {...}} body, raised as "
        "AuthenticationError and never retried",
        ("gw_core.errors:_class_for", "gw_emulator.handler:_unauthorized"),
    ),
    "unknown_model_error": Assumption(
        "an unknown model gets 503 with code 'model_not_found' (new-api's answer), raised as "
        "ModelNotFoundError and never retried",
        (
            "gw_core.errors:_class_for",
            "gw_core.retry:is_retryable",
            "gw_emulator.validation:model_not_found",
        ),
    ),
    "rate_limit_headers": Assumption(
        "a 429 may carry Retry-After (seconds or a date) or retry-after-ms, which the one "
        "retry loop honours; other rate-limit headers are not read",
        ("gw_core.retry:parse_retry_after",),
    ),
}

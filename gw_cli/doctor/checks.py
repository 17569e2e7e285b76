"""The per-model checks: each sends one to three small requests and judges the answers.

A check returns its findings; it never raises for what the gateway did (the runner turns
a bug in a check into a ``fail`` finding, so one bad answer never stops the run). Bodies
are built the way the library builds them (:func:`gw_core.wire.build_body`), except
where a check must send what the library would refuse (the family rule, the unsigned
Gemini 3 turn): those go raw.
"""

from __future__ import annotations

import json
from typing import Any

from gw_cli.doctor.context import SMALL_ANSWER, TOOL_ANSWER, Context, first_choice, user
from gw_cli.doctor.contract import USAGE_SHAPES, UsageShape
from gw_cli.doctor.media import tiny_mp4, tiny_png
from gw_cli.doctor.probe import Exchange
from gw_cli.doctor.report import CheckResult, Status, excerpt
from gw_core.catalog import Family, ModelSpec
from gw_core.wire import build_body, image_part, parse_completion, text_part, video_part

__all__ = [
    "check_family_rule",
    "check_image",
    "check_plain",
    "check_stop",
    "check_stream",
    "check_structured",
    "check_video",
    "usage_shapes",
]

_TOP = {"id", "object", "created", "model", "choices", "usage"}
_CHOICE = {"index", "message", "finish_reason"}
_MESSAGE = {"role", "content", "reasoning_content", "tool_calls"}
_USAGE = {"prompt_tokens", "completion_tokens", "total_tokens", "completion_tokens_details"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _content(exchange: Exchange) -> tuple[str, str | None]:
    choice = first_choice(exchange.body)
    content = _dict(choice.get("message")).get("content")
    return (content if isinstance(content, str) else ""), choice.get("finish_reason")


# -- plain -------------------------------------------------------------------------------


def _shape_problems(body: Any, spec: ModelSpec) -> tuple[list[str], list[str]]:
    """(what is missing or wrong, which fields our emulator never sends)."""
    if not isinstance(body, dict):
        return ["the body is not a JSON object"], []
    problems = [f"no '{key}'" for key in sorted(_TOP - set(body))]
    if body.get("object") != "chat.completion":
        problems.append(f"object is {body.get('object')!r}, not 'chat.completion'")
    if "model" in body and body["model"] != spec.id:
        problems.append(f"model is {body['model']!r}, not the id asked for")
    choice = first_choice(body)
    message = _dict(choice.get("message"))
    usage = _dict(body.get("usage"))
    if message.get("role") != "assistant":
        problems.append(f"message.role is {message.get('role')!r}")
    counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")]
    ints = [n for n in counts if isinstance(n, int)]
    if len(ints) != len(counts):
        problems.append(f"usage is {usage!r}")
    elif ints[0] + ints[1] != ints[2]:
        problems.append("usage.total_tokens is not prompt_tokens + completion_tokens")
    message_keys = _MESSAGE | (
        {"refusal"} if spec.family in (Family.GPT, Family.UNKNOWN) else set()
    )
    extras = [f"{k}" for k in sorted(set(body) - _TOP)]
    extras += [f"choices[0].{k}" for k in sorted(set(choice) - _CHOICE)]
    extras += [f"message.{k}" for k in sorted(set(message) - message_keys)]
    extras += [f"usage.{k}" for k in sorted(set(usage) - _USAGE)]
    return problems, extras


def check_plain(ctx: Context, spec: ModelSpec) -> list[CheckResult]:
    """One short non-streaming call, its body compared field by field with ours."""
    body = build_body(
        spec, [user("Reply with the single word: ready")], {"max_completion_tokens": SMALL_ANSWER}
    )
    ex = ctx.probe.chat(body)
    if not ex.ok:
        return [ctx.failed("plain", spec.id, ex)]
    problems, extras = _shape_problems(ex.body, spec)
    try:
        parse_completion(ex.body)
    except Exception as exc:
        problems.append(f"our parser refused it: {type(exc).__name__}: {exc}")
    content, finish = _content(ex)
    if problems or extras:
        bits = problems + (
            [f"fields our emulator never sends: {', '.join(extras)}"] if extras else []
        )
        fields = {"fields": sorted(ex.body) if isinstance(ex.body, dict) else None}
        return [ctx.result("plain", spec.id, Status.DIFFERS, "; ".join(bits), ex, **fields)]
    usage = ex.body["usage"]
    detail = (
        f"finish_reason={finish}, usage {usage['prompt_tokens']}+{usage['completion_tokens']}"
        f" tokens, answer {excerpt(content, 40)!r}"
    )
    return [ctx.result("plain", spec.id, Status.PASS, detail, ex, usage=usage)]


# -- stream ------------------------------------------------------------------------------


def _finish_of(chunk: dict[str, Any]) -> str | None:
    for choice in chunk.get("choices") or ():
        if isinstance(choice, dict) and choice.get("finish_reason"):
            return str(choice["finish_reason"])
    return None


def usage_shapes(chunks: list[dict[str, Any]]) -> tuple[set[str], str]:
    """The usage shapes a stream is consistent with, and where its usage was, in words."""
    carrying = [i for i, c in enumerate(chunks) if isinstance(c.get("usage"), dict) and c["usage"]]
    if not carrying:
        return set(), f"no usage on any of {len(chunks)} chunks"
    where = f"usage on {len(carrying)} of {len(chunks)} chunks (positions {carrying[:6]})"
    with_choices = [i for i, c in enumerate(chunks) if c.get("choices")]
    finishing = [i for i in with_choices if _finish_of(chunks[i])]
    shapes: set[str] = set()
    totals = [chunks[i]["usage"].get("completion_tokens") or 0 for i in carrying]
    if set(with_choices) <= set(carrying) and totals == sorted(totals):
        shapes.add(UsageShape.EVERY_CHUNK)
    if len(carrying) == 1:
        only = carrying[0]
        if not chunks[only].get("choices") and only == len(chunks) - 1:
            shapes.add(UsageShape.FINAL_CHUNK)
        if only in finishing:
            shapes.add(UsageShape.FINISH_CHUNK)
    return shapes, where


def _stream_end(ctx: Context, spec: ModelSpec, ex: Exchange) -> CheckResult:
    finish = next((f for f in map(_finish_of, reversed(ex.chunks)) if f), None)
    count = f"{len(ex.chunks)} chunks"
    if ex.stream_error:
        return ctx.result("stream_end", spec.id, Status.FAIL, ex.stream_error, ex)
    if finish is None:
        detail = f"{count}, no finish_reason: the library raises IncompleteStreamError"
        return ctx.result("stream_end", spec.id, Status.FAIL, detail, ex, done=ex.done)
    if not ex.done:
        detail = (
            f"{count}, finish_reason={finish}, but the stream ended without 'data: [DONE]' "
            "(the gateway's page and our emulator send it; the library accepts its absence "
            "only because a finish_reason came)"
        )
        return ctx.result("stream_end", spec.id, Status.DIFFERS, detail, ex, done=False)
    detail = f"{count}, finish_reason={finish}, ended with [DONE]"
    return ctx.result("stream_end", spec.id, Status.PASS, detail, ex)


def _stream_usage(ctx: Context, spec: ModelSpec, ex: Exchange) -> CheckResult:
    expected = USAGE_SHAPES[spec.family]
    shapes, where = usage_shapes(ex.chunks)
    last = next((c["usage"] for c in reversed(ex.chunks) if c.get("usage")), None)
    if expected in shapes:
        return ctx.result("stream_usage", spec.id, Status.PASS, f"{expected}: {where}", ex)
    seen = " or ".join(sorted(shapes)) if shapes else "another shape"
    detail = f"we assume usage {expected} for {spec.family.value}; the gateway sent {seen}: {where}"
    status = Status.FAIL if last is None and not ex.chunks else Status.DIFFERS
    return ctx.result("stream_usage", spec.id, status, detail, ex, last_usage=last)


def check_stream(ctx: Context, spec: ModelSpec) -> list[CheckResult]:
    """One stream: does it end with [DONE], and is its usage where we look for it?"""
    body = build_body(
        spec,
        [user("Count from one to ten in words.")],
        {"max_completion_tokens": SMALL_ANSWER},
        stream=True,
    )
    ex = ctx.probe.chat(body, stream=True)
    if not ex.ok:
        return [ctx.failed("stream_end", spec.id, ex), ctx.failed("stream_usage", spec.id, ex)]
    return [_stream_end(ctx, spec, ex), _stream_usage(ctx, spec, ex)]


# -- stop, image, video ------------------------------------------------------------------


def check_stop(ctx: Context, spec: ModelSpec) -> list[CheckResult]:
    """Ask for four words with the third as a stop sequence."""
    prompt = "Reply with exactly these four words and nothing else: alpha beta gamma delta"
    body = build_body(
        spec, [user(prompt)], {"stop": ["gamma"], "max_completion_tokens": SMALL_ANSWER}
    )
    ex = ctx.probe.chat(body)
    if not ex.ok:
        return [ctx.failed("stop", spec.id, ex)]
    content, finish = _content(ex)
    said = f"answer {excerpt(content, 60)!r}, finish_reason={finish}"
    if "gamma" in content.lower() or "delta" in content.lower():
        status, detail = Status.DIFFERS, f"the answer went past the stop sequence: {said}"
    elif finish == "stop":
        status, detail = Status.PASS, f"stopped before 'gamma': {said}"
    elif finish == "length":
        status, detail = Status.SKIPPED, f"the token budget ran out first: {said}"
    else:
        status, detail = Status.DIFFERS, f"expected finish_reason 'stop': {said}"
    return [ctx.result("stop", spec.id, status, detail, ex)]


def _media_check(ctx: Context, spec: ModelSpec, name: str, part: dict[str, Any]) -> CheckResult:
    question = text_part("What colour fills this? Answer in one word.")
    body = build_body(spec, [user([question, part])], {"max_completion_tokens": SMALL_ANSWER})
    ex = ctx.probe.chat(body)
    if not ex.ok:
        return ctx.failed(name, spec.id, ex)
    content, finish = _content(ex)
    detail = f"accepted; answer {excerpt(content, 60)!r}, finish_reason={finish}"
    return ctx.result(name, spec.id, Status.PASS, detail, ex)


def check_image(ctx: Context, spec: ModelSpec) -> list[CheckResult]:
    """An 8x8 PNG drawn in code, as a data: URI."""
    return [_media_check(ctx, spec, "image", image_part(data=tiny_png()))]


def check_video(ctx: Context, spec: ModelSpec) -> list[CheckResult]:
    """A one-frame MP4 as ``data:video/mp4;base64,...`` in an image_url part."""
    return [_media_check(ctx, spec, "video", video_part(data=tiny_mp4(), mime_type="video/mp4"))]


# -- structured output and family rules --------------------------------------------------

_REQUIRED = ("city", "country")
_PLACE: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": list(_REQUIRED),
    "additionalProperties": False,
}


def check_structured(ctx: Context, spec: ModelSpec) -> list[CheckResult]:
    """``response_format`` json_schema: does the answer come back as JSON of that schema?"""
    fmt = {"type": "json_schema", "json_schema": {"name": "place", "schema": _PLACE}}
    prompt = "In which city and country is the Eiffel Tower? Answer in JSON."
    body = build_body(
        spec, [user(prompt)], {"response_format": fmt, "max_completion_tokens": TOOL_ANSWER}
    )
    ex = ctx.probe.chat(body)
    if not ex.ok:
        return [ctx.failed("structured_output", spec.id, ex)]
    content, finish = _content(ex)
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if isinstance(value, dict) and all(isinstance(value.get(k), str) for k in _REQUIRED):
        detail = f"JSON that fits the schema: {excerpt(content, 80)}"
        return [ctx.result("structured_output", spec.id, Status.PASS, detail, ex)]
    if finish == "length":
        detail = f"the {TOOL_ANSWER}-token budget ran out first: {excerpt(content, 60)!r}"
        return [ctx.result("structured_output", spec.id, Status.SKIPPED, detail, ex)]
    detail = (
        f"response_format was not honoured (finish_reason={finish}): answer "
        f"{excerpt(content, 80)!r}"
    )
    return [ctx.result("structured_output", spec.id, Status.DIFFERS, detail, ex)]


def _rule_request(spec: ModelSpec) -> tuple[str, dict[str, Any]] | None:
    """The one rule to try for this model, and a raw body that breaks it."""
    messages = [user("Reply with: ok")]
    rules = spec.rules
    if rules.forbidden:
        name = sorted(rules.forbidden)[0]
        params: dict[str, Any] = {name: 0.5, "max_completion_tokens": SMALL_ANSWER}
        return f"{name} alone (forbidden for {spec.base})", {"params": params}
    if rules.temperature_top_p_exclusive:
        params = {"temperature": 0.5, "top_p": 0.9, "max_completion_tokens": SMALL_ANSWER}
        return "temperature and top_p together", {"params": params}
    if spec.family is Family.GPT:
        raw = {"model": spec.id, "messages": messages, "max_tokens": SMALL_ANSWER}
        return "max_tokens instead of max_completion_tokens", {"raw": raw}
    if spec.family is Family.GEMINI:
        stops = [f"zz{i}" for i in range(rules.max_stop + 1)]
        params = {"stop": stops, "max_completion_tokens": SMALL_ANSWER}
        return f"{len(stops)} stop sequences (we allow {rules.max_stop})", {"params": params}
    return None


def check_family_rule(ctx: Context, spec: ModelSpec) -> list[CheckResult]:
    """Send, raw, one thing our family rules refuse locally: does the upstream refuse it?"""
    rule = _rule_request(spec)
    if rule is None:
        return [ctx.skipped("family_rule", spec.id, "no family rule applies to this model")]
    what, how = rule
    body = how.get("raw") or build_body(
        spec, [user("Reply with: ok")], how["params"], check_model_rules=False
    )
    ex = ctx.probe.chat(body)
    if ex.status is not None and 400 <= ex.status < 500:
        detail = f"{what}: refused as we assume ({_refusal(ex)})"
        return [ctx.result("family_rule", spec.id, Status.PASS, detail, ex)]
    if ex.ok:
        detail = (
            f"{what}: the gateway accepted it, but the library refuses it before sending "
            "(check_model_rules=False sends it anyway)"
        )
        return [ctx.result("family_rule", spec.id, Status.DIFFERS, detail, ex, rule=what)]
    return [ctx.failed("family_rule", spec.id, ex)]


def _refusal(ex: Exchange) -> str:
    err = ex.error_object() or {}
    message = err.get("message") or ex.text
    return f"HTTP {ex.status}: {excerpt(str(message), 100)}"

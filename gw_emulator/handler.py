"""From a parsed request to the answer to send: routing, auth, faults, checks, engine.

The order is the real gateway's: route, then the key, then whatever the "upstream" does
(an injected fault, the request checks, the answer). The result is an :class:`Answer`
that the connection writes; nothing here touches a socket.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from gw_core.catalog import parse
from gw_emulator import engine
from gw_emulator.dialects import Chunk, completion_body, stream_chunks
from gw_emulator.faults import Fault, error_body
from gw_emulator.http11 import Request
from gw_emulator.state import EmulatorState, LogEntry
from gw_emulator.validation import KNOWN_IDS, model_not_found, validate

__all__ = ["Answer", "decide"]

logger = logging.getLogger("gw_emulator")

_CHAT_SUFFIX = "/v1/chat/completions"
_MODELS_SUFFIX = "/v1/models"
_JSON = "application/json"
_ERROR_FAULTS = frozenset({"status", "html", "quota", "model_not_found"})


@dataclass
class Answer:
    """What to send. ``status`` ``None`` means: reset the connection, send nothing."""

    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[Chunk] | None = None
    fault: Fault | None = None
    keepalive_comments: bool = False


def _json_answer(
    status: int, body: dict[str, Any], headers: list[tuple[str, str]] | None = None
) -> Answer:
    return Answer(
        status,
        [("content-type", _JSON), *(headers or [])],
        json.dumps(body, ensure_ascii=False).encode(),
    )


def _models_body() -> dict[str, Any]:
    data = [
        {"id": model_id, "object": "model", "created": 0, "owned_by": parse(model_id).family.value}
        for model_id in sorted(KNOWN_IDS)
    ]
    return {"object": "list", "data": data}


def _authorized(state: EmulatorState, request: Request) -> bool:
    given = request.headers.get("authorization", "")
    expected = f"Bearer {state.api_key}"
    return hmac.compare_digest(given.encode(), expected.encode())


def _unauthorized(request: Request) -> Answer:
    if "authorization" not in request.headers:
        message = "Missing API key: send 'Authorization: Bearer <key>'."
    else:
        message = "Incorrect API key provided."
    return _json_answer(
        401, error_body(message, type_="invalid_request_error", code="invalid_api_key")
    )


def _fault_answer(fault: Fault, model: str | None) -> Answer:
    if fault.kind == "model_not_found":
        rejection = model_not_found(model or "unknown")
        return Answer(
            fault.status_code, [("content-type", _JSON)], rejection.encoded(), fault=fault
        )
    headers = [("content-type", fault.content_type), *fault.headers]
    if fault.retry_after_seconds is not None:
        headers.append(
            ("retry-after", formatdate(time.time() + fault.retry_after_seconds, usegmt=True))
        )
    return Answer(fault.status_code, headers, fault.body, fault=fault)


def _chat(state: EmulatorState, request: Request, entry: LogEntry) -> Answer:
    try:
        body: Any = json.loads(request.body) if request.body else None
    except ValueError:
        body = None
    entry.body = body
    model = body.get("model") if isinstance(body, dict) else None
    entry.model = model if isinstance(model, str) else None
    fault = state.take_fault(entry.model)
    if fault is not None:
        entry.fault = fault.name
        if fault.kind in _ERROR_FAULTS:
            return _fault_answer(fault, entry.model)
        if fault.kind == "reset":
            return Answer(None, fault=fault)
    spec, rejection = validate(body, accept_unsigned=state.quirks.accept_unsigned)
    if rejection is not None or spec is None:
        answer = _json_answer(
            rejection.status if rejection else 400, rejection.body if rejection else {}
        )
        answer.fault = fault
        return answer
    script = state.take_script(entry.model)
    reply = engine.from_script(body, script) if script is not None else engine.answer(body)
    response_id = state.next_response_id()
    created = int(time.time())
    headers = [("x-request-id", response_id)]
    if body.get("stream") is True:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        chunks = stream_chunks(
            reply,
            spec,
            response_id=response_id,
            created=created,
            include_usage=include_usage,
            quirks=state.quirks,
        )
        headers = [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
            *headers,
        ]
        return Answer(
            200,
            headers,
            chunks=chunks,
            fault=fault,
            keepalive_comments=state.keepalive_comments and spec.family.value == "gemini",
        )
    answer = _json_answer(
        200, completion_body(reply, spec, response_id=response_id, created=created), headers
    )
    answer.fault = fault
    return answer


def decide(state: EmulatorState, request: Request) -> tuple[LogEntry, Answer]:
    """Record ``request`` and decide its answer."""
    entry = state.record(request.method, request.path, request.headers)
    path = request.path.rstrip("/")
    base = state.base_path
    if path == base + _CHAT_SUFFIX:
        allowed = "POST"
    elif path == base + _MODELS_SUFFIX:
        allowed = "GET"
    else:
        # The real gateway's words for a path it does not serve (new-api style), plus
        # what it does serve: a wrong GW_BASE_URL shows up here.
        message = (
            f"Invalid URL ({request.method} {request.path}): this gateway serves "
            f"POST {base}{_CHAT_SUFFIX} and GET {base}{_MODELS_SUFFIX}; check the base URL."
        )
        return entry, _json_answer(
            404, error_body(message, type_="invalid_request_error", code="not_found")
        )
    if request.method != allowed:
        message = f"Method {request.method} not allowed on {request.path}; use {allowed}."
        body = error_body(message, type_="invalid_request_error", code="method_not_allowed")
        return entry, _json_answer(405, body, [("allow", allowed)])
    if not _authorized(state, request):
        return entry, _unauthorized(request)
    if allowed == "GET":
        return entry, _json_answer(200, _models_body())
    try:
        return entry, _chat(state, request, entry)
    except Exception:  # an engine bug must not kill the connection silently
        logger.exception("emulator failed to answer %s %s", request.method, request.path)
        body = error_body("emulator internal error", type_="server_error", code="emulator_bug")
        return entry, _json_answer(500, body)

"""One batch row through the request path the adapters use, keeping the raw answer.

Same pieces as :meth:`gw_core.transport.Gateway.acomplete`: the shared client, the one
retry policy (attempt numbers pick the failover pool), typed errors. Two differences a
batch needs: the rate limiter is asked before *every* attempt (a retry is a request the
upstream counts too) and is told about 429s, and the output keeps the gateway's JSON
body and request id as the OpenAI Batch format wants them.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from gw_core import errors
from gw_core.batch.files import Row
from gw_core.catalog import ModelSpec
from gw_core.limits import RateLimiter, estimate_tokens
from gw_core.reading import aread_body, cap_error_bodies
from gw_core.transport import Gateway, _apost, _finish_completion, _with_model

__all__ = ["RowOutcome", "send_row"]


@dataclass(frozen=True)
class RowOutcome:
    """A finished row: its output line plus what the summary counts."""

    line: dict[str, Any]
    ok: bool
    attempts: int
    model: str
    pool: str
    tokens_in: int
    tokens_out: int


def _line(custom_id: str, response: dict[str, Any] | None, error: Any) -> dict[str, Any]:
    return {
        "id": f"batch_req_{uuid.uuid4().hex}",
        "custom_id": custom_id,
        "response": response,
        "error": error,
    }


def _error_line(row: Row, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, errors.GatewayAPIError) and exc.status_code is not None:
        body = {"error": {"message": exc.message, "type": exc.type, "code": exc.code}}
        response = {"status_code": exc.status_code, "request_id": exc.request_id, "body": body}
        code = exc.code or type(exc).__name__
        return _line(row.custom_id, response, {"code": code, "message": exc.message})
    message = errors.scrub(str(exc)) or type(exc).__name__
    return _line(row.custom_id, None, {"code": type(exc).__name__, "message": message})


async def send_row(gateway: Gateway, row: Row, limiter: RateLimiter | None) -> RowOutcome:
    """Send ``row``; every failure becomes an error line (never raised), but cancellation."""
    spec = row.spec
    candidates = gateway.candidates(spec)
    client = gateway.clients.async_()
    cap_error_bodies(client, is_async=True)
    limits = gateway.limits
    tried: list[ModelSpec] = []

    async def attempt(number: int) -> tuple[dict[str, Any], str | None, ModelSpec]:
        target = candidates[(number - 1) % len(candidates)]
        tried.append(target)
        body = _with_model(row.body, target)
        if limiter is not None:
            tokens = row.tokens if body is row.body else estimate_tokens(body)
            await limiter.aacquire(target.id, tokens)
        try:
            # The transport's own capped send and read: size caps and the whole-body deadline
            # hold for batch rows as for adapter calls.
            deadline = time.monotonic() + limits.timeout
            response = await _apost(client, target, body, {"follow_redirects": False}, limits)
            try:
                content = await aread_body(response, limits, deadline)
            finally:
                await response.aclose()
            _finish_completion(content, target, number)  # raises on an error body
        except errors.RateLimitError as exc:
            if limiter is not None:
                await limiter.aobserve(exc, target.id)
            raise
        return json.loads(content), response.headers.get("x-request-id"), target

    try:
        payload, request_id, target = await gateway.policy.acall(attempt, model=spec.id)
    except Exception as exc:
        last = tried[-1] if tried else spec
        return RowOutcome(_error_line(row, exc), False, len(tried), last.id, last.pool, 0, 0)
    usage = payload.get("usage") if isinstance(payload, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    response = {"status_code": 200, "request_id": request_id, "body": payload}
    return RowOutcome(
        _line(row.custom_id, response, None),
        True,
        len(tried),
        target.id,
        target.pool,
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
    )

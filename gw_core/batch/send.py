"""One batch row through the request path the adapters use, keeping the raw answer.

The row goes through :meth:`gw_core.transport.Gateway.asend`, the attempt loop behind
``acomplete``: the shared client, the one retry policy (attempt numbers pick the failover
pool), the size caps and deadlines, typed errors. What a batch adds is a hook around each
attempt: the rate limiter is asked before *every* attempt (a retry is a request the
upstream counts too) and is told about 429s. The output keeps the gateway's JSON body and
request id as the OpenAI Batch format wants them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from gw_core import errors
from gw_core.batch.files import Row
from gw_core.catalog import ModelSpec
from gw_core.limits import RateLimiter, estimate_tokens
from gw_core.transport import Gateway

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


class _Attempts:
    """A row's attempts: the targets tried, the limiter asked before each one and told
    about each 429 (a retry is a request the upstream counts too)."""

    def __init__(self, row: Row, limiter: RateLimiter | None) -> None:
        self._row = row
        self._limiter = limiter
        self.tried: list[ModelSpec] = []

    async def before(self, target: ModelSpec, body: dict[str, Any]) -> None:
        self.tried.append(target)
        if self._limiter is not None:
            row = self._row
            tokens = row.tokens if body is row.body else estimate_tokens(body)
            await self._limiter.aacquire(target.id, tokens)

    async def failed(self, target: ModelSpec, error: Exception) -> None:
        if self._limiter is not None and isinstance(error, errors.RateLimitError):
            await self._limiter.aobserve(error, target.id)


async def send_row(gateway: Gateway, row: Row, limiter: RateLimiter | None) -> RowOutcome:
    """Send ``row``; every failure becomes an error line (never raised), but cancellation."""
    attempts = _Attempts(row, limiter)
    try:
        answer = await gateway.asend(row.body, row.spec, hook=attempts)
    except Exception as exc:
        last = attempts.tried[-1] if attempts.tried else row.spec
        count = len(attempts.tried)
        return RowOutcome(_error_line(row, exc), False, count, last.id, last.pool, 0, 0)
    payload, route = answer.payload, answer.completion.route
    usage = payload.get("usage") if isinstance(payload, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    response = {"status_code": 200, "request_id": answer.request_id, "body": payload}
    return RowOutcome(
        _line(row.custom_id, response, None),
        True,
        len(attempts.tried),
        route.model,
        route.pool,
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
    )

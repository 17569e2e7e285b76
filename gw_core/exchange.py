"""One request on the wire: post it, decode its answer, and type every failure.

The pieces that a non-streaming call (:mod:`gw_core.transport`), a stream
(:mod:`gw_core.streaming`) and a batch row all use for one attempt: the POST itself (with
the error-body cap of the request in flight), the model id of the attempt's pool, the
decoding of a whole JSON answer, and :func:`map_error`, the one place where an openai /
httpx / httpx2 failure becomes a :mod:`gw_core.errors` type (so the retry policy only
classifies our own errors).

Every request is sent with ``stream=True``: the body is then read by
:mod:`gw_core.reading`, under the caps and the deadline, never by the SDK (which would read
any size, for any time).

A typed error is raised outside the ``except`` block that caught the SDK's on purpose:
raised inside it, Python would chain the SDK's exception as ``__context__``, and that
one's text repeats the whole response body (which can echo the key back).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from gw_core import errors
from gw_core.catalog import ModelSpec
from gw_core.client import httpx_module
from gw_core.failures import connection_error
from gw_core.reading import Limits, error_body_cap
from gw_core.retry import parse_retry_after
from gw_core.wire.response import parse_completion
from gw_core.wire.types import ChatResult

__all__ = [
    "SDK",
    "Completion",
    "Route",
    "apost",
    "cause",
    "decode_completion",
    "map_error",
    "post",
    "retryable_event_error",
    "retyped",
    "sdk",
    "with_model",
]

_PATH = "/chat/completions"


@dataclass(frozen=True, slots=True)
class Route:
    """Which model id (and so which pool) answered, after how many attempts."""

    model: str
    pool: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished non-streaming call."""

    result: ChatResult
    route: Route


@dataclass(frozen=True, slots=True)
class SDK:
    """The SDK's exception classes, looked up once the SDK is first needed."""

    status_error: type[BaseException]
    timeouts: tuple[type[BaseException], ...]
    connection_errors: tuple[type[BaseException], ...]
    connection_error: type[BaseException]
    timeout: Any


@cache
def sdk() -> SDK:
    """The installed SDK's classes (imported on first use: ``import openai`` is slow)."""
    import openai

    httpx = httpx_module()
    return SDK(
        status_error=openai.APIStatusError,
        timeouts=(openai.APITimeoutError, httpx.TimeoutException),
        connection_errors=(openai.APIConnectionError, httpx.TransportError),
        connection_error=openai.APIConnectionError,
        timeout=openai.Timeout,
    )


# -- failures -------------------------------------------------------------------------------


def _should_retry_header(headers: Mapping[str, str]) -> bool | None:
    value = headers.get("x-should-retry")
    if value is None:
        return None
    return value.strip().lower() == "true"


def map_error(exc: BaseException, *, model: str | None = None) -> BaseException:
    """The typed error for any failure the SDK or its HTTP library raised."""
    if isinstance(exc, errors.GatewayError):
        return exc
    classes = sdk()
    if isinstance(exc, classes.status_error):
        response = exc.response  # type: ignore[attr-defined]
        headers = response.headers
        try:
            body: Any = response.content
        except Exception:  # a streamed error body that could not be read
            body = exc.message  # type: ignore[attr-defined]
        return errors.error_from_body(
            body,
            status_code=exc.status_code,  # type: ignore[attr-defined]
            request_id=headers.get("x-request-id"),
            retry_after=parse_retry_after(headers),
            should_retry=_should_retry_header(headers),
            model=model,
        )
    if isinstance(exc, (*classes.timeouts, *classes.connection_errors)):
        # Where we tried to go and why it failed (refused, DNS, TLS, timeout): failures.py
        return connection_error(exc, timed_out=isinstance(exc, classes.timeouts))
    return exc


def retryable_event_error(err: errors.GatewayAPIError) -> errors.GatewayAPIError:
    """An error event (or 200 error body) has no HTTP status: take it from the code.

    Before the first chunk such an error is the upstream failing to start, which is
    worth a retry unless its code says otherwise.
    """
    if err.status_code is not None:
        return err
    status = 502
    if err.code and err.code.isdigit() and 400 <= int(err.code) <= 599:
        status = int(err.code)
    payload = {"error": {"message": err.message, "code": err.code, "type": err.type}}
    return errors.error_from_body(payload, status_code=status, model=err.model)


def cause(exc: BaseException) -> BaseException | None:
    """The ``__cause__`` a typed error keeps: transport causes help debugging; SDK status
    errors are dropped, because their text repeats the whole response body."""
    return None if isinstance(exc, sdk().status_error) else exc


def retyped(exc: BaseException, mapped: BaseException) -> BaseException:
    """``mapped`` ready to raise in place of ``exc`` (``exc`` itself when nothing changed)."""
    if mapped is not exc:
        mapped.__cause__ = cause(exc)
        mapped.__suppress_context__ = True
    return mapped


# -- one request ----------------------------------------------------------------------------


def with_model(body: dict[str, Any], target: ModelSpec) -> dict[str, Any]:
    """The body as sent to ``target``'s pool (the same dict when the model already matches)."""
    if body.get("model") == target.id:
        return body
    return {**body, "model": target.id}


def post(client: Any, target: ModelSpec, body: dict[str, Any], options: Any, limits: Limits) -> Any:
    """POST ``body``; the raw (still unread) response, or a typed error."""
    token = error_body_cap.set(limits.max_error_body_bytes)
    try:
        return client.post(
            _PATH, cast_to=httpx_module().Response, body=body, options=options, stream=True
        )
    except Exception as exc:
        failure: BaseException = exc
    finally:
        error_body_cap.reset(token)
    raise retyped(failure, map_error(failure, model=target.id))


async def apost(
    client: Any, target: ModelSpec, body: dict[str, Any], options: Any, limits: Limits
) -> Any:
    """Async twin of :func:`post`."""
    token = error_body_cap.set(limits.max_error_body_bytes)
    try:
        return await client.post(
            _PATH, cast_to=httpx_module().Response, body=body, options=options, stream=True
        )
    except Exception as exc:
        failure: BaseException = exc
    finally:
        error_body_cap.reset(token)
    raise retyped(failure, map_error(failure, model=target.id))


# -- a whole answer -------------------------------------------------------------------------


def decode_completion(content: bytes, target: ModelSpec, attempt: int) -> tuple[Any, Completion]:
    """A non-streaming answer: its JSON as sent, and its :class:`Completion`.

    Not JSON is :class:`MalformedResponseError`; an error body (with a 200) raises its typed
    error, retryable by its code like an error event before a stream's first chunk.
    """
    try:
        payload = json.loads(content)
    except (ValueError, RecursionError):
        raise errors.MalformedResponseError(
            f"the gateway's response for {target.id} is not JSON (or nested too deeply): "
            f"{len(content)} bytes starting {errors.excerpt(content, 60)!r}"
        ) from None
    try:
        result = parse_completion(payload)
    except errors.GatewayAPIError as err:
        err.model = target.id
        raise retryable_event_error(err) from None
    return payload, Completion(result, Route(target.id, target.pool, attempt))

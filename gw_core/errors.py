"""Typed errors users can catch, and the one place that maps transport failures to them.

The tree::

    GatewayError
    ├── GatewayAPIError                  the gateway answered with an error status
    │   ├── BadRequestError              400, 413, 422 (not retried)
    │   │   └── ContextOverflowError     the prompt is longer than the context window
    │   ├── AuthenticationError          401 (not retried)
    │   ├── PermissionDeniedError        403 (not retried)
    │   │   └── QuotaExceededError       quota / balance exhausted (any status, not retried)
    │   ├── NotFoundError                404 (not retried)
    │   ├── ModelNotFoundError           no channel serves the model (404/503, not retried)
    │   ├── ConflictError                409 (retried)
    │   ├── RateLimitError               429 (retried; .retry_after holds the server's wait)
    │   └── ServerError                  5xx (retried), including HTML error pages
    ├── GatewayConnectionError           no response: refused, reset, DNS (retried)
    │   └── GatewayTimeoutError          connect or read timeout (retried)
    ├── StreamError                      a stream failed after it started (.partial_text)
    │   ├── StreamInterruptedError       connection lost or error event after the first chunk
    │   ├── IncompleteStreamError        the stream ended without a finish_reason
    │   ├── StreamStalledError           no chunk within the stall timeout
    │   └── StreamDeadlineError          the stream ran past stream_timeout
    ├── MalformedResponseError           a body or chunk that is not the protocol
    │   ├── ResponseTooLargeError        a body, event or stream over its size limit
    │   └── InvalidToolCallError         a finished turn's tool call arguments are not JSON
    └── GatewayInputError (ValueError)   refused locally, before any request
        ├── ParameterError               a parameter the upstream would reject
        ├── CapabilityError              content the model cannot take (e.g. video)
        └── PayloadTooLargeError         an image or video over the size limit

Messages never carry the API key, request headers or whole response bodies: only the
gateway's own ``error.message`` (truncated) and the fields users branch on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gw_core import catalog

__all__ = [
    "PUBLIC_ERRORS",
    "AuthenticationError",
    "BadRequestError",
    "CapabilityError",
    "ConflictError",
    "ContextOverflowError",
    "GatewayAPIError",
    "GatewayConnectionError",
    "GatewayError",
    "GatewayInputError",
    "GatewayTimeoutError",
    "IncompleteStreamError",
    "InvalidToolCallError",
    "MalformedResponseError",
    "ModelNotFoundError",
    "NotFoundError",
    "ParameterError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "StreamDeadlineError",
    "StreamError",
    "StreamInterruptedError",
    "StreamStalledError",
    "error_from_body",
    "error_from_status",
    "excerpt",
    "register_secret",
    "scrub",
]

_MAX_MESSAGE = 300

#: ``error.code`` values aggregator gateways use for an exhausted balance or quota.
QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "insufficient_user_quota",
        "pre_consume_token_quota_failed",
        "quota_exceeded",
        "billing_hard_limit_reached",
    }
)
#: ``error.code`` values, and message fragments, of a prompt over the context window
#: (OpenAI, Anthropic, Gemini and aggregator spellings).
CONTEXT_OVERFLOW_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_OVERFLOW_TEXT = (
    "maximum context length",
    "context length exceeded",
    "context_length_exceeded",
    "prompt is too long",
    "input token count",
    "exceeds the context window",
    "too many tokens",
)
#: ``error.code`` values for "no channel serves this model".
MODEL_NOT_FOUND_CODES = frozenset({"model_not_found", "model_not_available"})


class GatewayError(Exception):
    """Base of every error this library raises on purpose.

    Every text argument passes :func:`scrub`: no subclass can carry a key by mistake.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))


class GatewayAPIError(GatewayError):
    """The gateway answered with an error status.

    ``status_code``, ``code`` (str or None, whatever type the gateway used), ``type``,
    ``request_id`` and ``retry_after`` (seconds the server asked us to wait, if it did)
    are there to branch on; the message is the gateway's own, truncated.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        type: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        model: str | None = None,
    ) -> None:
        self.message = _truncate(message)
        self.status_code = status_code
        # Every string the gateway sent can echo the key: scrubbed and bounded, like the
        # message.
        self.code = _field(code)
        self.type = _field(type)
        self.request_id = _field(request_id)
        self.retry_after = retry_after
        #: The server's ``x-should-retry`` header, when it sent one.
        self.should_retry = should_retry
        self.model = _field(model)
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.status_code} " if self.status_code is not None else ""
        bits = [f"{head}{type(self).__name__}: {self.message}"]
        if self.code:
            bits.append(f"code={self.code}")
        if self.model:
            bits.append(f"model={self.model}")
        if self.retry_after is not None:
            bits.append(f"retry_after={self.retry_after:g}s")
        if self.request_id:
            bits.append(f"request_id={self.request_id}")
        return " | ".join(bits)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor: teach pickle (and copy, multiprocessing) to rebuild it.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[GatewayAPIError], message: str, state: dict[str, Any]) -> GatewayAPIError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    err.args = (err._render(),)
    return err


class BadRequestError(GatewayAPIError):
    """400/413/422: the request itself is wrong; retrying cannot help."""


class ContextOverflowError(BadRequestError):
    """The prompt (with the output limit) is longer than the model's context window."""


class AuthenticationError(GatewayAPIError):
    """401: the key is missing, wrong or revoked. Check ``GW_API_KEY``."""


class PermissionDeniedError(GatewayAPIError):
    """403: the key may not use this model or pool."""


class QuotaExceededError(PermissionDeniedError):
    """The account's balance or quota is exhausted; retrying cannot help."""


class NotFoundError(GatewayAPIError):
    """404: wrong path. Check ``GW_BASE_URL``."""

    def _render(self) -> str:
        # A 404 on the one endpoint there is means the base URL is wrong, not the model.
        return f"{super()._render()} | check base_url / GW_BASE_URL (the part before /v1)"


class ModelNotFoundError(GatewayAPIError):
    """No channel of the gateway serves this model id (in this pool).

    The message ends with what to try: the closest catalog ids for an id the catalog
    does not know ("did you mean claude-sonnet-4-6?"), other pools for one it does.
    """

    def _render(self) -> str:
        hint = _model_hint(self.model) if self.model else None
        return f"{super()._render()} | {hint}" if hint else super()._render()


def _model_hint(model: str) -> str:
    spec = catalog.parse(model)
    if spec.known:
        pools = next(base.pools for base in catalog.BASES if base.name == spec.base)
        others = [pool for pool in pools if pool != spec.pool]
        tail = f": try another pool, e.g. pools={others[:2]!r}" if others else ""
        return f"{model} is in the catalog but no channel serves it right now{tail}"
    near = catalog.closest(model)
    if near:
        also = f"or {', '.join(near[1:])}; " if near[1:] else ""
        return f"did you mean {near[0]}? ({also}`gw models --ids` lists every id)"
    return "no catalog id is close; `gw models --ids` lists every id"


class ConflictError(GatewayAPIError):
    """409: a transient conflict upstream; retried."""


class RateLimitError(GatewayAPIError):
    """429 (or a wait the budget cannot afford). ``retry_after`` says how long to wait."""


class ServerError(GatewayAPIError):
    """5xx from the gateway or its proxy (HTML error pages included); retried."""


class GatewayConnectionError(GatewayError):
    """No usable response: connection refused, reset, or closed before the headers."""


class GatewayTimeoutError(GatewayConnectionError):
    """Connect or read timeout before the response (or first chunk) arrived."""


class StreamError(GatewayError):
    """A stream failed after output began; ``partial_text`` holds what had arrived.

    Never retried automatically: tokens already reached the caller.
    """

    def __init__(self, message: str, *, partial_text: str = "", model: str | None = None) -> None:
        self.partial_text = partial_text
        self.model = model
        super().__init__(scrub(message))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_stream, (type(self), self.args[0], self.partial_text, self.model))


def _rebuild_stream(
    cls: type[StreamError], message: str, partial_text: str, model: str | None
) -> StreamError:
    return cls(message, partial_text=partial_text, model=model)


class StreamInterruptedError(StreamError):
    """The connection broke, or the gateway sent an error event, mid-stream."""

    #: The gateway's error, when the interruption was an ``{"error": ...}`` event.
    cause: GatewayAPIError | None = None


class IncompleteStreamError(StreamError):
    """The stream ended (with or without ``[DONE]``) but no chunk carried a finish_reason."""


class StreamStalledError(StreamError):
    """No chunk arrived within the stall timeout; the connection was closed."""


class StreamDeadlineError(StreamError):
    """The whole stream took longer than ``stream_timeout``; the connection was closed."""


class MalformedResponseError(GatewayError):
    """A response body or stream chunk that does not follow the protocol."""


class ResponseTooLargeError(MalformedResponseError):
    """A body, one stream event, or a whole stream went over its size limit.

    Never retried (the same answer would be downloaded again). ``limit`` names the
    setting to raise; ``partial_text`` holds the text a stream had delivered.
    """

    def __init__(self, message: str, *, limit: str, max_bytes: int, partial_text: str = "") -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.partial_text = partial_text
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_too_large,
            (self.args[0], self.limit, self.max_bytes, self.partial_text),
        )


def _rebuild_too_large(
    message: str, limit: str, max_bytes: int, partial_text: str
) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        message, limit=limit, max_bytes=max_bytes, partial_text=partial_text
    )


class InvalidToolCallError(MalformedResponseError):
    """A finished turn holds a tool call whose arguments are not one JSON object.

    Cut at the output limit or malformed: never run with guessed or repaired arguments.
    ``tool_name``, ``arguments`` (as received) and ``partial_text`` keep what arrived.
    """

    def __init__(
        self,
        message: str,
        *,
        tool_name: str = "",
        arguments: str = "",
        partial_text: str = "",
        model: str | None = None,
    ) -> None:
        self.tool_name = tool_name
        self.arguments = arguments
        self.partial_text = partial_text
        self.model = model
        super().__init__(scrub(message))

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields: rebuild them on unpickling (worker processes, Ray).
        return (_rebuild_invalid_tool_call, (self.args[0], self.__dict__.copy()))


def _rebuild_invalid_tool_call(message: str, state: dict[str, Any]) -> InvalidToolCallError:
    error = InvalidToolCallError(message)
    error.__dict__.update(state)
    return error


class GatewayInputError(GatewayError, ValueError):
    """Refused locally, before any request: the message says what to change."""


class ParameterError(GatewayInputError):
    """A parameter value the upstream model is known to reject."""


class CapabilityError(GatewayInputError):
    """Content the model cannot take, such as video for a non-Gemini model."""


class PayloadTooLargeError(GatewayInputError):
    """An attachment over the size the gateway accepts inline."""


# Keys in use in this process. Gateways sometimes echo the key in an error message
# ("Incorrect API key provided: sk-..."), a code, a header or a body; every string an error
# carries is scrubbed of them here, the one place all our errors are built.
_SECRETS: dict[str, re.Pattern[str] | None] = {}
_MIN_FRAGMENT = 4  # a key's head or tail cut by an excerpt's edge, from this length on
_SHORT_KEY = 8
_MAX_FIELD = 200


def register_secret(secret: str) -> None:
    """Remember a key so that no error message built in this process can carry it.

    Keys of any length count. A short key (under 8 characters) is matched as a whole
    token only (not inside a longer word), so that ``"k"`` does not eat every letter k.
    """
    if not secret or secret in _SECRETS:
        return
    pattern = None
    if len(secret) < _SHORT_KEY:
        pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])")
    _SECRETS[secret] = pattern


def scrub(text: str) -> str:
    """``text`` with every registered key replaced by ``***``, whatever its length.

    A key cut short at either edge of ``text`` (an excerpt of a longer body ends in the
    key's first characters, or begins with its last ones) is replaced too.
    """
    for secret, pattern in sorted(_SECRETS.items(), key=lambda item: -len(item[0])):
        if secret in text:
            text = text.replace(secret, "***") if pattern is None else pattern.sub("***", text)
        if len(secret) > _MIN_FRAGMENT:
            text = _scrub_edges(text, secret)
    return text


def _scrub_edges(text: str, secret: str) -> str:
    longest = min(len(secret) - 1, len(text))
    for size in range(longest, _MIN_FRAGMENT - 1, -1):
        if text.endswith(secret[:size]):
            text = text[:-size] + "***"
            break
    longest = min(len(secret) - 1, len(text))
    for size in range(longest, _MIN_FRAGMENT - 1, -1):
        if text.startswith(secret[-size:]):
            return "***" + text[size:]
    return text


def excerpt(text: str | bytes, limit: int = 80) -> str:
    """A short, scrubbed, one-line excerpt of something the gateway sent (for messages)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[: limit * 4]).decode("utf-8", "replace")
    # Scrub before cutting, so no key is cut in half by the excerpt's own edge.
    text = scrub(" ".join(text[: limit * 4].split()))
    if len(text) > limit:
        text = scrub(text[: limit - 1]) + "…"
    return text


def _field(value: str | None) -> str | None:
    """A short string field the gateway sent (code, type, request id, model), scrubbed."""
    if value is None:
        return None
    value = scrub(str(value))
    return value if len(value) <= _MAX_FIELD else value[: _MAX_FIELD - 1] + "…"


def _truncate(message: str) -> str:
    message = scrub(" ".join(str(message).split()))
    if len(message) > _MAX_MESSAGE:
        return scrub(message[: _MAX_MESSAGE - 1]) + "…"
    return message


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<!doctype") or head.startswith("<html") or "<html" in head


def _html_title(text: str) -> str | None:
    lowered = text.lower()
    start = lowered.find("<title>")
    end = lowered.find("</title>")
    if start == -1 or end <= start:
        return None
    return " ".join(text[start + 7 : end].split()) or None


def _parse_error_body(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, code, type) from an OpenAI/new-api/LiteLLM/OpenRouter style body."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None, None, None
    if not isinstance(body, dict):
        return None, None, None
    err = body.get("error", body)
    if isinstance(err, str):
        return err, None, None
    if not isinstance(err, dict):
        return None, None, None
    message = err.get("message")
    code = err.get("code")
    etype = err.get("type")
    return (
        str(message) if message is not None else None,
        str(code) if code not in (None, "") else None,
        str(etype) if etype not in (None, "") else None,
    )


def error_from_body(
    body: Any,
    *,
    status_code: int | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    should_retry: bool | None = None,
    model: str | None = None,
) -> GatewayAPIError:
    """Build the typed error for an error body (JSON, HTML or text) and status.

    Also used for ``{"error": ...}`` events inside a stream, where there is no status.
    """
    message, code, etype = _parse_error_body(body)
    if message is None:
        text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else body
        if isinstance(text, str) and _looks_like_html(text):
            title = _html_title(text)
            message = f"the gateway's proxy answered with an HTML page ({title or 'no title'})"
        elif isinstance(text, str) and text.strip():
            message = text
        else:
            message = "the gateway answered with an empty error body"
    cls = _class_for(status_code, code, etype)
    if _is_context_overflow(cls, code, message):
        cls = ContextOverflowError
    return cls(
        message,
        status_code=status_code,
        code=code,
        type=etype,
        request_id=request_id,
        retry_after=retry_after,
        should_retry=should_retry,
        model=model,
    )


def _is_context_overflow(cls: type[GatewayAPIError], code: str | None, message: str) -> bool:
    if (code or "").lower() in CONTEXT_OVERFLOW_CODES:
        return cls in (BadRequestError, GatewayAPIError)
    lowered = message.lower()
    return cls is BadRequestError and any(text in lowered for text in _CONTEXT_OVERFLOW_TEXT)


def error_from_status(status_code: int, message: str, **fields: Any) -> GatewayAPIError:
    """Build the typed error for a status when there is no body worth parsing."""
    return _class_for(status_code, fields.get("code"), fields.get("type"))(
        message, status_code=status_code, **fields
    )


def _class_for(status: int | None, code: str | None, etype: str | None) -> type[GatewayAPIError]:
    lowered = (code or "").lower()
    if lowered in QUOTA_CODES or (etype or "").lower() in QUOTA_CODES:
        return QuotaExceededError
    if lowered in MODEL_NOT_FOUND_CODES:
        return ModelNotFoundError
    if status is None:
        return GatewayAPIError
    if status in (400, 413, 422):
        return BadRequestError
    if status == 401:
        return AuthenticationError
    if status == 402:
        return QuotaExceededError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return GatewayAPIError


def _public_errors() -> tuple[type[GatewayError], ...]:
    """Every error class defined in this module, parents before children."""
    return tuple(
        value
        for name, value in globals().items()
        if isinstance(value, type)
        and issubclass(value, GatewayError)
        and value.__module__ == __name__
        and not name.startswith("_")
    )


#: The public error list, the one source of truth: ``gw_core``, ``langchain_gw`` and
#: ``llamaindex_gw`` each export exactly these (a test iterates it for all three).
PUBLIC_ERRORS: tuple[type[GatewayError], ...] = _public_errors()

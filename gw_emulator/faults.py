"""Faults the emulator can inject, as immutable values built by named constructors.

A :class:`Fault` describes *what goes wrong* with one response; the server decides *how*
to do it on the wire. Every failure mode of the gateway contract has a constructor:
error statuses with their retry headers, HTML error pages, aggregator quota and
unknown-model errors, a delay before headers, a connection reset, a stream cut, an error
event mid-stream, a malformed chunk and a stall between chunks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Fault"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_NGINX_PAGE = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status`` (``"Error"`` for unusual codes)."""
    return _REASONS.get(status, "OK" if 200 <= status < 300 else "Error")


def error_body(
    message: str, *, type_: str, code: str | int | None, param: str | None = None
) -> dict[str, Any]:
    """The OpenAI-style error envelope ``{"error": {...}}`` every aggregator uses."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass(frozen=True)
class Fault:
    """One injected failure. Build it with a constructor (``Fault.status(429)``...).

    How the emulator plays a queued fault: it is taken by the next matching chat request
    after the key check (so a 401 never uses one). Error faults (``status``, ``html``,
    ``quota``, ``model_not_found``) replace the answer and ``reset`` drops the connection;
    the others shape whatever answer the request gets, a 400 included. Fields are the
    union of what the constructors need; :attr:`name` is the summary in the request log.
    """

    kind: str
    status_code: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    retry_after_seconds: float | None = None
    retry_after_date: bool = False
    after_chunks: int = 0
    seconds: float = 0.0
    done: bool = False
    message: str = ""
    code: str | int | None = None
    label: str = ""

    @property
    def name(self) -> str:
        """A short readable description, e.g. ``"status(429)"`` or ``"cut(after_chunks=2)"``."""
        return self.label or self.kind

    # -- error responses -------------------------------------------------------------

    @classmethod
    def status(
        cls,
        status_code: int,
        /,
        *,
        retry_after: float | str | None = None,
        retry_after_ms: int | None = None,
        retry_after_date: bool = False,
        should_retry: bool | None = None,
        body: dict[str, Any] | None = None,
        code: str | int | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer with ``status_code`` and an OpenAI-style JSON error body.

        ``retry_after`` sets ``Retry-After`` (a number of seconds, or a string sent as
        is); with ``retry_after_date=True`` the number is sent as an HTTP date that many
        seconds ahead. ``retry_after_ms`` sets ``retry-after-ms``; ``should_retry`` sets
        ``x-should-retry``. ``body`` replaces the whole JSON body.
        """
        if not 400 <= status_code <= 599:
            raise ValueError(
                f"status_code must be an HTTP error status (400-599), not {status_code}"
            )
        if retry_after_date and not isinstance(retry_after, (int, float)):
            raise ValueError("retry_after_date=True needs retry_after as a number of seconds")
        headers: list[tuple[str, str]] = []
        seconds: float | None = None
        if isinstance(retry_after, str):
            headers.append(("retry-after", retry_after))
        elif retry_after is not None and not retry_after_date:
            headers.append(("retry-after", _format_seconds(retry_after)))
        elif retry_after is not None:
            seconds = float(retry_after)
        if retry_after_ms is not None:
            headers.append(("retry-after-ms", str(int(retry_after_ms))))
        if should_retry is not None:
            headers.append(("x-should-retry", "true" if should_retry else "false"))
        if body is None:
            text = message or f"emulated upstream error: HTTP {status_code}"
            type_ = _ERROR_TYPES.get(status_code, "server_error" if status_code >= 500 else "")
            body = error_body(text, type_=type_ or "invalid_request_error", code=code)
        return cls(
            kind="status",
            status_code=status_code,
            body=json.dumps(body, ensure_ascii=False).encode(),
            headers=tuple(headers),
            retry_after_seconds=seconds,
            retry_after_date=retry_after_date,
            label=f"status({status_code})",
        )

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """An nginx-style HTML error page, as a proxy in front of the gateway sends it."""
        page = _NGINX_PAGE.format(code=status, reason=reason_phrase(status))
        return cls(
            kind="html",
            status_code=status,
            body=page.encode(),
            content_type="text/html",
            label=f"html({status})",
        )

    @classmethod
    def quota(cls) -> Fault:
        """403 ``insufficient_user_quota`` with new-api's Chinese message (not retryable)."""
        body = {
            "error": {
                "message": "用户额度不足, 剩余额度: ＄0.000000 (request id: emu-quota)",
                "type": "new_api_error",
                "code": "insufficient_user_quota",
            }
        }
        return cls(
            kind="quota",
            status_code=403,
            body=json.dumps(body, ensure_ascii=False).encode(),
            label="quota",
        )

    @classmethod
    def model_not_found(cls) -> Fault:
        """503 ``model_not_found``, as new-api answers when no channel serves the model."""
        return cls(kind="model_not_found", status_code=503, label="model_not_found")

    # -- connection-level faults -----------------------------------------------------

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds`` before sending the headers, then answer normally."""
        _check_seconds(seconds)
        return cls(kind="delay", seconds=seconds, label=f"delay({seconds:g}s)")

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection with a TCP reset and no response at all."""
        return cls(kind="reset", label="reset")

    # -- stream faults -----------------------------------------------------------------

    @classmethod
    def cut(cls, after_chunks: int, *, done: bool = False) -> Fault:
        """Send ``after_chunks`` content chunks, never a ``finish_reason``, then close.

        With ``done=True`` the stream ends cleanly with ``data: [DONE]`` (as some gateways
        do after an upstream timeout), so the only sign is the missing finish_reason. On a
        non-streaming request the body is cut in the middle.
        """
        _check_chunks(after_chunks)
        label = f"cut(after_chunks={after_chunks}{', done' if done else ''})"
        return cls(kind="cut", after_chunks=after_chunks, done=done, label=label)

    @classmethod
    def error_event(
        cls,
        after_chunks: int,
        *,
        message: str = "upstream stream error",
        code: str | int | None = "stream_error",
    ) -> Fault:
        """After ``after_chunks`` content chunks, an ``{"error": {...}}`` event, then close.

        On a non-streaming request: HTTP 200 with the error object as the body.
        """
        _check_chunks(after_chunks)
        return cls(
            kind="error_event",
            after_chunks=after_chunks,
            message=message,
            code=code,
            label=f"error_event(after_chunks={after_chunks})",
        )

    @classmethod
    def malformed(cls, after_chunks: int) -> Fault:
        """After ``after_chunks`` content chunks, a ``data: {not json`` event.

        The rest of the stream follows normally, so a tolerant client can finish. On a
        non-streaming request the body is not JSON.
        """
        _check_chunks(after_chunks)
        return cls(
            kind="malformed",
            after_chunks=after_chunks,
            label=f"malformed(after_chunks={after_chunks})",
        )

    @classmethod
    def stall(cls, after_chunks: int, seconds: float) -> Fault:
        """After ``after_chunks`` content chunks, send nothing for ``seconds``, then go on.

        On a non-streaming request the headers go out at once and the body after the stall.
        """
        _check_chunks(after_chunks)
        _check_seconds(seconds)
        return cls(
            kind="stall",
            after_chunks=after_chunks,
            seconds=seconds,
            label=f"stall(after_chunks={after_chunks}, {seconds:g}s)",
        )


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _check_chunks(after_chunks: int) -> None:
    if isinstance(after_chunks, bool) or not isinstance(after_chunks, int) or after_chunks < 0:
        raise ValueError(f"after_chunks must be an int >= 0, not {after_chunks!r}")


def _check_seconds(seconds: float) -> None:
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError(f"seconds must be a number >= 0, not {seconds!r}")

"""Checks about the gateway as a whole: the key, the model list, error shapes, rate limits."""

from __future__ import annotations

import dataclasses
import secrets as _secrets

from pydantic import SecretStr

from gw_cli.doctor.context import SMALL_ANSWER, Context, user
from gw_cli.doctor.report import CheckResult, Status, excerpt
from gw_core.catalog import all_ids
from gw_core.errors import (
    MODEL_NOT_FOUND_CODES,
    AuthenticationError,
    error_from_body,
    register_secret,
)
from gw_core.retry import is_retryable, parse_retry_after
from gw_core.settings import Settings

__all__ = [
    "UNKNOWN_MODEL_ID",
    "check_auth",
    "check_bad_key",
    "check_models_endpoint",
    "check_rate_limit_headers",
    "check_unknown_model",
]

#: A model id no gateway serves, for the unknown-model error check.
UNKNOWN_MODEL_ID = "gw-doctor-no-such-model"


def _ping(model: str) -> dict[str, object]:
    return {
        "model": model,
        "messages": [user("Reply with: ok")],
        "max_completion_tokens": SMALL_ANSWER,
    }


def check_auth(ctx: Context, model: str) -> tuple[CheckResult, bool]:
    """One tiny call with the configured key; the run stops (``False``) when the key is
    refused or the gateway does not answer at all."""
    ex = ctx.probe.chat(_ping(model))
    if ex.ok:
        return ctx.result("auth", model, Status.PASS, "the key was accepted", ex), True
    if ex.status in (401, 403):
        detail = f"the gateway refused the key (HTTP {ex.status}): check GW_API_KEY"
        return ctx.result("auth", model, Status.FAIL, detail, ex), False
    if ex.status is None:
        return ctx.failed("auth", model, ex), False
    # Another error is about the model or the moment, not the key: the run goes on and
    # that model's own checks will say more.
    detail = f"the key was not refused; {model} answered HTTP {ex.status}"
    return ctx.result("auth", model, Status.PASS, detail, ex), True


def check_models_endpoint(ctx: Context) -> CheckResult:
    """GET /v1/models, when served: does it list what our catalog lists?"""
    ex = ctx.probe.models()
    if ex.status in (404, 405):
        why = f"not served (HTTP {ex.status}); the library never depends on it"
        return ctx.result("models_endpoint", None, Status.SKIPPED, why, ex)
    if not ex.ok:
        return ctx.failed("models_endpoint", None, ex)
    data = ex.body.get("data") if isinstance(ex.body, dict) else None
    if not isinstance(data, list):
        detail = "the body has no 'data' list of models"
        return ctx.result("models_endpoint", None, Status.DIFFERS, detail, ex)
    served = {str(m.get("id")) for m in data if isinstance(m, dict)}
    catalog = set(all_ids())
    missing, extra = sorted(catalog - served), sorted(served - catalog)
    if not missing and not extra:
        detail = f"serves exactly the {len(catalog)} catalog ids"
        return ctx.result("models_endpoint", None, Status.PASS, detail, ex)
    detail = f"{len(missing)} catalog ids not listed, {len(extra)} listed ids not in our catalog"
    return ctx.result(
        "models_endpoint", None, Status.DIFFERS, detail, ex, missing=missing[:10], extra=extra[:10]
    )


def bad_key_settings(settings: Settings) -> tuple[Settings, str]:
    """The same gateway with a made-up key (registered as a secret, so it is masked too)."""
    key = "gw-doctor-invalid-" + _secrets.token_hex(8)
    register_secret(key)
    return dataclasses.replace(settings, api_key=SecretStr(key)), key


def check_bad_key(ctx: Context, settings: Settings, model: str) -> CheckResult:
    """A made-up key: 401 with an OpenAI-style error body, as our emulator answers?"""
    ex = ctx.probe.chat(_ping(model), settings=settings)
    if ex.ok:
        detail = "the gateway accepted a made-up key"
        return ctx.result("bad_key_error", model, Status.FAIL, detail, ex)
    if ex.status is None:
        return ctx.failed("bad_key_error", model, ex)
    raised = type(error_from_body(ex.text, status_code=ex.status)).__name__
    if ex.status == 401 and ex.error_object() is not None:
        code = (ex.error_object() or {}).get("code")
        detail = f"HTTP 401, code={code!r}: the library raises {raised}"
        return ctx.result("bad_key_error", model, Status.PASS, detail, ex)
    shape = "an {'error': {...}} body" if ex.error_object() else "a body that is not {'error': ...}"
    detail = f"HTTP {ex.status} with {shape}: the library raises {raised}"
    if raised != AuthenticationError.__name__:
        detail += f", not {AuthenticationError.__name__}"
    return ctx.result("bad_key_error", model, Status.DIFFERS, detail, ex)


def check_unknown_model(ctx: Context) -> CheckResult:
    """A model id nobody serves: 503 ``model_not_found``, as new-api and our emulator say?"""
    ex = ctx.probe.chat(_ping(UNKNOWN_MODEL_ID))
    name = "unknown_model_error"
    if ex.ok:
        detail = "the gateway answered for a model id that does not exist"
        return ctx.result(name, UNKNOWN_MODEL_ID, Status.DIFFERS, detail, ex)
    if ex.status is None:
        return ctx.failed(name, UNKNOWN_MODEL_ID, ex)
    code = (ex.error_object() or {}).get("code")
    err = error_from_body(ex.text, status_code=ex.status, model=UNKNOWN_MODEL_ID)
    retried = "retried" if is_retryable(err) else "not retried"
    said = f"HTTP {ex.status}, code={code!r}: the library raises {type(err).__name__} ({retried})"
    if ex.status == 503 and str(code) in MODEL_NOT_FOUND_CODES:
        return ctx.result(name, UNKNOWN_MODEL_ID, Status.PASS, said, ex)
    detail = f"{said}; our emulator answers 503 with code 'model_not_found'"
    return ctx.result(name, UNKNOWN_MODEL_ID, Status.DIFFERS, detail, ex)


def check_rate_limit_headers(ctx: Context) -> CheckResult:
    """Rate-limit headers seen on any answer of the run (passive: no request of its own)."""
    seen = ctx.probe.rate_headers
    name = "rate_limit_headers"
    if not seen:
        why = f"none seen on {ctx.probe.responses} answers"
        return ctx.result(name, None, Status.SKIPPED, why)
    values = {header: value for header, (value, _) in seen.items()}
    unreadable = [
        header
        for header in ("retry-after", "retry-after-ms")
        if header in values and parse_retry_after({header: values[header]}) is None
    ]
    listed = ", ".join(f"{h}={excerpt(v, 24)}" for h, v in sorted(values.items()))
    if unreadable:
        detail = f"{', '.join(unreadable)} in a form our retry loop cannot read: {listed}"
        return ctx.result(name, None, Status.DIFFERS, detail, headers=values)
    return ctx.result(name, None, Status.PASS, f"seen: {listed}", headers=values)

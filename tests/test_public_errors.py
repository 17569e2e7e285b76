"""Errors from one list: gw_core.errors.PUBLIC_ERRORS, exported by all three packages."""

from __future__ import annotations

import pickle
from types import ModuleType

import pytest
from langchain_core import exceptions as lc

import gw_core
import langchain_gw
import llamaindex_gw
from gw_core import errors
from gw_core.errors import PUBLIC_ERRORS, GatewayError

PACKAGES = [gw_core, langchain_gw, llamaindex_gw]


def _exported_errors(package: ModuleType) -> set[str]:
    return {
        name
        for name in package.__all__
        if isinstance(getattr(package, name), type)
        and issubclass(getattr(package, name), GatewayError)
    }


def test_the_list_holds_every_error_class_the_core_defines_and_names() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, GatewayError)
    }
    assert {error.__name__ for error in PUBLIC_ERRORS} == defined
    assert defined <= set(errors.__all__)
    for name in ("ConflictError", "NotFoundError", "PermissionDeniedError"):
        assert name in defined  # the ones the hand-copied lists had lost


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_each_package_exports_exactly_the_list(package: ModuleType) -> None:
    extra = {"MissingAPIKeyError"} if package is not gw_core else set()
    assert _exported_errors(package) == {e.__name__ for e in PUBLIC_ERRORS} | extra
    for core in PUBLIC_ERRORS:
        exported = getattr(package, core.__name__)
        assert issubclass(exported, core)  # `except gw_core.errors.X` catches it


def test_langchain_variants_are_also_langchain_exceptions_of_the_same_kind() -> None:
    kinds = {
        "BadRequestError": lc.ModelInvalidRequestError,
        "ContextOverflowError": lc.ContextOverflowError,
        "AuthenticationError": lc.ModelAuthenticationError,
        "PermissionDeniedError": lc.ModelPermissionDeniedError,
        "QuotaExceededError": lc.ModelPermissionDeniedError,
        "ModelNotFoundError": lc.ModelNotFoundError,
        "RateLimitError": lc.ModelRateLimitError,
        "ServerError": lc.ModelAPIError,
        "GatewayTimeoutError": lc.ModelTimeoutError,
    }
    for name, kind in kinds.items():
        variant = getattr(langchain_gw, name)
        assert issubclass(variant, kind), name
        assert variant.is_retryable is False  # gw_core already retried: one loop only
    assert issubclass(langchain_gw.QuotaExceededError, langchain_gw.PermissionDeniedError)
    assert issubclass(langchain_gw.ContextOverflowError, langchain_gw.BadRequestError)
    assert langchain_gw.ParameterError is errors.ParameterError  # no LangChain kind


def test_a_langchain_variant_pickles_as_itself() -> None:
    err = langchain_gw.RateLimitError("slow down", status_code=429, retry_after=2.0)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is langchain_gw.RateLimitError
    assert (back.status_code, back.retry_after, str(back)) == (429, 2.0, str(err))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("context_length_exceeded", "too long"),
        (None, "This model's maximum context length is 128000 tokens."),
        (None, "prompt is too long: 210000 tokens > 200000 maximum"),
        (None, "The input token count (1048577) exceeds the maximum number of tokens"),
    ],
)
def test_a_prompt_over_the_context_window_is_a_context_overflow_error(
    code: str | None, message: str
) -> None:
    body = {"error": {"message": message, "code": code, "type": "invalid_request_error"}}
    err = errors.error_from_body(body, status_code=400)
    assert type(err) is errors.ContextOverflowError
    assert isinstance(err, errors.BadRequestError)
    other = errors.error_from_body({"error": {"message": "bad temperature"}}, status_code=400)
    assert type(other) is errors.BadRequestError

"""The core's error list, with LangChain's own exception types mixed in where they exist.

``gw_core.errors.PUBLIC_ERRORS`` is the one list. For each error whose kind LangChain
names (``langchain_core.exceptions``: authentication, permission, invalid request, not
found, rate limit, server error, connection, timeout, context overflow), this module
builds a subclass of the core class *and* the LangChain type, so both
``except gw_core.errors.RateLimitError`` and ``except ModelRateLimitError`` catch what
``ChatGateway`` raises, and LangChain features that catch ``ContextOverflowError``
(the summarization middleware) work. Errors with no LangChain kind (input errors, stream
errors) are the core's classes themselves.

The variants say ``is_retryable = False``: ``gw_core`` already retried what was worth
retrying (one retry loop only), so LangChain's retry middleware does not retry again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from langchain_core import exceptions as lc

from gw_core.errors import PUBLIC_ERRORS, GatewayError

__all__ = ["EXPORTED", "translated"]

# Core error name -> the langchain_core type of the same kind (absent in older cores).
_KINDS = {
    "GatewayAPIError": "ModelError",
    "BadRequestError": "ModelInvalidRequestError",
    "ContextOverflowError": "ContextOverflowError",
    "AuthenticationError": "ModelAuthenticationError",
    "PermissionDeniedError": "ModelPermissionDeniedError",
    "NotFoundError": "ModelNotFoundError",
    "ModelNotFoundError": "ModelNotFoundError",
    "RateLimitError": "ModelRateLimitError",
    "ServerError": "ModelAPIError",
    "GatewayConnectionError": "ModelConnectionError",
    "GatewayTimeoutError": "ModelTimeoutError",
}


def _variants() -> dict[type[GatewayError], type[GatewayError]]:
    """Core class -> the class ``ChatGateway`` raises (itself when LangChain has no kind).

    Built in the list's order (parents first), so a variant's parent is already there:
    ``QuotaExceededError`` stays a ``PermissionDeniedError`` of this package too.
    """
    variants: dict[type[GatewayError], type[GatewayError]] = {}
    for core in PUBLIC_ERRORS:
        base = core.__base__ or object
        parent = variants.get(base) if issubclass(base, GatewayError) else None
        kind: type | None = getattr(lc, _KINDS.get(core.__name__, ""), None)
        if kind is None and (parent is None or parent is base):
            variants[core] = core
            continue
        bases: tuple[type, ...] = (core,)
        if parent is not None and parent is not base:
            bases += (parent,)
            if kind is not None and issubclass(parent, kind):
                kind = None
        if kind is not None:
            bases += (kind,)
        namespace = {"__module__": "langchain_gw", "__doc__": core.__doc__, "is_retryable": False}
        variants[core] = type(core.__name__, bases, namespace)
    return variants


_VARIANTS = _variants()
#: Every public error as ``langchain_gw`` exports it, in the core list's order.
EXPORTED: tuple[type[GatewayError], ...] = tuple(_VARIANTS[core] for core in PUBLIC_ERRORS)


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise core errors as this package's variants (same object, same message)."""
    try:
        yield
    except GatewayError as exc:
        variant = _VARIANTS.get(type(exc))
        if variant is not None and variant is not type(exc):
            with suppress(TypeError):  # a layout the class swap cannot take: keep the core's
                exc.__class__ = variant
        raise

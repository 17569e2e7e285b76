"""LlamaIndex integration for the GW gateway: ``GatewayLLM`` and the errors it raises.

    from llama_index.core import Settings
    from llamaindex_gw import GatewayLLM

    Settings.llm = GatewayLLM(model="claude-sonnet-4-6")   # key from GW_API_KEY

The error types are :mod:`gw_core.errors`' own, re-exported so LlamaIndex users can catch
them without importing the core.
"""

from gw_core.errors import (
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    GatewayAPIError,
    GatewayConnectionError,
    GatewayError,
    GatewayInputError,
    GatewayTimeoutError,
    IncompleteStreamError,
    MalformedResponseError,
    ModelNotFoundError,
    ParameterError,
    PayloadTooLargeError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
)
from gw_core.settings import MissingAPIKeyError

from ._retry_events import GatewayRetryEvent
from .base import DEFAULT_MODEL, GatewayLLM

__all__ = [
    "DEFAULT_MODEL",
    "AuthenticationError",
    "BadRequestError",
    "CapabilityError",
    "GatewayAPIError",
    "GatewayConnectionError",
    "GatewayError",
    "GatewayInputError",
    "GatewayLLM",
    "GatewayRetryEvent",
    "GatewayTimeoutError",
    "IncompleteStreamError",
    "MalformedResponseError",
    "MissingAPIKeyError",
    "ModelNotFoundError",
    "ParameterError",
    "PayloadTooLargeError",
    "QuotaExceededError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "StreamInterruptedError",
    "StreamStalledError",
]

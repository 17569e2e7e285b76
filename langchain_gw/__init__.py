"""LangChain integration for the gateway: :class:`ChatGateway`.

The error types users catch are re-exported from :mod:`gw_core.errors`, so application
code needs only this package::

    from langchain_gw import ChatGateway, RateLimitError, StreamInterruptedError
"""

from __future__ import annotations

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
from langchain_gw.chat_models import ChatGateway

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CapabilityError",
    "ChatGateway",
    "GatewayAPIError",
    "GatewayConnectionError",
    "GatewayError",
    "GatewayInputError",
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

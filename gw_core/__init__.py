"""Framework-free core shared by the LangChain and LlamaIndex adapters.

The model catalog, settings, the openai client factory, the one retry policy, typed
errors, wire shaping and stream assembly, and the gateway emulator. Heavy modules (the
openai SDK behind :class:`Gateway`, the emulator) load on first use, so importing the
package for its errors or catalog stays cheap.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import TYPE_CHECKING, Any

from gw_core._version import __version__
from gw_core.catalog import Family, ModelSpec, parse
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
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
)

if TYPE_CHECKING:
    from gw_core.emulator import Fault, GatewayEmulator, ScriptedReply, ScriptedToolCall
    from gw_core.retry import RetryPolicy
    from gw_core.settings import Settings
    from gw_core.transport import Gateway

# A library adds no handlers of its own: retries are logged at WARNING on "gw_core.retry"
# for applications that configure logging, and stay silent otherwise.
logging.getLogger("gw_core").addHandler(logging.NullHandler())

_LAZY = {
    "Gateway": "gw_core.transport",
    "RetryPolicy": "gw_core.retry",
    "Settings": "gw_core.settings",
    "GatewayEmulator": "gw_core.emulator",
    "Fault": "gw_core.emulator",
    "ScriptedReply": "gw_core.emulator",
    "ScriptedToolCall": "gw_core.emulator",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gw_core' has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CapabilityError",
    "Family",
    "Fault",
    "Gateway",
    "GatewayAPIError",
    "GatewayConnectionError",
    "GatewayEmulator",
    "GatewayError",
    "GatewayInputError",
    "GatewayTimeoutError",
    "IncompleteStreamError",
    "MalformedResponseError",
    "ModelNotFoundError",
    "ModelSpec",
    "ParameterError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RetryPolicy",
    "ScriptedReply",
    "ScriptedToolCall",
    "ServerError",
    "Settings",
    "StreamError",
    "StreamInterruptedError",
    "StreamStalledError",
    "__version__",
    "parse",
]

"""LlamaIndex integration for the GW gateway: ``GatewayLLM`` and the errors it raises.

    from llama_index.core import Settings
    from llamaindex_gw import GatewayLLM

    Settings.llm = GatewayLLM(model="claude-sonnet-4-6")   # key from GW_API_KEY

The error types are :mod:`gw_core.errors`' own list (``PUBLIC_ERRORS``), re-exported so
LlamaIndex users can catch them without importing the core.
"""

from typing import TYPE_CHECKING

from gw_core.errors import PUBLIC_ERRORS
from gw_core.settings import MissingAPIKeyError

from ._retry_events import GatewayRetryEvent
from .base import DEFAULT_MODEL, GatewayLLM

if TYPE_CHECKING:
    from gw_core.errors import *  # noqa: F403  (PUBLIC_ERRORS, spelled out for type checkers)

globals().update({error.__name__: error for error in PUBLIC_ERRORS})

__all__ = [
    "DEFAULT_MODEL",
    "GatewayLLM",
    "GatewayRetryEvent",
    "MissingAPIKeyError",
    *(error.__name__ for error in PUBLIC_ERRORS),
]

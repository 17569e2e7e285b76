"""LangChain integration for the gateway: :class:`ChatGateway`.

The error types users catch are the core's list (``gw_core.errors.PUBLIC_ERRORS``), so
application code needs only this package::

    from langchain_gw import ChatGateway, RateLimitError, StreamInterruptedError

Where LangChain has an exception of the same kind, the class exported here is a subclass
of both the core's class and LangChain's (``RateLimitError`` is also a
``langchain_core.exceptions.ModelRateLimitError``, ``ContextOverflowError`` LangChain's
``ContextOverflowError``), and ``ChatGateway`` raises that one: ``except`` works with
either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gw_core.settings import MissingAPIKeyError
from langchain_gw._errors import EXPORTED
from langchain_gw.chat_models import ChatGateway

if TYPE_CHECKING:
    from gw_core.errors import *  # noqa: F403  (typed as their core bases)

globals().update({error.__name__: error for error in EXPORTED})

__all__ = [
    "ChatGateway",
    "MissingAPIKeyError",
    *(error.__name__ for error in EXPORTED),
]

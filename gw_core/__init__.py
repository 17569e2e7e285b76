"""Framework-free core shared by the LangChain and LlamaIndex adapters.

The model catalog, settings, the openai client factory, the one retry policy, typed
errors, wire shaping and stream assembly. The tools built on it (the ``gw`` command in
``gw_cli``, the emulator in ``gw_emulator``, the demo in ``gw_demo``) sit above it and are
never imported from here. The openai SDK behind :class:`Gateway` loads on first use, so
importing the package for its errors or catalog stays cheap.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import TYPE_CHECKING, Any

from gw_core._version import __version__
from gw_core.catalog import Family, ModelSpec, parse
from gw_core.errors import PUBLIC_ERRORS

if TYPE_CHECKING:
    from gw_core.errors import *  # noqa: F403  (PUBLIC_ERRORS, spelled out for type checkers)
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
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gw_core' has no attribute {name!r}")
    return getattr(import_module(module), name)


# The errors users catch: exactly gw_core.errors.PUBLIC_ERRORS, the one list.
globals().update({error.__name__: error for error in PUBLIC_ERRORS})

__all__ = [
    "PUBLIC_ERRORS",
    "Family",
    "Gateway",
    "ModelSpec",
    "RetryPolicy",
    "Settings",
    "__version__",
    "parse",
    *(error.__name__ for error in PUBLIC_ERRORS),
]

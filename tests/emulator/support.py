"""Shared helpers of the emulator tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

from typing import Any

import openai

OPENAI_MAJOR = int(openai.__version__.split(".", 1)[0])

if OPENAI_MAJOR >= 3:
    #: openai 3.x wraps transport errors raised while iterating a stream.
    STREAM_CUT_ERROR: type[Exception] = openai.APIConnectionError
    STREAM_TIMEOUT_ERROR: type[Exception] = openai.APITimeoutError
else:
    import httpx

    #: openai 2.x lets httpx's own error escape from a stream's iteration.
    STREAM_CUT_ERROR = httpx.RemoteProtocolError
    STREAM_TIMEOUT_ERROR = httpx.ReadTimeout


def ask(text: str, system: str | None = None) -> list[Any]:
    """A message list with an optional system message and one user question."""
    messages: list[Any] = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": text})
    return messages

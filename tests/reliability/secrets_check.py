"""Where a key could hide, flattened to text: log records, exceptions and their chains.

A check that finds nothing proves little unless it would have found the key, so
:func:`texts_of_error` and :func:`texts_of_records` are exercised on planted leaks in
``test_secrets.py`` too.
"""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Iterable, Iterator

from tests.conftest import CANARY_KEY

__all__ = ["CANARY_KEY", "LOGGERS", "find_key", "texts_of_error", "texts_of_records"]

#: The loggers of our code and of every library a call goes through.
LOGGERS = (
    "gw_core",
    "langchain_gw",
    "llamaindex_gw",
    "openai",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "tenacity",
    "langchain_core",
    "llama_index",
    "asyncio",
)


def texts_of_error(error: BaseException) -> Iterator[str]:
    """Everything an application might print or ship about an error, causes included."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(getattr(current, "__notes__", None))
        yield repr(vars(current)) if hasattr(current, "__dict__") else ""
        # As Python's own traceback printing does: a cause always, the context unless
        # suppressed (``raise ... from None``).
        if current.__cause__ is not None:
            todo.append(current.__cause__)
        if current.__context__ is not None and not current.__suppress_context__:
            todo.append(current.__context__)
    yield "".join(traceback.format_exception(error))
    try:
        yield pickle.dumps(error).decode("latin-1")
    except Exception as exc:  # an unpicklable error is a finding of its own elsewhere
        yield f"<unpicklable: {type(exc).__name__}>"


def texts_of_records(records: Iterable[logging.LogRecord]) -> Iterator[str]:
    """A record as every handler could render it: message, args, extras, traceback."""
    for record in records:
        yield record.getMessage()
        yield repr(record.args)
        yield repr(vars(record))
        if record.exc_info and record.exc_info[1] is not None:
            yield "".join(traceback.format_exception(record.exc_info[1]))


def find_key(texts: Iterable[str], key: str = CANARY_KEY) -> list[str]:
    """The texts that hold the key (shortened around it), for a readable failure."""
    hits = []
    for text in texts:
        at = text.find(key)
        if at != -1:
            hits.append(text[max(0, at - 80) : at + len(key) + 40])
    return hits

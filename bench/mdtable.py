"""Markdown helpers shared by the report modules: labels, numbers and tables."""

from __future__ import annotations

import math
from typing import Any

LABELS = {
    "httpx": "raw HTTP POST (httpx / httpx2)",
    "openai": "openai client",
    "openai_aiohttp": "openai client on aiohttp (reference)",
    "gw_core": "gw_core.Gateway alone (reference)",
    "ChatGateway": "**ChatGateway** (ours)",
    "ChatOpenAI": "ChatOpenAI",
    "GatewayLLM": "**GatewayLLM** (ours)",
    "OpenAILike": "OpenAILike",
}


def f(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out

"""From raw samples to the published figures and ratios.

Every ratio is computed round by round (numerator and denominator measured in the same
round of the same process, or the same import round) and the published value is the
median over rounds: drift on a shared machine moves both sides of a round together.

Per-call *overhead* is the client's median in a block minus raw HTTP's median in the
same round: what the library adds above a plain POST to the same server. Per-chunk cost
follows the peer-benchmark method: a whole stream's time divided by its content chunks.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _flat(blocks: Sequence[Sequence[float]]) -> list[float]:
    return [x for block in blocks for x in block]


@dataclass(frozen=True)
class RatioSpec:
    name: str
    kind: str
    side: str
    numerator: str
    denominator: str
    target: float | None
    what: str
    #: True when the target is a floor (higher is better), not a ceiling.
    at_least: bool = False


RATIOS: tuple[RatioSpec, ...] = (
    RatioSpec("langchain_call_overhead_vs_openai", "call_overhead", "langchain",
              "ChatGateway", "openai", 1.0,
              "ChatGateway ÷ raw openai client: sync per-call overhead above raw HTTP (median)"),
    RatioSpec("llamaindex_call_overhead_vs_openai", "call_overhead", "llamaindex",
              "GatewayLLM", "openai", 1.0,
              "GatewayLLM ÷ raw openai client: sync per-call overhead above raw HTTP (median)"),
    RatioSpec("langchain_chunk_cost_vs_chatopenai", "chunk", "langchain",
              "ChatGateway", "ChatOpenAI", 0.5,
              "ChatGateway ÷ ChatOpenAI: streaming µs per chunk"),
    RatioSpec("llamaindex_chunk_cost_vs_openailike", "chunk", "llamaindex",
              "GatewayLLM", "OpenAILike", 0.5,
              "GatewayLLM ÷ OpenAILike: streaming µs per chunk"),
    RatioSpec("chatopenai_async_rps_vs_langchain", "rps", "langchain",
              "ChatOpenAI", "ChatGateway", 0.5,
              "ChatOpenAI ÷ ChatGateway: async requests/s at 200 in flight (≤ 0.5 = ours ≥ 2×)"),
    RatioSpec("openailike_async_rps_vs_llamaindex", "rps", "llamaindex",
              "OpenAILike", "GatewayLLM", 0.5,
              "OpenAILike ÷ GatewayLLM: async req/s at 200 in flight (same target, by symmetry)"),
    RatioSpec("async_idle_pool_rps_ratio", "idle_pool", "langchain",
              "ChatGateway", "ChatGateway", 0.8,
              "ChatGateway: a burst of 50 async calls with 100 idle pooled connections ÷ "
              "with 1 (≥ 0.8: the pool does not slow as it grows)", at_least=True),
    RatioSpec("langchain_import_vs_chatopenai", "import", "langchain",
              "ChatGateway", "ChatOpenAI", 0.8,
              "ChatGateway ÷ ChatOpenAI: cold import time"),
    RatioSpec("llamaindex_import_vs_openailike", "import", "llamaindex",
              "GatewayLLM", "OpenAILike", 0.8,
              "GatewayLLM ÷ OpenAILike: cold import time"),
    RatioSpec("langchain_rss_import_vs_chatopenai", "rss_import", "langchain",
              "ChatGateway", "ChatOpenAI", 1.0,
              "ChatGateway ÷ ChatOpenAI: peak RSS after import"),
    RatioSpec("langchain_rss_calls_vs_chatopenai", "rss_calls", "langchain",
              "ChatGateway", "ChatOpenAI", 1.0,
              "ChatGateway ÷ ChatOpenAI: peak RSS after 1,000 calls"),
    RatioSpec("llamaindex_rss_import_vs_openailike", "rss_import", "llamaindex",
              "GatewayLLM", "OpenAILike", 1.0,
              "GatewayLLM ÷ OpenAILike: peak RSS after import"),
    RatioSpec("llamaindex_rss_calls_vs_openailike", "rss_calls", "llamaindex",
              "GatewayLLM", "OpenAILike", 1.0,
              "GatewayLLM ÷ OpenAILike: peak RSS after 1,000 calls"),
    # Informational: no target in the issue.
    RatioSpec("langchain_call_overhead_vs_chatopenai", "call_overhead", "langchain",
              "ChatGateway", "ChatOpenAI", None, "ChatGateway ÷ ChatOpenAI: per-call overhead"),
    RatioSpec("llamaindex_call_overhead_vs_openailike", "call_overhead", "llamaindex",
              "GatewayLLM", "OpenAILike", None, "GatewayLLM ÷ OpenAILike: per-call overhead"),
    RatioSpec("langchain_ttft_vs_chatopenai", "ttft", "langchain",
              "ChatGateway", "ChatOpenAI", None, "ChatGateway ÷ ChatOpenAI: time to first token"),
    RatioSpec("llamaindex_ttft_vs_openailike", "ttft", "llamaindex",
              "GatewayLLM", "OpenAILike", None, "GatewayLLM ÷ OpenAILike: time to first token"),
    RatioSpec("gw_core_call_overhead_vs_openai", "call_overhead", "langchain",
              "gw_core", "openai", None,
              "our transport alone (gw_core.Gateway) ÷ raw openai client: per-call overhead"),
    RatioSpec("gw_core_chunk_cost_vs_openai", "chunk", "langchain",
              "gw_core", "openai", None,
              "our transport alone ÷ raw openai client: streaming µs per chunk"),
    RatioSpec("llamaindex_async_idle_pool_rps_ratio", "idle_pool", "llamaindex",
              "GatewayLLM", "GatewayLLM", None,
              "GatewayLLM: the idle-pool burst ratio above, on openai 2.x (httpx's pool)",
              at_least=True),
    RatioSpec("openai_aiohttp_async_rps_vs_langchain", "rps", "langchain",
              "openai_aiohttp", "ChatGateway", None,
              "raw AsyncOpenAI on aiohttp ÷ ChatGateway: async req/s (the SDK's ceiling)"),
)  # fmt: skip


def _series(raw: dict[str, Any], kind: str, side: str, name: str, chunks: int) -> list[float]:
    """One value per round (or per repetition) for one client."""
    run = raw["runs"].get(side, {})
    if kind == "call_overhead":
        blocks, base = run.get("sync", {}).get(name), run.get("sync", {}).get("httpx")
        if not blocks or not base:
            return []
        return [_median(b) - _median(h) for b, h in zip(blocks, base, strict=True)]
    if kind in ("chunk", "ttft"):
        blocks = run.get("stream", {}).get(name) or []
        field = "total_us" if kind == "chunk" else "ttft_us"
        scale = chunks if kind == "chunk" else 1
        return [_median([s[field] for s in block]) / scale for block in blocks]
    if kind == "rps":
        return list(run.get("async", {}).get(name) or [])
    if kind == "idle_pool":  # numerator: the pool with idle connections; denominator: 1
        field = "pool_idle" if name.startswith("num:") else "pool_1"
        rounds = run.get("idle_pool", {}).get(name.removeprefix("num:")) or []
        return [r[field] for r in rounds]
    if kind == "import":
        return [s["import_s"] for s in raw["imports"]["runs"].get(side, {}).get(name, [])]
    if kind in ("rss_import", "rss_calls"):
        field = "rss_after_import_mb" if kind == "rss_import" else "rss_after_calls_mb"
        return [s[field] for s in raw["rss"].get(side, {}).get(name, [])]
    raise ValueError(kind)


def ratio(raw: dict[str, Any], spec: RatioSpec, chunks: int) -> tuple[float | None, list[float]]:
    numerator = "num:" + spec.numerator if spec.kind == "idle_pool" else spec.numerator
    num = _series(raw, spec.kind, spec.side, numerator, chunks)
    den = _series(raw, spec.kind, spec.side, spec.denominator, chunks)
    per_round = [n / d for n, d in zip(num, den, strict=False) if d > 0]
    return (_median(per_round) if per_round else None), per_round


def _sync_summary(run: dict[str, Any]) -> dict[str, Any]:
    sync = run.get("sync", {})
    base = sync.get("httpx")
    out: dict[str, Any] = {}
    for name, blocks in sync.items():
        flat = _flat(blocks)
        row: dict[str, Any] = {"calls": len(flat), "median_us": _median(flat)}
        row["p99_us"] = percentile(flat, 99)
        if base:
            base_flat = _flat(base)
            row["overhead_median_us"] = _median(
                [_median(b) - _median(h) for b, h in zip(blocks, base, strict=True)]
            )
            row["overhead_p99_us"] = row["p99_us"] - percentile(base_flat, 99)
        out[name] = row
    return out


def _stream_summary(run: dict[str, Any], chunks: int) -> dict[str, Any]:
    stream = run.get("stream", {})
    base = stream.get("httpx")
    base_chunk = (
        _median([_median([s["total_us"] for s in b]) for b in base]) / chunks if base else None
    )
    out: dict[str, Any] = {}
    for name, blocks in stream.items():
        runs: list[dict[str, float]] = [s for block in blocks for s in block]
        totals = [s["total_us"] for s in runs]
        ttfts = [s["ttft_us"] for s in runs]
        per_round = [_median([s["total_us"] for s in b]) / chunks for b in blocks]
        marginal = [
            (_median([s["total_us"] for s in b]) - _median([s["ttft_us"] for s in b]))
            / (chunks - 1)
            for b in blocks
        ]
        row = {
            "streams": len(totals),
            "chunks_per_stream": chunks,
            "total_ms_median": _median(totals) / 1000,
            "us_per_chunk": _median(per_round),
            "us_per_chunk_after_first": _median(marginal),
            "ttft_median_us": _median(ttfts),
            "ttft_p99_us": percentile(ttfts, 99),
            # A client that stops reading at [DONE] leaves the body unfinished and the
            # pool drops the connection: over a real network each stream then pays a new
            # TCP (and TLS) handshake.
            "new_connections_per_stream": sum(s.get("new_connections", 0) for s in runs)
            / max(len(runs), 1),
        }
        if base_chunk is not None:
            row["overhead_us_per_chunk"] = row["us_per_chunk"] - base_chunk
        out[name] = row
    return out


def _met(value: float, spec: RatioSpec) -> bool:
    assert spec.target is not None
    return value >= spec.target if spec.at_least else value <= spec.target


def _async_summary(run: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: {
            "rps_median": _median(values),
            "rps_best": max(values),
            "rps_worst": min(values),
            "rounds": len(values),
        }
        for name, values in run.get("async", {}).items()
        if values
    }
    for name, rounds in run.get("idle_pool", {}).items():
        if rounds and name in out:
            out[name]["burst_rps_pool_1"] = _median([r["pool_1"] for r in rounds])
            out[name]["burst_rps_pool_idle"] = _median([r["pool_idle"] for r in rounds])
    return out


def _import_summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    return {
        name: {
            "import_s_median": _median([s["import_s"] for s in samples]),
            "import_s_min": min(s["import_s"] for s in samples),
            "process_s_median": _median([s["process_s"] for s in samples]),
            "rss_after_import_mb": _median([s["rss_mb"] for s in samples]),
            "modules": int(_median([s["modules"] for s in samples])),
            "runs": len(samples),
        }
        for name, samples in runs.items()
        if samples
    }


def _rss_summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        name: {
            "rss_after_import_mb": _median([s["rss_after_import_mb"] for s in samples]),
            "rss_after_calls_mb": _median([s["rss_after_calls_mb"] for s in samples]),
            "import_to_first_answer_s": _median([s["import_to_first_answer_s"] for s in samples]),
            "calls": samples[0]["calls"],
            "reps": len(samples),
        }
        for name, samples in runs.items()
        if samples
    }


def analyse(raw: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The published result: meta, ratios (flat), their details, figures per side, raw."""
    chunks = int(meta["plan"]["chunks"])
    ratios: dict[str, float | None] = {}
    details: dict[str, Any] = {}
    for spec in RATIOS:
        if spec.side not in meta["sides"]:
            continue
        value, per_round = ratio(raw, spec, chunks)
        ratios[spec.name] = None if value is None else round(value, 3)
        details[spec.name] = {
            "what": spec.what,
            "side": spec.side,
            "target": spec.target,
            "at_least": spec.at_least,
            "met": None if value is None or spec.target is None else _met(value, spec),
            "per_round": [round(x, 3) for x in per_round],
        }
    figures: dict[str, Any] = {}
    for side in meta["sides"]:
        run = raw["runs"].get(side, {})
        figures[side] = {
            "sync": _sync_summary(run),
            "stream": _stream_summary(run, chunks),
            "async": _async_summary(run),
            "import": _import_summary(raw["imports"]["runs"].get(side, {})),
            "import_breakdown_ms": raw["imports"]["breakdown_ms"].get(side, {}),
            "rss": _rss_summary(raw["rss"].get(side, {})),
            "profile": raw["profiles"].get(side, {}),
        }
    return {
        "meta": meta,
        "ratios": ratios,
        "ratio_details": details,
        "figures": figures,
        "emulator": raw.get("emulator"),
    }

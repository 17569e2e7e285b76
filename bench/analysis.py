"""From raw samples to the published figures: the one registry of published ratios, the
statistics, and the attribution of py-spy samples.

Every ratio is computed round by round (numerator and denominator measured in the same
round of the same process, or the same import round) and the published value is the
median over rounds: drift on a shared machine moves both sides of a round together.

Per-call *overhead* is the client's median in a block minus raw HTTP's median in the
same round: what the library adds above a plain POST to the same server. Per-chunk cost
follows the peer-benchmark method: a whole stream's time divided by its content chunks.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
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


# -- the registry: every published ratio, once -----------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """One published ratio: its key in docs/benchmarks.json and how it is computed.

    ``kind`` names the measurement (``_series`` turns it into one value per round);
    numerator and denominator are clients of ``side``. Batch figures (side ``batch``) come
    from bench/batch.py's results (``batch_value``) and sit at the JSON's top level.
    """

    key: str
    kind: str
    side: str
    numerator: str
    denominator: str
    target: float | None
    what: str
    #: True when the target is a floor (higher is better), not a ceiling.
    at_least: bool = False

    def met(self, value: float | None) -> bool | None:
        if value is None or self.target is None:
            return None
        return value >= self.target if self.at_least else value <= self.target


RATIOS: tuple[Ratio, ...] = (
    Ratio("langchain_call_overhead_vs_openai", "call_overhead", "langchain",
          "ChatGateway", "openai", 1.0,
          "ChatGateway ÷ raw openai client: sync per-call overhead above raw HTTP (median)"),
    Ratio("llamaindex_call_overhead_vs_openai", "call_overhead", "llamaindex",
          "GatewayLLM", "openai", 1.0,
          "GatewayLLM ÷ raw openai client: sync per-call overhead above raw HTTP (median)"),
    Ratio("langchain_chunk_cost_vs_chatopenai", "chunk", "langchain",
          "ChatGateway", "ChatOpenAI", 0.5, "ChatGateway ÷ ChatOpenAI: streaming µs per chunk"),
    Ratio("llamaindex_chunk_cost_vs_openailike", "chunk", "llamaindex",
          "GatewayLLM", "OpenAILike", 0.5, "GatewayLLM ÷ OpenAILike: streaming µs per chunk"),
    Ratio("chatopenai_async_rps_vs_langchain", "rps", "langchain",
          "ChatOpenAI", "ChatGateway", 0.5,
          "ChatOpenAI ÷ ChatGateway: async requests/s at 200 in flight (≤ 0.5 = ours ≥ 2×)"),
    Ratio("openailike_async_rps_vs_llamaindex", "rps", "llamaindex",
          "OpenAILike", "GatewayLLM", 0.5,
          "OpenAILike ÷ GatewayLLM: async req/s at 200 in flight (same target, by symmetry)"),
    Ratio("async_idle_pool_rps_ratio", "idle_pool", "langchain",
          "ChatGateway", "ChatGateway", 0.8,
          "ChatGateway: a burst of 50 async calls with 100 idle pooled connections ÷ "
          "with 1 (≥ 0.8: the pool does not slow as it grows)", at_least=True),
    Ratio("langchain_import_vs_chatopenai", "import", "langchain",
          "ChatGateway", "ChatOpenAI", 0.8, "ChatGateway ÷ ChatOpenAI: cold import time"),
    Ratio("llamaindex_import_vs_openailike", "import", "llamaindex",
          "GatewayLLM", "OpenAILike", 0.8, "GatewayLLM ÷ OpenAILike: cold import time"),
    Ratio("langchain_rss_import_vs_chatopenai", "rss_import", "langchain",
          "ChatGateway", "ChatOpenAI", 1.0, "ChatGateway ÷ ChatOpenAI: peak RSS after import"),
    Ratio("langchain_rss_calls_vs_chatopenai", "rss_calls", "langchain",
          "ChatGateway", "ChatOpenAI", 1.0,
          "ChatGateway ÷ ChatOpenAI: peak RSS after 1,000 calls"),
    Ratio("llamaindex_rss_import_vs_openailike", "rss_import", "llamaindex",
          "GatewayLLM", "OpenAILike", 1.0, "GatewayLLM ÷ OpenAILike: peak RSS after import"),
    Ratio("llamaindex_rss_calls_vs_openailike", "rss_calls", "llamaindex",
          "GatewayLLM", "OpenAILike", 1.0,
          "GatewayLLM ÷ OpenAILike: peak RSS after 1,000 calls"),
    # Informational: no target in the issue.
    Ratio("langchain_call_overhead_vs_chatopenai", "call_overhead", "langchain",
          "ChatGateway", "ChatOpenAI", None, "ChatGateway ÷ ChatOpenAI: per-call overhead"),
    Ratio("llamaindex_call_overhead_vs_openailike", "call_overhead", "llamaindex",
          "GatewayLLM", "OpenAILike", None, "GatewayLLM ÷ OpenAILike: per-call overhead"),
    Ratio("langchain_ttft_vs_chatopenai", "ttft", "langchain",
          "ChatGateway", "ChatOpenAI", None, "ChatGateway ÷ ChatOpenAI: time to first token"),
    Ratio("llamaindex_ttft_vs_openailike", "ttft", "llamaindex",
          "GatewayLLM", "OpenAILike", None, "GatewayLLM ÷ OpenAILike: time to first token"),
    Ratio("gw_core_call_overhead_vs_openai", "call_overhead", "langchain",
          "gw_core", "openai", None,
          "our transport alone (gw_core.Gateway) ÷ raw openai client: per-call overhead"),
    Ratio("gw_core_chunk_cost_vs_openai", "chunk", "langchain", "gw_core", "openai", None,
          "our transport alone ÷ raw openai client: streaming µs per chunk"),
    Ratio("llamaindex_async_idle_pool_rps_ratio", "idle_pool", "llamaindex",
          "GatewayLLM", "GatewayLLM", None,
          "GatewayLLM: the idle-pool burst ratio above, on openai 2.x (httpx's pool)",
          at_least=True),
    Ratio("openai_aiohttp_async_rps_vs_langchain", "rps", "langchain",
          "openai_aiohttp", "ChatGateway", None,
          "raw AsyncOpenAI on aiohttp ÷ ChatGateway: async req/s (the SDK's ceiling)"),
    # Issue 13, from bench/batch.py (at the JSON's top level; figures, not all ratios).
    Ratio("batch_rows_per_s_vs_chatopenai_abatch", "batch_rows", "batch", "engine", "abatch",
          1.5, "our batch engine ÷ ChatOpenAI.abatch(max_concurrency=128): rows/s on the "
          "same rows (best of 2 interleaved runs each)", at_least=True),
    Ratio("batch_redis_limiter_ms_p50", "batch_redis", "batch", "redis_ms_p50", "", 1.0,
          "shared Redis rate limiter: ms per acquire at the median (loopback redis-server)"),
    Ratio("batch_ray_rows_per_s_1_worker", "batch_ray", "batch", "ray_1", "", None,
          "the batch engine on local Ray, 1 worker: rows/s"),
    Ratio("batch_ray_rows_per_s_2_workers", "batch_ray", "batch", "ray_2", "", None,
          "the batch engine on local Ray, 2 workers: rows/s (2 cores in all)"),
)  # fmt: skip

BY_KEY = {r.key: r for r in RATIOS}

#: The figure (section, field) of bench/worker.py's measurements that each kind compares;
#: the Markdown's explanations and the chart read the same fields.
FIGURE_OF_KIND = {
    "call_overhead": ("sync", "overhead_median_us", "µs per call"),
    "chunk": ("stream", "us_per_chunk", "µs per chunk"),
    "ttft": ("stream", "ttft_median_us", "µs to the first token"),
    "rps": ("async", "rps_median", "req/s"),
    "idle_pool": ("async", "burst_rps_pool_idle", "req/s in a burst with 100 idle"),
    "import": ("import", "import_s_median", "s to import"),
    "rss_import": ("rss", "rss_after_import_mb", "MB after import"),
    "rss_calls": ("rss", "rss_after_calls_mb", "MB after 1,000 calls"),
}


def published(results: dict[str, Any], key: str) -> float | None:
    """A ratio's value in a results dict (batch ones sit at the top level)."""
    where = results if BY_KEY[key].side == "batch" else results.get("ratios", {})
    value = where.get(key)
    return None if value is None else float(value)


def previous_of(path: Path) -> dict[str, Any] | None:
    """The ratios of the run published at ``path``, kept in the next one as ``previous``.

    A quick trial run is no reference: its own ``previous`` is carried forward instead.
    """
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if old.get("meta", {}).get("mode") == "quick":
        kept: dict[str, Any] | None = old.get("previous")
        return kept
    ratios = {r.key: published(old, r.key) for r in RATIOS}
    return {
        "generated_utc": old["meta"]["generated_utc"],
        "mode": old["meta"]["mode"],
        "commit": old["meta"].get("commit"),
        "ratios": {k: v for k, v in ratios.items() if v is not None},
    }


# -- per-round series -------------------------------------------------------------------------


def _overheads(blocks: list[list[float]] | None, base: list[list[float]] | None) -> list[float]:
    """Per round: the client's median minus raw HTTP's median of the same round."""
    if not blocks or not base:
        return []
    return [_median(b) - _median(h) for b, h in zip(blocks, base, strict=True)]


def _series(raw: dict[str, Any], kind: str, side: str, name: str, chunks: int) -> list[float]:
    """One value per round (or per repetition) for one client."""
    run = raw["runs"].get(side, {})
    if kind == "call_overhead":
        return _overheads(run.get("sync", {}).get(name), run.get("sync", {}).get("httpx"))
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


def ratio(raw: dict[str, Any], spec: Ratio, chunks: int) -> tuple[float | None, list[float]]:
    """The median of per-round ratios, and those ratios."""
    numerator = "num:" + spec.numerator if spec.kind == "idle_pool" else spec.numerator
    num = _series(raw, spec.kind, spec.side, numerator, chunks)
    den = _series(raw, spec.kind, spec.side, spec.denominator, chunks)
    per_round = [n / d for n, d in zip(num, den, strict=False) if d > 0]
    return (_median(per_round) if per_round else None), per_round


def batch_value(batch: dict[str, Any], spec: Ratio) -> float | None:
    """A batch figure from bench/batch.py's results (the rows/s ratio: best ÷ best)."""
    if spec.kind == "batch_rows":
        best = batch.get("rows_per_s", {})
        num, den = best.get(spec.numerator), best.get(spec.denominator)
        return float(num / den) if num and den else None
    found = batch.get("redis" if spec.kind == "batch_redis" else spec.numerator, {})
    value = found.get("redis_ms_p50" if spec.kind == "batch_redis" else "rows_per_s")
    return None if value is None else float(value)


# -- figures per client -----------------------------------------------------------------------


def _sync_summary(run: dict[str, Any]) -> dict[str, Any]:
    sync = run.get("sync", {})
    base = sync.get("httpx")
    out: dict[str, Any] = {}
    for name, blocks in sync.items():
        flat = [x for block in blocks for x in block]
        row: dict[str, Any] = {"calls": len(flat), "median_us": _median(flat)}
        row["p99_us"] = percentile(flat, 99)
        if base:
            row["overhead_median_us"] = _median(_overheads(blocks, base))
            row["overhead_p99_us"] = row["p99_us"] - percentile([x for b in base for x in b], 99)
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


def _medians(samples: list[dict[str, Any]], fields: dict[str, str]) -> dict[str, float]:
    return {out: _median([s[field] for s in samples]) for out, field in fields.items()}


def _import_summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    fields = {
        "import_s_median": "import_s",
        "process_s_median": "process_s",
        "rss_after_import_mb": "rss_mb",
    }
    return {
        name: {
            **_medians(samples, fields),
            "import_s_min": min(s["import_s"] for s in samples),
            "modules": int(_median([s["modules"] for s in samples])),
            "runs": len(samples),
        }
        for name, samples in runs.items()
        if samples
    }


def _rss_summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    fields = {
        "rss_after_import_mb": "rss_after_import_mb",
        "rss_after_calls_mb": "rss_after_calls_mb",
        "import_to_first_answer_s": "import_to_first_answer_s",
    }
    return {
        name: {**_medians(samples, fields), "calls": samples[0]["calls"], "reps": len(samples)}
        for name, samples in runs.items()
        if samples
    }


def analyse(
    raw: dict[str, Any],
    meta: dict[str, Any],
    batch: dict[str, Any] | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The published result: meta, ratios (flat), their details, figures per side, raw
    batch figures with their ratios at the top level, and the previous run's ratios."""
    chunks = int(meta["plan"]["chunks"])
    ratios: dict[str, float | None] = {}
    details: dict[str, Any] = {}
    for spec in RATIOS:
        if spec.side not in meta["sides"]:
            continue
        value, per_round = ratio(raw, spec, chunks)
        ratios[spec.key] = None if value is None else round(value, 3)
        details[spec.key] = {
            "what": spec.what,
            "side": spec.side,
            "target": spec.target,
            "at_least": spec.at_least,
            "met": spec.met(value),
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
    results: dict[str, Any] = {
        "meta": meta,
        "ratios": ratios,
        "ratio_details": details,
        "figures": figures,
        "emulator": raw.get("emulator"),
    }
    if batch is not None:
        results["batch"] = batch
        results.update({r.key: batch_value(batch, r) for r in RATIOS if r.side == "batch"})
    if previous is not None:
        results["previous"] = previous
    if raw.get("compare"):  # bench/compare.py per side, or {"error": ...}
        results["compare"] = raw["compare"]
    return results


# -- where the time goes: py-spy stacks to µs per operation ----------------------------------

OURS_PACKAGES = ("gw_core", "langchain_gw", "llamaindex_gw")
#: Only stacks through bench/worker.py's profile_loop count: not imports, set-up, warm-up.
LOOP = "profile_loop ("


def _split(frame: str) -> tuple[str, str]:
    """``'name (path/to/file.py)'`` -> (name, path)."""
    name, _, rest = frame.partition(" (")
    return name, rest[:-1] if rest.endswith(")") else rest


def package_of(path: str) -> str:
    """The top-level package (or stdlib module) a source path belongs to."""
    norm = path.replace("\\", "/")
    if "site-packages/" in norm:
        norm = norm.split("site-packages/", 1)[1]
    if norm.startswith("<"):
        return "interpreter"
    head = norm.split("/", 1)[0]
    # py-spy shortens paths inside the llama_index namespace package to "core/...".
    if head in ("core", "llms") and "/" in norm:
        return f"llama_index.{head}"
    return head.removesuffix(".py")


def attribute(lines: Iterable[str], cpu_us_per_op: float) -> dict[str, Any]:
    """µs per operation by package (self), by function (self) and ours (inclusive).

    The samples give *shares*; the µs come from the loop's own CPU time, because a
    sampler that falls behind on a busy machine catches up in bursts and its sample count
    then overstates the elapsed time.
    """
    by_package: dict[str, int] = {}
    by_function: dict[str, int] = {}
    ours_inclusive: dict[str, int] = {}
    total = 0
    for line in lines:
        stack, _, samples = line.rstrip("\n").rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        frames = stack.split(";")
        start = next((i for i, f in enumerate(frames) if f.startswith(LOOP)), None)
        if start is None:
            continue
        n = int(samples)
        total += n
        inner = frames[start + 1 :] or frames[start:]
        name, path = _split(inner[-1])
        package = package_of(path)
        by_package[package] = by_package.get(package, 0) + n
        key = f"{name} ({path})"
        by_function[key] = by_function.get(key, 0) + n
        for frame in set(inner):
            if package_of(_split(frame)[1]) in OURS_PACKAGES:
                ours_inclusive[frame] = ours_inclusive.get(frame, 0) + n
    per = cpu_us_per_op / max(total, 1)

    def ranked(table: dict[str, int], limit: int) -> list[list[Any]]:
        top = sorted(table.items(), key=lambda kv: kv[1], reverse=True)[:limit]
        return [[k, round(v * per, 1)] for k, v in top]

    return {
        "samples": total,
        "by_package_us_per_op": dict(ranked(by_package, 12)),
        "top_self_us_per_op": ranked(by_function, 15),
        "ours_inclusive_us_per_op": ranked(ours_inclusive, 15),
    }

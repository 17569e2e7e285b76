"""Writes docs/benchmarks.json, docs/benchmarks.md and docs/benchmarks.png from one run.

Every figure on the page comes from the results: the ratios, their targets and wording
from bench/analysis.py's registry (``RATIOS``), the explanations from the profile. The one
hand-written part is the account of a change (``_what_changed``), and
it quotes the run's own figures. ``python bench/report.py docs/benchmarks.json --out DIR``
re-renders a saved run without measuring anything.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from analysis import BY_KEY, FIGURE_OF_KIND, RATIOS, Ratio, published
from chart import draw
from targets import label


def _f(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _verdict(spec: Ratio, value: float | None) -> str:
    met = spec.met(value)
    return "–" if met is None else ("met" if met else "**not met**")


def _ratio_rows(
    results: dict[str, Any], specs: list[Ratio], targets: bool, first: str = "ratio"
) -> list[str]:
    """One row per ratio: now, the previously published run, and (with targets) the verdict."""
    previous = results.get("previous") or {}
    before = previous.get("ratios", {})
    digits = {"batch_rows": 2, "batch_redis": 2, "batch_ray": 0}
    rows = []
    for spec in specs:
        value = published(results, spec.key)
        row = [f"`{spec.key}`", spec.what, _f(value, digits.get(spec.kind, 2))]
        row.append(_f(before.get(spec.key), digits.get(spec.kind, 2)))
        if targets:
            bound = "≥" if spec.at_least else "≤"
            target = "–" if spec.target is None else f"{bound} {spec.target:g}"
            row += [target, _verdict(spec, value)]
        rows.append(row)
    was = f"previous ({previous['generated_utc']})" if previous else "previous"
    header = [first, "what", "now", was] + (["target", ""] if targets else [])
    return _table(header, rows)


def _summary(results: dict[str, Any]) -> list[str]:
    shown = [r for r in RATIOS if r.side != "batch" and r.key in results["ratios"]]
    out = _ratio_rows(results, [r for r in shown if r.target is not None], targets=True)
    out += ["", "Informational ratios (no target):", ""]
    return out + _ratio_rows(results, [r for r in shown if r.target is None], targets=False)


#: The per-side tables: (title, figure sections merged, columns: header, field, digits).
SIDE_TABLES: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str, int], ...]], ...] = (
    ("**Sync, non-streaming** (overhead = client − raw HTTP in the same round)", ("sync",),
     (("median µs", "median_us", 0), ("p99 µs", "p99_us", 0),
      ("overhead median µs", "overhead_median_us", 0),
      ("overhead p99 µs", "overhead_p99_us", 0))),
    ("**Streaming**, {chunks} content chunks + finish + usage + `[DONE]`", ("stream",),
     (("stream ms", "total_ms_median", 2), ("µs / chunk", "us_per_chunk", 1),
      ("µs / chunk after the first", "us_per_chunk_after_first", 1),
      ("TTFT µs", "ttft_median_us", 0), ("TTFT p99 µs", "ttft_p99_us", 0),
      ("new connections / stream", "new_connections_per_stream", 2))),
    ("**Async**, 200 calls in flight (sustained; one long-lived client)", ("async",),
     (("req/s median", "rps_median", 0), ("best", "rps_best", 0), ("worst", "rps_worst", 0),
      ("burst, 1 pooled", "burst_rps_pool_1", 0),
      ("burst, 100 idle", "burst_rps_pool_idle", 0))),
    ("**Cold import and memory** (fresh interpreter / process each)", ("import", "rss"),
     (("import s", "import_s_median", 3), ("whole process s", "process_s_median", 3),
      ("modules", "modules", 0), ("peak RSS after import MB", "rss_after_import_mb", 1),
      ("after 1,000 calls MB", "rss_after_calls_mb", 1),
      ("import → first answer s", "import_to_first_answer_s", 3))),
)  # fmt: skip


def _side_tables(fig: dict[str, Any], title: str) -> list[str]:
    out = [f"### {title}", ""]
    first: dict[str, Any] = next(iter(fig["stream"].values()), {})
    chunks = first.get("chunks_per_stream", 0)
    for heading, sections, columns in SIDE_TABLES:
        rows: dict[str, dict[str, Any]] = {}
        for section in sections:  # a later section's field wins (RSS from its own process)
            for name, row in fig.get(section, {}).items():
                if section == sections[0] or name in rows:
                    rows.setdefault(name, {}).update(row)
        out += [heading.format(chunks=chunks), ""]
        out += _table(
            ["client", *(c[0] for c in columns)],
            [[label(n), *(_f(r.get(c[1]), c[2]) for c in columns)] for n, r in rows.items()],
        )
        out.append("")
    return out


def _noise(results: dict[str, Any]) -> list[str]:
    """How far the sync per-call ratios move from round to round, and old against new."""
    spreads = []
    for spec in RATIOS:
        rounds = results["ratio_details"].get(spec.key, {}).get("per_round") or []
        if spec.kind == "call_overhead" and spec.target is not None and rounds:
            spreads.append(
                f"`{spec.key}` {min(rounds):.2f}–{max(rounds):.2f} over {len(rounds)} rounds "
                f"(median {_f(published(results, spec.key), 2)})"
            )
    out = [
        "**Noise.** The sync per-call ratios are medians of per-round ratios, and on this "
        "shared 2-core machine the rounds spread widely: in this run "
        + "; ".join(spreads)
        + " (`per_round` in the JSON). A move of a median between two published runs, "
        "days apart, is not by itself a regression. What answers that question is one "
        "session measuring both codes interleaved: `bench/compare.py REV` runs the same "
        "sync and stream rounds in alternating processes, one importing our packages from "
        "REV and the next from this checkout, against one server.",
        "",
    ]
    compared = dict(results.get("compare") or {})
    if "error" in compared:
        out += [f"Old against new could not run: {compared.pop('error')}", ""]
    for side, found in compared.items():
        rows = [
            [f"`{key}`", _f(v.get("old"), 2), _f(v.get("new"), 2)]
            for key, v in found["ratios"].items()
        ]
        out += [
            f"Old against new, {side} side ({found['pairs']} pairs of processes, "
            f"{found['rounds_per_process']} rounds each; medians over all rounds):",
            "",
            *_table(["ratio", f"at `{found['old']}`", "now"], rows),
            "",
        ]
    return out


def _batch(results: dict[str, Any]) -> list[str]:
    """Issue 13's figures: the batch engine against its peers, the Redis limiter, Ray."""
    batch = results.get("batch")
    out = ["## Batch runs (issue 13)", ""]
    if not isinstance(batch, dict):
        return [*out, "Not measured in this run (`--skip-batch`).", ""]
    best = batch.get("rows_per_s", {})
    redis = batch.get("redis", {})
    out += [
        f"From `bench/batch.py`, against the emulator (`gw emulator`, pinned to one core): "
        f"{batch.get('rows', 0):,} rows at concurrency {batch.get('concurrency')}, each "
        f"client run twice, interleaved, best run kept: our engine "
        f"{_f(best.get('engine'))} rows/s, `ChatOpenAI.abatch` {_f(best.get('abatch'))}, raw "
        f"`AsyncOpenAI` with a semaphore {_f(best.get('raw'))} (the ceiling). Ray runs "
        f"{batch.get('ray_rows', 0):,} rows on a local Ray with 2 CPUs. The Redis limiter: "
        f"{_f(redis.get('redis_ms_p50'), 2)} ms p50, {_f(redis.get('redis_ms_p90'), 2)} ms "
        f"p90 per acquire; in process {_f(redis.get('in_process_ms_p50'), 3)} ms."
        + (f" Not measured: {redis['error']}." if "error" in redis else ""),
        "",
    ]
    specs = [r for r in RATIOS if r.side == "batch"]
    return [*out, *_ratio_rows(results, specs, targets=True, first="figure"), ""]


def _what_changed(results: dict[str, Any]) -> list[str]:
    """Issue 16's change, with this run's own figures."""
    fig = results["figures"]

    def rps(side: str, name: str, field: str = "rps_median") -> str:
        return _f(fig.get(side, {}).get("async", {}).get(name, {}).get(field))

    ratios = results["ratios"]
    return [
        "## What changed since the previously published run",
        "",
        "### Async on aiohttp (issue 16)",
        "",
        "Every async path (both adapters, the batch engine, the CLI) now sends through the "
        "openai SDK's aiohttp-backed client (`openai[aiohttp]`, a core dependency), no longer "
        "its default httpx/httpx2 client. httpcore's async pool walks every pooled connection "
        "for each request it places (`_assign_requests_to_connections`, ~38% of async time "
        "at 200 in flight), so it slows as the pool grows; aiohttp's connector takes the next "
        "idle connection from a queue. `GW_ASYNC_HTTP=sdk` switches back; an async HTTP client "
        "the user passes wins over both. Errors are typed as before on either transport "
        "(`gw_core/_async_http.py`), and `make test` runs the reliability suite on both.",
        "",
        f"In this run, at 200 in flight: ChatGateway {rps('langchain', 'ChatGateway')} req/s, "
        f"ChatOpenAI {rps('langchain', 'ChatOpenAI')} (on httpx2), the raw openai client "
        f"{rps('langchain', 'openai')} on httpx2 and {rps('langchain', 'openai_aiohttp')} on "
        f"aiohttp; GatewayLLM {rps('llamaindex', 'GatewayLLM')}, OpenAILike "
        f"{rps('llamaindex', 'OpenAILike')}. A burst after a spike that left 100 idle "
        f"connections ran at {_f(ratios.get('async_idle_pool_rps_ratio'), 2)} of the rate "
        f"on a 1-connection pool (ChatGateway; GatewayLLM "
        f"{_f(ratios.get('llamaindex_async_idle_pool_rps_ratio'), 2)}).",
        "",
        "The async figures are now a sustained load (a semaphore keeps 200 calls in flight "
        "over every round) instead of one `asyncio.gather` of 200, which never filled the "
        "pool and hid its decay.",
        "",
        *_sync_and_stream(results),
        *_noise(results),
    ]


def _sync_and_stream(results: dict[str, Any]) -> list[str]:
    """What the hostile-gateway checks cost per call and per chunk, from the interleaved
    old-against-new comparison (nothing when this run made none)."""
    compared = {k: v for k, v in (results.get("compare") or {}).items() if k != "error"}
    if not compared:
        return []

    def pair(side: str, key: str) -> str:
        found = compared.get(side, {}).get("ratios", {}).get(key) or {}
        return f"{_f(found.get('old'), 2)} → {_f(found.get('new'), 2)}"

    rev = next(iter(compared.values()))["old"]
    call = {
        "ChatGateway": pair("langchain", "langchain_call_overhead_vs_openai"),
        "GatewayLLM": pair("llamaindex", "llamaindex_call_overhead_vs_openai"),
        "transport": pair("langchain", "gw_core_call_overhead_vs_openai"),
    }
    chunk = {
        "ChatGateway": pair("langchain", "langchain_chunk_cost_vs_chatopenai"),
        "GatewayLLM": pair("llamaindex", "llamaindex_chunk_cost_vs_openailike"),
        "transport": pair("langchain", "gw_core_chunk_cost_vs_openai"),
    }
    return [
        "### Sync and stream: what the hostile-gateway checks cost",
        "",
        f"Since `{rev}`, the stream path gained the checks of the hostile-gateway issue: "
        "every chunk's JSON types are checked before anything reads them, every line, event "
        "and stream is held under a size cap, and a stall clock runs on every read. Measured "
        "old against new in this session (tables under *Noise*): the per-call overhead "
        f"did not move beyond the noise (ChatGateway {call['ChatGateway']}, GatewayLLM "
        f"{call['GatewayLLM']}, the transport alone {call['transport']}, each ÷ the raw "
        "openai client); the per-chunk cost is the price of those checks (transport alone "
        f"{chunk['transport']} of the raw client's; ChatGateway {chunk['ChatGateway']} of "
        f"ChatOpenAI's, GatewayLLM {chunk['GatewayLLM']} of OpenAILike's), and every stream "
        "target still holds. This round took out per-chunk and per-call work that checks "
        "nothing: retry observers watch only a stream's first fetch (the one place it can "
        "retry), LangChain chunks leave empty "
        "fields to their defaults, and a route derives its limits once, not per call.",
        "",
    ]


def _per_package(prof: dict[str, Any], scale: float = 1.0, limit: int = 7) -> str:
    items = list(prof.get("by_package_us_per_op", {}).items())[:limit]
    digits = 0 if scale == 1.0 else 1
    return ", ".join(f"{k} {v / scale:,.{digits}f}" for k, v in items)


def _obstacle(results: dict[str, Any], spec: Ratio) -> str:
    """One data-backed line on what stands between an unmet ratio and its target: the
    compared figure for ours, the peer and the layers below, and where our time goes."""
    fig = results["figures"][spec.side]
    ours = results["meta"]["sides"][spec.side]["ours"]
    section, field, unit = FIGURE_OF_KIND[spec.kind]
    rows = fig.get(section, {})
    names = dict.fromkeys((spec.numerator, spec.denominator, ours, "gw_core", "openai"))
    digits = {"chunk": 1, "import": 3, "rss_import": 1, "rss_calls": 1}.get(spec.kind, 0)
    parts = [f"{n} {_f(rows[n].get(field), digits)}" for n in names if n in rows]
    line = f"{unit}: " + ", ".join(parts)
    op = {"call_overhead": "call", "chunk": "stream", "rps": "acall"}.get(spec.kind)
    prof = fig.get("profile", {}).get(ours, {}).get(op or "", {})
    if prof and "error" not in prof:
        chunks = results["meta"]["plan"]["chunks"] if spec.kind == "chunk" else 1
        line += f"; {ours}'s CPU µs per {op}{' chunk' * (chunks > 1)} by package: "
        line += _per_package(prof, chunks, 5)
    breakdown = fig.get("import_breakdown_ms", {}).get(ours, {})
    if spec.kind == "import" and breakdown:
        top = ", ".join(f"{p} {ms:,.0f}" for p, ms in list(breakdown.items())[:5])
        line += f"; {ours}'s import self time {sum(breakdown.values()):,.0f} ms, of which {top}"
    return line


def obstacles(results: dict[str, Any]) -> list[str]:
    unmet = [BY_KEY[k] for k, d in results["ratio_details"].items() if d["met"] is False]
    if not unmet:
        return ["Every target is met in this run.", ""]
    out = ["Targets not met in this run, with the figures that stand in the way:", ""]
    for spec in unmet:
        value = _f(published(results, spec.key), 2)
        out.append(f"- `{spec.key}` = {value}: {_obstacle(results, spec)}.")
    return [*out, ""]


def _hottest(name: str, op: str, prof: dict[str, Any]) -> list[str]:
    """Self time and our functions' inclusive time side by side, ten rows."""
    self_rows, incl_rows = prof["top_self_us_per_op"][:10], prof["ours_inclusive_us_per_op"][:10]
    rows = []
    for i in range(max(len(self_rows), len(incl_rows))):
        pair = [self_rows[i] if i < len(self_rows) else ["", None]]
        pair.append(incl_rows[i] if i < len(incl_rows) else ["", None])
        rows.append([cell for fn, us in pair for cell in (f"`{fn}`" if fn else "", _f(us, 1))])
    title = f"{label(name)}, {op}: hottest functions (µs per {op})"
    return ["", title, "", *_table(["self time", "µs", "our functions, inclusive", "µs"], rows)]


def _profiles(fig: dict[str, Any], ours: str) -> list[str]:
    profiles = fig.get("profile", {})
    rows: list[list[str]] = []
    hottest: dict[str, list[str]] = {ours: [], "gw_core": []}  # ours first
    for name, ops in profiles.items():
        for op, prof in ops.items():
            if "error" in prof:
                rows.append([label(name), op, "–", "–", prof["error"]])
                continue
            wall, cpu = _f(prof.get("wall_us_per_op")), _f(prof.get("cpu_us_per_op"))
            rows.append([label(name), op, wall, cpu, _per_package(prof)])
            if name in hottest:
                hottest[name] += _hottest(name, op, prof)
    header = ["client", "op", "wall µs / op", "CPU µs / op", "self CPU µs / op by package"]
    return [*_table(header, rows), *(line for lines in hottest.values() for line in lines)]


def where_time_goes(results: dict[str, Any]) -> list[str]:
    out: list[str] = [
        "py-spy samples (1 kHz, `--nonblocking`, so the client is never paused) of each "
        "client's loop: `call` = one sync call, `stream` = one whole stream, `acall` = one "
        "async call with 200 in flight. Idle samples (waiting for the server) are not "
        "counted; the shares are scaled to the loop's own CPU time (`process_time`), so the "
        "figures are client CPU µs per operation. *Self* time is charged to the package "
        "whose code was running (a C call counts for the Python function that made it); "
        "*inclusive* time of our functions includes everything they call.",
        "",
    ]
    for side, fig in results["figures"].items():
        meta_side = results["meta"]["sides"][side]
        if not fig.get("profile"):
            continue
        out += [f"### {meta_side['title']}", "", *_profiles(fig, meta_side["ours"])]
        breakdown = fig.get("import_breakdown_ms", {})
        if breakdown:
            out += ["", "Import self time by top-level package (`-X importtime`, ms):", ""]
            rows = [
                [label(n), ", ".join(f"{p} {ms:,.0f}" for p, ms in list(b.items())[:8])]
                for n, b in breakdown.items()
            ]
            out += _table(["import", "top packages, ms"], rows)
        out.append("")
    return out


def _emulator(emulator: Any) -> list[str]:
    out = [
        "## The emulator's own throughput",
        "",
        "From `bench/emulator_throughput.py` (the emulator's own script: the emulator server "
        "pinned to one core, a raw-socket load generator on the other). Issue 3 asks for at "
        "least 2,000 non-streaming requests/s and 500 concurrent streams on one core.",
        "",
    ]
    if not isinstance(emulator, dict):
        return [*out, "Not measured in this run.", ""]
    if "error" in emulator:
        out += [f"Not measured in this run: {emulator['error']}.", ""]

    def row(load: str, shape: str, result: str, errors: float, ok: bool) -> list[str]:
        return [load, shape, result, f"{errors:.0f} {'failed' if 'non' in load else 'incomplete'}",
                "met" if ok and not errors else "**not met**"]  # fmt: skip

    rows = []
    if plain := emulator.get("non_streaming"):
        shape = f"{plain['requests']:.0f} requests over {plain['connections']:.0f} connections"
        result = f"{plain['rps']:,.0f} req/s"
        rows.append(row("non-streaming", shape, result, plain["failed"], plain["rps"] >= 2000))
    for st in emulator.get("streams", []):
        shape = f"{st['concurrent']:.0f} at once, {st['events']:.0f} events each"
        rows.append(row(f"streams, {st['model']}", shape, f"{st['seconds']:.2f} s for all",
                        st["incomplete"], st["concurrent"] >= 500))  # fmt: skip
    if paced := emulator.get("paced"):
        result = f"{paced['seconds']:.2f} s (pacing alone {paced['floor']:.2f} s)"
        rows.append(row("paced streams", f"{paced['open']:.0f} open at once", result,
                        paced["incomplete"], paced["open"] >= 500))  # fmt: skip
    if rows:
        out += _table(["load", "shape", "result", "errors", "issue 3 target"], rows)
    if emulator.get("output"):
        out += ["", "Its output:", "", "```", *emulator["output"], "```"]
    return [*out, ""]


def _versions(results: dict[str, Any]) -> list[str]:
    out = []
    for side, info in results["meta"]["versions"].items():
        if side not in results["meta"]["sides"]:
            continue
        pk = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
        out.append(f"- {results['meta']['sides'][side]['title']}: Python {info['python']}; {pk}")
    return out


def _method(plan: dict[str, Any]) -> list[str]:
    return [
        "## Method",
        "",
        "- **Server**: `bench/loopback_server.py`, a raw asyncio HTTP/1.1 server on 127.0.0.1 "
        "answering prebuilt bytes (a fixed `chat.completion`; a fixed SSE stream), pinned to "
        "one core; every client runs on the other core. Not the emulator: its engine would "
        "be part of what is measured.",
        "- **Two venvs**, because the peers' pins conflict: the LangChain side runs openai 3.x "
        "(httpx2), the LlamaIndex side openai 2.x (httpx; `llama-index-llms-openai` pins "
        "openai < 3). Each side measures raw HTTP and the raw openai client of its own venv.",
        f"- **Interleaved rounds** in one process per venv: {plan['sync_rounds']} rounds × "
        f"{plan['sync_block']} sync calls per client (after {plan['warmup']} warm-up calls), "
        f"{plan['stream_rounds']} × {plan['stream_block']} streams of {plan['chunks']} chunks, "
        f"{plan['async_rounds']} rounds of {plan['async_calls']} async calls with "
        f"{plan['concurrency']} always in flight (a semaphore: a steady load, not one burst); "
        "the client order rotates every round. Each ratio is the median of its per-round "
        "ratios.",
        f"- **Idle pool**: {2 * plan['async_rounds']} rounds, each a burst of 50 async calls "
        "on a fresh client holding 1 "
        "pooled connection, and one on a client left holding 100 idle connections (opened "
        "by a burst of 100); the order alternates. httpx's pool walks every pooled "
        "connection per request; the ratio shows whether a spike slows everything after it. "
        "The 1-connection burst also pays for opening 49 connections (cheap on loopback), "
        "so above 1 means those connects cost more than the fuller pool does.",
        "- **Per-call overhead**: client median − raw HTTP median of the same round; raw HTTP "
        "is a POST with the HTTP library under the SDK plus `json.loads` of the body.",
        "- **µs / chunk**: whole stream time ÷ content chunks (the peer-benchmark method); "
        "'after the first' excludes the request and time to first token.",
        f"- **Cold import**: a fresh `python -c` per import, round-robin over all clients of "
        f"both venvs, 1 warm-up + {plan['import_rounds']} timed rounds; `perf_counter` "
        "around the import statement.",
        f"- **Peak RSS**: `ru_maxrss` in a process of its own per client, after the import, "
        f"then after {plan['rss_calls']} sync calls ({plan['rss_reps']} repetitions).",
        "- **New connections / stream**: `socket.create_connection` calls per stream. A "
        "client that stops reading at `[DONE]` leaves the chunked body unfinished, so the "
        "pool closes that connection and the next request opens a new one: free on "
        "loopback, a TCP (and TLS) handshake per stream over a real network.",
        "- Every client is checked against the server's answer (text and chunk count) "
        "before it is timed. Usage is requested on streams by every client.",
        "",
    ]


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    m = meta["machine"]
    plan = meta["plan"]
    lines = ["# Benchmarks: ChatGateway and GatewayLLM against their peers", ""]
    if meta["mode"] == "quick":
        lines += [
            "> **Quick trial run** (`make bench BENCH_ARGS=--quick`): few rounds; these "
            "figures only show the harness works. Run `make bench` for the published ones.",
            "",
        ]
    lines += [
        f"Figures from **one run on one machine** ({meta['generated_utc']}, "
        f"{meta['duration_s']:.0f} s): {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}, load average at start {m['load_average_at_start']}. "
        "The machine is shared, so absolute figures move between runs; the ratios are "
        "computed round by round inside one run, which cancels most of that drift.",
        "",
        "## Against the targets of issue 8",
        "",
        "Each ratio now and in the previously published run (`previous` in the JSON).",
        "",
        *_summary(results),
        "",
        *_what_changed(results),
        *_batch(results),
        "## How to rerun",
        "",
        "```sh",
        "make bench                        # the published run: creates its venvs; < 20 min here",
        "make bench BENCH_ARGS=--quick     # a short trial of the harness",
        "make bench BENCH_ARGS='--compare REV'  # and old (REV) against new, interleaved",
        ".venv-bench/bin/python bench/compare.py REV --venv .venv-bench --side langchain",
        "```",
        "",
        "It writes `docs/benchmarks.md`, `docs/benchmarks.json` (every ratio with its "
        "per-round values, the figures, versions, and the ratios of the run it replaces as "
        "`previous`) and `docs/benchmarks.png`; the quick trial writes to `build/bench-quick/`. "
        "The old-against-new comparison runs by default against the commit the replaced run "
        "names (`meta.commit`).",
        "",
        *_method(plan),
        "## Machine and versions",
        "",
        *_versions(results),
        "",
        "## Figures",
        "",
        "![benchmarks](benchmarks.png)",
        "",
    ]
    for side, fig in results["figures"].items():
        lines += _side_tables(fig, meta["sides"][side]["title"])
    lines += ["## Where the remaining time goes", ""]
    lines += obstacles(results)
    lines += where_time_goes(results)
    lines += _emulator(results.get("emulator"))
    return "\n".join(lines).rstrip() + "\n"


def write_outputs(results: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "benchmarks.json"
    md_path = out_dir / "benchmarks.md"
    png_path = out_dir / "benchmarks.png"
    json_path.write_text(json.dumps(_clean(results), indent=2, allow_nan=False) + "\n")
    md_path.write_text(markdown(results), encoding="utf-8")
    draw(results, png_path)
    return [md_path, json_path, png_path]


def _clean(value: Any) -> Any:
    """NaN (a figure with no samples) becomes null; floats are rounded for reading."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> None:
    """Re-render the Markdown and the chart from a saved benchmarks.json (no measuring)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("json", type=Path, help="a benchmarks.json written by run.py")
    parser.add_argument("--out", type=Path, default=None, help="folder (default: the JSON's)")
    args = parser.parse_args(argv)
    results = json.loads(args.json.read_text(encoding="utf-8"))
    out = args.out or args.json.parent
    for path in write_outputs(results, out):
        print(path)


if __name__ == "__main__":
    main()

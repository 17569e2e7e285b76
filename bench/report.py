"""Writes docs/benchmarks.json, docs/benchmarks.md and docs/benchmarks.png from one run.

Everything in the Markdown is generated from the run's figures, the explanations
included (they name the packages the profile found), so ``make bench`` reproduces the
whole page and nothing in it can go stale by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from chart import draw
from mdtable import LABELS
from mdtable import f as _f
from mdtable import table as _table
from where_time_goes import obstacles, where_time_goes


def _summary(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, value in results["ratios"].items():
        d = results["ratio_details"][name]
        if d["target"] is None:
            continue
        verdict = "–" if d["met"] is None else ("met" if d["met"] else "**not met**")
        bound = "≥" if d.get("at_least") else "≤"
        rows.append([f"`{name}`", d["what"], _f(value, 2), f"{bound} {d['target']:g}", verdict])
    out = _table(["ratio", "what", "value", "target", ""], rows)
    info = [
        [f"`{n}`", results["ratio_details"][n]["what"], _f(v, 2)]
        for n, v in results["ratios"].items()
        if results["ratio_details"][n]["target"] is None
    ]
    out += ["", "Informational ratios (no target):", ""]
    out += _table(["ratio", "what", "value"], info)
    return out


def _side_tables(side: str, fig: dict[str, Any], title: str) -> list[str]:
    out = [f"### {title}", ""]
    sync = fig["sync"]
    out += ["**Sync, non-streaming** (overhead = client − raw HTTP in the same round)", ""]
    out += _table(
        ["client", "median µs", "p99 µs", "overhead median µs", "overhead p99 µs"],
        [
            [
                LABELS.get(n, n),
                _f(r["median_us"]),
                _f(r["p99_us"]),
                _f(r.get("overhead_median_us")),
                _f(r.get("overhead_p99_us")),
            ]
            for n, r in sync.items()
        ],
    )
    stream = fig["stream"]
    chunks = next(iter(stream.values()))["chunks_per_stream"] if stream else 0
    out += ["", f"**Streaming**, {chunks} content chunks + finish + usage + `[DONE]`", ""]
    out += _table(
        [
            "client",
            "stream ms",
            "µs / chunk",
            "µs / chunk after the first",
            "TTFT µs",
            "TTFT p99 µs",
            "new connections / stream",
        ],
        [
            [
                LABELS.get(n, n),
                _f(r["total_ms_median"], 2),
                _f(r["us_per_chunk"], 1),
                _f(r["us_per_chunk_after_first"], 1),
                _f(r["ttft_median_us"]),
                _f(r["ttft_p99_us"]),
                _f(r.get("new_connections_per_stream"), 2),
            ]
            for n, r in stream.items()
        ],
    )
    out += ["", "**Async**, 200 calls in flight (sustained; one long-lived client)", ""]
    out += _table(
        ["client", "req/s median", "best", "worst", "burst, 1 pooled", "burst, 100 idle"],
        [
            [
                LABELS.get(n, n),
                _f(r["rps_median"]),
                _f(r["rps_best"]),
                _f(r["rps_worst"]),
                _f(r.get("burst_rps_pool_1")),
                _f(r.get("burst_rps_pool_idle")),
            ]
            for n, r in fig["async"].items()
        ],
    )
    out += ["", "**Cold import and memory** (fresh interpreter / process each)", ""]
    rows = []
    for n, r in fig["import"].items():
        rss = fig["rss"].get(n, {})
        rows.append(
            [
                LABELS.get(n, n),
                _f(r["import_s_median"], 3),
                _f(r["process_s_median"], 3),
                str(r["modules"]),
                _f(rss.get("rss_after_import_mb"), 1),
                _f(rss.get("rss_after_calls_mb"), 1),
                _f(rss.get("import_to_first_answer_s"), 3),
            ]
        )
    out += _table(
        [
            "client",
            "import s",
            "whole process s",
            "modules",
            "peak RSS after import MB",
            "after 1,000 calls MB",
            "import → first answer s",
        ],
        rows,
    )
    return [*out, ""]


def _what_changed(results: dict[str, Any]) -> list[str]:
    """Issue 16's change, with this run's own figures."""
    fig = results["figures"]

    def rps(side: str, name: str, field: str = "rps_median") -> str:
        return _f(fig.get(side, {}).get("async", {}).get(name, {}).get(field))

    ratios = results["ratios"]
    return [
        "## What changed: async on aiohttp (issue 16)",
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
    ]


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
    plain = emulator.get("non_streaming")
    rows = []
    if plain:
        verdict = "met" if plain["rps"] >= 2000 and not plain["failed"] else "**not met**"
        rows.append(
            [
                "non-streaming",
                f"{plain['requests']:.0f} requests over {plain['connections']:.0f} connections",
                f"{plain['rps']:,.0f} req/s",
                f"{plain['failed']:.0f} failed",
                verdict,
            ]
        )
    for st in emulator.get("streams", []):
        ok = st["concurrent"] >= 500 and not st["incomplete"]
        rows.append(
            [
                f"streams, {st['model']}",
                f"{st['concurrent']:.0f} at once, {st['events']:.0f} events each",
                f"{st['seconds']:.2f} s for all",
                f"{st['incomplete']:.0f} incomplete",
                "met" if ok else "**not met**",
            ]
        )
    paced = emulator.get("paced")
    if paced:
        rows.append(
            [
                "paced streams",
                f"{paced['open']:.0f} open at once",
                f"{paced['seconds']:.2f} s (pacing alone {paced['floor']:.2f} s)",
                f"{paced['incomplete']:.0f} incomplete",
                "met" if paced["open"] >= 500 and not paced["incomplete"] else "**not met**",
            ]
        )
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
        *_summary(results),
        "",
        *_what_changed(results),
        "## How to rerun",
        "",
        "```sh",
        "make bench                        # the published run: creates its venvs; < 15 min here",
        "make bench BENCH_ARGS=--quick     # a short trial of the harness",
        "```",
        "",
        "It writes `docs/benchmarks.md`, `docs/benchmarks.json` (every ratio with its "
        "per-round values, the figures, versions) and `docs/benchmarks.png`.",
        "",
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
        lines += _side_tables(side, fig, meta["sides"][side]["title"])
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

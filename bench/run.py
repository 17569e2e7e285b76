"""``make bench``: every figure of docs/benchmarks.{md,json,png} in one command.

What it does, in order (each step in fresh processes; nothing here is timed by itself):

1. starts ``loopback_server.py`` pinned to one core and pins itself (and so every child)
   to the other;
2. per venv (LangChain side on openai 3.x, LlamaIndex side on openai 2.x, because
   ``llama-index-llms-openai`` pins openai < 3), one ``worker.py run`` that interleaves
   raw HTTP, the openai client, our transport, our adapter and the peer in rounds;
3. cold imports, one fresh interpreter each, round-robin over every client of both venvs;
4. peak RSS, one process per client: after the import, then after 1,000 calls;
5. py-spy samples of our adapters and of our transport alone (where the time goes);
6. the emulator's own throughput (``emulator_throughput.py``, the emulator's script);
7. statistics, ratios against the issue's targets, the Markdown, JSON and chart.

``--quick`` runs a few rounds of everything for trying the harness; its figures are
marked as such in every output and are not the ones to quote.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from analysis import analyse  # noqa: E402
from profiling import profile  # noqa: E402
from report import write_outputs  # noqa: E402


@dataclass(frozen=True)
class Plan:
    """How much of everything to run."""

    warmup: int
    sync_rounds: int
    sync_block: int
    stream_rounds: int
    stream_block: int
    async_rounds: int
    async_calls: int
    concurrency: int
    chunks: int
    import_rounds: int
    rss_reps: int
    rss_calls: int
    profile_calls: int
    profile_streams: int
    profile_acalls: int


FULL = Plan(30, 15, 40, 10, 4, 4, 800, 200, 200, 4, 2, 1000, 800, 30, 400)
QUICK = Plan(10, 4, 25, 3, 2, 2, 400, 200, 200, 2, 1, 1000, 600, 20, 400)


@dataclass(frozen=True)
class Side:
    """One venv and the clients measured in it."""

    key: str
    title: str
    python: str
    targets: tuple[str, ...]
    ours: str
    peer: str


def _env() -> dict[str, str]:
    """The children's environment: nothing that would redirect, trace or configure clients."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "GW_", "LANGCHAIN_", "LANGSMITH_", "LLAMA_"))
    }
    env["LANGSMITH_TRACING"] = "false"
    env["LANGCHAIN_TRACING_V2"] = "false"
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env.pop("PYTHONPATH", None)
    return env


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextlib.contextmanager
def loopback_server(cpu: int | None, chunks: int) -> Iterator[str]:
    """The fast fixed-answer server, in its own process on its own core."""
    cmd = [sys.executable, str(HERE / "loopback_server.py"), "--chunks", str(chunks)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            raise SystemExit(f"the benchmark server did not start: {line!r}")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _worker(python: str, args: list[str], timeout: float) -> Any:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    try:
        subprocess.run(
            [python, str(HERE / "worker.py"), *args, "--out", out],
            check=True,
            env=_env(),
            timeout=timeout,
        )
        with open(out, encoding="utf-8") as fh:
            return json.load(fh)
    finally:
        os.unlink(out)


_IMPORT_CODE = (
    "import time as _t\n_s=_t.perf_counter()\n{stmt}\n_e=_t.perf_counter()-_s\n"
    "import json as _j,resource as _r,sys as _y\n"
    "print(_j.dumps({{'import_s':_e,'rss_mb':_r.getrusage(_r.RUSAGE_SELF).ru_maxrss/1024,"
    "'modules':len(_y.modules)}}))"
)


def _time_import(python: str, stmt: str, cwd: str) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-c", _IMPORT_CODE.format(stmt=stmt)],
        check=True,
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        timeout=120,
    )
    process_s = time.perf_counter() - start
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = process_s
    return result


_IMPORTTIME = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def _import_breakdown(python: str, stmt: str, cwd: str) -> dict[str, float]:
    """Self time per top-level package (ms) from ``-X importtime``."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", stmt],
        check=True,
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        timeout=120,
    )
    per: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            package = match.group(4).split(".", 1)[0]
            per[package] = per.get(package, 0.0) + int(match.group(1)) / 1000
    return dict(sorted(per.items(), key=lambda kv: kv[1], reverse=True))


def _import_targets(side: Side) -> list[str]:
    return [t for t in ("httpx", "openai", "gw_core", side.ours, side.peer) if t in side.targets]


def measure_imports(sides: list[Side], plan: Plan, stmts: dict[str, dict[str, str]]) -> Any:
    """Round-robin over every (venv, client): one warm-up round (.pyc files), then timed."""
    pairs = [(side, name) for side in sides for name in _import_targets(side)]
    runs: dict[str, dict[str, list[dict[str, float]]]] = {s.key: {} for s in sides}
    with tempfile.TemporaryDirectory() as cwd:
        for round_no in range(plan.import_rounds + 1):
            shift = round_no % len(pairs)
            for side, name in pairs[shift:] + pairs[:shift]:
                sample = _time_import(side.python, stmts[side.key][name], cwd)
                if round_no:
                    runs[side.key].setdefault(name, []).append(sample)
        breakdown = {
            side.key: {
                name: _import_breakdown(side.python, stmts[side.key][name], cwd)
                for name in (side.ours, side.peer)
                if name in side.targets
            }
            for side in sides
        }
    return {"runs": runs, "breakdown_ms": breakdown}


def measure_rss(sides: list[Side], plan: Plan, base_url: str) -> Any:
    runs: dict[str, dict[str, list[Any]]] = {s.key: {} for s in sides}
    for _rep in range(plan.rss_reps):
        for side in sides:
            for name in _import_targets(side):
                sample = _worker(
                    side.python,
                    [
                        "rss",
                        "--target",
                        name,
                        "--base-url",
                        base_url,
                        "--calls",
                        str(plan.rss_calls),
                    ],
                    timeout=300,
                )
                runs[side.key].setdefault(name, []).append(sample)
    return runs


_EMU_PATTERNS = {
    "non_streaming": re.compile(
        r"non-streaming: (?P<requests>\d+) requests over (?P<connections>\d+) connections "
        r"in (?P<seconds>[\d.]+) s = (?P<rps>[\d,]+) req/s \((?P<failed>\d+) failed\)"
    ),
    "streams": re.compile(
        r"streams \((?P<model>[^)]+)\): (?P<concurrent>\d+) concurrent, (?P<events>\d+) "
        r"events each, in (?P<seconds>[\d.]+) s = (?P<per_s>[\d,]+) streams/s "
        r"\((?P<incomplete>\d+) incomplete\)"
    ),
    "paced": re.compile(
        r"paced streams: (?P<open>\d+) open at once.*all done in (?P<seconds>[\d.]+) s "
        r"\(pacing alone: (?P<floor>[\d.]+) s; (?P<incomplete>\d+) incomplete\)"
    ),
}


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def emulator_throughput(project_python: str, quick: bool, cpus: set[int]) -> Any:
    """Run the emulator's own script (it pins its server and load generator itself).

    Its printed lines are kept as they are; the figures are also parsed for the JSON.
    """
    script = HERE / "emulator_throughput.py"
    if not script.exists():
        return {"error": "bench/emulator_throughput.py is not in this checkout"}
    cmd = [project_python, str(script)]
    if quick:
        cmd += ["--requests", "4000"]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=_env(),
        cwd=str(ROOT),
        timeout=600,
        check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),  # both cores: it pins itself
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-400:]}", "output": lines}
    parsed: dict[str, Any] = {"output": lines, "streams": []}
    for line in lines:
        for key, pattern in _EMU_PATTERNS.items():
            match = pattern.search(line)
            if not match:
                continue
            values = {k: (v if k == "model" else _number(v)) for k, v in match.groupdict().items()}
            if key == "streams":
                parsed["streams"].append(values)
            else:
                parsed[key] = values
    return parsed


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gb, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmarks against the peers (issue 8).")
    parser.add_argument("--venv", required=True, help="LangChain-side venv (openai 3.x)")
    parser.add_argument("--venv-openai2", required=True, help="LlamaIndex-side venv (openai 2.x)")
    parser.add_argument("--project-venv", required=True, help="the project's .venv (emulator)")
    parser.add_argument("--quick", action="store_true", help="a few rounds: for trying only")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="where the docs go")
    parser.add_argument("--skip-emulator", action="store_true")
    parser.add_argument("--skip-batch", action="store_true", help="no batch figures (issue 13)")
    parser.add_argument(
        "--side", choices=("langchain", "llamaindex"), help="measure one venv only (debugging)"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.time()
    machine_info = machine()

    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[0] if len(cpus) > 1 else None
    client_cpu = cpus[-1] if len(cpus) > 1 else None
    if len(cpus) > 1:
        os.sched_setaffinity(0, {cpus[-1]})  # children inherit: clients on the other core
    sides_all = [
        Side(
            "langchain",
            "LangChain side (openai 3.x)",
            str(Path(args.venv).absolute() / "bin" / "python"),
            ("httpx", "openai", "openai_aiohttp", "gw_core", "ChatGateway", "ChatOpenAI"),
            "ChatGateway",
            "ChatOpenAI",
        ),
        Side(
            "llamaindex",
            "LlamaIndex side (openai 2.x)",
            str(Path(args.venv_openai2).absolute() / "bin" / "python"),
            ("httpx", "openai", "openai_aiohttp", "gw_core", "GatewayLLM", "OpenAILike"),
            "GatewayLLM",
            "OpenAILike",
        ),
    ]

    versions: dict[str, Any] = {}
    sides: list[Side] = []
    stmts: dict[str, dict[str, str]] = {}
    for side in sides_all:
        if args.side and side.key != args.side:
            continue
        info = _worker(side.python, ["versions"], timeout=300)
        versions[side.key] = info
        missing = {n for n, ok in info["importable"].items() if ok is not True}
        for name in sorted(missing & set(side.targets)):
            _log(f"{side.key}: {name} is not importable, left out: {info['importable'][name]}")
        targets = tuple(t for t in side.targets if t not in missing)
        sides.append(Side(side.key, side.title, side.python, targets, side.ours, side.peer))
        stmts[side.key] = info["import_statements"]

    raw: dict[str, Any] = {"runs": {}, "profiles": {}}
    with loopback_server(server_cpu, plan.chunks) as base_url:
        for side in sides:
            _log(f"{side.key}: interleaved calls, streams and async load: {side.targets}")
            raw["runs"][side.key] = _worker(
                side.python,
                [
                    "run",
                    "--targets",
                    ",".join(side.targets),
                    "--base-url",
                    base_url,
                    "--chunks",
                    str(plan.chunks),
                    "--warmup",
                    str(plan.warmup),
                    "--sync-rounds",
                    str(plan.sync_rounds),
                    "--sync-block",
                    str(plan.sync_block),
                    "--stream-rounds",
                    str(plan.stream_rounds),
                    "--stream-block",
                    str(plan.stream_block),
                    "--async-rounds",
                    str(plan.async_rounds),
                    "--async-calls",
                    str(plan.async_calls),
                    "--idle-pool",
                    side.ours,
                    "--concurrency",
                    str(plan.concurrency),
                ],
                timeout=900,
            )
        _log("cold imports, round-robin over both venvs")
        raw["imports"] = measure_imports(sides, plan, stmts)
        _log("peak RSS after import and after 1,000 calls")
        raw["rss"] = measure_rss(sides, plan, base_url)
        pyspy = str(Path(sys.executable).parent / "py-spy")
        for side in sides:
            for name in ("gw_core", side.ours):  # the layers of our own stack
                if name not in side.targets:
                    continue
                _log(f"{side.key}: sampling {name} with py-spy")
                per_op = raw["profiles"].setdefault(side.key, {}).setdefault(name, {})
                for op, count in (
                    ("call", plan.profile_calls),
                    ("stream", plan.profile_streams),
                    ("acall", plan.profile_acalls),
                ):
                    per_op[op] = profile(
                        pyspy,
                        side.python,
                        HERE / "worker.py",
                        name,
                        op,
                        count,
                        base_url,
                        plan.chunks,
                        _env(),
                        client_cpu,
                        set(cpus),
                    )
    if args.skip_emulator:
        raw["emulator"] = {"error": "skipped (--skip-emulator)"}
    else:
        _log("the emulator's own throughput")
        raw["emulator"] = emulator_throughput(
            str(Path(args.project_venv).absolute() / "bin" / "python"), args.quick, set(cpus)
        )

    meta = {
        "mode": "quick" if args.quick else "full",
        "generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": None,
        "machine": machine_info,
        "plan": plan.__dict__,
        "sides": {
            s.key: {"title": s.title, "targets": list(s.targets), "ours": s.ours, "peer": s.peer}
            for s in sides
        },
        "versions": versions,
        "command": "make bench" + (" BENCH_ARGS=--quick" if args.quick else ""),
    }
    results = analyse(raw, meta)
    if not args.skip_batch:
        _log("batch engine vs ChatOpenAI.abatch, Redis limiter, Ray (bench/batch.py)")
        from batch import BATCH_KEYS, measure

        figures = measure(
            str(Path(args.project_venv).absolute() / "bin" / "python"),
            str(Path(args.venv).absolute() / "bin" / "python"),
            rows=1_000 if args.quick else 10_000,
            ray_rows=500 if args.quick else 2_000,
            server_cpu=server_cpu,
        )
        results["batch"] = figures
        results.update({key: figures.get(key) for key in BATCH_KEYS})
    results["meta"]["duration_s"] = round(time.time() - started, 1)
    paths = write_outputs(results, Path(args.out))
    _log(f"done in {results['meta']['duration_s']:.0f} s: " + ", ".join(str(p) for p in paths))
    for name, value in results["ratios"].items():
        detail = results["ratio_details"][name]
        verdict = "" if detail["target"] is None else ("met" if detail["met"] else "NOT met")
        shown = "n/a" if value is None else f"{value:.2f}"
        print(f"  {name:45s} {shown:>6s}  {verdict}")


if __name__ == "__main__":
    main()

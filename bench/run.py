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
7. the batch engine against its peers, the Redis limiter, Ray (``batch.py``, issue 13);
8. statistics, ratios against the targets, the Markdown, JSON and chart; the ratios of
   the run being replaced (docs/benchmarks.json) are kept in the new one as ``previous``.

Where each part lives: ``worker.py`` measures inside one venv, driving the clients of
``targets.py``; ``analysis.py`` holds the one registry of published ratios (``RATIOS``:
key, what, side, target, how each is computed), the statistics and the py-spy
attribution; ``report.py`` (Markdown, JSON) and ``chart.py`` (PNG) only read the results;
``report.py`` alone re-renders them from a saved JSON. Tests: tests/bench/.

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

from analysis import BY_KEY, analyse, attribute, previous_of  # noqa: E402
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


#: Plan fields that are not ``worker.py run`` options.
RUN_SKIPS = ("import_", "rss_", "profile_")
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


#: This process's cores: the server gets the first, every client (child) the last.
ALL_CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPU = ALL_CPUS[0] if len(ALL_CPUS) > 1 else None
CLIENT_CPU = ALL_CPUS[-1] if len(ALL_CPUS) > 1 else None
SIDES = (
    ("langchain", "LangChain side (openai 3.x)", "ChatGateway", "ChatOpenAI"),
    ("llamaindex", "LlamaIndex side (openai 2.x)", "GatewayLLM", "OpenAILike"),
)


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


def _flags(**options: object) -> list[str]:
    """``--name value`` pairs for worker.py (underscores become dashes)."""
    return [part for k, v in options.items() for part in (f"--{k.replace('_', '-')}", str(v))]


def _worker(python: str, command: str, timeout: float, **options: object) -> Any:
    """One worker.py sub-command in a fresh process; its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    try:
        subprocess.run(
            [python, str(HERE / "worker.py"), command, *_flags(**options, out=out)],
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


def _python_c(python: str, cwd: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter of one venv, in an empty folder (nothing local to import)."""
    return subprocess.run(
        [python, *args], check=True, capture_output=True, text=True, env=_env(), cwd=cwd,
        timeout=120,
    )  # fmt: skip


def _time_import(python: str, stmt: str, cwd: str) -> dict[str, float]:
    start = time.perf_counter()
    done = _python_c(python, cwd, "-c", _IMPORT_CODE.format(stmt=stmt))
    process_s = time.perf_counter() - start
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = process_s
    return result


_IMPORTTIME = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def _import_breakdown(python: str, stmt: str, cwd: str) -> dict[str, float]:
    """Self time per top-level package (ms) from ``-X importtime``."""
    per: dict[str, float] = {}
    for line in _python_c(python, cwd, "-X", "importtime", "-c", stmt).stderr.splitlines():
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
                    side.python, "rss", 300, target=name, base_url=base_url, calls=plan.rss_calls
                )
                runs[side.key].setdefault(name, []).append(sample)
    return runs


def emulator_throughput(project_python: str, quick: bool) -> Any:
    """Run the emulator's own script (it pins its server and load generator itself): its
    figures, and its printed lines as they are."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = os.path.join(tmp, "emulator.json")
        cmd = [project_python, str(HERE / "emulator_throughput.py"), "--json", figures]
        done = subprocess.run(
            cmd + (["--requests", "4000"] if quick else []),
            capture_output=True,
            text=True,
            env=_env(),
            cwd=str(ROOT),
            timeout=600,
            check=False,
            preexec_fn=lambda: os.sched_setaffinity(0, set(ALL_CPUS)),  # it pins itself
        )
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        if done.returncode != 0:
            error = f"exit {done.returncode}: {done.stderr.strip()[-400:]}"
            return {"error": error, "output": lines}
        with open(figures, encoding="utf-8") as fh:
            return {**json.load(fh), "output": lines}


def profile(side: Side, name: str, op: str, count: int, base_url: str, plan: Plan) -> Any:
    """One client's loop (``worker.py load``) under py-spy: where its CPU time goes.

    py-spy samples from outside (``--nonblocking``: it never pauses the client), so unlike
    an in-process profiler it does not inflate code that makes many small calls; it leaves
    out idle samples (blocked on the socket). py-spy may use any core; the load pins itself
    to the client's core.
    """
    pyspy = str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        stacks, out = os.path.join(tmp, "stacks.txt"), os.path.join(tmp, "load.json")
        load = _flags(target=name, op=op, count=count, base_url=base_url, chunks=plan.chunks)
        load += _flags(out=out) + ([] if CLIENT_CPU is None else _flags(cpu=CLIENT_CPU))
        spy = [pyspy, "record", "--nonblocking", "--nolineno", "--rate", "1000"]
        spy += ["--format", "raw", "--output", stacks, "--"]
        done = subprocess.run(
            [*spy, side.python, str(HERE / "worker.py"), "load", *load],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
            preexec_fn=lambda: os.sched_setaffinity(0, set(ALL_CPUS)),
        )
        if done.returncode != 0 or not os.path.exists(out):
            return {"error": f"py-spy exit {done.returncode}: {done.stderr.strip()[-300:]}"}
        with open(out, encoding="utf-8") as fh:
            timing = json.load(fh)
        with open(stacks, encoding="utf-8") as fh:
            result = attribute(fh, timing["cpu_us_per_op"])
    result["wall_us_per_op"] = round(timing["wall_us_per_op"], 1)
    result["cpu_us_per_op"] = round(timing["cpu_us_per_op"], 1)
    result["count"] = count
    return result


def old_against_new(rev: str | None, sides: list[Side], quick: bool) -> dict[str, Any]:
    """bench/compare.py for each side; a revision git cannot export is noted, not fatal
    (the run's own figures are already measured)."""
    if not rev or rev == "none":
        return {}
    from compare import compare

    rev = rev.removesuffix(_DIRTY)  # a run measured with edits: compare with its commit
    _log(f"old against new: the sync and stream ratios at {rev} and now (bench/compare.py)")
    try:
        return {s.key: compare(rev, s.python, s.key, 1 if quick else 3) for s in sides}
    except subprocess.CalledProcessError as exc:
        _log(f"old against new left out: {exc}")
        return {"error": f"{rev}: {exc}"}


def _commit() -> str | None:
    """The checkout's commit, so that a later run can compare against this one's code."""
    found = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--", *_OURS])
    if found.returncode != 0:
        return None
    return found.stdout.strip() + (_DIRTY if dirty.returncode else "")


_OURS = ("gw_core", "langchain_gw", "llamaindex_gw")
_DIRTY = "+changes"


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


def _python(venv: str) -> str:
    return str(Path(venv).absolute() / "bin" / "python")


def _sides(args: argparse.Namespace) -> tuple[list[Side], dict[str, Any]]:
    """Each venv's clients that import there (a missing one is named and left out)."""
    sides, versions = [], {}
    for key, title, ours, peer in SIDES:
        if args.side and key != args.side:
            continue
        python = _python(args.venv if key == "langchain" else args.venv_openai2)
        info = versions[key] = _worker(python, "versions", 300)
        wanted = ("httpx", "openai", "openai_aiohttp", "gw_core", ours, peer)
        missing = {n for n, ok in info["importable"].items() if ok is not True}
        for name in sorted(missing & set(wanted)):
            _log(f"{key}: {name} is not importable, left out: {info['importable'][name]}")
        targets = tuple(t for t in wanted if t not in missing)
        sides.append(Side(key, title, python, targets, ours, peer))
    return sides, versions


def measure_clients(sides: list[Side], plan: Plan, versions: dict[str, Any]) -> Any:
    """Everything against the loopback server: interleaved runs, imports, RSS, profiles."""
    raw: dict[str, Any] = {"runs": {}, "profiles": {}}
    stmts = {side.key: versions[side.key]["import_statements"] for side in sides}
    with loopback_server(SERVER_CPU, plan.chunks) as base_url:
        for side in sides:
            _log(f"{side.key}: interleaved calls, streams and async load: {side.targets}")
            options = {k: v for k, v in plan.__dict__.items() if not k.startswith(RUN_SKIPS)}
            raw["runs"][side.key] = _worker(
                side.python, "run", 900, targets=",".join(side.targets), base_url=base_url,
                idle_pool=side.ours, **options,
            )  # fmt: skip
        _log("cold imports, round-robin over both venvs")
        raw["imports"] = measure_imports(sides, plan, stmts)
        _log("peak RSS after import and after 1,000 calls")
        raw["rss"] = measure_rss(sides, plan, base_url)
        counts = {"call": plan.profile_calls, "stream": plan.profile_streams}
        counts["acall"] = plan.profile_acalls
        for side in sides:
            for name in ("gw_core", side.ours):  # the layers of our own stack
                if name in side.targets:
                    _log(f"{side.key}: sampling {name} with py-spy")
                    raw["profiles"].setdefault(side.key, {})[name] = {
                        op: profile(side, name, op, count, base_url, plan)
                        for op, count in counts.items()
                    }
    return raw


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmarks against the peers (issue 8).")
    parser.add_argument("--venv", required=True, help="LangChain-side venv (openai 3.x)")
    parser.add_argument("--venv-openai2", required=True, help="LlamaIndex-side venv (openai 2.x)")
    parser.add_argument("--project-venv", required=True, help="the project's .venv (emulator)")
    parser.add_argument("--quick", action="store_true", help="a few rounds: for trying only")
    parser.add_argument("--out", help="where the outputs go (docs/; quick: build/bench-quick/)")
    parser.add_argument("--skip-emulator", action="store_true")
    parser.add_argument("--skip-batch", action="store_true", help="no batch figures (issue 13)")
    parser.add_argument(
        "--side", choices=("langchain", "llamaindex"), help="measure one venv only (debugging)"
    )
    parser.add_argument(
        "--compare",
        metavar="REV",
        help="also measure the sync/stream ratios at REV against now, interleaved (default: "
        "the commit of the published run, when it names one; 'none' to skip)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    out = Path(args.out or (ROOT / ("build/bench-quick" if args.quick else "docs")))
    started = time.time()
    meta: dict[str, Any] = {"mode": "quick" if args.quick else "full", "machine": machine()}
    meta["commit"] = _commit()  # the code measured: read before anything can change it
    if len(ALL_CPUS) > 1:
        os.sched_setaffinity(0, {ALL_CPUS[-1]})  # children inherit: clients on the other core
    sides, versions = _sides(args)
    raw = measure_clients(sides, plan, versions)
    project_python = _python(args.project_venv)
    if args.skip_emulator:
        raw["emulator"] = {"error": "skipped (--skip-emulator)"}
    else:
        _log("the emulator's own throughput")
        raw["emulator"] = emulator_throughput(project_python, args.quick)
    batch = None
    if not args.skip_batch:
        _log("batch engine vs ChatOpenAI.abatch, Redis limiter, Ray (bench/batch.py)")
        from batch import measure

        rows, ray_rows = (1_000, 500) if args.quick else (10_000, 2_000)
        batch = measure(project_python, _python(args.venv), rows=rows, ray_rows=ray_rows,
                        server_cpu=SERVER_CPU)  # fmt: skip
    # The published run this one replaces: read before it is overwritten.
    previous = previous_of(ROOT / "docs" / "benchmarks.json")
    raw["compare"] = old_against_new(args.compare or (previous or {}).get("commit"), sides,
                                     args.quick)  # fmt: skip
    meta |= {
        "generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(time.time() - started, 1),
        "plan": plan.__dict__,
        "sides": {
            s.key: {"title": s.title, "targets": list(s.targets), "ours": s.ours, "peer": s.peer}
            for s in sides
        },
        "versions": versions,
        "command": "make bench" + (" BENCH_ARGS=--quick" if args.quick else ""),
    }
    results = analyse(raw, meta, batch, previous)
    paths = write_outputs(results, out)
    _log(f"done in {meta['duration_s']:.0f} s: " + ", ".join(str(p) for p in paths))
    for spec in BY_KEY.values():
        value = results["ratios"].get(spec.key, results.get(spec.key))
        met = spec.met(value)
        verdict = "" if met is None else ("met" if met else "NOT met")
        shown = "n/a" if value is None else f"{value:.2f}"
        print(f"  {spec.key:45s} {shown:>6s}  {verdict}")


if __name__ == "__main__":
    main()

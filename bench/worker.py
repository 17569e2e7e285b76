"""Runs inside one venv and measures the clients named on its command line.

Sub-commands (the orchestrator, ``run.py``, calls each in a fresh process):

- ``versions``: the interpreter and the versions of every package the figures depend on;
- ``run``: sync calls, streams and sustained async load, interleaved: every round visits
  every client in a rotated order, so drift on a shared machine lands on all of them
  alike; then, for our clients, a burst on a 1-connection pool against one on a pool
  left with 100 idle connections (does the transport slow as its pool grows?);
- ``rss``: one client alone: import, build, 1,000 sync calls; peak RSS after each step;
- ``load``: one client's calls or streams in a loop, for ``py-spy`` to sample.

Raw samples go to ``--out`` as JSON; statistics are the orchestrator's job.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from loopback_server import ANSWER
from targets import TARGETS, Driver, import_stmt

PACKAGES = (
    "openai", "httpx", "httpx2", "httpcore", "httpcore2", "pydantic", "pydantic-core",
    "tenacity", "langchain-core", "langchain-openai", "langsmith", "llama-index-core",
    "llama-index-llms-openai", "llama-index-llms-openai-like", "gw-integrations", "aiohttp",
    "httpx-aiohttp", "py-spy",
)  # fmt: skip


_CONNECTS = [0]
_create_connection = socket.create_connection


def _counting_create_connection(*args: Any, **kwargs: Any) -> socket.socket:
    """socket.create_connection, counted: does a client reuse its pooled connection?"""
    _CONNECTS[0] += 1
    return _create_connection(*args, **kwargs)


def _rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rotated(names: list[str], shift: int) -> list[str]:
    shift %= len(names)
    return names[shift:] + names[:shift]


def verify(name: str, driver: Driver, chunks: int) -> None:
    """Refuse to time a client that does not get the server's answer."""
    answer = driver.call()
    if answer != ANSWER:
        raise SystemExit(f"{name}: call() returned {answer!r}, expected the server's answer")
    _ttft, got = driver.stream()
    if got != chunks:
        raise SystemExit(f"{name}: stream() saw {got} content chunks, the server sent {chunks}")


def cmd_versions(_args: argparse.Namespace) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    importable: dict[str, bool | str] = {}
    for name in ("ChatGateway", "GatewayLLM", "ChatOpenAI", "OpenAILike", "gw_core"):
        try:
            exec(import_stmt(name), {})
            importable[name] = True
        except Exception as exc:  # a missing peer or an adapter not written yet
            importable[name] = f"{type(exc).__name__}: {exc}"[:200]
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "packages": found,
        "importable": importable,
        "import_statements": {name: import_stmt(name) for name in TARGETS},
    }


# -- the interleaved run ---------------------------------------------------------------


def _sync_phase(
    drivers: dict[str, Driver], rounds: int, block: int
) -> dict[str, list[list[float]]]:
    names = list(drivers)
    samples: dict[str, list[list[float]]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for r in range(rounds):
        for name in _rotated(names, r):
            call = drivers[name].call
            block_us: list[float] = []
            for _ in range(block):
                start = clock()
                call()
                block_us.append((clock() - start) / 1000)
            samples[name].append(block_us)
    return samples


def _stream_phase(
    drivers: dict[str, Driver], rounds: int, block: int, chunks: int
) -> dict[str, Any]:
    names = list(drivers)
    out: dict[str, Any] = {name: [] for name in names}
    clock = time.perf_counter
    for r in range(rounds):
        for name in _rotated(names, r):
            stream = drivers[name].stream
            block_runs: list[dict[str, float]] = []
            for _ in range(block):
                opened = _CONNECTS[0]
                start = clock()
                ttft, got = stream()
                total = clock() - start
                if got != chunks:
                    raise SystemExit(f"{name}: a stream ended after {got} of {chunks} chunks")
                block_runs.append(
                    {
                        "total_us": total * 1e6,
                        "ttft_us": ttft * 1e6,
                        "new_connections": _CONNECTS[0] - opened,
                    }
                )
            out[name].append(block_runs)
    return out


async def sustained(acall: Callable[[], Any], calls: int, in_flight: int) -> float:
    """Calls per second with ``in_flight`` calls always running (a semaphore), ``calls`` in
    all: a steady load, as batch runs and servers make, not one burst that never fills the
    pool. Every answer is checked."""
    gate = asyncio.Semaphore(in_flight)

    async def one() -> str:
        async with gate:
            return str(await acall())

    start = time.perf_counter()
    answers = await asyncio.gather(*(one() for _ in range(calls)))
    elapsed = time.perf_counter() - start
    if any(a != ANSWER for a in answers):
        raise SystemExit("a concurrent call returned a wrong answer")
    return calls / elapsed


async def _idle_pool_rates(driver: Driver, burst: int, idle: int, flip: bool) -> dict[str, float]:
    """A burst of ``burst`` calls on a fresh pool holding 1 connection, and one on a pool
    holding ``idle`` idle connections (opened by a burst of that size, left in the pool);
    ``flip`` swaps the order, so drift does not favour either."""
    from gw_core.client import aclose_clients

    rates: dict[str, float] = {}
    order = [("pool_1", 1), ("pool_idle", idle)]
    for label, warm in reversed(order) if flip else order:
        await aclose_clients()  # our cached client for this loop: the next call builds anew
        await asyncio.gather(*(driver.acall() for _ in range(warm)))
        start = time.perf_counter()
        answers = await asyncio.gather(*(driver.acall() for _ in range(burst)))
        rates[label] = burst / (time.perf_counter() - start)
        if any(a != ANSWER for a in answers):
            raise SystemExit("a burst call returned a wrong answer")
    return rates


async def _async_phase(
    drivers: dict[str, Driver], args: argparse.Namespace, idle_pool: list[str]
) -> dict[str, Any]:
    names = list(drivers)
    rps: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up: opens each client's pool to the working size
        await sustained(drivers[name].acall, args.concurrency, args.concurrency)
    for r in range(args.async_rounds):
        for name in _rotated(names, r):
            gc.collect()
            rps[name].append(
                await sustained(drivers[name].acall, args.async_calls, args.concurrency)
            )
    pools: dict[str, list[dict[str, float]]] = {name: [] for name in idle_pool}
    for r in range(2 * args.async_rounds):  # bursts are short: twice the rounds
        for name in idle_pool:
            rates = await _idle_pool_rates(drivers[name], args.burst, args.idle, bool(r % 2))
            pools[name].append(rates)
    for driver in drivers.values():
        close = getattr(driver, "aclose", None)
        if close is not None:
            await close()
    return {"rps": rps, "idle_pool": pools}


def cmd_run(args: argparse.Namespace) -> dict[str, Any]:
    # Sync clients connect through socket.create_connection; count them per stream.
    socket.create_connection = _counting_create_connection
    names = args.targets.split(",")
    drivers: dict[str, Driver] = {}
    for name in names:
        driver = TARGETS[name].build(args.base_url)
        verify(name, driver, args.chunks)
        drivers[name] = driver

    def having(phase: str) -> dict[str, Driver]:
        return {n: d for n, d in drivers.items() if phase in TARGETS[n].phases}

    result: dict[str, Any] = {"targets": names}
    phase_s: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phase_s[phase] = round(now - mark, 2)
        mark = now

    lap("setup")
    sync = having("sync")
    for driver in sync.values():
        for _ in range(args.warmup):
            driver.call()
    result["sync"] = _sync_phase(sync, args.sync_rounds, args.sync_block)
    lap("sync")
    streaming = having("stream")
    for driver in streaming.values():
        for _ in range(max(1, args.warmup // 10)):
            driver.stream()
    result["stream"] = _stream_phase(streaming, args.stream_rounds, args.stream_block, args.chunks)
    lap("stream")
    asynchronous = having("async")
    idle_pool = [n for n in args.idle_pool.split(",") if n in asynchronous]
    measured = asyncio.run(_async_phase(asynchronous, args, idle_pool))
    result["async"], result["idle_pool"] = measured["rps"], measured["idle_pool"]
    lap("async")
    result["phase_s"] = phase_s
    print(f"worker phases (s): {phase_s}", file=sys.stderr, flush=True)
    return result


# -- memory, alone in its process ----------------------------------------------------------


def cmd_rss(args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    exec(import_stmt(args.target), {})
    imported = time.perf_counter()
    rss_import = _rss_mb()
    driver = TARGETS[args.target].build(args.base_url)
    answer = driver.call()
    first = time.perf_counter()
    if answer != ANSWER:
        raise SystemExit(f"{args.target}: wrong answer {answer!r}")
    for _ in range(args.calls - 1):
        driver.call()
    return {
        "target": args.target,
        "import_s": imported - start,
        "import_to_first_answer_s": first - start,
        "rss_after_import_mb": rss_import,
        "rss_after_calls_mb": _rss_mb(),
        "calls": args.calls,
        "modules": len(sys.modules),
    }


# -- a load for the sampling profiler ----------------------------------------------------


def profile_loop(op: Callable[[], object], count: int) -> None:
    """The profiled region: run.py keeps only py-spy stacks that pass through here."""
    for _ in range(count):
        op()


def _per_op(args: argparse.Namespace, count: int, wall: float, cpu: float) -> dict[str, Any]:
    """The loop's own wall and CPU time per operation (py-spy gives only shares)."""
    return {
        "target": args.target,
        "op": args.op,
        "count": count,
        "wall_us_per_op": wall * 1e6 / count,
        "cpu_us_per_op": cpu * 1e6 / count,
    }


def _load_async(args: argparse.Namespace, driver: Driver) -> dict[str, Any]:
    """``--count`` async calls with ``--concurrency`` in flight, in one loop."""
    calls = max(args.count, args.concurrency)
    clock: dict[str, float] = {}

    async def run() -> None:
        await sustained(driver.acall, args.concurrency, args.concurrency)  # warm-up
        clock["start"], clock["cpu"] = time.perf_counter(), time.process_time()
        await sustained(driver.acall, calls, args.concurrency)
        clock["wall"] = time.perf_counter() - clock["start"]
        clock["cpu"] = time.process_time() - clock["cpu"]

    # Samples count only under profile_loop; the warm-up is a small share of them.
    profile_loop(lambda: asyncio.run(run()), 1)
    return _per_op(args, calls, clock["wall"], clock["cpu"])


def cmd_load(args: argparse.Namespace) -> dict[str, Any]:
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # the profiler itself may run elsewhere
    driver = TARGETS[args.target].build(args.base_url)
    verify(args.target, driver, args.chunks)
    if args.op == "acall":
        return _load_async(args, driver)
    op: Callable[[], object] = driver.call if args.op == "call" else driver.stream
    for _ in range(max(3, args.count // 20)):
        op()
    start, cpu = time.perf_counter(), time.process_time()
    profile_loop(op, args.count)
    return _per_op(args, args.count, time.perf_counter() - start, time.process_time() - cpu)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("versions")
    run = sub.add_parser("run")
    run.add_argument("--targets", required=True)
    plan = "warmup sync-rounds sync-block stream-rounds stream-block async-rounds async-calls"
    for option in [*plan.split(), "concurrency"]:  # run.py's Plan, always given
        run.add_argument(f"--{option}", type=int, required=True)
    run.add_argument("--idle-pool", default="", help="targets whose pool decay is measured")
    run.add_argument("--burst", type=int, default=50, help="idle-pool test: calls per burst")
    run.add_argument("--idle", type=int, default=100, help="idle-pool test: idle connections")
    rss = sub.add_parser("rss")
    rss.add_argument("--target", required=True)
    rss.add_argument("--calls", type=int, default=1000)
    prof = sub.add_parser("load")
    prof.add_argument("--target", required=True)
    prof.add_argument("--op", choices=("call", "stream", "acall"), required=True)
    prof.add_argument("--concurrency", type=int, default=200)
    prof.add_argument("--count", type=int, required=True)
    prof.add_argument("--cpu", type=int, default=None, help="pin the load to this core")
    for p in (run, rss, prof):
        p.add_argument("--base-url", required=True)
        p.add_argument("--chunks", type=int, default=200)
    for p in (sub.choices["versions"], run, rss, prof):
        p.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
        "versions": cmd_versions,
        "run": cmd_run,
        "rss": cmd_rss,
        "load": cmd_load,
    }
    result = commands[args.command](args)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()

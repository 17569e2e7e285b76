"""Batch figures for ``make bench``: rows/s of the batch engine against its peers, Redis
limiter overhead, Ray with 1 and 2 workers. All against the emulator (``gw emulator`` in
its own process, pinned to one core; the clients run on the other).

Each measurement runs in a fresh process (``python bench/batch.py part NAME ...``) in the
venv that has what it needs: ChatOpenAI in the bench venv, our engine, Redis and Ray in
the project venv. The same rows go to every client. ``measure()`` is what bench/run.py
calls; ``python bench/batch.py --project-venv .venv --bench-venv .venv-bench --rows 500``
runs it alone and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEY = "sk-bench-batch-0000"
MODEL = "gpt-5.4"


def _question(i: int) -> str:
    return f"Question {i}: what does the retry policy do with a 429?"


def write_rows(path: Path, count: int) -> None:
    with path.open("w") as handle:
        for i in range(count):
            body = {"model": MODEL, "messages": [{"role": "user", "content": _question(i)}]}
            line = {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions"}
            handle.write(json.dumps({**line, "body": body}) + "\n")


# -- parts: each runs in its own process and prints one JSON object --------------------------


def _timed(rows: int, run: Callable[[], int]) -> dict[str, Any]:
    """Rows per second of one whole run; ``run`` returns the rows answered, all of them."""
    started = time.perf_counter()
    done = run()
    elapsed = time.perf_counter() - started
    assert done == rows, f"{done} of {rows} rows answered"
    return {"rows_per_s": rows / elapsed, "seconds": elapsed}


def part_engine(base_url: str, rows: int, concurrency: int, workers: int = 0) -> dict[str, Any]:
    """Our batch engine over a JSONL file: in this process, or on Ray with ``workers``."""
    from gw_core.batch import BatchConfig, run_batch
    from gw_core.settings import Settings

    settings = Settings.resolve(api_key=KEY, base_url=base_url)
    config = BatchConfig(settings=settings, concurrency=concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        source, output = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        write_rows(source, rows)

        def answered(**engine: Any) -> int:
            summary = run_batch(source, output, config, **engine)
            assert summary.rows_ok == rows, summary.render()
            return int(summary.rows_ok)

        if not workers:
            return _timed(rows, answered)
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            on_ray = _timed(rows, lambda: answered(engine="ray", workers=workers))
            return {**on_ray, "workers": workers}
        finally:
            ray.shutdown()


def part_abatch(base_url: str, rows: int, concurrency: int) -> dict[str, Any]:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=MODEL, api_key=KEY, base_url=base_url + "/v1")  # type: ignore[arg-type]
    inputs = [[("user", _question(i))] for i in range(rows)]

    async def run() -> list[Any]:
        return await llm.abatch(inputs, config={"max_concurrency": concurrency})  # type: ignore[arg-type]

    return _timed(rows, lambda: len(asyncio.run(run())))


def part_raw(base_url: str, rows: int, concurrency: int) -> dict[str, Any]:
    from openai import AsyncOpenAI

    async def run() -> int:
        client = AsyncOpenAI(api_key=KEY, base_url=base_url + "/v1", max_retries=0)
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> str:
            async with gate:
                messages = [{"role": "user", "content": _question(i)}]
                answer = await client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
                return answer.choices[0].message.content or ""

        done = await asyncio.gather(*(one(i) for i in range(rows)))
        await client.close()
        return len(done)

    return _timed(rows, lambda: asyncio.run(run()))


def part_redis_limiter(redis_url: str, count: int) -> dict[str, Any]:
    """Milliseconds per aacquire (rpm and tpm both set, never waiting), and in-process."""
    from gw_core.limits import RateLimiter

    async def timings(limiter: RateLimiter) -> list[float]:
        out = []
        for _ in range(count):
            started = time.perf_counter()
            await limiter.aacquire(MODEL, 50)
            out.append((time.perf_counter() - started) * 1000)
        return out

    shared = RateLimiter(rpm=10**7, tpm=10**9, url=redis_url, namespace=f"bench{time.time_ns()}")
    local = RateLimiter(rpm=10**7, tpm=10**9)
    redis_ms = asyncio.run(timings(shared))[count // 10 :]  # first ones open connections
    local_ms = asyncio.run(timings(local))[count // 10 :]
    return {
        "redis_ms_p50": statistics.median(redis_ms),
        "redis_ms_p90": statistics.quantiles(redis_ms, n=10)[-1],
        "in_process_ms_p50": statistics.median(local_ms),
    }


# -- the orchestration -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def emulator(python: str, cpu: int | None) -> Iterator[str]:
    """``gw emulator`` in its own process (pinned to ``cpu``); yields its base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [python, "-m", "gw_cli", "emulator", "--quiet", "--key", KEY, "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
        preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "serving at" in line, line
        yield line.split("serving at", 1)[1].split()[0]
    finally:
        process.terminate()
        process.wait()


@contextmanager
def redis_server() -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()


def _part(python: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [python, str(HERE / "batch.py"), "part", *args],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-600:]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    project_python: str,
    bench_python: str,
    *,
    rows: int = 10_000,
    ray_rows: int = 2_000,
    concurrency: int = 128,
    server_cpu: int | None = None,
) -> dict[str, Any]:
    """Every batch figure (bench/analysis.py's registry derives the published ones)."""
    out: dict[str, Any] = {"rows": rows, "ray_rows": ray_rows, "concurrency": concurrency}
    common = ["--rows", str(rows), "--concurrency", str(concurrency)]
    with emulator(project_python, server_cpu) as base_url:
        # Interleaved twice, so a slow spell of the machine hits both sides alike.
        runs: dict[str, list[dict[str, Any]]] = {"engine": [], "abatch": [], "raw": []}
        for _ in range(2):
            runs["engine"].append(_part(project_python, "engine", base_url, *common))
            runs["abatch"].append(_part(bench_python, "abatch", base_url, *common))
            runs["raw"].append(_part(project_python, "raw", base_url, *common))
        best = {name: _best(results) for name, results in runs.items()}
        out["runs"] = runs
        out["rows_per_s"] = best
        ray_common = ["--rows", str(ray_rows), "--concurrency", str(concurrency)]
        for workers in (1, 2):
            out[f"ray_{workers}"] = _part(
                project_python, "ray", base_url, *ray_common, "--workers", str(workers)
            )
    with redis_server() as redis_url:
        if redis_url is None:
            out["redis"] = {"error": "redis-server is not installed"}
        else:
            out["redis"] = _part(project_python, "redis", redis_url, "--count", "2000")
    return out


def _best(results: list[dict[str, Any]]) -> float | None:
    values = [r["rows_per_s"] for r in results if "rows_per_s" in r]
    return max(values) if values else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    part = sub.add_parser("part")
    part.add_argument("name", choices=("engine", "abatch", "raw", "redis", "ray"))
    part.add_argument("url")
    part.add_argument("--rows", type=int, default=1000)
    part.add_argument("--concurrency", type=int, default=128)
    part.add_argument("--workers", type=int, default=1)
    part.add_argument("--count", type=int, default=2000)
    parser.add_argument("--project-venv", default=".venv")
    parser.add_argument("--bench-venv", default=".venv-bench")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--ray-rows", type=int, default=2_000)
    args = parser.parse_args(argv)
    if args.command == "part":
        if args.name == "redis":
            result = part_redis_limiter(args.url, args.count)
        elif args.name == "ray":
            result = part_engine(args.url, args.rows, args.concurrency, args.workers)
        else:
            runner = {"engine": part_engine, "abatch": part_abatch, "raw": part_raw}[args.name]
            result = runner(args.url, args.rows, args.concurrency)
        print(json.dumps(result))
        return
    figures = measure(
        str(Path(args.project_venv).absolute() / "bin" / "python"),
        str(Path(args.bench_venv).absolute() / "bin" / "python"),
        rows=args.rows,
        ray_rows=args.ray_rows,
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    sys.exit(main())

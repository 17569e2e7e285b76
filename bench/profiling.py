"""Where the time goes: py-spy samples of one client's loop, grouped by package and function.

py-spy samples from outside the process (``--nonblocking``: it never pauses the target),
so unlike an in-process profiler it does not inflate code that makes many small calls.
Idle samples (blocked on the socket, i.e. waiting for the server) are left out by
py-spy. Only stacks that pass through ``worker.profile_loop`` count: imports, set-up and
warm-up are excluded.

The samples give *shares*; the µs come from the loop's own CPU time
(``time.process_time``), because a sampler that falls behind on a busy machine catches
up in bursts and its sample count then overstates the elapsed time.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

OURS = ("gw_core", "langchain_gw", "llamaindex_gw")
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
    """µs per operation by package (self), by function (self) and ours (inclusive)."""
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
            _name, fpath = _split(frame)
            if package_of(fpath) in OURS:
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


def profile(
    pyspy: str,
    python: str,
    worker: Path,
    target: str,
    op: str,
    count: int,
    base_url: str,
    chunks: int,
    env: dict[str, str],
    cpu: int | None,
    spy_cpus: set[int],
    rate: int = 1000,
) -> dict[str, Any]:
    """Run one client's loop under py-spy; the attribution plus the loop's wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "stacks.txt")
        out = os.path.join(tmp, "load.json")
        cmd = [
            pyspy,
            "record",
            "--nonblocking",
            "--nolineno",
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            raw,
            "--",
            python,
            str(worker),
            "load",
            "--target",
            target,
            "--op",
            op,
            "--count",
            str(count),
            "--base-url",
            base_url,
            "--chunks",
            str(chunks),
            "--out",
            out,
        ]
        if cpu is not None:
            cmd += ["--cpu", str(cpu)]
        done = subprocess.run(
            cmd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            # py-spy may use any core; the load pins itself to the client's core.
            preexec_fn=lambda: os.sched_setaffinity(0, spy_cpus),
        )
        if done.returncode != 0 or not os.path.exists(out):
            return {"error": f"py-spy exit {done.returncode}: {done.stderr.strip()[-300:]}"}
        with open(out, encoding="utf-8") as fh:
            load = json.load(fh)
        with open(raw, encoding="utf-8") as fh:
            result = attribute(fh, load["cpu_us_per_op"])
        result["wall_us_per_op"] = round(load["wall_us_per_op"], 1)
        result["cpu_us_per_op"] = round(load["cpu_us_per_op"], 1)
        result["count"] = count
        return result

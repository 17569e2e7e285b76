"""Old against new: the sync and stream ratios of an earlier revision and of this checkout.

A full ``make bench`` compares our clients with their peers inside one run; two published
runs, days apart on a shared machine, differ by more than a small change can. This answers
"did a change make the per-call or per-chunk cost worse?" the same way the benchmark
answers everything else: in one session, interleaved. It runs ``worker.py run`` (sync and
stream phases) in alternating fresh processes, one importing our packages from REV (a
``git archive`` copy), the next from this checkout, against one loopback server, and
prints each registry ratio's median over all rounds of each side::

    python bench/compare.py d0cd400 --venv .venv-bench --side langchain
    python bench/compare.py d0cd400 --venv .venv-bench-openai2 --side llamaindex

Written to ``build/bench-compare-<side>.json`` with every per-round value.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from analysis import RATIOS, Ratio, _median, ratio  # noqa: E402
from run import CLIENT_CPU, FULL, SERVER_CPU, SIDES, _flags, loopback_server  # noqa: E402

OURS = ("gw_core", "langchain_gw", "llamaindex_gw")
KINDS = ("call_overhead", "chunk", "ttft")
#: Each side's clients: raw HTTP and the raw openai client (the baselines), our transport,
#: our adapter and its peer.
TARGETS = {key: ("httpx", "openai", "gw_core", ours, peer) for key, _, ours, peer in SIDES}


def export(rev: str, into: Path) -> Path:
    """Our packages as they were at ``rev``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, *OURS], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def check_imports_from(python: str, tree: Path) -> None:
    """Refuse to compare a tree with itself: the venv must import our packages from it."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = "import gw_core, sys; sys.stdout.write(gw_core.__file__)"
    found = subprocess.run(
        [python, "-c", code], env=env, capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    if not found.stdout.startswith(str(tree)):
        raise SystemExit(f"{python} imports gw_core from {found.stdout!r}, not from {tree}")


def one_run(python: str, tree: Path, targets: str, base_url: str, rounds: int) -> Any:
    """One ``worker.py run`` (no async rounds) importing our packages from ``tree``."""
    plan = FULL
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    env = {**os.environ, "PYTHONPATH": str(tree)}
    options = dict(
        targets=targets, base_url=base_url, chunks=plan.chunks, warmup=plan.warmup,
        sync_rounds=rounds, sync_block=plan.sync_block, stream_rounds=rounds,
        stream_block=plan.stream_block, async_rounds=0, async_calls=0, concurrency=20, out=out,
    )  # fmt: skip
    try:
        subprocess.run(
            [python, str(HERE / "worker.py"), "run", *_flags(**options)], check=True, env=env
        )
        with open(out, encoding="utf-8") as fh:
            return json.load(fh)
    finally:
        os.unlink(out)


def compare(rev: str, python: str, side: str, pairs: int = 3, rounds: int = 8) -> dict[str, Any]:
    """Each sync/stream ratio of ``side``: its median over every round, at ``rev`` and now."""
    targets = ",".join(TARGETS[side])
    specs: list[Ratio] = [r for r in RATIOS if r.side == side and r.kind in KINDS]
    per_round: dict[str, dict[str, list[float]]] = {r.key: {"old": [], "new": []} for r in specs}
    with tempfile.TemporaryDirectory() as tmp, loopback_server(SERVER_CPU, FULL.chunks) as url:
        trees = {"old": export(rev, Path(tmp)), "new": ROOT}
        for tree in trees.values():
            check_imports_from(python, tree)
        for pair in range(pairs):
            for which in ("old", "new") if pair % 2 == 0 else ("new", "old"):
                raw = {"runs": {side: one_run(python, trees[which], targets, url, rounds)}}
                for spec in specs:
                    per_round[spec.key][which] += ratio(raw, spec, FULL.chunks)[1]
                print(f"compare {side}: pair {pair + 1}/{pairs}, {which} done", file=sys.stderr)
    return {
        "old": rev,
        "pairs": pairs,
        "rounds_per_process": rounds,
        "ratios": {
            key: {w: round(_median(v), 3) if v else None for w, v in by_tree.items()}
            for key, by_tree in per_round.items()
        },
        "per_round": per_round,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier revision (any git revision)")
    parser.add_argument("--venv", required=True, help="the bench venv of that side")
    parser.add_argument("--side", choices=sorted(TARGETS), required=True)
    parser.add_argument("--pairs", type=int, default=3, help="old/new process pairs")
    parser.add_argument("--rounds", type=int, default=8, help="rounds per process")
    args = parser.parse_args(argv)
    if CLIENT_CPU is not None:  # as run.py: the server on one core, the clients (children)
        os.sched_setaffinity(0, {CLIENT_CPU})  # on another
    python = str(Path(args.venv).resolve() / "bin" / "python")
    result = compare(args.rev, python, args.side, args.pairs, args.rounds)
    out = ROOT / "build" / f"bench-compare-{args.side}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"{'ratio':45} {args.rev:>10} {'now':>10}")
    for key, values in result["ratios"].items():
        print(f"{key:45} {values['old']!s:>10} {values['new']!s:>10}")


if __name__ == "__main__":
    main()

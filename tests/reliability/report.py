"""Render ``docs/reliability.md`` from the reliability suite's recorded results.

    python -m tests.reliability.report build/reliability/openai3.json \\
        build/reliability/openai2.json --output docs/reliability.md

Each JSON file is one run of ``tests/reliability`` with ``GW_RELIABILITY_RESULTS`` set
(see ``conftest.py``), typically one per openai major. Nothing here is written by hand:
the tables hold what the tests observed (requests the emulator saw, their statuses, the
waits the retry policy asked for, the outcome) and whether each test passed. Rows that
observed the same thing on several call paths or runs are merged; a difference between
runs shows as separate rows labelled with the run.

``make reliability-report`` runs the suite in both venvs and then this script.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["main", "render"]

_ADAPTER_NAMES = {"langchain": "LangChain `ChatGateway`", "llamaindex": "LlamaIndex `GatewayLLM`"}
_PATH_ORDER = ("sync", "async", "stream", "astream")
_PASSING = ("passed", "xfailed")


@dataclass
class Run:
    """One pytest run's results."""

    label: str
    openai: str
    http_library: str
    python: str
    policy: dict[str, float]
    rows: list[dict[str, Any]]
    tests: list[dict[str, Any]]


def load(path: Path) -> Run:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Run(
        label=f"openai {data['openai']}",
        openai=data["openai"],
        http_library=data["http_library"],
        python=data["python"],
        policy=dict(data["policy"]),
        rows=list(data["rows"]),
        tests=list(data["tests"]),
    )


# -- grouping --------------------------------------------------------------------------


@dataclass
class Group:
    """Matrix rows that observed the same thing."""

    key: tuple[Any, ...]
    title: str
    order: int
    requests: int
    statuses: tuple[Any, ...]
    outcome: str
    calls: dict[str, list[str]] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    waits: list[list[float]] = field(default_factory=list)
    failed: int = 0
    message: str = ""


def _group_rows(runs: Sequence[Run], kind: str) -> list[Group]:
    groups: dict[tuple[Any, ...], Group] = {}
    for run in runs:
        for row in run.rows:
            if row.get("kind") != kind:
                continue
            statuses = tuple(row.get("statuses") or ())
            key = (row["case"], row["requests"], statuses, row["outcome"])
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(
                    key=key,
                    title=row["title"],
                    order=int(row.get("order", 0)),
                    requests=int(row["requests"]),
                    statuses=statuses,
                    outcome=row["outcome"],
                    message=str(row.get("message", "")),
                )
            calls = group.calls.setdefault(row["adapter"], [])
            call = f"{row['path']}:{row['call']}"
            if call not in calls:
                calls.append(call)
            if run.label not in group.runs:
                group.runs.append(run.label)
            group.waits.append([float(w) for w in row.get("waits") or ()])
            if row.get("outcome_of_test") not in _PASSING:
                group.failed += 1
    return sorted(groups.values(), key=lambda g: (g.order, g.title, -len(g.runs)))


def _calls(group: Group) -> str:
    parts = []
    for adapter in ("langchain", "llamaindex"):
        calls = group.calls.get(adapter)
        if not calls:
            continue
        ordered = sorted(calls, key=lambda c: _PATH_ORDER.index(c.split(":", 1)[0]))
        name = "LangChain" if adapter == "langchain" else "LlamaIndex"
        parts.append(f"{name}: " + ", ".join(f"`{c.split(':', 1)[1]}`" for c in ordered))
    return "<br>".join(parts)


def _requests(group: Group) -> str:
    if not group.statuses:
        return str(group.requests)
    shown = ", ".join("—" if s is None else str(s) for s in group.statuses)
    return f"{group.requests} ({shown})"


def _seconds(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _waits(group: Group) -> str:
    """Observed waits per retry, as a range over the merged rows (backoff has jitter)."""
    lengths = {len(w) for w in group.waits}
    if lengths == {0}:
        return "none"
    if len(lengths) != 1:
        return "varied"
    spans = []
    for position in range(lengths.pop()):
        values = [w[position] for w in group.waits]
        low, high = min(values), max(values)
        spans.append(
            f"{_seconds(low)} s"
            if _seconds(low) == _seconds(high)
            else f"{_seconds(low)}–{_seconds(high)} s"
        )
    return ", ".join(spans)


def _outcome(group: Group, runs: Sequence[Run]) -> str:
    text = group.outcome
    if len(runs) > 1 and len(group.runs) < len(runs):
        text += f" ({', '.join(group.runs)} only)"
    if group.failed:
        text += f" — **{group.failed} test(s) failed**"
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- sections --------------------------------------------------------------------------


def _policy(runs: Sequence[Run]) -> str:
    policy = runs[0].policy
    return (
        f"{policy['max_retries']:g} retries, {policy['budget']:g} s budget, "
        f"{policy['max_wait']:g} s cap on a server's wait"
    )


def _fault_section(runs: Sequence[Run]) -> list[str]:
    groups = _group_rows(runs, "fault")
    intro = (
        "Each fault was injected by the gateway emulator and run through both adapters on "
        f"every call path, with the default retry policy ({_policy(runs)}) whose clock and "
        "sleeps were faked: *waits* are what the policy asked to sleep, never slept. "
        "*Requests seen* is what the emulator received, with the status it answered each "
        "(— when it answered nothing: reset, or the client gave up). Every streaming case "
        "also checked that callbacks and instrumentation saw each token exactly once, and "
        "every case that the SDK's own retry counter (`x-stainless-retry-count`) stayed at 0."
    )
    lines = [
        "## Fault matrix",
        "",
        *textwrap.wrap(intro, width=88),
        "",
        "| Case | Call paths | Requests seen | Waits | Outcome |",
        "|---|---|---|---|---|",
    ]
    for group in groups:
        lines.append(
            f"| {_cell(group.title)} | {_calls(group)} | {_requests(group)} | "
            f"{_waits(group)} | {_cell(_outcome(group, runs))} |"
        )
    return lines


def _bad_input_section(runs: Sequence[Run]) -> list[str]:
    groups = _group_rows(runs, "bad-input")
    if not groups:
        return []
    lines = [
        "## Bad input",
        "",
        "Each input was refused before any request (the emulator's log stayed empty) with a",
        "`ValueError` subclass whose message says what to change. The message shown is the",
        "one `ChatGateway.invoke` raised.",
        "",
        "| Input | Call paths | Requests seen | Error | Message |",
        "|---|---|---|---|---|",
    ]
    for group in groups:
        lines.append(
            f"| {_cell(group.title)} | {_calls(group)} | {group.requests} | "
            f"{_cell(_outcome(group, runs))} | {_cell(group.message)} |"
        )
    return lines


def _other_section(runs: Sequence[Run]) -> list[str]:
    """Every other test, by file: what it proves (its docstring) and its result per run."""
    order: list[tuple[str, str]] = []
    docs: dict[tuple[str, str], str] = {}
    results: dict[tuple[str, str], dict[str, list[str]]] = {}
    for run in runs:
        for test in run.tests:
            if test["file"] == "test_fault_matrix.py" and test["name"] == "test_fault":
                continue
            if test["file"] == "test_bad_input.py" and test["name"] == "test_bad_input":
                continue
            key = (test["file"], test["name"])
            if key not in docs:
                order.append(key)
                docs[key] = test["doc"]
            results.setdefault(key, {}).setdefault(run.label, []).append(test["outcome"])
    lines = [
        "## Other checks",
        "",
        "| File | Test | What it proves | " + " | ".join(r.label for r in runs) + " |",
        "|---|---|---|" + "---|" * len(runs),
    ]
    for key in sorted(order, key=lambda k: (k[0], order.index(k))):
        cells = [_result(results[key].get(run.label, [])) for run in runs]
        lines.append(
            f"| `{key[0]}` | `{key[1]}` | {_cell(docs[key])} | " + " | ".join(cells) + " |"
        )
    return lines


def _result(outcomes: Iterable[str]) -> str:
    outcomes = list(outcomes)
    if not outcomes:
        return "not run"
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    if len(outcomes) == 1:
        return outcomes[0]
    return ", ".join(f"{n}/{len(outcomes)} {name}" for name, n in sorted(counts.items()))


def render(runs: Sequence[Run]) -> str:
    """The whole document."""
    total = {run.label: len(run.tests) for run in runs}
    passed = {run.label: sum(t["outcome"] in _PASSING for t in run.tests) for run in runs}
    run_lines = [
        f"- openai {run.openai} on `{run.http_library}`, Python {run.python}: "
        f"{passed[run.label]} of {total[run.label]} tests passed"
        for run in runs
    ]
    lines = [
        "# Reliability report",
        "",
        "<!-- Generated by `make reliability-report` (tests/reliability/report.py) from a run",
        "     of tests/reliability/ in each venv. Do not edit by hand: regenerate it. -->",
        "",
        "What `langchain_gw.ChatGateway` and `llamaindex_gw.GatewayLLM` do under gateway",
        "faults and bad input, as observed by `tests/reliability/` against the loopback",
        "gateway emulator. Runs merged into this report:",
        "",
        *run_lines,
        "",
        *_fault_section(runs),
        "",
        *_bad_input_section(runs),
        "",
        *_other_section(runs),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("results", nargs="+", type=Path, help="JSON results, one per run")
    parser.add_argument("--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.results if not p.is_file()]
    if missing:
        parser.error(f"no results file at {', '.join(missing)}; run the suite first")
    text = render([load(path) for path in args.results])
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

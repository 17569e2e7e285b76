"""docs/benchmarks.png: six panels, one per metric, both venvs side by side.

matplotlib lives only in the benchmark venv; it is imported here, at draw time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from analysis import FIGURE_OF_KIND
from targets import TARGETS

COLORS = {"ours": "#1b7f3b", "peer": "#c0504d"}  # the rest (floor, reference): grey
ORDER = list(TARGETS)

# (title, kind of bench/analysis.py's FIGURE_OF_KIND, lower is better)
PANELS = (
    ("Per-call overhead above raw HTTP", "call_overhead", True),
    ("Streaming cost per chunk", "chunk", True),
    ("Time to first token", "ttft", True),
    ("Async throughput, 200 in flight", "rps", False),
    ("Cold import", "import", True),
    ("Peak RSS after 1,000 calls", "rss_calls", True),
)


def draw(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    sides = list(results["figures"])
    for ax, (title, kind, lower) in zip(axes.flat, PANELS, strict=True):
        section, field, unit = FIGURE_OF_KIND[kind]
        labels: list[str] = []
        values: list[float] = []
        colors: list[str] = []
        for i, side in enumerate(sides):
            rows = results["figures"][side].get(section, {})
            tag = "o3" if side == "langchain" else "o2"
            for name in sorted(rows, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
                target = TARGETS.get(name)
                value = rows[name].get(field)
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                if section == "sync" and name == "httpx":
                    continue  # zero by definition
                labels.append(f"{'raw HTTP' if name == 'httpx' else name} ({tag})")
                values.append(float(value))
                colors.append(COLORS.get(target.role if target else "", "#8c8c8c"))
            if i < len(sides) - 1 and labels:
                labels.append("")
                values.append(0.0)
                colors.append("white")
        positions = list(range(len(values)))
        ax.barh(positions, values, color=colors)
        ax.set_yticks(positions, labels, fontsize=8)
        ax.invert_yaxis()
        better = "lower is better" if lower else "higher is better"
        ax.set_title(f"{title}\n({unit}, {better})", fontsize=10)
        for pos, value in zip(positions, values, strict=True):
            if value:
                shown = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
                ax.text(value, pos, f" {shown}", va="center", fontsize=7)
        ax.margins(x=0.18)
    mode = results["meta"]["mode"]
    fig.suptitle(
        "gw-integrations vs peers on a loopback server — green: ours, red: peer, grey: floor"
        + (" — QUICK TRIAL RUN" if mode == "quick" else "")
        + "\n(o3 = LangChain venv on openai 3.x, o2 = LlamaIndex venv on openai 2.x; "
        + f"one run, {results['meta']['generated_utc']})",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

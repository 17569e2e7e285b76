"""The profile part of docs/benchmarks.md: what stands in the way of each target, and
where the CPU time of each client goes (py-spy), generated from the run's figures."""

from __future__ import annotations

from typing import Any

from mdtable import LABELS
from mdtable import f as _f
from mdtable import table as _table


def _buckets(profile: dict[str, Any], limit: int = 7) -> str:
    items = list(profile["by_package_us_per_op"].items())[:limit]
    return ", ".join(f"{k} {v:,.0f}" for k, v in items)


def _profile_rows(profiles: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, ops in profiles.items():
        for op in ("call", "stream", "acall"):
            prof = ops.get(op)
            if not prof:
                continue
            if "error" in prof:
                rows.append([LABELS.get(name, name), op, "–", "–", prof["error"]])
                continue
            rows.append(
                [
                    LABELS.get(name, name),
                    op,
                    _f(prof.get("wall_us_per_op")),
                    _f(prof.get("cpu_us_per_op")),
                    _buckets(prof),
                ]
            )
    return rows


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
    for _side, fig in results["figures"].items():
        meta_side = results["meta"]["sides"][_side]
        profiles = fig.get("profile", {})
        if not profiles:
            continue
        out += [f"### {meta_side['title']}", ""]
        out += _table(
            ["client", "op", "wall µs / op", "CPU µs / op", "self CPU µs / op by package"],
            _profile_rows(profiles),
        )
        for name in (meta_side["ours"], "gw_core"):
            for op in ("call", "stream", "acall"):
                prof = profiles.get(name, {}).get(op, {})
                if not prof or "error" in prof:
                    continue
                out += ["", f"{LABELS.get(name, name)}, {op}: hottest functions (µs per {op})", ""]
                self_rows = prof["top_self_us_per_op"][:10]
                incl_rows = prof["ours_inclusive_us_per_op"][:10]
                rows = []
                for i in range(max(len(self_rows), len(incl_rows))):
                    a = self_rows[i] if i < len(self_rows) else ["", None]
                    b = incl_rows[i] if i < len(incl_rows) else ["", None]
                    rows.append(
                        [f"`{a[0]}`" if a[0] else "", _f(a[1], 1), f"`{b[0]}`" if b[0] else "",
                         _f(b[1], 1)]
                    )  # fmt: skip
                out += _table(["self time", "µs", "our functions, inclusive", "µs"], rows)
        breakdown = fig.get("import_breakdown_ms", {})
        if breakdown:
            out += ["", "Import self time by top-level package (`-X importtime`, ms):", ""]
            out += _table(
                ["import", "top packages, ms"],
                [
                    [
                        LABELS.get(n, n),
                        ", ".join(f"{p} {ms:,.0f}" for p, ms in list(b.items())[:8]),
                    ]
                    for n, b in breakdown.items()
                ],
            )
        out.append("")
    return out


def _per_package(prof: dict[str, Any], scale: float = 1.0, limit: int = 5) -> str:
    items = list(prof.get("by_package_us_per_op", {}).items())[:limit]
    return ", ".join(f"{k} {v / scale:,.1f}" for k, v in items)


def _obstacle(results: dict[str, Any], name: str) -> str | None:
    """One data-backed line on what stands between an unmet ratio and its target."""
    d = results["ratio_details"][name]
    side = d["side"]
    fig = results["figures"][side]
    meta_side = results["meta"]["sides"][side]
    ours, peer = meta_side["ours"], meta_side["peer"]
    prof = fig.get("profile", {})
    kind = name.split("_", 1)[1]
    if "call_overhead" in kind:
        sync = fig["sync"]
        line = (
            f"{ours} adds {_f(sync.get(ours, {}).get('overhead_median_us'))} µs per call, "
            f"the openai client {_f(sync.get('openai', {}).get('overhead_median_us'))} µs, "
            f"our transport alone {_f(sync.get('gw_core', {}).get('overhead_median_us'))} µs"
        )
        call = prof.get(ours, {}).get("call", {})
        if call and "error" not in call:
            line += f"; {ours}'s CPU per call by package (µs): {_per_package(call)}"
        return line
    if "chunk_cost" in kind:
        stream = fig["stream"]
        chunks = results["meta"]["plan"]["chunks"]
        line = (
            f"{ours} {_f(stream.get(ours, {}).get('us_per_chunk'), 1)} µs/chunk, {peer} "
            f"{_f(stream.get(peer, {}).get('us_per_chunk'), 1)}, our transport alone "
            f"{_f(stream.get('gw_core', {}).get('us_per_chunk'), 1)}"
        )
        st = prof.get(ours, {}).get("stream", {})
        if st and "error" not in st:
            line += f"; {ours}'s CPU per chunk by package (µs): {_per_package(st, chunks)}"
        return line
    if "idle_pool" in kind:
        row = fig["async"].get(ours, {})
        return (
            f"{ours}: a burst of 50 at {_f(row.get('burst_rps_pool_1'))} req/s on a "
            f"1-connection pool, {_f(row.get('burst_rps_pool_idle'))} with 100 idle"
        )
    if "async_rps" in kind:
        rps = fig["async"]
        parts = [
            f"{n} {_f(rps[n]['rps_median'])}"
            for n in (ours, peer, "gw_core", "openai", "httpx")
            if n in rps
        ]
        return "requests/s at 200 in flight: " + ", ".join(parts)
    if "import" in kind and "rss" not in kind:
        imp = fig["import"]
        breakdown = fig.get("import_breakdown_ms", {}).get(ours, {})
        total = sum(breakdown.values())
        line = (
            f"{ours} {_f(imp.get(ours, {}).get('import_s_median'), 3)} s, {peer} "
            f"{_f(imp.get(peer, {}).get('import_s_median'), 3)} s, openai alone "
            f"{_f(imp.get('openai', {}).get('import_s_median'), 3)} s"
        )
        if breakdown:
            top = ", ".join(f"{p} {ms:,.0f}" for p, ms in list(breakdown.items())[:5])
            line += f"; {ours}'s import self time {total:,.0f} ms, of which {top} ms"
        return line
    if "rss" in kind:
        rss, imp = fig["rss"], fig["import"]
        return (
            f"{ours} {_f(rss.get(ours, {}).get('rss_after_calls_mb'), 1)} MB after the calls "
            f"({imp.get(ours, {}).get('modules', '–')} modules), {peer} "
            f"{_f(rss.get(peer, {}).get('rss_after_calls_mb'), 1)} MB "
            f"({imp.get(peer, {}).get('modules', '–')} modules)"
        )
    return None


def obstacles(results: dict[str, Any]) -> list[str]:
    unmet = [
        n
        for n, d in results["ratio_details"].items()
        if d["target"] is not None and d["met"] is False
    ]
    if not unmet:
        return ["Every target is met in this run.", ""]
    out = ["Targets not met in this run, with the figures that stand in the way:", ""]
    for name in unmet:
        line = _obstacle(results, name)
        if line:
            out.append(f"- `{name}` = {_f(results['ratios'][name], 2)}: {line}.")
    return [*out, ""]

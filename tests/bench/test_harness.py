"""Tests of the benchmark harness itself (bench/; no timing is asserted anywhere).

They check that the fast server speaks correct HTTP/SSE, that a client is verified before
it is timed, that the statistics and the profile attribution compute what the docs say
they do, and that the registry of published ratios and the Markdown agree with
docs/benchmarks.json. Only loopback; nothing is measured.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from analysis import (  # noqa: E402
    RATIOS,
    Ratio,
    analyse,
    attribute,
    package_of,
    percentile,
    previous_of,
    ratio,
)
from loopback_server import ANSWER, build_responses, stream_events  # noqa: E402
from report import markdown  # noqa: E402
from run import loopback_server  # noqa: E402

PUBLISHED = json.loads((ROOT / "docs" / "benchmarks.json").read_text(encoding="utf-8"))


def _dechunk(data: bytes) -> list[bytes]:
    parts: list[bytes] = []
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return parts
        parts.append(data[:size])
        assert data[size : size + 2] == b"\r\n"
        data = data[size + 2 :]


def test_plain_response_is_one_chat_completion() -> None:
    plain, _ = build_responses(5)
    head, _, body = plain.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    assert length == len(body)
    payload = json.loads(body)
    assert payload["object"] == "chat.completion"
    assert payload["choices"][0]["message"]["content"] == ANSWER


def test_stream_has_n_content_chunks_then_finish_usage_done() -> None:
    _, streamed = build_responses(7)
    _, _, body = streamed.partition(b"\r\n\r\n")
    events = _dechunk(body)
    assert events == stream_events(7)
    decoded = [json.loads(e[6:]) for e in events[:-1]]
    contents = [d["choices"][0]["delta"].get("content") for d in decoded if d["choices"]]
    assert sum(1 for c in contents if c) == 7
    assert decoded[0]["choices"][0]["delta"]["role"] == "assistant"
    assert decoded[-2]["choices"][0]["finish_reason"] == "stop"
    assert decoded[-1]["choices"] == [] and decoded[-1]["usage"]["completion_tokens"] == 7
    assert events[-1] == b"data: [DONE]\n\n"


def test_raw_http_and_openai_clients_pass_verification_on_the_server() -> None:
    from targets import RawHttp, RawOpenAI
    from worker import verify

    with loopback_server(None, 12) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        for driver in (RawHttp(base_url), RawOpenAI(base_url)):
            verify("client", driver, 12)
            assert driver.call() == ANSWER
            ttft, chunks = driver.stream()
            assert chunks == 12 and ttft > 0


def test_verification_refuses_a_wrong_chunk_count() -> None:
    from targets import RawHttp
    from worker import verify

    with loopback_server(None, 3) as base_url, pytest.raises(SystemExit, match="3 content"):
        verify("client", RawHttp(base_url), 4)


def test_ratio_is_the_median_of_per_round_ratios() -> None:
    raw = {
        "runs": {
            "s": {
                "sync": {
                    "httpx": [[100.0, 100.0, 100.0]] * 3,
                    "a": [[300.0] * 3, [500.0] * 3, [700.0] * 3],  # overheads 200, 400, 600
                    "b": [[500.0] * 3, [500.0] * 3, [300.0] * 3],  # overheads 400, 400, 200
                }
            }
        }
    }
    spec = Ratio("x", "call_overhead", "s", "a", "b", 1.0, "")
    value, per_round = ratio(raw, spec, chunks=1)
    assert per_round == [0.5, 1.0, 3.0]
    assert value == 1.0


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 99) == pytest.approx(9.9)


def test_profile_attribution_counts_only_the_loop_and_scales_to_cpu_time() -> None:
    lines = [
        "<module> (worker.py);cmd_load (worker.py);verify (worker.py);call (targets.py) 50\n",
        "<module> (worker.py);profile_loop (worker.py);call (targets.py);"
        "Gateway.complete (gw_core/transport.py);post (openai/_base_client.py) 30\n",
        "<module> (worker.py);profile_loop (worker.py);call (targets.py);"
        "Gateway.complete (gw_core/transport.py) 10\n",
    ]
    result = attribute(lines, cpu_us_per_op=400.0)
    assert result["samples"] == 40
    assert result["by_package_us_per_op"] == {"openai": 300.0, "gw_core": 100.0}
    assert result["ours_inclusive_us_per_op"] == [
        ["Gateway.complete (gw_core/transport.py)", 400.0]
    ]
    assert package_of("/x/site-packages/httpx2/_models.py") == "httpx2"
    assert package_of("contextlib.py") == "contextlib"
    assert package_of("core/llms/callbacks.py") == "llama_index.core"


def test_every_published_ratio_has_one_registry_entry_and_back() -> None:
    published = set(PUBLISHED["ratios"]) | {k for k in PUBLISHED if k.startswith("batch_")}
    keys = [r.key for r in RATIOS]
    assert len(keys) == len(set(keys))
    assert set(keys) == published
    assert set(PUBLISHED["ratio_details"]) == set(PUBLISHED["ratios"])


def test_the_page_renders_every_ratio_the_batch_section_and_the_previous_column() -> None:
    before = {"gw_core_chunk_cost_vs_openai": 0.123}
    previous = {"generated_utc": "2026-01-01T00:00:00Z", "mode": "full", "ratios": before}
    results = {**PUBLISHED, "previous": previous}
    page = markdown(results)
    for spec in RATIOS:
        assert f"`{spec.key}`" in page
    assert "## Batch runs (issue 13)" in page
    assert "previous (2026-01-01T00:00:00Z)" in page and "| 0.12 |" in page
    ratio_line = next(line for line in page.splitlines() if "`batch_redis_limiter_ms_p50`" in line)
    assert f"{PUBLISHED['batch_redis_limiter_ms_p50']:.2f}" in ratio_line
    noise = next(line for line in page.splitlines() if line.startswith("**Noise.**"))
    rounds = PUBLISHED["ratio_details"]["langchain_call_overhead_vs_openai"]["per_round"]
    assert f"{min(rounds):.2f}–{max(rounds):.2f} over {len(rounds)} rounds" in noise


def test_an_unmet_target_is_explained_with_the_figures_it_compares() -> None:
    results = json.loads(json.dumps(PUBLISHED))
    results["ratio_details"]["langchain_chunk_cost_vs_chatopenai"]["met"] = False
    page = markdown(results)
    line = next(x for x in page.splitlines() if x.startswith("- `langchain_chunk_cost"))
    assert "µs per chunk: ChatGateway" in line and "ChatOpenAI" in line


def test_the_previous_run_is_read_before_it_is_overwritten(tmp_path: Path) -> None:
    old = tmp_path / "benchmarks.json"
    assert previous_of(old) is None
    old.write_text(json.dumps(PUBLISHED))
    previous = previous_of(old)
    assert previous is not None
    assert previous["generated_utc"] == PUBLISHED["meta"]["generated_utc"]
    assert (
        previous["ratios"]["async_idle_pool_rps_ratio"]
        == PUBLISHED["ratios"]["async_idle_pool_rps_ratio"]
    )
    assert previous["ratios"]["batch_ray_rows_per_s_2_workers"] == pytest.approx(
        PUBLISHED["batch_ray_rows_per_s_2_workers"]
    )
    quick = {**PUBLISHED, "meta": {**PUBLISHED["meta"], "mode": "quick"}, "previous": previous}
    old.write_text(json.dumps(quick))
    assert previous_of(old) == previous  # a trial run is no reference: its own is kept


def test_batch_figures_are_published_at_the_top_level() -> None:
    batch = {
        "rows_per_s": {"engine": 600.0, "abatch": 150.0, "raw": 200.0},
        "ray_1": {"rows_per_s": 280.0},
        "ray_2": {"error": "exit 1"},
        "redis": {"redis_ms_p50": 0.5},
    }
    raw = {"runs": {}, "imports": {"runs": {}, "breakdown_ms": {}}, "rss": {}, "profiles": {}}
    meta = {"plan": {"chunks": 1}, "sides": {}}
    results = analyse(raw, meta, batch, previous=None)
    assert results["batch_rows_per_s_vs_chatopenai_abatch"] == 4.0
    assert results["batch_ray_rows_per_s_1_worker"] == 280.0
    assert results["batch_ray_rows_per_s_2_workers"] is None
    assert results["batch_redis_limiter_ms_p50"] == 0.5
    assert "previous" not in results


def test_an_old_against_new_comparison_is_rendered_per_side() -> None:
    compared = {
        "old": "abc1234",
        "pairs": 3,
        "rounds_per_process": 8,
        "ratios": {"gw_core_call_overhead_vs_openai": {"old": 0.456, "new": 0.321}},
        "per_round": {},
    }
    page = markdown({**PUBLISHED, "compare": {"langchain": compared}})
    assert "Old against new, langchain side (3 pairs of processes, 8 rounds each" in page
    assert "| `gw_core_call_overhead_vs_openai` | 0.46 | 0.32 |" in page
    assert "at `abc1234`" in page
    assert "### Sync and stream: what the hostile-gateway checks cost" in page
    assert "the transport alone 0.46 → 0.32" in page


def test_an_earlier_revision_is_exported_with_only_our_packages(tmp_path: Path) -> None:
    from compare import OURS, export

    tree = export("HEAD", tmp_path)
    assert sorted(p.name for p in tree.iterdir()) == sorted(OURS)
    assert (tree / "gw_core" / "transport.py").is_file()


def test_a_revision_git_cannot_export_is_noted_and_a_dirty_runs_suffix_dropped() -> None:
    from run import Side, old_against_new

    side = Side("langchain", "t", sys.executable, ("httpx",), "ChatGateway", "ChatOpenAI")
    assert old_against_new(None, [side], quick=True) == {}
    assert old_against_new("none", [side], quick=True) == {}
    found = old_against_new("0000000+changes", [side], quick=True)
    assert set(found) == {"error"}
    assert found["error"].startswith("0000000: ") and "+changes" not in found["error"]
    page = markdown({**PUBLISHED, "compare": found})
    assert "Old against new could not run: 0000000: " in page

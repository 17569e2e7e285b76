"""Tests of the benchmark harness itself (no timing is asserted anywhere).

Run with ``python -m pytest bench/test_harness.py``: they check that the fast server
speaks correct HTTP/SSE, that a client is verified before it is timed, and that the
statistics and the profile attribution compute what the docs say they do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from analysis import RatioSpec, percentile, ratio
from loopback_server import ANSWER, build_responses, stream_events
from profiling import attribute, package_of
from run import loopback_server


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
    spec = RatioSpec("x", "call_overhead", "s", "a", "b", 1.0, "")
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

"""gw_core.batch on the emulator: the OpenAI Batch formats, failures, resumption, stop."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from gw_core.batch import (
    BatchConfig,
    BatchInputError,
    RowOutcome,
    amap_limited,
    arun_batch,
    read_rows,
    run_batch,
)
from gw_core.errors import GatewayInputError
from gw_core.limits import RateLimiter
from gw_core.retry import RetryPolicy
from gw_core.settings import Settings
from gw_emulator import Fault, GatewayEmulator


def write_rows(path: Path, count: int, *, model: str | None = "gpt-5.4", prefix: str = "r") -> Path:
    lines = []
    for i in range(count):
        body: dict[str, Any] = {"messages": [{"role": "user", "content": f"question {i}"}]}
        if model:
            body["model"] = model
        line = {"custom_id": f"{prefix}{i}", "method": "POST", "url": "/v1/chat/completions"}
        lines.append({**line, "body": body})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def row_line(custom_id: str, url: str = "/v1/chat/completions", **body: Any) -> str:
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return json.dumps({"custom_id": custom_id, "url": url, "body": body}) + "\n"


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def fast(concurrency: int = 4, **changes: Any) -> BatchConfig:
    policy = RetryPolicy(backoff_initial=0.01, backoff_max=0.02, jitter=0.0)
    return BatchConfig(concurrency=concurrency, policy=policy, **changes)


def chat_requests(emulator: GatewayEmulator) -> list[Any]:
    return [r for r in emulator.requests if r.path.endswith("/chat/completions")]


def test_every_row_gets_one_openai_batch_line_with_its_custom_id(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 12)
    summary = run_batch(source, tmp_path / "out.jsonl", fast())
    lines = read_lines(tmp_path / "out.jsonl")
    assert sorted(line["custom_id"] for line in lines) == sorted(f"r{i}" for i in range(12))
    for line in lines:
        assert line["id"].startswith("batch_req_") and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200 and response["request_id"]
        assert response["body"]["object"] == "chat.completion"
        assert response["body"]["choices"][0]["message"]["content"]
    assert (summary.rows_ok, summary.rows_failed, summary.requests) == (12, 0, 12)
    assert len(chat_requests(gateway_env)) == 12


def test_model_fills_rows_without_one_and_rows_keep_their_own(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 3, model=None)
    with source.open("a") as handle:
        handle.write(row_line("own", model="gemini-2.5-pro-low"))
    summary = run_batch(source, tmp_path / "out.jsonl", fast(model="gpt-5.4-official"))
    models = sorted(r.model for r in chat_requests(gateway_env))
    assert models == ["gemini-2.5-pro-low"] + ["gpt-5.4-official"] * 3
    expected = [("gemini-2.5-pro-low", "low"), ("gpt-5.4-official", "official")]
    assert sorted(summary.tokens) == expected
    assert all(count > 0 for counts in summary.tokens.values() for count in counts)


def test_a_failed_row_becomes_an_error_line_and_the_run_goes_on(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    gateway_env.inject(Fault.status(400, message="bad thing"))
    source = write_rows(tmp_path / "in.jsonl", 6)
    summary = run_batch(source, tmp_path / "out.jsonl", fast())
    lines = read_lines(tmp_path / "out.jsonl")
    failed = [line for line in lines if line["error"] is not None]
    assert len(lines) == 6 and len(failed) == 1
    assert failed[0]["response"]["status_code"] == 400
    assert "bad thing" in failed[0]["error"]["message"]
    assert (summary.rows_ok, summary.rows_failed) == (5, 1)


def test_a_429_is_retried_counted_and_pauses_the_limiter(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    gateway_env.inject(Fault.status(429, retry_after=0.2))
    limiter = RateLimiter(rpm=1000)
    source = write_rows(tmp_path / "in.jsonl", 4)
    summary = run_batch(source, tmp_path / "out.jsonl", fast(limiter=limiter))
    assert (summary.rows_ok, summary.requests, summary.retries) == (4, 5, 1)
    assert limiter._pauses["standard"] > 0  # told by the 429, so every caller waited


def test_a_rerun_sends_nothing_for_rows_already_answered(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 5)
    run_batch(source, tmp_path / "out.jsonl", fast())
    gateway_env.clear_log()
    summary = run_batch(source, tmp_path / "out.jsonl", fast())
    assert chat_requests(gateway_env) == []
    assert (summary.rows_skipped, summary.rows_ok, summary.requests) == (5, 0, 0)
    assert len(read_lines(tmp_path / "out.jsonl")) == 5


def test_failed_rows_run_again_only_with_retry_failed(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 3)
    gateway_env.inject(Fault.status(400))
    run_batch(source, tmp_path / "out.jsonl", fast(concurrency=1))
    gateway_env.clear_log()
    assert run_batch(source, tmp_path / "out.jsonl", fast()).requests == 0
    summary = run_batch(source, tmp_path / "out.jsonl", fast(retry_failed=True))
    assert (summary.rows_skipped, summary.rows_ok, len(chat_requests(gateway_env))) == (2, 1, 1)
    lines = read_lines(tmp_path / "out.jsonl")
    assert [line["custom_id"] for line in lines if line["error"] is None].count("r0") == 1


def test_a_torn_last_line_is_cut_and_its_row_runs_again(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 4)
    output = tmp_path / "out.jsonl"
    run_batch(source, output, fast())
    lines = output.read_bytes().splitlines(keepends=True)
    torn = json.loads(lines[-1])["custom_id"]
    output.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])  # a kill in mid-write
    gateway_env.clear_log()
    summary = run_batch(source, output, fast())
    assert summary.requests == 1 and summary.rows_skipped == 3
    final = read_lines(output)
    assert len(final) == 4 and sorted(line["custom_id"] for line in final).count(torn) == 1


def test_an_output_with_a_foreign_line_in_the_middle_is_refused(tmp_path: Path) -> None:
    source = write_rows(tmp_path / "in.jsonl", 1)
    (tmp_path / "out.jsonl").write_text("not json\n{}\n")
    with pytest.raises(BatchInputError, match="line 1 is not a batch output line"):
        run_batch(
            source,
            tmp_path / "out.jsonl",
            fast(settings=Settings.resolve(api_key="k", base_url="http://127.0.0.1:9")),
        )


def test_bad_input_is_refused_before_any_request_naming_every_line(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 2)
    with source.open("a") as handle:
        handle.write("{not json\n")
        handle.write(row_line("r0", model="gpt-5.4"))
        handle.write(row_line("e", "/v1/embeddings"))
        handle.write(row_line("n"))
    with pytest.raises(BatchInputError) as caught:
        run_batch(source, tmp_path / "out.jsonl", fast())
    message = str(caught.value)
    assert "line 3: not JSON" in message
    assert "line 4: custom_id 'r0' repeats line 1" in message
    assert "line 5: e: url must be /v1/chat/completions" in message
    assert "line 6: n: body has no model" in message
    assert chat_requests(gateway_env) == []
    assert not (tmp_path / "out.jsonl").exists()


def test_a_parameter_the_model_refuses_is_reported_with_its_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    body = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "x"}], "stream": True}
    source.write_text(json.dumps({"custom_id": "s", "url": "/v1/chat/completions", "body": body}))
    with pytest.raises(BatchInputError, match="line 1: s: remove stream"):
        read_rows(source)


def test_a_row_over_the_token_limit_is_refused_before_any_request(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 2)
    with pytest.raises(GatewayInputError, match=r"line 1 \(r0\).*raise tpm"):
        run_batch(source, tmp_path / "out.jsonl", fast(limiter=RateLimiter(tpm=3)))
    assert chat_requests(gateway_env) == []


def _wait_for_requests(emulator: GatewayEmulator, count: int) -> None:
    """Until both workers wait on a delayed answer (polling: the log has no event)."""
    while len(chat_requests(emulator)) < count:
        time.sleep(0.05)


async def test_a_stop_cancels_rows_in_flight_and_leaves_only_whole_lines(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 20)
    gateway_env.inject(Fault.delay(30), times=20)
    stop = asyncio.Event()
    seen: list[RowOutcome] = []

    def on_row(outcome: RowOutcome) -> None:
        seen.append(outcome)

    gateway_env.clear_log()
    task = asyncio.ensure_future(
        arun_batch(source, tmp_path / "out.jsonl", fast(concurrency=2), on_row=on_row, stop=stop)
    )
    await asyncio.to_thread(_wait_for_requests, gateway_env, 2)
    stop.set()
    summary = await task
    assert summary.interrupted and summary.rows_ok + summary.rows_failed == len(seen) == 0
    assert (tmp_path / "out.jsonl").read_bytes() == b""


def test_the_key_stays_out_of_output_lines_and_config_reprs(
    gateway_emulator: GatewayEmulator, tmp_path: Path, canary_key: str
) -> None:
    settings = Settings.resolve(api_key=canary_key, base_url=gateway_emulator.base_url)
    config = fast(settings=settings, limiter=RateLimiter(rpm=5))
    summary = run_batch(write_rows(tmp_path / "in.jsonl", 2), tmp_path / "out.jsonl", config)
    assert summary.rows_failed == 2  # the emulator refuses a key it did not issue
    text = (tmp_path / "out.jsonl").read_text()
    assert "401" in text
    for shown in (text, repr(config), str(config), summary.render(), repr(summary)):
        assert canary_key not in shown


async def test_amap_limited_keeps_input_order_and_returns_failures() -> None:
    limiter = RateLimiter(rpm=100)

    async def work(item: int) -> int:
        await asyncio.sleep(0.001 * (5 - item))
        if item == 3:
            raise ValueError("three")
        return item * 10

    items = [1, 2, 3, 4]
    results = await amap_limited(work, items, concurrency=3, limiter=limiter, model="gpt-5.4")
    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], ValueError)
    with pytest.raises(GatewayInputError, match="pass model="):
        await amap_limited(work, [1], limiter=limiter)

"""The batch engine on a real local Ray (2 CPUs, no dashboard), against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gw_core.batch import BatchConfig, run_batch
from gw_core.limits import RateLimiter
from gw_core.settings import Settings
from gw_emulator import GatewayEmulator
from tests import real_services
from tests.core.test_batch import chat_requests, fast, write_rows

pytest.importorskip("ray", reason="the [ray] extra is not installed")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    yield from real_services.local_ray()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from real_services.redis_server(tmp_path_factory.mktemp("redis"))


def answers(path: Path) -> dict[str, Any]:
    """Each row's answer without what differs per request (ids, timestamps)."""
    out = {}
    for text in path.read_text().splitlines():
        line = json.loads(text)
        body = line["response"]["body"]
        out[line["custom_id"]] = (line["error"], body["model"], body["choices"], body["usage"])
    return out


def test_ray_and_local_engines_write_the_same_answers(
    ray_cluster: None, gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 16)
    local = run_batch(source, tmp_path / "local.jsonl", fast())
    on_ray = run_batch(source, tmp_path / "ray.jsonl", fast(), engine="ray", workers=2)
    assert answers(tmp_path / "local.jsonl") == answers(tmp_path / "ray.jsonl")
    assert len(answers(tmp_path / "ray.jsonl")) == 16
    assert (on_ray.rows_ok, on_ray.requests) == (local.rows_ok, local.requests) == (16, 16)
    assert on_ray.tokens == local.tokens


def test_a_ray_run_resumes_an_output_like_the_local_engine(
    ray_cluster: None, gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 10)
    write_rows(tmp_path / "first.jsonl", 4)
    run_batch(tmp_path / "first.jsonl", tmp_path / "out.jsonl", fast())
    gateway_env.clear_log()
    summary = run_batch(source, tmp_path / "out.jsonl", fast(), engine="ray", workers=2)
    assert (summary.rows_skipped, summary.rows_ok, len(chat_requests(gateway_env))) == (4, 6, 6)
    assert sorted(answers(tmp_path / "out.jsonl")) == sorted(f"r{i}" for i in range(10))


def test_ray_workers_share_one_redis_limit_at_the_gateway(
    ray_cluster: None,
    redis_url: str,
    gateway_env: GatewayEmulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Arrivals: at most 3 in any 1.5 s (window 3 s; 1.5 s slack for the trip)."""
    limiter = RateLimiter(rpm=3, window=3, url=redis_url, namespace=request.node.name)
    source = write_rows(tmp_path / "in.jsonl", 9)
    summary = run_batch(
        source, tmp_path / "out.jsonl", fast(limiter=limiter), engine="ray", workers=2
    )
    assert summary.rows_ok == 9
    arrivals = sorted(r.received_at for r in chat_requests(gateway_env))
    assert len(arrivals) == 9
    for i in range(len(arrivals) - 3):
        assert arrivals[i + 3] - arrivals[i] >= 1.5, arrivals


def _ray_logs_dir() -> Path:
    import ray

    node = ray._private.worker._global_node
    return Path(node.get_logs_dir_path())


def test_the_key_reaches_workers_but_no_ray_log_or_repr(
    ray_cluster: None, gateway_emulator: GatewayEmulator, tmp_path: Path, canary_key: str
) -> None:
    settings = Settings.resolve(api_key=canary_key, base_url=gateway_emulator.base_url)
    config = BatchConfig(settings=settings, concurrency=2)
    summary = run_batch(
        write_rows(tmp_path / "in.jsonl", 4), tmp_path / "out.jsonl", config, engine="ray"
    )
    assert summary.rows_failed == 4  # the workers used the key: the emulator refused it
    sent = {r.headers.get("authorization") for r in chat_requests(gateway_emulator)}
    assert sent == {"Bearer ***"}  # the emulator redacts what it logs
    assert canary_key not in (tmp_path / "out.jsonl").read_text()
    assert canary_key not in repr(config)
    logs = [path for path in _ray_logs_dir().rglob("*") if path.is_file()]
    assert logs, "Ray wrote no logs to check"
    for path in logs:
        assert canary_key.encode() not in path.read_bytes(), path

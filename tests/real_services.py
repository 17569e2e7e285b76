"""Real services for tests: a redis-server on loopback and a local Ray, started for real.

Each is a generator for a fixture: test modules wrap them in a fixture of their own. A
missing Python extra (``redis``, ``ray``) skips; a missing ``redis-server`` binary fails,
because ``.ci/run`` installs it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def redis_server(tmp_dir: Path) -> Iterator[str]:
    """Start ``redis-server`` on a free loopback port; yield its URL; stop it."""
    redis = pytest.importorskip("redis", reason="the [redis] extra is not installed")
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: apt-get install -y redis-server"
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(600):  # up to a minute on a busy machine: waiting, not timing
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                assert process.poll() is None, "redis-server exited at start"
                time.sleep(0.1)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait()


def local_ray() -> Iterator[None]:
    """A local Ray with 2 CPUs and no dashboard, shut down afterwards."""
    ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()

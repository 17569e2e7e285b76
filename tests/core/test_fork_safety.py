"""After a fork, parent and child never share a connection, so never each other's answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gw_core import client as gw_client
from gw_core.settings import Settings
from gw_emulator import GatewayEmulator

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _probe(emu: GatewayEmulator) -> dict[str, object]:
    # A fresh interpreter: pytest's own threads (the emulator's among them) must not be
    # forked along with the probe.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.core.fork_probe", emu.api_key, emu.base_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_parent_and_child_each_get_their_own_answers_after_a_fork(
    gateway_emulator: GatewayEmulator,
) -> None:
    report = _probe(gateway_emulator)
    assert report["exitcode"] == 0
    assert report["inherited"] is False  # the child built its own client
    for who in ("parent", "child"):
        answers = report[who]
        assert isinstance(answers, list) and len(answers) == 25
        for word, content in answers:
            assert word.startswith(who)
            assert word in content, f"{who} asked about {word!r} and got {content!r}"
    asked = sorted(
        request.body["messages"][0]["content"]
        for request in gateway_emulator.requests
        if request.body is not None
    )
    expected = ["Say warmup back."] + [
        f"Say {who}-{i}-token back." for who in ("parent", "child") for i in range(25)
    ]
    assert asked == sorted(expected)  # each prompt arrived once, whole


def test_a_fork_that_skipped_the_hooks_is_caught_by_the_pid_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings.resolve(api_key="sk-test", base_url="http://127.0.0.1:9")
    first = gw_client.sync_client(settings)
    monkeypatch.setattr(gw_client, "_pid", -1)  # as if this process were a forked child
    second = gw_client.sync_client(settings)
    assert second is not first
    assert gw_client._pid == os.getpid()
    assert gw_client.sync_client(settings) is second

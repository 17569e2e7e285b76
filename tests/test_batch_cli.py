"""``gw batch`` as users run it: a real subprocess against the emulator, killed and resumed."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gw_cli.batch import Progress
from gw_cli.main import main
from gw_core.batch import RowOutcome
from gw_emulator import Fault, GatewayEmulator


def write_rows(path: Path, count: int) -> Path:
    lines = [
        {
            "custom_id": f"q{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"messages": [{"role": "user", "content": f"question {i}"}]},
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def gw(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gw_cli", "batch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lines(path: Path, count: int, process: subprocess.Popen[str]) -> None:
    """Poll until the output holds ``count`` newlines (no deadline: a slow run just waits)."""
    while not path.exists() or path.read_bytes().count(b"\n") < count:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)


def assert_each_row_once_ok(output: Path, count: int) -> None:
    raw = output.read_bytes()
    assert raw.endswith(b"\n")
    lines = [json.loads(line) for line in raw.splitlines()]
    ok = sorted(line["custom_id"] for line in lines if line["error"] is None)
    assert ok == sorted(f"q{i}" for i in range(count))


def test_gw_batch_runs_a_file_and_prints_a_summary(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 6)
    process = gw(str(source), "-o", str(tmp_path / "out.jsonl"), "--model", "gpt-5.4-low",
                 "--rpm", "600", "--tpm", "100000")  # fmt: skip
    _, err = process.communicate()
    assert process.returncode == 0, err
    assert "done: 6 ok, 0 failed" in err
    assert "requests sent: 6 (0 retries)" in err
    assert "tokens gpt-5.4-low [low]:" in err
    assert "gw batch: 6/6 rows, 0 errors" in err  # plain progress line when not a TTY
    assert_each_row_once_ok(tmp_path / "out.jsonl", 6)


def test_a_killed_run_resumes_and_answers_every_row_exactly_once(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    gateway_env.inject(Fault.delay(0.1), times=1000)
    source, output = write_rows(tmp_path / "in.jsonl", 30), tmp_path / "out.jsonl"
    process = gw(str(source), "-o", str(output), "--model", "gpt-5.4", "--concurrency", "3")
    wait_for_lines(output, 4, process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    before = output.read_bytes().count(b"\n")
    assert 4 <= before < 30
    gateway_env.reset()
    again = gw(str(source), "-o", str(output), "--model", "gpt-5.4")
    _, err = again.communicate()
    assert again.returncode == 0, err
    assert f"{before} of 30 rows already answered" in err
    assert len([r for r in gateway_env.requests if r.path.endswith("/completions")]) == 30 - before
    assert_each_row_once_ok(output, 30)


def test_ctrl_c_stops_cleanly_with_a_summary_and_a_rerun_finishes(
    gateway_env: GatewayEmulator, tmp_path: Path
) -> None:
    gateway_env.inject(Fault.delay(0.1), times=1000)
    source, output = write_rows(tmp_path / "in.jsonl", 30), tmp_path / "out.jsonl"
    process = gw(str(source), "-o", str(output), "--model", "gpt-5.4", "--concurrency", "2")
    wait_for_lines(output, 2, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate()
    assert process.returncode == 130, err
    assert "interrupted:" in err and "Traceback" not in err
    gateway_env.reset()
    again = gw(str(source), "-o", str(output), "--model", "gpt-5.4")
    assert again.wait() == 0
    assert_each_row_once_ok(output, 30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limiter-url", "redis://127.0.0.1:1"], "--limiter-url needs --rpm"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
        (["--rpm", "0"], "rpm must be a positive int"),
    ],
)
def test_bad_options_are_one_line_errors_before_any_request(
    gateway_env: GatewayEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 1)
    assert main(["batch", str(source), "-o", str(tmp_path / "o.jsonl"), "--model", "x", *args]) == 1
    assert message in capsys.readouterr().err
    assert gateway_env.requests == []


def test_a_file_with_bad_lines_is_refused_with_their_numbers(
    gateway_env: GatewayEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 2)
    assert main(["batch", str(source), "-o", str(tmp_path / "o.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "line 1: q0: body has no model" in err and "line 2" in err
    assert gateway_env.requests == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _outcome(ok: bool) -> RowOutcome:
    line: dict[str, Any] = {"custom_id": "x"}
    return RowOutcome(line, ok, 1, "gpt-5.4", "standard", 10, 5)


def test_the_progress_is_a_bar_on_a_terminal_with_errors_and_tokens() -> None:
    terminal = _Terminal()
    progress = Progress(3, terminal)
    for ok in (True, False, True):
        progress(_outcome(ok))
    progress.close()
    text = terminal.getvalue()
    assert "3/3" in text and "errors=1" in text and "tokens=45" in text


def test_the_progress_without_a_terminal_is_plain_lines() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream)
    progress(_outcome(True))
    progress(_outcome(True))
    progress.close()
    assert stream.getvalue().strip().splitlines()[-1].startswith("gw batch: 2/2 rows, 0 errors")
    assert "\r" not in stream.getvalue()


def test_gw_batch_is_listed_in_gw_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "batch" in capsys.readouterr().out
    assert os.environ.get("GW_API_KEY") is None

"""``gw doctor`` on the command line: the plan first, the question on a terminal, the
report where it was asked for, the exit status, and never the key."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gw_cli import main as cli
from gw_emulator import GatewayEmulator, Quirks
from tests.conftest import CANARY_KEY, run_gw


class _Terminal(io.StringIO):
    """A stdin that says it is a terminal, with the user's answer already typed."""

    def isatty(self) -> bool:
        return True


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_gw(capsys, "doctor", *argv)


def test_doctor_is_listed_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "doctor" in capsys.readouterr().out


def test_a_clean_run_prints_the_plan_then_markdown_and_exits_0(
    canary_gateway: GatewayEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report_path = tmp_path / "out" / "doctor.json"
    code, out, err = _run(capsys, "--models", "gpt-5.4", "--yes", "--json", str(report_path))
    assert code == 0
    assert err.startswith("gw doctor will send 12 requests to 127.0.0.1:")
    assert "at most" in err and "tokens" in err
    assert out.startswith("# gw doctor report")
    data = json.loads(report_path.read_text())
    assert {c["status"] for c in data["checks"]} == {"pass", "skipped"}
    assert canary_gateway.request_count == data["requests_sent"] == 12
    for text in (out, err, report_path.read_text()):
        assert CANARY_KEY not in text


def test_a_difference_exits_1_and_the_markdown_goes_to_its_file(
    canary_gateway: GatewayEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    canary_gateway.quirks = Quirks(omit_done=True)
    path = tmp_path / "doctor.md"
    code, out, err = _run(capsys, "--models", "claude-haiku-4-5", "--yes", "--markdown", str(path))
    assert code == 1
    assert out == ""
    text = path.read_text()
    assert "### stream_end on claude-haiku-4-5: differs" in text
    assert "gw_emulator.protocol:Connection._stream_plan" in text
    assert "1 differs" in err
    assert CANARY_KEY not in text + err


def test_on_a_terminal_it_asks_and_sends_nothing_without_a_yes(
    canary_gateway: GatewayEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = _run(capsys, "--models", "gpt-5.4")
    assert code == 1
    assert "Send them? [y/N]" in err and "nothing sent" in err
    assert out == ""
    assert canary_gateway.request_count == 0


def test_on_a_terminal_a_yes_sends(
    canary_gateway: GatewayEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, _, err = _run(capsys, "--models", "gpt-5.4")
    assert code == 0
    assert "Send them?" in err
    assert canary_gateway.request_count == 12


def test_max_requests_is_announced_and_respected(
    canary_gateway: GatewayEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "--models", "gpt-5.4", "--yes", "--max-requests", "3")
    assert code == 0
    assert "--max-requests 3 skips the checks past that" in err
    assert canary_gateway.request_count == 3
    assert "--max-requests 3 reached" in out


def test_bad_options_are_one_line_errors_before_anything_is_sent(
    canary_gateway: GatewayEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "--max-requests", "0", "--yes")
    assert (code, err) == (1, "gw doctor: --max-requests must be at least 1, not 0\n")
    code, _, err = _run(capsys, "--models", ",", "--yes")
    assert code == 1 and "--models needs" in err
    assert canary_gateway.request_count == 0


def test_without_a_key_it_says_which_variable_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--yes")
    assert code == 1
    assert "GW_API_KEY" in err


def test_the_embedded_emulator_needs_no_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--emulator", "--yes", "--models", "gemini-3-flash-preview")
    assert code == 0
    assert "| thought_signature | gemini-3-flash-preview | pass |" in out

"""Against the real gateway (``make live-test``): does it still behave as we assume?

A few dozen small requests (one model per family and dialect). The doctor's reports are
written to ``build/live/`` for review; ``differs`` findings are listed but only a
``fail`` fails the suite, since a difference is for a maintainer to judge.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from gw_cli.doctor import DoctorReport, Status, run_doctor
from gw_core.catalog import parse
from gw_core.settings import Settings
from gw_core.transport import Gateway
from gw_core.wire import build_body

pytestmark = [pytest.mark.live, pytest.mark.enable_socket]

OUT = Path(__file__).resolve().parents[2] / "build" / "live"
_MAX_REQUESTS = 60


@pytest.fixture(scope="module")
def report(live_settings: Settings) -> DoctorReport:
    found = run_doctor(settings=live_settings, max_requests=_MAX_REQUESTS)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "doctor.md").write_text(found.to_markdown(), encoding="utf-8")
    (OUT / "doctor.json").write_text(found.to_json(), encoding="utf-8")
    return found


def test_the_doctor_finds_no_failure_on_the_real_gateway(report: DoctorReport) -> None:
    differs = [
        f"{c.check} on {c.model}: {c.detail}" for c in report.checks if c.status is Status.DIFFERS
    ]
    for line in differs:
        warnings.warn(f"gw doctor: differs: {line}", stacklevel=1)
    failed = [
        f"{c.check} on {c.model}: {c.detail}" for c in report.checks if c.status is Status.FAIL
    ]
    assert not failed, "\n".join(failed)


def test_the_live_report_never_holds_the_key(report: DoctorReport, live_settings: Settings) -> None:
    key = live_settings.secret()
    assert key not in report.to_json()
    assert key not in report.to_markdown()


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-haiku-4-5", "gemini-2.5-flash-lite"])
def test_a_stream_through_the_library_ends_with_a_finish_reason_and_usage(
    live_settings: Settings, model: str
) -> None:
    spec = parse(model)
    body = build_body(
        spec,
        [{"role": "user", "content": "Say hello in three words."}],
        {"max_completion_tokens": 128},
        stream=True,
    )
    with Gateway(live_settings).stream(body, spec) as stream:
        text = "".join(delta.content for delta in stream)
        result = stream.result()
    assert result.finish_reason in ("stop", "length")
    assert result.usage is not None and result.usage.completion_tokens > 0
    assert text == result.content

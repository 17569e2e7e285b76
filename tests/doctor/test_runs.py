"""``run_doctor`` against the emulator: all pass as it is, ``differs`` where it is made to
behave otherwise, and never a key in a report."""

from __future__ import annotations

import json

import pytest

from gw_cli.doctor import (
    DEFAULT_MODELS,
    UNKNOWN_MODEL_ID,
    CheckResult,
    DoctorReport,
    Status,
    plan_doctor,
    run_doctor,
)
from gw_core.settings import Settings
from gw_emulator import Fault, GatewayEmulator, Quirks, ScriptedReply
from tests.conftest import CANARY_KEY

GEMINI_3 = "gemini-3.1-flash-lite-preview"


def _by_key(report: DoctorReport) -> dict[tuple[str, str | None], CheckResult]:
    return {(c.check, c.model): c for c in report.checks}


def _not_passing(report: DoctorReport) -> list[tuple[str, str | None, str]]:
    return [
        (c.check, c.model, c.status.value) for c in report.checks if c.status is not Status.PASS
    ]


def test_a_run_against_the_emulator_passes_every_check_that_applies(
    emu: GatewayEmulator, settings: Settings
) -> None:
    report = run_doctor(settings=settings)
    assert {s for _, _, s in _not_passing(report)} == {"skipped"}
    skipped = {(c, m) for c, m, _ in _not_passing(report)}
    assert skipped == {
        ("video", "gpt-5.4"),
        ("video", "claude-haiku-4-5"),
        ("thought_signature", "gpt-5.4"),
        ("thought_signature", "claude-haiku-4-5"),
        ("thought_signature", "gemini-2.5-flash-lite"),
        ("rate_limit_headers", None),
    }
    assert all(c.detail for c in report.checks if c.status is Status.SKIPPED)
    assert report.exit_code == 0
    assert report.requests_sent == plan_doctor().requests == emu.request_count
    assert report.models == list(DEFAULT_MODELS)


def test_every_check_of_the_default_run_is_reported_for_each_model(settings: Settings) -> None:
    report = run_doctor(settings=settings)
    per_model = {
        "plain",
        "stream_end",
        "stream_usage",
        "stop",
        "image",
        "video",
        "tool_round_trip",
        "thought_signature",
        "structured_output",
        "family_rule",
    }
    for model in DEFAULT_MODELS:
        assert {c.check for c in report.checks if c.model == model} >= per_model
    gateway = {c.check for c in report.checks if c.model not in DEFAULT_MODELS}
    assert gateway == {"models_endpoint", "unknown_model_error", "rate_limit_headers"}
    assert {"auth", "bad_key_error"} <= {c.check for c in report.checks}


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "gpt-5.4"])
def test_usage_on_every_chunk_differs_where_we_assume_it_once(
    emu: GatewayEmulator, settings: Settings, model: str
) -> None:
    emu.quirks = Quirks(usage_every_chunk=True)
    report = run_doctor([model, "gemini-2.5-flash-lite"], settings=settings)
    found = _by_key(report)
    usage = found[("stream_usage", model)]
    assert usage.status is Status.DIFFERS
    assert "on every chunk" in usage.detail
    assert "gw_core.wire.stream:StreamAccumulator.add" in usage.where
    assert usage.assumes
    # Gemini sends it so anyway: still what we assume there.
    assert found[("stream_usage", "gemini-2.5-flash-lite")].status is Status.PASS
    assert [(c, m) for c, m, s in _not_passing(report) if s != "skipped"] == [
        ("stream_usage", model)
    ]
    assert report.exit_code == 1


def test_a_stream_that_ends_without_done_differs(emu: GatewayEmulator, settings: Settings) -> None:
    emu.quirks = Quirks(omit_done=True)
    report = run_doctor(["gpt-5.4"], settings=settings)
    end = _by_key(report)[("stream_end", "gpt-5.4")]
    assert end.status is Status.DIFFERS
    assert "[DONE]" in end.detail
    assert end.evidence["done"] is False
    assert _by_key(report)[("stream_usage", "gpt-5.4")].status is Status.PASS


def test_another_error_for_an_unknown_model_differs_and_says_what_the_library_raises(
    emu: GatewayEmulator, settings: Settings
) -> None:
    body = {
        "error": {
            "message": f"The model `{UNKNOWN_MODEL_ID}` does not exist",
            "type": "invalid_request_error",
            "code": None,
        }
    }
    emu.inject(Fault.status(404, body=body), model=UNKNOWN_MODEL_ID)
    report = run_doctor(["gpt-5.4"], settings=settings)
    unknown = _by_key(report)[("unknown_model_error", UNKNOWN_MODEL_ID)]
    assert unknown.status is Status.DIFFERS
    assert "HTTP 404" in unknown.detail and "NotFoundError" in unknown.detail
    assert unknown.evidence["status"] == 404
    assert unknown.evidence["body"]["error"]["message"].startswith("The model")
    assert "gw_core.errors:_class_for" in unknown.where


def test_a_gemini_3_turn_accepted_without_signatures_differs(
    emu: GatewayEmulator, settings: Settings
) -> None:
    emu.quirks = Quirks(accept_unsigned=True)
    report = run_doctor([GEMINI_3], settings=settings)
    found = _by_key(report)
    signature = found[("thought_signature", GEMINI_3)]
    assert signature.status is Status.DIFFERS
    assert "without its thought signatures" in signature.detail
    assert "gw_emulator.validation:_check_signatures" in signature.where
    assert found[("tool_round_trip", GEMINI_3)].status is Status.PASS


def test_the_unsigned_turn_is_sent_raw_without_the_placeholder(
    emu: GatewayEmulator, settings: Settings
) -> None:
    run_doctor([GEMINI_3], settings=settings)
    tool_turns = [
        r.body["messages"]
        for r in emu.requests
        if isinstance(r.body, dict) and len(r.body.get("messages") or ()) == 3
    ]
    signed, unsigned = tool_turns
    assert signed[1]["tool_calls"][0]["extra_content"]["google"]["thought_signature"]
    assert "extra_content" not in unsigned[1]["tool_calls"][0]
    assert [r.status for r in emu.requests if r.body and r.body.get("messages") in tool_turns] == [
        200,
        400,
    ]


def test_a_wrong_key_fails_auth_and_skips_everything_else(emu: GatewayEmulator) -> None:
    wrong = Settings.resolve(api_key="gw-not-the-emulator-key", base_url=emu.base_url)
    report = run_doctor(["gpt-5.4"], settings=wrong)
    assert report.checks[0].check == "auth"
    assert report.checks[0].status is Status.FAIL
    assert "GW_API_KEY" in report.checks[0].detail
    assert {c.status for c in report.checks[1:]} == {Status.SKIPPED}
    assert report.requests_sent == emu.request_count == 1
    assert report.exit_code == 1


def test_max_requests_caps_what_is_sent_and_skips_whole_checks(
    emu: GatewayEmulator, settings: Settings
) -> None:
    report = run_doctor([GEMINI_3], settings=settings, max_requests=7)
    assert report.requests_sent == emu.request_count <= 7
    capped = [c for c in report.checks if "--max-requests 7" in c.detail]
    assert capped and all(c.status is Status.SKIPPED for c in capped)
    # The tool check needs three requests: it is skipped whole, never half-run.
    tools = _by_key(report)[("tool_round_trip", GEMINI_3)]
    assert tools.status is Status.SKIPPED
    assert _by_key(report)[("thought_signature", GEMINI_3)].status is Status.SKIPPED
    assert report.exit_code == 0


def test_findings_carry_latency_and_streams_their_first_token_time(settings: Settings) -> None:
    report = run_doctor(["claude-haiku-4-5"], settings=settings)
    found = _by_key(report)
    stream = found[("stream_end", "claude-haiku-4-5")]
    assert stream.latency_ms is not None and stream.ttft_ms is not None
    assert 0 < stream.ttft_ms <= stream.latency_ms
    assert found[("plain", "claude-haiku-4-5")].ttft_ms is None
    assert found[("plain", "claude-haiku-4-5")].evidence["status"] == 200


def test_the_json_report_has_the_documented_fields(settings: Settings) -> None:
    data = json.loads(run_doctor(["gpt-5.4"], settings=settings).to_json())
    assert {"checks", "library_version", "openai_version", "base_url_host", "date"} <= set(data)
    assert data["base_url_host"] == "127.0.0.1"
    for check in data["checks"]:
        assert {"check", "model", "status", "detail", "latency_ms", "ttft_ms", "evidence"} <= set(
            check
        )
        assert check["status"] in ("pass", "fail", "differs", "skipped")


def test_a_planted_key_never_reaches_a_report_even_when_the_gateway_echoes_it() -> None:
    echo = {"error": {"message": f"no such model for key {CANARY_KEY}", "code": "x"}}
    with GatewayEmulator(api_key=CANARY_KEY) as emulator:
        emulator.inject(Fault.status(400, body=echo), model=UNKNOWN_MODEL_ID)
        settings = Settings.resolve(api_key=CANARY_KEY, base_url=emulator.base_url)
        report = run_doctor(["gpt-5.4", GEMINI_3], settings=settings)
    unknown = _by_key(report)[("unknown_model_error", UNKNOWN_MODEL_ID)]
    assert "***" in json.dumps(unknown.evidence)
    for text in (report.to_json(), report.to_markdown(), repr(report), str(report.checks)):
        assert CANARY_KEY not in text
        assert "gw-doctor-invalid-" not in text  # the made-up key of the bad-key check


def test_reports_keep_only_short_excerpts_of_prompts_and_answers(settings: Settings) -> None:
    report = run_doctor(["gpt-5.4"], settings=settings)
    for check in json.loads(report.to_json())["checks"]:
        strings: list[str] = []
        _strings(check["evidence"], strings)
        assert all(len(s) <= 120 for s in strings)
        assert len(check["detail"]) <= 400


def _strings(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)


def test_a_model_error_on_the_auth_call_does_not_stop_the_run(
    emu: GatewayEmulator, settings: Settings
) -> None:
    emu.inject(Fault.status(503, message="no channel right now"))
    report = run_doctor(["gpt-5.4"], settings=settings)
    auth = report.checks[0]
    assert (auth.check, auth.status) == ("auth", Status.PASS)
    assert "HTTP 503" in auth.detail
    assert _by_key(report)[("plain", "gpt-5.4")].status is Status.PASS


def test_a_gateway_that_does_not_answer_fails_auth_and_sends_nothing_more() -> None:
    with GatewayEmulator() as emulator:
        settings = Settings.resolve(api_key=emulator.api_key, base_url=emulator.base_url)
    report = run_doctor(["gpt-5.4"], settings=settings)  # the emulator has stopped
    assert report.checks[0].status is Status.FAIL
    assert report.checks[0].detail.startswith("no answer")
    assert report.requests_sent == 1
    assert {c.status for c in report.checks[1:]} == {Status.SKIPPED}


def test_an_extra_field_in_a_completion_body_differs_and_is_named(
    emu: GatewayEmulator, settings: Settings
) -> None:
    emu.script(ScriptedReply("ready", usage={**_USAGE, "cost": 0.1}), model="gpt-5.4")
    # The auth call takes the first script: queue the reply for the plain call too.
    emu.script(ScriptedReply("ready", usage={**_USAGE, "cost": 0.1}), model="gpt-5.4")
    report = run_doctor(["gpt-5.4"], settings=settings)
    plain = _by_key(report)[("plain", "gpt-5.4")]
    assert plain.status is Status.DIFFERS
    assert "usage.cost" in plain.detail
    assert "gw_core.wire.response:parse_completion" in plain.where


_USAGE = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}

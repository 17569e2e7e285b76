"""The doctor's pieces on their own: usage shapes, stream ends, plans, pointers, media."""

from __future__ import annotations

import dataclasses
import importlib
import zlib
from typing import Any

import pytest

from gw_cli.doctor import DEFAULT_MODELS, Status, plan_doctor, select_models
from gw_cli.doctor.checks import _stream_end, usage_shapes
from gw_cli.doctor.context import Context
from gw_cli.doctor.contract import ASSUMPTIONS, UsageShape
from gw_cli.doctor.media import tiny_mp4, tiny_png
from gw_cli.doctor.probe import Budget, Exchange, Probe
from gw_cli.doctor.report import CheckResult, DoctorReport, excerpt, redact
from gw_core.catalog import all_ids, parse
from gw_core.errors import GatewayInputError
from gw_core.settings import Settings
from gw_core.wire import image_part, video_part
from gw_core.wire.content import spell_media


def _chunk(text: str = "", finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    chunk: dict[str, Any] = {"choices": [{"index": 0, "delta": {"content": text}}]}
    chunk["choices"][0]["finish_reason"] = finish
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def _usage(completion: int) -> dict[str, int]:
    return {"prompt_tokens": 5, "completion_tokens": completion, "total_tokens": 5 + completion}


def test_usage_on_a_last_empty_chunk_is_the_gpt_shape() -> None:
    chunks = [_chunk("a"), _chunk("b", "stop"), {"choices": [], "usage": _usage(2)}]
    assert usage_shapes(chunks)[0] == {UsageShape.FINAL_CHUNK}


def test_usage_on_the_finish_chunk_only_is_the_claude_shape() -> None:
    chunks = [_chunk("a"), _chunk("b"), _chunk("", "stop", _usage(2))]
    assert usage_shapes(chunks)[0] == {UsageShape.FINISH_CHUNK}


def test_cumulative_usage_on_every_chunk_is_the_gemini_shape() -> None:
    chunks = [_chunk("a", usage=_usage(1)), _chunk("b", "stop", _usage(2))]
    assert usage_shapes(chunks)[0] == {UsageShape.EVERY_CHUNK}


def test_a_one_chunk_stream_fits_both_the_finish_and_the_every_chunk_shape() -> None:
    shapes, _ = usage_shapes([_chunk("hi", "stop", _usage(1))])
    assert shapes == {UsageShape.FINISH_CHUNK, UsageShape.EVERY_CHUNK}


def test_usage_that_goes_down_is_no_shape_we_know() -> None:
    chunks = [_chunk("a", usage=_usage(3)), _chunk("b", "stop", _usage(1))]
    shapes, where = usage_shapes(chunks)
    assert shapes == set()
    assert "2 of 2 chunks" in where


def test_a_stream_without_usage_has_no_shape() -> None:
    assert usage_shapes([_chunk("a", "stop")]) == (set(), "no usage on any of 1 chunks")


def _context() -> Context:
    settings = Settings.resolve(api_key="gw-test-key-0000", base_url="http://127.0.0.1:9")
    return Context(Probe(settings, Budget()), ("gw-test-key-0000",))


def test_a_stream_with_no_finish_reason_fails_as_the_library_would() -> None:
    cut = Exchange(status=200, chunks=[_chunk("a")], done=True)
    result = _stream_end(_context(), parse("gpt-5.4"), cut)
    assert result.status is Status.FAIL
    assert "IncompleteStreamError" in result.detail
    assert result.where  # a failure names the assumption's code too


def test_an_error_event_mid_stream_fails_with_its_message() -> None:
    broken = Exchange(status=200, chunks=[_chunk("a")], stream_error="GatewayAPIError: boom")
    result = _stream_end(_context(), parse("gpt-5.4"), broken)
    assert result.status is Status.FAIL
    assert "boom" in result.detail


@pytest.mark.parametrize("check", sorted(ASSUMPTIONS))
def test_every_code_pointer_names_something_that_exists(check: str) -> None:
    for pointer in ASSUMPTIONS[check].where:
        module_name, _, attribute = pointer.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
        assert callable(target) or isinstance(target, property), pointer


def test_models_default_all_and_lists() -> None:
    assert select_models(None) == select_models("default") == list(DEFAULT_MODELS)
    assert select_models("all") == all_ids()
    assert select_models(" gpt-5.4, gpt-5.4 ,new-model-x ") == ["gpt-5.4", "new-model-x"]
    with pytest.raises(GatewayInputError, match="--models needs"):
        select_models(" , ")


def test_the_default_models_cover_each_family_and_the_signing_gemini() -> None:
    specs = [parse(m) for m in DEFAULT_MODELS]
    assert {s.family.value for s in specs} == {"gpt", "claude", "gemini"}
    assert any(s.thought_signatures for s in specs)
    assert any(s.family.value == "gemini" and not s.thought_signatures for s in specs)


def test_the_plan_counts_requests_per_family_and_bounds_tokens() -> None:
    gateway_only = 4
    assert plan_doctor(["gpt-5.4"]).requests == gateway_only + 8
    assert plan_doctor(["gemini-2.5-pro"]).requests == gateway_only + 9  # + video
    assert plan_doctor(["gemini-3-flash-preview"]).requests == gateway_only + 10  # + unsigned
    plan = plan_doctor("all")
    assert len(plan.models) == 45
    assert plan.total_tokens == plan.completion_tokens + plan.prompt_tokens
    assert plan.completion_tokens >= 128 * plan.requests // 2
    assert "requests to example.org" in plan.describe("example.org")


def test_the_png_is_drawn_in_code_and_sniffed_as_png() -> None:
    png = tiny_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    body = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    assert len(zlib.decompress(body)) == 8 * (1 + 8 * 3)
    assert image_part(data=png)["image_url"]["url"].startswith("data:image/png;base64,")


def test_the_video_is_an_mp4_sent_as_a_data_uri() -> None:
    mp4 = tiny_mp4()
    assert mp4[4:8] == b"ftyp" and b"avc1" in mp4
    part = video_part(data=mp4, mime_type="video/mp4")
    assert part["video"]["url"].startswith("data:video/mp4;base64,")
    # On the wire it goes as Gemini takes video: an image_url part with the data: URI.
    (message,) = spell_media([{"role": "user", "content": [part]}])
    (spelled,) = message["content"]
    assert spelled["image_url"]["url"] == part["video"]["url"]


def test_redact_masks_secrets_and_cuts_long_texts() -> None:
    data = {"a": "key=sk-secret-123456 " + "x" * 500, "n": [1, None, True]}
    clean = redact(data, ("sk-secret-123456",))
    assert "sk-secret" not in clean["a"] and clean["a"].startswith("key=***")
    assert len(clean["a"]) == 120
    assert clean["n"] == [1, None, True]
    assert excerpt("a\n b\t c") == "a b c"


def test_markdown_lists_differences_with_their_assumption_and_code() -> None:
    finding = CheckResult(
        "stream_usage",
        "gpt-5.4",
        Status.DIFFERS,
        "usage | on every chunk",
        evidence={"status": 200},
        assumes="usage once",
        where=("gw_core.wire.stream:StreamAccumulator.add",),
    )
    report = DoctorReport([finding], "0.1", "3.0", "h", "d", ["gpt-5.4"], 1, ("secret-key",))
    text = report.to_markdown()
    assert "## Differences and failures" in text
    assert "usage \\| on every chunk" in text  # a pipe would break the table
    assert "`gw_core.wire.stream:StreamAccumulator.add`" in text
    assert report.exit_code == 1
    assert "secret-key" not in repr(report)


def test_a_check_that_breaks_is_a_failure_of_each_of_its_findings_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gw_cli.doctor import runner

    def broken(ctx: Context, spec: Any) -> list[CheckResult]:
        raise RuntimeError("a bug")

    stream = next(c for c in runner.PER_MODEL if c.names == ("stream_end", "stream_usage"))
    patched = tuple(
        dataclasses.replace(c, run=broken) if c is stream else c for c in runner.PER_MODEL
    )
    monkeypatch.setattr(runner, "PER_MODEL", patched)
    found: list[CheckResult] = []
    runner._run_model(_context(), parse("gpt-5.4"), found.append)
    by_name = {c.check: c for c in found}
    assert by_name["stream_end"].status is by_name["stream_usage"].status is Status.FAIL
    assert "a bug" in by_name["stream_usage"].detail
    assert by_name["plain"].status is Status.FAIL  # no gateway at 127.0.0.1:9: a real failure
    assert len(found) == sum(len(c.names) for c in patched)

"""Content parts and history checks: what each model may receive, refused before sending."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest

from gw_core.catalog import ModelSpec, parse
from gw_core.errors import CapabilityError, GatewayInputError, PayloadTooLargeError
from gw_core.wire import (
    MAX_INLINE_IMAGE_BYTES,
    MAX_INLINE_VIDEO_BYTES,
    audio_part,
    build_body,
    file_part,
    image_part,
    text_part,
    validate_messages,
    video_part,
)
from gw_core.wire import content as content_module

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
GIF = b"GIF89a" + b"\x00" * 40
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 40
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40
GEMINI = parse("gemini-3.1-pro-preview")
CLAUDE = parse("claude-opus-4-7")
GPT = parse("gpt-5.4")


def user(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [text_part("look"), *parts]}]


# -- builders ----------------------------------------------------------------------------


def test_limits_are_twenty_mebibytes() -> None:
    assert MAX_INLINE_IMAGE_BYTES == MAX_INLINE_VIDEO_BYTES == 20 * 1024 * 1024


def test_text_part() -> None:
    assert text_part("hi") == {"type": "text", "text": "hi"}
    with pytest.raises(GatewayInputError):
        text_part(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "mime"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
    ids=["png", "jpeg", "gif", "webp"],
)
def test_image_part_from_bytes_sniffs_the_type(raw: bytes, mime: str) -> None:
    part = image_part(data=raw)
    expected = f"data:{mime};base64,{base64.b64encode(raw).decode()}"
    assert part == {"type": "image_url", "image_url": {"url": expected}}


def test_image_part_from_base64_text_url_and_detail() -> None:
    b64 = base64.b64encode(PNG).decode()
    assert image_part(data=b64)["image_url"]["url"] == f"data:image/png;base64,{b64}"
    assert image_part(data=b64, mime_type="image/jpeg")["image_url"]["url"].startswith(
        "data:image/jpeg;base64,"
    )
    url = "https://example.com/cat.png"
    assert image_part(url=url, detail="low") == {
        "type": "image_url",
        "image_url": {"url": url, "detail": "low"},
    }
    uri = f"data:image/png;base64,{b64}"
    assert image_part(data=uri)["image_url"]["url"] == uri


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one"),
        ({"url": "https://x/a.png", "data": PNG}, "exactly one"),
        ({"data": b"plain bytes"}, "pass mime_type"),
        ({"data": PNG, "mime_type": "text/plain"}, "image/\\* type"),
        ({"data": "not base64!"}, "base64"),
        ({"data": "QUJD-_"}, "base64"),
        ({"url": "/home/me/cat.png"}, "http\\(s\\) or a data: URI"),
        ({"url": "file:///cat.png"}, "image_part\\(data=...\\)"),
        ({"url": "data:image/png,rawtext"}, "malformed data URI"),
        ({"url": "data:video/mp4;base64,AAAA"}, "data URI of type 'video/mp4'"),
        ({"url": "https://x/a.png", "detail": "max"}, "detail"),
    ],
)
def test_image_part_refuses(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(GatewayInputError, match=match):
        image_part(**kwargs)


def test_image_part_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content_module, "MAX_INLINE_IMAGE_BYTES", 30)
    with pytest.raises(PayloadTooLargeError, match="MiB the gateway takes inline"):
        image_part(data=PNG)


def test_video_part_keeps_its_kind_until_the_body_spells_it_as_an_image_url() -> None:
    uri = "data:video/mp4;base64," + base64.b64encode(MP4).decode()
    part = video_part(data=MP4, mime_type="video/mp4")
    assert part == {"type": "video", "video": {"url": uri, "mime_type": "video/mp4"}}
    url = "https://example.com/clip.mp4"
    assert video_part(url=url, mime_type="video/mp4") == {
        "type": "video",
        "video": {"url": url, "mime_type": "video/mp4"},
    }
    history = [{"role": "user", "content": [{"type": "text", "text": "what?"}, part]}]
    body = build_body(parse("gemini-2.5-pro"), history, {})
    assert body["messages"][0]["content"][1] == {"type": "image_url", "image_url": {"url": uri}}
    assert history[0]["content"][1] is part  # the caller's history is not changed
    with pytest.raises(GatewayInputError, match="video/\\* type"):
        video_part(data=MP4, mime_type="image/png")
    with pytest.raises(GatewayInputError, match="exactly one"):
        video_part(mime_type="video/mp4")


def test_a_video_url_without_a_video_suffix_is_still_video() -> None:
    """Before, video_part(url=...) dropped its kind, and Claude was sent an 'image'."""
    part = video_part(url="https://example.com/stream?id=42", mime_type="video/mp4")
    history = [{"role": "user", "content": [part]}]
    validate_messages(parse("gemini-2.5-pro"), history)
    with pytest.raises(CapabilityError, match="claude-sonnet-4-6 cannot take video"):
        validate_messages(parse("claude-sonnet-4-6"), history)


def test_file_and_audio_parts() -> None:
    pdf = b"%PDF-1.7 ..."
    assert file_part(data=pdf, filename="a.pdf") == {
        "type": "file",
        "file": {
            "file_data": "data:application/pdf;base64," + base64.b64encode(pdf).decode(),
            "filename": "a.pdf",
        },
    }
    assert audio_part(data=b"RIFFwav", format="wav") == {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(b"RIFFwav").decode(), "format": "wav"},
    }
    with pytest.raises(GatewayInputError, match="filename"):
        file_part(data=pdf, filename="")
    with pytest.raises(GatewayInputError, match="wav' or 'mp3"):
        audio_part(data=b"x", format="ogg")


# -- validate_messages: structure -----------------------------------------------------


def test_plain_conversations_pass() -> None:
    validate_messages(
        GPT,
        [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [text_part("and kind")]},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "bye"},
        ],
    )


def test_a_tool_round_trip_passes() -> None:
    validate_messages(
        GPT,
        [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": ""},
            {"role": "tool", "tool_call_id": "c1", "content": [text_part("sunny")]},
        ],
    )


ASSISTANT_CALL: dict[str, Any] = {
    "role": "assistant",
    "tool_calls": [{"id": "c1", "function": {"name": "w", "arguments": "{}"}}],
}


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([], "non-empty list"),
        ("hi", "non-empty list"),
        (["hi"], "messages\\[0\\] must be a dict"),
        ([{"content": "hi"}], "role must be one of"),
        ([{"role": "function", "content": "x"}], "got 'function'"),
        ([{"role": "user", "content": ""}], "user message needs non-empty content"),
        ([{"role": "user"}], "user message needs non-empty content"),
        ([{"role": "user", "content": []}], "non-empty content"),
        ([{"role": "system", "content": None}], "system message needs"),
        ([{"role": "user", "content": {"text": "x"}}], "string or a list of parts"),
        ([{"role": "user", "content": ["x"]}], "must be a dict with a 'type'"),
        ([{"role": "user", "content": [{"type": "text"}]}], "text part needs"),
        (
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}],
            "content or tool_calls",
        ),
        ([{"role": "tool", "content": "x"}], "needs 'tool_call_id'"),
        ([{"role": "tool", "tool_call_id": "c1", "content": "x"}], "matches no tool call"),
        ([{"role": "tool", "tool_call_id": "c1", "content": "x"}, ASSISTANT_CALL], "'c1'"),
        ([ASSISTANT_CALL, {"role": "tool", "tool_call_id": "c1"}], "needs content"),
        ([{"role": "assistant", "tool_calls": [{"function": {"name": "w"}}]}], "needs an 'id'"),
        ([{"role": "assistant", "tool_calls": [{"id": "a", "function": {}}]}], "no function name"),
        ([{"role": "assistant", "tool_calls": {"id": "a"}}], "tool_calls must be a list"),
        ([{"role": "user", "content": [{"type": "image", "url": "https://x"}]}], "unknown content"),
        ([{"role": "user", "content": [{"type": "video", "base64": "AAAA"}]}], "'video'"),
    ],
)
def test_structural_errors(messages: Any, match: str) -> None:
    with pytest.raises(GatewayInputError, match=match):
        validate_messages(GPT, messages)


def test_images_belong_in_user_messages() -> None:
    image = image_part(url="https://x/a.png")
    with pytest.raises(GatewayInputError, match="system messages take text only"):
        validate_messages(GPT, [{"role": "system", "content": [image]}])
    with pytest.raises(GatewayInputError, match="assistant messages take text only"):
        validate_messages(GPT, [{"role": "assistant", "content": [image]}])
    validate_messages(
        GPT, [{"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]
    )


# -- validate_messages: capabilities and sizes -----------------------------------------


def test_images_go_to_every_model() -> None:
    for spec in (GPT, CLAUDE, GEMINI, parse("brand-new-model")):
        validate_messages(spec, user(image_part(data=PNG), image_part(url="https://x/y.jpg")))


def test_an_image_to_a_model_without_image_input() -> None:
    blind: ModelSpec = dataclasses.replace(GPT, id="text-only-1", image_input=False)
    with pytest.raises(CapabilityError, match="text-only-1 cannot take images"):
        validate_messages(blind, user(image_part(url="https://x/y.jpg")))


VIDEO_FORMS = [
    video_part(data=MP4, mime_type="video/mp4"),
    video_part(url="https://cdn.example.com/clips/a.MOV?sig=1", mime_type="video/quicktime"),
    {"type": "video_url", "video_url": {"url": "https://example.com/watch"}},
    {"type": "video_url", "video_url": {"url": "data:video/webm;base64,AAAA"}},
]


@pytest.mark.parametrize("part", VIDEO_FORMS)
def test_video_is_gemini_only(part: dict[str, Any]) -> None:
    validate_messages(GEMINI, user(part))
    validate_messages(parse("gemini-9-ultra"), user(part))
    for spec in (CLAUDE, GPT, parse("brand-new-model")):
        with pytest.raises(CapabilityError) as info:
            validate_messages(spec, user(part))
        message = str(info.value)
        assert spec.id in message and "Gemini models only" in message
        assert isinstance(info.value, ValueError)


def test_video_to_claude_is_refused_in_a_tool_result_too() -> None:
    messages = [
        {"role": "user", "content": "q"},
        ASSISTANT_CALL,
        {
            "role": "tool",
            "tool_call_id": "c1",
            "content": [video_part(data=MP4, mime_type="video/mp4")],
        },
    ]
    with pytest.raises(CapabilityError):
        validate_messages(CLAUDE, messages)


def test_inline_size_limits_are_estimated_from_the_base64_length() -> None:
    big = "A" * ((MAX_INLINE_IMAGE_BYTES // 3 + 2) * 4)
    with pytest.raises(PayloadTooLargeError, match="over the 20 MiB"):
        validate_messages(
            GPT, user({"type": "image_url", "image_url": {"url": "data:image/png;base64," + big}})
        )
    with pytest.raises(PayloadTooLargeError, match="video"):
        validate_messages(
            GEMINI,
            user({"type": "image_url", "image_url": {"url": "data:video/mp4;base64," + big}}),
        )
    exact = "A" * (MAX_INLINE_VIDEO_BYTES // 3 * 4)
    validate_messages(
        GEMINI, user({"type": "image_url", "image_url": {"url": "data:video/mp4;base64," + exact}})
    )


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("data:image/png;base64", "malformed data URI"),
        ("data:image/png,AAAA", "malformed data URI"),
        ("data:;base64,AAAA", "malformed data URI"),
        ("data:image/png;base64,AAA", "not standard padded base64"),
        ("data:image/png;base64,", "not standard padded base64"),
        ("data:image/png;base64,AA-_", "not standard padded base64"),
        ("data:application/zip;base64,AAAA", "image/\\* or video/\\*"),
        ("ftp://host/a.png", "http\\(s\\)"),
        ("", "non-empty string"),
    ],
)
def test_malformed_media_urls(url: str, match: str) -> None:
    with pytest.raises(GatewayInputError, match=match):
        validate_messages(GEMINI, user({"type": "image_url", "image_url": {"url": url}}))


def test_an_image_url_part_needs_an_object() -> None:
    with pytest.raises(GatewayInputError, match="needs 'image_url'"):
        validate_messages(GPT, user({"type": "image_url", "image_url": "https://x/a.png"}))


# -- undocumented parts ------------------------------------------------------------------

PDF = file_part(data=b"%PDF-1.7", filename="a.pdf")
WAV = audio_part(data=b"RIFFxxxxWAVE", format="wav")


@pytest.mark.parametrize("part", [PDF, WAV])
def test_file_and_audio_are_refused_unless_opted_in(part: dict[str, Any]) -> None:
    with pytest.raises(CapabilityError, match="allow_undocumented_parts=True"):
        validate_messages(GEMINI, user(part))
    validate_messages(GEMINI, user(part), allow_undocumented_parts=True)


def test_audio_to_claude_is_refused_even_when_opted_in() -> None:
    with pytest.raises(CapabilityError, match="drops it silently"):
        validate_messages(CLAUDE, user(WAV), allow_undocumented_parts=True)
    validate_messages(CLAUDE, user(PDF), allow_undocumented_parts=True)


@pytest.mark.parametrize(
    ("part", "match"),
    [
        ({"type": "file", "file": {"filename": "a.pdf"}}, "file_data"),
        ({"type": "file", "file": {"file_data": "data:application/pdf,xx"}}, "malformed"),
        ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "flac"}}, "wav or mp3"),
        ({"type": "input_audio", "input_audio": {"data": "A", "format": "wav"}}, "base64"),
        ({"type": "file"}, "needs 'file'"),
    ],
)
def test_opted_in_parts_are_still_checked(part: dict[str, Any], match: str) -> None:
    with pytest.raises(GatewayInputError, match=match):
        validate_messages(GEMINI, user(part), allow_undocumented_parts=True)

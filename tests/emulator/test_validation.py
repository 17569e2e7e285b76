"""Request checks answered like the gateway: 400 with ``param``, 503 for unknown models."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from gw_core.catalog import all_ids
from gw_emulator import GatewayEmulator

from .support import ask

TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
VIDEO = "data:video/mp4;base64,AAAA"

# (case, model, extra request fields, messages or None for a plain question, param)
BAD_REQUESTS: list[tuple[str, str, dict[str, Any], list[dict[str, Any]] | None, str]] = [
    ("empty messages", "gpt-5.4", {}, [], "messages"),
    ("bad role", "gpt-5.4", {}, [{"role": "robot", "content": "hi"}], "messages[0].role"),
    ("temperature above 2", "gpt-5.4", {"temperature": 2.5}, None, "temperature"),
    ("temperature below 0", "gemini-2.5-pro", {"temperature": -0.1}, None, "temperature"),
    ("claude temperature above 1", "claude-sonnet-4-5", {"temperature": 1.5}, None, "temperature"),
    (
        "claude 4.5 temperature and top_p",
        "claude-haiku-4-5-hc",
        {"temperature": 0.5, "top_p": 0.9},
        None,
        "top_p",
    ),
    ("opus 4.7 temperature", "claude-opus-4-7", {"temperature": 0.5}, None, "temperature"),
    ("opus 4.7 top_p", "claude-opus-4-7-official", {"top_p": 0.5}, None, "top_p"),
    ("five stops", "gpt-5.5", {"stop": ["a", "b", "c", "d", "e"]}, None, "stop"),
    ("gpt max_tokens", "gpt-5.4-low", {"max_tokens": 10}, None, "max_tokens"),
    (
        "video data URI to claude",
        "claude-opus-4-6",
        {},
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": VIDEO}}]}],
        "messages[0].content",
    ),
    (
        "video_url to gpt",
        "gpt-5.4",
        {},
        [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": VIDEO}}]}],
        "messages[0].content",
    ),
    (
        "tool result without a call",
        "gpt-5.4",
        {},
        [
            {"role": "user", "content": "hi"},
            {"role": "tool", "tool_call_id": "nope", "content": "1"},
        ],
        "messages[1].tool_call_id",
    ),
    (
        "tool result for another call",
        "claude-sonnet-4-6",
        {},
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            {"role": "tool", "tool_call_id": "call_2", "content": "1"},
        ],
        "messages[2].tool_call_id",
    ),
]


@pytest.mark.parametrize(
    ("model", "extra", "messages", "param"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_request_is_400_naming_the_param(
    client: openai.OpenAI,
    emu: GatewayEmulator,
    model: str,
    extra: dict[str, Any],
    messages: Any,
    param: str,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=model, messages=ask("hi") if messages is None else messages, **extra
        )
    assert caught.value.status_code == 400
    assert caught.value.param == param
    assert emu.requests[-1].status == 400


def test_gpt_max_tokens_message_says_what_to_use(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Use 'max_completion_tokens' instead"):
        client.chat.completions.create(model="gpt-5.4", messages=ask("hi"), max_tokens=5)


def test_missing_model_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="", messages=ask("hi"))
    assert caught.value.param == "model"


def test_unknown_model_is_503_model_not_found_like_new_api(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="gpt-9-turbo", messages=ask("hi"))
    assert caught.value.status_code == 503
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "model_not_found"
    assert body["type"] == "new_api_error"
    assert "无可用渠道" in body["message"] and "gpt-9-turbo" in body["message"]


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("claude-opus-4-5", {"temperature": 1.0}),
        ("claude-opus-4-5", {"top_p": 0.3}),
        ("claude-haiku-4-5", {"max_tokens": 20}),  # only GPT rejects max_tokens
        ("gpt-5.4", {"temperature": 2.0, "top_p": 1.0, "stop": ["a", "b", "c", "d"]}),
        ("gemini-2.5-flash-lite", {"temperature": 0.0}),
    ],
)
def test_accepted_parameters_pass(client: openai.OpenAI, model: str, extra: dict[str, Any]) -> None:
    response = client.chat.completions.create(model=model, messages=ask("hello"), **extra)
    assert response.choices[0].message.content


def test_video_is_accepted_by_gemini_both_ways(client: openai.OpenAI) -> None:
    parts: list[Any] = [
        {"type": "text", "text": "What happens in this clip?"},
        {"type": "image_url", "image_url": {"url": VIDEO}},
    ]
    response = client.chat.completions.create(
        model="gemini-3.1-pro-preview", messages=[{"role": "user", "content": parts}]
    )
    assert "1 attachment" in (response.choices[0].message.content or "")


def test_every_catalog_id_is_served(client: openai.OpenAI, emu: GatewayEmulator) -> None:
    for model in all_ids():
        response = client.chat.completions.create(model=model, messages=ask("ping"))
        assert response.model == model
    assert [r.status for r in emu.requests] == [200] * len(all_ids())


def test_tool_result_matching_an_earlier_call_is_accepted(client: openai.OpenAI) -> None:
    messages: list[Any] = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "call f"},
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "forty-two"},
    ]
    response = client.chat.completions.create(model="gpt-5.4", messages=messages)
    assert "forty-two" in (response.choices[0].message.content or "")

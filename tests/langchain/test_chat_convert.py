"""Conversion between LangChain messages and the gateway's wire dicts (no network)."""

from __future__ import annotations

import base64
import json

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from gw_core.catalog import parse
from gw_core.errors import CapabilityError, GatewayInputError, PayloadTooLargeError
from gw_core.transport import Route
from gw_core.wire import (
    ChatResult,
    StreamAccumulator,
    ToolCall,
    Usage,
    build_body,
    validate_messages,
)
from langchain_gw._convert import (
    EXTRA_CONTENT_KEY,
    final_chunk,
    to_ai_message,
    to_chunk,
    to_wire_messages,
    usage_metadata,
)

GPT = parse("gpt-5.4")
CLAUDE = parse("claude-sonnet-4-6")
GEMINI = parse("gemini-3.1-pro-preview")
PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
MP4_B64 = base64.b64encode(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20).decode()
PDF_B64 = base64.b64encode(b"%PDF-1.4 hello").decode()


def _user_parts(blocks: list[object], spec=GPT) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    [wire] = to_wire_messages([HumanMessage(content=blocks)], spec)  # type: ignore[arg-type]
    parts = wire["content"]
    assert isinstance(parts, list)
    return parts


# -- content blocks ------------------------------------------------------------------------


def test_v1_image_blocks_become_image_url_parts() -> None:
    parts = _user_parts(
        [
            {"type": "text", "text": "look", "id": "lc_1", "annotations": []},
            {"type": "image", "url": "https://example.com/cat.png"},
            {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
            {"type": "image", "base64": PNG_B64, "extras": {"detail": "low"}},
        ]
    )
    assert parts[0] == {"type": "text", "text": "look"}  # LangChain-only keys dropped
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    assert parts[2]["image_url"] == {"url": f"data:image/png;base64,{PNG_B64}"}
    # No mime type: sniffed from the bytes; extras.detail carried through.
    assert parts[3]["image_url"] == {
        "url": f"data:image/png;base64,{PNG_B64}",
        "detail": "low",
    }


def test_v0_and_openai_and_anthropic_image_blocks() -> None:
    parts = _user_parts(
        [
            {"type": "image", "source_type": "base64", "data": PNG_B64, "mime_type": "image/png"},
            {"type": "image", "source_type": "url", "url": "https://example.com/a.jpg"},
            {"type": "image_url", "image_url": "https://example.com/b.jpg"},
            {"type": "image_url", "image_url": {"url": "https://example.com/c.jpg"}},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
            },
        ]
    )
    urls = [p["image_url"]["url"] for p in parts]  # type: ignore[index]
    assert urls == [
        f"data:image/png;base64,{PNG_B64}",
        "https://example.com/a.jpg",
        "https://example.com/b.jpg",
        "https://example.com/c.jpg",
        f"data:image/png;base64,{PNG_B64}",
    ]


def test_video_goes_to_gemini_as_a_data_uri_image_url_part() -> None:
    kept = _user_parts(
        [
            {"type": "video", "base64": MP4_B64, "mime_type": "video/mp4"},
            {"type": "video", "url": "https://example.com/clip.webm"},
            {"type": "file", "base64": MP4_B64, "mime_type": "video/mp4"},
        ],
        GEMINI,
    )
    assert [part["type"] for part in kept] == ["video", "video", "video"]  # kind kept
    wire = [{"role": "user", "content": kept}]
    validate_messages(GEMINI, wire)  # the core accepts it for Gemini
    parts = build_body(GEMINI, wire, {})["messages"][0]["content"]  # spelled for the wire
    assert parts[0] == {
        "type": "image_url",
        "image_url": {"url": f"data:video/mp4;base64,{MP4_B64}"},
    }
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.com/clip.webm"}}
    assert parts[2] == parts[0]  # a video "file" block is sent as video too


@pytest.mark.parametrize("spec", [GPT, CLAUDE], ids=["gpt", "claude"])
@pytest.mark.parametrize(
    "block",
    [
        {"type": "video", "base64": MP4_B64, "mime_type": "video/mp4"},
        {"type": "video", "url": "https://example.com/clip.mp4"},
        {"type": "file", "base64": MP4_B64, "mime_type": "video/mp4"},
    ],
    ids=["v1-base64", "v1-url", "file-block"],
)
def test_video_to_other_families_is_refused_naming_gemini(spec, block) -> None:  # type: ignore[no-untyped-def]
    wire = to_wire_messages([HumanMessage(content=[block])], spec)
    with pytest.raises(CapabilityError, match="Gemini") as caught:
        validate_messages(spec, wire)  # the one check, the same for both adapters
    assert isinstance(caught.value, ValueError)
    assert spec.id in str(caught.value)


def test_openai_format_video_parts_stay_recognisable_for_validation() -> None:
    part = {"type": "image_url", "image_url": {"url": f"data:video/mp4;base64,{MP4_B64}"}}
    wire = to_wire_messages([HumanMessage(content=[part])], CLAUDE)
    with pytest.raises(CapabilityError, match="video"):
        validate_messages(CLAUDE, wire)


def test_file_audio_and_plain_text_blocks() -> None:
    wav = base64.b64encode(b"RIFF0000WAVEfmt ").decode()
    parts = _user_parts(
        [
            {
                "type": "file",
                "base64": PDF_B64,
                "mime_type": "application/pdf",
                "filename": "r.pdf",
            },
            {"type": "file", "base64": PDF_B64, "mime_type": "application/pdf"},
            {"type": "audio", "base64": wav, "mime_type": "audio/wav"},
            {"type": "text-plain", "text": "notes", "mime_type": "text/plain"},
            {"type": "file", "base64": PNG_B64, "mime_type": "image/png"},
        ]
    )
    assert parts[0] == {
        "type": "file",
        "file": {"file_data": f"data:application/pdf;base64,{PDF_B64}", "filename": "r.pdf"},
    }
    assert parts[1]["file"]["filename"] == "document.pdf"  # type: ignore[index]
    assert parts[2] == {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}
    assert parts[3] == {"type": "text", "text": "notes"}
    assert parts[4]["type"] == "image_url"
    # The gateway does not document files or audio: refused unless the caller opts in.
    with pytest.raises(CapabilityError, match="allow_undocumented_parts"):
        validate_messages(GPT, [{"role": "user", "content": parts}])
    validate_messages(GPT, [{"role": "user", "content": parts}], allow_undocumented_parts=True)


@pytest.mark.parametrize(
    ("block", "match"),
    [
        ({"type": "image", "file_id": "file-1"}, "no file store"),
        ({"type": "file", "url": "https://example.com/a.pdf"}, "inline only"),
        ({"type": "audio", "url": "https://example.com/a.wav"}, "not a URL"),
        ({"type": "video", "base64": MP4_B64}, "mime_type"),
        ({"type": "image", "url": "ftp://example.com/a.png"}, "http"),
        ({"type": "image", "base64": "not base64!"}, "base64"),
    ],
)
def test_bad_blocks_fail_before_any_request_saying_what_to_change(block, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GatewayInputError, match=match):
        to_wire_messages([HumanMessage(content=[block])], GEMINI)


def test_oversize_inline_image_is_refused() -> None:
    huge = "A" * (21 * 1024 * 1024 * 4 // 3)
    with pytest.raises(PayloadTooLargeError):
        to_wire_messages([HumanMessage(content=[{"type": "image", "base64": huge}])], GPT)


def test_unknown_blocks_are_left_for_validation_to_refuse_clearly() -> None:
    wire = to_wire_messages([HumanMessage(content=[{"type": "hologram", "x": 1}])], GPT)
    with pytest.raises(GatewayInputError, match="unknown content part type 'hologram'"):
        validate_messages(GPT, wire)


# -- messages ----------------------------------------------------------------------------


def test_roles_names_and_system_messages() -> None:
    wire = to_wire_messages(
        [
            SystemMessage("be brief"),
            HumanMessage("hi", name="ann"),
            AIMessage("hello"),
            ChatMessage(role="developer", content="dev note"),
        ],
        GPT,
    )
    assert wire == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi", "name": "ann"},
        {"role": "assistant", "content": "hello"},
        {"role": "developer", "content": "dev note"},
    ]


def test_legacy_function_messages_are_refused() -> None:
    with pytest.raises(GatewayInputError, match="ToolMessage"):
        to_wire_messages([FunctionMessage(content="x", name="f")], GPT)


def test_assistant_list_content_keeps_text_and_sends_tool_calls_from_tool_calls() -> None:
    ai = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "hmm"},
            {"type": "text", "text": "some "},
            {"type": "text", "text": "text"},
            {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1}},
        ],
        tool_calls=[{"name": "add", "args": {"a": 1, "b": "日本"}, "id": "t1"}],
    )
    [wire] = to_wire_messages([ai], GPT)
    assert wire["content"] == "some text"
    [call] = wire["tool_calls"]
    assert call["id"] == "t1" and call["type"] == "function"
    assert json.loads(call["function"]["arguments"]) == {"a": 1, "b": "日本"}
    assert "日本" in call["function"]["arguments"]  # not \\u-escaped
    assert "extra_content" not in call


def test_tool_turn_without_text_sends_null_content_and_signatures() -> None:
    signature = {"google": {"thought_signature": "c2ln"}}
    ai = AIMessage(
        content="",
        tool_calls=[
            {"name": "f", "args": {}, "id": "a"},
            {"name": "g", "args": {}, "id": "b"},
        ],
        additional_kwargs={EXTRA_CONTENT_KEY: {"a": signature}},
    )
    [wire] = to_wire_messages([ai], GEMINI)
    assert wire["content"] is None
    assert wire["tool_calls"][0]["extra_content"] == signature
    assert "extra_content" not in wire["tool_calls"][1]


def test_invalid_tool_calls_are_sent_back_as_written() -> None:
    ai = AIMessage(
        content="",
        invalid_tool_calls=[{"name": "f", "args": "{oops", "id": "x", "error": "bad"}],
    )
    tool = ToolMessage("Error: bad arguments", tool_call_id="x")
    wire = to_wire_messages([HumanMessage("q"), ai, tool], GPT)
    assert wire[1]["tool_calls"][0]["function"] == {"name": "f", "arguments": "{oops"}
    validate_messages(GPT, wire)


def test_tool_results_with_images_go_in_one_user_message_after_the_tool_run() -> None:
    ai = AIMessage(
        content="",
        tool_calls=[
            {"name": "shot", "args": {}, "id": "1"},
            {"name": "log", "args": {}, "id": "2"},
        ],
    )
    image = {"type": "image", "base64": PNG_B64, "mime_type": "image/png"}
    messages = [
        HumanMessage("show me"),
        ai,
        ToolMessage(content=[{"type": "text", "text": "a screenshot"}, image], tool_call_id="1"),
        ToolMessage(
            content=[{"type": "text", "text": "ok"}, {"k": "v", "type": "json"}], tool_call_id="2"
        ),
        HumanMessage("thanks"),
    ]
    wire = to_wire_messages(messages, CLAUDE)
    assert [m["role"] for m in wire] == ["user", "assistant", "tool", "tool", "user", "user"]
    assert wire[2]["content"].startswith("a screenshot\n[1 attachment")
    assert wire[3]["content"] == 'ok\n{"k": "v", "type": "json"}'
    attachments = wire[4]["content"]
    assert attachments[0] == {"type": "text", "text": "Attachments returned by tool call 1:"}
    assert attachments[1]["image_url"]["url"].startswith("data:image/png;base64,")
    validate_messages(CLAUDE, wire)


def test_image_only_tool_result_at_the_end_of_the_history() -> None:
    ai = AIMessage(content=[], tool_calls=[{"name": "shot", "args": {}, "id": "1"}])
    part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}
    wire = to_wire_messages(
        [HumanMessage("q"), ai, ToolMessage(content=[part], tool_call_id="1")], GPT
    )
    assert wire[2] == {
        "role": "tool",
        "tool_call_id": "1",
        "content": "[1 attachment(s) from this tool follow in the next message]",
    }
    assert wire[3]["role"] == "user" and wire[3]["content"][1] == part


# -- results -----------------------------------------------------------------------------


def _result(**kwargs: object) -> ChatResult:
    base: dict[str, object] = {
        "content": "",
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": Usage(10, 5, 15),
        "id": "chatcmpl-1",
        "model": "gpt-5.4",
    }
    base.update(kwargs)
    return ChatResult(**base)  # type: ignore[arg-type]


ROUTE = Route("gpt-5.4-official", "official", 2)


def test_usage_metadata_details_only_when_reported() -> None:
    assert usage_metadata(None) is None
    assert usage_metadata(Usage(10, 5, 15)) == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
    }
    assert usage_metadata(Usage(10, 5, 15, cached_tokens=4, reasoning_tokens=2)) == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "input_token_details": {"cache_read": 4},
        "output_token_details": {"reasoning": 2},
    }


def test_ai_message_metadata_reasoning_and_invalid_tool_calls() -> None:
    result = _result(
        content="hi",
        reasoning="thinking...",
        refusal=None,
        system_fingerprint="fp_1",
        finish_reason="tool_calls",
        tool_calls=[
            ToolCall("c1", "good", '{"a": 1}', {"google": {"thought_signature": "s"}}),
            ToolCall("c2", "bad", '{"a": ', None),
            ToolCall("c3", "empty", "", None),
        ],
    )
    message = to_ai_message(result, ROUTE)
    assert message.content == "hi"
    assert message.id == "chatcmpl-1"
    assert message.tool_calls == [
        {"name": "good", "args": {"a": 1}, "id": "c1", "type": "tool_call"},
        {"name": "empty", "args": {}, "id": "c3", "type": "tool_call"},
    ]
    [bad] = message.invalid_tool_calls
    assert (
        bad["name"] == "bad" and bad["args"] == '{"a": ' and "not valid JSON" in str(bad["error"])
    )
    assert message.additional_kwargs == {
        "reasoning_content": "thinking...",
        EXTRA_CONTENT_KEY: {"c1": {"google": {"thought_signature": "s"}}},
    }
    assert message.response_metadata == {
        "model_provider": "gw",
        "model_name": "gpt-5.4",
        "id": "chatcmpl-1",
        "finish_reason": "tool_calls",
        "pool": "official",
        "attempts": 2,
        "system_fingerprint": "fp_1",
    }
    # Core turns the kept reasoning into a standard reasoning block.
    assert message.content_blocks[0] == {"type": "reasoning", "reasoning": "thinking..."}


def _stream_of(chunks: list[dict[str, object]]) -> tuple[AIMessageChunk, list[AIMessageChunk]]:
    acc = StreamAccumulator(model="gemini-3.1-pro-preview")
    ids: dict[int, str | None] = {}
    messages = []
    for raw in chunks:
        delta = acc.add(raw)
        if delta is not None and (message := to_chunk(delta, ids)) is not None:
            messages.append(message)
    messages.append(final_chunk(acc.result(), Route("gemini-3.1-pro-preview", "standard", 1), ids))
    total = messages[0]
    for message in messages[1:]:
        total = total + message
    return total, messages


def _chunk(
    delta: dict[str, object], finish: str | None = None, usage: object = None
) -> dict[str, object]:
    return {
        "id": "r1",
        "model": "gemini-3.1-pro-preview",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }


def test_gemini_stream_sums_to_one_usage_and_keeps_signatures() -> None:
    usage = {"prompt_tokens": 20, "completion_tokens": 4, "total_tokens": 24}
    signature = {"google": {"thought_signature": "sig=="}}
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    total, chunks = _stream_of(
        [
            _chunk({"role": "assistant", "reasoning_content": "let me "}, usage=usage),
            _chunk({"role": "assistant", "reasoning_content": "see"}, usage=usage),
            _chunk({"role": "assistant", "content": "Calling."}, usage=usage),
            _chunk(
                {"role": "assistant", "tool_calls": [{**call, "extra_content": signature}]},
                "stop",
                usage,
            ),
        ]
    )
    # Cumulative usage on every chunk: the aggregate must count it once, not four times.
    assert total.usage_metadata == {"input_tokens": 20, "output_tokens": 4, "total_tokens": 24}
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert total.content == "Calling."
    assert total.additional_kwargs["reasoning_content"] == "let me see"
    assert total.additional_kwargs[EXTRA_CONTENT_KEY] == {"c1": signature}
    assert total.tool_calls == [{"name": "f", "args": {"x": 1}, "id": "c1", "type": "tool_call"}]
    assert total.response_metadata["finish_reason"] == "tool_calls"  # "stop" on a tool turn
    assert chunks[-1].chunk_position == "last"
    # And the message goes back with its signature.
    [wire] = to_wire_messages([AIMessage(**total.model_dump(exclude={"type"}))], GEMINI)
    assert wire["tool_calls"][0]["extra_content"] == signature


def test_index_less_fragments_merge_and_missing_ids_are_filled_at_the_end() -> None:
    total, chunks = _stream_of(
        [
            _chunk({"tool_calls": [{"function": {"name": "a", "arguments": '{"q": '}}]}),
            _chunk({"tool_calls": [{"function": {"arguments": '"x"}'}}]}),
            _chunk({"tool_calls": [{"function": {"name": "b", "arguments": "{}"}}]}),
            _chunk({}, "stop"),
        ]
    )
    assert [c.get("index") for c in chunks[0].tool_call_chunks] == [0]
    assert [(c["name"], c["args"]) for c in total.tool_calls] == [("a", {"q": "x"}), ("b", {})]
    ids = [c["id"] for c in total.tool_calls]
    assert all(isinstance(i, str) and i.startswith("call_") for i in ids)
    assert len(set(ids)) == 2


def test_streamed_bad_json_becomes_an_invalid_tool_call() -> None:
    total, _ = _stream_of(
        [
            _chunk(
                {
                    "tool_calls": [
                        {"index": 0, "id": "c", "function": {"name": "f", "arguments": "[1,"}}
                    ]
                }
            ),
            _chunk({}, "tool_calls"),
        ]
    )
    assert total.tool_calls == []
    assert total.invalid_tool_calls[0]["name"] == "f"

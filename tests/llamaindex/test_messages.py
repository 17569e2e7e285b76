"""ChatMessage/blocks -> wire dicts: every block type, every role, no network."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    CitableBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)

from gw_core.catalog import parse
from gw_core.errors import CapabilityError, GatewayInputError
from gw_core.wire import build_body, validate_messages
from llamaindex_gw._messages import to_wire_messages, wire_tool_calls

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20
GPT = parse("gpt-5.4")
CLAUDE = parse("claude-sonnet-4-6")
GEMINI = parse("gemini-2.5-pro")


def user(*blocks: object) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, blocks=list(blocks))


def test_text_blocks_are_joined_with_a_separator_not_glued() -> None:
    wire = to_wire_messages([user(TextBlock(text="alpha"), TextBlock(text="beta"))], GPT)
    assert wire == [{"role": "user", "content": "alpha\nbeta"}]


def test_empty_text_blocks_add_no_blank_lines() -> None:
    msg = user(TextBlock(text="a"), TextBlock(text=""), TextBlock(text="b"))
    assert to_wire_messages([msg], GPT)[0]["content"] == "a\nb"


def test_text_beside_an_image_stays_separate_parts_in_order() -> None:
    msg = user(TextBlock(text="look:"), ImageBlock(url="https://example.com/cat.png"))
    (wire,) = to_wire_messages([msg], GPT)
    assert wire["content"] == [
        {"type": "text", "text": "look:"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]


def test_image_bytes_become_a_data_uri_with_the_sniffed_type() -> None:
    (wire,) = to_wire_messages([user(ImageBlock(image=PNG))], GPT)
    url = wire["content"][0]["image_url"]["url"]
    assert url == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_image_base64_text_is_not_encoded_twice() -> None:
    encoded = base64.b64encode(PNG)
    (wire,) = to_wire_messages([user(ImageBlock(image=encoded, image_mimetype="image/png"))], GPT)
    assert wire["content"][0]["image_url"]["url"].endswith(encoded.decode())


def test_image_from_a_stream_and_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(PNG)
    by_stream = to_wire_messages([user(ImageBlock(image=io.BytesIO(PNG)))], GPT)
    by_path = to_wire_messages([user(ImageBlock(path=path))], GPT)
    expected = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert by_stream[0]["content"][0]["image_url"]["url"] == expected
    assert by_path[0]["content"][0]["image_url"]["url"] == expected


def test_image_detail_is_passed_through() -> None:
    (wire,) = to_wire_messages(
        [user(ImageBlock(url="https://example.com/a.jpg", detail="low"))], GPT
    )
    assert wire["content"][0]["image_url"]["detail"] == "low"


def test_missing_image_file_is_a_clear_value_error(tmp_path: Path) -> None:
    block = ImageBlock(url="https://example.com/x.png")
    block.url, block.path = None, tmp_path / "missing.png"
    with pytest.raises(ValueError, match=r"could not read the image file .*missing\.png"):
        to_wire_messages([user(block)], GPT)


def test_video_goes_to_gemini_as_a_data_uri() -> None:
    (wire,) = to_wire_messages([user(VideoBlock(video=MP4, video_mimetype="video/mp4"))], GEMINI)
    assert wire["content"][0]["type"] == "video"  # the kind is kept until the body
    validate_messages(GEMINI, [wire])
    part = build_body(GEMINI, [wire], {})["messages"][0]["content"][0]
    assert part["type"] == "image_url"
    assert part["image_url"]["url"].startswith("data:video/mp4;base64,")


def test_video_url_goes_to_gemini_as_is() -> None:
    (wire,) = to_wire_messages([user(VideoBlock(url="https://example.com/clip.mp4"))], GEMINI)
    part = build_body(GEMINI, [wire], {})["messages"][0]["content"][0]
    assert part == {"type": "image_url", "image_url": {"url": "https://example.com/clip.mp4"}}


@pytest.mark.parametrize("model", ["gpt-5.5", "claude-opus-4-7", "some-new-model"])
def test_video_to_a_non_gemini_model_is_a_value_error(model: str) -> None:
    block = VideoBlock(video=MP4, video_mimetype="video/mp4")
    wire = to_wire_messages([user(TextBlock(text="what happens?"), block)], parse(model))
    with pytest.raises(CapabilityError, match="Gemini models only") as info:
        validate_messages(parse(model), wire)
    assert isinstance(info.value, ValueError)


def test_video_without_a_known_type_asks_for_one() -> None:
    with pytest.raises(GatewayInputError, match="video_mimetype"):
        to_wire_messages([user(VideoBlock(video=b"\x01\x02\x03\x04"))], GEMINI)


def test_text_document_becomes_text_with_its_title() -> None:
    doc = DocumentBlock(data=b"Line one.\nLine two.", document_mimetype="text/plain", title="notes")
    (wire,) = to_wire_messages([user(TextBlock(text="Summarize:"), doc)], CLAUDE)
    assert wire["content"] == "Summarize:\nnotes:\nLine one.\nLine two."


def test_pdf_document_is_refused_unless_opted_in() -> None:
    doc = DocumentBlock(data=b"%PDF-1.4 fake", document_mimetype="application/pdf", title="r")
    wire = to_wire_messages([user(doc)], GPT)
    assert wire[0]["content"][0]["type"] == "file"
    assert wire[0]["content"][0]["file"]["filename"] == "r.pdf"
    with pytest.raises(CapabilityError, match="allow_undocumented_parts=True"):
        validate_messages(GPT, wire)
    validate_messages(GPT, wire, allow_undocumented_parts=True)


def test_audio_is_sent_only_where_the_contract_allows() -> None:
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 16
    wire = to_wire_messages([user(AudioBlock(audio=wav, format="wav"))], GEMINI)
    part = wire[0]["content"][0]
    assert part == {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"},
    }
    with pytest.raises(CapabilityError):
        validate_messages(GEMINI, wire)
    validate_messages(GEMINI, wire, allow_undocumented_parts=True)
    claude = to_wire_messages([user(AudioBlock(audio=wav, format="wav"))], CLAUDE)
    with pytest.raises(CapabilityError, match="cannot take audio"):
        validate_messages(CLAUDE, claude, allow_undocumented_parts=True)


def test_audio_needs_a_known_format() -> None:
    with pytest.raises(GatewayInputError, match="'wav' or 'mp3'"):
        to_wire_messages([user(AudioBlock(audio=b"abc", format="ogg"))], GEMINI)


def test_thinking_and_cache_points_are_not_sent() -> None:
    msg = user(
        TextBlock(text="question"),
        CachePoint(cache_control=CacheControl(type="ephemeral")),
        ThinkingBlock(content="hmm"),
    )
    assert to_wire_messages([msg], CLAUDE) == [{"role": "user", "content": "question"}]


def test_citable_blocks_send_their_content() -> None:
    cite = CitableBlock(title="doc", source="s1", content=[TextBlock(text="Fact.")])
    (wire,) = to_wire_messages([user(TextBlock(text="Q?"), cite)], GPT)
    assert wire["content"] == "Q?\nFact."


def test_system_and_developer_are_system_text() -> None:
    wire = to_wire_messages(
        [
            ChatMessage(role=MessageRole.SYSTEM, blocks=[TextBlock(text="a"), TextBlock(text="b")]),
            ChatMessage(role=MessageRole.DEVELOPER, content="c"),
            ChatMessage(role=MessageRole.USER, content="hi"),
        ],
        CLAUDE,
    )
    assert wire[:2] == [{"role": "system", "content": "a\nb"}, {"role": "system", "content": "c"}]


def test_system_message_with_an_image_is_refused() -> None:
    msg = ChatMessage(role=MessageRole.SYSTEM, blocks=[ImageBlock(url="https://e.com/a.png")])
    with pytest.raises(GatewayInputError, match="take text only"):
        to_wire_messages([msg], GPT)


def test_function_role_is_refused_with_the_roles_to_use() -> None:
    with pytest.raises(GatewayInputError, match="system, user, assistant or tool"):
        to_wire_messages([ChatMessage(role=MessageRole.FUNCTION, content="x")], GPT)


def test_chatbot_and_model_roles_are_assistant() -> None:
    wire = to_wire_messages(
        [
            ChatMessage(role=MessageRole.CHATBOT, content="one"),
            ChatMessage(role=MessageRole.MODEL, content="two"),
        ],
        GPT,
    )
    assert [m["role"] for m in wire] == ["assistant", "assistant"]


def test_empty_assistant_turn_is_dropped() -> None:
    wire = to_wire_messages(
        [
            ChatMessage(role=MessageRole.USER, content="hi"),
            ChatMessage(role=MessageRole.ASSISTANT, content=""),
            ChatMessage(role=MessageRole.USER, content="again"),
        ],
        CLAUDE,
    )
    assert [m["role"] for m in wire] == ["user", "user"]


def _assistant_with_calls(signature: str | None = None) -> ChatMessage:
    wire_call: dict[str, object] = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    if signature:
        wire_call["extra_content"] = {"google": {"thought_signature": signature}}
    return ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[
            TextBlock(text=""),
            ToolCallBlock(
                tool_call_id="call_1", tool_name="get_weather", tool_kwargs={"city": "Paris"}
            ),
        ],
        additional_kwargs={"tool_calls": [wire_call]},
    )


def test_assistant_tool_calls_and_tool_results() -> None:
    history = [
        ChatMessage(role=MessageRole.USER, content="weather in Paris?"),
        _assistant_with_calls(),
        ChatMessage(
            role=MessageRole.TOOL,
            blocks=[TextBlock(text="sunny"), TextBlock(text="22C")],
            additional_kwargs={"tool_call_id": "call_1"},
        ),
    ]
    wire = to_wire_messages(history, GPT)
    assert wire[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert wire[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny\n22C"}
    validate_messages(GPT, wire)


def test_thought_signature_is_echoed_with_the_block_it_belongs_to() -> None:
    calls = wire_tool_calls(_assistant_with_calls("sig=="))
    assert calls[0]["extra_content"] == {"google": {"thought_signature": "sig=="}}


def test_edited_tool_call_block_wins_over_the_kept_wire_dict() -> None:
    message = _assistant_with_calls()
    message.blocks[1] = ToolCallBlock(
        tool_call_id="call_1", tool_name="get_weather", tool_kwargs={"city": "Rome"}
    )
    (call,) = wire_tool_calls(message)
    assert json.loads(call["function"]["arguments"]) == {"city": "Rome"}


def test_tool_calls_only_in_additional_kwargs_still_go_out() -> None:
    message = _assistant_with_calls("s")
    message.blocks = []
    (call,) = wire_tool_calls(message)
    assert call["id"] == "call_1" and call["extra_content"]


def test_tool_message_without_a_call_id_says_where_to_put_it() -> None:
    with pytest.raises(GatewayInputError, match=r"additional_kwargs\['tool_call_id'\]"):
        to_wire_messages([ChatMessage(role=MessageRole.TOOL, content="out")], GPT)


def test_empty_tool_output_is_still_a_result() -> None:
    msg = ChatMessage(role=MessageRole.TOOL, content="", additional_kwargs={"tool_call_id": "c"})
    assert to_wire_messages([msg], GPT)[0]["content"] == "(no output)"


def test_tool_call_block_in_a_user_message_is_refused() -> None:
    block = ToolCallBlock(tool_call_id="c", tool_name="t", tool_kwargs={})
    with pytest.raises(GatewayInputError, match="belongs in an assistant message"):
        to_wire_messages([user(block)], GPT)

"""Both adapters give the same answer for the same input (the core decides, once)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, VideoBlock

from gw_core.errors import CapabilityError
from gw_emulator import GatewayEmulator, ScriptedReply
from langchain_gw import ChatGateway
from llamaindex_gw import GatewayLLM

ROOT = Path(__file__).resolve().parent.parent
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20
VIDEOS = {
    "inline": (
        {"type": "video", "base64": base64.b64encode(MP4).decode(), "mime_type": "video/mp4"},
        VideoBlock(video=MP4, video_mimetype="video/mp4"),
    ),
    "url-without-a-video-suffix": (
        {"type": "video", "url": "https://example.com/watch?v=42", "mime_type": "video/mp4"},
        VideoBlock(url="https://example.com/watch?v=42", video_mimetype="video/mp4"),
    ),
}


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gpt-5.4"])
@pytest.mark.parametrize("video", list(VIDEOS), ids=list(VIDEOS))
def test_video_to_a_non_gemini_model_is_the_same_error_before_any_request(
    model: str, video: str, gateway_emulator: GatewayEmulator
) -> None:
    lc_block, li_block = VIDEOS[video]
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    with pytest.raises(CapabilityError) as from_langchain:
        ChatGateway(model=model, **where).invoke(
            [HumanMessage(content=[{"type": "text", "text": "what happens?"}, lc_block])]
        )
    message = ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="what happens?"), li_block])
    with pytest.raises(CapabilityError) as from_llamaindex:
        GatewayLLM(model=model, **where).chat([message])
    assert type(from_langchain.value) is type(from_llamaindex.value)
    assert str(from_langchain.value) == str(from_llamaindex.value)
    assert f"{model} cannot take video" in str(from_langchain.value)
    assert gateway_emulator.requests == []


def test_both_adapters_report_usage_in_the_cores_one_spelling(
    gateway_emulator: GatewayEmulator,
) -> None:
    usage = {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    where = {"api_key": gateway_emulator.api_key, "base_url": gateway_emulator.base_url}
    gateway_emulator.script(ScriptedReply(content="ok", usage=usage))
    gateway_emulator.script(ScriptedReply(content="ok", usage=usage))
    result = ChatGateway(model="gpt-5.4", **where).generate([[HumanMessage(content="hi")]])
    response = GatewayLLM(model="gpt-5.4", **where).chat(
        [ChatMessage(role=MessageRole.USER, content="hi")]
    )
    assert result.llm_output is not None
    assert result.llm_output["token_usage"] == usage
    assert isinstance(response.raw, dict)
    assert response.raw["usage"] == usage


def test_no_adapter_module_assembles_streams_or_spells_usage_itself() -> None:
    """Stream assembly and usage dicts live in gw_core.wire, once."""
    for package in ("langchain_gw", "llamaindex_gw"):
        for path in (ROOT / package).glob("*.py"):
            source = path.read_text()
            for core_only in ('"prompt_tokens"', "new_tool_call_id", "merge_extra_content"):
                assert core_only not in source, (path.name, core_only)

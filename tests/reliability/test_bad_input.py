"""Bad input is refused before any request, with a ValueError that says what to change.

Each case runs through both adapters on all four call paths. The emulator's request log
must stay empty: "refused locally" is a claim about the wire.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ChatMessage, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage as LIMessage
from llama_index.core.base.llms.types import ImageBlock, MessageRole, TextBlock, VideoBlock

import gw_core
from gw_core.wire.content import MAX_INLINE_IMAGE_BYTES
from gw_emulator import GatewayEmulator
from tests.reliability.conftest import Record
from tests.reliability.drivers import (
    ADAPTERS,
    PACKAGES,
    PATHS,
    Adapter,
    Path,
    build,
    call_name,
    run,
)

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20


@functools.cache
def _oversize_b64() -> str:
    """A PNG-looking payload 1 MiB over the inline limit, as base64 (built once)."""
    raw = b"\x89PNG\r\n\x1a\n" + bytes(MAX_INLINE_IMAGE_BYTES + 1024 * 1024)
    return base64.b64encode(raw).decode()


def _lc_media(kind: str, data: str, mime: str) -> list[Any]:
    return [
        HumanMessage(
            content=[
                {"type": "text", "text": "What is in this attachment?"},
                {"type": kind, "base64": data, "mime_type": mime},
            ]
        )
    ]


def _li_media(block: Any) -> list[Any]:
    return [
        LIMessage(
            role=MessageRole.USER,
            blocks=[TextBlock(text="What is in this attachment?"), block],
        )
    ]


@functools.cache
def _li_oversize(kind: str) -> list[Any]:
    """The LlamaIndex message with an oversize block, built once (building one copies and
    checks 28 MB of base64, most of a second); calls do not change it."""
    data = _oversize_b64().encode()
    if kind == "image":
        return _li_media(ImageBlock(image=data, image_mimetype="image/png"))
    return _li_media(VideoBlock(video=data, video_mimetype="video/mp4"))


def _li_user(text: str = "Hello?") -> LIMessage:
    return LIMessage(role=MessageRole.USER, content=text)


@dataclass(frozen=True)
class BadCase:
    id: str
    title: str
    langchain: Callable[[], list[Any]]
    llamaindex: Callable[[], list[Any]]
    error: str
    #: Words the message must hold: what is wrong and what to change.
    says: tuple[str, ...]
    model: str = "gpt-5.4"
    options: dict[str, Any] = field(default_factory=dict)


def _hello_lc() -> list[Any]:
    return [HumanMessage("Hello?")]


def _hello_li() -> list[Any]:
    return [_li_user()]


BAD_CASES: tuple[BadCase, ...] = (
    BadCase(
        "empty-messages",
        "no messages at all",
        list,
        list,
        "GatewayInputError",
        ("non-empty",),
    ),
    BadCase(
        "bad-role",
        "a role the gateway does not take (`wizard`; LlamaIndex `function`)",
        lambda: [ChatMessage(role="wizard", content="Hello?")],
        lambda: [LIMessage(role=MessageRole.FUNCTION, content="42")],
        "GatewayInputError",
        ("role", "user"),
    ),
    BadCase(
        "orphan-tool-result",
        "a tool result that answers no earlier tool call",
        lambda: [HumanMessage("Weather?"), ToolMessage("sunny", tool_call_id="call_nowhere")],
        lambda: [
            _li_user("Weather?"),
            LIMessage(
                role=MessageRole.TOOL,
                content="sunny",
                additional_kwargs={"tool_call_id": "call_nowhere"},
            ),
        ],
        "GatewayInputError",
        ("call_nowhere", "tool call"),
    ),
    BadCase(
        "orphan-tool-result-after-ai",
        "a tool result whose id is not among the assistant's calls",
        lambda: [
            HumanMessage("Weather?"),
            AIMessage("", tool_calls=[{"name": "weather", "args": {}, "id": "call_a"}]),
            ToolMessage("sunny", tool_call_id="call_b"),
        ],
        lambda: [
            _li_user("Weather?"),
            LIMessage(
                role=MessageRole.ASSISTANT,
                content="",
                additional_kwargs={
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "weather", "arguments": "{}"},
                        }
                    ]
                },
            ),
            LIMessage(
                role=MessageRole.TOOL,
                content="sunny",
                additional_kwargs={"tool_call_id": "call_b"},
            ),
        ],
        "GatewayInputError",
        ("call_b", "tool call"),
    ),
    BadCase(
        "video-to-gpt",
        "a video for a non-Gemini model",
        lambda: _lc_media("video", base64.b64encode(MP4).decode(), "video/mp4"),
        lambda: _li_media(VideoBlock(video=MP4, video_mimetype="video/mp4")),
        "CapabilityError",
        ("video", "Gemini"),
    ),
    BadCase(
        "video-to-claude",
        "a video for Claude",
        lambda: _lc_media("video", base64.b64encode(MP4).decode(), "video/mp4"),
        lambda: _li_media(VideoBlock(video=MP4, video_mimetype="video/mp4")),
        "CapabilityError",
        ("video", "Gemini"),
        model="claude-sonnet-4-6",
    ),
    BadCase(
        "oversize-image",
        "an inline image over 20 MiB",
        lambda: _lc_media("image", _oversize_b64(), "image/png"),
        lambda: _li_oversize("image"),
        "PayloadTooLargeError",
        ("20 MiB", "URL"),
    ),
    BadCase(
        "oversize-video",
        "an inline video over 20 MiB (to Gemini)",
        lambda: _lc_media("video", _oversize_b64(), "video/mp4"),
        lambda: _li_oversize("video"),
        "PayloadTooLargeError",
        ("20 MiB", "URL"),
        model="gemini-2.5-pro",
    ),
    BadCase(
        "temperature-out-of-range",
        "`temperature=3` (the range is 0 to 2)",
        _hello_lc,
        _hello_li,
        "ParameterError",
        ("temperature", "2"),
        options={"temperature": 3.0},
    ),
    BadCase(
        "negative-temperature",
        "`temperature=-0.5`",
        _hello_lc,
        _hello_li,
        "ParameterError",
        ("temperature", "0"),
        options={"temperature": -0.5},
    ),
    BadCase(
        "too-many-stops",
        "five stop sequences (at most 4)",
        _hello_lc,
        _hello_li,
        "ParameterError",
        ("stop", "4"),
        options={"stop": ["a", "b", "c", "d", "e"]},
    ),
    BadCase(
        "claude-temperature-over-1",
        "Claude with `temperature=1.5` (Claude takes 0 to 1)",
        _hello_lc,
        _hello_li,
        "ParameterError",
        ("temperature", "0 to 1", "check_model_rules"),
        model="claude-sonnet-4-6",
        options={"temperature": 1.5},
    ),
    BadCase(
        "opus-4-7-temperature",
        "Claude Opus 4.7 with any `temperature`",
        _hello_lc,
        _hello_li,
        "ParameterError",
        ("temperature", "remove it", "check_model_rules"),
        model="claude-opus-4-7",
        options={"temperature": 0.5},
    ),
    BadCase(
        "claude-temperature-and-top-p",
        "Claude 4.5+ with both `temperature` and `top_p`",
        _hello_lc,
        _hello_li,
        "ParameterError",
        ("temperature", "top_p", "only one"),
        model="claude-sonnet-4-6",
        options={"temperature": 0.5, "top_p": 0.9},
    ),
)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("case", BAD_CASES, ids=[c.id for c in BAD_CASES])
async def test_bad_input(
    case: BadCase,
    adapter: Adapter,
    path: Path,
    emu: GatewayEmulator,
    record: Record,
    close_async_clients: None,
) -> None:
    """Refused before any request with a ValueError that says what to change."""
    messages = case.langchain() if adapter == "langchain" else case.llamaindex()
    error: BaseException | None
    try:
        llm = build(adapter, emu, case.model, **case.options)
    except Exception as exc:  # refusing at construction is as good as at the call
        error = exc
    else:
        error = (await run(adapter, llm, path, messages)).error
    record(
        kind="bad-input",
        order=BAD_CASES.index(case),
        case=case.id,
        title=case.title,
        adapter=adapter,
        path=path,
        call=call_name(adapter, path),
        requests=emu.request_count,
        statuses=[],
        waits=[],
        outcome=type(error).__name__ if error is not None else "sent",
        message=str(error) if error is not None else "",
    )
    assert emu.request_count == 0, [r.body for r in emu.requests]
    error_class = getattr(PACKAGES[adapter], case.error)
    assert issubclass(error_class, getattr(gw_core, case.error))
    assert type(error) is error_class, repr(error)
    assert isinstance(error, ValueError)
    for word in case.says:
        assert word in str(error), str(error)


def test_the_escape_hatch_sends_what_the_rules_refuse(emu: GatewayEmulator) -> None:
    """`check_model_rules=False` sends what the rules refuse: the upstream answers 400."""
    for adapter in ADAPTERS:
        package = PACKAGES[adapter]
        for check, expected in ((True, package.ParameterError), (False, package.BadRequestError)):
            emu.clear_log()
            llm = build(
                adapter,
                emu,
                "claude-sonnet-4-6",
                temperature=0.7,
                top_p=0.9,
                check_model_rules=check,
                max_retries=0,
            )
            with pytest.raises(expected, match="only one"):
                if adapter == "langchain":
                    llm.invoke("Hello?")
                else:
                    llm.complete("Hello?")
            sent = [r.body for r in emu.requests]
            if check:
                assert sent == []
            else:
                assert [(b["temperature"], b["top_p"]) for b in sent] == [(0.7, 0.9)]

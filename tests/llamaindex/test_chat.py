"""chat/complete/stream_* and async twins against the emulator: bodies, usage, events."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler

from gw_core.errors import AuthenticationError, BadRequestError, CapabilityError, ParameterError
from gw_emulator import GatewayEmulator, ScriptedReply

from .conftest import EventLog, MakeLLM, chat_requests, last_body

FAMILIES = ["gpt-5.4", "claude-sonnet-4-6", "gemini-3-flash-preview"]
CONTEXT = (
    "The Eiffel Tower is in Paris. It was finished in 1889. "
    "Bananas are rich in potassium. The Moon orbits the Earth."
)
QUESTION = "When was the Eiffel Tower finished?"


def rag_messages() -> list[ChatMessage]:
    return [
        ChatMessage(role=MessageRole.SYSTEM, content=CONTEXT),
        ChatMessage(role=MessageRole.USER, content=QUESTION),
    ]


@pytest.mark.parametrize("model", FAMILIES)
def test_chat_answers_from_context_with_usage_and_route(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    response = make_llm(model).chat(rag_messages())
    assert "1889" in (response.message.content or "")
    extra = response.additional_kwargs
    assert extra["prompt_tokens"] > 0 and extra["completion_tokens"] > 0
    assert extra["total_tokens"] == extra["prompt_tokens"] + extra["completion_tokens"]
    assert (extra["model"], extra["pool"], extra["attempts"]) == (model, "standard", 1)
    assert response.raw["usage"]["total_tokens"] == extra["total_tokens"]
    assert len(chat_requests(gateway_emulator)) == 1


@pytest.mark.parametrize("model", FAMILIES)
def test_nothing_unset_is_sent(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    llm = make_llm(model)
    llm.chat(rag_messages())
    assert set(last_body(gateway_emulator)) == {"model", "messages"}
    list(llm.stream_chat(rag_messages()))
    assert set(last_body(gateway_emulator)) == {"model", "messages", "stream", "stream_options"}
    llm.complete("hello")
    body = last_body(gateway_emulator)
    assert "temperature" not in body and "top_p" not in body and "max_tokens" not in body


def test_set_values_are_sent_with_the_right_names(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm(
        "gpt-5.4",
        temperature=0.2,
        max_tokens=50,
        stop=["\n\n"],
        additional_kwargs={"seed": 7, "user": "u1"},
    )
    llm.chat(rag_messages(), top_p=0.9, user="u2", max_tokens=40)
    body = last_body(gateway_emulator)
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9
    assert body["max_completion_tokens"] == 40 and "max_tokens" not in body
    assert body["stop"] == ["\n\n"] and body["seed"] == 7 and body["user"] == "u2"


def test_stream_usage_can_be_turned_off(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    chunks = list(make_llm("gpt-5.4", stream_usage=False).stream_chat(rag_messages()))
    assert "stream_options" not in last_body(gateway_emulator)
    assert "prompt_tokens" not in chunks[-1].additional_kwargs


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        ("claude-opus-4-7", {"temperature": 0.5}, "rejects 'temperature'"),
        ("claude-sonnet-4-6", {"temperature": 1.5}, "temperature from 0 to 1"),
        ("claude-haiku-4-5", {"temperature": 0.5, "top_p": 0.9}, "temperature and top_p"),
        ("gpt-5.4", {"stop": ["a", "b", "c", "d", "e"]}, "at most 4 stop"),
        ("gemini-2.5-pro", {"max_tokens": 70_000}, "at most 65536"),
    ],
)
async def test_family_rules_fail_before_any_request(
    make_llm: MakeLLM,
    gateway_emulator: GatewayEmulator,
    model: str,
    kwargs: dict[str, Any],
    match: str,
) -> None:
    llm = make_llm(model, **kwargs)
    messages = rag_messages()
    with pytest.raises(ParameterError, match=match):
        llm.chat(messages)
    with pytest.raises(ParameterError, match=match):
        llm.stream_chat(messages)
    with pytest.raises(ParameterError, match=match):
        await llm.achat(messages)
    with pytest.raises(ParameterError, match=match):
        await llm.astream_chat(messages)
    with pytest.raises(ParameterError, match=match):
        llm.complete("hi")
    assert chat_requests(gateway_emulator) == []


def test_escape_hatch_sends_what_the_rules_refuse(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("claude-sonnet-4-6", temperature=0.3, top_p=0.9, check_model_rules=False)
    with pytest.raises(BadRequestError, match="temperature"):  # the emulated upstream's 400
        llm.chat(rag_messages())
    body = last_body(gateway_emulator)
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9


def test_video_to_claude_fails_before_any_request(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    from llama_index.core.base.llms.types import VideoBlock

    message = ChatMessage(
        role=MessageRole.USER,
        blocks=[TextBlock(text="what happens?"), VideoBlock(url="https://example.com/a.mp4")],
    )
    with pytest.raises(CapabilityError, match="Gemini"):
        make_llm("claude-opus-4-6").chat([message])
    assert chat_requests(gateway_emulator) == []
    answer = make_llm("gemini-2.5-flash-lite").chat([message])
    assert "attachment" in (answer.message.content or "")


def test_image_reaches_the_emulator_as_an_image_part(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
    message = ChatMessage(
        role=MessageRole.USER, blocks=[TextBlock(text="Describe it."), ImageBlock(image=png)]
    )
    response = make_llm("claude-haiku-4-5").chat([message])
    assert "I received 1 attachment" in (response.message.content or "")
    parts = last_body(gateway_emulator)["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url"]


@pytest.mark.parametrize("model", FAMILIES)
def test_stream_chat_each_token_once_and_usage_on_the_last_chunk(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, model: str
) -> None:
    full = make_llm(model).chat(rag_messages()).message.content
    chunks = list(make_llm(model).stream_chat(rag_messages()))
    assert len([c for c in chunks if c.delta]) > 1
    assert "".join(c.delta or "" for c in chunks) == full
    assert chunks[-1].message.content == full
    last = chunks[-1].additional_kwargs
    assert last["prompt_tokens"] > 0 and last["completion_tokens"] > 0
    assert last["finish_reason"] == "stop" and last["pool"] == "standard"
    assert chunks[-1].raw["usage"]["total_tokens"] == last["total_tokens"]


@pytest.mark.parametrize("model", FAMILIES)
async def test_async_twins_match_the_sync_calls(make_llm: MakeLLM, model: str) -> None:
    llm = make_llm(model)
    sync = llm.chat(rag_messages()).message.content
    assert (await llm.achat(rag_messages())).message.content == sync
    chunks = [c async for c in await llm.astream_chat(rag_messages())]
    assert "".join(c.delta or "" for c in chunks) == sync
    assert chunks[-1].additional_kwargs["total_tokens"] > 0
    completion = await llm.acomplete(f"{CONTEXT} {QUESTION}")
    pieces = [c async for c in await llm.astream_complete(f"{CONTEXT} {QUESTION}")]
    assert "1889" in completion.text
    assert "".join(p.delta or "" for p in pieces) == pieces[-1].text == completion.text
    assert pieces[-1].additional_kwargs["completion_tokens"] > 0


def test_complete_and_stream_complete_go_through_chat(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("claude-sonnet-4-5")
    completion = llm.complete(f"{CONTEXT} {QUESTION}")
    assert "1889" in completion.text
    assert completion.additional_kwargs["total_tokens"] > 0
    pieces = list(llm.stream_complete(f"{CONTEXT} {QUESTION}"))
    assert "".join(p.delta or "" for p in pieces) == completion.text
    bodies = [r.body for r in chat_requests(gateway_emulator)]
    assert [m["role"] for b in bodies for m in b["messages"]] == ["user", "user"]


def test_stream_is_lazy_and_closing_early_releases_it(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gen = make_llm().stream_chat(rag_messages())
    assert chat_requests(gateway_emulator) == []
    first = next(gen)
    assert first.delta
    gen.close()
    assert len(chat_requests(gateway_emulator)) == 1


def test_scripted_reply_and_reasoning(make_llm: MakeLLM, gateway_emulator: GatewayEmulator) -> None:
    gateway_emulator.script(ScriptedReply(content="Answer.", reasoning="Because of X and Y."))
    response = make_llm("gemini-3.1-pro-preview").chat(rag_messages())
    assert response.message.content == "Answer."
    assert response.message.blocks[0].content == "Because of X and Y."  # type: ignore[union-attr]
    gateway_emulator.script(ScriptedReply(content="Answer.", reasoning="Because of X and Y."))
    chunks = list(make_llm("gemini-3.1-pro-preview").stream_chat(rag_messages()))
    thinking = "".join(c.additional_kwargs.get("thinking_delta", "") for c in chunks)
    assert thinking == "Because of X and Y."
    assert "".join(c.delta or "" for c in chunks) == "Answer."


# -- callbacks and instrumentation ---------------------------------------------------------


def test_instrumentation_sees_start_each_chunk_once_and_end(
    make_llm: MakeLLM, events: EventLog
) -> None:
    llm = make_llm("claude-sonnet-4-6")
    chunks = list(llm.stream_chat(rag_messages()))
    names = [n for n in events.names() if n.startswith("LLMChat")]
    assert names == ["LLMChatStartEvent"] + ["LLMChatInProgressEvent"] * len(chunks) + [
        "LLMChatEndEvent"
    ]
    progress = [e for e in events.events if type(e).__name__ == "LLMChatInProgressEvent"]
    assert [e.response.delta for e in progress] == [c.delta for c in chunks]  # type: ignore[attr-defined]
    end = events.events[-1]
    assert end.response.additional_kwargs["total_tokens"] > 0  # type: ignore[attr-defined]


def test_completion_events_and_errors_are_reported(
    make_llm: MakeLLM, events: EventLog, gateway_emulator: GatewayEmulator
) -> None:
    from gw_emulator import Fault

    llm = make_llm("gpt-5.5", max_retries=0)
    llm.complete("hello")
    assert [n for n in events.names() if n.startswith("LLMCompletion")] == [
        "LLMCompletionStartEvent",
        "LLMCompletionEndEvent",
    ]
    gateway_emulator.inject(Fault.status(400, message="bad thing"))
    with pytest.raises(Exception, match="bad thing"):
        list(llm.stream_chat(rag_messages()))
    assert "ExceptionEvent" in events.names()


@pytest.mark.parametrize("stream", [False, True])
def test_token_counting_handler_uses_the_gateways_numbers(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator, stream: bool
) -> None:
    gateway_emulator.script(
        ScriptedReply(
            content="Counted answer.",
            usage={"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290},
        )
    )
    counter = TokenCountingHandler()
    llm = make_llm("gemini-2.5-pro", callback_manager=CallbackManager([counter]))
    if stream:
        assert "".join(c.delta or "" for c in llm.stream_chat(rag_messages())) == "Counted answer."
    else:
        llm.chat(rag_messages())
    assert counter.prompt_llm_token_count == 1234
    assert counter.completion_llm_token_count == 56


@pytest.mark.parametrize("model", FAMILIES)
async def test_stream_usage_is_the_turns_usage_never_summed(make_llm: MakeLLM, model: str) -> None:
    # GPT sends usage once at the end, Claude on the finish chunk, Gemini cumulatively on
    # every chunk: the last chunk must report the same counts as a non-streaming call.
    llm = make_llm(model)
    whole = llm.chat(rag_messages()).additional_kwargs
    last = list(llm.stream_chat(rag_messages()))[-1].additional_kwargs
    alast = [c async for c in await llm.astream_chat(rag_messages())][-1].additional_kwargs
    for counts in (last, alast):
        assert counts["prompt_tokens"] == whole["prompt_tokens"]
        assert counts["completion_tokens"] == whole["completion_tokens"]


def test_stream_errors_surface_on_the_first_next(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    gen = make_llm(api_key="sk-wrong").stream_chat(rag_messages())
    with pytest.raises(AuthenticationError):
        next(gen)
    assert len(chat_requests(gateway_emulator)) == 1


def test_pdf_documents_need_the_opt_in(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    pdf = DocumentBlock(data=b"%PDF-1.4 minimal", document_mimetype="application/pdf")
    message = ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="Summarize."), pdf])
    with pytest.raises(CapabilityError, match="allow_undocumented_parts=True"):
        make_llm("gemini-2.5-pro").chat([message])
    assert chat_requests(gateway_emulator) == []
    make_llm("gemini-2.5-pro", allow_undocumented_parts=True).chat([message])
    part = last_body(gateway_emulator)["messages"][0]["content"][1]
    assert part["type"] == "file" and part["file"]["filename"] == "input_document.pdf"


def test_max_tokens_rule_a_conflict_in_one_call_is_refused_and_a_call_overrides_the_field(
    make_llm: MakeLLM, gateway_emulator: GatewayEmulator
) -> None:
    llm = make_llm("gpt-5.4", max_completion_tokens=20)
    with pytest.raises(ParameterError, match="max_tokens=10 and max_completion_tokens=20"):
        llm.chat([ChatMessage(role="user", content="hi")], max_tokens=10, max_completion_tokens=20)
    assert chat_requests(gateway_emulator) == []
    llm.chat([ChatMessage(role="user", content="hi")], max_tokens=10)
    assert last_body(gateway_emulator)["max_completion_tokens"] == 10

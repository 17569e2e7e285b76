"""Never a duplicate token: what callbacks see when retries and fallbacks wrap our model.

Our own retries happen only before the first chunk, so they never replay a token (the
fault matrix checks that on every path). LangChain's ``with_retry`` / ``with_fallbacks``
wrap the model from outside and see our typed errors; these tests pin down what they
then do to the tokens a callback sees, with the error raised before the first chunk
(no duplicate) and after it (documented below, with the remedy).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from llama_index.core.base.llms.types import CompletionResponse
from llama_index.core.instrumentation.events.llm import LLMCompletionInProgressEvent

import langchain_gw
import llamaindex_gw
from gw_emulator import Fault, GatewayEmulator, ScriptedReply
from tests.reliability.drivers import FakeTime, LangChainTokens, build, llamaindex_events

ANSWER = "The dam was finished in 1936, after five years of work on the river."
PRIMARY, BACKUP = "gpt-5.4", "claude-sonnet-4-6"
#: What an application should retry from outside: failures before any output.
RETRYABLE = (
    langchain_gw.RateLimitError,
    langchain_gw.ServerError,
    langchain_gw.GatewayConnectionError,
)


@pytest.fixture
def scripted(emu: GatewayEmulator) -> GatewayEmulator:
    for _ in range(4):
        emu.script(ScriptedReply(content=ANSWER))
    return emu


def _chunks(emu: GatewayEmulator) -> list[str]:
    """The answer's content chunks as the emulator streams them (from a clean stream)."""
    llm = build("langchain", emu, PRIMARY)
    emu.script(ScriptedReply(content=ANSWER))
    chunks = [c.text for c in llm.stream("Warm-up.") if c.text]
    emu.clear_log()
    return chunks


def _streaming_model(emu: GatewayEmulator, fake_time: FakeTime, model: str = PRIMARY) -> Any:
    """``max_retries=0`` (what LangChain's guide advises under with_retry/with_fallbacks),
    ``streaming=True`` so ``invoke`` runs through the stream and callbacks see tokens."""
    return build("langchain", emu, model, policy=fake_time.policy(), max_retries=0, streaming=True)


def test_with_retry_before_the_first_chunk_tokens_once(
    scripted: GatewayEmulator, fake_time: FakeTime
) -> None:
    """`with_retry().invoke`: a 503 before the first chunk is retried, tokens seen once."""
    expected = _chunks(scripted)
    scripted.inject(Fault.status(503))
    handler = LangChainTokens()
    model = _streaming_model(scripted, fake_time).with_retry(
        stop_after_attempt=3, wait_exponential_jitter=False
    )
    result = model.invoke("When was the dam finished?", config={"callbacks": [handler]})
    assert result.content == ANSWER
    assert scripted.request_count == 2
    assert [t for t in handler.tokens if t] == expected
    assert len(set(handler.token_runs)) == 1


def test_with_retry_after_the_first_chunk_replays_tokens(
    scripted: GatewayEmulator, fake_time: FakeTime
) -> None:
    """`with_retry().invoke` (default: retry any exception) after a mid-stream cut runs the
    call again: callbacks see the cut attempt's tokens, then all tokens again, as two runs.

    LangChain behaviour, not ours: our StreamInterruptedError is raised once output began,
    and with_retry retries every exception by default. The next test shows the remedy.
    """
    expected = _chunks(scripted)
    scripted.inject(Fault.cut(2))
    handler = LangChainTokens()
    model = _streaming_model(scripted, fake_time).with_retry(
        stop_after_attempt=3, wait_exponential_jitter=False
    )
    result = model.invoke("When was the dam finished?", config={"callbacks": [handler]})
    assert result.content == ANSWER
    assert scripted.request_count == 2
    tokens = [t for t in handler.tokens if t]
    assert tokens == expected[:2] + expected
    first_run, second_run = handler.token_runs[0], handler.token_runs[-1]
    assert first_run != second_run
    # Keyed by run, each run saw each of its tokens once.
    for run in (first_run, second_run):
        run_tokens = [
            t for t, r in zip(handler.tokens, handler.token_runs, strict=True) if r == run
        ]
        assert "".join(run_tokens) in (ANSWER, "".join(expected[:2]))


def test_with_retry_on_pre_output_errors_only_never_replays(
    scripted: GatewayEmulator, fake_time: FakeTime
) -> None:
    """`with_retry(retry_if_exception_type=(RateLimitError, ServerError,
    GatewayConnectionError))`: a mid-stream cut is not retried, tokens seen once, and the
    error carries exactly the text the callbacks saw."""
    expected = _chunks(scripted)
    scripted.inject(Fault.cut(2))
    handler = LangChainTokens()
    model = _streaming_model(scripted, fake_time).with_retry(
        retry_if_exception_type=RETRYABLE, stop_after_attempt=3, wait_exponential_jitter=False
    )
    with pytest.raises(langchain_gw.StreamInterruptedError) as caught:
        model.invoke("When was the dam finished?", config={"callbacks": [handler]})
    assert scripted.request_count == 1
    assert [t for t in handler.tokens if t] == expected[:2]
    assert caught.value.partial_text == "".join(expected[:2])


def test_with_retry_does_not_retry_stream_calls(
    scripted: GatewayEmulator, fake_time: FakeTime
) -> None:
    """`with_retry().stream()` is not retried by LangChain (its documented limit): with our
    own `max_retries=0` a 503 ends the stream. Keep our retries on for streams."""
    scripted.inject(Fault.status(503))
    handler = LangChainTokens()
    model = _streaming_model(scripted, fake_time).with_retry(stop_after_attempt=3)
    with pytest.raises(langchain_gw.ServerError):
        list(model.stream("When was the dam finished?", config={"callbacks": [handler]}))
    assert scripted.request_count == 1
    assert handler.tokens == []
    # Our own policy, by contrast, retries a stream before its first chunk.
    scripted.clear_log()
    scripted.inject(Fault.status(503))
    ours = build("langchain", scripted, PRIMARY, policy=fake_time.policy(), streaming=True)
    assert "".join(c.text for c in ours.stream("When was the dam finished?")) == ANSWER
    assert scripted.request_count == 2


@pytest.mark.parametrize("call", ["invoke", "stream"])
def test_with_fallbacks_before_the_first_chunk_tokens_once(
    call: str, scripted: GatewayEmulator, fake_time: FakeTime
) -> None:
    """`with_fallbacks([backup])`: a 503 before the first chunk moves to the backup on
    invoke and stream alike; callbacks see only the backup's tokens, once."""
    expected = _chunks(scripted)
    scripted.inject(Fault.status(503), model=PRIMARY)
    handler = LangChainTokens()
    primary = _streaming_model(scripted, fake_time)
    backup = _streaming_model(scripted, fake_time, BACKUP)
    model = primary.with_fallbacks([backup])
    config: Any = {"callbacks": [handler]}
    if call == "invoke":
        text = model.invoke("When was the dam finished?", config=config).content
    else:
        text = "".join(c.text for c in model.stream("When was the dam finished?", config=config))
    assert text == ANSWER
    assert [r.model for r in scripted.requests] == [PRIMARY, BACKUP]
    assert [t for t in handler.tokens if t] == expected
    assert len(set(handler.token_runs)) == 1


def test_with_fallbacks_stream_after_the_first_chunk_raises(
    scripted: GatewayEmulator, fake_time: FakeTime
) -> None:
    """`with_fallbacks([backup]).stream()` after a mid-stream cut does not fall back
    (LangChain falls back on a stream only before its first chunk): the typed error
    reaches the caller with the partial text; tokens seen once."""
    expected = _chunks(scripted)
    scripted.inject(Fault.cut(2), model=PRIMARY)
    handler = LangChainTokens()
    model = _streaming_model(scripted, fake_time).with_fallbacks(
        [_streaming_model(scripted, fake_time, BACKUP)]
    )
    received: list[str] = []
    with pytest.raises(langchain_gw.StreamInterruptedError) as caught:
        for chunk in model.stream("When was the dam finished?", config={"callbacks": [handler]}):
            received.append(chunk.text)
    assert [r.model for r in scripted.requests] == [PRIMARY]
    assert [t for t in handler.tokens if t] == expected[:2] == [t for t in received if t]
    assert caught.value.partial_text == "".join(received)


def test_with_fallbacks_invoke_after_the_first_chunk_starts_over(
    scripted: GatewayEmulator, fake_time: FakeTime
) -> None:
    """`with_fallbacks([backup]).invoke()` (streaming under the hood) after a mid-stream
    cut runs the backup: callbacks see the primary's partial tokens, then the backup's
    full answer, as two runs. The returned message is the backup's alone."""
    expected = _chunks(scripted)
    scripted.inject(Fault.cut(2), model=PRIMARY)
    handler = LangChainTokens()
    model = _streaming_model(scripted, fake_time).with_fallbacks(
        [_streaming_model(scripted, fake_time, BACKUP)]
    )
    result = model.invoke("When was the dam finished?", config={"callbacks": [handler]})
    assert result.content == ANSWER
    assert [r.model for r in scripted.requests] == [PRIMARY, BACKUP]
    assert [t for t in handler.tokens if t] == expected[:2] + expected
    assert len(set(handler.token_runs)) == 2


@pytest.mark.parametrize(
    ("fault", "requests", "ok"),
    [(Fault.status(503), 2, True), (Fault.cut(2), 1, False)],
    ids=["503-before-first-chunk", "cut-after-first-chunk"],
)
async def test_astream_events_see_each_chunk_once(
    fault: Fault,
    requests: int,
    ok: bool,
    scripted: GatewayEmulator,
    fake_time: FakeTime,
    close_async_clients: None,
) -> None:
    """`astream_events(version="v2")` (how LangGraph streams messages): each chunk is one
    `on_chat_model_stream` event, under a retried 503 and a mid-stream cut alike."""
    expected = _chunks(scripted)
    scripted.inject(fault)
    llm = build("langchain", scripted, PRIMARY, policy=fake_time.policy())
    seen: list[str] = []
    error: BaseException | None = None
    try:
        async for event in llm.astream_events("When was the dam finished?", version="v2"):
            if event["event"] == "on_chat_model_stream":
                chunk = event["data"]["chunk"]
                assert isinstance(chunk, AIMessageChunk)
                seen.append(chunk.text)
    except langchain_gw.StreamInterruptedError as exc:
        error = exc
    assert scripted.request_count == requests
    assert [t for t in seen if t] == (expected if ok else expected[:2])
    assert (error is None) is ok


@pytest.mark.parametrize(
    ("fault", "requests", "ok"),
    [(Fault.status(503), 2, True), (Fault.cut(2), 1, False)],
    ids=["503-before-first-chunk", "cut-after-first-chunk"],
)
@pytest.mark.parametrize("path", ["stream_complete", "astream_complete"])
async def test_llamaindex_completion_streams_report_each_delta_once(
    path: str,
    fault: Fault,
    requests: int,
    ok: bool,
    scripted: GatewayEmulator,
    fake_time: FakeTime,
    close_async_clients: None,
) -> None:
    """LlamaIndex `stream_complete`/`astream_complete`: instrumentation's
    LLMCompletionInProgressEvent fires once per delta under a retried 503 and a cut."""
    expected = _chunks(scripted)
    scripted.inject(fault)
    llm = build("llamaindex", scripted, PRIMARY, policy=fake_time.policy())
    received: list[str] = []
    error: BaseException | None = None
    with llamaindex_events() as events:
        try:
            if path == "stream_complete":
                for response in llm.stream_complete("When was the dam finished?"):
                    received.append(response.delta or "")
            else:
                async for response in await llm.astream_complete("When was the dam finished?"):
                    received.append(response.delta or "")
        except llamaindex_gw.StreamInterruptedError as exc:
            error = exc
    deltas = [
        e.response.delta or ""
        for e in events.events
        if isinstance(e, LLMCompletionInProgressEvent)
        and isinstance(e.response, CompletionResponse)
    ]
    assert scripted.request_count == requests
    assert deltas == received
    assert [d for d in deltas if d] == (expected if ok else expected[:2])
    assert (error is None) is ok

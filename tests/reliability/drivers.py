"""One way to drive both adapters on every call path, and to see what their callbacks saw.

The fault matrix, the bad-input matrix and the token checks all need the same four
things per adapter: build a model pointed at the emulator with a retry policy whose
clock and sleeps we control, run one of the four call paths (sync, async, stream,
astream) through the framework's *public* API, and record what the caller received,
what the framework's callbacks / instrumentation saw, and the error, if any.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal, Protocol
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler as LCCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.callbacks import CallbackManager
from llama_index.core.callbacks.base_handler import BaseCallbackHandler as LICallbackHandler
from llama_index.core.callbacks.schema import CBEventType, EventPayload
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatInProgressEvent
from llama_index_instrumentation import get_dispatcher
from pydantic import Field

import langchain_gw
import llamaindex_gw
from gw_core.retry import RetryPolicy

__all__ = [
    "ADAPTERS",
    "PACKAGES",
    "PATHS",
    "Adapter",
    "Endpoint",
    "FakeTime",
    "LangChainTokens",
    "LlamaIndexEvents",
    "LlamaIndexLegacy",
    "Outcome",
    "Path",
    "build",
    "call_name",
    "llamaindex_events",
    "run",
]

Adapter = Literal["langchain", "llamaindex"]
Path = Literal["sync", "async", "stream", "astream"]

ADAPTERS: tuple[Adapter, ...] = ("langchain", "llamaindex")
PATHS: tuple[Path, ...] = ("sync", "async", "stream", "astream")

_CALLS: dict[tuple[Adapter, Path], str] = {
    ("langchain", "sync"): "invoke",
    ("langchain", "async"): "ainvoke",
    ("langchain", "stream"): "stream",
    ("langchain", "astream"): "astream",
    ("llamaindex", "sync"): "chat",
    ("llamaindex", "async"): "achat",
    ("llamaindex", "stream"): "stream_chat",
    ("llamaindex", "astream"): "astream_chat",
}

PACKAGES: dict[Adapter, ModuleType] = {"langchain": langchain_gw, "llamaindex": llamaindex_gw}


def call_name(adapter: Adapter, path: Path) -> str:
    """The public method a path calls: ``invoke``, ``astream_chat``..."""
    return _CALLS[(adapter, path)]


class FakeTime:
    """A clock and sleeps for the retry policy: waits are recorded, never slept.

    Each sleep moves the clock forward, so the policy's budget arithmetic sees the same
    time it would have in production.
    """

    def __init__(self) -> None:
        self.now = 1_000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def policy(self, **overrides: Any) -> RetryPolicy:
        """The production policy (defaults untouched) on this fake time."""
        return RetryPolicy(sleep=self.sleep, asleep=self.asleep, clock=self.clock, **overrides)


# -- what the frameworks' observers saw --------------------------------------------------


class LangChainTokens(LCCallbackHandler):
    """Every ``on_llm_new_token`` and start/end/error, with the run it belonged to."""

    run_inline = True  # keep order in async runs

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.token_runs: list[UUID] = []
        self.starts: list[dict[str, Any]] = []
        self.ends = 0
        self.errors: list[BaseException] = []

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.tokens.append(token if isinstance(token, str) else str(token))
        self.token_runs.append(run_id)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        self.starts.append({"serialized": serialized, **kwargs})

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.ends += 1

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.errors.append(error)


class LlamaIndexEvents(BaseEventHandler):
    """Instrumentation events (root dispatcher): the stream's in-progress deltas."""

    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "ReliabilityEvents"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)

    def deltas(self) -> list[str]:
        return [
            e.response.delta or ""
            for e in self.events
            if isinstance(e, LLMChatInProgressEvent) and isinstance(e.response, ChatResponse)
        ]


class LlamaIndexLegacy(LICallbackHandler):
    """The legacy CallbackManager's view: LLM start/end pairs and their payloads."""

    def __init__(self) -> None:
        super().__init__(event_starts_to_ignore=[], event_ends_to_ignore=[])
        self.starts: list[dict[str, Any]] = []
        self.ends: list[dict[str, Any]] = []

    def on_event_start(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        parent_id: str = "",
        **kwargs: Any,
    ) -> str:
        if event_type is CBEventType.LLM:
            self.starts.append(dict(payload or {}))
        return event_id

    def on_event_end(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        **kwargs: Any,
    ) -> None:
        if event_type is CBEventType.LLM:
            self.ends.append(dict(payload or {}))

    def start_trace(self, trace_id: str | None = None) -> None:
        return None

    def end_trace(
        self, trace_id: str | None = None, trace_map: dict[str, list[str]] | None = None
    ) -> None:
        return None

    def final_text(self) -> str | None:
        """The response text the last end event carried (None when it carried an error)."""
        if not self.ends:
            return None
        response = self.ends[-1].get(EventPayload.RESPONSE)
        return response.message.content if isinstance(response, ChatResponse) else None


@contextlib.contextmanager
def llamaindex_events() -> Iterator[LlamaIndexEvents]:
    """Record LlamaIndex instrumentation events for the duration of the block."""
    log = LlamaIndexEvents()
    root = get_dispatcher()
    root.add_event_handler(log)
    try:
        yield log
    finally:
        root.event_handlers.remove(log)


# -- building and running -----------------------------------------------------------------


class Endpoint(Protocol):
    """Where a model is pointed: the emulator, or any loopback server with a key."""

    @property
    def base_url(self) -> str: ...

    @property
    def api_key(self) -> str: ...


def build(
    adapter: Adapter,
    emu: Endpoint,
    model: str,
    *,
    policy: RetryPolicy | None = None,
    **options: Any,
) -> Any:
    """A model for the emulator; ``policy`` (fake time) replaces the default one's clock.

    ``options`` go to the constructor (``max_retries``, ``pools``, timeouts...). The
    policy's ``max_retries`` follows the constructor's, as it would in production.
    """
    options.setdefault("api_key", emu.api_key)
    options.setdefault("base_url", emu.base_url)
    if adapter == "langchain":
        llm = langchain_gw.ChatGateway(model=model, **options)
        if policy is not None:
            # ChatGateway has no retry_policy= argument (GatewayLLM has): set it on the
            # route every call goes through, keeping the model's own max_retries.
            llm.gateway.policy = policy.with_overrides(max_retries=llm.max_retries)
        return llm
    if policy is not None:
        max_retries = options.get("max_retries", policy.max_retries)
        options["retry_policy"] = policy.with_overrides(max_retries=max_retries)
    return llamaindex_gw.GatewayLLM(model=model, **options)


def change_settings(adapter: Adapter, llm: Any, **changes: Any) -> None:
    """Change the settings fields the constructors do not take (caps, stream_timeout)."""
    gateway = llm.gateway if adapter == "langchain" else llm._transport()
    gateway.settings = dataclasses.replace(gateway.settings, **changes)


@dataclass
class Outcome:
    """What one call produced, as the caller and the observers saw it."""

    text: str = ""
    chunks: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    error: BaseException | None = None
    usage: tuple[int, int, int] | None = None
    pool: str | None = None
    observer_starts: int = 0
    observer_ends: int = 0
    observer_errors: int = 0
    legacy_text: str | None = None
    #: The handler that watched the call (LangChainTokens or LlamaIndexLegacy).
    observer: Any = None


def _lc_usage(message: AIMessage) -> tuple[int, int, int] | None:
    usage = message.usage_metadata
    if usage is None:
        return None
    return usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]


def _li_usage(response: ChatResponse) -> tuple[int, int, int] | None:
    extra = response.additional_kwargs
    if "prompt_tokens" not in extra:
        return None
    return extra["prompt_tokens"], extra["completion_tokens"], extra["total_tokens"]


async def run(adapter: Adapter, llm: Any, path: Path, prompt: str | list[Any]) -> Outcome:
    """Run one call on ``path``; errors are captured in the outcome, not raised.

    ``prompt`` is a user question, or the framework's own message list as is.
    """
    if adapter == "langchain":
        return await _run_langchain(llm, path, prompt)
    return await _run_llamaindex(llm, path, prompt)


async def _run_langchain(llm: Any, path: Path, prompt: str | list[Any]) -> Outcome:
    handler = LangChainTokens()
    config: Any = {"callbacks": [handler]}
    out = Outcome()
    messages = [HumanMessage(prompt)] if isinstance(prompt, str) else prompt
    final: AIMessage | None = None
    try:
        if path == "sync":
            final = llm.invoke(messages, config=config)
        elif path == "async":
            final = await llm.ainvoke(messages, config=config)
        else:
            total: AIMessageChunk | None = None
            if path == "stream":
                for chunk in llm.stream(messages, config=config):
                    out.chunks.append(chunk.text)
                    total = chunk if total is None else total + chunk
            else:
                async for chunk in llm.astream(messages, config=config):
                    out.chunks.append(chunk.text)
                    total = chunk if total is None else total + chunk
            final = total
    except Exception as exc:
        out.error = exc
    if final is not None and out.error is None:
        out.text = final.text
        out.usage = _lc_usage(final)
        out.pool = final.response_metadata.get("pool")
    out.tokens = handler.tokens
    out.observer = handler
    out.observer_starts, out.observer_ends = len(handler.starts), handler.ends
    out.observer_errors = len(handler.errors)
    return out


async def _run_llamaindex(llm: Any, path: Path, prompt: str | list[Any]) -> Outcome:
    legacy = LlamaIndexLegacy()
    llm.callback_manager = CallbackManager([legacy])
    out = Outcome()
    if isinstance(prompt, str):
        messages = [ChatMessage(role=MessageRole.USER, content=prompt)]
    else:
        messages = prompt
    last: ChatResponse | None = None
    with llamaindex_events() as events:
        try:
            if path == "sync":
                last = llm.chat(messages)
            elif path == "async":
                last = await llm.achat(messages)
            elif path == "stream":
                for response in llm.stream_chat(messages):
                    out.chunks.append(response.delta or "")
                    last = response
            else:
                async for response in await llm.astream_chat(messages):
                    out.chunks.append(response.delta or "")
                    last = response
        except Exception as exc:
            out.error = exc
    if last is not None and out.error is None:
        out.text = last.message.content or ""
        out.usage = _li_usage(last)
        out.pool = last.additional_kwargs.get("pool")
    out.tokens = events.deltas()
    out.observer_starts, out.observer_ends = len(legacy.starts), len(legacy.ends)
    out.observer_errors = sum(1 for end in legacy.ends if EventPayload.EXCEPTION in end)
    out.legacy_text = legacy.final_text()
    out.observer = legacy
    return out

"""Fixtures for the LlamaIndex adapter: LLMs pointed at the session's emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index_instrumentation import get_dispatcher

from gw_core.retry import RetryPolicy
from gw_emulator import GatewayEmulator, RecordedRequest
from llamaindex_gw import GatewayLLM


async def _no_asleep(seconds: float) -> None:
    return None


#: The real policy's rules with no waiting, so retry tests take no wall time.
FAST_RETRIES = RetryPolicy(
    max_retries=2,
    backoff_initial=0.0,
    backoff_max=0.0,
    jitter=0.0,
    sleep=lambda seconds: None,
    asleep=_no_asleep,
)

MakeLLM = Callable[..., GatewayLLM]


@pytest.fixture
def make_llm(gateway_emulator: GatewayEmulator) -> MakeLLM:
    """Build a GatewayLLM for the emulator; keyword arguments go to the constructor."""

    def make(model: str = "gpt-5.4", **kwargs: Any) -> GatewayLLM:
        kwargs.setdefault("retry_policy", FAST_RETRIES)
        kwargs.setdefault("api_key", gateway_emulator.api_key)
        kwargs.setdefault("base_url", gateway_emulator.base_url)
        return GatewayLLM(model=model, **kwargs)

    return make


def chat_requests(emu: GatewayEmulator) -> list[RecordedRequest]:
    """The chat-completion requests the emulator saw, oldest first."""
    return [r for r in emu.requests if r.path.endswith("/chat/completions")]


def last_body(emu: GatewayEmulator) -> dict[str, Any]:
    requests = chat_requests(emu)
    assert requests, "the emulator saw no chat request"
    body = requests[-1].body
    assert isinstance(body, dict)
    return body


class EventLog(BaseEventHandler):
    """Records every instrumentation event by class name."""

    events: list[BaseEvent]

    @classmethod
    def class_name(cls) -> str:
        return "EventLog"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)

    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


@pytest.fixture
def events() -> Iterator[EventLog]:
    """Instrumentation events emitted during the test (root dispatcher)."""
    log = EventLog(events=[])
    root = get_dispatcher()
    root.add_event_handler(log)
    yield log
    root.event_handlers.remove(log)

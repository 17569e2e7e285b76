"""Shared fixtures: a ChatGateway pointed at the session's gateway emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gw_emulator import GatewayEmulator
from langchain_gw import ChatGateway

MakeLLM = Callable[..., ChatGateway]


async def _no_async_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def make_llm(gateway_emulator: GatewayEmulator) -> MakeLLM:
    """Build a ChatGateway for the emulator: ``make_llm("gemini-3-flash-preview", ...)``.

    Retry waits are skipped (the policy's sleep is injectable for this): the tests count
    the requests the emulator saw, and the waits themselves are gw_core.retry's tests.
    """

    def make(model: str = "gpt-5.4", **kwargs: Any) -> ChatGateway:
        kwargs.setdefault("api_key", gateway_emulator.api_key)
        kwargs.setdefault("base_url", gateway_emulator.base_url)
        llm = ChatGateway(model=model, **kwargs)
        gateway = llm.gateway
        gateway.policy = gateway.policy.with_overrides(
            sleep=lambda seconds: None, asleep=_no_async_sleep
        )
        return llm

    return make

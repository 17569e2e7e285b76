"""Fixtures of the emulator tests: raw ``openai`` clients on the session emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from gw_emulator import GatewayEmulator


@pytest.fixture
def emu(gateway_emulator: GatewayEmulator) -> GatewayEmulator:
    """The plugin's emulator (reset for each test), under a short name."""
    return gateway_emulator


@pytest.fixture(scope="session")
def _session_client(gateway_emulator_session: GatewayEmulator) -> Iterator[openai.OpenAI]:
    # Building a client loads TLS certificates (~0.15 s): one per session keeps the run short.
    emu = gateway_emulator_session
    with openai.OpenAI(
        base_url=emu.base_url + "/v1", api_key=emu.api_key, max_retries=0, timeout=10
    ) as raw:
        yield raw


@pytest.fixture
def client(emu: GatewayEmulator, _session_client: openai.OpenAI) -> openai.OpenAI:
    """A raw sync client on the (reset) emulator, no SDK retries."""
    return _session_client


@pytest.fixture
async def aclient(emu: GatewayEmulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=emu.base_url + "/v1", api_key=emu.api_key, max_retries=0, timeout=10
    ) as raw:
        yield raw

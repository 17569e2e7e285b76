"""Fixtures of the gateway tests in this folder (transport and streaming)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gw_emulator import GatewayEmulator
from tests.core.gateway_helpers import Sleeps


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def emu(gateway_emulator: GatewayEmulator) -> Iterator[GatewayEmulator]:
    yield gateway_emulator

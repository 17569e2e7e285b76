"""Fixtures of the doctor tests: settings that point at the session emulator."""

from __future__ import annotations

import pytest

from gw_core.settings import Settings
from gw_emulator import GatewayEmulator


@pytest.fixture
def emu(gateway_emulator: GatewayEmulator) -> GatewayEmulator:
    """The plugin's emulator, reset for each test (quirks and queued faults included)."""
    return gateway_emulator


@pytest.fixture
def settings(emu: GatewayEmulator) -> Settings:
    return Settings.resolve(api_key=emu.api_key, base_url=emu.base_url)

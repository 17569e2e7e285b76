"""pytest fixtures for testing an app against the gateway emulator, with no tokens spent.

Registered through the ``pytest11`` entry point, so any project that installs
``gw-integrations`` can ask for them::

    def test_my_chain(gateway_env, gateway_emulator):
        gateway_emulator.inject(Fault.status(429, retry_after=0))
        answer = my_app.ask("What does the retry policy do?")   # reads GW_* from the env
        assert [r.status for r in gateway_emulator.requests] == [429, 200]

One server runs per test session (starting it costs a thread and a socket); every test
gets it back with an empty log and no queued faults or scripts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gw_emulator.server import GatewayEmulator

__all__ = ["gateway_emulator", "gateway_emulator_session", "gateway_env"]


@pytest.fixture(scope="session")
def gateway_emulator_session() -> Iterator[GatewayEmulator]:
    """The session's emulator, started once and stopped at the end of the run."""
    with GatewayEmulator() as emulator:
        yield emulator


@pytest.fixture
def gateway_emulator(gateway_emulator_session: GatewayEmulator) -> Iterator[GatewayEmulator]:
    """The running emulator, reset: empty request log, no faults or scripted replies."""
    gateway_emulator_session.reset()
    yield gateway_emulator_session
    gateway_emulator_session.reset()


@pytest.fixture
def gateway_env(
    gateway_emulator: GatewayEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GatewayEmulator]:
    """Point ``GW_API_KEY`` and ``GW_BASE_URL`` at the emulator for this test."""
    monkeypatch.setenv("GW_API_KEY", gateway_emulator.api_key)
    monkeypatch.setenv("GW_BASE_URL", gateway_emulator.base_url)
    yield gateway_emulator

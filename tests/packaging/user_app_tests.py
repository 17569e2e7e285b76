"""A user's own test file, copied by ``smoke.py`` into a folder outside the checkout and run
with the installed venv's pytest: the ``gateway_emulator`` and ``gateway_env`` fixtures
come from the wheel's pytest11 entry point, with no conftest.

Named so that this project's own pytest run does not collect it (not test_*.py or *_test.py).
"""

from __future__ import annotations

from typing import Any


def test_the_fixture_is_a_running_emulator_reset_for_each_test(gateway_emulator: Any) -> None:
    from gw_emulator import Fault, GatewayEmulator

    assert isinstance(gateway_emulator, GatewayEmulator) and gateway_emulator.running
    assert gateway_emulator.requests == []
    gateway_emulator.inject(Fault.status(503))


def test_an_app_configured_by_gateway_env_survives_a_rate_limit(gateway_env: Any) -> None:
    from gw_emulator import Fault
    from langchain_gw import ChatGateway

    assert gateway_env.requests == []  # the fault queued by the previous test is gone
    gateway_env.inject(Fault.status(429, retry_after=0))
    llm = ChatGateway(model="claude-sonnet-4-6")  # configured by GW_* from the fixture
    assert llm.invoke("Hello").content
    assert [r.status for r in gateway_env.requests] == [429, 200]

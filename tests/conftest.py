"""Shared fixtures: a canary key, a clean GW_* environment, the SDK version in the header."""

from __future__ import annotations

import os
from collections.abc import Iterator

import openai
import pytest

from gw_cli import main as gw_cli
from gw_core import client as gw_client
from gw_core import settings as gw_settings
from gw_emulator import GatewayEmulator

#: Planted in tests that check the key never leaks; any sighting is a failure.
CANARY_KEY = "sk-gw-CANARY-7f3a9c1e5b2d4f60a8e1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--async-http",
        choices=("aiohttp", "sdk"),
        default=None,
        help="the async HTTP client every test's async path uses (sets GW_ASYNC_HTTP)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    async_http = config.getoption("--async-http") or "default (aiohttp)"
    return (
        f"openai {openai.__version__} on {gw_client.HTTPX.__name__} "
        f"(gw_core.client.HTTPX); async HTTP: {async_http}; pid {os.getpid()}"
    )


@pytest.fixture
def canary_key() -> str:
    return CANARY_KEY


@pytest.fixture
def canary_gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayEmulator]:
    """An emulator whose key is the canary, with GW_* pointing at it (for the gw command)."""
    with GatewayEmulator(api_key=CANARY_KEY) as emulator:
        monkeypatch.setenv("GW_API_KEY", CANARY_KEY)
        monkeypatch.setenv("GW_BASE_URL", emulator.base_url)
        yield emulator


def run_gw(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``gw ARGV`` in this process: its exit status, stdout and stderr."""
    code = gw_cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def _clean_gw_env(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Tests never see the developer's own GW_* variables or earlier tests' warnings;
    ``--async-http`` is the one GW_* setting a run may choose for every test."""
    for name in list(os.environ):
        if name.startswith("GW_"):
            monkeypatch.delenv(name)
    async_http = request.config.getoption("--async-http")
    if async_http:
        monkeypatch.setenv("GW_ASYNC_HTTP", async_http)
    saved = set(gw_settings._warned_hosts)
    gw_settings._warned_hosts.clear()
    yield
    gw_settings._warned_hosts.clear()
    gw_settings._warned_hosts.update(saved)

"""Fixtures of the reliability suite, and the hooks that record its results for the report.

With ``GW_RELIABILITY_RESULTS=path.json`` set, every matrix case records what it observed
(requests the emulator saw, their statuses, the waits, the outcome) and every test its
result; the JSON is written when the session ends and ``tests/reliability/report.py``
renders ``docs/reliability.md`` from it (``make reliability-report``). Without the
variable nothing is written, and the suite runs as any other.
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import sys
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from gw_core import client as gw_client
from gw_core.retry import RetryPolicy
from gw_emulator import GatewayEmulator
from tests.reliability.drivers import FakeTime
from tests.reliability.hostile import HostileServer, hostile_server

RESULTS_ENV = "GW_RELIABILITY_RESULTS"

_ROWS = pytest.StashKey[dict[str, dict[str, Any]]]()
_TESTS = pytest.StashKey[dict[str, dict[str, Any]]]()

Record = Callable[..., None]


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_ROWS] = {}
    config.stash[_TESTS] = {}


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Record:
    """Record one observed matrix row for the report (a no-op cost when not reporting)."""

    def add(**fields: Any) -> None:
        request.config.stash[_ROWS][request.node.nodeid] = {"nodeid": request.node.nodeid, **fields}

    return add


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        function = getattr(item, "function", None)
        doc = inspect.getdoc(function) if function is not None else None
        result: str = report.outcome
        if hasattr(report, "wasxfail"):
            result = "xfailed" if report.skipped else "xpassed"
        item.config.stash[_TESTS][item.nodeid] = {
            "nodeid": item.nodeid,
            "file": Path(str(item.path)).name,
            "name": getattr(item, "originalname", item.name),
            "doc": (doc or "").split("\n\n", 1)[0].replace("\n", " "),
            "outcome": result,
        }


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(RESULTS_ENV)
    if not target:
        return
    tests = session.config.stash[_TESTS]
    rows = []
    for nodeid, row in session.config.stash[_ROWS].items():
        rows.append({**row, "outcome_of_test": tests.get(nodeid, {}).get("outcome", "unknown")})
    policy = RetryPolicy()
    data = {
        "policy": {
            "max_retries": policy.max_retries,
            "budget": policy.budget,
            "max_wait": policy.max_wait,
        },
        "openai": openai.__version__,
        "http_library": gw_client.HTTPX.__name__,
        "python": platform.python_version(),
        "platform": sys.platform,
        "rows": rows,
        "tests": list(tests.values()),
    }
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[HostileServer]:
    """A hostile gateway (``hostile.py``) for this test, stopped when it ends."""
    with hostile_server() as srv:
        yield srv


@pytest.fixture
def fake_time() -> FakeTime:
    """Clock and sleeps for the retry policy: every wait recorded, none slept."""
    return FakeTime()


@pytest.fixture
def emu(gateway_emulator: GatewayEmulator) -> Iterator[GatewayEmulator]:
    """The session's emulator, reset, and left idle for the next test."""
    yield gateway_emulator
    gateway_emulator.wait_idle(5.0)


@pytest.fixture
async def close_async_clients() -> AsyncIterator[None]:
    """Close the async clients this test's event loop opened before the test ends, so
    the leak checks see a quiet pool (the loop's shutdown would close them too)."""
    yield
    await gw_client.aclose_clients()


@pytest.fixture(scope="session", autouse=True)
def _close_sync_clients() -> Iterator[None]:
    """Close gw_core's cached sync clients when the session ends (no unclosed sockets)."""
    yield
    gw_client.clear_cache()

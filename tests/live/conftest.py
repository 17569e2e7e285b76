"""The live suite: real requests to the real gateway, for maintainers before a release.

Deselected unless ``GW_LIVE=1`` (``make live-test`` sets it; ``make test`` and CI never
do), and skipped with a message when ``GW_API_KEY`` is not set. The key and base URL are
read when this file is imported, because the suite's autouse fixture clears every
``GW_*`` variable before each test. Live tests carry ``enable_socket``: the default
run allows loopback only.
"""

from __future__ import annotations

import os

import pytest

from gw_core.settings import Settings

LIVE = os.environ.get("GW_LIVE") == "1"
_KEY = os.environ.get("GW_API_KEY", "").strip()
_BASE_URL = os.environ.get("GW_BASE_URL", "").strip() or None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LIVE:
        return
    live = [item for item in items if item.get_closest_marker("live")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("live")]


@pytest.fixture(scope="session")
def live_settings() -> Settings:
    """The real gateway's settings, or a skip that says what to set."""
    if not _KEY:
        pytest.skip(
            "GW_API_KEY is not set: the live suite talks to the real gateway and needs a key "
            "(and GW_BASE_URL for a gateway other than the documented one)"
        )
    return Settings.resolve(api_key=_KEY, base_url=_BASE_URL)

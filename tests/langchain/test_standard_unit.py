"""langchain-tests' ChatModelUnitTests: the contract every LangChain chat model meets.

The serdes snapshot lives in ``__snapshots__/``; regenerate it (after a deliberate change
to the fields) with ``pytest tests/langchain/test_standard_unit.py --snapshot-update``.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_gw import ChatGateway

# Loopback: building a model never contacts anything, and no plain-HTTP warning fires.
_BASE = "http://127.0.0.1:9"
_CLASS_PATH = ("langchain_gw", "chat_models", "ChatGateway")
# The module, not the function of the same name that langchain_core.load exports.
load_module = importlib.import_module("langchain_core.load.load")


class TestChatGatewayUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatGateway]:
        return ChatGateway

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gpt-5.4", "api_key": "unit-test-key", "base_url": _BASE}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"GW_API_KEY": "env-test-key", "GW_BASE_URL": _BASE},
            {"model": "claude-sonnet-4-6"},
            {"api_key": "env-test-key", "base_url": _BASE, "model": "claude-sonnet-4-6"},
        )

    @pytest.fixture(autouse=True)
    def _allow_in_load_all(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Let ``load(..., allowed_objects="all")`` (what ``test_serdes`` calls) revive us.

        In langchain-core 1.8, "all" means the classes in core's own serialization
        mapping, which lists only the partner packages core ships with; a third-party
        model cannot be added except by core. Users revive ChatGateway with
        ``load(..., allowed_objects=[ChatGateway])`` (tested in test_chat_model_config);
        here we add our path to the mapping for the duration of one test only.
        """
        monkeypatch.setitem(load_module.ALL_SERIALIZABLE_MAPPINGS, _CLASS_PATH, _CLASS_PATH)
        monkeypatch.setattr(load_module, "_default_class_paths_cache", {})

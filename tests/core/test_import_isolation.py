"""gw_core imports no framework; each adapter imports only its own framework."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_after_import(module: str) -> set[str]:
    code = (
        f"import sys, {module}\nprint('\\n'.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        (
            "gw_core",
            {"langchain_core", "langchain", "llama_index", "langchain_gw", "llamaindex_gw"},
        ),
        ("gw_core.transport", {"langchain_core", "langchain", "llama_index"}),
        ("gw_core.emulator", {"langchain_core", "langchain", "llama_index"}),
        ("langchain_gw", {"llama_index", "llamaindex_gw"}),
        ("llamaindex_gw", {"langchain_core", "langchain", "langchain_gw"}),
    ],
)
def test_import_isolation(module: str, forbidden: set[str]) -> None:
    loaded = _loaded_after_import(module)
    assert module.split(".")[0] in loaded
    assert not (loaded & forbidden), f"{module} pulled in {sorted(loaded & forbidden)}"

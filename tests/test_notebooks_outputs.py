"""The committed notebooks: executed top to bottom, outputs stored, and no key in them.

``make test`` also runs every notebook with nbmake; these checks are about what is
committed, which readers see on GitHub without running anything.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: What a key looks like: the emulator's generated keys, OpenAI-style keys, the canary,
#: and a bearer token that is not redacted.
_SECRET = re.compile(r"gw-emu-[0-9a-f]{8,}|sk-[A-Za-z0-9_-]{16,}|CANARY|Bearer (?!\*\*\*)\S+")


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _output_text(output: dict[str, Any]) -> str:
    parts: list[str] = []
    for value in [output.get("text", ""), *output.get("data", {}).values(), output.get("evalue")]:
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value:
            parts.append(value if isinstance(value, str) else json.dumps(value))
    return "".join(parts)


def test_the_five_notebooks_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_langchain_quickstart.ipynb",
        "02_llamaindex_quickstart.ipynb",
        "03_rag_app.ipynb",
        "04_testing_with_the_emulator.ipynb",
        "05_batch_eval_on_ray.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed_in_order_without_errors(path: Path) -> None:
    cells = [c for c in _load(path)["cells"] if c["cell_type"] == "code"]
    assert cells
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    outputs = [o for c in cells for o in c["outputs"]]
    assert outputs, "executed notebooks are committed with their outputs"
    assert not [o for o in outputs if o["output_type"] == "error"]
    # Nothing machine-specific or noisy leaked into the stored outputs.
    text = "\n".join(_output_text(o) for o in outputs)
    assert "Traceback" not in text and "site-packages" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_holds_no_key(path: Path) -> None:
    notebook = _load(path)
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            found = _SECRET.search(_output_text(output))
            assert found is None, f"{path.name}: a key-like string in an output: {found}"
    source = "\n".join("".join(c["source"]) for c in notebook["cells"])
    assert not re.search(r"print\([^)]*api_key", source), "a notebook must not print a key"


def test_the_key_detector_finds_keys() -> None:
    generated = "gw-emu-" + "0123456789abcdef01234567"
    leaks = (generated, "sk-gw-CANARY-7f3a9c1e5b2d4f60a8e1", "Bearer gw-emu-1", "sk-" + "a" * 20)
    for leak in leaks:
        assert _SECRET.search(f"log: {leak} ok"), leak
    for fine in ("Bearer ***", "SecretStr('**********')", "the api_key argument"):
        assert not _SECRET.search(fine), fine

"""gw_core imports no framework; each adapter imports only its own framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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
        # The optional extras load only when a limiter or a Ray run is used.
        ("gw_core.limits", {"limits", "redis", "ray"}),
        ("gw_core.batch", {"limits", "redis", "ray", "langchain_core", "llama_index"}),
        ("gw_emulator", {"langchain_core", "langchain", "llama_index"}),
        ("langchain_gw", {"llama_index", "llamaindex_gw"}),
        ("llamaindex_gw", {"langchain_core", "langchain", "langchain_gw"}),
    ],
)
def test_import_isolation(module: str, forbidden: set[str]) -> None:
    loaded = _loaded_after_import(module)
    assert module.split(".")[0] in loaded
    assert not (loaded & forbidden), f"{module} pulled in {sorted(loaded & forbidden)}"


# Lazy imports (inside functions) are invisible to the subprocess check above; the source is
# read instead. Each package may import only what sits below it in the layering.
_FRAMEWORKS = {"langchain_core", "langchain", "langchain_openai", "llama_index"}
_TOOLS = {"gw_cli", "gw_emulator", "gw_demo"}
_ADAPTERS = {"langchain_gw", "llamaindex_gw"}
_FORBIDDEN_ANYWHERE = {
    "gw_core": _FRAMEWORKS | _TOOLS | _ADAPTERS | {"ray", "redis", "limits"},
    "langchain_gw": _TOOLS | {"llama_index", "llamaindex_gw"},
    "llamaindex_gw": _TOOLS | {"langchain_core", "langchain", "langchain_gw"},
    "gw_emulator": _FRAMEWORKS | _ADAPTERS | {"gw_cli", "gw_demo"},
}
_ROOT = Path(__file__).resolve().parents[2]
# The only modules that may import the optional extras, and only lazily (checked above).
_EXTRAS = {"ray", "redis", "limits"}
_EXTRAS_ALLOWED_IN = ("gw_core/limits.py", "gw_core/batch/")


def _allowed(path: Path, root: str) -> bool:
    relative = path.relative_to(_ROOT).as_posix()
    return root in _EXTRAS and relative.startswith(_EXTRAS_ALLOWED_IN)


def _imported_roots(path: Path) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add((node.args[0].value.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize("package", sorted(_FORBIDDEN_ANYWHERE))
def test_no_import_reaches_up_or_across_even_lazily(package: str) -> None:
    forbidden = _FORBIDDEN_ANYWHERE[package]
    offences = [
        f"{path.relative_to(_ROOT)}:{line} imports {root}"
        for path in sorted((_ROOT / package).rglob("*.py"))
        for root, line in sorted(_imported_roots(path))
        if root in forbidden and not _allowed(path, root)
    ]
    assert not offences, "\n".join(offences)


def test_the_ast_check_sees_a_lazy_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from gw_demo.app import run_demo\n    import_module('langchain_core')\n"
    )
    assert {root for root, _ in _imported_roots(sample)} == {"gw_demo", "langchain_core"}


def test_only_the_limiter_and_batch_modules_may_import_the_extras() -> None:
    assert _allowed(_ROOT / "gw_core" / "batch" / "ray_engine.py", "ray")
    assert _allowed(_ROOT / "gw_core" / "limits.py", "redis")
    assert not _allowed(_ROOT / "gw_core" / "transport.py", "redis")
    assert not _allowed(_ROOT / "gw_core" / "batch" / "engine.py", "langchain_core")

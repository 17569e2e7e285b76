"""Every Python block of the README runs as written (on the emulator), and its tables and
the docs' tables say what the code does."""

from __future__ import annotations

import inspect
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gw_core import settings as gw_settings
from gw_core.catalog import BASES, all_ids
from gw_emulator import Fault, GatewayEmulator

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(text) if lang == language]


PYTHON_BLOCKS = _blocks(README, "python")


def _block_id(block: str) -> str:
    first = next(line for line in block.splitlines() if line and not line.startswith("from"))
    return first[:40]


@pytest.fixture
def fresh_llamaindex_settings() -> Iterator[None]:
    """README blocks may set LlamaIndex's global ``Settings.llm``; put it back after."""
    from llama_index.core import Settings

    saved = Settings._llm
    yield
    Settings._llm = saved


def test_the_readme_has_the_blocks_it_promises() -> None:
    assert len(PYTHON_BLOCKS) >= 4
    joined = "\n".join(PYTHON_BLOCKS)
    for needle in ("ChatGateway", "GatewayLLM", "GatewayEmulator", "gateway_env", "pools="):
        assert needle in joined
    shell = "\n".join(_blocks(README, "bash"))
    assert "make demo" in shell and "make test" in shell
    for needle in ("create_agent", "astream_events", "CondensePlusContextChatEngine"):
        assert needle in joined


def _section(title: str) -> str:
    """The README text from the ``## {title}`` heading to the next ``## `` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def test_the_emulator_recipe_comes_before_the_quickstarts() -> None:
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings.index("Try it on the emulator") < headings.index("LangChain quickstart")
    (recipe,) = _blocks(_section("Try it on the emulator"), "bash")
    assert len(recipe.strip().splitlines()) == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _recipe_command(line: str, port: str) -> list[str]:
    """The recipe's ``.venv/bin/gw emulator ... &`` line, for this venv and a free port."""
    argv = shlex.split(line.replace("8765", port))
    assert argv[0] == ".venv/bin/gw" and argv[-1] == "&", line
    gw = Path(sys.executable).with_name("gw")
    head = [str(gw)] if gw.exists() else [sys.executable, "-m", "gw_cli"]
    return [*head, *argv[1:-1]]


def test_the_recipe_as_written_runs_both_quickstarts_from_a_shell(tmp_path: Path) -> None:
    """What a newcomer does: start the emulator, export the two variables, run the
    quickstarts with the venv's python, in a fresh process each, outside the checkout."""
    serve, export = _blocks(_section("Try it on the emulator"), "bash")[0].strip().splitlines()
    port = str(_free_port())
    words = shlex.split(export.replace("8765", port))
    assert words[0] == "export"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    env.update(word.split("=", 1) for word in words[1:])
    server = subprocess.Popen(
        _recipe_command(serve, port), stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert server.stdout is not None
        assert f"serving at http://127.0.0.1:{port}" in server.stdout.readline()
        for needle, expected in (
            ("bind_tools", "get_weather {'city': 'Oslo'} -> Sunny and 21 degrees in Oslo"),
            ("BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=2)", "Refunds are paid"),
        ):
            block = next(b for b in PYTHON_BLOCKS if needle in b)
            done = subprocess.run(
                [sys.executable, "-c", block],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,  # a hang guard, not a speed check
            )
            assert done.returncode == 0, done.stderr[-3000:]
            assert expected in done.stdout
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert server.returncode == 0  # SIGTERM is a clean stop


def test_the_new_examples_print_what_they_promise(
    gateway_env: GatewayEmulator,
    fresh_llamaindex_settings: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    agent = next(b for b in PYTHON_BLOCKS if "create_agent" in b)
    exec(compile(agent, "README.md", "exec"), {"__name__": "readme_block"})
    out = capsys.readouterr().out
    assert "ai: [('get_weather', {'city': 'Oslo'})]" in out
    assert "tool: Sunny and 21 degrees in Oslo" in out
    assert out.strip().splitlines()[-1].startswith("ai: ")

    events = next(b for b in PYTHON_BLOCKS if "astream_events" in b)
    exec(compile(events, "README.md", "exec"), {"__name__": "readme_block"})
    out = capsys.readouterr().out
    assert "What is a gateway?" in out and "usage: {'input_tokens'" in out

    chat = next(b for b in PYTHON_BLOCKS if "CondensePlusContextChatEngine" in b)
    exec(compile(chat, "README.md", "exec"), {"__name__": "readme_block"})
    out = capsys.readouterr().out
    assert "Refunds are paid within five working days of the request." in out
    assert "Our office is open from 9 to 17 on weekdays." in out


def test_the_retry_event_example_in_the_docs_counts_retries(
    gateway_env: GatewayEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from llama_index.core.instrumentation import get_dispatcher

    from llamaindex_gw import GatewayLLM

    page = (ROOT / "docs/retries-and-errors.md").read_text(encoding="utf-8")
    (block,) = _blocks(page, "python")
    root = get_dispatcher()
    before = list(root.event_handlers)
    try:
        exec(compile(block, "retries-and-errors.md", "exec"), {"__name__": "docs_block"})
        gateway_env.inject(Fault.status(503), times=2)
        GatewayLLM().complete("Hello")
    finally:
        root.event_handlers[:] = before
    assert capsys.readouterr().out.splitlines() == [
        "retry 1/2: ServerError 503",
        "retry 2/2: ServerError 503",
    ]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=_block_id)
def test_python_block_runs_as_written(
    block: str,
    gateway_env: GatewayEmulator,
    fresh_llamaindex_settings: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_block"}
    exec(compile(block, "README.md", "exec"), namespace)
    # Test functions in a block are what a user's pytest would run: run them the same way.
    for name, value in list(namespace.items()):
        if name.startswith("test_") and inspect.isfunction(value):
            gateway_env.reset()
            params = inspect.signature(value).parameters
            value(**{p: gateway_env for p in params if p in ("gateway_env", "gateway_emulator")})
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    assert gateway_env.api_key not in printed.out + printed.err


def test_quickstarts_print_answers_from_the_emulator(
    gateway_env: GatewayEmulator,
    fresh_llamaindex_settings: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    langchain_block = next(b for b in PYTHON_BLOCKS if "bind_tools" in b)
    exec(compile(langchain_block, "README.md", "exec"), {"__name__": "readme_block"})
    out = capsys.readouterr().out
    assert "get_weather {'city': 'Oslo'} -> Sunny and 21 degrees in Oslo" in out
    assert "Inception 2010" in out

    llamaindex_block = next(b for b in PYTHON_BLOCKS if "BM25Retriever" in b)
    exec(compile(llamaindex_block, "README.md", "exec"), {"__name__": "readme_block"})
    out = capsys.readouterr().out
    assert "Refunds are paid within five working days of the request." in out
    assert "office" not in out  # BM25 left the other document out

    retry_block = next(b for b in PYTHON_BLOCKS if "pools=" in b)
    gateway_env.reset()
    gateway_env.inject(Fault.status(503), model="claude-sonnet-4-6-hc")
    exec(compile(retry_block, "README.md", "exec"), {"__name__": "readme_block"})
    assert capsys.readouterr().out == "answered by the official pool\n"
    assert [r.model for r in gateway_env.requests] == [
        "claude-sonnet-4-6-hc",
        "claude-sonnet-4-6-official",
    ]


# -- tables ------------------------------------------------------------------------------------


def _table_rows(text: str, header_start: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.replace("`", "").strip() for cell in line.strip("|").split("|")])
    return rows


@pytest.mark.parametrize("page", ["README.md", "docs/models-and-pools.md"])
def test_model_tables_match_the_catalog(page: str) -> None:
    rows = _table_rows((ROOT / page).read_text(encoding="utf-8"), "| Base | Family | Pools |")
    expected = [
        [
            base.name,
            base.family.value,
            ", ".join(base.pools),
            f"{base.context_window:,}",
            f"{base.max_output:,}",
        ]
        for base in BASES
    ]
    assert [[r[0], r[1], r[2], r[4], r[5]] for r in rows] == expected
    assert [("video" in r[3]) for r in rows] == [base.video for base in BASES]
    assert f"{len(all_ids())} model ids" in (ROOT / "docs/models-and-pools.md").read_text()


def test_configuration_table_names_real_arguments_and_variables() -> None:
    from langchain_gw import ChatGateway
    from llamaindex_gw import GatewayLLM

    rows = _table_rows(README, "| Argument | Variable | Default |")
    variables = {r[1] for r in rows if r[1]}
    assert variables == {
        gw_settings.ENV_API_KEY,
        gw_settings.ENV_BASE_URL,
        gw_settings.ENV_TIMEOUT,
        gw_settings.ENV_REQUIRE_HTTPS,
    }
    langchain_fields = set(ChatGateway.model_fields) | {"model_name", "api_base", "max_tokens"}
    llamaindex_fields = set(GatewayLLM.model_fields) | {"api_key", "api_base", "max_tokens"}
    for row in rows:
        for name in re.findall(r"([a-z_]+)", row[0].replace("alias", "")):
            assert name in langchain_fields, name
            assert name in llamaindex_fields, name
    defaults = {r[0].split()[0]: r[2] for r in rows if r[0]}
    assert gw_settings.DEFAULT_BASE_URL in defaults["base_url"]


def test_docs_pages_link_only_to_files_that_exist() -> None:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        if not page.exists():
            continue
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"

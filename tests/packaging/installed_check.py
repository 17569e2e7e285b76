"""Run by ``smoke.py`` inside a fresh venv holding the installed wheel, from a folder
outside the checkout: what a user gets from ``pip install``, checked as a user would use it.

    python installed_check.py --with langchain --with llamaindex

checks that our modules come from the venv (not a checkout), that the installed version and
entry points are ours and load, and, per framework named, that its adapter answers on the
emulator; for every framework not named, that it is absent and that the adapter(s) present
imported without it. Standard library and the installed package only.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

DIST = "gw-integrations"
OURS = ("gw_core", "gw_cli", "gw_emulator", "gw_demo", "langchain_gw", "llamaindex_gw")
#: extra -> the framework it brings (its top-level module)
FRAMEWORKS = {"langchain": "langchain_core", "llamaindex": "llama_index"}


def check_installed_copy() -> None:
    """Every package of ours resolves inside this venv's site-packages."""
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    for name in OURS:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, f"{name} is not installed"
        origin = Path(spec.origin).resolve()
        assert site in origin.parents, f"{name} imports from {origin}, not from {site}"


def check_version_and_entry_points() -> None:
    import gw_core

    assert metadata.version(DIST) == gw_core.__version__, (
        metadata.version(DIST),
        gw_core.__version__,
    )
    entry_points = list(metadata.distribution(DIST).entry_points)
    assert {(ep.group, ep.name) for ep in entry_points} >= {
        ("console_scripts", "gw"),
        ("pytest11", "gw_emulator"),
    }
    has_pytest = importlib.util.find_spec("pytest") is not None
    for ep in entry_points:
        if ep.group == "pytest11" and not has_pytest:
            continue  # the plugin needs the [emulator] extra
        assert ep.load() is not None, ep


def check_langchain() -> None:
    from gw_emulator import GatewayEmulator, ScriptedReply
    from langchain_gw import ChatGateway

    with GatewayEmulator() as emu:
        llm = ChatGateway(model="gpt-5.4", api_key=emu.api_key, base_url=emu.base_url)
        reply = llm.invoke("Hello from an installed wheel")
        assert isinstance(reply.content, str) and reply.content.strip(), reply
        emu.script(ScriptedReply(content="Refunds take five days."))
        streamed = "".join(str(chunk.content) for chunk in llm.stream("How long do refunds take?"))
        assert streamed == "Refunds take five days.", streamed
        assert [r.status for r in emu.requests] == [200, 200]
        assert emu.api_key not in repr(llm)


def check_llamaindex() -> None:
    from llama_index.core.llms import ChatMessage

    from gw_emulator import GatewayEmulator, ScriptedReply
    from llamaindex_gw import GatewayLLM

    with GatewayEmulator() as emu:
        llm = GatewayLLM(model="claude-sonnet-4-6", api_key=emu.api_key, base_url=emu.base_url)
        answer = llm.complete("Hello from an installed wheel")
        assert answer.text.strip(), answer
        emu.script(ScriptedReply(content="Refunds take five days."))
        chat = llm.chat([ChatMessage(role="user", content="How long do refunds take?")])
        assert chat.message.content == "Refunds take five days.", chat
        assert [r.status for r in emu.requests] == [200, 200]
        assert emu.api_key not in repr(llm)


CHECKS = {"langchain": check_langchain, "llamaindex": check_llamaindex}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--with", dest="frameworks", action="append", default=[], choices=sorted(FRAMEWORKS)
    )
    args = parser.parse_args()
    check_installed_copy()
    check_version_and_entry_points()
    for framework in args.frameworks:
        CHECKS[framework]()
    for framework, module in FRAMEWORKS.items():
        if framework in args.frameworks:
            continue
        assert importlib.util.find_spec(module) is None, (
            f"{module} is installed without [{framework}]"
        )
        loaded = sorted(m for m in sys.modules if m == module or m.startswith(module + "."))
        assert not loaded, f"the adapters imported {loaded}"
    import openai

    frameworks = ", ".join(args.frameworks) or "none"
    print(f"installed_check: ok on openai {openai.__version__} (frameworks: {frameworks})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

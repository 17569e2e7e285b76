"""``make wheel-smoke``: install the built wheel into fresh venvs outside the checkout and use
it there as a user would, once per openai major.

    python -m tests.packaging.smoke --dist dist --openai ">=3,<4" --openai ">=2,<3"

Per openai pin, three venvs in a temporary folder (uv with its warm cache: seconds each):

- every extra but dev: ``gw --help``, ``gw models``, ``gw chat --emulator``, ``gw demo``
  (which must answer on its embedded emulator from the packaged corpus), a LangChain and a
  LlamaIndex call on the emulator, and a user's test file run by the venv's own pytest with
  the ``gateway_emulator`` fixture from the wheel's entry point;
- ``[langchain]`` alone and ``[llamaindex]`` alone: the adapter answers on the emulator and
  the other framework is neither installed nor imported.

Every command runs from a folder outside the checkout with no GW_* variables, so nothing
can come from the source tree or the developer's gateway. Exits non-zero on the first
failure, printing the command's output.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

from tests.packaging.dist import ROOT, find_dist, pyproject

HERE = Path(__file__).resolve().parent
DEFAULT_OPENAI = (">=3,<4", ">=2,<3")
#: Extras a user never installs for the library itself.
_NOT_FOR_USERS = {"dev"}
#: A hang guard for one command, not a speed expectation.
_COMMAND_TIMEOUT_S = 900


class SmokeFailure(Exception):
    """A step of the smoke test failed; the message holds the command and its output."""


@dataclass
class Venv:
    path: Path
    label: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def gw(self) -> Path:
        return self.path / "bin" / "gw"


def clean_env() -> dict[str, str]:
    """The environment minus what could point at the checkout or a real gateway.

    PYTHONDONTWRITEBYTECODE goes too: the venvs are throwaway, and without cached bytecode
    every command would compile LangChain and LlamaIndex again (about 3x slower).
    """
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONDONTWRITEBYTECODE"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("GW_")}


def run(command: list[str | Path], cwd: Path, *, expect_ok: bool = True) -> str:
    """Run one command from ``cwd``; its stdout+stderr, or SmokeFailure with them."""
    words = [str(c) for c in command]
    started = time.monotonic()
    done = subprocess.run(
        words,
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=_COMMAND_TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    shown = " ".join(Path(w).name if w.startswith("/") else w for w in words)
    print(f"    {time.monotonic() - started:5.1f}s  {shown[:110]}", flush=True)
    if (done.returncode == 0) != expect_ok:
        raise SmokeFailure(f"`{' '.join(words)}` exited {done.returncode}:\n{output}")
    return output


def expect(output: str, *needles: str) -> None:
    missing = [n for n in needles if n not in output]
    if missing:
        raise SmokeFailure(f"missing {missing} in the output:\n{output}")


def make_venv(root: Path, label: str, wheel: Path, extras: list[str], openai: str) -> Venv:
    """A fresh venv with the wheel (and these extras) and openai pinned, installed by uv."""
    venv = Venv(root / label, label)
    uv = [sys.executable, "-m", "uv"]
    run([*uv, "venv", "--quiet", "--python", sys.executable, venv.path], root)
    requirement = f"gw-integrations[{','.join(extras)}] @ {wheel.as_uri()}"
    run(
        [*uv, "pip", "install", "--quiet", "--python", venv.python, requirement, f"openai{openai}"],
        root,
    )
    return venv


def installed_check(venv: Venv, work: Path, openai: str, *frameworks: str) -> None:
    """installed_check.py in the venv, which must have run on an openai in ``openai``."""
    flags = [word for framework in frameworks for word in ("--with", framework)]
    output = run([venv.python, HERE / "installed_check.py", *flags], work)
    found = re.search(r"installed_check: ok on openai (\S+)", output)
    if not found or not SpecifierSet(openai).contains(found.group(1)):
        raise SmokeFailure(f"expected openai{openai} in the venv:\n{output}")


def check_full(venv: Venv, work: Path, openai: str) -> None:
    """The command line, the demo, both adapters and the pytest plugin, all installed."""
    expect(run([venv.gw, "--help"], work), "models", "chat", "demo", "emulator")
    expect(run([venv.gw, "models"], work), "gpt-5.4", "claude-sonnet-4-6", "model ids")
    chat = run(
        [venv.gw, "chat", "Say hello to the wheel.", "--model", "gpt-5.4", "--emulator"], work
    )
    expect(chat, "embedded emulator", "finish: stop")
    demo = run([venv.gw, "demo", "--no-progress"], work)
    expect(
        demo,
        "Running on the embedded gateway emulator",
        "Indexed",
        "docs/multimodal.md",
        "Done: 3 questions answered by LangChain and LlamaIndex on the embedded emulator.",
    )
    installed_check(venv, work, openai, "langchain", "llamaindex")
    (work / "pytest.ini").write_text("[pytest]\n")
    shutil.copyfile(HERE / "user_app_tests.py", work / "test_user_app.py")
    expect(
        run(
            [venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user_app.py"], work
        ),
        "2 passed",
    )


def check_one_framework(venv: Venv, work: Path, openai: str, framework: str) -> None:
    """One extra alone: its adapter works; the other framework is absent; the CLI says so."""
    installed_check(venv, work, openai, framework)
    expect(run([venv.gw, "models"], work), "model ids")
    expect(run([venv.gw, "demo"], work, expect_ok=False), "demo extra", "gw-integrations[demo]")


def smoke(wheel: Path, openai: str, root: Path, extras: list[str]) -> None:
    work = root / "work"
    work.mkdir()
    print(f"  openai{openai}: [{','.join(extras)}]", flush=True)
    check_full(make_venv(root, "full", wheel, extras, openai), work, openai)
    for framework in ("langchain", "llamaindex"):
        print(f"  openai{openai}: [{framework}] alone", flush=True)
        venv = make_venv(root, framework, wheel, [framework], openai)
        check_one_framework(venv, work, openai, framework)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Install the built wheel and use it, outside the checkout."
    )
    parser.add_argument(
        "--dist", type=Path, default=ROOT / "dist", help="folder with the wheel (make dist)"
    )
    parser.add_argument("--openai", action="append", help="openai version range, repeatable")
    args = parser.parse_args(argv)
    wheel, _ = find_dist(args.dist.resolve())
    extras = sorted(set(pyproject()["project"]["optional-dependencies"]) - _NOT_FOR_USERS)
    started = time.monotonic()
    print(f"wheel-smoke: {wheel.name}", flush=True)
    try:
        for openai in args.openai or DEFAULT_OPENAI:
            with tempfile.TemporaryDirectory(prefix="gw-wheel-smoke-") as tmp:
                smoke(wheel, openai, Path(tmp), extras)
    except (SmokeFailure, subprocess.TimeoutExpired) as exc:
        print(f"wheel-smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"wheel-smoke: ok in {time.monotonic() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

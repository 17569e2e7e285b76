"""What the packaging checks read: pyproject.toml, and a built wheel and sdist.

The wheel under test is the one ``make dist`` built (``python -m build``, isolated, as a
user's ``pip install`` builds it) when ``TEST_DIST_DIR`` names its folder; otherwise the
tests build one themselves with ``--no-isolation`` (offline, from this venv's hatchling).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the venvs run 3.11+
    import tomli as tomllib  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
#: Set by ``make wheel-smoke``: the folder holding the sdist and the wheel to check.
DIST_ENV = "TEST_DIST_DIR"


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    return data


def wheel_packages() -> list[str]:
    """The import packages the wheel is configured to ship."""
    packages: list[str] = pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return packages


def corpus_map() -> dict[str, str]:
    """docs page in the checkout -> its place in the wheel (the demo's corpus)."""
    targets = pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]
    mapping: dict[str, str] = targets.get("force-include", {})
    return mapping


def build(outdir: Path, *, isolated: bool) -> None:
    """``python -m build``: the sdist, then the wheel built from that sdist."""
    command = [sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)]
    if isolated:
        command[3:3] = ["--installer", "uv"]
    else:
        command.insert(3, "--no-isolation")
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=outdir)


def find_dist(outdir: Path) -> tuple[Path, Path]:
    """The one wheel and the one sdist in ``outdir``."""
    wheels = sorted(outdir.glob("*.whl"))
    sdists = sorted(outdir.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise FileNotFoundError(
            f"expected one wheel and one sdist in {outdir}, found {wheels + sdists}; "
            "run `make dist` (it empties the folder first)"
        )
    return wheels[0], sdists[0]


def dist_dir_from_env() -> Path | None:
    value = os.environ.get(DIST_ENV)
    return Path(value).resolve() if value else None


@dataclass(frozen=True)
class Wheel:
    """A wheel's member names, its METADATA and its entry points, read with zipfile."""

    path: Path
    names: list[str]
    metadata: Message
    entry_points: dict[str, dict[str, str]]

    @property
    def dist_info(self) -> str:
        return next(n.split("/", 1)[0] for n in self.names if ".dist-info/" in n)

    def read(self, name: str) -> bytes:
        with zipfile.ZipFile(self.path) as zf:
            return zf.read(name)


def read_wheel(path: Path) -> Wheel:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        dist_info = next(n.split("/", 1)[0] for n in names if ".dist-info/" in n)
        metadata = HeaderParser().parsestr(zf.read(f"{dist_info}/METADATA").decode("utf-8"))
        entry_points = _parse_entry_points(zf.read(f"{dist_info}/entry_points.txt").decode())
    return Wheel(path, names, metadata, entry_points)


def _parse_entry_points(text: str) -> dict[str, dict[str, str]]:
    """entry_points.txt (INI-like) -> {group: {name: "module:attr"}}."""
    groups: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1], {})
        elif "=" in line and current is not None:
            name, value = line.split("=", 1)
            current[name.strip()] = value.strip()
    return groups


def sdist_names(path: Path) -> list[str]:
    """The sdist's members, without the ``name-version/`` prefix."""
    with tarfile.open(path) as tf:
        return [m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name and m.isfile()]

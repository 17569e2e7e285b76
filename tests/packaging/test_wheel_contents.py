"""The wheel holds our packages, their data and the demo's corpus, nothing else, and says
what it is (version, license, Python, extras, entry points, classifiers, README)."""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import trove_classifiers
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from readme_renderer.markdown import render

from gw_core import __version__
from gw_demo.corpus import GENERATED_REPORTS, markdown_files
from tests.packaging.dist import (
    ROOT,
    Wheel,
    build,
    corpus_map,
    dist_dir_from_env,
    find_dist,
    pyproject,
    read_wheel,
    sdist_names,
    wheel_packages,
)

PROJECT = pyproject()["project"]


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, sdist): ``make dist``'s when TEST_DIST_DIR is set, else built here."""
    given = dist_dir_from_env()
    if given is not None:
        return find_dist(given)
    outdir = tmp_path_factory.mktemp("dist")
    build(outdir, isolated=False)
    return find_dist(outdir)


@pytest.fixture(scope="session")
def wheel(dist: tuple[Path, Path]) -> Wheel:
    return read_wheel(dist[0])


def _tracked(*paths: str) -> set[str] | None:
    """The files git tracks under ``paths``; None outside a git checkout (an unpacked sdist)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0 or not listed.stdout:
        return None
    return {name for name in listed.stdout.split("\0") if name}


def _checkout_files(package: str) -> set[str]:
    """The package's files as wheel member names: what git tracks, so a stray file left in
    a package folder fails here before it ships; else every file there."""
    tracked = _tracked(package)
    if tracked is not None:
        return tracked
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _normalized(req: Requirement) -> str:
    return f"{canonicalize_name(req.name)}{sorted(req.extras)}{req.specifier}"


def _declared(dependencies: list[str]) -> set[str]:
    """pyproject requirements that apply here, normalized; our own name (the dev extra's
    reference to our other extras, which the wheel flattens) left out."""
    reqs = [Requirement(d) for d in dependencies]
    return {
        _normalized(r)
        for r in reqs
        if canonicalize_name(r.name) != canonicalize_name(PROJECT["name"])
        and (r.marker is None or r.marker.evaluate({"extra": ""}))
    }


def _shipped(requires_dist: list[str], extra: str | None) -> set[str]:
    """Requires-Dist entries that apply with ``extra`` (None: the base install), normalized."""
    found = set()
    for line in requires_dist:
        req = Requirement(line)
        if req.marker is None or "extra" not in str(req.marker):
            applies = extra is None
        else:
            applies = extra is not None and req.marker.evaluate({"extra": extra})
        if applies:
            found.add(_normalized(req))
    return found


def test_the_wheel_holds_exactly_our_packages_their_data_and_the_demo_corpus(
    wheel: Wheel,
) -> None:
    expected = set().union(*(_checkout_files(p) for p in wheel_packages()))
    expected |= set(corpus_map().values())
    ours = {n for n in wheel.names if not n.startswith(wheel.dist_info + "/")}
    assert ours == expected
    assert {n.split("/", 1)[0] for n in ours} == set(wheel_packages())
    assert not [n for n in wheel.names if "tests" in PurePosixPath(n).parts or n.endswith(".pyc")]


def test_every_package_in_the_wheel_is_marked_typed(wheel: Wheel) -> None:
    assert {f"{p}/py.typed" for p in wheel_packages()} <= set(wheel.names)


def test_the_demo_corpus_in_the_wheel_is_the_prose_of_docs(wheel: Wheel) -> None:
    written = markdown_files(ROOT / "docs")
    assert {f"docs/{p.name}" for p in written} == set(corpus_map()), (
        "every prose page of docs/ is listed in pyproject's "
        "[tool.hatch.build.targets.wheel.force-include], and nothing else"
    )
    assert not GENERATED_REPORTS & {PurePosixPath(n).name for n in corpus_map().values()}
    for page in written:
        shipped = wheel.read(f"gw_demo/docs/{page.name}")
        assert shipped == page.read_bytes(), page.name
    # Small: a few tens of KB of prose, not the generated reports or images.
    assert sum(len(wheel.read(n)) for n in corpus_map().values()) < 100_000


def test_the_wheel_metadata_says_what_pyproject_says(wheel: Wheel) -> None:
    meta = wheel.metadata
    assert canonicalize_name(meta["Name"]) == canonicalize_name(PROJECT["name"])
    assert meta["Version"] == __version__
    assert wheel.path.name.startswith(f"gw_integrations-{__version__}-py3-none-any")
    assert meta["License-Expression"] == PROJECT["license"]
    assert "MIT License" in wheel.read(f"{wheel.dist_info}/licenses/LICENSE").decode()
    assert meta["Requires-Python"] == PROJECT["requires-python"]
    assert meta["Summary"] == PROJECT["description"]
    assert set(meta.get_all("Provides-Extra") or []) == set(PROJECT["optional-dependencies"])
    required = meta.get_all("Requires-Dist") or []
    assert _shipped(required, None) == _declared(PROJECT["dependencies"])
    for extra, dependencies in PROJECT["optional-dependencies"].items():
        assert _declared(dependencies) <= _shipped(required, extra), extra


def test_the_wheel_classifiers_are_known_to_pypi_and_the_ones_we_set(wheel: Wheel) -> None:
    classifiers = wheel.metadata.get_all("Classifier") or []
    assert sorted(classifiers) == sorted(PROJECT["classifiers"])
    assert [c for c in classifiers if c not in trove_classifiers.classifiers] == []
    assert "Typing :: Typed" in classifiers and "Framework :: Pytest" in classifiers


def test_the_long_description_is_the_readme_and_renders_as_pypi_would(wheel: Wheel) -> None:
    meta = wheel.metadata
    assert meta["Description-Content-Type"] == "text/markdown"
    body = meta.get_payload()
    assert isinstance(body, str)
    assert body.strip() == (ROOT / "README.md").read_text(encoding="utf-8").strip()
    html = render(body)
    assert html is not None and "<h1" in html and "<table>" in html


def test_every_entry_point_in_pyproject_is_in_the_wheel_and_loads(wheel: Wheel) -> None:
    declared = {"console_scripts": PROJECT["scripts"], **PROJECT["entry-points"]}
    assert wheel.entry_points == declared
    assert wheel.entry_points["console_scripts"]["gw"] == "gw_cli.main:main"
    assert "gw_emulator" in wheel.entry_points["pytest11"]
    for group in declared.values():
        for target in group.values():
            module, _, attr = target.partition(":")
            assert f"{module.replace('.', '/')}.py" in wheel.names, target
            loaded = importlib.import_module(module)
            assert not attr or callable(getattr(loaded, attr)), target


def test_the_version_is_written_in_one_place(wheel: Wheel) -> None:
    # Code and data only: a sample report quoted in a shipped docs page shows the version
    # that produced it, which is output, not a second source of truth.
    literal = re.compile(rf"(?<![\d.]){re.escape(__version__)}(?![\d.])")
    holders = [
        name
        for name in wheel.names
        if not name.startswith(wheel.dist_info + "/")
        and not name.endswith(".md")
        and literal.search(wheel.read(name).decode())
    ]
    assert holders == ["gw_core/_version.py"]
    assert pyproject()["tool"]["hatch"]["version"]["path"] == "gw_core/_version.py"
    assert "version" in PROJECT["dynamic"] and "version" not in PROJECT


def test_the_sdist_carries_what_builds_and_tests_the_wheel_and_no_working_files(
    dist: tuple[Path, Path],
) -> None:
    names = set(sdist_names(dist[1]))
    assert {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"} <= names
    assert set(corpus_map()) <= names
    assert "tests/packaging/test_wheel_contents.py" in names
    assert {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")} <= names
    tops = {n.split("/", 1)[0] for n in names}
    allowed = {*wheel_packages(), "docs", "tests", "notebooks", "pyproject.toml", "LICENSE"}
    allowed |= {"README.md", "CONTRIBUTING.md"}  # the suite checks what they say
    assert tops - allowed <= {"PKG-INFO", ".gitignore"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    tracked = _tracked(".")
    if tracked is not None:  # in a git checkout: nothing untracked slipped in
        assert names - tracked <= {"PKG-INFO"}

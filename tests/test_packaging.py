"""What the wheel carries: every package under src/carepop, the instruments from the top-level
questionnaires/ folder, the bundled data, and no tests.

The wheel is built once for the module (a few seconds) from a copy of the files that go into it,
so no stale ``build/`` folder of the checkout can leak into it and nothing is written there.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "carepop"
INSTRUMENTS = ROOT / "questionnaires"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _src_packages() -> set[str]:
    return {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in PKG.rglob("__init__.py")
        if "__pycache__" not in p.parts
    }


def test_every_folder_with_modules_is_a_package():
    """A folder of modules without ``__init__.py`` would be a namespace package that an explicit
    ``packages`` list leaves out of the wheel without a word."""
    folders = {p.parent for p in PKG.rglob("*.py") if "__pycache__" not in p.parts}
    assert [str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()] == []


def test_packages_list_is_every_package_and_the_instruments():
    assert sorted(SETUPTOOLS["packages"]) == sorted(_src_packages() | {"carepop.questionnaires.instruments"})
    assert SETUPTOOLS["package-dir"] == {"": "src", "carepop.questionnaires.instruments": "questionnaires"}


def _build_isolation_needed() -> bool:
    """Build in the current environment when it has what pyproject asks for (fast, offline);
    otherwise let pip make an isolated build environment (from the configured index)."""
    try:
        have = int(importlib.metadata.version("setuptools").split(".")[0])
        importlib.metadata.version("wheel")
    except importlib.metadata.PackageNotFoundError:
        return True
    need = next(r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools"))
    return ">=" in need and have < int(need.split(">=")[1].split(".")[0])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Iterator[zipfile.ZipFile]:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", src / "src", ignore=ignore)
    shutil.copytree(INSTRUMENTS, src / "questionnaires", ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), "."]
    if not _build_isolation_needed():
        cmd.insert(-1, "--no-build-isolation")
    proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    (path,) = out.glob("carepop-*.whl")
    with zipfile.ZipFile(path) as z:
        yield z


def _names(wheel: zipfile.ZipFile) -> set[str]:
    return set(wheel.namelist())


def test_wheel_has_the_three_instruments(wheel):
    yamls = sorted(p.name for p in INSTRUMENTS.glob("*.yaml"))
    assert yamls == ["self_funders.yaml", "unpaid_carers.yaml", "workforce.yaml"]
    inside = {n for n in _names(wheel) if n.startswith("carepop/questionnaires/instruments/")}
    for y in yamls:
        assert f"carepop/questionnaires/instruments/{y}" in inside
        assert wheel.read(f"carepop/questionnaires/instruments/{y}") == (INSTRUMENTS / y).read_bytes()
    assert "carepop/questionnaires/instruments/__init__.py" in inside


def test_wheel_has_every_module_and_the_bundled_data(wheel):
    names = _names(wheel)
    src = ROOT / "src"
    modules = {p.relative_to(src).as_posix() for p in PKG.rglob("*.py") if "__pycache__" not in p.parts}
    assert modules - names == set()
    data = {p.relative_to(src).as_posix() for p in (PKG / "data").rglob("*.csv")}
    assert data, "no bundled CSVs found under src/carepop/data"
    assert data - names == set()


def test_wheel_has_no_tests_and_nothing_outside_the_package(wheel):
    names = _names(wheel)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"carepop", f"carepop-{PYPROJECT['project']['version']}.dist-info"}
    testish = [
        n
        for n in names
        if "/tests/" in f"/{n}"
        or Path(n).name.startswith("test_")
        or Path(n).name == "conftest.py"
        or n.startswith(("validation/", "benchmarks/"))
    ]
    assert testish == []


def test_wheel_installs_the_console_script(wheel):
    (ep,) = [n for n in _names(wheel) if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(ep).decode()
    assert "[console_scripts]" in text and "carepop = carepop.cli.main:main" in text

"""The shape of the repository (DESIGN.md section 3, issue 10): small modules, no layer reading
another's private names, the import-layer contract, tests mirroring the packages, default output
folders kept out of git.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PKG = SRC / "carepop"
TESTS = ROOT / "tests"

#: DESIGN.md: "Keep modules small (a few hundred lines)"; issue 10: none over 800
MAX_LINES = 800


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(dotted: str) -> str:
    """The top-level package a module belongs to: ``carepop.core`` for
    ``carepop.core.estimation.taylor``, ``carepop.errors`` for ``carepop.errors``, ``carepop``
    for the root package itself."""
    return ".".join(dotted.split(".")[:2])


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def _walk(tree: ast.AST) -> list[ast.AST]:
    """Every node, in source order (so offenders are reported line by line)."""
    nodes = [n for n in ast.walk(tree) if hasattr(n, "lineno")]
    return sorted(nodes, key=lambda n: (n.lineno, n.col_offset))


def _absolute(module: str, node: ast.ImportFrom, path: Path) -> str:
    """The absolute module of a ``from ... import`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private_import_offenders(path: Path, tree: ast.AST) -> list[str]:
    """``from carepop.X... import _name`` (or from a private module ``carepop.X._mod``) where X is
    another top-level package than the importing module's."""
    me = _module_name(path)
    out = []
    for node in _walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(me, node, path)
            if not source.startswith("carepop") or _layer(source) == _layer(me):
                continue
            private_module = [p for p in source.split(".")[2:] if _private(p)]
            names = [a.name for a in node.names if _private(a.name)]
            if private_module or names:
                what = ", ".join(names) if names else "*"
                out.append(f"{_where(path, node)} from {source} import {what}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("carepop") and _layer(a.name) != _layer(me):
                    if any(_private(p) for p in a.name.split(".")[2:]):
                        out.append(f"{_where(path, node)} import {a.name}")
    return out


def _private_attribute_offenders(path: Path, tree: ast.AST) -> list[str]:
    """``obj._name`` (read, write or delete; not a dunder) where ``obj`` is not ``self`` or
    ``cls``, and ``getattr/setattr/hasattr/delattr(obj, "_name")`` likewise."""
    out = []
    for node in _walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                out.append(f"{_where(path, node)} {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            obj = node.args[0]
            if not (isinstance(obj, ast.Name) and obj.id in ("self", "cls")):
                out.append(f"{_where(path, node)} {ast.unparse(node)}")
    return out


def test_no_module_in_src_is_over_800_lines():
    long = {
        str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


def test_no_layer_reads_another_packages_private_names():
    """DESIGN.md: "no layer reads another's private names (a leading underscore stays inside its
    package)"; issue 10: "no module outside core reads a Survey private member". Outside
    ``carepop/core`` no code touches ``obj._name`` of anything but ``self``/``cls`` (core owns
    ``Survey``; every other layer uses its public API), and no module anywhere imports a private
    name from another top-level package."""
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        offenders += _private_import_offenders(path, tree)
        if _layer(_module_name(path)) != "carepop.core":
            offenders += _private_attribute_offenders(path, tree)
    assert not offenders, f"{len(offenders)} reads of another package's private names:\n" + "\n".join(
        offenders
    )


def test_the_private_name_checks_catch_what_they_should():
    """The two checks above on planted code (a check that cannot fail is no check)."""
    path = PKG / "weighting" / "planted.py"
    code = (
        "from carepop.core.survey import _code, Survey\n"
        "from ..core import _x\n"
        "from .rake import _helper\n"  # same package: allowed
        "from carepop.core._private import thing\n"
        "import carepop.core._private\n"
        "def f(survey, self):\n"
        "    survey._data\n"
        "    survey._rep.x = 1\n"
        "    self._ok\n"
        "    survey.__class__\n"
        "    getattr(survey, '_rep')\n"
        "    getattr(self, '_ok')\n"
    )
    tree = ast.parse(code)
    imports = _private_import_offenders(path, tree)
    assert [o.split(" ", 1)[0] for o in imports] == [
        "src/carepop/weighting/planted.py:1",
        "src/carepop/weighting/planted.py:2",
        "src/carepop/weighting/planted.py:4",
        "src/carepop/weighting/planted.py:5",
    ]
    assert "from carepop.core import _x" in imports[1]
    attrs = _private_attribute_offenders(path, tree)
    assert [o.split(" ", 1)[1] for o in attrs] == ["survey._data", "survey._rep", "getattr(survey, '_rep')"]


def test_layer_contract_holds():
    """The import-linter contract of pyproject.toml (cli -> pipeline -> ... -> errors, nothing imports
    the CLI, only the CLI imports typer, sources never import sae or measures, no cycles)."""
    exe = Path(sys.executable).parent / "lint-imports"
    exe = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert exe, "lint-imports (import-linter, in the dev extras) is not installed"
    proc = subprocess.run(
        [exe, "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def _packages() -> list[Path]:
    """Every package directory under src/carepop, as a path relative to it ('' for carepop)."""
    return sorted(p.parent.relative_to(PKG) for p in PKG.rglob("__init__.py") if "__pycache__" not in p.parts)


def _has_code(d: Path) -> bool:
    """A package folder with a module besides ``__init__.py``, or an ``__init__.py`` that is more
    than a docstring (the empty rooms for later layers are docstrings only)."""
    if any(p.name != "__init__.py" for p in d.glob("*.py")):
        return True
    body = ast.parse((d / "__init__.py").read_text()).body
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in body)


#: folders under tests/ that hold fixture files, not tests
FIXTURE_DIRS = {Path("data")}


def _test_dirs() -> list[Path]:
    dirs = {
        p.parent.relative_to(TESTS)
        for p in TESTS.rglob("*.py")
        if "__pycache__" not in p.parts and p.parent != TESTS
    }
    return sorted(d for d in dirs if not any(d == f or f in d.parents for f in FIXTURE_DIRS))


def test_every_test_directory_mirrors_a_package():
    packages = set(_packages())
    stray = [str(d) for d in _test_dirs() if d not in packages]
    assert not stray, f"tests/ folders with no src/carepop package of that name: {stray}"
    for d in _test_dirs():
        assert (TESTS / d / "__init__.py").exists(), f"tests/{d} has no __init__.py"


def test_every_package_with_code_has_a_test_directory():
    """Every top-level package with code has tests/<package>; a subpackage has its own folder
    (tests/sources/cld) or is tested in its parent's (carepop.core.estimation in tests/core)."""
    tests = set(_test_dirs())
    missing = []
    for pkg in _packages():
        if pkg == Path(".") or not _has_code(PKG / pkg):
            continue
        if not any(d in tests for d in (pkg, *pkg.parents) if d != Path(".")):
            missing.append(f"carepop.{'.'.join(pkg.parts)}")
    assert not missing, f"packages with code and no tests/ folder: {missing}"


def test_has_code_tells_rooms_from_packages(tmp_path):
    room, init_code, module = (tmp_path / n for n in ("room", "init_code", "module"))
    for d in (room, init_code, module):
        d.mkdir()
    (room / "__init__.py").write_text('"""A room for issue 13."""\n')
    (init_code / "__init__.py").write_text('"""Doc."""\n\nfrom x import y\n')
    (module / "__init__.py").write_text("")
    (module / "m.py").write_text("x = 1\n")
    assert not _has_code(room) and _has_code(init_code) and _has_code(module)


def _default_output_dirs() -> list[str]:
    """Relative output folders the code writes by default: the ``--out`` default of every CLI
    command that has a folder default (``carepop demo`` -> carepop-demo/) and the benchmarks'
    work folder, plus carepop-output/ (the folder ``carepop run`` will default to)."""
    from typer.main import get_command

    from carepop.cli.main import app

    found = {"carepop-demo/", "carepop-output/", "benchmarks/work/"}

    def walk(cmd):
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)
        for p in getattr(cmd, "params", []):
            default = getattr(p, "default", None)
            if isinstance(default, Path) and not default.is_absolute() and not default.suffix:
                found.add(f"{default.as_posix()}/")

    walk(get_command(app))
    return sorted(found)


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
@pytest.mark.parametrize("folder", _default_output_dirs())
def test_default_output_folders_are_git_ignored(folder):
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", folder], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"{folder} is not git-ignored (add it to .gitignore): {proc.stderr}"


#: scripts outside the package that import it: a rename in src/ must not leave them broken
SCRIPT_DIRS = ("benchmarks", "validation", "examples")


def _script_imports() -> list[tuple[str, str, str | None]]:
    """(file:line, module, name or None) of every ``carepop`` import in the scripts, including
    those inside functions (the benchmarks import lazily, in their worker processes)."""
    out = []
    for d in SCRIPT_DIRS:
        for path in sorted((ROOT / d).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if (
                    isinstance(node, ast.ImportFrom)
                    and not node.level
                    and (node.module or "").startswith("carepop")
                ):
                    out += [(_where(path, node), node.module, a.name) for a in node.names]
                elif isinstance(node, ast.Import):
                    out += [
                        (_where(path, node), a.name, None) for a in node.names if a.name.startswith("carepop")
                    ]
    return out


def test_scripts_import_what_exists():
    """benchmarks/, validation/ and examples/ import only modules and names carepop has."""
    import importlib

    assert _script_imports(), "no carepop imports found in the scripts"
    broken = []
    for where, module, name in _script_imports():
        try:
            mod = importlib.import_module(module)
            if name is not None and name != "*" and not hasattr(mod, name):
                importlib.import_module(f"{module}.{name}")  # a submodule
        except ImportError as exc:
            broken.append(f"{where} {module}{'' if name is None else ' import ' + name}: {exc}")
    assert not broken, "\n".join(broken)

"""Start-up (issue 11): ``import carepop`` and the command line's help load only light modules; the
heavy ones (pandas, scipy, ...) are imported where they are used.

Each check runs in a fresh interpreter and looks at ``sys.modules``, never at the clock: speed is
measured by ``benchmarks/startup_bench.py``, not by timed tests.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

#: never loaded by ``import carepop`` nor by the command line's help
HEAVY = (
    "numpy",
    "pandas",
    "scipy",
    "pyarrow",
    "duckdb",
    "statsmodels",
    "pyreadstat",
    "matplotlib",
    "yaml",
    "openpyxl",
    "pyxform",
    "pyspark",
)

#: the carepop modules ``--help`` may load: the command line, and the light modules its options
#: and messages are made of (no data, no estimation, no instrument schema)
HELP_MODULES = (
    "carepop",
    "carepop._lazy",
    "carepop.errors",
    "carepop.core",
    "carepop.core.design",
    "carepop.core.vocabulary",
    "carepop.io",
    "carepop.io.writers",
)

#: every package with lazy exports, and the names it exports
LAZY_PACKAGES = (
    "carepop",
    "carepop.core",
    "carepop.io",
    "carepop.weighting",
    "carepop.questionnaires",
    "carepop.sources.cld",
)


def _modules_after(code: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``code`` in a fresh interpreter; its output, and the modules loaded when it exits."""
    out = tmp_path / "modules.json"
    prologue = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", prologue + code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.exists(), proc.stderr[-3000:]
    return proc, set(json.loads(out.read_text()))


def _cli(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """``python -m carepop.cli ARGS`` in a fresh interpreter."""
    code = (
        "import runpy\n"
        f"sys.argv = ['carepop', *{args!r}]\n"
        "runpy.run_module('carepop.cli', run_name='__main__')\n"
    )
    return _modules_after(code, tmp_path)


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in packages)


# ------------------------------------------------------------------------------ import carepop
def test_import_carepop_loads_no_heavy_module(tmp_path):
    proc, modules = _modules_after("import carepop\nprint(carepop.__version__)", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _loaded(modules, HEAVY) == []
    assert sorted(m for m in modules if m.startswith("carepop")) == [
        "carepop",
        "carepop._lazy",
        "carepop.errors",
    ]


def test_the_names_of_carepop_load_what_they_need(tmp_path):
    code = (
        "import carepop\n"
        "assert carepop.CarepopError.__module__ == 'carepop.errors'\n"
        "assert 'carepop.core.design' not in sys.modules\n"
        "from carepop import Design\n"
        "assert 'pandas' not in sys.modules and 'scipy' not in sys.modules\n"
        "from carepop import Survey, Estimates\n"
        "assert 'pandas' in sys.modules\n"
    )
    proc, modules = _modules_after(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "scipy.stats" not in modules and "statsmodels" not in modules


def test_carepop_exports_are_unchanged():
    import carepop
    from carepop.core.design import Design
    from carepop.core.results import Estimates
    from carepop.core.survey import Survey
    from carepop.io import read_data

    assert carepop.__all__ == [
        "CarepopError",
        "Design",
        "DesignError",
        "EstimationError",
        "Estimates",
        "Survey",
        "read_data",
    ]
    assert (carepop.Survey, carepop.Design, carepop.Estimates) == (Survey, Design, Estimates)
    assert callable(carepop.read_data) and callable(read_data)
    assert carepop.__version__ == "0.1.0"


def _type_checking_imports(package: str) -> dict[str, str]:
    """``name -> module`` of the imports under ``if TYPE_CHECKING:`` in the package's ``__init__``."""
    path = Path(importlib.import_module(package).__file__)
    out = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom), ast.unparse(imp)
                out.update({a.asname or a.name: imp.module for a in imp.names})
    return out


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_exports_resolve_to_what_type_checkers_see(package):
    """Every name of ``__all__`` resolves, is listed by ``dir()``, and is the object the
    ``TYPE_CHECKING`` import names (so editors and type checkers see the same thing)."""
    pkg = importlib.import_module(package)
    declared = _type_checking_imports(package)
    assert declared, f"{package} has no TYPE_CHECKING imports"
    assert set(declared) <= set(pkg.__all__)
    for name in pkg.__all__:
        assert name in dir(pkg), name
        value = getattr(pkg, name)
        if name in declared:
            assert value is getattr(importlib.import_module(declared[name]), name), name
    namespace: dict = {}
    exec(f"from {package} import *", namespace)
    assert set(pkg.__all__) <= set(namespace)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        pkg.no_such_name  # noqa: B018


@pytest.mark.parametrize(
    "package, name",
    [("carepop.weighting", n) for n in ("rake", "calibrate", "poststratify", "design_weights")],
)
def test_a_function_named_like_its_module_is_the_function_however_imported(package, name, tmp_path):
    """As with eager imports in ``__init__``: importing the submodule first does not make the
    package attribute the module."""
    code = (
        f"import types, {package}.{name}\n"
        f"from {package} import {name} as first\n"
        f"import {package} as pkg\n"
        "assert callable(first) and not isinstance(first, types.ModuleType), first\n"
        f"assert pkg.{name} is first\n"
        f"assert first is sys.modules['{package}.{name}'].{name}\n"
    )
    proc, _ = _modules_after(code, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("name", ["validate", "derive", "codebook"])
def test_questionnaire_functions_named_like_their_modules(name, tmp_path):
    code = (
        "import types\n"
        f"from carepop.questionnaires import {name} as first\n"  # the function first ...
        f"import carepop.questionnaires.{name}\n"  # ... then its module
        "import carepop.questionnaires as pkg\n"
        "assert callable(first) and not isinstance(first, types.ModuleType), first\n"
        f"assert pkg.{name} is first\n"
        "import carepop.cli.questionnaire\n"  # the CLI imports the submodules directly
        f"from carepop.questionnaires import {name} as again\n"
        "assert again is first\n"
    )
    proc, _ = _modules_after(code, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]


# ------------------------------------------------------------------------------ the command line
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["estimate", "--help"],
        ["weight", "--help"],
        ["design", "--help"],
        ["questionnaire", "--help"],
        ["census", "--help"],
        ["cld", "--help"],
        ["demo", "--help"],
    ],
    ids=" ".join,
)
def test_cli_help_loads_no_heavy_module(args, tmp_path):
    proc, modules = _cli(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "carepop" in proc.stdout
    assert _loaded(modules, HEAVY) == []
    extra = [m for m in modules if m.startswith("carepop") and not m.startswith("carepop.cli")]
    assert sorted(set(extra) - set(HELP_MODULES)) == []


def test_a_small_estimate_loads_no_scipy_stats(tmp_path):
    args = ["estimate", str(DATA / "apistrat.csv"), "--weight", "pw", "--strata", "stype", "--fpc", "fpc"]
    proc, modules = _cli([*args, "--mean", "api00", "--format", "csv"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("statistic,variable,level,estimate,se,ci_lower,ci_upper")
    assert "mean,api00,,662.28736" in proc.stdout
    assert "scipy.stats" not in modules
    assert _loaded(modules, ("statsmodels", "duckdb", "matplotlib", "pyspark")) == []


@pytest.mark.parametrize("ci", ["t", "logit", "wilson", "beta"])
def test_every_interval_method_does_without_scipy_stats(ci, tmp_path):
    args = ["estimate", str(DATA / "apistrat.csv"), "--weight", "pw", "--strata", "stype", "--fpc", "fpc"]
    proc, modules = _cli([*args, "--proportion", "sch.wide", "--ci", ci, "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sch.wide" in proc.stdout
    assert "scipy.stats" not in modules and "statsmodels" not in modules

"""No module of the weighting package (nor ``carepop weight``) reads a private name of another
object or package: a leading underscore stays inside its own module's objects (``self``/``cls``)
and package (DESIGN.md, section 3)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import carepop

SRC = Path(carepop.__file__).parent
MODULES = sorted((SRC / "weighting").glob("*.py")) + [SRC / "cli" / "weight.py"]


def private_uses(path: Path) -> list[str]:
    """``x._name`` with ``x`` not ``self``/``cls``, and ``from carepop.<other> import _name``."""
    package = path.parent.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner not in ("self", "cls"):
                found.append(f"{path.name}:{node.lineno}: .{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("carepop."):
            other = node.module.split(".")[1] != package
            for alias in node.names:
                if alias.name.startswith("_") and other:
                    found.append(f"{path.name}:{node.lineno}: from {node.module} import {alias.name}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_private_names_from_outside(path):
    assert private_uses(path) == []


def test_the_check_finds_private_uses(tmp_path):
    bad = tmp_path / "weighting" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(
        "from carepop.core.survey import _as_tuple\n"
        "from carepop.weighting.rake import _ipf\n"
        "def f(survey, self):\n    return survey._rep, self._rep, survey.weights.__class__\n"
    )
    assert private_uses(bad) == ["bad.py:1: from carepop.core.survey import _as_tuple", "bad.py:4: ._rep"]

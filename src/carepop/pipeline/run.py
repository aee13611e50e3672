"""``carepop run CONFIG.toml``: the whole chain from a config, into one output folder, atomically.

Steps: read and check the config (:mod:`carepop.pipeline.config`); read the inputs (for survey
files only the columns the analysis declares; no person identifier); build the surveys; run the
measures (:mod:`carepop.pipeline.steps`, the library calls); apply disclosure control to every
table (:mod:`carepop.outputs.disclosure`, on by default); write the tables (CSV, Parquet, one XLSX
with a notes sheet), the plots (PNG and SVG), ``report.html`` and ``manifest.json`` (inputs with
SHA-256, the config, package versions, seeds, disclosure rules applied, timings).

Everything is written into a temporary folder beside the output folder and renamed into place at
the end: a run that fails leaves no output folder (and an earlier one untouched).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from carepop.errors import CarepopError
from carepop.pipeline.config import Config, load_config
from carepop.pipeline.governance import refuse_hashed_values, refuse_identifiers
from carepop.pipeline.steps import STEPS, Context, StepResult, check_references, check_values, measure_schemas

#: packages whose versions the manifest records
PACKAGES = ("carepop", "numpy", "scipy", "pandas", "pyarrow", "openpyxl", "matplotlib", "statsmodels")
#: design keys of a [surveys.NAME] table that name columns
DESIGN_COLUMNS = ("weight", "strata", "psu", "fpc", "ssu", "fpc2")


@dataclass(frozen=True)
class RunResult:
    out: Path
    tables: dict[str, pd.DataFrame]  # the published (protected) tables
    manifest: dict[str, Any]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def output_folder(config: Config, out: str | os.PathLike[str] | None) -> Path:
    """The output folder: ``out``, else ``[run] out`` (relative to the config), else ``carepop-output``."""
    if out is not None:
        return Path(out).expanduser()
    return config.folder / config.run.get("out", "carepop-output")


def check_folder(folder: Path) -> None:
    """Refuse, before any work, a folder that is a file or holds something that is not a run."""
    if folder.exists() and not folder.is_dir():
        raise CarepopError(
            f"{str(folder)!r} is a file: a run writes a folder.",
            code="cannot_write",
            got=str(folder),
            fix="give --out naming a folder",
        )
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "manifest.json").is_file():
        raise CarepopError(
            f"The folder {str(folder)!r} is not empty and is not an earlier carepop run; it is left alone.",
            code="cannot_write",
            got=str(folder),
            fix="give --out naming a new folder (an earlier run's folder is replaced)",
        )
    if (folder / "manifest.json").is_file():
        try:
            ours = set(json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("outputs", []))
        except (OSError, ValueError):
            ours = set()
        ours |= {"manifest.json", "plots"}
        theirs = sorted(
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file() and str(p.relative_to(folder)) not in ours
        )
        if theirs:
            raise CarepopError(
                f"The earlier run's folder {str(folder)!r} holds files the run did not write "
                f"({', '.join(theirs[:3])}); replacing it would delete them.",
                code="cannot_write",
                got=theirs[:5],
                fix="move those files out, or give --out naming a new folder",
            )


def _declared_columns(config: Config, input_name: str) -> list[str] | None:
    """The columns a run reads from a survey input: ``columns`` if given, else the design's
    columns and every measure key that names a column of a survey on this input."""
    spec = config.inputs[input_name]
    if "columns" in spec:
        return [str(c) for c in spec["columns"]]
    on_input = [n for n, s in config.surveys.items() if s["input"] == input_name]
    if not on_input:
        return None  # an area-level table (not person-level): read whole
    cols: list[str] = []
    for name in on_input:
        cols += [config.surveys[name][k] for k in DESIGN_COLUMNS if k in config.surveys[name]]
    steps = {s.name: s for s in STEPS}
    for mname, mspec in config.measures.items():
        if mspec.get("survey") in on_input and mname in steps:
            cols += [mspec[k] for k in steps[mname].columns if isinstance(mspec.get(k), str)]
            cols += [_default for k, _default in steps[mname].default_columns if k not in mspec]
            if steps[mname].more_columns is not None:
                cols += steps[mname].more_columns(mspec)
    return list(dict.fromkeys(cols))


def read_input(config: Config, name: str) -> pd.DataFrame:
    """Read input ``name`` (only its declared columns if person-level; identifiers refused)."""
    from carepop.io import read_data

    spec = config.inputs[name]
    path = config.file(name)
    columns = _declared_columns(config, name)
    where = f"{config.path}: [inputs.{name}]"
    if columns is not None:
        refuse_identifiers(
            columns, where=where, fix="leave the column out of the analysis (and out of columns = [...])"
        )
    kwargs: dict[str, Any] = {k: spec[k] for k in ("format", "sep", "encoding") if k in spec}
    if columns is not None:
        _check_header(config, name, path, columns, kwargs)
        suffix = (spec.get("format") or path.suffix.lstrip(".")).lower()
        kwargs["columns" if suffix == "parquet" else "usecols"] = columns
    try:
        frame = read_data(path, **kwargs)
    except ValueError as err:  # usecols naming a column the file does not have
        raise CarepopError(
            f"{where}: {err}.",
            code="unknown_column",
            fix="check the column names in [surveys] and [measures] against the file",
        ) from None
    if columns is None:
        refuse_identifiers(frame.columns, where=where, fix="remove the column from the file")
    return frame


def _check_header(config: Config, name: str, path: Path, columns: list[str], kwargs: dict[str, Any]) -> None:
    """Declared columns the file lacks, named with the config line that names them (read the
    header only)."""
    import difflib
    import re

    from carepop.io import read_data

    suffix = (kwargs.get("format") or path.suffix.lstrip(".")).lower()
    if suffix == "parquet":
        import pyarrow.parquet as pq

        header = [c for c in pq.read_schema(path).names if not c.startswith("__")]
    elif suffix in ("csv", "txt", "tsv"):
        header = list(read_data(path, nrows=0, **kwargs).columns)
    else:
        return  # other formats: the reader's own error
    missing = [c for c in columns if c not in header]
    if not missing:
        return
    col = missing[0]
    line = next(
        (
            i
            for i, text in enumerate(config.text.splitlines(), 1)
            if re.search(rf"=\s*\"{re.escape(col)}\"", text)
        ),
        None,
    )
    close = difflib.get_close_matches(col, header, n=1)
    raise CarepopError(
        f"{config.path}{f', line {line}' if line else ''}: the file of [inputs.{name}] ({path.name}) has no "
        f"column {col!r}" + (f" (did you mean {close[0]!r}?)" if close else "") + ".",
        code="unknown_column",
        column=col,
        expected=header[:40],
        fix="name one of the file's columns in the config",
    )


def build_surveys(config: Config, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    from carepop.core.design import Design

    surveys = {}
    for name, spec in config.surveys.items():
        design = Design(**{k: v for k, v in spec.items() if k != "input"})
        surveys[name] = design.survey(frames[spec["input"]])
    return surveys


def run(
    config_path: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Run a config (module docstring); return the published tables and the manifest."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    config = load_config(config_path, measure_schemas())
    check_references(config)
    check_values(config)
    folder = output_folder(config, out)
    check_folder(folder)
    t0 = time.perf_counter()
    say("reading the inputs")
    steps = {s.name: s for s in STEPS}
    by_engine = {spec["input"] for m, spec in config.measures.items() if steps[m].reads_file}
    frames = {name: read_input(config, name) for name in config.inputs if name not in by_engine}
    surveys = build_surveys(config, frames)
    timings["inputs"] = time.perf_counter() - t0
    ctx = Context(config=config, surveys=surveys, inputs=frames)
    for step in STEPS:
        if step.name not in config.measures:
            continue
        say(f"estimating {step.title.lower()}")
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ctx.results[step.name] = step.run(ctx, config.measures[step.name])
        for w in caught:  # say which measure a library warning is about
            if issubclass(w.category, UserWarning):
                warnings.warn(f"{step.name}: {w.message}", w.category, stacklevel=2)
        timings[step.name] = time.perf_counter() - t0
    say("applying disclosure control")
    from carepop.pipeline.publish import publish

    manifest_base = {
        "carepop_run": 1,
        "config": {"path": str(config.path), "text": config.text},
        "inputs": {
            name: {"file": str(config.file(name)), "sha256": sha256(config.file(name))}
            for name in config.inputs
        },
        "packages": {p: _version(p) for p in PACKAGES},
        "seeds": {"run": int(config.run.get("seed", 2021)), **dict(sorted(ctx.seeds_used.items()))},
    }
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent))
    try:
        published, manifest = publish(tmp, config, ctx.results, manifest_base, say)
        for name, table in published.items():
            refuse_identifiers(table.columns, where=f"output table {name!r}", fix="leave the column out")
            refuse_hashed_values(table, where=f"output table {name!r}")
        timings["total"] = time.perf_counter() - started
        manifest["timings_seconds"] = {k: round(v, 3) for k, v in timings.items()}
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        _swap_in(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RunResult(out=folder, tables=published, manifest=manifest)


def _swap_in(tmp: Path, folder: Path) -> None:
    """Rename the finished folder into place (an earlier run's folder is replaced)."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.replace(folder, old)
    os.replace(tmp, folder)
    os.chmod(folder, 0o755)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


__all__ = ["RunResult", "StepResult", "run"]

"""The run config (``carepop run CONFIG.toml``): read, checked against what each step accepts.

A config is a TOML file with these tables (``carepop run --init`` writes a commented starter):

- ``[run]``: ``title``, ``seed`` (every random step is seeded from it), ``out`` (the folder);
- ``[inputs.NAME]``: a file (``file``, relative to the config's folder) and how to read it
  (``format``, ``sep``, ``encoding``); ``columns`` lists the columns to read from a person-level
  file (only those are read; a person identifier is refused);
- ``[surveys.NAME]``: a survey design on an input: ``input`` and the design's column roles
  (``weight``, ``strata``, ``psu``, ``fpc``, ``ssu``, ``fpc2``, ``nest``);
- ``[measures.NAME]``: one measure, its keys the keyword arguments of the library function
  (:data:`carepop.pipeline.steps.STEPS` names them, and the error for an unknown key lists them);
- ``[disclosure]``: the rules of :class:`carepop.outputs.disclosure.DisclosureRules` (on by
  default; ``enabled = false`` turns them off and every output says so);
- ``[outputs]``: ``tables`` (``csv``, ``parquet``, ``xlsx``), ``plots`` (``png``, ``svg``),
  ``report`` (true/false).

Every problem is a :class:`~carepop.errors.CarepopError` naming the file, the line, the key and a
fix: unknown tables and keys (with the nearest known name), missing required keys, wrong types,
input files that do not exist.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from carepop.errors import CarepopError

#: what each fixed table accepts: key -> (types, required, help)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool, str]]] = {
    "run": {
        "title": ((str,), False, "the report's title"),
        "seed": ((int,), False, "the seed every random step starts from"),
        "out": ((str,), False, "the output folder (relative to the config's folder)"),
    },
    "inputs": {
        "file": ((str,), True, "the file, relative to the config's folder"),
        "format": ((str,), False, "the file's format when its extension does not say"),
        "sep": ((str,), False, "the CSV separator"),
        "encoding": ((str,), False, "the text encoding"),
        "columns": ((list,), False, "the only columns to read (person-level files)"),
    },
    "surveys": {
        "input": ((str,), True, "the name of an [inputs.NAME] table"),
        "weight": ((str,), False, "the weight column"),
        "strata": ((str,), False, "the strata column"),
        "psu": ((str,), False, "the primary sampling unit column"),
        "fpc": ((str,), False, "the first stage's population size column"),
        "ssu": ((str,), False, "the second-stage unit column"),
        "fpc2": ((str,), False, "the second stage's population size column"),
        "nest": ((bool,), False, "PSU codes repeat across strata"),
    },
    "disclosure": {
        "threshold": ((int,), False, "counts from 1 to threshold − 1 are suppressed (8: 1-7)"),
        "count_round": ((int,), False, "published counts are rounded to this base (5; 1 leaves them exact)"),
        "estimate_round": ((int, float), False, "weighted estimates of people are rounded to this (10)"),
        "rate_decimals": ((int,), False, "rates are rounded to this many decimals (3)"),
        "min_base": ((int,), False, "the least unweighted base for a direct survey estimate (50)"),
        "protection": ((int,), False, "the width every suppressed cell's feasible range must reach"),
        "enabled": ((bool,), False, "false turns disclosure control off (not for publication)"),
    },
    "outputs": {
        "tables": ((list,), False, "table formats: csv, parquet, xlsx"),
        "plots": ((list,), False, "plot formats: png, svg"),
        "report": ((bool,), False, "write report.html"),
    },
}
#: tables whose entries are named sub-tables ([inputs.NAME], ...)
NAMED = ("inputs", "surveys", "measures")


@dataclass(frozen=True)
class Config:
    """A checked run config: the parsed tables, the folder paths are relative to, its text."""

    path: Path
    text: str
    run: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    surveys: dict[str, dict[str, Any]]
    measures: dict[str, dict[str, Any]]
    disclosure: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def file(self, name: str) -> Path:
        """The path of input ``name`` (relative to the config's folder)."""
        return (self.folder / self.inputs[name]["file"]).expanduser()


def line_of(text: str, table: str, key: str | None = None) -> int | None:
    """The 1-based line of ``key`` in ``[table]`` (or of the table's header), or None."""
    current = ""
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
    assign = re.compile(r"^\s*\"?([A-Za-z0-9_.-]+?)\"?\s*=")
    found = None
    for i, line in enumerate(text.splitlines(), start=1):
        m = header.match(line)
        if m:
            current = m.group(1).replace('"', "")
            if key is None and current == table:
                return i
            continue
        m = assign.match(line)
        if m and key is not None and current == table and m.group(1) == key:
            return i
        if m and key is not None and found is None and current == "" and m.group(1) == f"{table}.{key}":
            found = i
    return found


def config_error(
    cfg_path: Path, text: str, table: str, key: str | None, message: str, fix: str, **kw
) -> CarepopError:
    line = line_of(text, table, key) or (line_of(text, table) if key else None)
    where = f"{cfg_path}" + (f", line {line}" if line else "")
    name = f"[{table}]" + (f" {key}" if key else "")
    return CarepopError(
        f"{where}: {name}: {message}", code=kw.pop("code", "bad_config"), column=key, fix=fix, **kw
    )


def nearest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(
    cfg_path: Path,
    text: str,
    table: str,
    values: Mapping[str, Any],
    schema: Mapping[str, tuple[tuple[type, ...], bool, str]],
) -> None:
    """Unknown keys, missing required keys and wrong types in one table, as clear errors."""
    for key, value in values.items():
        if key not in schema:
            raise config_error(
                cfg_path,
                text,
                table,
                key,
                f"unknown key {key!r}{nearest(key, schema)}.",
                "use one of: " + ", ".join(sorted(schema)),
                code="unknown_key",
            )
        types = schema[key][0]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            expected = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            raise config_error(
                cfg_path,
                text,
                table,
                key,
                f"{key} must be {expected}, not {_TYPE_NAMES.get(type(value), type(value).__name__)} "
                f"({value!r}).",
                f"{key} is {schema[key][2]}",
                code="bad_type",
                got=repr(value),
                expected=expected,
            )
    for key, (_, required, what) in schema.items():
        if required and key not in values:
            raise config_error(
                cfg_path,
                text,
                table,
                None,
                f"the key {key!r} is missing.",
                f"add {key} = ... ({what})",
                code="missing_key",
            )


_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}


def load_config(path: str | Path, measure_schemas: Mapping[str, Mapping[str, Any]] | None = None) -> Config:
    """Read and check a run config (module docstring).

    ``measure_schemas`` gives, for each measure a config may name, the schema of its keys
    (:func:`carepop.pipeline.steps.measure_schemas`); without it measures are not checked here.
    """
    cfg_path = Path(path).expanduser()
    if not cfg_path.is_file():
        raise CarepopError(
            f"There is no config file {str(path)!r}.",
            code="file_not_found",
            got=str(path),
            fix="give the path of a TOML config (carepop run --init writes a starter)",
        )
    text = cfg_path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CarepopError(
            f"{cfg_path}: not valid TOML: {err}.",
            code="bad_config",
            fix="fix the line named (strings need quotes; tables are [name]; lists are [a, b])",
        ) from None
    known = {*SCHEMA, "measures"}
    for table in raw:
        if table not in known:
            raise config_error(
                cfg_path,
                text,
                table,
                None,
                f"unknown table{nearest(table, known)}.",
                "use the tables: " + ", ".join(sorted(known)),
                code="unknown_key",
            )
        if not isinstance(raw[table], dict):
            raise config_error(
                cfg_path, text, "", table, f"{table} must be a table ([{table}]).", f"write [{table}]"
            )
    for table in ("run", "disclosure", "outputs"):
        check_keys(cfg_path, text, table, raw.get(table, {}), SCHEMA[table])
    for table in ("inputs", "surveys"):
        for name, values in raw.get(table, {}).items():
            if not isinstance(values, dict):
                raise config_error(cfg_path, text, table, name, "must be a table.", f"write [{table}.{name}]")
            check_keys(cfg_path, text, f"{table}.{name}", values, SCHEMA[table])
    measures = raw.get("measures", {})
    for name, values in measures.items():
        if measure_schemas is not None and name not in measure_schemas:
            raise config_error(
                cfg_path,
                text,
                f"measures.{name}",
                None,
                f"unknown measure {name!r}{nearest(name, measure_schemas)}.",
                "use one of: " + ", ".join(sorted(measure_schemas)),
                code="unknown_key",
            )
        if not isinstance(values, dict):
            raise config_error(
                cfg_path, text, "measures", name, "must be a table.", f"write [measures.{name}]"
            )
        if measure_schemas is not None:
            check_keys(cfg_path, text, f"measures.{name}", values, measure_schemas[name])
    for key, allowed in (("tables", ("csv", "parquet", "xlsx")), ("plots", ("png", "svg"))):
        bad = [v for v in raw.get("outputs", {}).get(key, []) if v not in allowed]
        if bad:
            raise config_error(
                cfg_path,
                text,
                "outputs",
                key,
                f"{bad[0]!r} is not a format carepop writes{nearest(str(bad[0]), allowed)}.",
                f"use some of: {', '.join(allowed)}",
                code="bad_value",
            )
    config = Config(
        path=cfg_path,
        text=text,
        run=raw.get("run", {}),
        inputs=raw.get("inputs", {}),
        surveys=raw.get("surveys", {}),
        measures=measures,
        disclosure=raw.get("disclosure", {}),
        outputs=raw.get("outputs", {}),
    )
    _check_references(config)
    return config


def _check_references(config: Config) -> None:
    """Input files exist; surveys name inputs; measures name surveys and inputs that exist."""
    for name, spec in config.inputs.items():
        if not config.file(name).is_file():
            raise config_error(
                config.path,
                config.text,
                f"inputs.{name}",
                "file",
                f"there is no file {spec['file']!r} (looked in {config.folder}).",
                "give the file's path relative to the config's folder",
                code="file_not_found",
            )
    for name, spec in config.surveys.items():
        if spec["input"] not in config.inputs:
            raise config_error(
                config.path,
                config.text,
                f"surveys.{name}",
                "input",
                f"no input named {spec['input']!r}{nearest(spec['input'], config.inputs)}.",
                "name an [inputs.NAME] table",
                code="unknown_input",
            )
    for name, spec in config.measures.items():
        for key, pool, kind in (("survey", config.surveys, "surveys"), ("input", config.inputs, "inputs")):
            for ref_key in [k for k in spec if k == key or k.endswith(f"_{key}")]:
                ref = spec[ref_key]
                if isinstance(ref, str) and ref not in pool:
                    raise config_error(
                        config.path,
                        config.text,
                        f"measures.{name}",
                        ref_key,
                        f"no {kind[:-1]} named {ref!r}{nearest(ref, pool)}.",
                        f"name a [{kind}.NAME] table",
                        code="unknown_input",
                    )

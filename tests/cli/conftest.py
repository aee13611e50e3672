"""What the command-line tests share: running ``carepop`` in-process and checking that a refused
run really refused (exit 2, a message naming the flag, no traceback, nothing written, the inputs'
bytes unchanged), and small real input files written into ``tmp_path``."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carepop.cli import app
from tests.golden import DATA
from tests.sources.cld.fixtures import story, write

runner = CliRunner()
CLEAN_RESPONSES = DATA / "questionnaires" / "unpaid_carers_clean.csv"


def invoke(*args: object):
    """Run ``carepop ARGS`` in-process (stdout and stderr apart)."""
    return runner.invoke(app, [str(a) for a in args])


def assert_refused(res, *needles: str, unchanged: dict[Path, bytes] | None = None, absent=()) -> None:
    """Exit 2 with every needle in the message, no traceback, the ``unchanged`` files' bytes as
    they were and none of the ``absent`` paths created."""
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    for needle in needles:
        assert needle in res.stderr, f"{needle!r} not in:\n{res.stderr}"
    for path, data in (unchanged or {}).items():
        assert path.read_bytes() == data, f"{path} was modified"
    for path in absent:
        assert not Path(path).exists(), f"{path} was written"


def snapshot(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


def read_back(path: Path) -> pd.DataFrame:
    """Read an output file, checking that its bytes really are the format of its extension."""
    raw = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".csv":
        assert not raw.startswith((b"PAR1", b"PK\x03\x04", b"[", b"$FL2"))
        return pd.read_csv(path)
    if suffix == ".parquet":
        assert raw[:4] == b"PAR1" and raw[-4:] == b"PAR1"
        return pd.read_parquet(path)
    if suffix == ".xlsx":
        assert raw[:4] == b"PK\x03\x04"  # a zip: the Office Open XML container
        return pd.read_excel(path, engine="openpyxl")
    if suffix == ".json":
        records = json.loads(raw.decode("utf-8"))
        if isinstance(records, dict):  # one result (design size): one object
            records = [records]
        assert isinstance(records, list) and all(isinstance(r, dict) for r in records)
        return pd.DataFrame.from_records(records)
    if suffix == ".sav":
        import pyreadstat

        assert raw[:4] == b"$FL2"
        return pyreadstat.read_sav(str(path))[0]
    raise AssertionError(f"unexpected suffix {suffix}")


@dataclass
class Inputs:
    """Real input files of every command, in one folder."""

    folder: Path
    strat: Path  # R's apistrat
    margin: Path  # population totals of stype
    strata: Path  # a stratum table for `design allocate`
    frame: Path  # a sampling frame for `design select`
    allocation: Path  # sizes per stratum for `design select --allocation`
    events: Path  # a CLD events file
    responses: Path  # clean unpaid-carers responses
    planted: Path  # the same with a wrong code planted on row 1
    nomis: Path  # a Nomis bulk file
    milk: Path  # direct estimates by area (R sae's milk) for `sae fh`
    lists: Path  # a capture-pattern table of three lists for `capture estimate`
    rates: Path | None = None  # England rates by age band for `project`


@pytest.fixture
def inputs(tmp_path) -> Inputs:
    folder = tmp_path / "in"
    folder.mkdir()
    strat = folder / "apistrat.csv"
    shutil.copy(DATA / "apistrat.csv", strat)
    margin = folder / "stype.csv"
    pd.DataFrame({"value": ["E", "H", "M"], "total": [4421, 755, 1018]}).to_csv(margin, index=False)
    strata = folder / "strata.csv"
    pd.DataFrame({"la": ["A", "B", "C"], "N": [1000, 2000, 3000], "sd": [10, 20, 5]}).to_csv(
        strata, index=False
    )
    frame = folder / "frame.csv"
    pd.DataFrame({"unit": range(1, 101), "la": ["A"] * 50 + ["B"] * 50, "beds": range(1, 101)}).to_csv(
        frame, index=False
    )
    allocation = folder / "allocation.csv"
    pd.DataFrame({"stratum": ["A", "B"], "n_h": [3, 4]}).to_csv(allocation, index=False)
    events = write(story(), folder / "events.csv")
    responses = folder / "responses.csv"
    shutil.copy(CLEAN_RESPONSES, responses)
    planted = folder / "planted.csv"
    bad = pd.read_csv(CLEAN_RESPONSES, dtype=str)
    bad.loc[0, "cf_relationship"] = "9"
    bad.to_csv(planted, index=False)
    nomis = folder / "ts039.csv"
    shutil.copy(DATA / "nomis" / "ts039_la_good.csv", nomis)
    milk = folder / "milk.csv"
    shutil.copy(Path(__file__).resolve().parents[1] / "sae" / "fixtures" / "milk" / "milk.csv", milk)
    lists = folder / "lists.csv"
    pd.DataFrame(
        {
            "A": [1, 0, 0, 1, 1, 0, 1],
            "B": [0, 1, 0, 1, 0, 1, 1],
            "C": [0, 0, 1, 0, 1, 1, 1],
            "n": [50, 40, 30, 12, 9, 7, 3],
        }
    ).to_csv(lists, index=False)
    rates = folder / "rates.csv"
    pd.DataFrame({"age_group": ["65-74", "75+"], "estimate": [0.1, 0.3], "se": [0.01, 0.02]}).to_csv(rates)
    return Inputs(
        folder, strat, margin, strata, frame, allocation, events, responses, planted, nomis, milk, lists,
        rates,
    )  # fmt: skip


@dataclass(frozen=True)
class Writer:
    """A command that writes a table: its arguments (given the inputs), the option naming the
    output file, the suffixes it writes, its main input and whether it exits 1 on findings."""

    name: str
    args: object  # Callable[[Inputs], list]
    flag: str
    suffixes: tuple[str, ...]
    main_input: str
    ok_codes: tuple[int, ...] = (0,)

    def command(self, files: Inputs) -> list:
        return list(self.args(files))  # type: ignore[operator]


def need_survey(folder: Path) -> Path:
    """A small synthetic needs survey of the 153 councils (for ``measure unmet-need``)."""
    from tests.measures.test_unmet_need import simulated_survey_frame

    path = folder / "need.csv"
    if not path.exists():
        simulated_survey_frame(n=1500, seed=9).to_csv(path, index=False)
    return path


TABLE = (".csv", ".parquet", ".xlsx", ".json")
DATA_FILES = (*TABLE, ".sav")

#: every command that writes a table, and how
WRITERS = [
    Writer(
        "estimate",
        lambda f: [
            "estimate",
            f.strat,
            "--weight",
            "pw",
            "--strata",
            "stype",
            "--mean",
            "api00",
            "--by",
            "stype",
        ],
        "--out",
        TABLE,
        "strat",
    ),
    Writer(
        "weight",
        lambda f: ["weight", f.strat, "--weight", "pw", "--poststratify", f"stype={f.margin}"],
        "--out",
        DATA_FILES,
        "strat",
    ),
    Writer("design size", lambda f: ["design", "size", "--population", "1000"], "--out", TABLE, ""),
    Writer(
        "design allocate",
        lambda f: ["design", "allocate", f.strata, "--strata", "la", "--size", "N", "--n", "60"],
        "--out",
        TABLE,
        "strata",
    ),
    Writer(
        "design select",
        lambda f: ["design", "select", f.frame, "--n", "10", "--strata", "la", "--seed", "3"],
        "--out",
        DATA_FILES,
        "frame",
    ),
    Writer("census show", lambda f: ["census", "show", f.nomis], "--out", TABLE, "nomis"),
    Writer("cld summarise", lambda f: ["cld", "summarise", f.events, "--exact"], "--out", TABLE, "events"),
    Writer("cld check", lambda f: ["cld", "check", f.events], "--report", TABLE, "events", (0, 1)),
    Writer("cld signals", lambda f: ["cld", "signals", f.events], "--out", TABLE, "events"),
    Writer(
        "questionnaire validate",
        lambda f: ["questionnaire", "validate", f.planted, "-q", "unpaid_carers"],
        "--report",
        TABLE,
        "planted",
        (0, 1),
    ),
    Writer(
        "questionnaire derive",
        lambda f: ["questionnaire", "derive", f.responses, "-q", "unpaid_carers"],
        "--out",
        DATA_FILES,
        "responses",
    ),
    Writer(
        "sae fh",
        lambda f: [
            "sae",
            "fh",
            f.milk,
            "--area",
            "SmallArea",
            "--direct",
            "yi",
            "--se",
            "SD",
            "--categorical",
            "MajorArea",
        ],
        "--out",
        TABLE,
        "milk",
    ),
    Writer(
        "disclose", lambda f: ["disclose", f.lists, "--count", "n", "--by", "A,B,C"], "--out", TABLE, "lists"
    ),
    Writer(
        "measure unmet-need",
        lambda f: ["measure", "unmet-need", need_survey(f.folder), "--weight", "w", "--model", "synthetic"],
        "--out",
        TABLE,
        "",
    ),
    Writer(
        "measure workforce",
        lambda f: ["measure", "workforce", "--pa-recipients", "9", "--pa-share", ".3"]
        + ["--pa-per-employer", "2"],
        "--out",
        TABLE,
        "",
    ),
    Writer(
        "capture estimate",
        lambda f: ["capture", "estimate", f.lists, "--lists", "A,B,C", "--count", "n"],
        "--out",
        TABLE,
        "lists",
    ),
    Writer("project", lambda f: ["project", f.rates, "--to", "2023"], "--out", TABLE, "rates"),
]

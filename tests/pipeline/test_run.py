"""``carepop run``: the chain from a config into one folder — atomically, reproducibly, with
disclosure control and no identifiers — and its numbers equal to the library calls."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from carepop.errors import CarepopError
from carepop.measures.carers import carers_by_council
from carepop.pipeline.run import run
from carepop.pipeline.synthetic import carers_survey

CONFIG = """\
[run]
title = "Carers, test run"
seed = 11

[inputs.carers]
file = "carers.csv"

[surveys.carers]
input = "carers"
weight = "weight"
strata = "council_code"
fpc = "residents_5plus"

[measures.carers]
survey = "carers"
carer = "carer"
boot = 20

[measures.hidden_carers]

[outputs]
tables = ["csv", "parquet", "xlsx"]
plots = [{plots}]
report = {report}
"""


def _config(folder, *, plots: str = "", report: str = "false", extra: str = "", survey=None):
    (survey if survey is not None else carers_survey(3, n=4000)).to_csv(folder / "carers.csv", index=False)
    path = folder / "run.toml"
    path.write_text(CONFIG.format(plots=plots, report=report) + extra)
    return path


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    return folder, run(_config(folder, plots='"svg"', report="true"), out=folder / "out")


def test_the_folder_holds_tables_plots_report_and_manifest(first):
    folder, result = first
    out = folder / "out"
    names = {p.name for p in out.iterdir()}
    assert {
        "carers.csv",
        "carers.parquet",
        "hidden_carers.csv",
        "tables.xlsx",
        "report.html",
        "manifest.json",
    } <= names
    assert (out / "plots" / "carers.svg").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["inputs"]["carers"]["sha256"]
        == __import__("hashlib").sha256((folder / "carers.csv").read_bytes()).hexdigest()
    )
    assert manifest["disclosure"]["rules"]["threshold"] == 8 and manifest["seeds"]["run"] == 11
    assert manifest["config"]["text"].startswith("[run]") and manifest["packages"]["numpy"]
    assert set(manifest["timings_seconds"]) >= {"inputs", "carers", "total"}
    assert not [p for p in folder.iterdir() if p.name.startswith(".out")]  # no temporary folder left


def test_numbers_equal_the_library_call_protected(first):
    """The published council estimates are the library's, rounded to 3 decimals (disclosure)."""
    folder, result = first
    data = pd.read_csv(folder / "carers.csv")
    survey = Survey(data, weight="weight", strata="council_code", fpc="residents_5plus")
    from carepop.pipeline.steps import Context

    class _Cfg:
        run = {"seed": 11}

    seed = Context(config=_Cfg(), surveys={}, inputs={}).seed("carers")
    lib = carers_by_council(survey, carer="carer", boot=20, seed=seed).to_pandas()
    pub = pd.read_csv(folder / "out" / "carers.csv")
    np.testing.assert_allclose(pub["estimate"], np.round(lib["estimate"], 3), atol=1e-12)
    np.testing.assert_allclose(pub["carers"], np.floor(lib["carers"] / 10 + 0.5) * 10, atol=1e-9)
    small = lib["n"] < 50
    assert small.any() and pub.loc[small.to_numpy(), "direct"].isna().all()
    assert (pub.loc[small.to_numpy(), "direct_status"] == "base below 50").all()


def test_same_config_same_bytes(first, tmp_path):
    """A second run of the same config (same seeds) writes the same table bytes, Excel included."""
    folder, _ = first
    again = run(folder / "run.toml", out=tmp_path / "again")
    for name in ("carers.csv", "carers.parquet", "hidden_carers.csv", "hidden_carers.parquet", "tables.xlsx"):
        assert (tmp_path / "again" / name).read_bytes() == (folder / "out" / name).read_bytes(), name
    assert again.out == tmp_path / "again"


def test_a_broken_input_leaves_no_folder(tmp_path):
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text().replace('carer = "carer"', 'carer = "no_such_column"'))
    with pytest.raises(CarepopError):
        run(cfg, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failed_rerun_leaves_the_earlier_folder_alone(tmp_path):
    cfg = _config(tmp_path)
    run(cfg, out=tmp_path / "out")
    before = (tmp_path / "out" / "carers.csv").read_bytes()
    cfg.write_text(cfg.read_text().replace("boot = 20", "boot = -1"))
    with pytest.raises(CarepopError):
        run(cfg, out=tmp_path / "out")
    assert (tmp_path / "out" / "carers.csv").read_bytes() == before


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    cfg = _config(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(CarepopError) as err:
        run(cfg, out=tmp_path / "mine")
    assert err.value.code == "cannot_write" and (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_planted_identifier_column_is_refused(tmp_path):
    survey = carers_survey(3, n=4000).assign(nhs_number=lambda d: 9_000_000_000 + d["respondent"])
    cfg = _config(tmp_path, survey=survey)
    # not declared: never read, so the run goes ahead and no output has it
    result = run(cfg, out=tmp_path / "out")
    assert all("nhs_number" not in t.columns for t in result.tables.values())
    # declared: refused before any work
    cfg.write_text(
        cfg.read_text().replace(
            'file = "carers.csv"',
            'file = "carers.csv"\ncolumns = ["council_code", '
            '"carer", "weight", "residents_5plus", "nhs_number"]',
        )
    )
    with pytest.raises(CarepopError) as err:
        run(cfg, out=tmp_path / "out2")
    assert err.value.code == "identifier_column" and err.value.column == "nhs_number"
    assert not (tmp_path / "out2").exists()


def test_only_declared_columns_are_read(tmp_path, monkeypatch):
    import carepop.io

    seen = {}
    real = carepop.io.read_data

    def spy(path, **kw):
        seen[str(path)] = kw.get("usecols")
        return real(path, **kw)

    monkeypatch.setattr(carepop.io, "read_data", spy)
    survey = carers_survey(3, n=4000).assign(secret="x")
    run(_config(tmp_path, survey=survey), out=tmp_path / "out")
    cols = seen[str(tmp_path / "carers.csv")]
    assert set(cols) == {"weight", "council_code", "residents_5plus", "carer"}


def test_disclosure_off_is_said_everywhere(tmp_path):
    cfg = _config(tmp_path, extra="\n[disclosure]\nenabled = false\n")
    result = run(cfg, out=tmp_path / "out")
    assert result.manifest["disclosure"]["rules"]["enabled"] is False
    assert "NOT FOR PUBLICATION" in result.manifest["disclosure"]["rules"]["warning"]


def test_cld_known_carers_are_published_as_the_cld_table_publishes_them(tmp_path):
    """known = "cld": the hidden-carers table shows the councils' carers supported exactly as
    cld_counts publishes them (same suppressions, same region and England totals), so neither table
    undoes the other's secondary suppression."""
    from carepop.sources.cld.generate import generate

    generate(tmp_path / "cld.parquet", rows=3000, seed=4, release="r2")
    extra = '\n[inputs.cld]\nfile = "cld.parquet"\n\n[measures.cld_signals]\ninput = "cld"\n'
    cfg = _config(tmp_path, extra=extra)
    cfg.write_text(
        cfg.read_text().replace("[measures.hidden_carers]\n", '[measures.hidden_carers]\nknown = "cld"\n')
    )
    result = run(cfg, out=tmp_path / "out")
    hidden = result.tables["hidden_carers"].set_index("area_code")["known"]
    cld = result.tables["cld_counts"]
    cld = cld[cld["measure"] == "carers_supported"]
    councils = cld[cld["council_code"] != "Total"].set_index("council_code")["value"].astype(float)
    np.testing.assert_array_equal(hidden.loc[councils.index].to_numpy(dtype=float), councils.to_numpy())
    assert councils.isna().any()  # something was suppressed, and is suppressed in both
    gone = hidden.index[hidden.isna()]
    derived = result.tables["hidden_carers"].set_index("area_code").loc[gone]
    assert derived[["hidden", "hidden_lower", "share_known", "share_known_upper"]].isna().all().all()
    england = cld[(cld["region_code"] == "Total") & (cld["council_code"] == "Total")]["value"].astype(float)
    assert hidden.loc["E92000001"] == england.iloc[0]


def test_a_column_the_file_lacks_names_its_config_line(tmp_path):
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text().replace('weight = "weight"', 'weight = "wieght"'))
    with pytest.raises(CarepopError) as err:
        run(cfg, out=tmp_path / "out")
    assert err.value.code == "unknown_column" and "line 10" in str(err.value)
    assert "did you mean 'weight'" in str(err.value)
    assert not (tmp_path / "out").exists()

"""``carepop cld check|summarise|generate`` and malformed files: clear errors (exit 2) and
nothing written."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from carepop.cli import app
from carepop.errors import CarepopError
from carepop.sources.cld.quality import quality_report
from carepop.sources.cld.summary import summarise
from tests.sources.cld.fixtures import events, story, write

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["cld", *map(str, args)])


# ---------------------------------------------------------------------------------------------
# malformed files


def test_missing_fields_are_named(tmp_path):
    frame = events({}).drop(columns=["Event_Outcome", "Date_of_Death"])
    frame = frame.rename(columns={"Der_Birth_Year": "Der_birth_year"})
    path = write(frame, tmp_path / "cols.csv")
    with pytest.raises(CarepopError) as err:
        summarise(path)
    assert err.value.code == "missing_columns"
    assert "3 required field(s) missing: Der_Birth_Year, Event_Outcome, Date_of_Death" in err.value.message
    assert err.value.column == "Der_Birth_Year"
    assert "'Der_birth_year' -> 'Der_Birth_Year'" in err.value.fix


def test_unparseable_dates_name_the_column_and_rows(tmp_path):
    frame = events({}, {}, {}, {}, {})
    frame["Event_Start_Date"] = ["2024-05-01", "31/02/2024", "2024-05-01", "tomorrow", "05/01/2024"]
    frame.loc[2, "Date_of_Death"] = "2024-13-01"
    path = write(frame, tmp_path / "dates.csv")
    with pytest.raises(CarepopError) as err:
        quality_report(path)
    e = err.value
    assert e.code == "bad_date" and e.column == "Event_Start_Date" and e.rows == [2, 4]
    assert "2 value(s) of Event_Start_Date are not dates" in e.message
    assert "'31/02/2024'" in e.message and "'tomorrow'" in e.message
    assert "also 1 value(s) of Date_of_Death are not dates" in e.fix
    # DD/MM/YYYY is read (row 5), so it is not among the rows


def test_unparseable_birth_year(tmp_path):
    frame = events({}, {})
    frame["Der_Birth_Year"] = ["1950", "nineteen fifty"]
    with pytest.raises(CarepopError) as err:
        summarise(write(frame, tmp_path / "by.csv"))
    assert err.value.code == "bad_number" and err.value.column == "Der_Birth_Year" and err.value.rows == [2]


def test_unknown_and_abolished_councils(tmp_path):
    frame = events({}, {"LA_Code": "E07000026"}, {}, {"LA_Code": "E10000023"}, {"LA_Code": None})
    with pytest.raises(CarepopError) as err:
        summarise(write(frame, tmp_path / "la.csv"))
    e = err.value
    assert e.code == "unknown_la" and e.column == "LA_Code" and e.rows == [2, 4, 5]
    assert "3 record(s) have an LA_Code that is not one of the 153 councils" in e.message
    assert "'E07000026'" in e.message and "(missing)" in e.message
    assert "North Yorkshire county (now North Yorkshire E06000065)" in e.fix


def test_unreadable_files(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(CarepopError) as err:
        summarise(bad)
    assert err.value.code == "unreadable"
    ragged = tmp_path / "ragged.csv"
    text = events({}).to_csv(index=False) + "E06000001,1,2\n"
    ragged.write_text(text)
    with pytest.raises(CarepopError) as err:
        summarise(ragged)
    assert err.value.code == "unreadable"
    with pytest.raises(CarepopError) as err:
        summarise(tmp_path / "nowhere.csv")
    assert err.value.code == "file_not_found"
    (tmp_path / "x.xlsx").write_bytes(b"")
    with pytest.raises(CarepopError) as err:
        summarise(tmp_path / "x.xlsx")
    assert err.value.code == "unknown_format"


def test_wrong_column_type_and_other_delimiters(tmp_path):
    frame = events({})
    frame["Event_Start_Date"] = True
    with pytest.raises(CarepopError) as err:
        summarise(write(frame, tmp_path / "bool.parquet"))
    assert err.value.code == "bad_type" and err.value.column == "Event_Start_Date"
    tab = tmp_path / "story.txt"
    story().to_csv(tab, sep="\t", index=False)
    pd.testing.assert_frame_equal(summarise(tab), summarise(write(story(), tmp_path / "story.csv")))


def _malformed_files(tmp_path):
    cols = write(events({}).drop(columns=["Client_Type"]), tmp_path / "cols.csv")
    dates = events({}, {"Event_End_Date": "2024-02-30"})
    dates = write(dates, tmp_path / "dates.csv")
    la = write(events({}, {"LA_Code": "W06000001"}), tmp_path / "la.parquet")
    return {"Client_Type": cols, "Event_End_Date": dates, "W06000001": la}


def test_cli_malformed_exit_2_and_write_nothing(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for needle, path in _malformed_files(tmp_path).items():
        res = run("check", path, "--report", out_dir / "report.csv")
        assert res.exit_code == 2, res.output
        assert res.output.startswith("error: ") and needle in res.output and "Traceback" not in res.output
        for suffix in (".csv", ".parquet"):
            res = run("summarise", path, "--out", out_dir / f"summary{suffix}")
            assert res.exit_code == 2, res.output
            assert needle in res.output
    assert list(out_dir.iterdir()) == []  # no output, no temporary file


def test_cli_rows_are_one_based_data_rows(tmp_path):
    path = write(events({}, {}, {"Event_Start_Date": "2024/05/01"}), tmp_path / "r.csv")
    res = run("check", path)
    assert res.exit_code == 2
    assert "rows: 3" in res.output and "column: 'Event_Start_Date'" in res.output


# ---------------------------------------------------------------------------------------------
# check


def test_cli_check_clean_file_exit_0(tmp_path):
    clean = events(
        {}, {"Event_Type": "Review", "Event_Start_Date": "2024-06-01", "Event_End_Date": "2024-06-01"}
    )
    res = run("check", write(clean, tmp_path / "clean.parquet"))
    assert res.exit_code == 0, res.output
    assert "no recording problems found" in res.output


def test_cli_check_problems_exit_1_with_report(tmp_path):
    report = tmp_path / "reports" / "quality.csv"
    res = run("check", write(story(), tmp_path / "story.csv"), "--report", report)
    assert res.exit_code == 1, res.output
    assert "9 check(s) found recording problems" in res.output
    assert "duplicate_events" in res.output and "first_contact_only (info)" in res.output
    table = pd.read_csv(report, keep_default_na=False)
    assert table.loc[table["check"] == "overlapping_services", "count"].item() == 1
    assert set(table.columns) >= {"check", "column", "level", "severity", "count", "share", "example_rows"}


def test_cli_check_information_only_is_clean(tmp_path):
    only_requests = events({"Der_NHS_Number_Traced_Pseudo": None})
    res = run("check", write(only_requests, tmp_path / "info.csv"))
    assert res.exit_code == 0, res.output


def test_cli_check_bad_report_suffix(tmp_path):
    res = run("check", write(story(), tmp_path / "s.csv"), "--report", tmp_path / "r.txt")
    assert res.exit_code == 2 and "--report FILE.csv" in res.output
    assert not (tmp_path / "r.txt").exists()


# ---------------------------------------------------------------------------------------------
# summarise


def test_cli_summarise_exact_csv_matches_library(tmp_path):
    path = write(story(), tmp_path / "story.csv")
    out = tmp_path / "summary.csv"
    res = run("summarise", path, "--out", out, "--exact")
    assert res.exit_code == 0, res.output
    assert "exact counts" in res.output
    got = pd.read_csv(out, keep_default_na=False)
    pd.testing.assert_frame_equal(got, summarise(path), check_dtype=False)


def test_cli_summarise_disclosure_by_default_parquet(tmp_path):
    made = run("generate", tmp_path / "g.parquet", "--rows", 3000, "--seed", 5)
    assert made.exit_code == 0, made.output
    out = tmp_path / "summary.parquet"
    res = run("summarise", tmp_path / "g.parquet", "--out", out)
    assert res.exit_code == 0, res.output
    assert "counts 1-7 suppressed" in res.output
    got = pd.read_parquet(out)
    exact = summarise(tmp_path / "g.parquet")
    assert len(got) == len(exact)
    small = exact["people"].between(1, 7).to_numpy()
    assert got["people"][small].isna().all()
    assert (got["people"][~small].to_numpy() % 5 == 0).all()


def test_cli_summarise_bad_out_suffix_and_engine(tmp_path):
    path = write(story(), tmp_path / "story.csv")
    res = run("summarise", path, "--out", tmp_path / "x.txt")
    assert res.exit_code == 2 and "--out FILE.csv" in res.output and ".parquet, .xlsx or .json" in res.output
    assert not (tmp_path / "x.txt").exists()
    res = run("summarise", path, "--out", tmp_path / "x.csv", "--engine", "sqlite")
    assert res.exit_code == 2 and not (tmp_path / "x.csv").exists()


def test_cli_generate_prints_what_it_planted(tmp_path):
    res = runner.invoke(app, ["cld", "generate", str(tmp_path / "g.csv"), "--rows", "2000", "--seed", "4"])
    assert res.exit_code == 0, res.output
    planted = json.loads(res.stdout)["planted"]
    assert planted["duplicate_events"] > 0
    assert len(pd.read_csv(tmp_path / "g.csv")) == 2000


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_header_only_file_exit_2_and_write_nothing(tmp_path, suffix):
    path = write(events({}).iloc[:0], tmp_path / f"header{suffix}")
    out = tmp_path / "summary.csv"
    report = tmp_path / "report.csv"
    res = run("summarise", path, "--out", out)
    assert res.exit_code == 2, res.output
    assert "no records" in res.output and not out.exists()
    res = run("check", path, "--report", report)
    assert res.exit_code == 2, res.output
    assert "no records" in res.output and not report.exists()


def test_cli_implausible_date_exit_2(tmp_path):
    path = write(events({}, {"Event_Start_Date": "9224-01-01", "Event_End_Date": None}), tmp_path / "y.csv")
    out = tmp_path / "summary.csv"
    res = run("summarise", path, "--out", out)
    assert res.exit_code == 2, res.output
    assert "Event_Start_Date" in res.output and "outside 1900-01-01..2100-12-31" in res.output
    assert "Traceback" not in res.output and not out.exists()
    res = run("check", path)
    assert res.exit_code == 2 and "rows: 2" in res.output, res.output


# ---------------------------------------------------------------------------------------------
# releases and signals

#: the three-row file of the issue: Release 2 wordings only ("Progress to assessment, review or
#: reassessment" among them), which must check clean
R2_THREE = [
    {
        "Client_Type": "Service user",
        "Ethnicity": "White: Irish",
        "Event_Outcome": "Progress to assessment, review or reassessment",
    },
    {
        "Client_Type": "Service user",
        "Ethnicity": "White: Irish",
        "Event_Type": "Assessment",
        "Event_Start_Date": "2024-05-10",
        "Event_End_Date": "2024-05-20",
        "Event_Outcome": "Progress to support planning or services",
        "Primary_Support_Reason": "Physical support: Personal care support",
    },
    {
        "Client_Type": "Service user",
        "Ethnicity": "White: Irish",
        "Event_Type": "Service",
        "Event_Start_Date": "2024-06-01",
        "Event_End_Date": None,
        "Event_Outcome": "Continuation of support or services",
        "Service_Type": "Long term support: Community",
        "Service_Component": "Home support or domiciliary care",
        "Delivery_Mechanism": "Direct payment",
        "Primary_Support_Reason": "Physical support: Personal care support",
    },
]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_check_release_2_file_is_clean(tmp_path, suffix):
    path = write(events(*R2_THREE), tmp_path / f"r2{suffix}")
    res = run("check", path)
    assert res.exit_code == 0, res.output
    assert "no recording problems found" in res.output and "(Release 2)" in res.output
    res = run("check", path, "--release", "r2", "--format", "csv")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(io.StringIO(res.stdout))
    assert table["count"].sum() == 0


def test_cli_check_the_issue_outcome_alone_is_not_invalid(tmp_path):
    # one Release 2 outcome in an otherwise Release 1 file: reported as the other release (info)
    one = events({"Event_Outcome": "Progress to assessment, review or reassessment"})
    path = write(one, tmp_path / "one.csv")
    res = run("check", path, "--format", "csv")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(io.StringIO(res.stdout)).set_index("check")
    assert table.loc["invalid_code:Event_Outcome", "count"] == 0
    assert table.loc["other_release:Event_Outcome", "count"] == 1


def test_cli_release_mismatch_names_columns_and_values(tmp_path):
    path = write(story(), tmp_path / "r1.csv")
    out = tmp_path / "signals.csv"
    for args in (("check", path, "--release", "r2"), ("signals", path, "--release", "r2", "--out", out)):
        res = run(*args)
        assert res.exit_code == 2, res.output
        assert "uses Release 1 wordings only" in res.output and "'Progress to Assessment'" in res.output
        assert "--release r1" in res.output and "Traceback" not in res.output
    assert not out.exists()
    res = run("check", path, "--release", "r3")
    assert res.exit_code == 2 and "--release" in res.output


def test_cli_signals_csv_matches_library(tmp_path):
    from carepop.sources.cld.signals import signals

    made = run("generate", tmp_path / "g.parquet", "--rows", 3000, "--seed", 5, "--release", "r2")
    assert made.exit_code == 0, made.output
    out = tmp_path / "signals.csv"
    res = run("signals", tmp_path / "g.parquet", "--exact", "--out", out)
    assert res.exit_code == 0, res.output
    assert "(Release 2)" in res.output and "exact counts" in res.output
    got = pd.read_csv(out)
    want = signals(tmp_path / "g.parquet")
    assert list(got["council_code"]) == list(want["council_code"])
    pd.testing.assert_frame_equal(
        got.drop(columns=["period_start", "period_end"]),
        want.drop(columns=["period_start", "period_end"]),
        check_dtype=False,
    )
    res = run("signals", tmp_path / "g.parquet", "--period", "2025-04-01,2025-06-30", "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {r["period_end"] for r in rows} == {"2025-06-30"}


def test_cli_signals_are_protected_by_default(tmp_path):
    """Without --exact: counts 1-7 empty, others multiples of 5; a wait measured on fewer than 8
    people withheld (its n suppressed too); the exact table has such small cells to protect."""
    from carepop.sources.cld.signals import SIGNALS, signals

    run("generate", tmp_path / "g.parquet", "--rows", 3000, "--seed", 5, "--release", "r2")
    out = tmp_path / "safe.csv"
    res = run("signals", tmp_path / "g.parquet", "--out", out)
    assert res.exit_code == 0, res.output
    assert "suppressed" in res.output
    got = pd.read_csv(out)
    exact = signals(tmp_path / "g.parquet")
    counts = [c for c in SIGNALS if not c.startswith("wait_") or c.endswith("_n")]
    small = (exact[counts] >= 1) & (exact[counts] <= 7)
    assert small.to_numpy().any()  # something to protect
    assert got[counts].where(small.to_numpy()).isna().all().all()
    published = got[counts].to_numpy(dtype=float)
    assert (published[~np.isnan(published)] % 5 == 0).all()
    few = exact["wait_request_to_service_n"] < 8
    assert few.any() and got.loc[few.to_numpy(), "wait_request_to_service_median_days"].isna().all()


def test_cli_signals_bad_input_exit_2(tmp_path):
    bad_date = write(events({}, {"Event_Start_Date": "2024-02-30"}), tmp_path / "d.csv")
    unknown_la = write(events({}, {"LA_Code": "E07000026"}), tmp_path / "la.csv")
    good = write(events({}), tmp_path / "ok.csv")
    out = tmp_path / "s.csv"
    for args, needle in (
        ((bad_date,), "Event_Start_Date"),
        ((unknown_la,), "E07000026"),
        ((good, "--period", "2024-04-01"), "--period"),
        ((good, "--period", "2025-04-01,2024-04-01"), "before it starts"),
    ):
        res = run("signals", *args, "--out", out)
        assert res.exit_code == 2, res.output
        assert needle in res.output and "Traceback" not in res.output
    assert not out.exists()

"""The same CLD pipeline on Spark (local mode) and DuckDB: identical outputs, row for row.

One Spark session for the module (about 6 s to start); the whole module takes well under a minute.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from carepop.cli import app
from carepop.errors import CarepopError
from carepop.sources.cld import schema
from carepop.sources.cld.engines import DuckDBEngine, SparkEngine
from carepop.sources.cld.generate import generate
from carepop.sources.cld.quality import quality_report
from carepop.sources.cld.summary import summarise
from tests.sources.cld.fixtures import events, story, write


@pytest.fixture(scope="module")
def spark():
    engine = SparkEngine(master="local[2]", shuffle_partitions=2)
    assert engine.session is not None  # start it once for the module
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("cld_spark") / "events.parquet", rows=25_000, seed=42)


def test_generated_file_identical_on_both_engines(spark, generated):
    on_spark = summarise(generated.path, spark)
    on_duckdb = summarise(generated.path, DuckDBEngine())
    assert len(on_duckdb) > 5_000
    pd.testing.assert_frame_equal(on_spark, on_duckdb)  # same rows, same order, same values and dtypes


def test_generated_quality_report_identical_and_exact_on_spark(spark, generated):
    on_spark = quality_report(generated.path, spark)
    pd.testing.assert_frame_equal(on_spark, quality_report(generated.path, DuckDBEngine()))
    found = {c: int(n) for c, n in zip(on_spark["check"], on_spark["count"], strict=True) if n}
    assert found == {k: v for k, v in generated.planted.items() if v}


def test_pandas_timestamps_and_floats_identical(spark, tmp_path):
    # (text CSV on Spark: test_cli_engine_spark)
    frame = story()
    csv = write(frame, tmp_path / "story.csv")
    typed = frame.copy()
    for col in schema.DATE_FIELDS:
        typed[col] = pd.to_datetime(typed[col])  # nanosecond timestamps, which Spark cannot read as is
    typed["Der_Birth_Month"] = typed["Der_Birth_Month"].astype("float64")
    parquet = write(typed, tmp_path / "typed.parquet")
    pd.testing.assert_frame_equal(summarise(parquet, spark), summarise(csv, DuckDBEngine()))


def test_malformed_file_same_error_on_spark(spark, tmp_path):
    frame = events({}, {"Event_Start_Date": "2024-02-30"}, {"LA_Code": "E07000026"})
    path = write(frame, tmp_path / "bad.csv")
    errors = []
    for engine in (spark, DuckDBEngine()):
        with pytest.raises(CarepopError) as err:
            summarise(path, engine)
        errors.append(err.value.to_dict())
    assert errors[0] == errors[1]
    assert errors[0]["code"] == "bad_date" and errors[0]["rows"] == [2]


def test_cli_engine_spark(spark, tmp_path):
    path = write(story(), tmp_path / "story.csv")
    out = tmp_path / "summary.csv"
    res = CliRunner().invoke(
        app, ["cld", "summarise", str(path), "--engine", "spark", "--out", str(out), "--exact"]
    )
    assert res.exit_code == 0, res.output
    assert "[spark," in res.output
    got = pd.read_csv(out, keep_default_na=False)
    pd.testing.assert_frame_equal(got, summarise(path, DuckDBEngine()), check_dtype=False)
    assert spark.session.sparkContext._jsc is not None  # the CLI used the session and left it running


def test_edge_cases_identical_on_spark(spark, tmp_path):
    open_q1 = {
        "Event_Type": "Service",
        "Service_Type": "Long Term Support: Community",
        "Service_Component": None,
        "Event_Outcome": "Provision of service",
        "Event_Start_Date": "2024-01-15",
        "Event_End_Date": None,
        "Reporting_Period_End_Date": "2024-03-31",
    }
    frame = events(
        open_q1,
        {**open_q1, "Event_End_Date": "2024-05-10", "Reporting_Period_End_Date": "2024-06-30"},
        {**open_q1, "Event_Start_Date": "2024-02-01"},  # overlaps (no component)
        {"Event_Outcome": "Progress to \ufb01nancial assessment", "Gender": "female"},  # ligature
        {"Der_NHS_Number_Traced_Pseudo": "N2", "Event_Outcome": "nfa - support ended – other reason"},
        {"Der_NHS_Number_Traced_Pseudo": "N3", "Event_Start_Date": "2024-05-01T10:30:15.5+01:00"},
        {
            "Der_NHS_Number_Traced_Pseudo": "N3",
            "Event_Outcome": "NFA - Support declined",
            "Date_of_Death": "2024-05-01",
        },
        {"Der_NHS_Number_Traced_Pseudo": "N4", "Der_Birth_Year": 2030, "Der_Birth_Month": 1},
    )
    path = write(frame, tmp_path / "edge.csv")
    pd.testing.assert_frame_equal(summarise(path, spark), summarise(path, DuckDBEngine()))
    pd.testing.assert_frame_equal(quality_report(path, spark), quality_report(path, DuckDBEngine()))


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("Event_Start_Date", "2024-05-01\n", "bad_date"),  # Java's $ would match before the line break
        ("Der_Birth_Year", "1950\n", "bad_number"),
        ("Event_Start_Date", "2024-05-01 garbage", "bad_date"),
        ("Event_Start_Date", "9999-12-31", "implausible_date"),
    ],
)
def test_rejected_values_same_error_on_spark(spark, tmp_path, column, value, code):
    frame = events({}, {})
    frame[column] = frame[column].astype(object)
    frame.loc[0, column] = value
    path = write(frame, tmp_path / "bad.csv")
    errors = []
    for engine in (spark, DuckDBEngine()):
        with pytest.raises(CarepopError) as err:
            summarise(path, engine)
        errors.append(err.value.to_dict())
    assert errors[0] == errors[1]
    assert errors[0]["code"] == code and errors[0]["rows"] == [1]


# ---------------------------------------------------------------------------------------------
# Release 2 files and the signals


@pytest.fixture(scope="module")
def generated_r2(tmp_path_factory):
    return generate(
        tmp_path_factory.mktemp("cld_spark_r2") / "events.parquet", rows=4_000, seed=43, release="r2"
    )


def test_release_2_planted_problems_found_on_spark(spark, generated_r2):
    on_spark = quality_report(generated_r2.path, spark)
    pd.testing.assert_frame_equal(on_spark, quality_report(generated_r2.path, DuckDBEngine()))
    assert on_spark.attrs["release"] == "r2"
    found = {c: int(n) for c, n in zip(on_spark["check"], on_spark["count"], strict=True) if n}
    assert found == {k: v for k, v in generated_r2.planted.items() if v}


def test_signals_identical_on_spark(spark, generated_r2, tmp_path):
    from carepop.sources.cld.signals import signals

    on_spark = signals(generated_r2.path, spark, period=("2025-04-01", "2025-12-31"))
    on_duckdb = signals(generated_r2.path, DuckDBEngine(), period=("2025-04-01", "2025-12-31"))
    pd.testing.assert_frame_equal(on_spark, on_duckdb)
    assert on_duckdb["wait_request_to_service_n"].sum() > 0 and on_duckdb["carers_supported"].sum() > 0
    r1 = write(story(), tmp_path / "story.csv")  # Release 1, default period
    pd.testing.assert_frame_equal(signals(r1, spark), signals(r1, DuckDBEngine()))


def test_hand_worked_signals_identical_on_spark(spark, tmp_path):
    from carepop.sources.cld.signals import signals
    from tests.sources.cld.test_signals import HAND, r2_events

    path = write(r2_events(*HAND), tmp_path / "hand.csv")
    pd.testing.assert_frame_equal(signals(path, spark), signals(path, DuckDBEngine()))

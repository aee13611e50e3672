"""CLD pipeline on DuckDB: de-duplication, person keys, age bands and every aggregate, checked
against counts worked out by hand on a 14-record file (tests/sources/cld/fixtures.py: STORY)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.sources.cld import schema, sql
from carepop.sources.cld.quality import quality_report
from carepop.sources.cld.sql import dialect, lit
from carepop.sources.cld.summary import OUTPUT_COLUMNS, summarise
from tests.sources.cld.fixtures import HAMPSHIRE, HARTLEPOOL, SELF_FUNDED, events, service, story, write

NR = schema.NOT_RECORDED
ALL = schema.ALL
PHYS = "Physical Support: Personal care support"
CARER_PSR = "Social Support: Support to Carer"


@pytest.fixture(scope="module")
def story_summary(tmp_path_factory):
    return summarise(write(story(), tmp_path_factory.mktemp("cld") / "story.csv"))


def cells(frame: pd.DataFrame, table: str) -> dict[tuple, tuple[int, int]]:
    part = frame[frame["table"] == table]
    dims = [c for c in OUTPUT_COLUMNS if c not in ("table", "la_name", "events", "people")]
    return {
        tuple(r[d] for d in dims if r[d] != ALL): (int(r["events"]), int(r["people"]))
        for r in part.to_dict("records")
    }


def test_activity_cells_by_hand(story_summary):
    su, carer = "Service User", "Carer"
    expected = {
        # P1: request sent twice (one event), assessment on an untraced record, two services
        (HARTLEPOOL, su, "75-84", "Female", "Request", NR, NR): (1, 1),
        (HARTLEPOOL, su, "75-84", "Female", "Assessment", NR, NR): (1, 1),
        (HARTLEPOOL, su, "75-84", "Female", "Service", "Long Term Support: Community", PHYS): (2, 1),
        # P2: one request
        (HARTLEPOOL, su, "25-49", "Male", "Request", NR, NR): (1, 1),
        # P3, carer aged 64 at each event
        (HARTLEPOOL, carer, "50-64", "Female", "Assessment", NR, CARER_PSR): (1, 1),
        (HARTLEPOOL, carer, "50-64", "Female", "Service", "Carer Support: Direct to Carer", CARER_PSR): (
            1,
            1,
        ),
        (HARTLEPOOL, carer, "50-64", "Female", "Review", NR, CARER_PSR): (1, 1),
        # the record with no identifier: an event, nobody
        (HARTLEPOOL, su, "18-24", "Male", "Request", NR, NR): (1, 0),
        # P4: birth year and month from the records that have them, sex from the latest known
        (HAMPSHIRE, su, "85+", "Female", "Request", NR, NR): (1, 1),
        (HAMPSHIRE, su, "85+", "Female", "Review", NR, NR): (2, 1),
        (
            HAMPSHIRE,
            su,
            "85+",
            "Female",
            "Service",
            "Long Term Support: Residential Care",
            "Support with Memory & Cognition",
        ): (1, 1),
    }
    assert cells(story_summary, "activity") == expected
    assert story_summary.loc[story_summary["table"] == "activity", "events"].sum() == 14 - 1


def test_carers_self_funded_and_requests_without_service(story_summary):
    assert cells(story_summary, "carers_supported") == {(HARTLEPOOL, "Carer", "50-64", "Female"): (3, 1)}
    assert cells(story_summary, "self_funded") == {
        (HARTLEPOOL, "Service User", "25-49", "Male", "Request"): (1, 1),  # release-1 wording recoded
        (HAMPSHIRE, "Service User", "85+", "Female", "Service"): (1, 1),
    }
    # the outcome decides: P1's and P4's requests progress to assessment; P2's request ends
    # self-funded and the unidentified one with signposting (an event, not a person)
    assert cells(story_summary, "requests_no_service") == {
        (HARTLEPOOL, "Service User", "18-24", "Male", "NFA - Information & Advice / Signposting only"): (
            1,
            0,
        ),
        (HARTLEPOOL, "Service User", "25-49", "Male", SELF_FUNDED): (1, 1),
    }


def test_output_shape_and_no_identifiers(story_summary):
    assert list(story_summary.columns) == list(OUTPUT_COLUMNS)
    assert story_summary["table"].unique().tolist() == [
        "activity",
        "carers_supported",
        "self_funded",
        "requests_no_service",
    ]
    assert set(story_summary["la_name"]) == {"Hartlepool", "Hampshire"}
    # every text cell is a council, a label of a code list, an age band, a sex or a marker
    labels = {ALL, NR, schema.INVALID, schema.UNKNOWN_AGE, *schema.SEXES, *schema.councils()}
    labels |= {band for band, _ in schema.AGE_BANDS} | {"Hartlepool", "Hampshire"}
    labels |= {v for values in schema.CODE_LISTS.values() for v in values}
    labels |= {"activity", "carers_supported", "self_funded", "requests_no_service"}
    text = story_summary.drop(columns=["events", "people"])
    assert set(text.to_numpy().ravel()) <= labels
    assert story_summary["events"].dtype == np.int64 and story_summary["people"].dtype == np.int64


def test_csv_and_parquet_give_the_same_summary(tmp_path, story_summary):
    frame = story()
    parquet = summarise(write(frame, tmp_path / "s.parquet"))
    pd.testing.assert_frame_equal(parquet, story_summary)
    # typed Parquet columns (dates as pandas timestamps, birth year as floats with gaps) read the same
    typed = frame.copy()
    for col in schema.DATE_FIELDS:
        typed[col] = pd.to_datetime(typed[col])
    typed["Der_Birth_Year"] = typed["Der_Birth_Year"].astype("float64")
    pd.testing.assert_frame_equal(summarise(write(typed, tmp_path / "typed.parquet")), story_summary)


def test_duplicates_ignore_reporting_period_spaces_and_letter_case(tmp_path):
    rows = events(
        {},
        {"Reporting_Period_Start_Date": "2023-04-01"},  # same event, another submission
        {"Event_Start_Date": " 2024-05-01 ", "Gender": " Female "},  # spaces around values
        {"Gender": "female", "Event_Type": "request"},  # codes in another letter case: same record
        {"Event_Start_Date": "2024-05-03", "Event_End_Date": "2024-05-03"},  # another request
    )
    out = summarise(write(rows, tmp_path / "d.csv"))
    assert cells(out, "activity") == {
        (HARTLEPOOL, "Service User", "65-74", "Female", "Request", NR, NR): (2, 1)
    }


def test_resubmitted_service_counted_once_with_the_latest_version(tmp_path):
    open_q1 = service(Event_Start_Date="2024-01-15", Reporting_Period_End_Date="2024-03-31")
    rows = events(
        open_q1,  # 1: open in the Q1 return
        {**open_q1, "Event_End_Date": "2024-05-10", "Reporting_Period_End_Date": "2024-06-30"},  # 2: closed
        open_q1,  # 3: the Q1 version sent again: still the older version
        # the same request re-sent with another outcome in the later return: the later one counts
        {"Event_Outcome": "NFA - Support declined", "Reporting_Period_End_Date": "2024-06-30"},  # 4
        {"Reporting_Period_End_Date": "2024-09-30"},  # 5: progress to assessment, latest
        # another service (other component) starting the same day stays a service of its own
        service(Event_Start_Date="2024-01-15", Service_Component="Day Care"),  # 6
    )
    out = summarise(write(rows, tmp_path / "r.csv"))
    assert cells(out, "activity") == {
        (HARTLEPOOL, "Service User", "65-74", "Female", "Request", NR, NR): (1, 1),
        (HARTLEPOOL, "Service User", "65-74", "Female", "Service", "Long Term Support: Community", PHYS): (
            2,
            1,
        ),
    }
    assert cells(out, "requests_no_service") == {}  # the latest version progressed to assessment


def test_requests_no_service_follow_the_outcome(tmp_path):
    a = {"Der_NHS_Number_Traced_Pseudo": "A"}
    b = {"Der_NHS_Number_Traced_Pseudo": "B"}
    rows = events(
        # A: support declined, then later an unrelated request that led to a service
        {
            **a,
            "Event_Start_Date": "2024-01-10",
            "Event_End_Date": "2024-01-11",
            "Event_Outcome": "NFA - Support declined",
        },
        {
            **a,
            "Event_Start_Date": "2024-06-10",
            "Event_End_Date": "2024-06-11",
            "Event_Outcome": "Progress to Support Planning / Services",
        },
        service(**a, Event_Start_Date="2024-07-01"),
        # B: progressed to assessment and nothing followed: not "no service"
        {**b, "Event_Outcome": "Progress to Assessment"},
        {
            **b,
            "Event_Start_Date": "2024-06-01",
            "Event_End_Date": "2024-06-01",
            "Event_Outcome": "Progress to Reablement/ST-Max",
        },
        # B: signposting, self-funded (release-1 wording) and "NFA- Other" are no service
        {
            **b,
            "Event_Start_Date": "2024-07-01",
            "Event_End_Date": "2024-07-01",
            "Event_Outcome": "NFA - Information & Advice / Signposting only",
        },
        {
            **b,
            "Event_Start_Date": "2024-08-01",
            "Event_End_Date": "2024-08-01",
            "Event_Outcome": "NFA - Self-funded client (Inc. 12wk disregard)",
        },
        {
            **b,
            "Event_Start_Date": "2024-09-01",
            "Event_End_Date": "2024-09-01",
            "Event_Outcome": "NFA- Other",
        },
        # an assessment ending NFA is not a request
        {
            **b,
            "Event_Type": "Assessment",
            "Event_Start_Date": "2024-10-01",
            "Event_End_Date": "2024-10-02",
            "Event_Outcome": "NFA - Support declined",
        },
    )
    out = summarise(write(rows, tmp_path / "n.csv"))
    key = (HARTLEPOOL, "Service User", "65-74", "Female")
    assert cells(out, "requests_no_service") == {
        (*key, "NFA - Support declined"): (1, 1),
        (*key, "NFA - Information & Advice / Signposting only"): (1, 1),
        (*key, SELF_FUNDED): (1, 1),
        (*key, "NFA- Other"): (1, 1),
    }
    assert set(schema.NO_SERVICE_OUTCOMES) == {
        v for v in schema.CODE_LISTS["Event_Outcome"] if v.startswith("NFA")
    }
    assert not any(v.startswith("Progress") for v in schema.NO_SERVICE_OUTCOMES)


def test_dates_with_times_are_read_and_trailing_text_rejected(tmp_path):
    ok = ["2024-05-01 10:30", "2024-05-01T10:30:15", "2024-05-01T10:30:15.123Z", "2024-05-01 00:00:00+01:00"]
    frame = events(*({"Event_Start_Date": v} for v in ok))
    out = summarise(write(frame, tmp_path / "t.csv"))
    assert cells(out, "activity") == {
        (HARTLEPOOL, "Service User", "65-74", "Female", "Request", NR, NR): (1, 1)  # one event, sent 4 times
    }
    for i, bad in enumerate(["2024-05-01 garbage", "2024-05-01T", "2024-05-01 25:00", "2024-05-01\n"]):
        frame = events({}, {"Event_Start_Date": bad})
        with pytest.raises(CarepopError) as err:
            summarise(write(frame, tmp_path / f"b{i}.csv"))
        assert err.value.code == "bad_date" and err.value.rows == [2], bad


def test_birth_year_with_a_line_break_is_rejected(tmp_path):
    frame = events({}, {})
    frame["Der_Birth_Year"] = ["1950", "1950\n"]
    with pytest.raises(CarepopError) as err:
        summarise(write(frame, tmp_path / "y.csv"))
    assert err.value.code == "bad_number" and err.value.rows == [2]


def test_non_ascii_codes_are_not_case_folded(tmp_path):
    frame = events(
        {"Event_Outcome": "Progress to \ufb01nancial assessment"},  # ligature: Spark's UPPER expands it
        {"Der_NHS_Number_Traced_Pseudo": "N2", "Event_Outcome": "PROGRESS TO FINANCIAL ASSESSMENT"},
        {"Der_NHS_Number_Traced_Pseudo": "N3", "Event_Outcome": "nfa - support ended – other reason"},
    )
    path = write(frame, tmp_path / "u.csv")
    report = quality_report(path).set_index("check")
    assert report.loc["invalid_code:Event_Outcome", "count"] == 1
    assert report.loc["invalid_code:Event_Outcome", "example_rows"] == "1"
    assert report.loc["nonstandard_spelling:Event_Outcome", "count"] == 1
    assert report.loc["retired_code:Event_Outcome", "count"] == 1  # only ASCII letters change case
    assert sql.ascii_upper("ﬁne – é") == "ﬁNE – é"


def test_implausible_dates_are_rejected(tmp_path):
    frame = events(
        {}, {"Event_Start_Date": "9999-12-31", "Event_End_Date": None}, {"Date_of_Death": "1899-12-31"}
    )
    with pytest.raises(CarepopError) as err:
        summarise(write(frame, tmp_path / "y.csv"))
    e = err.value
    assert e.code == "implausible_date" and e.column == "Event_Start_Date" and e.rows == [2]
    assert "outside 1900-01-01..2100-12-31" in e.message and "Date_of_Death" in e.fix
    # typed Parquet dates too
    typed = events({}, {"Event_Start_Date": "2150-01-01"})
    typed["Event_Start_Date"] = pd.to_datetime(typed["Event_Start_Date"]).astype("datetime64[us]")
    with pytest.raises(CarepopError) as err:
        summarise(write(typed, tmp_path / "y.parquet"))
    assert err.value.code == "implausible_date" and err.value.rows == [2]


def test_person_key_falls_back_to_council_identifier(tmp_path):
    rows = events(
        {"Der_NHS_Number_Traced_Pseudo": "X", "Der_LA_Person_Unique_Identifier_Pseudo": "L1"},
        # the same person on an untraced record: linked through L1
        {
            "Der_NHS_Number_Traced_Pseudo": None,
            "Der_LA_Person_Unique_Identifier_Pseudo": "L1",
            "Event_Start_Date": "2024-06-01",
            "Event_End_Date": "2024-06-02",
        },
        # another untraced person
        {"Der_NHS_Number_Traced_Pseudo": None, "Der_LA_Person_Unique_Identifier_Pseudo": "L2"},
        # the same council identifier in another council is another person
        {
            "LA_Code": HAMPSHIRE,
            "Der_NHS_Number_Traced_Pseudo": None,
            "Der_LA_Person_Unique_Identifier_Pseudo": "L1",
        },
        # an NHS number that equals a council identifier elsewhere is still another person
        {
            "Der_NHS_Number_Traced_Pseudo": "L2",
            "Der_LA_Person_Unique_Identifier_Pseudo": "L9",
            "Event_Start_Date": "2024-07-01",
            "Event_End_Date": "2024-07-02",
        },
    )
    out = summarise(write(rows, tmp_path / "p.csv"))
    assert cells(out, "activity") == {
        (HARTLEPOOL, "Service User", "65-74", "Female", "Request", NR, NR): (4, 3),
        (HAMPSHIRE, "Service User", "65-74", "Female", "Request", NR, NR): (1, 1),
    }


@pytest.mark.parametrize(
    ("year", "month", "start", "band"),
    [
        (2006, 6, "2024-05-31", "Under 18"),  # 17 until June
        (2006, 6, "2024-06-01", "18-24"),  # birthday taken as the 1st of the birth month
        (1999, 12, "2024-11-30", "18-24"),
        (1999, 12, "2024-12-01", "25-49"),
        (1960, 1, "2024-12-31", "50-64"),
        (1959, 4, "2024-04-01", "65-74"),
        (1949, 5, "2024-04-30", "65-74"),
        (1949, 5, "2024-05-01", "75-84"),
        (1939, 5, "2024-05-01", "85+"),
        (2030, 1, "2024-05-01", "Unknown"),  # born after the event
        (1850, 1, "2024-05-01", "Unknown"),  # implausible birth year
        (1950, 13, "2024-05-01", "Unknown"),  # no month 13
        (None, 5, "2024-05-01", "Unknown"),
        (1950, None, "2024-05-01", "Unknown"),
    ],
)
def test_age_bands(tmp_path, year, month, start, band):
    rows = events(
        {"Der_Birth_Year": year, "Der_Birth_Month": month, "Event_Start_Date": start, "Event_End_Date": start}
    )
    out = summarise(write(rows, tmp_path / "a.csv"))
    assert out.loc[out["table"] == "activity", "age_band"].tolist() == [band]


def test_latest_known_birth_and_gender_win(tmp_path):
    rows = events(
        {
            "Der_Birth_Year": 1950,
            "Der_Birth_Month": 1,
            "Gender": "Male",
            "Event_Start_Date": "2024-04-01",
            "Event_End_Date": "2024-04-01",
        },
        # a later record corrects the birth year; its gender is Unknown, so Male stays
        {
            "Der_Birth_Year": 1930,
            "Der_Birth_Month": 1,
            "Gender": "Unknown",
            "Event_Type": "Review",
            "Event_Start_Date": "2024-09-01",
            "Event_End_Date": "2024-09-01",
        },
        # no birth date on the last record: the person's latest known one is used
        {
            "Der_Birth_Year": None,
            "Der_Birth_Month": None,
            "Gender": None,
            "Event_Type": "Assessment",
            "Event_Start_Date": "2024-10-01",
            "Event_End_Date": "2024-10-01",
        },
    )
    out = summarise(write(rows, tmp_path / "b.csv"))
    act = out[out["table"] == "activity"]
    assert act["age_band"].tolist() == ["85+"] * 3 and act["sex"].tolist() == ["Male"] * 3


def test_codes_outside_the_list_and_missing_values_are_kept_and_labelled(tmp_path):
    rows = events(
        service(Service_Type="Long Term Support: Holiday", Primary_Support_Reason=None),
        {"Event_Type": "REQUEST", "Event_Start_Date": "2024-06-01", "Event_End_Date": "2024-06-01"},
    )
    out = summarise(write(rows, tmp_path / "c.csv"))
    got = out.loc[out["table"] == "activity", ["event_type", "service_type", "support_reason"]]
    assert got.values.tolist() == [["Request", NR, NR], ["Service", schema.INVALID, NR]]


def test_self_funded_services_and_carers_known_by_association(tmp_path):
    rows = events(
        service(
            Service_Type="Long Term Support: Nursing Care",
            Service_Component="Nursing Care",
            Event_End_Date="2024-08-01",
            Event_Outcome="NFA - Self-funded client (inc. 12wk disregard)",
        ),
        service(
            Client_Type="Carer known by association",
            Der_NHS_Number_Traced_Pseudo="K",
            Service_Type="Carer Support: Support involving the person cared-for",
            Service_Component="Respite",
        ),
        # a carer's request alone is not support
        {"Client_Type": "Carer", "Der_NHS_Number_Traced_Pseudo": "C"},
    )
    out = summarise(write(rows, tmp_path / "s.csv"))
    assert cells(out, "self_funded") == {(HARTLEPOOL, "Service User", "65-74", "Female", "Service"): (1, 1)}
    assert cells(out, "carers_supported") == {
        (HARTLEPOOL, "Carer known by association", "65-74", "Female"): (1, 1)
    }


def test_dialect_and_literals():
    assert dialect("cld_regexp_match(x, '^a$')", "duckdb") == "regexp_matches(x, '^a$')"
    assert dialect("cld_regexp_match(x, '^a$')", "spark") == "regexp_like(x, '^a$')"
    assert lit("NFA - Support declined") == "'NFA - Support declined'"
    with pytest.raises(ValueError):
        lit("it's")
    # every code and council is a portable literal
    for values in [*schema.CODE_LISTS.values(), *schema.RETIRED.values(), schema.councils()]:
        for v in values:
            lit(v)


def test_councils_list():
    councils = schema.councils()
    assert len(councils) == 153
    assert {c[:3] for c in councils} == {"E06", "E08", "E09", "E10"}
    assert councils["E06000065"] == "North Yorkshire" and "E10000023" not in councils

"""CLD data-quality report (DuckDB): each check on hand-built records, and the synthetic
generator's planted problems counted exactly."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from carepop.sources.cld import schema
from carepop.sources.cld.generate import generate
from carepop.sources.cld.quality import CHECKS, problems, quality_report
from tests.sources.cld.fixtures import HARTLEPOOL, events, service, story, write


def counts(report: pd.DataFrame) -> dict[str, int]:
    """Checks with a non-zero count."""
    return {c: int(n) for c, n in zip(report["check"], report["count"], strict=True) if n}


def test_story_report_by_hand(tmp_path):
    report = quality_report(write(story(), tmp_path / "story.csv"))
    assert counts(report) == {
        "missing_birth_date": 3,  # rows 3, 9 (month only), 12
        "retired_code:Event_Outcome": 1,  # row 6
        "invalid_code:Ethnicity": 1,  # row 6
        "nonstandard_spelling:Client_Type": 1,  # row 8
        "retired_code:Primary_Support_Reason": 1,  # row 11
        "missing_identifier": 1,  # row 13
        "no_nhs_number": 3,  # rows 3, 6, 13
        "duplicate_events": 1,  # row 2 repeats row 1
        "events_after_death": 1,  # row 12
        "overlapping_services": 1,  # row 5 starts while row 4 is open
        "first_contact_only": 1,  # the person of row 6
    }
    by = report.set_index("check")
    assert by.loc["missing_birth_date", "example_rows"] == "3, 9, 12"
    assert by.loc["duplicate_events", "example_rows"] == "2"
    assert by.loc["overlapping_services", "example_rows"] == "5"
    assert by.loc["events_after_death", "example_rows"] == "12"
    assert by.loc["first_contact_only", "example_rows"] == "6"
    assert by.loc["retired_code:Event_Outcome", "example_values"] == (
        "NFA - Self-funded client (Inc. 12wk disregard)"
    )
    assert by.loc["nonstandard_spelling:Client_Type", "example_values"] == "carer"
    assert report.attrs == {"rows": 14, "events": 13, "persons": 4, "release": "r1"}
    assert by.loc["missing_birth_date", "share"] == pytest.approx(3 / 14)
    assert by.loc["first_contact_only", "share"] == pytest.approx(1 / 4)
    assert by.loc["overlapping_services", "share"] == pytest.approx(1 / 13)
    assert problems(report) == 9  # first_contact_only and no_nhs_number are information
    assert list(report["check"]) == [c.id for c in CHECKS]


CLEAN = [
    {},
    service(Event_Start_Date="2024-06-01"),
    {
        "Event_Type": "Review",
        "Event_Start_Date": "2024-08-01",
        "Event_End_Date": "2024-08-01",
        "Event_Outcome": "No change in package",
    },
]


def test_clean_records_pass(tmp_path):
    report = quality_report(write(events(*CLEAN), tmp_path / "clean.csv"))
    assert counts(report) == {} and problems(report) == 0


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"Der_Birth_Month": None}, {"missing_birth_date": 1}),
        ({"Der_Birth_Year": 1850}, {"implausible_birth_date": 1}),
        ({"Der_Birth_Month": 0}, {"implausible_birth_date": 1}),
        ({"Client_Type": None}, {"missing_value:Client_Type": 1}),
        ({"Event_Type": None}, {"missing_value:Event_Type": 1, "open_non_service": 0}),
        ({"Event_Start_Date": None}, {"missing_value:Event_Start_Date": 1}),
        ({"Event_End_Date": "2024-04-30"}, {"end_before_start": 1}),
        ({"Event_End_Date": None}, {"open_non_service": 1}),
        (
            {"Der_NHS_Number_Traced_Pseudo": None, "Der_LA_Person_Unique_Identifier_Pseudo": None},
            {"missing_identifier": 1, "no_nhs_number": 1},
        ),
        ({"Gender": "2"}, {"retired_code:Gender": 1}),
        ({"Gender": "female"}, {"nonstandard_spelling:Gender": 1}),
        ({"Gender": "F"}, {"invalid_code:Gender": 1}),
        ({"Event_Outcome": "NFA - 100% NHS-funded care"}, {"retired_code:Event_Outcome": 1}),
        ({"Event_Outcome": "nfa - 100% nhs-funded care"}, {"retired_code:Event_Outcome": 1}),
        ({"Event_Outcome": "Closed"}, {"invalid_code:Event_Outcome": 1}),
        ({"Event_Type": "Contact"}, {"invalid_code:Event_Type": 1}),
        ({"Ethnicity": "  White - Irish  "}, {}),  # surrounding spaces are not a problem
    ],
)
def test_each_record_check(tmp_path, extra, expected):
    rows = events({**CLEAN[0], **extra}, *CLEAN[1:])
    report = quality_report(write(rows, tmp_path / "r.csv"))
    expected = {k: v for k, v in expected.items() if v}
    assert counts(report) == expected
    if expected:
        hit = next(iter(expected))
        assert report.set_index("check").loc[hit, "example_rows"] == "1"


def test_event_and_person_checks(tmp_path):
    rows = events(
        service(Event_Start_Date="2024-06-01", Event_End_Date="2024-08-31"),  # 1
        service(Event_Start_Date="2024-08-31", Event_End_Date="2024-09-30"),  # 2: starts the day 1 ends
        service(Event_Start_Date="2024-09-15", Event_End_Date="2024-09-20"),  # 3: inside 2: overlap
        service(Event_Start_Date="2024-10-01", Event_End_Date="2024-10-31"),  # 4: after 2 ends
        service(Event_Start_Date="2024-07-01", Service_Component="Day Care"),  # 5: another component
        service(Event_Start_Date="2024-06-01", Event_End_Date="2024-08-31"),  # 6: repeats 1
        # someone else: died on 1 July, reviewed on 2 July
        {"Der_NHS_Number_Traced_Pseudo": "D", "Date_of_Death": "2024-07-01"},  # 7
        {
            "Der_NHS_Number_Traced_Pseudo": "D",
            "Date_of_Death": "2024-07-01",
            "Event_Type": "Review",
            "Event_Start_Date": "2024-07-02",
            "Event_End_Date": "2024-07-02",
        },  # 8
        # a date of death recorded on another record of the person still counts
        {
            "Der_NHS_Number_Traced_Pseudo": "E",
            "Event_Start_Date": "2024-07-05",
            "Event_End_Date": "2024-07-05",
        },  # 9
        {
            "Der_NHS_Number_Traced_Pseudo": "E",
            "Date_of_Death": "2024-07-01",
            "Event_Type": "Review",
            "Event_Start_Date": "2024-06-05",
            "Event_End_Date": "2024-06-05",
        },  # 10
        # two requests and nothing else: known only at first contact
        {"Der_NHS_Number_Traced_Pseudo": "F"},  # 11
        {
            "Der_NHS_Number_Traced_Pseudo": "F",
            "Event_Start_Date": "2024-09-01",
            "Event_End_Date": "2024-09-01",
        },
    )
    report = quality_report(write(rows, tmp_path / "e.csv"))
    by = report.set_index("check")
    assert counts(report) == {
        "duplicate_events": 1,
        "overlapping_services": 1,
        "events_after_death": 2,
        "first_contact_only": 1,
    }
    assert by.loc["duplicate_events", "example_rows"] == "6"
    assert by.loc["overlapping_services", "example_rows"] == "3"
    assert by.loc["events_after_death", "example_rows"] == "8, 9"
    assert by.loc["first_contact_only", "example_rows"] == "11"


@pytest.mark.parametrize(("rows", "seed", "suffix"), [(30_000, 1, ".parquet"), (12_000, 2, ".csv")])
def test_generator_plants_exactly_what_the_report_counts(tmp_path, rows, seed, suffix):
    made = generate(tmp_path / f"g{suffix}", rows=rows, seed=seed)
    report = quality_report(made.path)
    planted = made.planted
    # every kind of problem the issue names is planted
    for kind in (
        "missing_birth_date",
        "duplicate_events",
        "retired_code:Event_Outcome",
        "invalid_code:Primary_Support_Reason",
        "nonstandard_spelling:Service_Type",
        "events_after_death",
        "overlapping_services",
        "first_contact_only",
    ):
        assert planted[kind] > 0, kind
    assert counts(report) == {k: v for k, v in planted.items() if v}
    assert report.attrs["rows"] == rows == made.rows
    assert report.attrs["persons"] == made.people
    assert report.attrs["events"] == rows - planted["duplicate_events"]
    assert 0.18 < planted["missing_birth_date"] / rows < 0.22  # about a fifth


def test_generator_is_seeded_and_uses_the_councils(tmp_path):
    a = generate(tmp_path / "a.parquet", rows=5_000, seed=9)
    b = generate(tmp_path / "b.parquet", rows=5_000, seed=9)
    c = generate(tmp_path / "c.parquet", rows=5_000, seed=10)
    ta, tb, tc = (pq.read_table(x.path).to_pandas() for x in (a, b, c))
    pd.testing.assert_frame_equal(ta, tb)
    assert a.planted == b.planted
    assert not ta.equals(tc)
    assert len(ta) == 5_000
    assert set(ta["LA_Code"].astype(str)) <= set(schema.councils())
    assert list(ta.columns) == [*schema.REQUIRED, "Client_Funding_Status"]


def test_generator_chunks_add_up(tmp_path):
    made = generate(tmp_path / "chunks.parquet", rows=9_000, seed=3, chunk_rows=4_000)
    assert pq.read_metadata(made.path).num_rows == 9_000
    assert counts(quality_report(made.path)) == {k: v for k, v in made.planted.items() if v}


def test_report_on_a_hartlepool_only_file_has_shares_of_rows(tmp_path):
    rows = events({"Der_Birth_Year": None}, {"Event_Start_Date": "2024-06-01", "LA_Code": HARTLEPOOL})
    report = quality_report(write(rows, tmp_path / "h.csv")).set_index("check")
    assert report.loc["missing_birth_date", "share"] == 0.5


def test_resubmitted_versions_are_info_not_duplicates_or_overlaps(tmp_path):
    open_q1 = service(Event_Start_Date="2024-01-15", Reporting_Period_End_Date="2024-03-31")
    rows = events(
        open_q1,  # 1
        {**open_q1, "Event_End_Date": "2024-05-10", "Reporting_Period_End_Date": "2024-06-30"},  # 2
        {**open_q1, "Gender": "female"},  # 3: repeats 1 (letter case aside)
    )
    report = quality_report(write(rows, tmp_path / "r.csv"))
    assert counts(report) == {
        "nonstandard_spelling:Gender": 1,
        "duplicate_events": 1,
        "resubmitted_events": 1,
    }
    by = report.set_index("check")
    assert by.loc["duplicate_events", "example_rows"] == "3"
    assert by.loc["resubmitted_events", "example_rows"] == "1"
    assert by.loc["resubmitted_events", "severity"] == "info"
    assert report.attrs["events"] == 1


def test_services_past_death_birth_after_event_and_missing_components(tmp_path):
    d = {"Der_NHS_Number_Traced_Pseudo": "D"}
    rows = events(
        {**d, "Date_of_Death": "2024-06-01"},  # 1
        service(**d, Event_Start_Date="2024-04-01"),  # 2: open, runs past death
        service(
            **d, Event_Start_Date="2024-04-01", Service_Component="Day Care", Event_End_Date="2024-06-30"
        ),
        service(**d, Event_Start_Date="2024-04-01", Service_Component="Meals", Event_End_Date="2024-06-01"),
        # 4 ends on the day of death: fine
        {"Der_NHS_Number_Traced_Pseudo": "B", "Der_Birth_Year": 2024, "Der_Birth_Month": 6},  # 5: born after
        {"Der_NHS_Number_Traced_Pseudo": "C", "Der_Birth_Year": 2024, "Der_Birth_Month": 5},  # 6: same month
        # services without a component overlap each other
        service(Event_Start_Date="2024-06-01", Service_Component=None),  # 7
        service(Event_Start_Date="2024-07-01", Service_Component=None),  # 8: overlaps 7
        service(Event_Start_Date="2024-07-01"),  # 9: has a component: not with 7
    )
    report = quality_report(write(rows, tmp_path / "s.csv"))
    assert counts(report) == {
        "service_open_after_death": 2,
        "event_before_birth": 1,
        "overlapping_services": 1,
        "first_contact_only": 2,  # B and C
    }
    by = report.set_index("check")
    assert by.loc["service_open_after_death", "example_rows"] == "2, 3"
    assert by.loc["event_before_birth", "example_rows"] == "5"
    assert by.loc["overlapping_services", "example_rows"] == "8"

"""CLD Releases 1 and 2 (DuckDB): detection, recoding, the other release's wordings, planted
problems in Release 2 files, and the lists' recorded sources."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from carepop.sources.cld import schema
from carepop.sources.cld.generate import generate
from carepop.sources.cld.quality import problems, quality_report
from carepop.sources.cld.signals import signals
from carepop.sources.cld.summary import summarise
from tests.sources.cld.fixtures import events, story, write
from tests.sources.cld.test_signals import HAND, person, r2_events


def counts(report: pd.DataFrame) -> dict[str, int]:
    return {c: int(n) for c, n in zip(report["check"], report["count"], strict=True) if n}


def code_counts(report: pd.DataFrame) -> dict[str, int]:
    """Non-zero counts of the code checks (people known at first contact only are information
    the hand-made files have on purpose)."""
    return {c: n for c, n in counts(report).items() if c != "first_contact_only"}


def test_every_code_field_says_where_it_was_checked():
    assert set(schema.SOURCES) == set(schema.CODE_FIELDS)
    for field in schema.R2_VALUES:
        # every Release 2 wording recodes to a code of the list; codes are positions that do not move
        assert set(schema.R2_VALUES[field].values()) <= set(schema.CODE_LISTS[field])
        assert schema.CODE_LISTS[field][: len(schema.R1_LISTS[field])] == schema.R1_LISTS[field]
    assert schema.canonical("Event_Outcome", "NFA: Deceased") == "NFA - Deceased"
    assert schema.to_r2("Event_Outcome", "Progress to Assessment") == (
        "Progress to assessment, review or reassessment"
    )


def test_release_detected_from_the_wordings(tmp_path):
    assert quality_report(write(story(), tmp_path / "r1.csv")).attrs["release"] == "r1"
    r2 = write(r2_events(*HAND), tmp_path / "r2.csv")
    report = quality_report(r2)
    assert report.attrs["release"] == "r2" and problems(report) == 0
    assert code_counts(report) == {}
    # given explicitly: the same
    assert quality_report(r2, release="R2").attrs["release"] == "r2"


def test_mixed_file_reports_the_minority_release(tmp_path):
    frame = r2_events(
        *HAND,
        person(7, Event_Outcome="Progress to Assessment"),  # Release 1 wording
        person(8, Client_Type="Service User", Ethnicity="white: irish"),  # R1 client type; R2 case variant
        person(9, Event_Outcome="NFA - Self-funded client (inc. 12wk disregard)"),  # retired (R1 code)
        person(10, Event_Outcome="Closed"),  # neither
    )
    report = quality_report(write(frame, tmp_path / "mixed.csv"))
    assert report.attrs["release"] == "r2"
    assert code_counts(report) == {
        "other_release:Event_Outcome": 1,
        "other_release:Client_Type": 1,
        "nonstandard_spelling:Ethnicity": 1,
        "retired_code:Event_Outcome": 1,
        "invalid_code:Event_Outcome": 1,
    }
    assert problems(report) == 3  # other_release is information
    by = report.set_index("check")
    assert by.loc["other_release:Event_Outcome", "example_values"] == "Progress to Assessment"
    assert by.loc["other_release:Event_Outcome", "severity"] == "info"
    # the same file read as Release 1: the Release 2 wordings are the other release's now
    as_r1 = counts(quality_report(write(frame, tmp_path / "mixed.csv"), release="r1"))
    assert as_r1["other_release:Client_Type"] == len(HAND) + 3  # 'Service user' / 'Unpaid carer'


def test_release_2_wordings_aggregate_like_release_1(tmp_path):
    # the same seeded people written in both releases' wordings (same period): the activity table
    # (no outcome dimension) and the signals are the same, as the codes are
    kw = {"rows": 4_000, "seed": 21, "period_start": date(2024, 4, 1)}
    r1 = generate(tmp_path / "r1.parquet", release="r1", **kw)
    r2 = generate(tmp_path / "r2.parquet", release="r2", **kw)
    assert r1.planted == r2.planted
    s1, s2 = summarise(r1.path), summarise(r2.path)
    act1, act2 = (s[s["table"] == "activity"].reset_index(drop=True) for s in (s1, s2))
    pd.testing.assert_frame_equal(act1, act2)
    pd.testing.assert_frame_equal(signals(r1.path), signals(r2.path))


@pytest.mark.parametrize("seed", [5, 6])
def test_release_2_planted_problems_found_exactly(tmp_path, seed):
    made = generate(tmp_path / "r2.parquet", rows=6_000, seed=seed, release="r2")
    report = quality_report(made.path)
    assert report.attrs["release"] == "r2"
    for kind in ("retired_code:Event_Outcome", "nonstandard_spelling:Ethnicity", "invalid_code:Gender"):
        assert made.planted[kind] > 0, kind
    assert counts(report) == {k: v for k, v in made.planted.items() if v}
    written = pd.read_parquet(made.path, columns=["Event_Outcome", "Service_Type", "Client_Type"])
    assert "Progress to assessment, review or reassessment" in set(written["Event_Outcome"])
    assert "Long term support: Community" in set(written["Service_Type"])
    assert "Progress to Assessment" not in set(written["Event_Outcome"])


def test_csv_release_2_file_with_optional_columns(tmp_path):
    frame = r2_events(*HAND).assign(Assessment_Type="Long term assessment", Unit_Cost="12.50")
    path = write(frame, tmp_path / "opt.csv")
    assert code_counts(quality_report(path)) == {}
    # and without Client_Funding_Status at all: read as missing, funding unknown
    path = write(events({}), tmp_path / "plain.csv")
    assert signals(path)["requests"].item() == 1

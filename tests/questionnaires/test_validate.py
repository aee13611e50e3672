"""Validation of responses: every planted problem is found with its row and column, nothing
else is reported, a clean file passes, and one wrong answer does not cascade."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from carepop import CarepopError
from carepop.io import read_data
from carepop.questionnaires import derive, load_instrument, stats_template, summarise, validate

CLEAN = Path(__file__).parents[1] / "data" / "questionnaires" / "unpaid_carers_clean.csv"


@pytest.fixture
def clean() -> pd.DataFrame:
    return read_data(CLEAN)


def found(report: pd.DataFrame) -> set[tuple]:
    return {
        (None if pd.isna(r.row) else int(r.row), r.column, r.error_kind)
        for r in report.itertuples(index=False)
    }


def test_clean_file_passes(clean):
    report = validate(clean, "unpaid_carers")
    assert report.empty
    assert list(report.columns) == ["row", "column", "value", "error_kind", "message"]


def test_one_planted_error_of_each_kind_is_found_with_row_and_column(clean):
    bad = clean.astype(object)
    bad.loc[7, "work_hours"] = "sixteen"  # row 8: not a number
    bad.loc[0, "cf_relationship"] = 9  # row 1: codes are 1-8
    bad.loc[2, "cared_for_number"] = 25  # row 3: range 1-20
    bad.loc[1, "self_identify"] = 1  # row 2: a non-carer is not asked this
    bad.loc[3, "general_health"] = None  # row 4: asked (consented young person), required
    bad.loc[2, "work_hours"] = 0  # row 3: rule work_hours > 0
    bad.loc[5, "resp_id"] = "A001"  # row 6: identifier already on row 1
    bad["interviewer_notes"] = "x"  # not an item
    bad = bad.drop(columns="yc_tell_teacher")  # an item with no column
    before = bad.copy()
    report = validate(bad, "unpaid_carers")
    assert found(report) == {
        (8, "work_hours", "type_error"),
        (1, "cf_relationship", "wrong_code"),
        (3, "cared_for_number", "out_of_range"),
        (2, "self_identify", "routing_violation"),
        (4, "general_health", "missing_required"),
        (3, "work_hours", "rule_failed"),
        (1, "resp_id", "duplicate"),
        (6, "resp_id", "duplicate"),
        (None, "interviewer_notes", "unknown_column"),
        (None, "yc_tell_teacher", "missing_column"),
    }
    values = {(r.row, r.column): r.value for r in report.itertuples(index=False) if not pd.isna(r.row)}
    assert values[(8, "work_hours")] == "sixteen" and values[(1, "cf_relationship")] == "9"
    msg = report.set_index("error_kind").loc["rule_failed", "message"]
    assert msg == "someone in work should give hours above 0"
    pd.testing.assert_frame_equal(bad, before)  # the input is not modified
    counts = summarise(report)
    assert counts["count"].sum() == len(report)
    assert counts.iloc[0]["error_kind"] == "unknown_column"


def test_allowed_columns_are_not_reported(clean):
    data = clean.assign(design_weight=1.0)
    assert found(validate(data, "unpaid_carers")) == {(None, "design_weight", "unknown_column")}
    assert validate(data, "unpaid_carers", allow_columns=["design_weight"]).empty


def test_a_wrong_gate_answer_does_not_cascade(clean):
    bad = clean.copy()
    bad.loc[0, "consent_adult"] = 7  # every later answer of row 1 hangs on consent
    assert found(validate(bad, "unpaid_carers")) == {(1, "consent_adult", "wrong_code")}
    bad = clean.copy()
    bad.loc[0, "age"] = np.nan  # routing of consent cannot be decided: only the missing age
    assert found(validate(bad, "unpaid_carers")) == {(1, "age", "missing_required")}


def test_answers_given_where_not_asked_are_each_reported(clean):
    bad = clean.astype(object)
    bad.loc[5, "care_hours_band"] = 2  # row 6 declined to take part
    bad.loc[4, "yc_assent"] = 1  # row 5: 13, no parental agreement: not asked
    assert found(validate(bad, "unpaid_carers")) == {
        (6, "care_hours_band", "routing_violation"),
        (5, "yc_assent", "routing_violation"),
    }


def test_missing_answers_follow_routing(clean):
    bad = clean.astype(object)
    bad.loc[2, "hidden_hours"] = None  # row 3 does caring tasks after answering No: asked
    bad.loc[3, "yc_homework"] = None  # row 4 is a young carer: asked
    bad.loc[1, "work_hours"] = None  # row 2 is an employee: asked
    assert found(validate(bad, "unpaid_carers")) == {
        (3, "hidden_hours", "missing_required"),
        (4, "yc_homework", "missing_required"),
        (2, "work_hours", "missing_required"),
    }


def test_multiple_choice_codes_and_none_of_these(clean):
    bad = clean.astype(object)
    bad.loc[0, "care_tasks"] = "1 12"
    bad.loc[7, "care_tasks"] = "1 0"
    bad.loc[0, "support_received"] = "2,3"  # commas are read as separators
    assert found(validate(bad, "unpaid_carers")) == {
        (1, "care_tasks", "wrong_code"),
        (8, "care_tasks", "rule_failed"),
    }


def test_types_dates_and_patterns(clean):
    bad = clean.astype(object)
    bad.loc[1, "age"] = 34.5
    bad.loc[2, "la_code"] = "W06000001"
    bad.loc[3, "cf_age"] = "two"
    assert found(validate(bad, "unpaid_carers")) == {
        (2, "age", "type_error"),
        (3, "la_code", "type_error"),
        (4, "cf_age", "type_error"),
    }


def split_form(clean: pd.DataFrame) -> pd.DataFrame:
    """Responses as the SPSS/Stata templates lay them out: one 0/1 column per option."""
    ins = load_instrument("unpaid_carers")
    data = derive(clean, ins)
    template = stats_template(ins, include_derived=False)
    return data[list(template.frame.columns)]


def test_indicator_columns_are_read_as_multiple_choice(clean):
    split = split_form(clean)
    assert "care_tasks" not in split and "care_tasks_7" in split
    assert validate(split, "unpaid_carers").empty
    ours = derive(split, "unpaid_carers")
    theirs = derive(clean, "unpaid_carers")
    for col in ("hours_band", "carer_broad", "hidden_carer", "carer_unmet_support"):
        pd.testing.assert_series_equal(ours[col], theirs[col])
    bad = split.copy()
    bad.loc[0, "care_tasks_3"] = 2
    bad.loc[7, "care_tasks_0"] = 1  # with 1, 4, 6 and 8 chosen
    assert found(validate(bad, "unpaid_carers")) == {
        (1, "care_tasks_3", "wrong_code"),
        (8, "care_tasks", "rule_failed"),
    }


def test_spss_file_in_the_template_layout_validates(tmp_path, clean):
    ins = load_instrument("unpaid_carers")
    t = stats_template(ins, include_derived=False)
    path = tmp_path / "collected.sav"
    pyreadstat.write_sav(
        split_form(clean), str(path), column_labels=t.column_labels, variable_value_labels=t.value_labels
    )
    data = read_data(path)
    assert data.attrs["value_labels"]["care_hours_band"][5] == "Yes, 50 or more hours a week"
    assert validate(data, ins).empty


def test_responses_must_be_a_frame():
    with pytest.raises(CarepopError) as info:
        validate([1, 2], "unpaid_carers")
    assert info.value.code == "bad_input"


def test_ranges_are_checked_at_both_ends(clean):
    bad = clean.astype(object)
    bad.loc[7, "cared_for_number"] = 0  # range 1-20
    bad.loc[1, "work_hours"] = 100.5  # range 0-100
    bad.loc[0, "cared_for_number"] = 20  # the bound itself is allowed
    assert found(validate(bad, "unpaid_carers")) == {
        (8, "cared_for_number", "out_of_range"),
        (2, "work_hours", "out_of_range"),
    }


def test_dates_numeric_ids_and_empty_files(tmp_path):
    path = tmp_path / "visits.yaml"
    path.write_text(
        """
name: visits
title: Visits
version: "0.1"
sections:
  - name: main
    label: Main
    items:
      - {name: id, type: integer, label: Identifier, unique: true}
      - {name: visited, type: date, label: Date of the visit}
      - {name: note, type: note, label: Thank you}
      - {name: comment, type: text, label: "Anything else?", required: false}
""",
        encoding="utf-8",
    )
    data = pd.DataFrame(
        {
            "id": [1, 2, 2, 4],
            "visited": ["2024-02-29", "2024-02-30", "", "2024-03-01"],
            "comment": ["", "ok", "", ""],
        }
    )
    assert found(validate(data, path)) == {
        (2, "id", "duplicate"),
        (3, "id", "duplicate"),
        (2, "visited", "type_error"),
        (3, "visited", "missing_required"),
    }
    out = derive(data.iloc[[0, 3]], path)
    assert out["visited"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-29", "2024-03-01"]
    assert validate(data.iloc[:0], path).empty  # headers only: nothing to report


def test_a_missing_option_indicator_column_is_reported(clean):
    """Split multiple choice with care_tasks_5 absent: answers choosing 5 cannot be read."""
    split = split_form(clean).drop(columns="care_tasks_5")
    assert found(validate(split, "unpaid_carers")) == {(None, "care_tasks_5", "missing_column")}
    report = validate(split, "unpaid_carers")
    assert "care_tasks" in report.loc[0, "message"] and "5" in report.loc[0, "message"]
    slash = split_form(clean).rename(columns=lambda c: c.replace("care_tasks_", "care_tasks/"))
    slash = slash.drop(columns="care_tasks/2")
    assert found(validate(slash, "unpaid_carers")) == {(None, "care_tasks/2", "missing_column")}


def test_a_repeated_column_is_reported(clean):
    twice = pd.concat([clean, clean[["age"]].assign(age=999)], axis=1)
    report = validate(twice, "unpaid_carers")
    assert found(report) == {(None, "age", "duplicate_column")}
    assert "2 times" in report.loc[0, "message"] and "first" in report.loc[0, "message"]
    split = split_form(clean)
    split = pd.concat([split, split[["care_tasks_3"]]], axis=1)
    assert found(validate(split, "unpaid_carers")) == {(None, "care_tasks_3", "duplicate_column")}
    assert summarise(report)["error_kind"].tolist() == ["duplicate_column"]


def test_a_huge_number_is_reported_as_given(clean):
    bad = clean.assign(age=clean["age"].astype(float))
    bad.loc[0, "age"] = 1e20
    report = validate(bad, "unpaid_carers")
    assert found(report) == {(1, "age", "out_of_range")}
    assert report.loc[0, "value"] == "1e+20"
    bad.loc[0, "age"] = -3e18  # still a whole number that int64 holds
    assert validate(bad, "unpaid_carers").loc[0, "value"] == "-3000000000000000000"


def test_value_problems_come_before_whole_column_problems(clean):
    """A planted wrong code is listed first, even when many columns are missing (a file from an
    older version of the instrument), so it shows among the first problems on screen."""
    bad = clean.astype(object).drop(columns=list(clean.columns[-12:]))
    bad.loc[4, "cf_relationship"] = "9"
    bad["interviewer"] = "A"
    report = validate(bad, "unpaid_carers")
    first = report.iloc[0]
    assert (first["row"], first["column"], first["error_kind"]) == (5, "cf_relationship", "wrong_code")
    whole = report["row"].isna().to_numpy()
    assert whole.sum() >= 13 and not whole[: (~whole).sum()].any()  # all rows first, then columns
    assert list(report["row"].dropna()) == sorted(report["row"].dropna())


def test_derive_refusal_names_the_check_parameter(clean):
    bad = clean.astype(object)
    bad.loc[0, "cf_relationship"] = "9"
    with pytest.raises(CarepopError) as err:
        derive(bad, "unpaid_carers")
    assert "check=False" in err.value.fix
    assert "--no-check" in err.value.render({"check": "--check"}.get)
    assert err.value.column == "cf_relationship" and err.value.rows == [1]

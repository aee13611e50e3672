"""Derived variables against values worked out by hand, row by row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError
from carepop.io import read_data
from carepop.questionnaires import derive, to_survey
from carepop.sources.census import HOURS_LABELS

CLEAN = Path(__file__).parents[1] / "data" / "questionnaires" / "unpaid_carers_clean.csv"
NA = np.nan


def test_unpaid_carers_derived_by_hand():
    """Rows of the fixture: 1 adult carer 50+ h known to GP only, support partly meets needs;
    2 adult non-carer; 3 says No but does tasks (hidden carer, <=9 h), wants information;
    4 young carer (14, parent agreed) 10-19 h; 5 13-year-old without parental agreement;
    6 adult who declined; 7 17-year-old non-carer; 8 adult carer 20-34 h known to both."""
    raw = read_data(CLEAN)
    before = raw.copy()
    out = derive(raw, "unpaid_carers")
    pd.testing.assert_frame_equal(raw, before)
    expected = {
        "hours_band": [5, 0, 0, 2, NA, NA, 0, 3],
        "carer": [1, 0, 0, 1, NA, NA, 0, 1],
        "carer_broad": [1, 0, 1, 1, NA, NA, 0, 1],
        "hidden_carer": [0, 0, 1, 0, NA, NA, 0, 0],
        "hours_band_broad": [5, 0, 1, 2, NA, NA, 0, 3],
        "carer_known": [1, NA, 0, 0, NA, NA, NA, 3],
        "known_to_services": [1, NA, 0, 0, NA, NA, NA, 1],
        "carer_unmet_support": [1, NA, 1, 0, NA, NA, NA, 0],
    }
    for col, values in expected.items():
        np.testing.assert_array_equal(out[col].to_numpy(dtype=float), values, err_msg=col)
    assert out.attrs["value_labels"]["hours_band"] == HOURS_LABELS
    assert out.attrs["column_labels"]["carer"] == "Provides unpaid care (census definition)"
    # typed columns: complete codes as integers, multiple choice also as 0/1 columns
    assert out["age"].dtype == np.int64 and out["care_hours_band"].dtype == np.float64
    np.testing.assert_array_equal(out["care_tasks_7"].to_numpy(), [1, 0, 0, 1, NA, NA, 0, 0])
    assert out.attrs["value_labels"]["care_tasks_7"] == {0: "Not chosen", 1: "Chosen"}


def test_derive_refuses_invalid_responses_unless_asked():
    raw = read_data(CLEAN).astype(object)
    raw.loc[1, "care_hours_band"] = 9
    with pytest.raises(CarepopError) as info:
        derive(raw, "unpaid_carers")
    err = info.value
    assert err.code == "invalid_responses" and err.column == "care_hours_band" and err.rows == [2]
    out = derive(raw, "unpaid_carers", check=False)  # the wrong code counts as missing
    assert np.isnan(out.loc[1, "hours_band"]) and np.isnan(out.loc[1, "care_hours_band"])


def test_self_funder_status_and_both_unmet_need_variants_by_hand():
    zeros = {f"{p}_{a}": 0 for p, acts in ADL.items() for a in acts}
    rows = [
        # A: care home, council pays with a relative's top-up; dressing helped enough, bathing not enough
        {
            **zeros,
            "consent": 1,
            "care_setting": 4,
            "payer": 2,
            "top_up": 1,
            "adl_dress": 2,
            "adl_dress_help": 1,
            "adl_bath": 1,
            "adl_bath_help": 2,
        },
        # B: home care paid in full; shopping with no help, meals helped enough
        {
            **zeros,
            "consent": 1,
            "care_setting": 2,
            "payer": 1,
            "iadl_shop": 1,
            "iadl_shop_help": 0,
            "iadl_meals": 2,
            "iadl_meals_help": 1,
        },
        # C: no paid care; toilet with no help
        {**zeros, "consent": 1, "care_setting": 1, "adl_toilet": 1, "adl_toilet_help": 0},
        # D: nursing home, NHS pays; dressing not answered
        {**zeros, "consent": 1, "care_setting": 5, "payer": 3, "adl_dress": NA},
        # E: declined
        {"consent": 0},
        # F: supported living, payer not known
        {**zeros, "consent": 1, "care_setting": 3, "payer": -8},
    ]
    out = derive(pd.DataFrame(rows), "self_funders", check=False)
    expected = {
        "funding_status": [2, 1, NA, 4, NA, NA],
        "self_funder": [0, 1, NA, 0, NA, NA],
        "pays_privately": [1, 1, NA, 0, NA, NA],
        "adl_difficulty": [1, 0, 1, NA, NA, 0],
        "iadl_difficulty": [0, 1, 0, 0, NA, 0],
        "unmet_adl_nohelp": [0, 0, 1, NA, NA, 0],
        "unmet_adl_insufficient": [1, 0, 1, NA, NA, 0],
        "unmet_iadl_nohelp": [0, 1, 0, 0, NA, 0],
        "unmet_iadl_insufficient": [0, 1, 0, 0, NA, 0],
        "unmet_any_nohelp": [0, 1, 1, NA, NA, 0],
        "unmet_any_insufficient": [1, 1, 1, NA, NA, 0],
    }
    for col, values in expected.items():
        np.testing.assert_array_equal(out[col].to_numpy(dtype=float), values, err_msg=col)


ADL = {
    "adl": ["dress", "walk", "bath", "eat", "bed", "toilet"],
    "iadl": ["shop", "meals", "housework", "meds", "money", "transport"],
}


def test_workforce_role_group_and_hourly_pay_by_hand():
    rows = [
        {
            "consent": 1,
            "employment_basis": 1,
            "live_in": 0,
            "job_role": 2,
            "hours_week": 37.5,
            "pay_period": 1,
            "pay_amount": 12.0,
            "intend_leave": 2,
        },
        {
            "consent": 1,
            "employment_basis": 2,
            "live_in": 0,
            "job_role": 4,
            "hours_week": 20,
            "pay_period": 2,
            "pay_amount": 260,
            "intend_leave": 4,
        },
        {
            "consent": 1,
            "employment_basis": 1,
            "live_in": 0,
            "job_role": 6,
            "hours_week": 40,
            "pay_period": 4,
            "pay_amount": 41600,
            "intend_leave": -8,
        },
        {
            "consent": 1,
            "employment_basis": 4,
            "live_in": 0,
            "job_role": 9,
            "hours_week": 30,
            "pay_period": 3,
            "pay_amount": 1300,
            "intend_leave": 3,
        },
        {
            "consent": 1,
            "employment_basis": 3,
            "live_in": 1,
            "job_role": 14,
            "hours_week": 10,
            "pay_period": -9,
            "intend_leave": 1,
        },
        {"consent": 0},
    ]
    out = derive(pd.DataFrame(rows), "workforce", check=False)
    # 12; 260 / 20; 41600 / 52 / 40; 1300 * 12 / 52 / 30
    np.testing.assert_allclose(out["hourly_pay"].to_numpy(), [12.0, 13.0, 20.0, 10.0, NA, NA])
    expected = {
        "hourly_pay_band": [2, 3, 4, 1, NA, NA],
        "role_group": [1, 1, 2, 3, 4, NA],
        "worker_kind": [1, 2, 1, 4, 3, NA],
        "intends_to_leave": [1, 0, NA, 0, 1, NA],
    }
    for col, values in expected.items():
        np.testing.assert_array_equal(out[col].to_numpy(dtype=float), values, err_msg=col)
    assert out.attrs["value_labels"]["role_group"][3] == "Regulated profession"


def test_to_survey_keeps_labels_and_design():
    raw = read_data(CLEAN).assign(w=10.0)
    s = to_survey(raw, "unpaid_carers", weight="w", strata="la_code")
    assert s.value_labels["hours_band"] == HOURS_LABELS
    est = s.total("carer", na_rm=True).to_pandas()
    assert est["estimate"].iloc[0] == pytest.approx(30.0)  # rows 1, 4, 8 are carers, weight 10


def test_worker_kind_follows_employment_basis_not_job_title():
    """A 'Personal assistant' job role is a PA only when employed directly by the person
    supported (basis 2); agency and self-employed PAs stay agency and self-employed."""
    base = {
        "consent": 1,
        "live_in": 0,
        "hours_week": 20,
        "pay_period": 1,
        "pay_amount": 12,
        "intend_leave": 2,
    }
    rows = [
        {**base, "employment_basis": 1, "job_role": 4},
        {**base, "employment_basis": 2, "job_role": 4},
        {**base, "employment_basis": 3, "job_role": 4},
        {**base, "employment_basis": 4, "job_role": 4},
        {**base, "employment_basis": 2, "job_role": 1},
        {**base, "employment_basis": NA, "job_role": 4},
    ]
    out = derive(pd.DataFrame(rows), "workforce", check=False)
    np.testing.assert_array_equal(out["worker_kind"].to_numpy(dtype=float), [1, 2, 3, 4, 2, NA])
    labels = out.attrs["value_labels"]["worker_kind"]
    assert labels[2].startswith("Personal assistant (employed by the person supported")
    assert labels[3] == "Self-employed" and labels[4] == "Agency worker"


def test_an_invalid_help_answer_leaves_unmet_need_missing():
    zeros = {f"{p}_{a}": 0 for p, acts in ADL.items() for a in acts}
    rows = [
        {**zeros, "consent": 1, "care_setting": 1, "adl_dress": 2, "adl_dress_help": 7},  # 7 is not a code
        {**zeros, "consent": 1, "care_setting": 1, "adl_dress": 2, "adl_dress_help": NA},  # not answered
        {**zeros, "consent": 1, "care_setting": 1, "adl_dress": 2, "adl_dress_help": 1},  # helped enough
        # no valid dressing help, but no help at all with walking: unmet need is known
        {**zeros, "consent": 1, "care_setting": 1, "adl_dress": 2, "adl_dress_help": 7, "adl_walk": 1,
         "adl_walk_help": 0},
        {**zeros, "consent": 1, "care_setting": 1, "iadl_meds": 1, "iadl_meds_help": 5},
    ]  # fmt: skip
    out = derive(pd.DataFrame(rows), "self_funders", check=False)
    expected = {
        "adl_difficulty": [1, 1, 1, 1, 0],
        "unmet_adl_nohelp": [NA, NA, 0, 1, 0],
        "unmet_adl_insufficient": [NA, NA, 0, 1, 0],
        "unmet_iadl_nohelp": [0, 0, 0, 0, NA],
        "unmet_iadl_insufficient": [0, 0, 0, 0, NA],
        "unmet_any_nohelp": [NA, NA, 0, 1, NA],
        "unmet_any_insufficient": [NA, NA, 0, 1, NA],
    }
    for col, values in expected.items():
        np.testing.assert_array_equal(out[col].to_numpy(dtype=float), values, err_msg=col)


def test_top_up_not_known_leaves_funding_missing():
    """Council-funded care home places: funding_status and pays_privately need the top-up answer;
    'don't know' (-8) or no answer leaves them missing. Outside care homes no top-up is asked."""
    zeros = {f"{p}_{a}": 0 for p, acts in ADL.items() for a in acts}
    rows = [
        {**zeros, "consent": 1, "care_setting": 4, "payer": 2, "top_up": -8},
        {**zeros, "consent": 1, "care_setting": 5, "payer": 2, "top_up": NA},
        {**zeros, "consent": 1, "care_setting": 4, "payer": 2, "top_up": 0},
        {**zeros, "consent": 1, "care_setting": 4, "payer": 2, "top_up": 2},
        {**zeros, "consent": 1, "care_setting": 2, "payer": 2},
        {**zeros, "consent": 1, "care_setting": 4, "payer": 1},
    ]
    out = derive(pd.DataFrame(rows), "self_funders", check=False)
    expected = {
        "funding_status": [NA, NA, 3, 2, 3, 1],
        "self_funder": [0, 0, 0, 0, 0, 1],
        "pays_privately": [NA, NA, 0, 1, 0, 1],
    }
    for col, values in expected.items():
        np.testing.assert_array_equal(out[col].to_numpy(dtype=float), values, err_msg=col)

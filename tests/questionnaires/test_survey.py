"""A file collected with the unpaid-carers instrument goes straight into a Survey, with the
census-compatible hours band derived, and calibrates to the Census 2021 TS039 margins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop.io import read_data
from carepop.questionnaires import simulate_responses, to_survey, validate
from carepop.sources.census import HOURS_LABELS, census_margin, load_ts039
from carepop.weighting import calibrate, rake

LAS = ["E06000001", "E08000001", "E08000025"]  # Hartlepool, Bolton, Birmingham
PER_LA = 200


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> pd.DataFrame:
    """Several hundred adult respondents over three LAs, answering as the instrument routes
    them; carers are over-sampled (40% no care, 12% in each band), as a carers survey would."""
    rng = np.random.default_rng(20211)
    n = PER_LA * len(LAS)
    la = np.repeat(LAS, PER_LA)
    band = rng.choice(6, size=n, p=[0.4, 0.12, 0.12, 0.12, 0.12, 0.12])
    responses = simulate_responses(
        "unpaid_carers",
        n,
        seed=5,
        fixed={
            "la_code": la,
            "age": rng.integers(18, 95, size=n),
            "consent_adult": 1,
            "care_hours_band": band,
        },
    )
    residents = load_ts039("la").set_index("area_code")["residents_5plus"]
    responses["design_weight"] = residents.loc[la].to_numpy() / PER_LA
    path = tmp_path_factory.mktemp("survey") / "collected.csv"
    responses.to_csv(path, index=False)
    return read_data(path)


def test_collected_file_is_clean_and_routed(collected):
    assert validate(collected, "unpaid_carers", allow_columns=["design_weight"]).empty
    hidden = collected["hidden_hours"].notna()
    assert hidden.any()  # some said No but do caring tasks
    assert (collected.loc[hidden, "care_hours_band"] == 0).all()
    assert collected["yc_school_knows"].isna().all()  # adults only


def test_survey_calibrated_to_ts039_reproduces_census_counts(collected):
    survey = to_survey(collected, "unpaid_carers", weight="design_weight", strata="la_code")
    assert survey.value_labels["hours_band"] == HOURS_LABELS
    margin = census_margin("unpaid_care", las=LAS)  # la_code, hours_band, total
    target = margin.set_index(["la_code", "hours_band"])["total"]

    for method in (calibrate, rake):
        weighted = method(survey, {("la_code", "hours_band"): margin})
        data = weighted.data
        got = pd.Series(weighted.weights).groupby([data["la_code"], data["hours_band"]]).sum()
        got.index.names = ["la_code", "hours_band"]
        pd.testing.assert_series_equal(
            got.sort_index(), target.astype(float).sort_index(), check_names=False, rtol=1e-9
        )
    # the share of carers in each LA is then the census share
    ts039 = load_ts039("la").set_index("area_code").loc[LAS]
    est = weighted.proportion("carer", by="la_code").to_pandas()
    yes = est[est["level"] == "Yes"].set_index("la_code")["estimate"]
    np.testing.assert_allclose(yes.loc[LAS], ts039["carers"] / ts039["residents_5plus"], rtol=1e-9)

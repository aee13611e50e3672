"""Carers and hidden carers by council (carepop.measures) on a synthetic carers survey drawn from
the bundled council table: a population where surveys count about twice the census carers
(logit of the rate = logit(2 × census rate) + N(0, 0.2²), seeded), a stratified simple random
sample of 15,000 residents over the 153 councils."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from carepop.errors import CarepopError, DesignError
from carepop.measures.carers import carers_by_council
from carepop.measures.hidden import hidden_carers
from carepop.sources.tables import load_table


@pytest.fixture(scope="module")
def population():
    t = load_table("council", None)
    rng = np.random.default_rng(3)
    r = t["carer_rate"].to_numpy()
    theta = 1 / (1 + np.exp(-(np.log(2 * r / (1 - 2 * r)) + rng.normal(scale=0.2, size=len(r)))))
    return t, theta


def _survey(population, seed: int, n: int = 15_000) -> Survey:
    t, theta = population
    rng = np.random.default_rng(seed)
    N = t["residents_5plus"].to_numpy()
    n_i = np.maximum(np.floor(n * N / N.sum() + rng.random(len(N))).astype(int), 2)
    idx = np.repeat(np.arange(len(N)), n_i)
    y = (rng.random(len(idx)) < theta[idx]).astype(int)
    df = pd.DataFrame(
        {"council_code": t["council_code"].to_numpy()[idx], "carer": y, "w": (N / n_i)[idx], "N": N[idx]}
    )
    return Survey(df, weight="w", strata="council_code", fpc="N")


@pytest.fixture(scope="module")
def result(population):
    return carers_by_council(_survey(population, 11), carer="carer", seed=1, boot=50)


def test_every_council_region_and_england(result):
    t = result.to_pandas()
    assert (t["area_level"] == "council").sum() == 153
    assert (t["area_level"] == "region").sum() == 9 and (t["area_level"] == "england").sum() == 1
    assert t["definition"].nunique() == 1
    eng = t[t["area_level"] == "england"].iloc[0]
    assert eng["census_carers"] == 4_678_260  # Census 2021 TS039, England, residents aged 5+
    c = t[t["area_level"] == "council"]
    assert ((c["ci_lower"] <= c["estimate"]) & (c["estimate"] <= c["ci_upper"])).all()
    np.testing.assert_allclose(c["carers"] / c["estimate"], c["census_carers"] / c["census_rate"], rtol=1e-12)
    np.testing.assert_allclose(c["ratio"] * c["census_rate"], c["estimate"], rtol=1e-12)


def test_council_estimates_add_up_to_each_region(result, population):
    t = result.to_pandas()
    c, r = t[t["area_level"] == "council"], t[t["area_level"] == "region"].set_index("area_code")
    w = c["carers"] / c["estimate"]  # residents aged 5+
    got = (c["estimate"] * w).groupby(c["region_code"]).sum() / w.groupby(c["region_code"]).sum()
    np.testing.assert_allclose(got.sort_index(), r.loc[got.sort_index().index, "direct"], rtol=1e-10)


def test_model_intervals_cover_in_repeated_samples(population):
    """8 samples × 153 councils; the full simulation of issue 13 is still to come. Bounds: the
    arcsine model covered 96.6% in validation/sae_simulation.py."""
    _, theta = population
    hits = []
    for seed in range(20, 28):
        t = carers_by_council(_survey(population, seed), carer="carer", seed=seed, boot=30).to_pandas()
        c = t[t["area_level"] == "council"]
        hits.append(((c["ci_lower"] <= theta) & (theta <= c["ci_upper"])).to_numpy())
    assert 0.90 <= np.mean(hits) <= 0.995


def test_hidden_carers_and_share_known(result):
    h = hidden_carers(result).to_pandas()
    np.testing.assert_allclose(h["hidden"], h["carers"] - h["known"], rtol=1e-12)
    assert (h["hidden_lower"] >= 0).all() and (h["hidden_lower"] <= h["hidden_upper"]).all()
    assert ((h["share_known_lower"] <= h["share_known"]) & (h["share_known"] <= h["share_known_upper"])).all()
    assert (h["share_known_upper"] <= 1).all()
    eng = h[h["area_level"] == "england"].iloc[0]
    c = load_table("council", None)
    assert eng["known"] == pytest.approx(c["gp_carers"].sum())
    assert h["known_source"].str.contains("GP").all()


def test_hidden_lower_bound_is_clipped_not_negative(result):
    t = result.to_pandas()
    known = pd.Series(t["carers_lower"].to_numpy() * 1.5, index=t["area_code"])
    h = hidden_carers(result, known, source="a large register").to_pandas()
    assert h["hidden_lower_clipped"].all() and (h["hidden_lower"] == 0).all()


def test_bad_inputs(result, population):
    with pytest.raises(CarepopError) as err:
        hidden_carers(result, pd.Series({"E06000001": 10.0}))
    assert err.value.code == "missing_known"
    with pytest.raises(CarepopError) as err:
        carers_by_council(_survey(population, 5), carer="carer", category=7)
    assert err.value.code == "unknown_category"


def test_with_columns_keeps_the_design(population):
    s = _survey(population, 5)
    s2 = s.with_columns(half=np.arange(s.n_rows) % 2)
    pd.testing.assert_frame_equal(s.mean("carer").to_pandas(), s2.mean("carer").to_pandas())
    assert "half" in s2.columns and "half" not in s.columns
    with pytest.raises(DesignError):
        s.with_columns(carer=np.zeros(s.n_rows))
    with pytest.raises(DesignError):
        s.with_columns(x=np.zeros(3))


def _hours_survey(population, seed: int, n: int = 15_000) -> Survey:
    """Carers with a census hours band (1–5) drawn in proportion to each council's census band
    counts; non-carers have no band (missing)."""
    t, _ = population
    survey = _survey(population, seed, n)
    frame = survey.data
    rng = np.random.default_rng(seed + 1)
    bands = t[["h9_or_less", "h10_19", "h20_34", "h35_49", "h50_plus"]].to_numpy(dtype=float)
    shares = bands / bands.sum(axis=1, keepdims=True)
    row = pd.Index(t["council_code"]).get_indexer(frame["council_code"])
    cum = shares.cumsum(axis=1)[row]
    band = 1 + (rng.random(len(row))[:, None] > cum).sum(axis=1)
    hours = np.where(frame["carer"].to_numpy() == 1, band, np.nan)
    return Survey(frame.assign(hours=hours), weight="w", strata="council_code", fpc="N")


def test_carers_by_hours_band(population):
    from carepop.measures.carers import HOURS_BANDS, carers_by_hours

    survey = _hours_survey(population, 21)
    res = carers_by_hours(survey, hours="hours", seed=4, boot=30)
    t = res.to_pandas()
    assert t["hours_band"].nunique() == 5
    c = t[t["area_level"] == "council"]
    assert len(c) == 5 * 153
    census = load_table("council", None).set_index("council_code")
    for label, column in HOURS_BANDS.values():
        band = c[c["hours_band"] == label].set_index("area_code")
        # the band's census count beside the estimate, and the direct estimate is the band's share
        np.testing.assert_array_equal(band["census_carers"], census.loc[band.index, column])
        eng = t[(t["hours_band"] == label) & (t["area_level"] == "england")].iloc[0]
        assert eng["census_carers"] == census[column].sum()
    # direct estimates by band add up to the any-hours direct estimate council by council
    any_hours = carers_by_council(survey, carer="carer", seed=1, boot=30, benchmark=None).to_pandas()
    any_hours = any_hours[any_hours["area_level"] == "council"].set_index("area_code")["direct"]
    summed = c.groupby("area_code")["direct"].sum()
    np.testing.assert_allclose(summed.loc[any_hours.index], any_hours, atol=1e-12)
    assert any("each hours band has its own model" in n for n in res.notes)


def test_carers_by_hours_needs_a_band(population):
    from carepop.measures.carers import carers_by_hours

    plain = _survey(population, 22, 3000)
    survey = plain.with_columns(hours=np.full(len(plain.column("carer")), np.nan))
    with pytest.raises(CarepopError) as err:
        carers_by_hours(survey, hours="hours")
    assert err.value.code == "unknown_category" and err.value.column == "hours"

"""Demand projections: rate × Census-2021-based population projection, intervals, variant spread."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.measures.projection import project
from carepop.sources.projections import census_single_years, load_snpp

BANDS = ["65-74", "75-84", "85+"]


@pytest.fixture(scope="module")
def england_rates() -> pd.DataFrame:
    """POPPI style: one England rate per age band."""
    return pd.DataFrame({"age_group": BANDS, "estimate": [0.05, 0.15, 0.40], "se": [0.005, 0.01, 0.03]})


@pytest.fixture(scope="module")
def by_band(england_rates) -> dict[str, pd.DataFrame]:
    """The projected population of each band alone (rate 1, known), by area and year."""
    out = {}
    for b in BANDS:
        one = pd.DataFrame({"age_group": [b], "estimate": [1.0]})
        out[b] = project(one, to=2040, rate_known=True).to_pandas().set_index(["area_code", "year"])
    return out


def _row(result, code: str, year: int) -> pd.Series:
    t = result.to_pandas()
    return t[(t["area_code"] == code) & (t["year"] == year)].iloc[0]


# ------------------------------------------------------------------------------ the hand check
def test_hartlepool_65_plus_by_hand():
    """Hartlepool (E06000001, a unitary council: the council is its one district), aged 65+, 2030
    and 2040, from the raw CSV rows:

    Census 2021 TS007 (ts007_age_la.csv, single years summed): 65-69 1121+1053+1010+1043+1020 =
    5247; 70-74 = 5084; 75-79 = 3222; 80-84 = 2463; 85-89 = 1490; 90+ (90 ... 99 and 100+) = 726.
    SNPP 2018-based (snpp2018_persons_council23_5yr_2018_2043.csv), 2021 / 2030 / 2040:
    65-69 5252 / 6614 / 5489; 70-74 5098 / 5447 / 5880; 75-79 3369 / 4179 / 5443;
    80-84 2514 / 3379 / 3813; 85-89 1580 / 1603 / 2214; 90+ 859 / 1055 / 1462.

    2030: 5247·6614/5252 + 5084·5447/5098 + 3222·4179/3369 + 2463·3379/2514 + 1490·1603/1580
          + 726·1055/859 = 6607.70 + 5432.04 + 3996.66 + 3310.45 + 1511.69 + 891.65 = 21750.20.
    2040: the same with the 2040 column = 23612.30.
    With one rate 0.2 (se 0.01) for 65+: count = 0.2 × P, se = 0.01 × P."""
    census = {65: 5247, 70: 5084, 75: 3222, 80: 2463, 85: 1490, 90: 726}
    snpp = {65: (5252, 6614, 5489), 70: (5098, 5447, 5880), 75: (3369, 4179, 5443),
            80: (2514, 3379, 3813), 85: (1580, 1603, 2214), 90: (859, 1055, 1462)}  # fmt: skip
    p2030 = sum(census[a] * snpp[a][1] / snpp[a][0] for a in census)
    p2040 = sum(census[a] * snpp[a][2] / snpp[a][0] for a in census)
    assert p2030 == pytest.approx(21750.197, abs=1e-3)
    rates = pd.DataFrame({"age_group": ["65+"], "estimate": [0.2], "se": [0.01]})
    res = project(rates, to=2040)
    for year, pop in ((2030, p2030), (2040, p2040), (2021, sum(census.values()))):
        row = _row(res, "E06000001", year)
        assert row["population"] == pytest.approx(pop, rel=1e-12)
        assert row["count"] == pytest.approx(0.2 * pop, rel=1e-12)
        assert row["se"] == pytest.approx(0.01 * pop, rel=1e-12)
        assert row["ci_lower"] == pytest.approx(0.2 * pop - 1.959963984540054 * 0.01 * pop, rel=1e-12)


def test_hand_check_numbers_are_the_csv_rows():
    """The numbers written in the docstring above are those of the bundled files."""
    base = resources.files("carepop").joinpath("data")
    with base.joinpath("projections/snpp2018_persons_council23_5yr_2018_2043.csv").open() as fh:
        rows = list(csv.reader(fh))
    h = rows[0]
    years = ("2021", "2030", "2040")
    got = {r[2]: tuple(int(r[h.index(y)]) for y in years) for r in rows if r[0] == "E06000001"}
    assert got["65-69"] == (5252, 6614, 5489) and got["90+"] == (859, 1055, 1462)
    c = census_single_years().loc["E06000001"]
    assert c[[f"age_{a}" for a in range(90, 101)]].sum() == 726


def test_base_year_population_is_the_census_for_any_band():
    """At the base year the population is the census count itself, for bands that are not unions
    of 5-year groups too (18-24: the single years 18 ... 24)."""
    rates = pd.DataFrame({"age_group": ["18-24", "25-64"], "estimate": [1.0, 1.0]})
    res = project(rates, to=2021, rate_known=True).to_pandas()
    c = census_single_years()
    councils = res[res["area_level"] == "council"].set_index("area_code")
    expected = c[[f"age_{a}" for a in range(18, 65)]].sum(axis=1)
    assert np.array_equal(councils["population"].to_numpy(), expected.loc[councils.index].to_numpy())


def test_rebased_projection_keeps_the_snpp_growth():
    """Each council's 5-year group grows exactly as the SNPP's: projected(2035) / census =
    SNPP(2035) / SNPP(2021)."""
    rates = pd.DataFrame({"age_group": ["75-79"], "estimate": [1.0]})
    res = project(rates, to=2035, rate_known=True).to_pandas()
    s = load_snpp().query("age_group == '75-79'")
    s = s.pivot(index="area_code", columns="year", values="population")
    c = census_single_years()[[f"age_{a}" for a in range(75, 80)]].sum(axis=1)
    got = res[(res["area_level"] == "council") & (res["year"] == 2035)].set_index("area_code")["population"]
    expected = c * s.loc[c.index, 2035] / s.loc[c.index, 2021]
    assert np.allclose(got.loc[c.index], expected, rtol=1e-12)


# ------------------------------------------------------------------------------ sums and covariance
def test_councils_add_up_to_regions_and_england(england_rates):
    t = project(england_rates, to=2030).to_pandas()
    assert set(t["area_level"]) == {"council", "region", "england"}
    assert (t["area_level"] == "council").sum() == 153 * 10 and (t["area_level"] == "region").sum() == 9 * 10
    councils = t[t["area_level"] == "council"].groupby("year")[["count", "population"]].sum()
    england = t[t["area_level"] == "england"].set_index("year")[["count", "population"]]
    assert np.allclose(councils.to_numpy(), england.to_numpy(), rtol=1e-12)
    regions = t[t["area_level"] == "region"].groupby("year")["count"].sum()
    assert np.allclose(regions.to_numpy(), england["count"].to_numpy(), rtol=1e-12)


def test_common_rate_is_fully_correlated_across_councils(england_rates, by_band):
    """England rates applied to every council: se(England) = sqrt(Σ_b (se_b P_b)²) with P_b the
    band's England population (not the root of the councils' summed variances)."""
    res = project(england_rates, to=2040)
    for code, year in (("E92000001", 2040), ("E12000007", 2030), ("E10000016", 2025)):
        P = np.array([by_band[b].loc[(code, year), "population"] for b in BANDS])
        r, se = england_rates["estimate"].to_numpy(), england_rates["se"].to_numpy()
        row = _row(res, code, year)
        assert row["count"] == pytest.approx(r @ P, rel=1e-12)
        assert row["se"] == pytest.approx(np.sqrt(np.sum((se * P) ** 2)), rel=1e-12)
    t = res.to_pandas()
    councils = t[(t["area_level"] == "council") & (t["year"] == 2040)]
    england = _row(res, "E92000001", 2040)
    # correlated across councils: more than independent councils would give, at most the sum of
    # the councils' se (equal only if every council had the same age mix)
    assert np.sqrt((councils["se"] ** 2).sum()) < england["se"] <= councils["se"].sum()


def test_council_rates_are_independent_between_councils():
    """One rate per council (65+): a region's variance is the sum of its councils' variances."""
    c = census_single_years().index
    rng = np.random.default_rng(4)
    rates = pd.DataFrame(
        {"area_code": c, "estimate": rng.uniform(0.1, 0.3, len(c)), "se": rng.uniform(0.01, 0.03, len(c))}
    )
    t = project(rates, ages="65+", to=2030).to_pandas()
    from carepop.sources.regions import region_lookup

    region = region_lookup().drop_duplicates("area_code").set_index("area_code")["region_code"]
    cs = t[t["area_level"] == "council"].assign(region=lambda d: d["area_code"].map(region))
    var = cs.assign(v=cs["se"] ** 2).groupby(["region", "year"])["v"].sum()
    regions = t[t["area_level"] == "region"].set_index(["area_code", "year"])["se"] ** 2
    assert np.allclose(regions.loc[var.index].to_numpy(), var.to_numpy(), rtol=1e-12)


def test_interval_columns_give_the_same_se_as_se():
    z = 1.959963984540054
    a = pd.DataFrame({"age_group": BANDS, "estimate": [0.05, 0.15, 0.40], "se": [0.005, 0.01, 0.03]})
    b = a.assign(lo=a["estimate"] - z * a["se"], hi=a["estimate"] + z * a["se"]).drop(columns="se")
    ra = project(a, to=2025).to_pandas()
    rb = project(b, to=2025, ci_lower="lo", ci_upper="hi").to_pandas()
    assert np.allclose(ra["se"], rb["se"], rtol=1e-12)


def test_per_1000_is_the_same_as_proportions(england_rates):
    per = england_rates.assign(estimate=england_rates["estimate"] * 1000, se=england_rates["se"] * 1000)
    a = project(england_rates, to=2025).to_pandas()
    b = project(per, to=2025, per=1000).to_pandas()
    for col in ("count", "se", "ci_lower", "ci_upper", "count_2020_based"):
        assert np.allclose(a[col], b[col], rtol=1e-12)
    assert np.allclose(b["rate"], a["rate"] * 1000)


def test_rates_for_some_councils_only():
    rates = pd.DataFrame({"area_code": ["E06000001", "E06000002"], "age_group": ["85+", "85+"],
                          "estimate": [0.3, 0.35], "se": [0.02, 0.03]})  # fmt: skip
    res = project(rates, to=2025)
    t = res.to_pandas()
    assert set(t["area_code"]) == {"E06000001", "E06000002"}
    assert any("2 of the 153 councils" in n for n in res.notes)


def test_inputs_are_not_modified(england_rates):
    before = england_rates.copy()
    project(england_rates, to=2025, method="bootstrap", seed=1, boot=200)
    pd.testing.assert_frame_equal(england_rates, before)


# ------------------------------------------------------------------------------ bootstrap
def test_bootstrap_is_seeded_and_agrees_with_delta_for_small_se(england_rates):
    a = project(england_rates, to=2030, method="bootstrap", seed=7, boot=4000)
    b = project(england_rates, to=2030, method="bootstrap", seed=7, boot=4000)
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas())
    d = project(england_rates, to=2030)
    eng_a, eng_d = _row(a, "E92000001", 2030), _row(d, "E92000001", 2030)
    assert eng_a["count"] == eng_d["count"]  # the point estimate is rate × population
    # Monte Carlo error of an sd from 4000 draws ~ 1.1%; the logit transform adds a little skew
    assert eng_a["se"] == pytest.approx(eng_d["se"], rel=0.05)
    assert a.seed == 7 and d.seed is None


def test_bootstrap_keeps_a_rate_near_zero_inside_its_range():
    rates = pd.DataFrame({"age_group": ["18-64"], "estimate": [0.004], "se": [0.003]})
    delta = _row(project(rates, to=2025), "E06000001", 2025)
    boot = _row(project(rates, to=2025, method="bootstrap", seed=3, boot=3000), "E06000001", 2025)
    assert delta["ci_lower"] == 0.0  # the normal interval reaches below 0 and is cut
    assert 0 < boot["ci_lower"] < boot["count"] < boot["ci_upper"]
    assert boot["ci_upper"] - boot["count"] > boot["count"] - boot["ci_lower"]  # skewed right


def test_bootstrap_draws_are_centred_on_the_rate_in_mean():
    """Logit-normal draws around logit p have mean above p for p < 0.5 (Jensen); the bootstrap
    shifts each rate's logit centre so that the draws' mean is the rate (checked here by Monte
    Carlo with 400,000 draws: standard error of the mean about 0.0001 for p = 0.02, sigma = 1.2)."""
    from scipy.special import expit, logit

    from carepop.measures.projection import _mean_matched_logit

    p, sigma = np.array([0.02, 0.3, 0.9]), np.array([1.2, 0.5, 0.8])
    mu = _mean_matched_logit(p, sigma)
    z = np.random.default_rng(0).standard_normal((400_000, 1))
    draws = expit(mu + sigma * z)
    assert draws.mean(axis=0) == pytest.approx(p, abs=5e-4)
    naive = expit(logit(p) + sigma * z).mean(axis=0)
    assert naive[0] > p[0] + 0.005  # what it corrects: the naive draws' mean is too high


# ------------------------------------------------------------------------------ variant spread
def test_variant_spread_by_hand(by_band):
    """count_2020_based = count × R(90+, t) for a 90+ rate, R from the raw national CSV rows."""

    def n90(name: str, year: str) -> float:
        with resources.files("carepop").joinpath(f"data/projections/{name}").open() as fh:
            rows = list(csv.reader(fh))
        i = rows[0].index(year)
        return sum(float(r[i]) for r in rows[1:] if int(r[1].split("-")[0].rstrip("+")) >= 90)

    a = "npp2018_england_principal_syoa_sex_2018_2050.csv"
    b = "npp2020interim_england_principal_syoa_sex_2020_2050.csv"
    R = (n90(b, "2040") / n90(b, "2021")) / (n90(a, "2040") / n90(a, "2021"))
    rates = pd.DataFrame({"age_group": ["90+"], "estimate": [0.5], "se": [0.05]})
    res = project(rates, to=2040)
    for code in ("E06000001", "E92000001"):
        row = _row(res, code, 2040)
        assert row["count_2020_based"] == pytest.approx(row["count"] * R, rel=1e-12)
        assert row["variant_low"] == min(row["count"], row["count_2020_based"])
        assert row["variant_high"] == max(row["count"], row["count_2020_based"])
    base = res.to_pandas().query("year == 2021")
    assert np.allclose(base["count_2020_based"], base["count"], rtol=1e-12)
    assert any("not a confidence interval" in n for n in res.notes)


def test_notes_say_what_is_known(england_rates):
    notes = " ".join(project(england_rates, to=2025).notes)
    assert "treated as known" in notes and "independent" in notes and "fully correlated" in notes


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "change, kwargs, needle, column, rows",
    [
        (lambda d: d.drop(columns="estimate"), {}, "no column 'estimate'", "estimate", None),
        (lambda d: d.assign(estimate=["0.1", "x", "0.3"]), {}, "not numbers", "estimate", [2]),
        (lambda d: d.assign(se=[0.1, -0.1, 0.1]), {}, "negative", "se", [2]),
        (lambda d: d.assign(age_group=["65-74", "old", "85+"]), {}, "cannot be read", "age_group", [2]),
        (lambda d: d.assign(age_group=["65-74", "70-84", "85+"]), {}, "overlap", None, [1, 2]),
        (lambda d: d.assign(age_group=["65-74", "75-84", "85-104"]), {}, "above 99", "age_group", [3]),
        (lambda d: d.drop(columns="age_group"), {}, "no age column", "age_group", None),
        (lambda d: d, {"ages": "65+"}, "and ages='65\\+' was given too", None, None),
        (lambda d: d.drop(columns="se"), {}, "no standard error", None, None),
        (lambda d: d, {"se": "se", "ci_lower": "se", "ci_upper": "se"}, "not both", None, None),
        (lambda d: d.drop(columns="se"), {"ci_lower": "estimate"}, "needs both ends", None, None),
        (lambda d: d.drop(columns="se").assign(lo=0.1, hi=0.5), {"ci_lower": "lo", "ci_upper": "hi"},
         "does not contain", "lo", [1]),
        (lambda d: d.assign(estimate=[50, 150, 400]), {"method": "bootstrap"}, "above 1", "estimate",
         [1, 2, 3]),
        (lambda d: d, {"method": "mcmc"}, "Unknown method", None, None),
        (lambda d: d, {"level": 95}, "between 0 and 1", None, None),
        (lambda d: d, {"to": 2050}, "no year 2050", None, None),
        (lambda d: d, {"base": 2015}, "no year 2015", None, None),
        (lambda d: d, {"to": 2020}, "before the base year", None, None),
        (lambda d: d.iloc[:0], {}, "no rows", None, None),
    ],
)  # fmt: skip
def test_bad_input(england_rates, change, kwargs, needle, column, rows):
    with pytest.raises(CarepopError, match=needle) as e:
        project(change(england_rates.copy()), **kwargs)
    assert e.value.column == column
    if rows is not None:
        assert e.value.rows == rows
    assert e.value.fix


def test_unknown_council_code_names_rows():
    rates = pd.DataFrame({"area_code": ["E06000001", "E07000026", "E92000001"], "estimate": [0.1] * 3,
                          "se": [0.01] * 3})  # fmt: skip
    with pytest.raises(CarepopError, match="not one of the 153 councils") as e:
        project(rates, ages="65+")
    assert e.value.column == "area_code" and e.value.rows == [2, 3]
    assert "area=" in e.value.fix and "England rates only" in e.value.fix


def test_council_rates_without_their_area_column_are_caught():
    rates = pd.DataFrame({"la": ["E06000001", "E06000002"], "estimate": [0.1, 0.2], "se": [0.01, 0.01]})
    with pytest.raises(CarepopError, match="overlap") as e:
        project(rates, ages="65+")
    assert e.value.rows == [1, 2] and "no column 'area_code'" in e.value.fix and "area=" in e.value.fix


def test_projections_missing_councils_is_an_error():
    s = load_snpp()
    with pytest.raises(CarepopError, match="no rows for 1 council") as e:
        project(pd.DataFrame({"age_group": ["85+"], "estimate": [0.3]}), rate_known=True,
                projections=s[s["area_code"] != "E06000001"])  # fmt: skip
    assert "projections=" in e.value.fix

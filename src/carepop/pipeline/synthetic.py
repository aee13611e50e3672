"""Seeded synthetic inputs for the demo, drawn from a synthetic population calibrated to the real
Census 2021 council totals (carepop's bundled ``council`` table: residents aged 5+, carers by
hours band, age bands).

**Carers survey.** Each council's rate of carers as a survey counts them is about twice the census
rate (as surveys find: CONTEXT.md), ``logit θ_c = logit(2 r_c) + u_c``, ``u_c ~ N(0, 0.2²)``; a
carer's census hours band is drawn from the council's census band shares. The survey is stratified
by council, simple random sampling within (proportional allocation, at least 10 per council),
weights ``P_c / n_c`` and the finite-population correction ``P_c``.

Nothing here is real survey data; every file says so in its name (``synthetic_*``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the census hours-band columns of the council table, in band order 1..5
BAND_COLUMNS = ("h9_or_less", "h10_19", "h20_34", "h35_49", "h50_plus")


def council_table() -> pd.DataFrame:
    from carepop.sources.tables import load_table

    return load_table("council", None)


def allocate(sizes: np.ndarray, n: int, minimum: int) -> np.ndarray:
    """Proportional allocation of ``n`` over strata of ``sizes`` (largest remainders), at least "
    "``minimum``."""
    raw = n * sizes / sizes.sum()
    base = np.floor(raw).astype(int)
    short = n - base.sum()
    base[np.argsort(base - raw, kind="stable")[:short]] += 1
    return np.maximum(base, minimum)


def carers_survey(seed: int, n: int = 15_000) -> pd.DataFrame:
    """The synthetic carers survey (module docstring): one row per respondent."""
    t = council_table()
    rng = np.random.default_rng(seed)
    P = t["residents_5plus"].to_numpy(dtype=float)
    r = t["carer_rate"].to_numpy(dtype=float)
    theta = 1 / (1 + np.exp(-(np.log(2 * r / (1 - 2 * r)) + rng.normal(scale=0.2, size=len(r)))))
    n_c = allocate(P, n, 10)
    idx = np.repeat(np.arange(len(P)), n_c)
    carer = rng.random(len(idx)) < theta[idx]
    bands = t[list(BAND_COLUMNS)].to_numpy(dtype=float)
    cum = (bands / bands.sum(axis=1, keepdims=True)).cumsum(axis=1)[idx]
    band = 1 + (rng.random(len(idx))[:, None] > cum).sum(axis=1)
    return pd.DataFrame(
        {
            "respondent": np.arange(1, len(idx) + 1),
            "council_code": t["council_code"].to_numpy()[idx],
            "carer": carer.astype(int),
            "hours_band": np.where(carer, band, 0),
            "weight": (P / n_c)[idx],
            "residents_5plus": P[idx],
        }
    )


#: the instrument's activities (questionnaires/self_funders.yaml): ADL and IADL items
ADL = ("adl_dress", "adl_walk", "adl_bath", "adl_eat", "adl_bed", "adl_toilet")
IADL = ("iadl_shop", "iadl_meals", "iadl_housework", "iadl_meds", "iadl_money", "iadl_transport")
#: the council table's adult age bands and their ages
AGE_BANDS = {"age_18_64": (18, 64), "age_65_74": (65, 74), "age_75_84": (75, 84), "age_85_plus": (85, 99)}


def needs_survey(seed: int, n: int = 12_000) -> pd.DataFrame:
    """A synthetic survey of adults answering the needs items of the self-funder instrument.

    Respondents: stratified by council (proportional to adults, at least 12 each), ages drawn from
    the council's Census 2021 age bands (18–64, 65–74, 75–84, 85+; 65+ sampled at three times their
    share, weights correcting), sex 1 female / 2 male at 52/48. Each of the 12 activities is
    difficult (some 60%, a lot 40%) with a probability rising with age (logistic, about 3% at 40,
    15% at 75, 35% at 90) and, in councils with more deprivation, a little more often; with a
    difficulty, help is enough (60%), not enough (22%) or none (18%). Unmet need so defined is
    about 10–20% among people 65+ — the order of the Health Survey for England's figures.
    """
    t = council_table()
    rng = np.random.default_rng(seed)
    pop = t[list(AGE_BANDS)].to_numpy(dtype=float)  # (153, 4)
    boost = np.array([1.0, 3.0, 3.0, 3.0])
    share = pop * boost
    n_c = allocate(pop.sum(axis=1), n, 12)
    c = np.repeat(np.arange(len(t)), n_c)
    cum = (share / share.sum(axis=1, keepdims=True)).cumsum(axis=1)[c]
    band = (rng.random(len(c))[:, None] > cum).sum(axis=1)
    lo = np.array([v[0] for v in AGE_BANDS.values()])[band]
    hi = np.array([v[1] for v in AGE_BANDS.values()])[band]
    age = rng.integers(lo, hi + 1)
    # weights: council adults in the band / respondents in the council and band
    counts = np.zeros_like(pop)
    np.add.at(counts, (c, band), 1)
    w = pop[c, band] / counts[c, band]
    imd = t["imd_score"].to_numpy(dtype=float)
    lin = -6.2 + 0.055 * age + 0.015 * (imd[c] - imd.mean())
    p_item = 1 / (1 + np.exp(-lin))
    frame = {
        "respondent": np.arange(1, len(c) + 1),
        "council_code": t["council_code"].to_numpy()[c],
        "age": age,
        "sex": np.where(rng.random(len(c)) < 0.52, 1, 2),
    }
    for item in (*ADL, *IADL):
        hard = rng.random(len(c)) < p_item
        level = np.where(rng.random(len(c)) < 0.6, 1, 2)
        help_ = rng.choice([1, 2, 0], size=len(c), p=[0.60, 0.22, 0.18])
        frame[item] = np.where(hard, level, 0)
        frame[f"{item}_help"] = np.where(hard, help_, np.nan)
    frame["weight"] = w
    frame["stratum_adults"] = pop.sum(axis=1)[c]
    return pd.DataFrame(frame)


def _srs_within(frame: pd.DataFrame, by: list[str], frac: float, rng: np.random.Generator) -> pd.DataFrame:
    """A simple random sample of ``frac`` of the rows (at least 2) within each cell of ``by``."""
    rank = pd.Series(rng.random(len(frame)), index=frame.index).groupby([frame[c] for c in by]).rank()
    size = frame.groupby(by)[by[0]].transform("size")
    return frame[rank <= np.maximum(2, np.round(frac * size))].reset_index(drop=True)


def care_homes(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic care directory and a survey of 40% of its homes (within council × home type).

    Homes per council: one per 700 residents aged 65+ (Census 2021; about 15,000 in England, as
    the CQC register has), at least 4; nursing 40%; 10–90 beds, 86% occupied; the council's share
    of self-funding residents ``logit p_c ~ N(logit 0.37, 0.35²)`` (ONS: 37% of care-home residents
    self-funded in 2023), homes around it. Returns ``(survey of homes, directory)``.
    """
    t = council_table()
    rng = np.random.default_rng(seed)
    old = t[["age_65_74", "age_75_84", "age_85_plus"]].sum(axis=1).to_numpy(dtype=float)
    nh = np.maximum(np.round(old / 700).astype(int), 4)
    codes = t["council_code"].to_numpy()
    p = 1 / (1 + np.exp(-(np.log(0.37 / 0.63) + rng.normal(0, 0.35, len(codes)))))
    homes = pd.DataFrame({"council_code": np.repeat(codes, nh)})
    homes["home_id"] = np.arange(1, len(homes) + 1)
    homes["home_type"] = np.where(rng.random(len(homes)) < 0.4, "nursing", "residential")
    homes["beds"] = rng.integers(10, 91, len(homes))
    homes["residents"] = rng.binomial(homes["beds"], 0.86)
    ph = np.repeat(p, nh)
    ph = 1 / (1 + np.exp(-(np.log(ph / (1 - ph)) + rng.normal(0, 0.5, len(homes)))))
    homes["self_funders"] = rng.binomial(homes["residents"], ph)
    directory = homes[["council_code", "home_type", "beds"]]
    survey = _srs_within(homes, ["council_code", "home_type"], 0.4, rng).drop(columns="home_id")
    return survey, directory


def home_care_users(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People receiving home care by council, estimated from a synthetic survey of half the home-care
    providers (stratified by council), and the people whose home care the council funds (as a
    council's client-level data would count them: 55–85% of users). Users: about 2.5% of residents
    aged 65+ plus 0.3% of those 18–64. Returns ``(users estimate by council, council-funded counts)``.
    """
    from carepop.core.survey import Survey

    t = council_table()
    rng = np.random.default_rng(seed)
    codes = t["council_code"].to_numpy()
    old = t[["age_65_74", "age_75_84", "age_85_plus"]].sum(axis=1).to_numpy(dtype=float)
    expected = 0.025 * old + 0.003 * t["age_18_64"].to_numpy(dtype=float)
    n_prov = np.maximum(np.round(expected / 120).astype(int), 6)
    providers = pd.DataFrame({"council_code": np.repeat(codes, n_prov)})
    mean = np.repeat(expected / n_prov, n_prov)
    providers["users"] = rng.negative_binomial(3, 3 / (3 + mean))
    truth = providers.groupby("council_code")["users"].sum().reindex(codes).to_numpy()
    funded = np.round(truth * rng.uniform(0.55, 0.85, len(codes))).astype(int)
    sample = _srs_within(providers, ["council_code"], 0.5, rng)
    sample = sample.assign(N=sample["council_code"].map(providers.groupby("council_code").size()))
    est = Survey(sample, strata="council_code", fpc="N").total("users", by="council_code").to_pandas()
    users = pd.DataFrame(
        {
            "council_code": est["council_code"],
            "home_care_users": est["estimate"],
            "home_care_users_se": est["se"],
            "df": est["n"] - 1,
        }
    )
    return users, pd.DataFrame({"council_code": codes, "home_care_council_funded": funded})


def establishments(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic register of care locations (one per 2,200 residents, care homes and home-care
    agencies) and the returns of half of them (within council × service): filled posts
    (negative binomial, mean 30 in care homes, 45 in home care) and vacancies (about 8%).
    Returns ``(returns, register)``."""
    t = council_table()
    rng = np.random.default_rng(seed)
    codes = t["council_code"].to_numpy()
    nl = np.maximum(np.round(t["residents"].to_numpy(dtype=float) / 2200).astype(int), 6)
    reg = pd.DataFrame({"council_code": np.repeat(codes, nl)})
    reg["service"] = np.where(rng.random(len(reg)) < 0.55, "care home", "home care")
    mean = np.where(reg["service"] == "care home", 30.0, 45.0)
    reg["filled_posts"] = rng.negative_binomial(3, 3 / (3 + mean))
    reg["vacancies"] = rng.poisson(0.085 * reg["filled_posts"] + 0.3)
    returns = _srs_within(reg, ["council_code", "service"], 0.5, rng)
    return returns, reg[["council_code", "service"]]

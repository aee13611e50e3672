"""Design-based simulation with a known truth: repeated carers surveys from Census 2021.

The population is the Census 2021 TS039 count of residents aged 5+ by hours of unpaid care in
every English MSOA; each sample is the stratified two-stage design of ``carepop demo`` (LAs as
strata, 4 MSOAs per LA without replacement, 20 residents per MSOA; fpc at both stages). Because
the census is the truth, we can check what no single sample can:

- bias: the mean of the estimates over samples against the census rate;
- variance: the mean of the estimated variances against the variance of the estimates across
  samples (their ratio should be 1 within Monte Carlo error);
- coverage: how often 95% intervals contain the census rate, for England and for each LA.

Run ``python validation/simulation.py [B]``; ``test_simulation.py`` checks the same numbers.
"""

from __future__ import annotations

import sys

import numpy as np

from carepop.pipeline.demo import draw_sample, survey_of
from carepop.sources.census import load_ts039


def simulate(n_samples: int = 100, first_seed: int = 10_000) -> dict[str, float]:
    census = load_ts039("la").sort_values("area_code").reset_index(drop=True)
    la_truth = (census["carers"] / census["residents_5plus"]).to_numpy()
    truth = census["carers"].sum() / census["residents_5plus"].sum()
    est, var, cover_nat = [], [], []
    cover_la = {"wald": [], "t": [], "logit": [], "beta": []}
    for b in range(n_samples):
        s = survey_of(draw_sample(first_seed + b))
        nat = s.mean("carer", ci="t").to_pandas().iloc[0]
        est.append(nat["estimate"])
        var.append(nat["se"] ** 2)
        cover_nat.append(nat["ci_lower"] <= truth <= nat["ci_upper"])
        for method, hits in cover_la.items():
            la = s.proportion("carer", by="la_code", ci=method).to_pandas()
            la = la[la["level"] == "Yes"].sort_values("la_code")
            assert (la["la_code"].to_numpy() == census["area_code"].to_numpy()).all()
            hits.append(((la["ci_lower"] <= la_truth) & (la_truth <= la["ci_upper"])).to_numpy())
    est = np.asarray(est)
    out = {
        "samples": float(n_samples),
        "truth": float(truth),
        "mean_estimate": float(est.mean()),
        "bias_in_mc_se": float((est.mean() - truth) / (est.std(ddof=1) / np.sqrt(n_samples))),
        "variance_ratio": float(np.mean(var) / est.var(ddof=1)),
        "coverage_england_t": float(np.mean(cover_nat)),
    }
    for method, hits in cover_la.items():
        out[f"coverage_la_{method}"] = float(np.mean(np.concatenate(hits)))
    return out


if __name__ == "__main__":
    b = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    for key, value in simulate(b).items():
        print(f"{key:24s} {value:.4f}")

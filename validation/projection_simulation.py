"""Simulation with a known truth for demand projections (:func:`carepop.measures.projection.project`).

**Truth.** Rates of need by council ``c`` and age band ``b`` (65-74, 75-84, 85+):
``logit p(c, b) = logit(q_b) + u_c``, ``q = (0.08, 0.20, 0.45)``, ``u_c ~ N(0, 0.3²)`` (seed 5).
True count = ``Σ_b p(c, b) P(c, b, t)`` with ``P`` the projected population (Census 2021 grown by
the bundled 2018-based SNPP), the population treated as known (it is the same in truth and
estimate: only the rates' error is being checked).

**Survey-like noise.** Each replicate gives each council and band a sample of ``n(c, b)`` people
(``n`` fixed across replicates, drawn uniformly from 120 ... 600, seed 6) and the estimate
``p̂ = Binomial(n, p) / n`` with ``se = sqrt(p̂ (1 − p̂) / n)``, independent between councils and
bands (as the projection assumes).

*Council rates*: every council's own three rates. *England rates* (POPPI style): one rate per band
from a national sample of 1,500 per band, applied to every council (fully correlated across
councils; coverage is then counted over replicates).

Coverage of the 95% intervals of the projected counts (councils, regions, England; every year
2021–2040), delta method and logit parametric bootstrap. Run
``python validation/projection_simulation.py [replicates]``; ``test_projection_simulation.py`` runs
a small seeded version.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from carepop.measures.projection import project
from carepop.sources.projections import census_single_years

BANDS = ("65-74", "75-84", "85+")
Q = np.array([0.08, 0.20, 0.45])


def truth(seed: int = 5) -> pd.DataFrame:
    """True rates by council and band (and the fixed sample sizes)."""
    councils = census_single_years().index.to_numpy(dtype=str)
    rng = np.random.default_rng(seed)
    u = rng.normal(scale=0.3, size=len(councils))
    p = expit(logit(Q)[None, :] + u[:, None])
    n = np.random.default_rng(seed + 1).integers(120, 601, size=p.shape)
    return pd.DataFrame(
        {
            "area_code": np.repeat(councils, len(BANDS)),
            "age_group": np.tile(BANDS, len(councils)),
            "p": p.ravel(),
            "n": n.ravel(),
        }
    )


def _true_counts(rates: pd.DataFrame, to: int) -> pd.Series:
    known = project(rates.rename(columns={"p": "estimate"}), to=to, rate_known=True, variant=False)
    t = known.to_pandas()
    return t.set_index(["area_code", "year"])["count"]


def coverage(
    replicates: int,
    *,
    seed: int = 100,
    to: int = 2040,
    england: bool = False,
    methods: tuple[str, ...] = ("delta", "bootstrap"),
    boot: int = 400,
) -> dict[str, float]:
    """Share of 95% intervals that cover the true count, by method and area level."""
    t = truth()
    if england:  # one rate per band for every council: the true England rate is the band's q
        t = pd.DataFrame({"age_group": BANDS, "p": Q, "n": 1500})
    true = _true_counts(t, to)
    rng = np.random.default_rng(seed)
    hits: dict[str, list[np.ndarray]] = {}
    for i in range(replicates):
        est = rng.binomial(t["n"].to_numpy(), t["p"].to_numpy()) / t["n"].to_numpy()
        rates = t.drop(columns=["p"]).assign(estimate=est, se=np.sqrt(est * (1 - est) / t["n"].to_numpy()))
        for m in methods:
            res = project(rates, to=to, method=m, seed=seed + i, boot=boot, variant=False).to_pandas()
            tc = true.reindex(pd.MultiIndex.from_frame(res[["area_code", "year"]])).to_numpy()
            cover = (res["ci_lower"].to_numpy() <= tc) & (tc <= res["ci_upper"].to_numpy())
            for level in ("council", "region", "england"):
                hits.setdefault(f"{m} {level}", []).append(cover[res["area_level"].to_numpy() == level])
    return {k: float(np.concatenate(v).mean()) for k, v in hits.items()}


def table(replicates: int = 200) -> str:
    lines = ["| projection scenario | method | councils | regions | England |", "|---|---|---:|---:|---:|"]
    for england, reps in ((False, replicates), (True, 2 * replicates)):
        c = coverage(reps, england=england)
        name = "England rate by band (POPPI style)" if england else "council rates by band"
        for m in ("delta", "bootstrap"):
            lines.append(
                f"| {name}, {reps} replicates | {m} | {c[f'{m} council']:.3f} | {c[f'{m} region']:.3f} | "
                f"{c[f'{m} england']:.3f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(int(sys.argv[1]) if len(sys.argv) > 1 else 200))

"""Sampling variances of area direct estimates, for the Fay–Herriot model (its ``psi``).

The FH model treats the sampling variances ψ_i as known. Direct variance estimates are noisy in
small areas, and for a proportion of 0 or 1 the textbook p(1 − p)/n is zero, which would make the
area's EBLUP equal to its direct estimate (shrinkage γ_i = 1). Two remedies, each returning the
variances *and* a :class:`VarianceRecord` of what was done, for the run manifest:

* :func:`proportion_variance` — ψ_i = p̃_i (1 − p̃_i) / n_eff,i with n_eff,i = n_i / deff_i, where p̃
  is a *smoothed* proportion: pooled over all areas (or within groups, e.g. regions), or a model
  (synthetic) proportion given by the caller — the choice made for proportions by ONS and in
  emdi's arcsine FH (ψ = 1/(4 n_eff) on the transformed scale, see :mod:`carepop.sae.transforms`).
  Rao & Molina (2015) section 6.1 ("sampling variances assumed known", smoothing),
  Liu, Lahiri & Kalton (2014, Survey Methodology 40) on model-smoothed p for binomial FH.
* :func:`gvf_variance` — a generalised variance function fitted across areas and used in place of
  the direct variances: log ψ_i = z_iᵀθ + e_i (terms log n, log |ŷ|, log p(1 − p)), or Wolter's
  relvariance model ψ_i / ŷ_i² = α + β / ŷ_i (Wolter 2007, *Introduction to Variance Estimation*,
  2nd ed., chapter 7, model 7.2.1). R equivalent: ``lm(log(psi) ~ log(n))`` and
  ``exp(predict(fit) + sigma(fit)^2 / 2)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from carepop.errors import ModelError, data_rows, opt
from carepop.sae._postcheck import check_proportions, group_codes, require, vector, warn

__all__ = [
    "VarianceRecord",
    "effective_sample_size",
    "gvf_variance",
    "proportion_variance",
]


@dataclass(frozen=True)
class VarianceRecord:
    """What was done to obtain the sampling variances (for the run manifest).

    ``method`` names the rule (``"proportion"``, ``"gvf-log"``, ``"gvf-relvar"``),
    ``parameters`` holds every input choice and fitted constant, ``note`` says it in words."""

    method: str
    parameters: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "parameters": dict(self.parameters), "note": self.note}


def effective_sample_size(n: Any, deff: Any = 1.0) -> np.ndarray:
    """n_eff,i = n_i / deff_i (Kish). ``deff`` a scalar or one value per area, > 0."""
    nn = vector(n, "n", allow_nan=True)
    d = vector(deff, "deff", nn.shape[0])
    require(
        d <= 0,
        "deff",
        "design effects must be positive",
        code="bad_deff",
        expected="deff > 0",
        fix="give design effects above zero (1 = simple random sampling)",
        values=d,
    )
    require(
        nn < 0,
        "n",
        "sample sizes must not be negative",
        code="bad_n",
        expected="n >= 0",
        fix="check the sample sizes",
        values=nn,
    )
    return nn / d


def proportion_variance(
    p: Any,
    n: Any,
    *,
    deff: Any = 1.0,
    smooth: str = "pooled",
    p_smooth: Any = None,
    groups: Any = None,
) -> tuple[np.ndarray, VarianceRecord]:
    """Sampling variances of area proportions: ψ_i = p̃_i (1 − p̃_i) / n_eff,i, n_eff,i = n_i / deff_i.

    ``smooth`` chooses p̃:

    * ``"pooled"`` (default) — p̃ = Σ n_eff,j p_j / Σ n_eff,j over the sampled areas (within each of
      ``groups`` when given, e.g. region): one proportion per group, so an area with 0 % or 100 %
      or very few respondents still gets a variance of the right size;
    * ``"model"`` — p̃ = ``p_smooth``, e.g. synthetic or FH estimates of a first fit (iterate if wanted);
    * ``"none"`` — p̃ = p_i, the textbook direct variance (zero at p = 0 or 1: a warning names
      those areas and their ψ stays 0, which gives them shrinkage γ = 1).

    Areas with ``p`` NaN (no sample) get ψ = NaN. Returns ``(psi, record)``.
    R: ``p_bar <- weighted.mean(p, n / deff); psi <- p_bar * (1 - p_bar) / (n / deff)``.
    """
    pp = vector(p, "p", allow_nan=True)
    m = pp.shape[0]
    neff = effective_sample_size(vector(n, "n", m, allow_nan=True), deff)
    obs = ~np.isnan(pp)
    check_proportions(
        pp,
        neff,
        "n",
        "a sampled area needs a positive sample size",
        "give the respondent counts of the sampled areas",
    )
    params: dict[str, Any] = {"smooth": smooth, "deff": _describe(deff), "areas": int(obs.sum())}
    if smooth == "pooled":
        labels, codes = group_codes(groups, m)
        w = np.where(obs, neff, 0.0)
        num = np.bincount(codes, weights=np.where(obs, pp, 0.0) * w, minlength=labels.shape[0])
        den = np.bincount(codes, weights=w, minlength=labels.shape[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled = num / den
        pt = pooled[codes]
        params["pooled_p"] = (
            {str(k): float(v) for k, v in zip(labels, pooled, strict=True)}
            if groups is not None
            else float(pooled[0])
        )
        note = (
            "p(1-p)/n_eff with p pooled over the sampled areas"
            + (" of each group" if groups is not None else "")
            + " (weights n_eff)"
        )
    elif smooth == "model":
        if p_smooth is None:
            raise ModelError(
                "smooth='model' needs the model proportions.",
                code="missing_p_smooth",
                fix=(
                    "pass ",
                    opt("p_smooth"),
                    " (e.g. synthetic estimates of a first fit), or use ",
                    opt("smooth", "pooled"),
                ),
            )
        pt = vector(p_smooth, "p_smooth", m, allow_nan=True)
        require(
            obs & ~((pt > 0) & (pt < 1)),
            "p_smooth",
            "model proportions must lie strictly inside (0, 1)",
            code="bad_proportion",
            expected="0 < p_smooth < 1",
            fix="check the model proportions",
            values=pt,
        )
        note = "p(1-p)/n_eff with p from the model (p_smooth) given by the caller"
    elif smooth == "none":
        pt = pp
        edge = obs & ((pp == 0) | (pp == 1))
        if edge.any():
            warn(
                f"{int(edge.sum())} area(s) have a proportion of 0 or 1 and so a sampling variance of 0 "
                f"(rows {data_rows(edge)}); their FH estimate will equal the direct one. "
                "Use smooth='pooled' or smooth='model'."
            )
        params["zero_variance_rows"] = data_rows(edge, limit=50)
        note = "p(1-p)/n_eff with each area's own direct p"
    else:
        raise ModelError(
            "Unknown smoothing of p.",
            code="unknown_option",
            column="smooth",
            got=smooth,
            expected=("pooled", "model", "none"),
            fix=("use ", opt("smooth", "pooled")),
        )
    psi = np.where(obs, pt * (1.0 - pt) / np.where(obs, neff, 1.0), np.nan)
    return psi, VarianceRecord("proportion", params, note)


#: the GVF covariates: name -> function of (estimate, n)
_TERMS = ("log_n", "log_estimate", "log_pq")


def _term(name: str, est: np.ndarray, n: np.ndarray | None) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "log_n":
            if n is None:
                raise ModelError(
                    "The GVF term log_n needs the sample sizes.", code="missing_n", fix=("pass ", opt("n"))
                )
            return np.log(n)
        if name == "log_estimate":
            return np.log(np.abs(est))
        if name == "log_pq":
            return np.log(est * (1.0 - est))
    raise ModelError(
        "Unknown GVF term.",
        code="unknown_option",
        column="terms",
        got=name,
        expected=_TERMS,
        fix=("use terms from ", ", ".join(_TERMS)),
    )


def gvf_variance(
    estimate: Any,
    variance: Any,
    n: Any = None,
    *,
    model: str = "log",
    terms: Sequence[str] = ("log_n",),
    correction: str = "lognormal",
) -> tuple[np.ndarray, VarianceRecord]:
    """Smoothed sampling variances from a generalised variance function fitted across areas.

    ``model="log"``: ordinary least squares of log ψ_i on 1 and ``terms`` (any of ``log_n``,
    ``log_estimate`` = log |ŷ_i|, ``log_pq`` = log ŷ_i(1 − ŷ_i) for proportions) over the areas with
    a positive finite direct variance; the smoothed variance is ψ̃_i = exp(z_iᵀθ̂) · c with
    c = exp(s²/2) (``correction="lognormal"``, s² the residual mean square), c = mean exp(ê)
    (``"smearing"``, Duan 1983) or c = 1 (``"none"``, a median rather than a mean).

    ``model="relvar"`` (Wolter 2007, model 7.2.1): OLS of the relvariance ψ_i / ŷ_i² on 1 and
    1/ŷ_i; ψ̃_i = α̂ ŷ_i² + β̂ ŷ_i. Suited to totals/means of one sign; areas whose fitted relvariance
    is not positive raise an error (use the log model).

    Every area with a usable covariate gets a smoothed variance, also those with no direct
    variance (NaN or 0), as long as it has an estimate. Returns ``(psi_smoothed, record)``; the
    record holds the coefficients, R², residual variance, the number of areas fitted and the rows
    left out of the fit.
    """
    est = vector(estimate, "estimate", allow_nan=True)
    m = est.shape[0]
    var = vector(variance, "variance", m, allow_nan=True)
    nn = None if n is None else vector(n, "n", m, allow_nan=True)
    if model == "log":
        names = list(terms)
        cols = [np.ones(m)] + [_term(t, est, nn) for t in names]
        Z = np.column_stack(cols)
        with np.errstate(divide="ignore", invalid="ignore"):
            resp = np.log(var)
        names = ["intercept"] + names
    elif model == "relvar":
        with np.errstate(divide="ignore", invalid="ignore"):
            Z = np.column_stack([np.ones(m), 1.0 / est])
            resp = var / est**2
        names = ["alpha", "beta"]
    else:
        raise ModelError(
            "Unknown GVF model.",
            code="unknown_option",
            column="model",
            got=model,
            expected=("log", "relvar"),
            fix=("use ", opt("model", "log")),
        )
    zok = np.isfinite(Z).all(axis=1)
    fit = zok & np.isfinite(resp) & (var > 0)
    k, q = int(fit.sum()), Z.shape[1]
    if k <= q:
        raise ModelError(
            f"The GVF needs more areas with a positive variance than coefficients ({k} <= {q}).",
            code="too_few_areas",
            column="variance",
            got=k,
            expected=f"more than {q}",
            fix="use fewer terms, or pool areas",
        )
    Zf, rf = Z[fit], resp[fit]
    theta, _, rank, _ = np.linalg.lstsq(Zf, rf, rcond=None)
    if rank < q:
        raise ModelError(
            "The GVF covariates are collinear over the fitted areas.",
            code="singular_design",
            column="terms",
            got=list(terms),
            fix="drop a term",
        )
    resid = rf - Zf @ theta
    s2 = float(resid @ resid) / (k - q)
    tss = float(((rf - rf.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / tss if tss > 0 else float("nan")
    pred = np.full(m, np.nan)
    eta = Z[zok] @ theta
    has_est = ~np.isnan(est)
    params: dict[str, Any] = {
        "model": model,
        "coefficients": dict(zip(names, map(float, theta), strict=True)),
        "residual_variance": s2,
        "r_squared": r2,
        "areas_fitted": k,
        "rows_not_fitted": data_rows(has_est & ~fit, limit=50),
    }
    if model == "log":
        if correction == "lognormal":
            c = float(np.exp(s2 / 2.0))
        elif correction == "smearing":
            c = float(np.mean(np.exp(resid)))
        elif correction == "none":
            c = 1.0
        else:
            raise ModelError(
                "Unknown retransformation correction.",
                code="unknown_option",
                column="correction",
                got=correction,
                expected=("lognormal", "smearing", "none"),
                fix=("use ", opt("correction", "lognormal")),
            )
        pred[zok] = np.exp(eta) * c
        params["correction"] = correction
        params["correction_factor"] = c
        on = ", ".join(names[1:]) or "a constant"
        note = f"log(psi) regressed on {on} over the areas; {correction} correction"
    else:
        rel = np.full(m, np.nan)
        rel[zok] = eta
        require(
            has_est & zok & ~(rel > 0),
            "variance",
            "the fitted relvariance is not positive",
            code="gvf_nonpositive",
            expected="alpha + beta / estimate > 0",
            fix=("use ", opt("model", "log")),
            values=rel,
        )
        pred = rel * est**2
        note = "relvariance psi/y^2 = alpha + beta/y (Wolter 2007, 7.2.1) fitted by OLS over the areas"
    require(
        has_est & np.isnan(pred),
        "estimate",
        "the GVF cannot be evaluated for these areas "
        "(a term is infinite: an estimate of 0, or 0/1 for log_pq)",
        code="gvf_undefined",
        expected="finite GVF terms",
        fix="use terms=('log_n',) or smooth these areas otherwise",
        values=est,
    )
    return pred, VarianceRecord(f"gvf-{model}", params, note)


def _describe(x: Any) -> Any:
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return float(a)
    return {"per_area": True, "min": float(np.nanmin(a)), "max": float(np.nanmax(a))}

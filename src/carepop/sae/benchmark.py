"""Benchmarking small-area estimates so that they add up to a higher-level figure.

All methods are the one weighted adjustment of Datta, Ghosh, Steorts & Maples (2011, *Test* 20,
574–588; Rao & Molina 2015 section 6.4.4): for the areas i of a group g with shares s_i and a
target t_g (e.g. an England or region value),

    θ̂ᵇ_i = θ̂_i + a_i (t_g − Σ_{j∈g} s_j θ̂_j) / Σ_{j∈g} s_j a_j ,

which always satisfies Σ_{j∈g} s_j θ̂ᵇ_j = t_g. The method chooses a_i (in Datta et al.'s notation
a_i = s_i / φ_i):

==============  ==========  ===================================================================
``method``      a_i         result
==============  ==========  ===================================================================
``"ratio"``     θ̂_i         θ̂ᵇ_i = θ̂_i · t_g / Σ s_j θ̂_j  (emdi ``type = "ratio"``)
``"raking"``    1           θ̂ᵇ_i = θ̂_i + (t_g − Σ s_j θ̂_j) / Σ s_j  (emdi ``"raking"``, additive)
``"mse"``       MSE_i       the less precise areas move more (emdi ``"MSE_adj"``)
==============  ==========  ===================================================================

emdi (``benchmark()``, R/benchmark.R) uses the same formulas with one group; its additive
"raking" omits the division by Σ s_j, which is the same when the shares sum to 1 (as emdi's
``share = N_d / N``) and otherwise misses the benchmark: here the benchmark is always met.

Shares: ``share`` as given (e.g. N_i / N_g for means, the emdi ``ratio_n`` column), or ``sizes``
(N_i, normalised within each group to N_i / Σ_{j∈g} N_j), or neither (s_i = 1: area *totals*
that must add to the group total).

MSE after benchmarking (emdi returns none). With the target and the shares treated as known,
θ̂ᵇ_i − θ_i = (θ̂_i − θ_i) + (θ̂ᵇ_i − θ̂_i). Datta et al. (2011, Theorem 1) show that the posterior
risk of the benchmarked Bayes estimator is the posterior variance plus the squared adjustment;
for EBLUPs Steorts & Ghosh (2013, *Statistica Sinica* 23, 749–767) show that benchmarking adds a
term of order 1/m to the MSE and give a second-order estimator of it. ``mse_method="posterior"``
(default) uses MSE_i + (θ̂ᵇ_i − θ̂_i)², the posterior-risk form with the EBLUP's MSE in place of the
posterior variance (a plug-in, not Steorts & Ghosh's second-order unbiased estimator).
``"scaled"`` (ratio only) is f_g² · MSE_i with the factor f_g = t_g / Σ s_j θ̂_j held fixed, which
ignores the bias the adjustment brings. A bootstrap (:func:`benchmark_mse_bootstrap`) benchmarks
each replicate to its own target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from carepop.errors import ModelError, data_rows, opt
from carepop.sae._postcheck import group_codes, require, vector

__all__ = [
    "BenchmarkResult",
    "benchmark",
    "benchmark_mse_bootstrap",
    "benchmark_two_level",
]

_METHODS = ("ratio", "raking", "mse")


@dataclass(frozen=True)
class BenchmarkResult:
    """Benchmarked estimates, aligned with the input areas.

    ``estimate`` θ̂ᵇ, ``adjustment`` θ̂ᵇ − θ̂, ``factor`` θ̂ᵇ/θ̂ for ``ratio`` (else None),
    ``share`` the shares used, ``mse`` the MSE after benchmarking (None without input MSEs),
    ``groups`` the group labels and ``group_target`` / ``group_before`` (Σ s θ̂ per group) their
    values, ``record`` the choices (for the run manifest)."""

    estimate: np.ndarray
    adjustment: np.ndarray
    factor: np.ndarray | None
    share: np.ndarray
    mse: np.ndarray | None
    groups: np.ndarray
    group_target: np.ndarray
    group_before: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)


def _shares(share: Any, sizes: Any, codes: np.ndarray, n_groups: int, m: int) -> tuple[np.ndarray, str]:
    if share is not None and sizes is not None:
        raise ModelError(
            "Give either share or sizes, not both.",
            code="conflicting_options",
            fix=("pass ", opt("share"), " (used as is) or ", opt("sizes"), " (normalised within each group)"),
        )
    if share is not None:
        s = vector(share, "share", m)
        require(
            s < 0,
            "share",
            "shares must not be negative",
            code="bad_share",
            expected="share >= 0",
            fix="give population shares",
            values=s,
        )
        return s, "given"
    if sizes is not None:
        nn = vector(sizes, "sizes", m)
        require(
            ~(nn > 0),
            "sizes",
            "population sizes must be positive",
            code="bad_size",
            expected="sizes > 0",
            fix="give the population size of every area",
            values=nn,
        )
        tot = np.bincount(codes, weights=nn, minlength=n_groups)
        return nn / tot[codes], "sizes normalised within group"
    return np.ones(m), "1 (totals)"


def _targets(target: Any, labels: np.ndarray, codes: np.ndarray, grouped: bool) -> np.ndarray:
    g = labels.shape[0]
    if isinstance(target, Mapping) or hasattr(target, "to_dict"):
        d = dict(target.to_dict() if hasattr(target, "to_dict") else target)
        missing = [lab for lab in labels.tolist() if lab not in d]
        if missing:
            raise ModelError(
                "The targets lack some groups.",
                code="missing_target",
                column="target",
                got=missing[:5],
                fix="give a target for every group",
            )
        return np.array([float(d[lab]) for lab in labels.tolist()])
    t = np.asarray(target, dtype=float)
    if t.ndim == 0:
        if grouped and g > 1:
            raise ModelError(
                "One target for several groups.",
                code="missing_target",
                column="target",
                got=float(t),
                expected=f"{g} targets",
                fix="give a mapping group -> target (or one target per area)",
            )
        return np.full(g, float(t))
    if t.ndim == 1 and t.shape[0] == codes.shape[0]:
        first = np.zeros(g)
        first[codes[::-1]] = t[::-1]  # any one value per group
        bad = t != first[codes]
        require(
            bad,
            "target",
            "a per-area target must be the same within each group",
            code="inconsistent_target",
            expected="one value per group",
            fix="check the targets",
            values=t,
        )
        return first
    raise ModelError(
        "target must be a number, a mapping group -> number, or one value per area.",
        code="bad_shape",
        column="target",
        got=t.shape,
        fix="give one target per group",
    )


def benchmark(
    estimate: Any,
    target: Any,
    *,
    share: Any = None,
    sizes: Any = None,
    groups: Any = None,
    method: str = "ratio",
    mse: Any = None,
    mse_method: str = "posterior",
) -> BenchmarkResult:
    """Benchmark area estimates to a target per group (see the module docstring for formulas).

    ``estimate`` (M,) model estimates (every area, no NaN); ``target`` a number (one group), a
    mapping group label → target, or a per-area array constant within groups; ``groups`` (M,)
    labels of the higher level (None: one group); ``share``/``sizes`` as in the module docstring;
    ``mse`` (M,) MSEs of the estimates (needed for ``method="mse"`` and for an MSE after
    benchmarking). R (emdi): ``benchmark(fh, benchmark = t, share = ratio_n, type = "ratio")``.
    """
    est = vector(estimate, "estimate")
    m = est.shape[0]
    if method not in _METHODS:
        raise ModelError(
            "Unknown benchmarking method.",
            code="unknown_option",
            column="method",
            got=method,
            expected=_METHODS,
            fix=("use ", opt("method", "ratio")),
        )
    labels, codes = group_codes(groups, m)
    ng = labels.shape[0]
    s, share_source = _shares(share, sizes, codes, ng, m)
    t = _targets(target, labels, codes, groups is not None)
    mm = None if mse is None else vector(mse, "mse", m)
    if mm is not None:
        require(
            mm < 0,
            "mse",
            "MSEs must not be negative",
            code="bad_mse",
            expected="mse >= 0",
            fix="check the MSEs",
            values=mm,
        )
    if method == "ratio":
        a = est
    elif method == "raking":
        a = np.ones(m)
    else:
        if mm is None:
            raise ModelError(
                "method='mse' needs the MSEs of the estimates.", code="missing_mse", fix=("pass ", opt("mse"))
            )
        a = mm
    before = np.bincount(codes, weights=s * est, minlength=ng)
    denom = np.bincount(codes, weights=s * a, minlength=ng)
    bad_g = denom == 0
    if bad_g.any():
        raise ModelError(
            "A group's weighted sum of the adjustment weights is 0, so it cannot be benchmarked.",
            code="degenerate_group",
            column="groups",
            got=labels[bad_g][:5].tolist(),
            rows=data_rows(bad_g[codes]),
            fix="check the shares and estimates of these groups (all zero?)",
        )
    adj = a * ((t - before) / denom)[codes]
    bench = est + adj
    factor = None
    if method == "ratio":
        factor = (t / before)[codes]
    out_mse = None
    if mm is not None:
        if mse_method == "posterior":
            out_mse = mm + adj**2
        elif mse_method == "scaled":
            if factor is None:
                raise ModelError(
                    "mse_method='scaled' applies to ratio benchmarking only.",
                    code="bad_option",
                    column="mse_method",
                    got=mse_method,
                    fix=("use ", opt("mse_method", "posterior")),
                )
            out_mse = factor**2 * mm
        else:
            raise ModelError(
                "Unknown MSE method.",
                code="unknown_option",
                column="mse_method",
                got=mse_method,
                expected=("posterior", "scaled"),
                fix=("use ", opt("mse_method", "posterior")),
            )
    record = {
        "method": method,
        "share": share_source,
        "groups": int(ng),
        "targets": {str(k): float(v) for k, v in zip(labels.tolist(), t, strict=True)},
        "mse_method": None if mm is None else mse_method,
        "known": ["target", "share"],
        "note": (
            "MSE after benchmarking = MSE + adjustment^2 (Datta et al. 2011; Steorts & Ghosh 2013), "
            "target and shares treated as known"
            if mse_method == "posterior"
            else "MSE after benchmarking = factor^2 * MSE (factor held fixed)"
        ),
    }
    return BenchmarkResult(bench, adj, factor, s, out_mse, labels, t, before, record)


def benchmark_two_level(
    estimate: Any,
    groups: Any,
    group_estimate: Any,
    top_target: float,
    *,
    sizes: Any = None,
    group_sizes: Any = None,
    method: str = "ratio",
    mse: Any = None,
    group_mse: Any = None,
    mse_method: str = "posterior",
) -> tuple[BenchmarkResult, BenchmarkResult]:
    """Benchmark two levels consistently, e.g. council → region → England, top down.

    First the G group estimates (``group_estimate``, a mapping label → value or an array in the
    order of the sorted distinct labels of ``groups``) are benchmarked to ``top_target`` with shares
    ``group_sizes`` (normalised) or 1 (totals); then the areas of each group are benchmarked to
    their group's benchmarked value, with shares ``sizes`` normalised within group (means) or 1
    (totals). So the areas add up to their groups and the groups to the top. In the second stage the
    benchmarked group values are treated as known targets. Returns ``(areas, groups)`` results.
    With means, the group sizes should be the sums of the area sizes (checked when both are given).
    """
    est = vector(estimate, "estimate")
    labels, codes = group_codes(groups, est.shape[0])
    ng = labels.shape[0]
    if isinstance(group_estimate, Mapping) or hasattr(group_estimate, "to_dict"):
        gest = _targets(group_estimate, labels, codes, True)
    else:
        gest = vector(group_estimate, "group_estimate", ng)
    gm = None
    if group_mse is not None:
        gm = (
            _targets(group_mse, labels, codes, True)
            if isinstance(group_mse, Mapping) or hasattr(group_mse, "to_dict")
            else vector(group_mse, "group_mse", ng)
        )
    gsz = None
    if group_sizes is not None:
        gsz = (
            _targets(group_sizes, labels, codes, True)
            if isinstance(group_sizes, Mapping) or hasattr(group_sizes, "to_dict")
            else vector(group_sizes, "group_sizes", ng)
        )
        if sizes is not None:
            tot = np.bincount(codes, weights=vector(sizes, "sizes", est.shape[0]), minlength=ng)
            bad = ~np.isclose(tot, gsz, rtol=1e-9, atol=0.0)
            if bad.any():
                raise ModelError(
                    "The group sizes are not the sums of their areas' sizes.",
                    code="inconsistent_sizes",
                    column="group_sizes",
                    got=labels[bad][:5].tolist(),
                    fix="give group sizes equal to the sum of the area sizes",
                )
    top = benchmark(gest, top_target, sizes=gsz, method=method, mse=gm, mse_method=mse_method)
    areas = benchmark(
        est,
        top.estimate[codes],
        sizes=sizes,
        groups=labels[codes],
        method=method,
        mse=mse,
        mse_method=mse_method,
    )
    rec = dict(areas.record)
    rec["levels"] = 2
    rec["known"] = ["top_target", "group shares", "area shares", "benchmarked group values (second stage)"]
    areas = BenchmarkResult(
        areas.estimate,
        areas.adjustment,
        areas.factor,
        areas.share,
        areas.mse,
        areas.groups,
        areas.group_target,
        areas.group_before,
        rec,
    )
    top_rec = dict(top.record)
    top_rec["groups_labels"] = [str(v) for v in labels.tolist()]
    top = BenchmarkResult(
        top.estimate,
        top.adjustment,
        top.factor,
        top.share,
        top.mse,
        labels,
        top.group_target,
        top.group_before,
        top_rec,
    )
    return areas, top


def benchmark_mse_bootstrap(
    estimate_boot: Any,
    truth_boot: Any,
    *,
    share: Any = None,
    sizes: Any = None,
    groups: Any = None,
    method: str = "ratio",
    mse: Any = None,
    target_var: Any = 0.0,
    seed: int | None = None,
) -> np.ndarray:
    """Bootstrap MSE of benchmarked estimates: mean over replicates b of (θ̂ᵇ*_bi − θ*_bi)².

    ``estimate_boot`` (B, M) the model estimates of each bootstrap replicate, ``truth_boot`` (B, M)
    the replicate's true area values (e.g. from a parametric FH bootstrap, Xβ̂ + v*). Replicate b is
    benchmarked to its own target t*_bg = Σ_{i∈g} s_i θ*_bi (+ N(0, ``target_var``) noise when the
    real target is itself an estimate with that variance; 0 = known exactly). ``method="mse"``
    uses the fixed weights ``mse`` in every replicate. Vectorised over replicates.
    """
    eb = np.asarray(estimate_boot, dtype=float)
    tb = np.asarray(truth_boot, dtype=float)
    if eb.ndim != 2 or eb.shape != tb.shape:
        raise ModelError(
            "estimate_boot and truth_boot must be (B, M) arrays of one shape.",
            code="bad_shape",
            got=(eb.shape, tb.shape),
            fix="stack the replicates as rows",
        )
    b, m = eb.shape
    bad = ~np.isfinite(eb).all(axis=0) | ~np.isfinite(tb).all(axis=0)
    require(
        bad,
        "estimate_boot",
        "replicates must be finite for every area",
        code="not_finite",
        expected="finite numbers",
        fix="check the bootstrap",
    )
    if method not in _METHODS:
        raise ModelError(
            "Unknown benchmarking method.",
            code="unknown_option",
            column="method",
            got=method,
            expected=_METHODS,
            fix=("use ", opt("method", "ratio")),
        )
    labels, codes = group_codes(groups, m)
    ng = labels.shape[0]
    s, _ = _shares(share, sizes, codes, ng, m)
    # flat (replicate, group) codes for one bincount over all replicates
    flat = (np.arange(b)[:, None] * ng + codes[None, :]).ravel()

    def gsum(x: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=x.ravel(), minlength=b * ng).reshape(b, ng)

    t = gsum(s * tb)
    tv = vector(target_var, "target_var", ng)
    if (tv > 0).any():
        t = t + np.random.default_rng(seed).standard_normal((b, ng)) * np.sqrt(tv)
    if method == "ratio":
        a = eb
    elif method == "raking":
        a = np.ones_like(eb)
    else:
        if mse is None:
            raise ModelError(
                "method='mse' needs the MSEs of the estimates.", code="missing_mse", fix=("pass ", opt("mse"))
            )
        a = np.broadcast_to(vector(mse, "mse", m), eb.shape)
    before = gsum(s * eb)
    denom = gsum(s * a)
    adj = a * np.take_along_axis((t - before) / denom, np.broadcast_to(codes, (b, m)), axis=1)
    return np.mean((eb + adj - tb) ** 2, axis=0)

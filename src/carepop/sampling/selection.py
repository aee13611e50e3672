"""Drawing probability samples from a frame, reproducibly.

Methods (all fixed-size, without replacement, seeded through :func:`numpy.random.default_rng`):

``srs``
    Simple random sampling without replacement, π = n/N.
``systematic``
    Systematic sampling with a random start and interval N/n after sorting the frame by
    ``sort_by`` (implicit stratification), π = n/N.
``pps_systematic``
    Systematic πps sampling on the cumulated inclusion probabilities with a random start
    (Madow 1949; Tillé 2006, *Sampling Algorithms*, §7.2). Units with π ≥ 1 are taken with
    certainty.
``pps_wor``
    Brewer's draw-by-draw πps method (Brewer 1975, "A simple procedure for sampling πpswor",
    *Australian Journal of Statistics* 17, 166-172; Tillé 2006, §7.6.2, R ``sampling::UPbrewer``).
    It has exactly the stated inclusion probabilities. Draw i (i = 1..n) picks an unselected unit k
    with probability proportional to π_k (c - π_k) / (c - (n - i + 1) π_k), with c = n minus the
    sum of π over units already drawn. The draw is done by rejection from a proposal ∝ π_k
    (cumulative sums and a binary search), so each of the n draws costs O(log N), not O(N).

For the πps methods the inclusion probabilities are π_k = n x_k / Σx with units of π ≥ 1 set to 1
and the rest recomputed on the remaining sample size, repeatedly, exactly as R
``sampling::inclusionprobabilities``.

Every selected row keeps all frame columns and gains ``inclusion_probability`` and
``design_weight`` (= 1/π). For ``srs`` and ``systematic`` the column ``fpc_units`` holds the
population size of the stratum (use it as ``fpc=``; systematic sampling is then analysed as SRS).
For πps designs no fpc is given: the variance is estimated with the with-replacement
(Hansen-Hurwitz type) approximation, which is conservative when sampling fractions are small.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from carepop.core.vocabulary import SelectionMethod, choose
from carepop.errors import CarepopError, DesignError, data_rows, opt
from carepop.sampling.allocation import round_allocation

METHODS = SelectionMethod.values()  # the names, from carepop.core.vocabulary
PI = "inclusion_probability"
WEIGHT = "design_weight"
FPC = "fpc_units"
DESIGN_ATTR = "carepop_design"


# --------------------------------------------------------------------------- probabilities
def inclusion_probabilities(x: np.ndarray, n: int) -> np.ndarray:
    """πps inclusion probabilities, as R ``sampling::inclusionprobabilities(x, n)``.

    π_k = n x_k / Σx; while some π_k ≥ 1, those are set to 1 and the others are recomputed as
    (n - #certain) x_k / Σ_{uncertain} x.
    """
    x = np.asarray(x, dtype=float)
    pik = np.zeros_like(x)
    pos = x > 0
    if n == 0 or not pos.any():
        return pik
    pik[pos] = n * x[pos] / x[pos].sum()
    cert = np.zeros(x.shape, dtype=bool)
    while True:
        new = (pik >= 1) & ~cert
        if not new.any():
            break
        cert |= new
        pik[cert] = 1.0
        rest = pos & ~cert
        n_rest = n - int(cert.sum())
        if not rest.any():
            break
        pik[rest] = n_rest * x[rest] / x[rest].sum()
    return pik


# --------------------------------------------------------------------------- samplers
def _systematic(pik: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions selected by systematic sampling on cumulated π (certainty units always taken)."""
    cert = pik >= 1 - 1e-12
    chosen = np.flatnonzero(cert)
    rest = np.flatnonzero(~cert & (pik > 0))
    if rest.size:
        p = pik[rest]
        m = int(round(p.sum()))
        if m > 0:
            cum = np.cumsum(p)
            cum *= m / cum[-1]  # remove rounding drift so the sample size is exactly m
            points = rng.random() + np.arange(m)
            idx = np.minimum(np.searchsorted(cum, points, side="left"), rest.size - 1)
            chosen = np.concatenate([chosen, rest[idx]])
    return np.sort(chosen)


def _brewer(pik: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions selected by Brewer's (1975) draw-by-draw πps method (exact π, fixed size)."""
    cert = pik >= 1 - 1e-12
    rest = np.flatnonzero(~cert & (pik > 0))
    chosen = [np.flatnonzero(cert)]
    if rest.size == 0:
        return np.sort(chosen[0])
    p_all = pik[rest]
    n = int(round(p_all.sum()))
    if n == 0:
        return np.sort(chosen[0])
    taken = np.zeros(rest.size, dtype=bool)
    picks = np.empty(n, dtype=np.int64)
    a = 0.0  # sum of π over drawn units

    def rebuild() -> tuple[np.ndarray, np.ndarray, float, float]:
        live = np.flatnonzero(~taken)
        cum = np.cumsum(p_all[live])
        return live, cum, float(cum[-1]), float(p_all[live].max())

    live, cum, total, pmax = rebuild()
    dead_mass = 0.0
    for i in range(n):
        r = n - i  # draws still to make, including this one
        c = n - a
        if dead_mass > 0.5 * total:
            live, cum, total, pmax = rebuild()
            dead_mass = 0.0
        # acceptance bound: g(π) = (c - π)/(c - rπ) increases in π (c > r >= 1)
        gmax = (c - pmax) / (c - r * pmax)
        batch = 16
        while True:
            u = rng.random(batch) * total
            j = np.minimum(np.searchsorted(cum, u, side="right"), live.size - 1)
            k = live[j]
            pk = p_all[k]
            ok = ~taken[k] & (rng.random(batch) * gmax * (c - r * pk) <= (c - pk))
            if ok.any():
                kk = int(k[np.argmax(ok)])
                break
            batch = min(batch * 4, 1 << 16)
        taken[kk] = True
        picks[i] = kk
        a += p_all[kk]
        dead_mass += p_all[kk]
    chosen.append(rest[picks])
    return np.sort(np.concatenate(chosen))


def _draw(method: str, pik: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if method == "srs":
        return np.sort(rng.choice(pik.size, size=n, replace=False))
    if method in ("systematic", "pps_systematic"):
        return _systematic(pik, rng)
    return _brewer(pik, rng)


# --------------------------------------------------------------------------- validation
def _check_columns(frame: pd.DataFrame, cols: list[str | None], what: str) -> None:
    for c in cols:
        if c is not None and c not in frame.columns:
            raise CarepopError(
                f"Unknown {what} column {c!r}.",
                code="unknown_column",
                column=c,
                fix=f"use one of the frame's columns: {', '.join(map(str, frame.columns[:20]))}",
            )


def _rows_of(perm: np.ndarray | None, mask: np.ndarray, limit: int = 5) -> list[int]:
    """1-based frame rows where ``mask`` holds; ``mask`` is over the frame in the order ``perm``
    (positions of the frame's rows; None when not reordered)."""
    if perm is None:
        return data_rows(mask, limit)
    return [int(p) + 1 for p in perm[np.flatnonzero(mask)[:limit]]]


def _size_values(frame: pd.DataFrame, size: str, perm: np.ndarray | None = None) -> np.ndarray:
    s = pd.to_numeric(frame[size], errors="coerce")
    x = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(x) | (x <= 0)
    if bad.any():
        raise CarepopError(
            f"Size column {size!r} has {int(bad.sum())} missing, non-numeric, zero or negative values.",
            code="bad_size",
            column=size,
            rows=_rows_of(perm, bad),
            fix="PPS needs a positive measure of size for every unit; drop or fix these rows",
        )
    return x


def _check_n(n: Any, available: int, label: str) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise CarepopError(f"Sample size {n!r} for {label} must be a non-negative integer.", code="bad_n")
    if n > available:
        raise CarepopError(
            f"Sample size {int(n)} is larger than the {available} units of {label}.",
            code="n_too_large",
            fix=("reduce ", opt("n", metavar="N"), " or select from a larger frame"),
        )
    return int(n)


def _strata_sizes(
    labels: pd.Series,
    n: int | Mapping[Any, int] | pd.Series,
    strata: str,
    x: np.ndarray | None = None,
) -> dict[Any, int]:
    """Sample size per stratum: given, or a total allocated proportionally by largest remainder --
    to the unit counts, or for PPS (``x`` given) to the stratum totals of the size measure, which
    keeps ``pi_i = n x_i / X`` as in an unstratified PPS sample (never more than a stratum's units)."""
    counts = labels.value_counts(sort=False).sort_index()
    if isinstance(n, (Mapping, pd.Series)):
        given = dict(n.items())
        empty = [h for h in given if h not in counts.index]
        if empty:
            raise CarepopError(
                f"Stratum {empty[0]!r} has no units in the frame.",
                code="empty_stratum",
                column=strata,
                fix="check the stratum labels of the sample sizes against the frame",
            )
        missing = [h for h in counts.index if h not in given]
        if missing:
            raise CarepopError(
                f"No sample size given for stratum {missing[0]!r}.",
                code="missing_allocation",
                column=strata,
                fix="give a sample size (possibly 0) for every stratum, or a total to allocate",
            )
        return {h: _check_n(given[h], int(counts[h]), f"stratum {h!r}") for h in counts.index}
    total = _check_n(n, int(counts.sum()), "the frame")
    units = counts.to_numpy(dtype=float)
    share = units if x is None else pd.Series(x, index=labels.index).groupby(labels).sum().to_numpy()
    sizes = round_allocation(share, total, np.zeros_like(units), units)
    return dict(zip(counts.index, sizes.tolist(), strict=True))


# --------------------------------------------------------------------------- public API
def select(
    frame: pd.DataFrame,
    n: int | Mapping[Any, int] | pd.Series,
    method: str = "srs",
    size: str | None = None,
    strata: str | None = None,
    sort_by: list[str] | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Select a probability sample from ``frame``.

    Parameters
    ----------
    frame : the sampling frame, one row per unit.
    n : total sample size, or (with ``strata``) a dict/Series of sizes per stratum. A total with
        ``strata`` is allocated proportionally by largest-remainder rounding: to stratum unit counts,
        or for PPS methods to the stratum totals of ``size``.
    method : ``srs``, ``systematic``, ``pps_systematic`` or ``pps_wor`` (Brewer 1975); see the module
        docstring for each method and its reference.
    size : measure-of-size column (required for PPS methods).
    strata : stratum column; selection is independent within strata.
    sort_by : columns to sort the frame by before systematic selection (implicit stratification).
    seed : seed for :func:`numpy.random.default_rng`; same seed, same sample.

    Returns
    -------
    The selected rows (original index, frame order within stratum) with all frame columns,
    ``inclusion_probability``, ``design_weight`` and, for srs/systematic, ``fpc_units``.
    """
    method = choose(method, SelectionMethod, "method", "selection method")
    pps = method.startswith("pps")
    if pps and size is None:
        raise CarepopError(
            f"Method {method!r} needs a measure of size.",
            code="missing_size",
            fix=("name the size column: ", opt("size", metavar="COL")),
        )
    _check_columns(frame, [size], "size")
    _check_columns(frame, [strata], "strata")
    _check_columns(frame, list(sort_by or []), "sort_by")
    rng = np.random.default_rng(seed)
    work = frame
    perm = None  # positions of the frame's rows in ``work``'s order (for 1-based rows in errors)
    if sort_by and method in ("systematic", "pps_systematic"):
        perm = frame.reset_index(drop=True).sort_values(list(sort_by), kind="stable").index.to_numpy()
        work = frame.iloc[perm]
    x = _size_values(work, size, perm) if pps else None

    if strata is None:
        if isinstance(n, (Mapping, pd.Series)):
            raise CarepopError(
                "Sample sizes per stratum need the stratum column.",
                code="bad_n",
                fix=("name it with ", opt("strata", metavar="COL"), ", or give a total sample size"),
            )
        groups: list[tuple[Any, np.ndarray, int]] = [
            (None, np.arange(len(work)), _check_n(n, len(work), "the frame"))
        ]
    else:
        labels = work[strata]
        if labels.isna().any():
            raise CarepopError(
                f"Strata column {strata!r} has missing values.",
                code="missing_strata",
                column=strata,
                rows=_rows_of(perm, labels.isna().to_numpy()),
            )
        sizes = _strata_sizes(labels, n, strata, x)
        codes, uniques = pd.factorize(labels, sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        groups = [(h, order[bounds[g] : bounds[g + 1]], sizes[h]) for g, h in enumerate(uniques)]

    pos_parts, pi_parts, fpc_parts = [], [], []
    for _h, rows, nh in groups:
        if pps:
            pik = inclusion_probabilities(x[rows], nh)
        else:
            pik = np.full(rows.size, nh / rows.size if rows.size else 0.0)
        sel = _draw(method, pik, nh, rng)
        pos_parts.append(rows[sel])
        pi_parts.append(np.minimum(pik[sel], 1.0))
        fpc_parts.append(np.full(sel.size, rows.size, dtype=float))
    pos = np.concatenate(pos_parts)
    pi = np.concatenate(pi_parts)
    order = np.argsort(pos, kind="stable")
    out = work.iloc[pos[order]].copy()
    out[PI] = pi[order]
    out[WEIGHT] = 1.0 / out[PI].to_numpy()
    if not pps:
        out[FPC] = np.concatenate(fpc_parts)[order]
    out.attrs[DESIGN_ATTR] = {"strata": strata, "fpc": None if pps else FPC, "method": method}
    return out


def select_two_stage(
    frame: pd.DataFrame,
    psu: str,
    n_psu: int | Mapping[Any, int] | pd.Series,
    m_per_psu: int,
    size: str | None = None,
    strata: str | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Two-stage sample: PSUs by systematic πps, then ``m_per_psu`` units per PSU by SRS.

    Stage 1 uses ``pps_systematic`` on the PSU measure of size: the number of frame rows in the
    PSU, or ``size`` (a PSU-level measure repeated on each of its rows; it must be constant within
    a PSU). Stage 2 draws ``min(m_per_psu, M_i)`` of the M_i units of each selected PSU by SRS
    (all units when the PSU is smaller). Added columns: ``pi_psu``, ``pi_within``,
    ``psu_units`` (M_i, the second-stage population size), ``inclusion_probability`` (product) and
    ``design_weight``. For variance, pass ``weight="design_weight", strata=strata, psu=psu`` and no
    fpc: PPS first stages are analysed as with replacement (ultimate clusters), which is the
    standard conservative approximation; an fpc of "PSUs in the stratum" would be wrong for PPS.
    """
    _check_columns(frame, [psu], "psu")
    _check_columns(frame, [size], "size")
    _check_columns(frame, [strata], "strata")
    _check_n(m_per_psu, np.iinfo(np.int64).max, "each PSU")
    if m_per_psu == 0:
        raise CarepopError("m_per_psu must be at least 1.", code="bad_n")
    if frame[psu].isna().any():
        raise CarepopError(
            f"PSU column {psu!r} has missing values.",
            code="missing_psu",
            column=psu,
            rows=data_rows(frame[psu].isna().to_numpy()),
        )
    keys = [strata, psu] if strata else [psu]
    g = frame.groupby(keys, sort=True, dropna=False)
    psus = g.size().rename("psu_units").reset_index()
    if strata:
        dup = psus[psu].duplicated(keep=False)
        if dup.any():
            raise DesignError(
                f"PSU {psus.loc[dup, psu].iloc[0]!r} appears in more than one stratum.",
                code="psu_not_nested",
                column=psu,
                fix="PSU labels must be nested in strata",
            )
    if size is not None:
        xs = _size_values(frame, size)
        sz = pd.Series(xs, index=frame.index).groupby([frame[k] for k in keys], sort=True)
        varies = (sz.max() != sz.min()).to_numpy()
        if varies.any():
            raise CarepopError(
                f"Size column {size!r} varies within a PSU.",
                code="size_varies",
                column=size,
                fix="give the PSU measure of size, the same on every row of the PSU",
            )
        psus["_mos"] = sz.first().to_numpy()
    else:
        psus["_mos"] = psus["psu_units"].astype(float)
    s1 = select(psus, n_psu, "pps_systematic", size="_mos", strata=strata, seed=seed)
    s1 = s1.rename(columns={PI: "pi_psu"})[[*keys, "pi_psu", "psu_units"]]

    rng = np.random.default_rng(None if seed is None else [seed, 2])
    key_cols = frame[keys].reset_index(drop=True)
    hit = key_cols.merge(s1.assign(_row=1), on=keys, how="left", sort=False)
    rows = np.flatnonzero(hit["_row"].notna().to_numpy())
    codes = pd.factorize(frame[psu].iloc[rows])[0]
    order = np.lexsort((rng.random(rows.size), codes))
    starts = np.searchsorted(codes[order], codes[order])
    rank = np.empty(rows.size, dtype=np.int64)
    rank[order] = np.arange(rows.size) - starts
    keep = rows[rank < m_per_psu]
    units = frame.iloc[keep].copy()
    units["pi_psu"] = hit["pi_psu"].to_numpy()[keep]
    units["psu_units"] = hit["psu_units"].to_numpy()[keep]
    m_i = np.minimum(m_per_psu, units["psu_units"].to_numpy())
    units["pi_within"] = m_i / units["psu_units"].to_numpy()
    units[PI] = units["pi_psu"] * units["pi_within"]
    units[WEIGHT] = 1.0 / units[PI]
    units.attrs[DESIGN_ATTR] = {"strata": strata, "psu": psu, "fpc": None, "method": "two_stage"}
    return units


def to_survey(sample: pd.DataFrame, **kwargs: Any):
    """A :class:`carepop.Survey` on a sample from :func:`select` or :func:`select_two_stage`.

    Uses ``weight="design_weight"`` and the strata / psu / fpc recorded on the sample; ``kwargs``
    override them (e.g. ``lonely_psu="adjust"``). PPS designs get no fpc (with-replacement variance).
    """
    from carepop.core.survey import Survey

    info = dict(sample.attrs.get(DESIGN_ATTR, {}))
    args: dict[str, Any] = {"weight": WEIGHT}
    for k in ("strata", "psu", "fpc"):
        if info.get(k) is not None:
            args[k] = info[k]
    args.update(kwargs)
    data = sample.drop(columns=[DESIGN_ATTR], errors="ignore")
    return Survey(data, **args)

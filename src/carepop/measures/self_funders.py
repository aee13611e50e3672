"""Self-funders: people who pay for their own care, in care homes and in the community.

**In care homes** (:func:`self_funders_in_care_homes`), after ONS's experimental method ("Care homes
and estimating the self-funding population, England": CQC provider returns linked to the care
directory and weighted to annual totals of beds). A survey of care homes gives, for each
responding home ``h``, its beds ``b_h``, residents ``r_h`` and self-funding residents ``s_h`` (and
optionally the mean weekly fee its self-funders pay, ``f_h``). Homes are weighted so that, within
each weighting cell ``c`` (council × nursing/residential by default), the responding homes' beds add
up to the directory's bed total ``B_c``: ``w_h = B_c / Σ_{j∈c} b_j`` (a separate ratio estimator
on beds). For any area ``D`` (council, region, England):

- self-funders ``Ŝ_D = Σ_{h∈D} w_h s_h``; residents ``R̂_D = Σ_{h∈D} w_h r_h``;
- share of residents who self-fund ``p̂_D = Ŝ_D / R̂_D``;
- mean weekly fee of self-funders ``F̂_D = Σ w_h s_h f_h / Σ w_h s_h`` (when fees are given).

People, shares and fees are separate metrics (a share of residents is not a share of fees).

*Variance (linearisation).* The responding homes are taken as a simple random sample of the
directory's ``N_c`` homes in each cell (stratified design with fpc). Writing ``G_c = B_c n_c /
(N_c Σ_{j∈c} b_j)``, the linearised variable of a total of ``y`` over ``D`` is
``z_h = G_c (y_h 1[h∈D] − q_c b_h)`` with ``q_c = Σ_{j∈c∩D} y_j / Σ_{j∈c} b_j`` (zero-sum within
each cell), and ``var = Σ_c N_c² (1 − n_c/N_c) s²_c(z) / n_c``. Shares and fees use
``y = (s − p̂ r) / R̂`` and ``y = (s f − F̂ s) / Ŝ``. All sums are taken per (cell, area) pair, so
cells need not nest in the areas. R: ``svyby(~s + r + b, ~cell, svydesign(ids = ~1, strata =
~cell, fpc = ~N), svytotal, covmat = TRUE)`` then ``svycontrast`` of the ratio of bed-weighted
sums (checked live in ``tests/measures/test_self_funders.py``). Intervals: ``θ̂ ± t_df SE`` with
``df`` = responding homes in the area − cells they fall in (Korn & Graubard's rule for small
domains; normal in effect for regions and England). A cell needs at least two
responding homes (or all of its homes): otherwise collapse cells.

*Bootstrap over homes* (``boot > 0``): the Rao–Wu–Yue rescaled bootstrap with the finite-population
correction — in each cell draw ``n_c − 1`` homes with replacement (counts ``m_h``) and use weights
``w_h (1 − λ_c + λ_c m_h n_c / (n_c − 1))``, ``λ_c = √(1 − n_c/N_c)`` (never negative); the bed
weighting is redone in each replicate. ``interval="bootstrap"``: ``θ̂ ± t_df × bootstrap SE``;
``interval="percentile"``: the replicates' percentiles (the ``*_boot_lower/upper`` columns either
way). In the simulation (``validation/supply_simulation.py``) the percentile intervals of council
shares covered only 88.8%, with a few homes per cell, and the bootstrap-SE t intervals 93.2%.

*Councils with few homes* (fewer than ``min_homes`` responding): the share is a Fay–Herriot model
estimate (:func:`carepop.sae.area_level.fay_herriot`, REML, on the share scale, covariates: the
region as a categorical variable — so the synthetic part is the regional share — plus any council
covariates given), fitted to the direct shares of every council with at least two homes; councils
with none get the synthetic prediction. The count for those rows is the model share times the
council's beds times the region's occupancy (``R̂_region / B_region``), by
:mod:`carepop.measures.propagate` (product, delta method, independent). Each row's ``method`` says
which (``direct`` or ``model``).

**In the community** (:func:`community_self_funders`): people receiving home care (an estimate
with its SE, e.g. from a survey or provider returns) minus those the council funds (client-level
data, a count treated as known unless an SE is given) = community self-funders, with the interval
of the difference (:mod:`carepop.measures.propagate`); the share ``1 − funded / users`` by the
delta method. A lower bound below zero is shown as 0 (``self_funders_lower_clipped``): the data are
then consistent with no self-funders, which is not a count of fewer than none. A last row gives
the total over the areas (``england`` when they are the 153 councils), adding the areas'
variances (their estimates taken as independent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from carepop.core.estimation.ci import critical
from carepop.core.results import TableResult
from carepop.errors import CarepopError, data_rows, opt
from carepop.measures.propagate import propagate, source
from carepop.sae.areas import need_columns

CELLS = ("council_code", "home_type")
ENGLAND = "E92000001"


@dataclass(frozen=True)
class CareHomeSelfFunders(TableResult):
    """Self-funders in care homes by council, region and England (module docstring).

    Columns: ``area_level, area_code, method, homes_responding, homes, beds, residents (+ _se),
    self_funder_share (+ _se, _lower, _upper), self_funders (+ _se, _lower, _upper)`` and, with
    fees, ``weekly_fee (+ _se, _lower, _upper)``; with the bootstrap, ``*_boot_se``."""

    table: pd.DataFrame
    cells: tuple[str, ...]
    interval: str
    level: float
    notes: tuple[str, ...] = field(default_factory=tuple)


def self_funders_in_care_homes(
    homes: pd.DataFrame,
    directory: pd.DataFrame,
    *,
    cells: Sequence[str] = CELLS,
    council: str = "council_code",
    beds: str = "beds",
    residents: str = "residents",
    self_funders: str = "self_funders",
    share: str | None = None,
    fee: str | None = None,
    directory_homes: str | None = None,
    min_homes: int = 5,
    covariates: Sequence[str] = (),
    councils: pd.DataFrame | None = None,
    boot: int = 0,
    seed: int | None = None,
    interval: str = "linear",
    level: float = 0.95,
) -> CareHomeSelfFunders:
    """Self-funders in care homes, weighted to the directory's beds (module docstring).

    Parameters
    ----------
    homes : one row per responding care home: the ``cells`` columns, ``council``, ``beds``,
        ``residents`` and ``self_funders`` (a count) — or ``share`` (the share of residents who
        self-fund, in [0, 1]) instead — and optionally ``fee`` (self-funders' mean weekly fee).
    directory : the care directory: one row per home with the ``cells`` columns and ``beds``, or
        one row per cell with its bed total in ``beds`` and its number of homes in ``directory_homes``.
    cells : the weighting cells (default council × home type).
    min_homes : councils with fewer responding homes get the model estimate.
    covariates : council-table columns for the model (beyond the region).
    councils : the council table (default: carepop's, 153 councils with their regions).
    boot, seed : the bootstrap over homes (0: none).
    interval : ``linear`` (t on the linearised SE), ``bootstrap`` (t on the bootstrap SE) or
        ``percentile`` (bootstrap percentiles); the last two need ``boot``.
    """
    from carepop.sources.tables import load_table

    cells = tuple(cells)
    if interval not in ("linear", "bootstrap", "percentile") or (interval != "linear" and boot < 2):
        raise CarepopError(
            f"interval={interval!r} with boot={boot}: use 'linear', or a bootstrap one with boot >= 2.",
            code="bad_option",
            got=interval,
            fix=("set ", opt("interval", "linear"), " or give ", opt("boot", metavar="B")),
        )
    if int(min_homes) < 2:
        raise CarepopError(
            "min_homes must be at least 2 (a direct share needs a variance).",
            code="bad_option",
            got=min_homes,
            fix=("set ", opt("min_homes", 5)),
        )
    table = load_table("council", None) if councils is None else councils
    region_of = table.set_index(table["council_code"].astype(str))["region_code"].astype(str)
    data = _home_frame(homes, cells, council, beds, residents, self_funders, share, fee)
    cell, n_c, N_c, B_c, cell_keys = _cells(data, directory, cells, beds, directory_homes)
    codes = data[council].astype(str)
    unknown = ~codes.isin(region_of.index).to_numpy()
    if unknown.any():
        raise CarepopError(
            f"Some homes have a council code that is not in the council table ({codes[unknown].iloc[0]!r}).",
            code="unknown_category",
            column=council,
            rows=data_rows(unknown),
            got=codes[unknown].iloc[0],
            fix="use 2023 council codes (E06/E08/E09/E10), or give the matching council table",
        )
    b = data[beds].to_numpy(dtype=float)
    s = data["_s"].to_numpy(dtype=float)
    r = data[residents].to_numpy(dtype=float)
    X = np.column_stack([s, r] + ([s * data[fee].to_numpy(dtype=float)] if fee else []))
    est = _Estimator(cell, n_c, N_c, B_c, b, X)
    council_codes = table["council_code"].astype(str).to_numpy()
    if council in directory.columns:  # the councils the directory covers
        council_codes = council_codes[np.isin(council_codes, directory[council].astype(str).unique())]
    regions = np.unique(region_of.reindex(council_codes).to_numpy())
    levels = [
        ("council", pd.Categorical(codes, categories=council_codes).codes, council_codes),
        ("region", pd.Categorical(codes.map(region_of), categories=regions).codes, regions),
        ("england", np.zeros(len(codes), dtype=np.int64), np.array([ENGLAND])),
    ]
    outside = levels[0][1] < 0
    if outside.any():
        raise CarepopError(
            "Some homes are in a council the directory does not list.",
            code="unknown_category",
            column=council,
            rows=data_rows(outside),
            got=codes[outside].iloc[0],
            fix="check the council codes in both files, or the directory's vintage",
        )
    dir_beds = _directory_area_sums(directory, council, beds, region_of, None)
    dir_homes = _directory_area_sums(directory, council, beds, region_of, directory_homes or "")
    parts = []
    reps = est.replicate_weights(boot, seed) if boot else None
    for name, dom, labels in levels:
        part = est.domain_table(dom, len(labels), fee is not None, reps, level)
        part.insert(0, "area_code", labels)
        part.insert(0, "area_level", name)
        part.insert(2, "homes", dir_homes[name].reindex(labels).fillna(0).to_numpy())
        part.insert(3, "beds", dir_beds[name].reindex(labels).fillna(0).to_numpy())
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    metrics = ("self_funder_share", "self_funders") + (("weekly_fee",) if fee else ())
    if interval == "percentile":
        for m in metrics:
            out[f"{m}_lower"], out[f"{m}_upper"] = out[f"{m}_boot_lower"], out[f"{m}_boot_upper"]
    elif interval == "bootstrap":
        q = critical(level, out["df"].to_numpy(dtype=float))
        for m in metrics:
            out[f"{m}_lower"] = out[m] - q * out[f"{m}_boot_se"]
            out[f"{m}_upper"] = out[m] + q * out[f"{m}_boot_se"]
    out["method"] = np.where(out["area_level"] == "council", "direct", "direct (all homes in the area)")
    out = _model_rows(out, table, region_of, min_homes, tuple(covariates), level)
    out["self_funder_share_lower"] = out["self_funder_share_lower"].clip(lower=0.0)
    out["self_funder_share_upper"] = out["self_funder_share_upper"].clip(upper=1.0)
    for m in ("self_funders", "residents"):
        if f"{m}_lower" in out:
            out[f"{m}_lower"] = out[f"{m}_lower"].clip(lower=0.0)
    notes = (
        f"weights: directory beds / responding homes' beds in each cell of {' x '.join(cells)} "
        "(ONS's method); the directory's bed and home totals are treated as known",
        "variance: linearisation of the bed-weighted ratio estimator, responding homes taken as a "
        "simple random sample of the directory's homes in each cell (with fpc)",
        f"interval: {interval}"
        + (f" (Rao–Wu–Yue rescaled bootstrap, {boot} replicates, seed {seed})" if boot else ""),
        f"councils with fewer than {min_homes} responding homes: Fay–Herriot model (region effects"
        + (f", {', '.join(covariates)}" if covariates else "")
        + "); their counts: model share × beds × regional occupancy (delta method)",
    )
    cols = ["area_level", "area_code", "method"] + [
        c for c in out.columns if c not in ("area_level", "area_code", "method")
    ]
    return CareHomeSelfFunders(table=out[cols], cells=cells, interval=interval, level=level, notes=notes)


# ------------------------------------------------------------------------------ estimation
class _Estimator:
    """Bed-weighted totals, shares and fees by area, with linearised and bootstrap variances."""

    def __init__(self, cell, n_c, N_c, B_c, b, X):
        self.cell, self.n_c, self.N_c, self.B_c, self.b, self.X = cell, n_c, N_c, B_c, b, X
        C = len(n_c)
        self.bhat = np.bincount(cell, weights=b, minlength=C)
        self.b2 = np.bincount(cell, weights=b * b, minlength=C)
        self.w = (B_c / self.bhat)[cell]  # the homes' weights
        self.G = B_c * n_c / (N_c * self.bhat)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.factor = np.where(n_c > 1, N_c**2 * (1 - n_c / N_c) / (n_c * (n_c - 1)), 0.0)

    def totals(self, dom, D, w=None):
        """Σ w x by area: (D, K) or (D, K, B) for replicate weights (n, B)."""
        if w is None:
            w = self.w
        M = sparse.csr_matrix((np.ones(len(dom)), (dom, np.arange(len(dom)))), shape=(D, len(dom)))
        if w.ndim == 1:
            return M @ (self.X * w[:, None])
        return np.stack([M @ (self.X[:, k, None] * w) for k in range(self.X.shape[1])], axis=1)

    def variance(self, dom, D, A):
        """Linearised variance of Σ_D w y with y = X A_D (A: (D, K) coefficients per area)."""
        K = self.X.shape[1]
        pair, pc, pd_ = _pairs(self.cell, dom)
        P = len(pc)
        Xb = self.X * self.b[:, None]
        S1 = np.stack([np.bincount(pair, weights=self.X[:, k], minlength=P) for k in range(K)], axis=1)
        Sb = np.stack([np.bincount(pair, weights=Xb[:, k], minlength=P) for k in range(K)], axis=1)
        S2 = np.stack(
            [
                np.bincount(pair, weights=self.X[:, i] * self.X[:, j], minlength=P)
                for i in range(K)
                for j in range(K)
            ],
            axis=1,
        ).reshape(P, K, K)
        a = A[pd_]  # (P, K)
        sy = np.einsum("pk,pk->p", a, S1)
        syb = np.einsum("pk,pk->p", a, Sb)
        syy = np.einsum("pi,pij,pj->p", a, S2, a)
        q = sy / self.bhat[pc]
        zz = self.G[pc] ** 2 * (syy - 2 * q * syb + q**2 * self.b2[pc])
        return np.bincount(pd_, weights=self.factor[pc] * np.maximum(zz, 0.0), minlength=D)

    def replicate_weights(self, boot, seed):
        """Rao–Wu–Yue rescaled bootstrap weights with fpc, ``(n, boot)``."""
        rng = np.random.default_rng(seed)
        n = len(self.cell)
        order = np.argsort(self.cell, kind="stable")
        n_c = self.n_c.astype(np.int64)
        start = np.concatenate([[0], np.cumsum(n_c)[:-1]])
        draws_per = np.maximum(n_c - 1, 0)
        dc = np.repeat(np.arange(len(self.n_c)), draws_per)
        m = np.zeros((n, boot))
        for i in range(boot):  # a loop over replicates; each is one vectorised draw
            pos = start[dc] + np.floor(rng.random(len(dc)) * n_c[dc]).astype(np.int64)
            m[:, i] = np.bincount(order[pos], minlength=n)
        nc = self.n_c[self.cell]
        lam = np.sqrt(np.clip(1 - self.n_c / self.N_c, 0, 1))[self.cell]
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(
                (nc > 1)[:, None], 1 - lam[:, None] + lam[:, None] * m * (nc / (nc - 1))[:, None], 1.0
            )
        d = (self.N_c / self.n_c)[self.cell]
        wd = d[:, None] * scale  # replicate design weights
        bstar = np.stack(
            [np.bincount(self.cell, weights=self.b * wd[:, i], minlength=len(self.n_c)) for i in range(boot)],
            axis=1,
        )
        return wd * (self.B_c[:, None] / bstar)[self.cell]  # bed weighting redone in each replicate

    def domain_table(self, dom, D, fees, reps, level):
        T = self.totals(dom, D)  # (D, K)
        S, R = T[:, 0], T[:, 1]
        n_resp = np.bincount(dom, minlength=D)
        # degrees of freedom: responding homes in the area minus the cells they are in
        _, _, pair_dom = _pairs(self.cell, dom)
        df = np.maximum(n_resp - np.bincount(pair_dom, minlength=D), 1)
        z = critical(level, df.astype(float))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = S / R
            vS = self.variance(dom, D, np.tile(_e(0, self.X.shape[1]), (D, 1)))
            vR = self.variance(dom, D, np.tile(_e(1, self.X.shape[1]), (D, 1)))
            Ap = np.zeros((D, self.X.shape[1]))
            Ap[:, 0], Ap[:, 1] = 1 / R, -p / R
            vp = self.variance(dom, D, np.nan_to_num(Ap))
        out = pd.DataFrame({"homes_responding": n_resp, "df": df.astype(float)})
        out["residents"], out["residents_se"] = R, np.sqrt(vR)
        _cols(out, "self_funder_share", np.where(n_resp > 0, p, np.nan), np.sqrt(vp), z)
        _cols(out, "self_funders", S, np.sqrt(vS), z)
        metrics = [("self_funder_share", lambda t: t[:, 0] / t[:, 1]), ("self_funders", lambda t: t[:, 0])]
        if fees:
            with np.errstate(divide="ignore", invalid="ignore"):
                F = T[:, 2] / S
                Af = np.zeros((D, self.X.shape[1]))
                Af[:, 2], Af[:, 0] = 1 / S, -F / S
                vf = self.variance(dom, D, np.nan_to_num(Af))
            _cols(out, "weekly_fee", F, np.sqrt(vf), z)
            metrics.append(("weekly_fee", lambda t: t[:, 2] / t[:, 0]))
        if reps is not None:
            Tb = self.totals(dom, D, reps)  # (D, K, B)
            a = (1 - level) / 2
            with np.errstate(divide="ignore", invalid="ignore"):
                for name, f in metrics:
                    vals = f(Tb)
                    out[f"{name}_boot_se"] = np.nanstd(vals, axis=1, ddof=1)
                    lo, hi = np.nanquantile(vals, [a, 1 - a], axis=1) if vals.size else (np.nan, np.nan)
                    out[f"{name}_boot_lower"], out[f"{name}_boot_upper"] = lo, hi
        return out


def _e(k: int, K: int) -> np.ndarray:
    v = np.zeros(K)
    v[k] = 1.0
    return v


def _cols(out: pd.DataFrame, name: str, est, se, z) -> None:
    out[name], out[f"{name}_se"] = est, se
    out[f"{name}_lower"], out[f"{name}_upper"] = est - z * se, est + z * se


def _pairs(cell: np.ndarray, dom: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each home's (cell, area) pair index, and each pair's cell and area."""
    key = cell.astype(np.int64) * (int(dom.max()) + 1 if len(dom) else 1) + dom
    uniq, pair = np.unique(key, return_inverse=True)
    base = int(dom.max()) + 1 if len(dom) else 1
    return pair, uniq // base, uniq % base


# ------------------------------------------------------------------------------ inputs
def _home_frame(homes, cells, council, beds, residents, self_funders, share, fee) -> pd.DataFrame:
    need = [*cells, council, beds, residents, share or self_funders] + ([fee] if fee else [])
    need_columns(homes, list(dict.fromkeys(need)), "The survey of homes")
    data = homes[list(dict.fromkeys(need))].copy()
    for col in [beds, residents, share or self_funders] + ([fee] if fee else []):
        x = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x)
        if bad.any():
            raise CarepopError(
                f"{col!r} must be a number for every responding home.",
                code="missing_value",
                column=col,
                rows=data_rows(bad),
                got=homes[col].to_numpy()[bad][0],
                fix="fill it in, or drop the homes that did not answer (non-respondents)",
            )
        data[col] = x
    for col, bad, what, fix in (
        (
            beds,
            data[beds] <= 0,
            "Homes need more than 0 beds.",
            "check the beds (a closed home is not in the directory)",
        ),
        (residents, data[residents] < 0, "Residents cannot be negative.", "check the counts"),
        (
            residents,
            data[residents] > data[beds],
            "A home has more residents than beds.",
            "check beds and residents",
        ),
    ):
        if bad.any():
            raise CarepopError(
                what,
                code="out_of_range",
                column=col,
                rows=data_rows(bad.to_numpy()),
                got=float(data.loc[bad, col].iloc[0]),
                fix=fix,
            )
    if share:
        x = data[share]
        bad = ((x < 0) | (x > 1)).to_numpy()
        if bad.any():
            raise CarepopError(
                "Shares of self-funding residents must be between 0 and 1.",
                code="out_of_range",
                column=share,
                rows=data_rows(bad),
                got=float(x[bad].iloc[0]),
                fix="give shares (0.37), not percentages (37)",
            )
        data["_s"] = x * data[residents]
    else:
        x = data[self_funders]
        for bad, what in (
            (x < 0, "Self-funder counts cannot be negative."),
            (x > data[residents], "A home has more self-funders than residents."),
        ):
            if bad.any():
                raise CarepopError(
                    what,
                    code="out_of_range",
                    column=self_funders,
                    rows=data_rows(bad.to_numpy()),
                    got=float(x[bad].iloc[0]),
                    fix="check the counts",
                )
        data["_s"] = x
    if fee:
        bad = (data[fee] < 0).to_numpy()
        if bad.any():
            raise CarepopError(
                "Weekly fees cannot be negative.",
                code="out_of_range",
                column=fee,
                rows=data_rows(bad),
                got=float(data[fee][bad].iloc[0]),
                fix="check the fees",
            )
    return data


def _cells(data, directory, cells, beds, directory_homes):
    """Each home's cell index; per cell: responding homes, directory homes and directory beds."""
    need = [*cells, beds] + ([directory_homes] if directory_homes else [])
    need_columns(directory, need, "The directory")
    db = pd.to_numeric(directory[beds], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(db) | (db <= 0)
    if bad.any():
        raise CarepopError(
            "The directory's homes (or cells) need more than 0 beds.",
            code="out_of_range",
            column=beds,
            rows=data_rows(bad),
            got=directory[beds].to_numpy()[bad][0],
            fix="drop closed homes from the directory, or correct their beds",
        )
    keys = [directory[c].astype(str) for c in cells]
    g = pd.DataFrame({"beds": db}).groupby(keys)
    B = g["beds"].sum()
    N = g.size() if directory_homes is None else directory.groupby(keys)[directory_homes].sum().astype(float)
    B, N = _multi(B), _multi(N)
    key = pd.MultiIndex.from_arrays([data[c].astype(str) for c in cells], names=B.index.names)
    known = key.isin(B.index)
    if not known.all():
        raise CarepopError(
            "Some responding homes are in a cell the directory does not have.",
            code="unknown_cell",
            column=", ".join(cells),
            rows=data_rows(~known),
            got=" / ".join(key[~known][0]),
            fix="check the cell codes in both files (same spelling), or the directory's vintage",
        )
    idx = pd.Series(np.arange(len(B)), index=B.index)
    cell = idx.reindex(key).to_numpy()
    n = np.bincount(cell, minlength=len(B)).astype(float)
    Nv = N.reindex(B.index).to_numpy(dtype=float)
    for bad, what in (
        (n == 0, "have no responding home, so their beds cannot be represented"),
        ((n == 1) & (Nv > 1), "have a single responding home, so their variance cannot be estimated"),
        (n > Nv, "have more responding homes than the directory lists"),
    ):
        if bad.any():
            shown = [" / ".join(k) for k in B.index[bad][:5]]
            more = f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else ""
            raise CarepopError(
                f"{int(bad.sum())} cell(s) of the directory {what} ({'; '.join(shown)}{more}).",
                code="empty_cell" if what.startswith("have no") else "thin_cell",
                column=", ".join(cells),
                got=shown[0],
                fix=(
                    "collapse cells: give coarser ",
                    opt("cells"),
                    " (e.g. the council without the home type, or the region with it)",
                ),
            )
    return cell, n, Nv, B.to_numpy(dtype=float), B.index


def _multi(x: pd.Series) -> pd.Series:
    """The same Series with a MultiIndex (grouping by one column gives a plain Index)."""
    if not isinstance(x.index, pd.MultiIndex):
        x = x.copy()
        x.index = pd.MultiIndex.from_arrays([x.index])
    return x


def _directory_area_sums(directory, council, beds, region_of, homes) -> dict[str, pd.Series]:
    """The directory's beds (``homes`` None) or homes (``""``: one row per home; else a count
    column) by council, region and England; councils only where the directory has them."""
    if homes is None:
        v = pd.to_numeric(directory[beds], errors="coerce")
    else:
        v = pd.Series(1.0, index=directory.index) if homes == "" else pd.to_numeric(directory[homes])
    if council in directory.columns:
        by_c = v.groupby(directory[council].astype(str)).sum()
        by_r = by_c.groupby(by_c.index.map(region_of)).sum()
    else:
        by_c = pd.Series(dtype=float)
        by_r = v.groupby(directory["region_code"].astype(str)).sum() if "region_code" in directory else by_c
    return {"council": by_c, "region": by_r, "england": pd.Series({ENGLAND: float(v.sum())})}


def _model_rows(out, table, region_of, min_homes, covariates, level) -> pd.DataFrame:
    """Fay–Herriot shares for councils with fewer than ``min_homes`` responding homes."""
    from carepop.sae.area_level import fay_herriot

    c = out["area_level"] == "council"
    small = c & (out["homes_responding"] < min_homes)
    if not small.any():
        return out
    fit_rows = out[c & (out["homes_responding"] >= 2) & (out["self_funder_share_se"] > 0)]
    direct = pd.DataFrame(
        {
            "council_code": fit_rows["area_code"].to_numpy(),
            "estimate": fit_rows["self_funder_share"].to_numpy(),
            "se": fit_rows["self_funder_share_se"].to_numpy(),
        }
    )
    areas = table.assign(council_code=table["council_code"].astype(str))
    areas = areas[areas["council_code"].isin(out.loc[c, "area_code"])]
    model = fay_herriot(
        direct,
        areas,
        area="council_code",
        covariates=list(covariates),
        categorical=["region_code"],
        se="se",
        level=level,
    ).to_pandas()
    m = model.set_index(model["council_code"].astype(str))
    out = out.copy()
    codes = out.loc[small, "area_code"]
    share = m["estimate"].reindex(codes).to_numpy()
    share_se = m["rmse"].reindex(codes).to_numpy()
    out.loc[small, "self_funder_share"] = share
    out.loc[small, "self_funder_share_se"] = share_se
    out.loc[small, "self_funder_share_lower"] = m["ci_lower"].reindex(codes).to_numpy()
    out.loc[small, "self_funder_share_upper"] = m["ci_upper"].reindex(codes).to_numpy()
    # residents: council beds x the region's occupancy (its SE scaled); count = share x residents
    reg = out[out["area_level"] == "region"].set_index("area_code")
    occ = (reg["residents"] / reg["beds"]).reindex(codes.map(region_of)).to_numpy()
    occ_se = (reg["residents_se"] / reg["beds"]).reindex(codes.map(region_of)).to_numpy()
    beds = out.loc[small, "beds"].to_numpy(dtype=float)
    res = propagate(
        "product",
        [
            source("model share", share, share_se),
            source("regional occupancy", occ, occ_se),
            source("beds", beds),
        ],
        level=level,
    )
    out.loc[small, "residents"] = beds * occ
    out.loc[small, "residents_se"] = beds * occ_se
    for col, v in (("", res.estimate), ("_se", res.se), ("_lower", res.lower), ("_upper", res.upper)):
        out.loc[small, f"self_funders{col}"] = v
    for col in [
        k for k in out.columns if k.startswith(("weekly_fee", "self_funder_share_boot", "self_funders_boot"))
    ]:
        out.loc[small, col] = np.nan  # no direct fee or bootstrap for model rows
    out.loc[small, "df"] = np.nan  # the model interval is not a t interval
    out.loc[small, "method"] = "model (Fay–Herriot, region effects" + (
        f", {', '.join(covariates)})" if covariates else ")"
    )
    return out


# ------------------------------------------------------------------------------ community
@dataclass(frozen=True)
class CommunitySelfFunders(TableResult):
    """Community self-funders = home-care users − council-funded, by council (module docstring)."""

    table: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


def community_self_funders(
    users: pd.DataFrame,
    cld: pd.DataFrame,
    *,
    area: str = "council_code",
    estimate: str = "home_care_users",
    se: str = "home_care_users_se",
    funded: str = "home_care_council_funded",
    funded_se: str | None = None,
    df: str | None = None,
    method: str = "delta",
    boot: int = 2000,
    seed: int | None = None,
    level: float = 0.95,
) -> CommunitySelfFunders:
    """People receiving home care minus those the council funds, with the share self-funding.

    Parameters
    ----------
    users : people receiving home care by area: ``area``, ``estimate`` and its ``se``.
    cld : client-level-data signals by area (e.g. ``carepop.sources.cld.signals``): ``area`` and
        ``funded`` (people with council-funded home care; a count, treated as known unless
        ``funded_se`` names its SE). Other columns (``requests_self_funded``: requests closed as
        "NFA: self-funded") are carried beside the estimate, never combined with it.
    method : ``delta`` or ``bootstrap`` (parametric, normal) for the difference.
    df : a column of ``users`` with the degrees of freedom of its estimate (t intervals for the
        difference; e.g. responding providers − 1); None: normal intervals.
    """
    for t, what, cols in (
        (users, "users", [area, estimate, se] + ([df] if df else [])),
        (cld, "CLD signals", [area, funded] + ([funded_se] if funded_se else [])),
    ):
        need_columns(t, cols, f"The {what} table")
    u = users.assign(_k=users[area].astype(str)).set_index("_k")
    c = cld.assign(_k=cld[area].astype(str)).set_index("_k")
    dup = c.index.duplicated()
    if dup.any():
        raise CarepopError(
            "The CLD signals have more than one row for an area.",
            code="duplicate_area",
            column=area,
            rows=data_rows(dup),
            got=c.index[dup][0],
            fix="give one row per council",
        )
    missing = ~u.index.isin(c.index)
    if missing.any():
        raise CarepopError(
            f"No council-funded count for {int(missing.sum())} area(s) ({', '.join(u.index[missing][:5])}).",
            code="missing_known",
            column=funded,
            rows=data_rows(missing),
            fix="give a CLD count for every area (0 where none is funded)",
        )
    c = c.reindex(u.index)
    for t, col in ((u, estimate), (u, se), (c, funded)) + (((c, funded_se),) if funded_se else ()):
        x = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x) | (x < 0)
        if bad.any():
            raise CarepopError(
                f"{col!r} must be a number, 0 or more, in every row.",
                code="negative_count",
                column=col,
                rows=data_rows(bad),
                got=t[col].to_numpy()[bad][0],
                fix="check the counts and SEs",
            )
    a = source("home-care users", u[estimate].to_numpy(dtype=float), u[se].to_numpy(dtype=float), level=level)
    k = source(
        "council-funded (CLD)",
        c[funded].to_numpy(dtype=float),
        c[funded_se].to_numpy(dtype=float) if funded_se else None,
    )
    dfs = u[df].to_numpy(dtype=float) if df else None
    diff = propagate("difference", [a, k], method=method, boot=boot, seed=seed, level=level, df=dfs)
    ratio = propagate("ratio", [k, a], level=level, df=dfs)  # share funded: 1 - it is the share self-funding
    out = _community_rows(u.index.to_numpy(), a, k, diff, ratio)
    # the total over the areas: users' variances add (areas' estimates independent), funded known
    a_t = source(a.name, a.estimate.sum(), np.sqrt(np.sum(a.se**2)), level=level)
    k_t = source(k.name, k.estimate.sum(), np.sqrt(np.sum(k.se**2)))
    diff_t = propagate("difference", [a_t, k_t], method=method, boot=boot, seed=seed, level=level)
    ratio_t = propagate("ratio", [k_t, a_t], level=level)
    is_england = len(u.index) == 153 and u.index.str.match(r"E0[6-9]|E10").all()
    total = _community_rows(np.array([ENGLAND if is_england else "total"]), a_t, k_t, diff_t, ratio_t)
    out.insert(0, "area_level", "council" if is_england else "area")
    total.insert(0, "area_level", "england" if is_england else "total")
    extra = [col for col in c.columns if col not in (area, funded, funded_se)]
    for col in extra:
        out[f"cld_{col}"] = c[col].to_numpy()
        total[f"cld_{col}"] = pd.to_numeric(c[col], errors="coerce").sum()
    out = pd.concat([out, total], ignore_index=True)
    out["treated_as_known"] = ", ".join(diff.known) or "none"
    notes = (
        diff.description,
        "an estimate or interval reaching below 0 self-funders is shown from 0 (self_funders_clipped, "
        "self_funders_lower_clipped)",
        "the share self-funding is 1 − funded / users (delta method); CLD columns are beside, not combined",
        "the total row adds the areas' variances (their estimates taken as independent)",
        *diff.notes,
    )
    return CommunitySelfFunders(table=out, notes=notes)


def _community_rows(codes, a, k, diff, ratio) -> pd.DataFrame:
    out = pd.DataFrame({"area_code": codes})
    out["home_care_users"], out["home_care_users_se"] = a.estimate, a.se
    out["council_funded"] = k.estimate
    # a difference below 0 (more funded than the users estimated) is shown as 0, flagged: the data
    # are then consistent with no self-funders, which is not a count of fewer than none
    out["self_funders"] = np.maximum(diff.estimate, 0.0)
    out["self_funders_clipped"] = diff.estimate < 0
    out["self_funders_se"] = diff.se
    out["self_funders_lower"] = np.maximum(diff.lower, 0.0)
    out["self_funders_upper"] = np.maximum(diff.upper, 0.0)
    out["self_funders_lower_clipped"] = diff.lower < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["self_funder_share"] = np.clip(1 - ratio.estimate, 0, 1)
    out["self_funder_share_se"] = ratio.se
    out["self_funder_share_lower"] = np.clip(1 - ratio.upper, 0, 1)
    out["self_funder_share_upper"] = np.clip(1 - ratio.lower, 0, 1)
    return out

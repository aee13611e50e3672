"""The :class:`Survey`: survey data with its design, and design-based estimates.

A Survey is immutable: it keeps its own copy of the data and never changes the caller's frame.
Estimates are computed by the small modules in :mod:`carepop.core.estimation`; this class checks
input, codes the design once (:mod:`carepop.core.estimation.stages`) and assembles results.

Equivalent R::

    svydesign(ids = ~psu + ssu, strata = ~strata, fpc = ~fpc + fpc2, weights = ~weight, data = df)
    svrepdesign(data = df, weights = ~weight, repweights = "prefix", type = "JK1", ...)
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from carepop.core import checks as chk
from carepop.core.coding import code_design, replicate_design, weights_from_fpc
from carepop.core.estimation import ci as ci_mod
from carepop.core.estimation.calibration import Calibration, CalStep
from carepop.core.estimation.domains import Domains, factor_codes, make_domains, whole_sample
from carepop.core.estimation.linear import ratio_estimate
from carepop.core.estimation.quantile import SortedDomains
from carepop.core.estimation.replicate import ReplicateDesign, replicate_rank
from carepop.core.estimation.taylor import design_pairs
from carepop.core.results import Estimates
from carepop.core.vocabulary import PROPORTION_ONLY_CI, QUANTILE_CI, CIMethod, LonelyPSU, choose
from carepop.errors import DesignError, EstimationError, example_rows, opt

if TYPE_CHECKING:
    from carepop.core.design import Design


class Survey:
    """Survey data and its sampling design.

    Parameters
    ----------
    data : the responses, one row per sampled unit (pandas; polars/pyarrow frames are converted).
    weight : column of sampling weights (may be omitted when ``fpc`` is given: ``N_h / n_h``).
    strata : stratum column (optional).
    psu : first-stage cluster column (optional; each row is its own PSU when omitted).
    fpc : first-stage finite population correction: population size per stratum, or sampling
        fraction when every value is <= 1 (as R). Without it, sampling is taken as with
        replacement.
    ssu : second-stage unit column within PSUs (optional), with ``fpc2`` its fpc.
    lonely_psu : what to do with strata that have one PSU: ``fail`` (default), ``remove``,
        ``certainty``, ``adjust``, ``average`` (R ``options(survey.lonely.psu=)``).
    nest : PSU codes restart within strata (R ``nest=TRUE``).
    value_labels : ``{column: {code: label}}``; defaults to ``data.attrs["value_labels"]`` as set
        by :func:`carepop.read_data` for SPSS/Stata/SAS files.

    Use :meth:`Survey.replicate` for a design described by replicate weights.
    """

    def __init__(
        self,
        data: Any,
        weight: str | None = None,
        strata: str | None = None,
        psu: str | None = None,
        fpc: str | None = None,
        ssu: str | None = None,
        fpc2: str | None = None,
        lonely_psu: str = "fail",
        nest: bool = False,
        value_labels: dict[str, dict[Any, str]] | None = None,
        *,
        _replicate: ReplicateDesign | None = None,
    ) -> None:
        df = _as_pandas(data)
        self._data = df.copy(deep=True)
        labels = value_labels if value_labels is not None else df.attrs.get("value_labels", {})
        self.value_labels: dict[str, dict[Any, str]] = dict(labels or {})
        self.weight, self.strata, self.psu, self.fpc = weight, strata, psu, fpc
        self.ssu, self.fpc2, self.nest = ssu, fpc2, nest
        lonely_psu = choose(lonely_psu, LonelyPSU, "lonely_psu", "lonely-PSU policy")
        self.lonely_psu = lonely_psu
        chk.check_columns(self._data, [weight, strata, psu, fpc, ssu, fpc2], "design column")
        if len(self._data) == 0:
            raise DesignError("The data has no rows.", code="empty_data", fix="check the file or filter")
        self._rep = _replicate
        self._calibration: Calibration | None = None
        self._domain_cache: dict[tuple[str, ...], Domains] = {}
        self._pairs_cache: dict[tuple[str, ...], Any] = {}
        self._count_cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._level_cache: dict[str, tuple[np.ndarray, pd.Index]] = {}
        if _replicate is not None:
            self._w = chk.check_weights(self._data, weight)
            self._taylor = None
            return
        self._taylor = code_design(self._data, strata, psu, fpc, ssu, fpc2, nest, lonely_psu)
        self._w = chk.check_weights(self._data, weight) if weight else weights_from_fpc(self._taylor)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def replicate(
        cls,
        data: Any,
        repweights: str | Sequence[str],
        method: str,
        weight: str | None = None,
        rho: float | None = None,
        scale: float | None = None,
        rscales: Sequence[float] | float | None = None,
        mse: bool = False,
        combined_weights: bool = True,
        value_labels: dict[str, dict[Any, str]] | None = None,
    ) -> Survey:
        """A design given by replicate weights (R ``svrepdesign``).

        ``repweights`` is a list of columns or a prefix (every column whose name starts with it,
        in data order). ``method`` is one of jk1, jkn, brr, fay (needs ``rho``), bootstrap, sdr.
        ``scale``/``rscales`` override the method's multipliers; ``mse=True`` centres on the
        full-sample estimate. ``combined_weights=False`` means the replicate columns are
        adjustment factors to be multiplied by ``weight``.
        """
        df = _as_pandas(data)
        rep = replicate_design(df, repweights, method, weight, rho, scale, rscales, mse, combined_weights)
        return cls(df, weight=weight, value_labels=value_labels, _replicate=rep)

    @classmethod
    def from_design(
        cls, data: Any, design: Design, value_labels: dict[str, dict[Any, str]] | None = None
    ) -> Survey:
        """The Survey of ``data`` under ``design`` (a :class:`~carepop.core.design.Design`)."""
        if design.is_replicate:
            return cls.replicate(
                data,
                design.repweights,
                design.rep_type,
                weight=design.weight,
                rho=design.rho,
                scale=design.scale,
                rscales=design.rscales,
                mse=design.mse,
                combined_weights=design.combined_weights,
                value_labels=value_labels,
            )
        return cls(
            data,
            weight=design.weight,
            strata=design.strata,
            psu=design.psu,
            fpc=design.fpc,
            ssu=design.ssu,
            fpc2=design.fpc2,
            lonely_psu=design.lonely_psu,
            nest=design.nest,
            value_labels=value_labels,
        )

    def _derive(
        self,
        weights: np.ndarray,
        column: str,
        steps: tuple[CalStep, ...] = (),
        rep: ReplicateDesign | None = None,
    ) -> Survey:
        """A new Survey: same design, these weights (stored in ``column``), the calibration
        steps so far plus ``steps``, and (for replicate designs) the adjusted replicates."""
        new = copy.copy(self)
        data = self._data.copy(deep=False)
        data[column] = weights
        new._data = data
        new.weight = column
        new._w = np.asarray(weights, dtype=float)
        if steps:
            before = self._calibration.steps if self._calibration is not None else ()
            new._calibration = Calibration(before + tuple(steps))
        if rep is not None:
            new._rep = rep
        new._count_cache = {}
        return new

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> pd.DataFrame:
        """A copy of the survey data."""
        return self._data.copy()

    @property
    def weights(self) -> np.ndarray:
        """Sampling weights (a copy)."""
        return self._w.copy()

    @property
    def is_replicate(self) -> bool:
        return self._rep is not None

    @property
    def n_rows(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        if self._rep is not None:
            return (
                f"Survey({self.n_rows} rows, {self._rep.method.upper()} replicate design with "
                f"{self._rep.n_replicates} replicates)"
            )
        t = self._taylor
        parts = [
            f"{self.n_rows} rows",
            f"{t.n_strata} strata" if self.strata else "unstratified",
            f"{t.stage1.n_total_units} PSUs" if self.psu else "no clusters",
        ]
        if t.stage2 is not None:
            parts.append(f"{t.stage2.n_total_units} SSUs")
        parts.append("fpc" if self.fpc else "with replacement")
        return f"Survey({', '.join(parts)})"

    @cached_property
    def degf(self) -> float:
        """Design degrees of freedom (R ``degf``): #PSUs - #strata, or rank of replicates - 1."""
        return float(
            self._counts(whole_sample(self.n_rows), np.zeros(self.n_rows, dtype=np.int64), False)[1][0]
        )

    # ------------------------------------------------------------------ estimators
    def total(
        self,
        variable: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        *,
        ci: str | None = None,
        level: float = 0.95,
        deff: bool = False,
        na_rm: bool = False,
    ) -> Estimates:
        """Estimated population total (R ``svytotal`` / ``svyby(..., svytotal)``)."""
        return self._linear("total", variable, None, by, ci, level, deff, na_rm)

    def mean(
        self,
        variable: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        *,
        ci: str | None = None,
        level: float = 0.95,
        deff: bool = False,
        na_rm: bool = False,
    ) -> Estimates:
        """Estimated population mean (R ``svymean``)."""
        return self._linear("mean", variable, None, by, ci, level, deff, na_rm)

    def ratio(
        self,
        numerator: str,
        denominator: str,
        by: str | Sequence[str] | None = None,
        *,
        ci: str | None = None,
        level: float = 0.95,
        deff: bool = False,
        na_rm: bool = False,
    ) -> Estimates:
        """Ratio of two population totals (R ``svyratio``)."""
        return self._linear("ratio", numerator, denominator, by, ci, level, deff, na_rm)

    def proportion(
        self,
        variable: str,
        by: str | Sequence[str] | None = None,
        *,
        ci: str | None = None,
        level: float = 0.95,
        deff: bool = False,
        na_rm: bool = False,
    ) -> Estimates:
        """Proportion in each level of a categorical variable (R ``svymean(~factor(v))``;
        intervals as ``svyciprop``)."""
        return self._linear("proportion", variable, None, by, ci, level, deff, na_rm)

    def quantile(
        self,
        variable: str,
        p: float | Sequence[float] = 0.5,
        by: str | Sequence[str] | None = None,
        *,
        ci: str | None = None,
        level: float = 0.95,
        na_rm: bool = False,
    ) -> Estimates:
        """Quantile(s) with the Woodruff interval (R ``svyquantile``, default rules).

        ``ci`` may be ``None``/``"t"`` (R's default, t with the design df) or ``"wald"``
        (normal quantiles, R ``df=Inf``).
        """
        return self._quantile(variable, p, by, ci, level, na_rm)

    def median(self, variable: str, by: str | Sequence[str] | None = None, **kw: Any) -> Estimates:
        return self.quantile(variable, 0.5, by, **kw)

    # ------------------------------------------------------------------ internals
    def _domains(self, by: str | Sequence[str] | None) -> Domains:
        cols = _as_tuple(by)
        if not cols:
            return whole_sample(self.n_rows)
        chk.check_columns(self._data, cols, "domain column")
        if cols not in self._domain_cache:
            self._domain_cache[cols] = make_domains(self._data, cols)
        return self._domain_cache[cols]

    def _missing_mask(self, values: np.ndarray, name: str, na_rm: bool) -> np.ndarray:
        miss = np.isnan(values)
        if miss.any() and not na_rm:
            raise EstimationError(
                f"Column {name!r} has {int(miss.sum())} missing value(s).",
                code="missing_values",
                column=name,
                rows=example_rows(np.arange(1, self.n_rows + 1), miss),
                fix="pass na_rm=True (--na-rm) to estimate over the rows that answered "
                "(as R na.rm=TRUE: they are left out of the domain, not out of the design)",
            )
        return miss

    def _linear(self, kind, variable, denominator, by, ci, level, want_deff, na_rm) -> Estimates:
        dom = self._domains(by)
        ci = self._ci_method(ci, kind)
        variables = [variable] if isinstance(variable, str) else list(variable)
        chk.check_columns(self._data, variables + ([denominator] if denominator else []), "variable")
        pieces = []
        for var in variables:
            y = x = lv = None
            if kind == "proportion":
                lev_codes, uniques = self._levels(var)
                miss = lev_codes < 0
                if miss.any():
                    self._missing_mask(np.where(miss, np.nan, 0.0), var, na_rm)
                lv = (lev_codes, len(uniques))
                level_names = [self._label(var, v) for v in uniques]
            else:
                yv = chk.numeric_column(self._data, var, f"the variable of a {kind}")
                miss = self._missing_mask(yv, var, na_rm)
                if denominator is not None:
                    xv = chk.numeric_column(self._data, denominator, "the denominator of a ratio")
                    miss = miss | self._missing_mask(xv, denominator, na_rm)
                    x = np.where(miss, 0.0, xv) if miss.any() else xv
                y = np.where(miss, 0.0, yv) if miss.any() else yv
                level_names = [None]
            any_missing = bool(miss.any())
            code = np.where(miss, -1, dom.code) if any_missing else dom.code
            lin = ratio_estimate(
                self._w,
                code,
                dom.n,
                y,
                x,
                levels=lv,
                taylor=self._taylor,
                pairs=self._pairs(dom),
                rep=self._rep,
                calibration=self._calibration,
                total=(kind == "total"),
                want_deff=want_deff,
                want_logit=(ci == "logit"),
            )
            n, df = self._counts(dom, code, any_missing)
            vname = f"{var}/{denominator}" if kind == "ratio" else var
            pieces.append(self._assemble(kind, vname, level_names, dom, lin, n, df, ci, level))
        table = pd.concat(pieces, ignore_index=True)
        return self._result(table, dom, ci, level)

    def _levels(self, var: str | tuple[str, ...]) -> tuple[np.ndarray, pd.Index]:
        """Level codes of a categorical variable (R factor order), coded once. A tuple of
        columns is their cross-classification (levels are tuples of values)."""
        if var not in self._level_cache:
            if isinstance(var, tuple):
                chk.check_columns(self._data, var, "variable")
                dom = make_domains(self._data, var)
                levels = pd.Index(list(dom.levels.itertuples(index=False, name=None)), tupleize_cols=False)
                self._level_cache[var] = (dom.code, levels)
            else:
                chk.check_columns(self._data, [var], "variable")
                self._level_cache[var] = factor_codes(self._data[var])
        return self._level_cache[var]

    def _pairs(self, dom: Domains):
        """Taylor pair indexes for a set of domains, built once (None for replicate designs)."""
        if self._taylor is None:
            return None
        # a calibrated design needs every (group, domain) cell (calibration spreads each domain
        # over all units); the cache is shared with the uncalibrated survey it came from
        all_cells = self._calibration is not None
        key = (dom.columns, all_cells)
        if key not in self._pairs_cache:
            self._pairs_cache[key] = design_pairs(self._taylor, dom.code, dom.n, all_cells=all_cells)
        return self._pairs_cache[key]

    def _counts(self, dom: Domains, code: np.ndarray, any_missing: bool) -> tuple[np.ndarray, np.ndarray]:
        """Rows per domain and the domain's design df; cached when no row is left out."""
        if not any_missing and dom.columns in self._count_cache:
            return self._count_cache[dom.columns]
        n = np.bincount(code[code >= 0], minlength=dom.n)
        df = self._df_by_domain(code, dom)
        if not any_missing:
            self._count_cache[dom.columns] = (n, df)
        return n, df

    def _quantile(self, variable, p, by, ci, level, na_rm) -> Estimates:
        dom = self._domains(by)
        method = "t" if ci is None else choose(ci, CIMethod, "ci", "interval method")
        if method not in QUANTILE_CI:
            raise EstimationError(
                f"Interval {ci!r} is not available for quantiles.",
                code="bad_option",
                got=ci,
                expected=QUANTILE_CI,
                fix=(
                    "quantiles use the Woodruff interval: set ",
                    opt("ci", "t"),
                    " (the default) or ",
                    opt("ci", "wald"),
                ),
            )
        chk.check_columns(self._data, [variable], "variable")
        xv = chk.numeric_column(self._data, variable, "the variable of a quantile")
        miss = self._missing_mask(xv, variable, na_rm)
        any_missing = bool(miss.any())
        code = np.where(miss, -1, dom.code) if any_missing else dom.code
        x = np.where(miss, 0.0, xv) if any_missing else xv
        sd = SortedDomains(x, self._w, code, dom.n)
        n, df = self._counts(dom, code, any_missing)
        crit_df = df if method == "t" else np.full(dom.n, np.inf)
        c = ci_mod.critical(level, crit_df)
        pieces = []
        probs = [p] if np.isscalar(p) else list(p)
        for prob in probs:
            if not (0 <= prob <= 1):
                raise EstimationError(
                    f"Quantile probability {prob} is outside [0, 1].",
                    code="bad_option",
                    fix="give a probability such as 0.5 for the median",
                )
            q = sd.quantile(np.full(dom.n, float(prob)))
            ind = (x <= q[np.where(code >= 0, code, 0)]).astype(float)
            phat, pvar, _, _ = ratio_estimate(
                self._w,
                code,
                dom.n,
                ind,
                None,
                taylor=self._taylor,
                pairs=self._pairs(dom),
                rep=self._rep,
                calibration=self._calibration,
            )
            phat, pse = phat[:, 0], np.sqrt(pvar[:, 0])
            lo_p, hi_p = phat - c * pse, phat + c * pse
            lower = np.where(lo_p < 0, np.nan, sd.quantile(np.where(lo_p < 0, 0.0, lo_p)))
            upper = np.where(hi_p > 1, np.nan, sd.quantile(np.where(hi_p > 1, 1.0, hi_p)))
            se = (upper - lower) / (2 * c)
            frame = self._frame(
                "quantile",
                variable,
                [f"{prob:g}"],
                dom,
                q[:, None],
                se[:, None],
                lower[:, None],
                upper[:, None],
                df,
                np.full((dom.n, 1), np.nan),
                n,
            )
            pieces.append(frame)
        table = pd.concat(pieces, ignore_index=True)
        notes = ()
        if table[["ci_lower", "ci_upper"]].isna().to_numpy().any():
            notes = (
                "Some quantile intervals reach beyond the data (a bound of the Woodruff interval "
                "for p falls outside [0, 1]) and are shown as missing, as in R.",
            )
            warnings.warn(notes[0], stacklevel=3)
        return self._result(table, dom, f"woodruff-{method}", level, notes)

    def _ci_method(self, ci: str | None, kind: str) -> str:
        method = "wald" if ci is None else choose(ci, CIMethod, "ci", "interval method")
        if method in PROPORTION_ONLY_CI and kind != "proportion":
            raise EstimationError(
                f"The {method} interval is for proportions; a {kind} uses wald or t.",
                code="bad_option",
                got=method,
                expected=("wald", "t"),
                fix=("estimate a proportion of a categorical variable, or set ", opt("ci", "t")),
            )
        return method

    def _assemble(self, kind, vname, level_names, dom, lin, n, df, ci, level):
        est, deff = lin.est, lin.deff
        se = np.sqrt(np.maximum(lin.var, 0.0))  # a zero variance can come out as -1e-20
        # R's svyciprop(method="beta") uses nrow(design): the domain's rows, except that a
        # calibrated design keeps every row in a domain analysis (weights set to zero)
        rows = np.full_like(n, self.n_rows) if self._calibration is not None else n
        nrows = np.broadcast_to(rows[:, None], est.shape)
        se_logit = None if lin.logit_var is None else np.sqrt(np.maximum(lin.logit_var, 0.0))
        lo, hi = ci_mod.interval(ci, est, se, level, df[:, None], n_rows=nrows, se_logit=se_logit)
        if deff is None:
            deff = np.full(est.shape, np.nan)
        return self._frame(kind, vname, level_names, dom, est, se, lo, hi, df, deff, n)

    def _frame(self, kind, vname, level_names, dom, est, se, lo, hi, df, deff, n) -> pd.DataFrame:
        D, k = est.shape
        out = {
            "statistic": np.repeat(kind, D * k),
            "variable": np.repeat(vname, D * k),
            "level": np.tile(np.asarray(level_names, dtype=object), D),
        }
        for col in dom.columns:
            vals = [self._label(col, v) for v in dom.levels[col]]
            out[col] = np.repeat(np.asarray(vals, dtype=object), k)
        out["estimate"] = est.ravel()
        out["se"] = se.ravel()
        out["ci_lower"] = lo.ravel()
        out["ci_upper"] = hi.ravel()
        out["df"] = np.repeat(df, k).astype(float)
        out["deff"] = deff.ravel()
        out["n"] = np.repeat(n, k).astype(np.int64)
        frame = pd.DataFrame(out)
        # domains are ordered first, levels within a domain (as R svyby)
        return frame

    def _result(self, table, dom, ci, level, notes=()) -> Estimates:
        variance = "taylor" if self._rep is None else self._rep.method
        notes = list(notes)
        empty = table["n"] == 0
        if empty.any():
            where = table.loc[empty, list(dom.columns)].drop_duplicates().head(5).to_dict(orient="records")
            notes.append(
                f"{int(empty.sum())} estimate(s) are for domains with no rows with a value "
                f"(e.g. {where}); they are missing, not zero."
            )
            warnings.warn(notes[-1], stacklevel=4)
        return Estimates(table, dom.columns, ci, level, variance, tuple(notes))

    def _label(self, col: str, value: Any) -> Any:
        labels = self.value_labels.get(col)
        if labels:
            if value in labels:
                return labels[value]
            if isinstance(value, float) and value.is_integer() and int(value) in labels:
                return labels[int(value)]
        if isinstance(value, np.generic):
            return value.item()
        return value

    def _df_by_domain(self, code: np.ndarray, dom: Domains) -> np.ndarray:
        """Degrees of freedom of each domain's design (R ``degf`` of the subset design):
        PSUs with rows in the domain minus strata with rows in the domain, or, for replicate
        designs, the rank of the domain's replicate weights minus one."""
        D = dom.n
        inside = (code >= 0) & (self._w != 0)
        if self._rep is not None:
            if D == 1:
                return np.array([replicate_rank(self._rep.weights[inside]) - 1.0])
            # one rank per domain (a loop over domains, only on replicate designs)
            return np.array([replicate_rank(self._rep.weights[inside & (code == d)]) - 1.0 for d in range(D)])
        p1 = self._pairs(dom).p1
        has_pair = np.zeros(p1.n_pairs, dtype=bool)
        has_pair[p1.row_pair[inside]] = True
        n_psu = np.bincount(p1.pair_domain[has_pair], minlength=D)
        has_cell = np.zeros(p1.cell_group.shape[0], dtype=bool)
        has_cell[p1.pair_cell[has_pair]] = True
        n_strata = np.bincount(p1.cell_domain[has_cell], minlength=D)
        return (n_psu - n_strata).astype(float)


def _as_tuple(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return tuple(b.strip() for b in by.split(",") if b.strip()) if "," in by else (by,)
    return tuple(by)


def _as_pandas(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    mod = type(data).__module__
    if mod.startswith("polars"):
        return data.to_pandas()
    if mod.startswith("pyarrow"):
        return data.to_pandas()
    try:
        return pd.DataFrame(data)
    except Exception as exc:  # pragma: no cover - message only
        raise EstimationError(
            f"Cannot use {type(data).__name__} as survey data.",
            code="bad_data",
            fix="pass a pandas DataFrame or a file read with carepop.read_data",
        ) from exc

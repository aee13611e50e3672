"""The :class:`Survey`: survey data with its design, and design-based estimates.

A Survey is immutable: it keeps its own copy of the data, never changes the caller's frame, and
no attribute can be assigned once it is made. Weighting makes a new Survey with
:meth:`Survey.adjusted`, which records the adjustment; cached design facts (degrees of freedom,
domain codes, pair indexes) are never carried over to it.

Estimates are computed by the small modules in :mod:`carepop.core.estimation`; this class checks
input, codes the design once (:mod:`carepop.core.estimation.stages`) and hands the arrays to
:mod:`carepop.core.tables` for the result.

Equivalent R::

    svydesign(ids = ~psu + ssu, strata = ~strata, fpc = ~fpc + fpc2, weights = ~weight, data = df)
    svrepdesign(data = df, weights = ~weight, repweights = "prefix", type = "JK1", ...)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from carepop.core import checks as chk
from carepop.core.adjustments import Adjustment
from carepop.core.coding import code_design, replicate_design, weights_from_fpc
from carepop.core.estimation.calibration import Calibration, CalStep
from carepop.core.estimation.domains import Domains, factor_codes, make_domains, whole_sample
from carepop.core.estimation.replicate import ReplicateDesign, replicate_ranks
from carepop.core.estimation.repweights import DenseWeights, ReplicateWeights
from carepop.core.estimation.stages import TaylorDesign
from carepop.core.estimation.taylor import design_pairs
from carepop.core.estimators import linear_estimates, quantile_estimates
from carepop.core.results import Estimates
from carepop.core.vocabulary import LonelyPSU, choose
from carepop.errors import DesignError, example_rows, opt

if TYPE_CHECKING:
    from carepop.core.design import Design


class Factor(NamedTuple):
    """A categorical column coded as R codes a factor (see :meth:`Survey.factor`)."""

    codes: np.ndarray  # (n,) int64 level of each row, 0..L-1; -1 where missing (read-only)
    levels: pd.Index  # the L levels, in R's order (sorted values, or a Categorical's order)


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

    Use :meth:`Survey.replicate` for a design described by replicate weights. A Survey cannot be
    changed once made (assigning an attribute raises ``AttributeError``); weighting returns a new
    one (:meth:`adjusted`).
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
        df = chk.as_pandas(data)
        if _replicate is not None:
            # the replicate weights live in the replicate design: keep one copy of them, not two
            df = df.drop(columns=[c for c in _replicate.columns if c in df.columns and c != weight])
        frame = chk.own_copy(df)
        labels = value_labels if value_labels is not None else df.attrs.get("value_labels", {})
        lonely_psu = choose(lonely_psu, LonelyPSU, "lonely_psu", "lonely-PSU policy")
        chk.check_columns(frame, [weight, strata, psu, fpc, ssu, fpc2], "design column")
        if len(frame) == 0:
            raise DesignError("The data has no rows.", code="empty_data", fix="check the file or filter")
        taylor = None
        if _replicate is not None:
            w = chk.check_weights(frame, weight)
        else:
            taylor = code_design(frame, strata, psu, fpc, ssu, fpc2, nest, lonely_psu)
            if weight:
                w = chk.check_weights(frame, weight)
            else:
                w = weights_from_fpc(taylor)
                chk.check_weight_total(w, fpc)
        roles = {"weight": weight, "strata": strata, "psu": psu, "fpc": fpc, "ssu": ssu, "fpc2": fpc2}
        self._setup(frame, labels, roles, nest, lonely_psu, w, taylor, _replicate, ())

    def _setup(
        self,
        data: pd.DataFrame,
        value_labels: dict[str, dict[Any, str]] | None,
        roles: dict[str, str | None],
        nest: bool,
        lonely_psu: str,
        w: np.ndarray,
        taylor: TaylorDesign | None,
        rep: ReplicateDesign | None,
        adjustments: tuple[Adjustment, ...],
    ) -> None:
        """Set every attribute once (the only writer; caches start empty)."""
        put = object.__setattr__
        put(self, "_data", data)
        put(self, "value_labels", dict(value_labels or {}))
        for role, column in roles.items():
            put(self, role, column)
        put(self, "nest", nest)
        put(self, "lonely_psu", lonely_psu)
        put(self, "_w", w)
        put(self, "_taylor", taylor)
        put(self, "_rep", rep)
        put(self, "_adjustments", adjustments)
        steps = tuple(step for a in adjustments for step in a.steps)
        put(self, "_calibration", Calibration(steps) if steps else None)
        put(self, "_domain_cache", {})
        put(self, "_pairs_cache", {})
        put(self, "_count_cache", {})
        put(self, "_level_cache", {})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"A Survey cannot be changed (tried to set {name!r}); weighting functions return a new "
            "Survey (Survey.adjusted)."
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"A Survey cannot be changed (tried to delete {name!r}).")

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
        df = chk.as_pandas(data)
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

    def adjusted(
        self,
        weights: np.ndarray,
        *,
        column: str,
        method: str,
        steps: Sequence[CalStep] = (),
        replicate_weights: np.ndarray | ReplicateWeights | None = None,
        report: Any = None,
    ) -> Survey:
        """A new Survey after a weighting step: the same data and design, ``weights`` as its
        weights (also stored in the data as ``column``) and the step recorded in
        :attr:`adjustments`.

        A Taylor design takes the step's linearisation as ``steps`` (calibration residuals, see
        :mod:`carepop.core.estimation.calibration`; none for a step whose variance ignores it,
        such as trimming). A replicate design takes ``replicate_weights`` instead: the replicate
        weights (rows x replicates) after the same step was redone in every replicate. ``report``
        is whatever the method reports. The new Survey starts with no cached design facts (its
        degrees of freedom count the PSUs with weight); it shares the coded design, whose columns
        cannot change (``column`` may not be one of :attr:`design_columns`).
        """
        w = np.array(weights, dtype=float)
        if w.shape != (self.n_rows,):
            raise DesignError(
                f"{w.size} new weights for {self.n_rows} rows.",
                code="bad_weights",
                column=column,
                got=w.shape,
                expected=(self.n_rows,),
                fix="give one weight per row, in the order of the survey's data",
            )
        if column in self.design_columns:
            raise DesignError(
                f"The new weights cannot go in {column!r}: it is a column of the survey design.",
                code="design_column",
                column=column,
                got=column,
                expected=f"a name other than {', '.join(map(repr, self.design_columns))}",
                fix=("give another name with ", opt("column", metavar="NAME")),
            )
        _check_new_weights(w, column)
        rep = self._new_replicates(replicate_weights, steps, column)
        data = self._data.copy(deep=False)
        data[column] = w
        record = Adjustment(method, column, tuple(steps), rep is not None, report)
        roles = {"weight": column, "strata": self.strata, "psu": self.psu, "fpc": self.fpc}
        roles.update(ssu=self.ssu, fpc2=self.fpc2)
        new = object.__new__(Survey)
        new._setup(
            data,
            self.value_labels,
            roles,
            self.nest,
            self.lonely_psu,
            w,
            self._taylor,
            rep,
            self._adjustments + (record,),
        )
        return new

    def with_columns(self, **columns: Any) -> Survey:
        """The same survey (design, weights, replicates, adjustments) with more columns: derived
        variables or domains (R ``update(design, name = ...)``). A column of the design, or one
        already there, cannot be replaced; each new column has one value per row."""
        taken = [c for c in columns if c in self._data.columns]
        if taken:
            raise DesignError(
                f"The survey already has column(s) {', '.join(map(repr, taken))}.",
                code="column_exists",
                column=taken[0],
                fix="give the new columns other names",
            )
        data = self._data.copy(deep=False)
        for name, values in columns.items():
            values = np.asarray(values)
            if values.shape != (self.n_rows,):
                raise DesignError(
                    f"Column {name!r} has {values.size} values; the survey has {self.n_rows} rows.",
                    code="length_mismatch",
                    column=name,
                    fix="give one value per row, in the survey's row order",
                )
            data[name] = values
        roles = {"weight": self.weight, "strata": self.strata, "psu": self.psu, "fpc": self.fpc}
        roles.update(ssu=self.ssu, fpc2=self.fpc2)
        new = object.__new__(Survey)
        new._setup(
            data,
            self.value_labels,
            roles,
            self.nest,
            self.lonely_psu,
            self._w,
            self._taylor,
            self._rep,
            self._adjustments,
        )
        return new

    def with_replicates(self, replicates: ReplicateDesign, *, weight_column: str | None = None) -> Survey:
        """The same data as a replicate-weight design (R ``as.svrepdesign``): ``replicates`` made
        from this survey's design (their weights include this survey's weights). A survey whose
        weights came from its fpc gets them as ``weight_column``. The replicate columns
        (``replicates.columns``) are formed only when :attr:`data` is asked for."""
        if self._rep is not None:
            raise DesignError(
                "The survey already has replicate weights.",
                code="already_replicate",
                fix="make replicate weights from a design given by strata, PSUs and fpc",
            )
        if replicates.store.n_rows != self.n_rows:
            raise DesignError(
                f"Replicate weights for {replicates.store.n_rows} rows given to a survey of {self.n_rows}.",
                code="bad_weights",
                got=replicates.store.n_rows,
                expected=self.n_rows,
                fix="make the replicate weights from this survey",
            )
        chk.check_replicate_totals(replicates.store, replicates.columns)
        data = self._data.copy(deep=False)
        weight = self.weight
        if weight is None:
            weight = weight_column or next(
                c for c in ("weight", "_weight", "__weight") if c not in data.columns
            )
            data[weight] = self._w
        new = object.__new__(Survey)
        roles = dict.fromkeys(("strata", "psu", "fpc", "ssu", "fpc2"), None)
        roles["weight"] = weight
        new._setup(data, self.value_labels, roles, False, "fail", self._w.copy(), None, replicates, ())
        return new

    def _new_replicates(
        self,
        replicate_weights: np.ndarray | ReplicateWeights | None,
        steps: Sequence[CalStep],
        column: str,
    ) -> ReplicateDesign | None:
        if self._rep is None:
            if replicate_weights is not None:
                raise DesignError(
                    "Replicate weights were given for a survey that has no replicate design.",
                    code="bad_adjustment",
                    column=column,
                    fix=("give the step's Taylor linearisation as ", opt("steps"), " instead"),
                )
            return None
        if steps:
            raise DesignError(
                "A replicate design carries a weighting step in its replicates, not as steps.",
                code="bad_adjustment",
                column=column,
                fix="redo the step in every replicate and give the replicate weights",
            )
        if replicate_weights is None:
            raise DesignError(
                "A weighting step on a replicate design must be redone in every replicate.",
                code="bad_adjustment",
                column=column,
                fix=("give the replicate weights after the step as ", opt("replicate_weights")),
            )
        store = (
            replicate_weights
            if isinstance(replicate_weights, ReplicateWeights)
            else DenseWeights(np.array(replicate_weights, dtype=float, order="C"))
        )
        shape = (store.n_rows, store.n_replicates)
        expected = (self.n_rows, self._rep.n_replicates)
        if shape != expected:
            raise DesignError(
                f"Replicate weights of shape {shape} for a design of {expected}.",
                code="bad_weights",
                column=column,
                got=shape,
                expected=expected,
                fix="give one column per replicate and one row per row of the data",
            )
        if isinstance(store, DenseWeights):
            reps = store.matrix
            for k in np.flatnonzero(~np.isfinite(reps).all(axis=0))[:1]:
                _check_new_weights(reps[:, k], f"{column} (replicate {k + 1})")
        chk.check_replicate_totals(store, self._rep.columns)
        return dataclasses.replace(self._rep, store=store)

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> pd.DataFrame:
        """A copy of the survey data; for a replicate design with its replicate-weight columns
        as they are now (after any weighting step; formed on demand for designs carepop made)."""
        frame = chk.own_copy(self._data)
        rep = self._rep
        if rep is not None:
            W = rep.weights
            extra = pd.DataFrame(W, columns=list(rep.columns), index=frame.index)
            frame = pd.concat(
                [frame.drop(columns=[c for c in rep.columns if c in frame.columns]), extra], axis=1
            )
        return frame

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

    @property
    def columns(self) -> tuple[str, ...]:
        """The names of the data's columns, in order."""
        return tuple(self._data.columns)

    @property
    def design_columns(self) -> tuple[str, ...]:
        """The columns the design is coded from: strata, PSU, SSU, fpcs and replicate weights
        (not the weight column, which weighting replaces)."""
        cols = [self.strata, self.psu, self.ssu, self.fpc, self.fpc2]
        if self._rep is not None:
            cols.extend(self._rep.columns)
        return tuple(dict.fromkeys(c for c in cols if c is not None))

    @property
    def replicate_design(self) -> ReplicateDesign | None:
        """The replicate design (replicate weights matrix, method, ``scale``, ``rscales``, ``mse``,
        ``rho``, the data's replicate columns), or None for a Taylor design. Its arrays are
        read-only; after weighting they hold the adjusted replicate weights."""
        return self._rep

    @property
    def taylor_design(self) -> TaylorDesign | None:
        """The coded design for Taylor linearisation (stratum of each row; PSUs within strata and
        SSUs within PSUs with their counts and fpcs), or None for a replicate design. Read-only."""
        return self._taylor

    @property
    def adjustments(self) -> tuple[Adjustment, ...]:
        """The weighting steps applied so far, oldest first (see
        :class:`~carepop.core.adjustments.Adjustment`); ``adjustments[-1].report`` is what the
        last method reported."""
        return self._adjustments

    @property
    def is_calibrated(self) -> bool:
        """Whether a weighting step enters the Taylor variance (post-stratification, raking,
        calibration, non-response adjustment): estimates then use calibration residuals."""
        return self._calibration is not None

    def column(self, name: str, what: str = "column") -> pd.Series:
        """A copy of one column of the data; an unknown ``name`` is an error that calls it
        ``what`` (e.g. ``"respondent column"``) and suggests close names."""
        chk.check_columns(self._data, [name], what)
        return self._data[name].copy()

    def numeric(self, name: str, purpose: str, what: str = "column") -> np.ndarray:
        """The values of a column as float64 (missing values NaN; a copy); a column that is not
        numeric is an error saying it cannot be used as ``purpose`` (e.g. ``"a base weight"``)."""
        chk.check_columns(self._data, [name], what)
        return np.array(chk.numeric_column(self._data, name, purpose), dtype=float)

    def factor(self, variable: str | tuple[str, ...], what: str = "variable") -> Factor:
        """A categorical column coded as R codes a factor: level codes per row (-1 where missing)
        and the levels in R's order (sorted values, or a Categorical's category order). A tuple
        of columns is their cross-classification (levels are tuples of values present in the
        data). Coded once per survey; the codes are read-only. An unknown column is an error that
        calls it ``what``."""
        if variable not in self._level_cache:
            if isinstance(variable, tuple):
                chk.check_columns(self._data, variable, what)
                dom = make_domains(self._data, variable)
                levels = pd.Index(list(dom.levels.itertuples(index=False, name=None)), tupleize_cols=False)
                self._level_cache[variable] = Factor(dom.code, levels)
            else:
                chk.check_columns(self._data, [variable], what)
                self._level_cache[variable] = Factor(*factor_codes(self._data[variable]))
        return self._level_cache[variable]

    def domains(self, by: str | Sequence[str] | None) -> Domains:
        """Domain coding for ``by`` (one column, several, or a comma-separated string): a code
        per row and the values of each domain, only combinations present in the data, in R's
        order; the whole sample when ``by`` is None. Coded once per survey."""
        cols = _as_tuple(by)
        if not cols:
            return whole_sample(self.n_rows)
        chk.check_columns(self._data, cols, "domain column")
        if cols not in self._domain_cache:
            self._domain_cache[cols] = make_domains(self._data, cols)
        return self._domain_cache[cols]

    def label(self, column: str, value: Any) -> Any:
        """The value label of ``value`` in ``column`` (from :attr:`value_labels`), or the value
        itself (a numpy scalar as a Python one)."""
        labels = self.value_labels.get(column)
        if labels:
            if value in labels:
                return labels[value]
            if isinstance(value, float) and value.is_integer() and int(value) in labels:
                return labels[int(value)]
        if isinstance(value, np.generic):
            return value.item()
        return value

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
        """Design degrees of freedom (R ``degf``): #PSUs with weight - #strata, or rank of
        replicates - 1."""
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
        return linear_estimates(self, "total", variable, None, by, ci, level, deff, na_rm)

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
        return linear_estimates(self, "mean", variable, None, by, ci, level, deff, na_rm)

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
        return linear_estimates(self, "ratio", numerator, denominator, by, ci, level, deff, na_rm)

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
        return linear_estimates(self, "proportion", variable, None, by, ci, level, deff, na_rm)

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
        return quantile_estimates(self, variable, p, by, ci, level, na_rm)

    def median(self, variable: str, by: str | Sequence[str] | None = None, **kw: Any) -> Estimates:
        return self.quantile(variable, 0.5, by, **kw)

    # ------------------------------------------------------------------ internals
    @property
    def _variance_name(self) -> str:
        return "taylor" if self._rep is None else self._rep.method

    def _pairs(self, dom: Domains):
        """Taylor pair indexes for a set of domains, built once (None for replicate designs)."""
        if self._taylor is None:
            return None
        # a calibrated design needs every (group, domain) cell (calibration spreads each domain
        # over all units)
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

    def _df_by_domain(self, code: np.ndarray, dom: Domains) -> np.ndarray:
        """Degrees of freedom of each domain's design (R ``degf`` of the subset design):
        PSUs with rows in the domain minus strata with rows in the domain, or, for replicate
        designs, the rank of the domain's replicate weights minus one."""
        D = dom.n
        inside = (code >= 0) & (self._w != 0)
        if self._rep is not None:
            return replicate_ranks(self._rep, code, D, inside).astype(float) - 1.0
        p1 = self._pairs(dom).p1
        has_pair = np.zeros(p1.n_pairs, dtype=bool)
        has_pair[p1.row_pair[inside]] = True
        n_psu = np.bincount(p1.pair_domain[has_pair], minlength=D)
        has_cell = np.zeros(p1.cell_group.shape[0], dtype=bool)
        has_cell[p1.pair_cell[has_pair]] = True
        n_strata = np.bincount(p1.cell_domain[has_cell], minlength=D)
        return (n_psu - n_strata).astype(float)


def _check_new_weights(w: np.ndarray, column: str) -> None:
    """New weights are numbers (an infinite one overflowed) with a finite total."""
    bad = ~np.isfinite(w)
    if bad.any():
        inf = bool(np.isinf(w).any())
        raise DesignError(
            f"The new weights in {column!r} have {int(bad.sum())} "
            + ("infinite (overflowed) value(s)." if inf else "missing (NaN) value(s)."),
            code="overflow" if inf else "missing_weight",
            column=column,
            rows=example_rows(np.arange(1, w.shape[0] + 1), bad),
            fix="check the inputs of the weighting step (margins, bounds, base weights)",
        )
    chk.check_weight_total(w, column)


def _as_tuple(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return tuple(b.strip() for b in by.split(",") if b.strip()) if "," in by else (by,)
    return tuple(by)

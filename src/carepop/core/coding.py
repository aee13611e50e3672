"""From the columns that describe a design to the coded design the estimators use.

- :func:`code_design`: strata, PSUs, SSUs and fpcs checked and coded into a
  :class:`~carepop.core.estimation.stages.TaylorDesign` (R ``svydesign``), lonely PSUs handled;
- :func:`weights_from_fpc`: ``N_h/n_h`` (times ``N_hi/n_hi``) when no weight column is given;
- :func:`replicate_design`: replicate-weight columns checked and turned into a
  :class:`~carepop.core.estimation.replicate.ReplicateDesign` (R ``svrepdesign``).

Every problem is a :class:`~carepop.errors.DesignError` naming the column, rows and fix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from carepop.core import checks as chk
from carepop.core.estimation.numerics import readonly
from carepop.core.estimation.replicate import ReplicateDesign, default_multipliers
from carepop.core.estimation.stages import Stage, TaylorDesign, make_stage
from carepop.core.estimation.taylor import CERTAINTY_TOL
from carepop.core.vocabulary import LonelyPSU, ReplicateType, choose
from carepop.errors import DesignError, example_rows, opt


def code_design(
    df: pd.DataFrame,
    strata: str | None,
    psu: str | None,
    fpc: str | None,
    ssu: str | None,
    fpc2: str | None,
    nest: bool,
    lonely_psu: str,
) -> TaylorDesign:
    """Check and code the design columns (R ``svydesign(ids=~psu+ssu, strata=, fpc=~fpc+fpc2)``)."""
    _check_stage_options(psu, fpc, ssu, fpc2)
    n = len(df)
    h = chk.codes(chk.check_no_missing(df, strata, "stratum")) if strata else np.zeros(n, dtype=np.int64)
    H = int(h.max()) + 1
    if psu is not None:
        psu_key = chk.codes(chk.check_no_missing(df, psu, "PSU"))
        if nest and strata is not None:
            psu_key = pd.factorize(psu_key * H + h)[0].astype(np.int64)
        elif strata is not None:
            chk.check_nested(psu_key, h, psu, strata, "first-stage")
    else:
        psu_key = np.arange(n, dtype=np.int64)
    stage1 = make_stage(h, psu_key, H, None)
    if fpc is not None:
        pop1 = chk.popsize_per_group(df, fpc, h, H, stage1.n_units, "stratum")
        stage1 = make_stage(h, psu_key, H, pop1)
    stage2 = None
    if ssu is not None:
        ssu_raw = chk.codes(chk.check_no_missing(df, ssu, "SSU"))
        # SSUs are identified within their PSU (R: interaction(ids[,1], ids[,2]))
        ssu_key = pd.factorize(stage1.unit * (int(ssu_raw.max()) + 1) + ssu_raw)[0].astype(np.int64)
        P = stage1.n_total_units
        stage2 = make_stage(stage1.unit, ssu_key, P, None)
        if fpc2 is not None:
            pop2 = chk.popsize_per_group(df, fpc2, stage1.unit, P, stage2.n_units, "PSU")
            stage2 = make_stage(stage1.unit, ssu_key, P, pop2)
    _check_lonely(stage1, h, lonely_psu, "stratum", strata, 1)
    if stage2 is not None and stage1.sampling_fraction is not None:
        _check_lonely(stage2, stage1.unit, lonely_psu, "PSU", psu, 2)
    return TaylorDesign(readonly(h), stage1, stage2, lonely_psu, H)


def weights_from_fpc(design: TaylorDesign) -> np.ndarray:
    """Inverse inclusion probabilities implied by the fpcs (R ``svydesign`` without weights)."""
    s1 = design.stage1
    if s1.sampling_fraction is None:
        raise DesignError(
            "No weight column given.",
            code="missing_weight",
            fix=("give ", opt("weight", metavar="COL"), ", or an fpc from which the weights follow"),
        )
    w = 1 / s1.sampling_fraction[s1.unit_group[s1.unit]]
    s2 = design.stage2
    if s2 is not None and s2.sampling_fraction is not None:
        w = w / s2.sampling_fraction[s2.unit_group[s2.unit]]
    return w


def _check_stage_options(psu, fpc, ssu, fpc2) -> None:
    if ssu is not None and psu is None:
        raise DesignError(
            "A second-stage unit needs a first-stage unit.",
            code="ssu_without_psu",
            column=ssu,
            fix=("give ", opt("psu", metavar="COL"), " as well as the second-stage unit"),
        )
    if fpc2 is not None and ssu is None:
        raise DesignError(
            "A second-stage fpc needs a second-stage unit.",
            code="fpc2_without_ssu",
            column=fpc2,
            fix=("give ", opt("ssu", metavar="COL"), ", or leave out the second-stage fpc"),
        )
    if ssu is not None and fpc is not None and fpc2 is None:
        raise DesignError(
            "A two-stage design with a first-stage fpc needs the second stage's fpc too.",
            code="missing_fpc2",
            column=ssu,
            fix=(
                "give ",
                opt("fpc2", metavar="COL"),
                ", the number of second-stage units in each PSU (R would fail here too), or leave "
                "out the second-stage unit to use the ultimate-cluster variance",
            ),
        )


def _check_lonely(
    stage: Stage, group_per_row: np.ndarray, policy: str, what: str, col: str | None, stage_no: int
) -> None:
    """Groups with one sampled unit (not taken with certainty) under ``fail`` are an error;
    ``average`` is not defined at stage 2 (R returns NaN), so it is an error there too."""
    lonely = (stage.n_units == 1) & (stage.f >= CERTAINTY_TOL)
    if not lonely.any():
        return
    if policy == "fail" or (stage_no == 2 and policy == "average"):
        unit = "PSU" if stage_no == 1 else "second-stage unit"
        extra = (
            " ('average' is not defined at the second stage: R returns NaN)" if policy == "average" else ""
        )
        raise DesignError(
            f"{int(lonely.sum())} {what}(s) have only one {unit} at stage {stage_no}{extra}.",
            code="lonely_psu",
            column=col,
            rows=example_rows(np.arange(1, group_per_row.shape[0] + 1), lonely[group_per_row]),
            got=policy,
            expected=tuple(p for p in LonelyPSU.values() if p != "fail"),
            fix=(
                "choose a lonely-PSU policy (R's options(survey.lonely.psu=)): ",
                opt("lonely_psu", "certainty"),
                " or 'remove' (no contribution), 'adjust' (centre at the grand mean) or 'average'; "
                "or merge the stratum with a similar one",
            ),
        )


def replicate_design(
    df: pd.DataFrame,
    repweights: str | Sequence[str],
    method: str,
    weight: str | None,
    rho: float | None,
    scale: float | None,
    rscales: Sequence[float] | float | None,
    mse: bool,
    combined_weights: bool,
) -> ReplicateDesign:
    """Check replicate-weight columns and build the replicate design (R ``svrepdesign``)."""
    m = choose(method, ReplicateType, "rep_type", "replicate type")
    if weight is None:
        raise DesignError(
            "A replicate design needs the full-sample weight.",
            code="missing_weight",
            fix=(
                "give ",
                opt("weight", metavar="COL"),
                ": point estimates use it, the replicates give the variance",
            ),
        )
    chk.check_columns(df, [weight], "weight column")
    if isinstance(repweights, str):
        cols = [c for c in df.columns if str(c).startswith(repweights) and c != weight]
        if not cols:
            raise DesignError(
                f"No columns start with {repweights!r}.",
                code="unknown_column",
                column=repweights,
                fix=(
                    "give ",
                    opt("repweights", metavar="PREFIX"),
                    " as the prefix of the replicate-weight columns, or a list of columns",
                ),
            )
    else:
        cols = list(repweights)
        chk.check_columns(df, cols, "replicate-weight column")
    if len(cols) < 2:
        raise DesignError(
            "At least two replicate weight columns are needed.",
            code="too_few_replicates",
            got=len(cols),
            expected="2 or more replicate-weight columns",
            fix=(
                "check ",
                opt("repweights", metavar="PREFIX"),
                ": it should match every replicate-weight column",
            ),
        )
    if m == "fay" and (rho is None or not 0 <= rho < 1):
        raise DesignError(
            "Fay's method needs rho in [0, 1).",
            code="bad_option",
            got=rho,
            expected="0 <= rho < 1",
            fix=("give ", opt("rho", metavar="RHO"), ", e.g. 0.5"),
        )
    # one column at a time into one matrix (no second copy of all the columns)
    reps = np.empty((len(df), len(cols)))
    for j, c in enumerate(cols):
        reps[:, j] = chk.numeric_column(df, c, "a replicate weight")
    rows = np.arange(1, len(df) + 1)
    for bad, what, code, hint in (
        (
            ~np.isfinite(reps),
            "missing values",
            "missing_weight",
            "replicate weights must be present for every row",
        ),
        (reps < 0, "negative values", "negative_weight", "replicate weights must be zero or positive"),
    ):
        if bad.any():
            c = int(np.argwhere(bad)[0][1])
            raise DesignError(
                f"Replicate weight column {cols[c]!r} has {what}.",
                code=code,
                column=cols[c],
                rows=example_rows(rows, bad[:, c]),
                fix=hint,
            )
    base = chk.check_weights(df, weight)
    if not combined_weights:
        with np.errstate(over="ignore"):
            reps = reps * base[:, None]
    chk.check_replicate_totals(reps, cols)
    n_rep = reps.shape[1]
    d_scale, d_rscales = default_multipliers(m, n_rep, rho, reps, base)
    rs = d_rscales if rscales is None else _rscales(rscales, n_rep)
    sc = d_scale if scale is None else float(scale)
    return ReplicateDesign(m, np.ascontiguousarray(reps), sc, rs, bool(mse), rho, tuple(cols))


def _rscales(rscales: Sequence[float] | float, n_rep: int) -> np.ndarray:
    """Given rscales: one number for every replicate, or one per replicate."""
    rs = np.atleast_1d(np.asarray(rscales, dtype=float))
    if rs.ndim != 1 or rs.shape[0] not in (1, n_rep):
        raise DesignError(
            f"{rs.shape[0]} rscales given for {n_rep} replicate-weight columns.",
            code="bad_option",
            got=rs.shape[0],
            expected=f"1 or {n_rep} numbers",
            fix=(
                "give ",
                opt("rscales", metavar="R1,R2,..."),
                f" as one number or {n_rep} numbers, one per replicate column in data order",
            ),
        )
    return np.broadcast_to(rs, (n_rep,)).copy()

"""Weight trimming (R ``trimWeights``).

Weights below ``lower`` are raised to ``lower``, weights above ``upper`` cut to ``upper``, and the
net amount removed is shared out EQUALLY among the weights that were inside the bounds, so the
weight total is kept (R ``survey:::trimWeights.survey.design2``)::

    w_new = pmax(lower, pmin(w, upper));  w_new[inside] += sum(w - w_new) / #inside

After one pass some of the raised weights may lie outside the bounds again; ``strict=True``
repeats the pass until none does (as R's recursive ``strict = TRUE``). ``relative=True`` reads
the bounds as multiples of the mean weight.

Zero weights (rows already out of the sample, e.g. non-respondents after a nonresponse
adjustment) are left at zero and receive no share, and the mean weight of ``relative`` is that of
the positive weights. This is the one difference from R, which would lift such rows to ``lower``
or give them a share; on designs without zero weights the result is R's.

Variance: as R, the trimmed weights are used as they are (no residual step is added; earlier
calibration steps are kept).

Replicate designs: each replicate's weights are trimmed the same way with the same bounds
(and ``strict``), each column sharing its own trimmed amount among its own untrimmed positive
weights. This is what R ``trimWeights.svyrep.design`` sets out to do; in survey 4.1.1 that method
keeps the full-sample weights unchanged (it assigns ``design$prob``, which a replicate design
does not use) and adds the shares with the wrong recycling, so R cannot serve as reference there.
"""

from __future__ import annotations

import numpy as np

from carepop.core.survey import Survey
from carepop.errors import CarepopError, opt
from carepop.weighting.redo import redo_in_replicates

MAX_PASSES = 10_000  # strict trimming converges geometrically; R recurses without a limit


class TrimError(CarepopError):
    """Bounds that cannot be met."""


def trim_weights(
    survey: Survey,
    lower: float = -np.inf,
    upper: float = np.inf,
    *,
    relative: bool = False,
    strict: bool = False,
    column: str = "weight_trim",
) -> Survey:
    """Trim the weights to ``[lower, upper]``, redistributing the trimmed amount equally.

    R: ``trimWeights(design, upper = upper, lower = lower, strict = strict)``; with
    ``relative=True`` the bounds are ``lower * mean(w)`` and ``upper * mean(w)``.
    """
    lo, up = float(lower), float(upper)
    if np.isnan(lo) or np.isnan(up) or lo > up:
        raise TrimError(
            ("Trimming bounds ", opt("lower", lower), ", ", opt("upper", upper), " are not a range."),
            code="bad_option",
            column=survey.weight,
            got=(lower, upper),
            expected="lower <= upper",
            fix=(
                "give ",
                opt("lower", metavar="L"),
                " <= ",
                opt("upper", metavar="U"),
                " (",
                opt("relative", True),
                " reads them as multiples of the mean weight)",
            ),
        )
    w = survey.weights
    if relative:
        mean = float(w[w > 0].mean())
        lo, up = lo * mean, up * mean
    new = _trim(w, lo, up, strict, survey.weight, what="the weights")
    if survey.is_replicate:

        def redo(rw: np.ndarray, r: int) -> np.ndarray:
            return _trim(rw, lo, up, strict, survey.weight, what=f"replicate {r + 1}")

        reps = redo_in_replicates(survey, redo, "trimming")
        return survey.adjusted(new, column=column, method="trim", replicate_weights=reps)
    # as R trimWeights: no linearisation step (earlier calibration steps are kept)
    return survey.adjusted(new, column=column, method="trim")


def _trim(w: np.ndarray, lo: float, up: float, strict: bool, column: str | None, what: str) -> np.ndarray:
    active = w > 0
    m = int(active.sum())
    total = float(w.sum())
    if strict and (lo * m > total or up * m < total):
        raise TrimError(
            f"No weights within [{lo:.6g}, {up:.6g}] can keep the total {total:.6g} of {what} "
            f"({m} positive weights).",
            code="infeasible_bounds",
            column=column,
            got=(lo, up),
            expected=f"bounds around the mean positive weight {total / max(m, 1):.6g}",
            fix="widen the bounds: the mean weight must lie between them",
        )
    cur = w
    for _ in range(MAX_PASSES):
        outside = active & ((cur < lo) | (cur > up))
        if not outside.any():
            return cur
        inside = active & ~outside
        if not inside.any():
            raise TrimError(
                f"Every positive weight of {what} lies outside [{lo:.6g}, {up:.6g}].",
                code="infeasible_bounds",
                column=column,
                fix="widen the bounds so that some weights are left to take the trimmed amount",
            )
        new = cur.copy()
        new[active] = np.maximum(lo, np.minimum(cur[active], up))
        new[inside] += (cur - new).sum() / inside.sum()
        cur = new
        if not strict:
            return cur
    raise TrimError(
        f"Strict trimming of {what} did not settle in {MAX_PASSES} passes.",
        code="no_convergence",
        column=column,
        fix=("widen the bounds, or trim once (", opt("strict", False), ")"),
    )

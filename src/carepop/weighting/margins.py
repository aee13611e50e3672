"""Population margins: read, match to the data's categories, and check.

A margin gives the population total of each category of one variable. It may be a mapping
``{category: total}``, a pandas Series indexed by category, a DataFrame with columns
``value,total`` (or the variable's name and ``Freq``, as R's ``postStratify`` takes), or the path
of a CSV with columns ``value,total``. Categories are matched to the data's values, or to their
value labels (so an SPSS file's labels can be used).

Mismatches are errors, never silent: a category in the data with no population total, a
population category with no respondent (unless its total is 0), a total that is not a number
(naming the category and the text found), negative or missing totals, and margins whose grand
totals disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, example_rows, opt

#: margins of one survey must have the same grand total to this relative tolerance
TOTAL_RTOL = 1e-6


class MarginError(CarepopError):
    """A population margin that does not fit the data."""


def read_margin(population: Any, variable: str | tuple[str, ...]) -> pd.Series:
    """The margin as a Series ``category -> total`` (categories as given).

    For a cross-classified margin (``variable`` a tuple of columns, e.g. ``("la_code", "sex")``)
    a table has one column per variable and ``total``; categories are tuples.
    """
    if isinstance(population, (str, Path)):
        path = Path(population)
        if not path.exists():
            raise MarginError(
                f"Margin file {str(path)!r} not found.",
                code="file_not_found",
                column=variable,
                fix="give a CSV with columns value,total",
            )
        population = pd.read_csv(path)
    if isinstance(population, pd.DataFrame):
        cols = list(population.columns)
        if isinstance(variable, tuple) and set(variable) | {"total"} <= set(cols):
            keys = list(population[list(variable)].itertuples(index=False, name=None))
            s = pd.Series(population["total"].to_numpy(), index=pd.Index(keys, tupleize_cols=False))
        elif {"value", "total"} <= set(cols):
            s = pd.Series(population["total"].to_numpy(), index=population["value"].to_numpy())
        elif variable in cols and "Freq" in cols:
            s = pd.Series(population["Freq"].to_numpy(), index=population[variable].to_numpy())
        else:
            raise MarginError(
                f"The margin for {variable!r} has columns {cols}.",
                code="bad_margin",
                column=variable,
                fix="a margin table needs columns value,total (or the variable's name and Freq)",
            )
    elif isinstance(population, pd.Series):
        s = population
    elif isinstance(population, Mapping):
        s = pd.Series(list(population.values()), index=list(population.keys()))
    else:
        raise MarginError(
            f"Cannot read a margin for {variable!r} from {type(population).__name__}.",
            code="bad_margin",
            column=variable,
            fix="give a dict {category: total}, a Series, a DataFrame or a CSV path",
        )
    totals = pd.to_numeric(s, errors="coerce")
    text = totals.isna().to_numpy() & s.notna().to_numpy()
    if text.any():
        first = int(np.flatnonzero(text)[0])
        category, found = s.index[first], s.iloc[first]
        raise MarginError(
            f"The margin for {variable!r} gives category {category!r} a total that is not a "
            f"number: {found!r}" + (f" ({int(text.sum())} categories in all)." if text.sum() > 1 else "."),
            code="bad_margin",
            column=variable,
            got=found,
            expected="a number (no thousands separators or footnote marks)",
            fix="write every total as a plain number, e.g. 4421",
        )
    for bad, what in ((totals.isna().to_numpy(), "no total"), (totals.to_numpy() < 0, "a negative total")):
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise MarginError(
                f"The margin for {variable!r} gives {what} for {list(s.index[bad])[:5]}.",
                code="bad_margin",
                column=variable,
                got=None if what == "no total" else float(totals.iloc[first]),
                expected="a total of zero or more for every category",
                fix="every category needs a population total of zero or more",
            )
    if s.index.has_duplicates:
        raise MarginError(
            f"The margin for {variable!r} lists a category twice.",
            code="bad_margin",
            column=variable,
            got=list(s.index[s.index.duplicated()])[:5],
            expected="each category once",
            fix="give each category once",
        )
    return totals.astype(float)


def match_margin(
    codes: np.ndarray,
    levels: pd.Index,
    labels: Mapping[Any, str] | None,
    margin: pd.Series,
    variable: str,
) -> np.ndarray:
    """Population total of each data level (array aligned with ``levels``), checked.

    ``codes`` are the data's level codes per row (-1 missing), ``levels`` the level values.
    """
    rows = np.arange(1, codes.shape[0] + 1)
    if (codes < 0).any():
        raise MarginError(
            f"Column {variable!r} has missing values, so those rows cannot be weighted to its margin.",
            code="missing_values",
            column=variable,
            rows=example_rows(rows, codes < 0),
            fix="impute or recode the missing values (e.g. a category 'Unknown' with its own total)",
        )
    keys = {_key(k): float(v) for k, v in margin.items()}
    totals = np.full(len(levels), np.nan)
    used: set[str] = set()
    for i, lev in enumerate(levels):
        cands = (
            (lev,)
            if isinstance(lev, tuple)
            else (lev, (labels or {}).get(lev), (labels or {}).get(_intish(lev)))
        )
        for cand in cands:
            if cand is not None and _key(cand) in keys:
                totals[i] = keys[_key(cand)]
                used.add(_key(cand))
                break
    missing = np.isnan(totals)
    if missing.any():
        absent = [levels[i] for i in np.flatnonzero(missing)]
        raise MarginError(
            f"Categories of {variable!r} in the data have no population total: {absent[:5]}.",
            code="margin_missing_category",
            column=variable,
            rows=example_rows(rows, np.isin(codes, np.flatnonzero(missing))),
            fix="add them to the margin (values or labels as in the data), or recode them in the data",
        )
    extra = [k for k, v in margin.items() if _key(k) not in used and float(v) > 0]
    if extra:
        raise MarginError(
            f"The margin for {variable!r} has categories with no respondent: {extra[:5]}.",
            code="category_not_in_sample",
            column=variable,
            fix="collapse them with a neighbouring category in both the data and the margin",
        )
    return totals


def no_weight_error(
    variable: Any, categories: list, what: str = "Categories", where: str = ""
) -> MarginError:
    """Categories with a population total but no weight in the sample (``where``: e.g. " in
    replicate 3"): they cannot be scaled to their totals."""
    return MarginError(
        f"{what} of {variable!r} with population but no weight{where}: {categories[:5]}.",
        code="zero_weight_cell",
        column=variable,
        got=categories[:5],
        expected="some weight in every category with a population",
        fix="collapse them with a neighbouring category in data and margin",
    )


def check_grand_totals(totals: Mapping[str, float]) -> float:
    """All margins must add up to the same population; returns it."""
    values = np.array(list(totals.values()), dtype=float)
    if values.size and (np.abs(values - values[0]) > TOTAL_RTOL * np.abs(values[0])).any():
        detail = ", ".join(f"{k}: {v:,.6g}" for k, v in totals.items())
        raise MarginError(
            f"The margins add up to different population totals ({detail}).",
            code="margins_disagree",
            got=detail,
            expected="margins with the same grand total",
            fix=(
                "margins from different sources or years must be made consistent first; census "
                "tables differ slightly by ONS perturbation: ",
                opt("harmonise", True),
                " scales every margin to the first's total",
            ),
        )
    return float(values[0]) if values.size else float("nan")


def _key(v: Any) -> str:
    if isinstance(v, tuple):
        return "|".join(_key(x) for x in v)
    v = _intish(v)
    return str(v).strip()


def _intish(v: Any) -> Any:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    if isinstance(v, np.integer):
        return int(v)
    return v

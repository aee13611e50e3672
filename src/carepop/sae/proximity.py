"""Proximity (spatial weight) matrices for the spatial Fay–Herriot model.

A proximity matrix ``W`` (M x M, areas in the order of the data) has ``W[i, j] > 0`` when area
``j`` is a neighbour of area ``i``. The SAR model of :mod:`carepop.sae.spatial` uses it
row-standardised, ``W[i, j] = w_ij / sum_k w_ik`` (Rao & Molina 2015, chapter 8, spatial models;
R sae's ``proxmat`` argument, e.g. ``data(grapesprox)``), so that ``(W u)_i`` is the mean effect of area
``i``'s neighbours; an area without neighbours gets a row of zeros (its effect is then independent,
with variance sigma2).

* :func:`read_proximity` reads a table of ``from``, ``to``, ``weight`` (CSV path or DataFrame).
* :func:`council_adjacency` gives the councils (upper-tier local authorities) that share a border,
  from the bundled table derived from ONS boundaries (:mod:`carepop.sources.boundaries`).

Both return a :class:`scipy.sparse.csr_matrix`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from carepop.errors import ModelError, opt
from carepop.sources.boundaries import bundled_council_adjacency, bundled_councils

__all__ = ["council_adjacency", "read_proximity", "row_standardise"]


def row_standardise(W: sp.spmatrix) -> sp.csr_matrix:
    """Divide each row by its sum (a row of zeros stays zero): ``W[i, j] / sum_k W[i, k]``."""
    W = sp.csr_matrix(W, dtype=float)
    sums = np.asarray(W.sum(axis=1)).ravel()
    scale = np.zeros_like(sums)
    np.divide(1.0, sums, out=scale, where=sums != 0)
    out = sp.diags(scale) @ W
    return sp.csr_matrix(out)


def _area_codes(areas: Sequence[Any]) -> pd.Index:
    codes = pd.Index([str(a) for a in areas])
    if codes.has_duplicates:
        dup = codes[codes.duplicated()].unique().tolist()
        raise ModelError(
            "The areas must be distinct.",
            code="duplicate_area",
            got=dup[:5],
            fix="pass each area once, in the order of the data rows",
        )
    return codes


def _table_rows(mask: np.ndarray) -> list[int]:
    """1-based data rows of the table where ``mask`` holds (up to 5)."""
    return [int(i) + 1 for i in np.flatnonzero(mask)[:5]]


def _read_table(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        table = source.copy()
    else:
        table = pd.read_csv(source, dtype={"from": str, "to": str})
    missing = [c for c in ("from", "to") if c not in table.columns]
    if missing:
        raise ModelError(
            "The proximity table needs the columns from, to (and optionally weight).",
            code="missing_column",
            column=missing[0],
            expected=["from", "to", "weight"],
            got=list(table.columns),
        )
    blank = (table["from"].isna() | table["to"].isna()).to_numpy()
    if blank.any():
        raise ModelError(
            "The proximity table has rows without an area in from or to.",
            code="missing_area",
            rows=_table_rows(blank),
        )
    if "weight" in table.columns:
        weight = pd.to_numeric(table["weight"], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(weight)
        if bad.any():
            raise ModelError(
                "The proximity weights must be numbers.",
                code="bad_weight",
                column="weight",
                rows=_table_rows(bad),
                got=str(table["weight"].to_numpy()[bad][0]),
            )
    else:
        weight = np.ones(len(table))
    return pd.DataFrame(
        {
            "from": table["from"].astype(str).to_numpy(),
            "to": table["to"].astype(str).to_numpy(),
            "weight": weight,
        }
    )


def read_proximity(
    path_or_frame: str | Path | pd.DataFrame,
    areas: Sequence[Any],
    *,
    standardise: bool = True,
    symmetric: bool = False,
    drop_unknown: bool = False,
) -> sp.csr_matrix:
    """Proximity matrix (M x M, rows and columns in the order of ``areas``) from a table of pairs.

    ``path_or_frame``: a CSV file or DataFrame with columns ``from``, ``to`` and optionally ``weight``
    (default 1); area codes are compared as text. Each row sets ``W[from, to] = weight``; with
    ``symmetric=True`` it also sets ``W[to, from]`` (a table listing each pair once). The matrix is
    row-standardised unless ``standardise=False``.

    Refused (:class:`~carepop.errors.ModelError`, naming the table rows): negative weights, an area
    paired with itself, a pair given twice (with ``symmetric=True`` also as ``a,b`` and ``b,a``),
    and areas of the table that are not in ``areas`` (unless ``drop_unknown=True``, which keeps
    only pairs between the given areas). Areas with no neighbour (no row in the table, or only
    zero weights) get a row of zeros and a warning naming them.

    R: the ``proxmat`` of ``sae::eblupSFH`` (a dense row-standardised matrix, e.g. ``grapesprox``).
    """
    return _proximity(
        path_or_frame,
        areas,
        standardise=standardise,
        symmetric=symmetric,
        drop_unknown=drop_unknown,
        stacklevel=3,
    )


def _proximity(
    source: str | Path | pd.DataFrame,
    areas: Sequence[Any],
    *,
    standardise: bool,
    symmetric: bool,
    drop_unknown: bool,
    stacklevel: int,
) -> sp.csr_matrix:
    codes = _area_codes(areas)
    table = _read_table(source)
    f, t, w = table["from"].to_numpy(), table["to"].to_numpy(), table["weight"].to_numpy()
    neg = w < 0
    if neg.any():
        raise ModelError(
            "The proximity table has negative weights.",
            code="negative_weight",
            column="weight",
            rows=_table_rows(neg),
            got=float(w[neg][0]),
            expected="weights >= 0",
        )
    loop = f == t
    if loop.any():
        raise ModelError(
            "The proximity table pairs an area with itself.",
            code="self_loop",
            rows=_table_rows(loop),
            got=str(f[loop][0]),
            fix="remove those rows: an area is not its own neighbour",
        )
    key_a, key_b = (np.minimum(f, t), np.maximum(f, t)) if symmetric else (f, t)
    dup = pd.DataFrame({"a": key_a, "b": key_b}).duplicated(keep="first").to_numpy()
    if dup.any():
        raise ModelError(
            "The proximity table gives a pair of areas more than once"
            + (" (with symmetric=True, a,b and b,a are the same pair)." if symmetric else "."),
            code="duplicate_pair",
            rows=_table_rows(dup),
            got=f"{f[dup][0]},{t[dup][0]}",
            fix="keep one row per pair",
        )
    fi, ti = codes.get_indexer(f), codes.get_indexer(t)
    unknown = (fi < 0) | (ti < 0)
    if unknown.any():
        if not drop_unknown:
            names = pd.unique(np.concatenate([f[fi < 0], t[ti < 0]]))
            raise ModelError(
                f"The proximity table names {len(names)} area(s) that are not in the data.",
                code="unknown_area",
                rows=_table_rows(unknown),
                got=[str(n) for n in names[:5]],
                fix=(
                    "correct the codes, or ",
                    opt("drop_unknown", True),
                    " to keep only the pairs between the data's areas",
                ),
            )
        fi, ti, w = fi[~unknown], ti[~unknown], w[~unknown]
    m = len(codes)
    if symmetric:
        fi, ti, w = np.concatenate([fi, ti]), np.concatenate([ti, fi]), np.concatenate([w, w])
    W = sp.csr_matrix((w, (fi, ti)), shape=(m, m))
    W.eliminate_zeros()
    lonely = np.diff(W.indptr) == 0
    if lonely.any():
        shown = ", ".join(codes[lonely][:10])
        more = f" and {int(lonely.sum()) - 10} more" if lonely.sum() > 10 else ""
        warnings.warn(
            f"{int(lonely.sum())} area(s) have no neighbours and get a row of zeros in the "
            f"proximity matrix: {shown}{more}.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return row_standardise(W) if standardise else W


def council_adjacency(areas: Sequence[Any], *, standardise: bool = True) -> sp.csr_matrix:
    """Contiguity matrix of councils (upper-tier local authorities) that share a border.

    ``areas``: GSS codes (any year 2014–2025, e.g. the 153 English councils of 2023), in the order of
    the data. ``W[i, j] = 1`` when councils ``i`` and ``j`` share a stretch of border in the ONS
    boundaries (bundled table, see ``carepop/data/boundaries/README.md``), then row-standardised
    unless ``standardise=False`` (the 0/1 matrix is symmetric). Neighbours outside ``areas`` are
    ignored. Islands (Isle of Wight, Isles of Scilly) have no neighbours: a row of zeros and a
    warning. A code not in the boundaries raises :class:`~carepop.errors.ModelError`.
    """
    codes = _area_codes(areas)
    known = pd.Index(bundled_councils()["code"].astype(str))
    unknown = ~codes.isin(known)
    if unknown.any():
        raise ModelError(
            f"{int(unknown.sum())} area code(s) are not councils (upper-tier local authorities) of the "
            "ONS boundaries 2014–2025.",
            code="unknown_area",
            got=codes[unknown][:5].tolist(),
            expected="GSS codes of upper-tier local authorities (E06, E08, E09, E10, W06, S12, N09)",
            fix="use council codes; for districts or other areas use read_proximity with a table of pairs",
        )
    pairs = bundled_council_adjacency()
    return _proximity(
        pairs, list(codes), standardise=standardise, symmetric=True, drop_unknown=True, stacklevel=3
    )

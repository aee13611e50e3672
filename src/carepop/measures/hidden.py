"""Hidden carers: the carers no service knows about, and the share that is known.

:func:`hidden_carers` takes carers by area (:func:`carepop.measures.carers.carers_by_council`) and
the number of carers known to a service in each area (GP-registered carers by default, from
carepop's council table; or carers supported in client-level data, or any register) and gives

- ``hidden = carers − known``, interval ``[L − K, U − K]`` from the carers' interval ``[L, U]``
  with the known count ``K`` treated as exact (registers are counts, not estimates; their
  duplicates and out-of-date entries are not modelled). A lower bound below zero is reported
  as 0 (``hidden_lower_clipped`` true): the data are then consistent with no hidden carers,
  which is not a count of fewer than none; so is an estimate below zero (``hidden_clipped``);
- ``share_known = K / carers``, interval ``[K / U, min(1, K / L)]``, the form to quote where the
  known count approaches or exceeds the estimate.

Every row carries the name of the known-carers source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carepop.core.results import TableResult
from carepop.errors import CarepopError
from carepop.measures.carers import CarerEstimates


@dataclass(frozen=True)
class HiddenCarers(TableResult):
    """Hidden carers and the share known, by area (module docstring)."""

    table: pd.DataFrame
    source: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def hidden_carers(
    carers: CarerEstimates,
    known: pd.Series | None = None,
    *,
    source: str = "GP-registered carers (NHS Digital, 2023-24 Q2)",
) -> HiddenCarers:
    """Hidden carers = estimated carers − carers known to services, with intervals (module docstring).

    Parameters
    ----------
    carers : carers by area.
    known : known carers by area code (a Series indexed by the ``area_code`` of ``carers``); default
        GP-registered carers summed to councils, regions and England from carepop's council table.
    source : what ``known`` counts (kept in every row).
    """
    table = carers.to_pandas()
    if known is None:
        known = _gp_carers()
    known = pd.Series(known, dtype=float)
    known.index = known.index.astype(str)
    K = table["area_code"].astype(str).map(known)
    missing = K.isna().to_numpy()
    if missing.any():
        names = table.loc[missing, "area_code"].astype(str).tolist()
        raise CarepopError(
            f"No known-carers count for {len(names)} area(s): {', '.join(names[:8])}.",
            code="missing_known",
            rows=(np.flatnonzero(missing)[:5] + 1).tolist(),
            fix="give a known count for every area (0 where a register has nobody)",
        )
    negative = K.to_numpy() < 0
    if negative.any():
        raise CarepopError(
            "Known-carer counts cannot be negative.",
            code="negative_count",
            rows=(np.flatnonzero(negative)[:5] + 1).tolist(),
            fix="check the register counts",
        )
    k = K.to_numpy(dtype=float)
    est, lo, hi = (table[c].to_numpy(dtype=float) for c in ("carers", "carers_lower", "carers_upper"))
    hidden_lo = lo - k
    with np.errstate(divide="ignore", invalid="ignore"):
        share = k / est
        share_lo = k / hi
        share_hi = np.minimum(1.0, np.where(lo > 0, k / lo, 1.0))
    out = pd.DataFrame(
        {
            "area_level": table["area_level"],
            "area_code": table["area_code"],
            "area_name": table["area_name"],
            "carers": est,
            "carers_lower": lo,
            "carers_upper": hi,
            "known": k,
            "known_source": source,
            "hidden": np.maximum(est - k, 0.0),
            "hidden_clipped": est - k < 0,
            "hidden_lower": np.maximum(hidden_lo, 0.0),
            "hidden_upper": np.maximum(hi - k, 0.0),
            "hidden_lower_clipped": hidden_lo < 0,
            "share_known": share,
            "share_known_lower": share_lo,
            "share_known_upper": share_hi,
        }
    )
    notes = (
        f"known carers: {source}, treated as an exact count",
        "a hidden-carers estimate or interval reaching below 0 is shown from 0 (hidden_clipped, "
        "hidden_lower_clipped)",
        *carers.notes,
    )
    return HiddenCarers(table=out, source=source, notes=notes)


def with_region_totals(by_council: pd.Series) -> pd.Series:
    """Known counts by council (indexed by 2023 council code; councils missing count 0) with their
    regions' and England's (``E92000001``) sums, as :func:`hidden_carers` takes them."""
    from carepop.sources.tables import load_table

    t = load_table("council", None).set_index("council_code")
    v = pd.Series(by_council, dtype=float)
    v.index = v.index.astype(str)
    v = v.reindex(t.index).fillna(0.0)
    by_region = v.groupby(t["region_code"]).sum()
    return pd.concat([v, by_region, pd.Series({"E92000001": v.sum()})])


def _gp_carers() -> pd.Series:
    """GP-registered carers by council, region and England (``E92000001``)."""
    from carepop.sources.tables import load_table

    return with_region_totals(load_table("council", None).set_index("council_code")["gp_carers"])

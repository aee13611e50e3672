"""Areas -> English regions and councils, for estimates by council and benchmarking to regions.

:func:`region_lookup` reads the bundled table ``data/areas/area_regions.csv``: every English
lower-tier district (2014 codes and every code created since: the 2019-2023 mergers and the 2025
Barnsley / Sheffield recodes), every county council, and so every upper-tier council with adult
social care responsibility (the 153 of 2023) and every 2021 district (the 309 of Census 2021),
with its region (``E12`` code and name) and its upper-tier council of 2023 (``council_code``,
``council_name``: the district itself for unitary, metropolitan and London councils, the county for
a two-tier district, the new unitary for the districts merged in 2023; :func:`councils_of`).

:func:`build_region_table` derives that table from the ONS lookups in
``shared/data/boundaries`` (``ltla14_lookup.csv``: each 2014 district's county and region;
``ltla_changes_2014_2025.csv``: the mergers and new codes since). A district created by a merger
takes its predecessors' region; English mergers never crossed a region boundary, and the build
refuses any that would. Source: Office for National Statistics, Open Geography Portal lookups,
Open Government Licence v3.0.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from carepop.errors import CarepopError, opt

COLUMNS = ("area_code", "area_name", "region_code", "region_name", "council_code", "council_name")


@cache
def _table() -> pd.DataFrame:
    with resources.files("carepop").joinpath("data/areas/area_regions.csv").open("rb") as fh:
        return pd.read_csv(fh, dtype=str)


def region_lookup() -> pd.DataFrame:
    """The bundled table: ``area_code, area_name, region_code, region_name`` (a copy)."""
    return _table().copy()


def regions_of(codes: Iterable[str], *, column: str = "area") -> pd.Series:
    """The region code of each area code, in order; unknown codes are an error naming them.

    Parameters
    ----------
    codes : English district, unitary, metropolitan, London borough or county council codes.
    column : the name of the column the codes came from (for the error message).
    """
    codes = pd.Series(list(codes), dtype=str)
    lookup = _table().set_index("area_code")["region_code"]
    out = codes.map(lookup)
    unknown = out.isna()
    if unknown.any():
        bad = list(dict.fromkeys(codes[unknown]))
        raise CarepopError(
            f"{len(bad)} area code(s) in {column!r} are not English council or district codes "
            f"that carepop can place in a region: {', '.join(bad[:8])}{' ...' if len(bad) > 8 else ''}.",
            code="unknown_area",
            column=column,
            rows=[int(i) + 1 for i in unknown.to_numpy().nonzero()[0][:5]],
            got=bad[:5],
            fix=(
                "use ONS GSS codes of English councils (E06/E07/E08/E09/E10), or give the areas' "
                "groups yourself with ",
                opt("groups", metavar="FILE"),
            ),
        )
    return pd.Series(out.to_numpy(), index=codes.index, name="region_code")


def councils_of(codes: Iterable[str], *, column: str = "area") -> pd.Series:
    """The 2023 upper-tier council (the 153 with adult social care responsibility) of each
    district code, in order; unknown codes are an error naming them (as :func:`regions_of`)."""
    codes = pd.Series(list(codes), dtype=str)
    regions_of(codes, column=column)  # names any unknown code
    out = codes.map(_table().set_index("area_code")["council_code"])
    return pd.Series(out.to_numpy(), index=codes.index, name="council_code")


def build_region_table(boundaries: Path) -> pd.DataFrame:
    """Derive the area -> region table from the ONS lookups in ``boundaries`` (see module doc)."""
    lookup = pd.read_csv(boundaries / "ltla14_lookup.csv", dtype=str, encoding="utf-8-sig")
    changes = pd.read_csv(boundaries / "ltla_changes_2014_2025.csv", dtype=str, encoding="utf-8-sig")
    lookup = lookup[lookup["ctrycd"] == "E92000001"]
    region = dict(zip(lookup["ltlacd"], lookup["rgncd"], strict=True))
    name = dict(zip(lookup["ltlacd"], lookup["ltlanm"], strict=True))
    counties = lookup.dropna(subset=["ctycd"]).drop_duplicates("ctycd")
    region.update(zip(counties["ctycd"], counties["rgncd"], strict=True))
    name.update(zip(counties["ctycd"], counties["ctynm"], strict=True))
    region_name = dict(zip(lookup["rgncd"], lookup["rgnnm"], strict=True))
    council = ("E06", "E07", "E08", "E09", "E10")
    moves = changes[
        changes["type"].isin(["merger", "new_code"])
        & changes["oldcd"].str.startswith(council)
        & changes["newcd"].fillna("").str.startswith(council)
    ]
    for old, new, new_name in moves[["oldcd", "newcd", "newnm"]].itertuples(index=False):
        # in date order: a code created by a merger may itself merge later (Somerset West and Taunton)
        if new in region and region[new] != region[old]:
            raise ValueError(f"{new} ({new_name}) would take districts of two regions")
        region[new] = region[old]
        name[new] = new_name
    table = pd.DataFrame({"area_code": list(region), "area_name": [name[c] for c in region]})
    table["region_code"] = table["area_code"].map(region)
    table["region_name"] = table["region_code"].map(region_name)
    council = _councils_2023(lookup, moves)
    table["council_code"] = table["area_code"].map(council)
    table["council_name"] = table["council_code"].map(name)
    return table.sort_values("area_code", ignore_index=True)[list(COLUMNS)]


def _councils_2023(lookup: pd.DataFrame, moves: pd.DataFrame) -> dict[str, str]:
    """Each code's upper-tier council of 2023: a district's successor after the mergers up to 2023,
    and for a two-tier district (E07) its county; unitary, metropolitan and London codes are their
    own council. (Later recodes, such as Barnsley's and Sheffield's in 2025, are not applied.)"""
    county = dict(zip(lookup["ltlacd"], lookup["ctycd"], strict=True))
    county.update({c: c for c in lookup["ctycd"].dropna()})
    successor: dict[str, str] = {}
    for old, new, start in moves[["oldcd", "newcd", "start"]].itertuples(index=False):
        if int(start) <= 2023:
            successor[old] = new
            if isinstance(county.get(old), str) and not isinstance(county.get(new), str):
                county[new] = county[old]  # a new two-tier district stays in its county

    def final(code: str) -> str:
        while code in successor:
            code = successor[code]
        return code

    out = {}
    for code in set(county) | set(successor) | set(successor.values()):
        last = final(code)
        out[code] = county[last] if last.startswith("E07") and isinstance(county.get(last), str) else last
    return out


if __name__ == "__main__":  # python -m carepop.sources.regions ../shared/data/boundaries
    import sys

    out = Path(__file__).resolve().parents[1] / "data" / "areas" / "area_regions.csv"
    build_region_table(Path(sys.argv[1])).to_csv(out, index=False)
    print(f"wrote {out}")

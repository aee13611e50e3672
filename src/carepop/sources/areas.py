"""Areas: MSOA -> local authority, 2011 -> 2021 local authorities, and checked joins.

MSOA -> LA
----------
Census 2021 MSOAs nest in 2021 local authority districts (LTLAs), and ONS names every MSOA
``"<LA name> NNN"`` (e.g. ``Bolton 001``). :func:`msoa_la_lookup` derives the lookup from the names
of the MSOAs and of the LAs in the bundled Nomis files: the MSOA name without its three-digit
number must equal exactly one LA name, where an LA name also matches without the suffix
``", City of"`` / ``", County of"`` (``Bristol, City of`` -> ``Bristol 001``) and through the
spelling aliases in :data:`MSOA_NAME_ALIASES` (Welsh MSOAs spell ``Rhondda Cynon Taf``, the LA file
``Rhondda Cynon Taff``). Every MSOA must map to exactly one LA of the same country, and every LA must
receive at least one MSOA; otherwise the error lists the MSOAs (or LAs) that do not.
:func:`aggregate_to_la` sums MSOA counts to LAs and :func:`compare_with_la` measures how far the
sums are from the LA table: census perturbation makes them differ slightly (largest difference in
the bundled files: 20 people for TS039, 76 for TS007, in LA totals of 0.5 and 0.19 million).

Census 2011 LAs -> 2021 LAs
---------------------------
Nomis publishes 2011 tables (e.g. QS301) on the 2011-2015 district boundaries, already carrying the
codes of the 2013 minor boundary changes (Northumberland E06000057, Gateshead E08000037, East
Hertfordshire, St Albans, Stevenage, Welwyn Hatfield E07000240-243). Between 2011 and 2021 English
districts changed only by whole-district mergers (:data:`LA_MERGERS_2011_2021`: Bournemouth,
Christchurch and Poole; Dorset; East Suffolk; West Suffolk; Somerset West and Taunton (2019);
Buckinghamshire (2020); North and West Northamptonshire (2021)), so a 2021 LA's 2011 count is the
sum of its predecessors' counts; no 2011 district was split. :func:`la_2011_to_2021` builds the
lookup and refuses any 2011 code that is neither a 2021 code nor a listed predecessor (e.g. a
later change such as the 2023 Cumberland / Westmorland and Furness split, which would need
apportioning). ltla22 codes (IMD 2019, GP carers) are the 2021 codes: no English LTLA changed
between April 2021 and April 2022 (the next changes, Cumbria, North Yorkshire and Somerset, took
effect in April 2023).

Checked joins
-------------
:func:`check_codes` compares the codes of a source with the reference list of LAs and raises a
:class:`~carepop.errors.CarepopError` naming the codes missing on either side, so that nothing is
dropped silently by a join.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from carepop.errors import CarepopError
from carepop.sources.nomis import BETWEEN_GEOGRAPHIES, Tolerance

__all__ = [
    "LA_MERGERS_2011_2021",
    "MSOA_NAME_ALIASES",
    "aggregate_to_la",
    "check_codes",
    "compare_with_la",
    "la_2011_to_2021",
    "msoa_la_lookup",
]

#: MSOA-name spelling -> the LA name used in the LA file
MSOA_NAME_ALIASES: dict[str, str] = {"Rhondda Cynon Taf": "Rhondda Cynon Taff"}

#: 2021 LA code -> (2021 name, effective date, ((2011 code, 2011 name), ...)). Structural change
#: orders: Bournemouth, Dorset and Poole (Structural Changes) Order 2018; East Suffolk, West Suffolk
#: and Somerset West and Taunton (Local Government Changes) Orders 2018; Buckinghamshire
#: (Structural Changes) Order 2019; Northamptonshire (Structural Changes) Order 2020.
LA_MERGERS_2011_2021: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "E06000058": (
        "Bournemouth, Christchurch and Poole",
        "2019-04-01",
        (("E06000028", "Bournemouth"), ("E07000048", "Christchurch"), ("E06000029", "Poole")),
    ),
    "E06000059": (
        "Dorset",
        "2019-04-01",
        (
            ("E07000049", "East Dorset"),
            ("E07000050", "North Dorset"),
            ("E07000051", "Purbeck"),
            ("E07000052", "West Dorset"),
            ("E07000053", "Weymouth and Portland"),
        ),
    ),
    "E07000244": ("East Suffolk", "2019-04-01", (("E07000205", "Suffolk Coastal"), ("E07000206", "Waveney"))),
    "E07000245": (
        "West Suffolk",
        "2019-04-01",
        (("E07000201", "Forest Heath"), ("E07000204", "St Edmundsbury")),
    ),
    "E07000246": (
        "Somerset West and Taunton",
        "2019-04-01",
        (("E07000190", "Taunton Deane"), ("E07000191", "West Somerset")),
    ),
    "E06000060": (
        "Buckinghamshire",
        "2020-04-01",
        (
            ("E07000004", "Aylesbury Vale"),
            ("E07000005", "Chiltern"),
            ("E07000006", "South Bucks"),
            ("E07000007", "Wycombe"),
        ),
    ),
    "E06000061": (
        "North Northamptonshire",
        "2021-04-01",
        (
            ("E07000150", "Corby"),
            ("E07000152", "East Northamptonshire"),
            ("E07000153", "Kettering"),
            ("E07000156", "Wellingborough"),
        ),
    ),
    "E06000062": (
        "West Northamptonshire",
        "2021-04-01",
        (("E07000151", "Daventry"), ("E07000154", "Northampton"), ("E07000155", "South Northamptonshire")),
    ),
}


def _country(codes: pd.Series) -> pd.Series:
    return codes.astype(str).str[0]


def msoa_la_lookup(msoas: pd.DataFrame, las: pd.DataFrame, *, complete: bool = True) -> pd.DataFrame:
    """MSOA -> LA from names (see the module docstring).

    ``msoas`` and ``las`` have ``area_code`` and ``area_name``; the result has ``msoa_code``,
    ``msoa_name``, ``la_code``, ``la_name``, one row per MSOA in the order of ``msoas``. With
    ``complete`` (the MSOA file covers the same areas as ``las``) an LA without MSOAs is an error.
    """
    la_keys = pd.concat(
        [
            las[["area_code", "area_name"]].assign(key=las["area_name"]),
            las[["area_code", "area_name"]].assign(
                key=las["area_name"].str.replace(r", (City|County) of$", "", regex=True)
            ),
        ],
        ignore_index=True,
    ).drop_duplicates()
    aliases = pd.DataFrame({"key": list(MSOA_NAME_ALIASES), "area_name": list(MSOA_NAME_ALIASES.values())})
    la_keys = pd.concat(
        [la_keys, aliases.merge(las[["area_code", "area_name"]], on="area_name")], ignore_index=True
    ).drop_duplicates()
    la_keys = la_keys.rename(columns={"area_code": "la_code", "area_name": "la_name"})

    names = msoas["area_name"].astype(str)
    numbered = names.str.contains(r"\s\d{3}$", regex=True).to_numpy()
    if not numbered.all():
        raise CarepopError(
            "Some MSOA names do not end in a three-digit number ('<LA name> NNN'), so their LA is unknown.",
            code="unmatched_area",
            column="area_name",
            rows=(np.flatnonzero(~numbered) + 1).tolist(),
            fix=f"e.g. {names[~numbered].iloc[0]!r}; use the Nomis MSOA file as published",
        )
    frame = pd.DataFrame(
        {
            "msoa_code": msoas["area_code"].astype(str).to_numpy(),
            "msoa_name": names.to_numpy(),
            "key": names.str.replace(r"\s+\d{3}$", "", regex=True).to_numpy(),
        }
    )
    n_match = frame["key"].map(la_keys.groupby("key")["la_code"].nunique()).fillna(0).to_numpy()
    if (n_match != 1).any():
        none, many = n_match == 0, n_match > 1
        bad = none | many
        what = frame.loc[bad, "msoa_name"].drop_duplicates().head(5).tolist()
        raise CarepopError(
            f"{int(none.sum())} MSOA(s) match no LA name and {int(many.sum())} match several, e.g. {what}.",
            code="unmatched_area",
            column="area_name",
            rows=(np.flatnonzero(bad) + 1).tolist(),
            fix="the MSOA and LA files must be the same census geography (2021 MSOAs and LAs)",
        )
    frame = frame.merge(la_keys.drop_duplicates("key"), on="key", how="left", validate="many_to_one")
    wrong_country = (_country(frame["msoa_code"]) != _country(frame["la_code"])).to_numpy()
    if wrong_country.any():
        raise CarepopError(
            "Some MSOAs match an LA of another country by name.",
            code="unmatched_area",
            column="area_name",
            rows=(np.flatnonzero(wrong_country) + 1).tolist(),
        )
    empty = sorted(set(las["area_code"]) - set(frame["la_code"]))
    if complete and empty:
        raise CarepopError(
            f"{len(empty)} LA(s) have no MSOA: {empty[:10]}.",
            code="unmatched_area",
            column="la_code",
            fix="the MSOA file does not cover the same areas as the LA file",
        )
    return frame[["msoa_code", "msoa_name", "la_code", "la_name"]]


def aggregate_to_la(msoa: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Sum MSOA ``columns`` to LAs: ``msoa`` needs ``la_code`` and ``la_name`` (see
    :func:`msoa_la_lookup`); the result has ``area_code``, ``area_name``, ``msoas`` and the sums."""
    cols = list(columns)
    out = msoa.groupby(["la_code", "la_name"], as_index=False, sort=True).agg(
        msoas=("la_code", "size"), **{c: (c, "sum") for c in cols}
    )
    return out.rename(columns={"la_code": "area_code", "la_name": "area_name"})


def compare_with_la(
    aggregated: pd.DataFrame,
    la: pd.DataFrame,
    columns: Iterable[str],
    tolerance: Tolerance = BETWEEN_GEOGRAPHIES,
    *,
    check: bool = True,
) -> pd.DataFrame:
    """Differences (MSOA sum - LA count) per LA and column, in long form: ``area_code``,
    ``column``, ``msoa_sum``, ``la_count``, ``diff``, ``allowed``. With ``check`` a difference beyond
    ``tolerance`` (or an LA on one side only) raises ``totals_disagree`` / ``unmatched_area``."""
    cols = list(columns)
    check_codes(aggregated["area_code"], la["area_code"], what="MSOA sums", against="LA table")
    a = aggregated.set_index("area_code")[cols]
    b = la.set_index("area_code")[cols].reindex(a.index)
    long = pd.DataFrame(
        {
            "area_code": np.repeat(a.index.to_numpy(), len(cols)),
            "column": np.tile(cols, len(a)),
            "msoa_sum": a.to_numpy().ravel(),
            "la_count": b.to_numpy().ravel(),
        }
    )
    long["diff"] = long["msoa_sum"] - long["la_count"]
    long["allowed"] = tolerance.allowed(long["la_count"].to_numpy())
    if check:
        bad = tolerance.exceeded(long["msoa_sum"].to_numpy(), long["la_count"].to_numpy())
        if bad.any():
            worst = long[bad].loc[lambda d: d["diff"].abs().idxmax()]
            raise CarepopError(
                f"MSOA sums differ from the LA table beyond census perturbation in {int(bad.sum())} "
                f"cell(s), e.g. {worst['area_code']} {worst['column']!r}: {worst['msoa_sum']:,} vs "
                f"{worst['la_count']:,}.",
                code="totals_disagree",
                column=str(worst["column"]),
                rows=long.loc[bad, "area_code"].drop_duplicates().tolist(),
                fix="the MSOA and LA files must be the same table and census",
            )
    return long


def la_2011_to_2021(codes_2011: pd.DataFrame, las_2021: pd.DataFrame) -> pd.DataFrame:
    """Lookup from 2011 LA codes to 2021 LA codes (see the module docstring).

    ``codes_2011`` has ``area_code`` and ``area_name`` of the 2011 table; ``las_2021`` the 2021 LAs.
    Returns ``code_2011``, ``name_2011``, ``la_code``, ``la_name``, ``change`` ("same" or "merged
    <date>"), one row per 2011 code of the countries in ``las_2021``. Raises ``unmatched_area`` if a
    2011 code maps nowhere, a 2021 LA gets no 2011 area, or a predecessor's name differs from the
    one in :data:`LA_MERGERS_2011_2021` (a wrong file).
    """
    merged = pd.DataFrame(
        [
            (old, old_name, new, name, f"merged {date}")
            for new, (name, date, olds) in LA_MERGERS_2011_2021.items()
            for old, old_name in olds
        ],
        columns=["code_2011", "expected_name", "la_code", "la_name", "change"],
    )
    countries = set(_country(las_2021["area_code"]))
    old = codes_2011[_country(codes_2011["area_code"]).isin(countries)]
    old = old.rename(columns={"area_code": "code_2011", "area_name": "name_2011"})[["code_2011", "name_2011"]]
    same = las_2021.rename(columns={"area_code": "la_code", "area_name": "la_name"})[["la_code", "la_name"]]
    direct = old.merge(same, left_on="code_2011", right_on="la_code", how="inner").assign(change="same")
    via = old.merge(merged, on="code_2011", how="inner")
    wrong_name = via["name_2011"] != via["expected_name"]
    if wrong_name.any():
        raise CarepopError(
            "2011 codes of merged districts carry other names than expected: "
            + ", ".join(
                f"{r.code_2011} {r.name_2011!r} (expected {r.expected_name!r})"
                for r in via[wrong_name].itertuples()
            )
            + ".",
            code="unmatched_area",
            column="area_name",
            fix="the 2011 file is not on the 2011 district boundaries Nomis publishes",
        )
    lookup = pd.concat([direct, via.drop(columns="expected_name")], ignore_index=True)
    unmapped = sorted(set(old["code_2011"]) - set(lookup["code_2011"]))
    if unmapped:
        names = old.set_index("code_2011").loc[unmapped, "name_2011"]
        raise CarepopError(
            f"{len(unmapped)} 2011 LA code(s) match no 2021 LA and are not a known merger: "
            + ", ".join(f"{c} {n}" for c, n in names.items())
            + ".",
            code="unmatched_area",
            column="area_code",
            fix="only whole-district mergers can be mapped without apportioning; see "
            "carepop.sources.areas.LA_MERGERS_2011_2021",
        )
    no_data = sorted(set(same["la_code"]) - set(lookup["la_code"]))
    if no_data:
        raise CarepopError(
            f"{len(no_data)} 2021 LA(s) have no 2011 area: {no_data}.",
            code="unmatched_area",
            column="la_code",
            fix="the 2011 file lacks their districts (or their predecessors)",
        )
    cols = ["code_2011", "name_2011", "la_code", "la_name", "change"]
    return lookup[cols].sort_values(["la_code", "code_2011"]).reset_index(drop=True)


def check_codes(
    codes: Iterable[str], reference: Iterable[str], *, what: str, against: str = "the LA list"
) -> None:
    """Raise ``unmatched_area`` naming the codes of ``what`` not in ``reference`` and the reference
    codes missing from ``what`` (a join of the two would drop or leave empty exactly those)."""
    have = pd.Series(list(codes), dtype="string")
    ref = set(reference)
    dups = sorted(set(have[have.duplicated()]))
    extra = sorted(set(have) - ref)
    missing = sorted(ref - set(have))
    if dups or extra or missing:
        parts = []
        if missing:
            parts.append(f"{len(missing)} code(s) of {against} missing from {what}: {missing[:10]}")
        if extra:
            parts.append(f"{len(extra)} code(s) of {what} not in {against}: {extra[:10]}")
        if dups:
            parts.append(f"{len(dups)} code(s) repeated in {what}: {dups[:10]}")
        raise CarepopError(
            "; ".join(parts) + ".",
            code="unmatched_area",
            column="area_code",
            fix="both sides must use 2021 LTLA codes of the same areas (see carepop.sources.areas)",
        )

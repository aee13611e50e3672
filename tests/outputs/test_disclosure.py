"""Disclosure control: the rules, worked examples of secondary suppression, the LP audit against
an enumeration of every table an attacker could hold, and bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.outputs.disclosure import (
    TOTAL,
    DisclosureRules,
    audit,
    count_table,
    protect_counts,
    protect_estimates,
    protect_table,
    rules_from,
    suppress,
)
from tests.outputs.brute import brute_ranges


def cell(frame: pd.DataFrame, **labels) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in labels.items():
        mask &= (frame[k] == v).to_numpy()
    assert mask.sum() == 1, labels
    return frame[mask].iloc[0]


# ------------------------------------------------------------------------------ the rules
def test_counts_suppressed_1_to_7_zeros_kept_others_rounded_to_5():
    frame = pd.DataFrame({"events": [0, 1, 7, 8, 12, 13, 102], "people": [0, 3, 7, 10, 12, 18, 97]})
    before = frame.copy()
    out = protect_counts(frame, ["events", "people"])
    assert out["events"].tolist() == [0, pd.NA, pd.NA, 10, 10, 15, 100]
    assert out["people"].tolist() == [0, pd.NA, pd.NA, 10, 10, 20, 95]
    pd.testing.assert_frame_equal(frame, before)
    exact = protect_counts(frame, ["events"], DisclosureRules(threshold=1, count_round=1))
    assert exact["events"].tolist() == frame["events"].tolist()
    three = protect_counts(frame, ["events"], DisclosureRules(threshold=3, count_round=5))
    assert three["events"].tolist() == [0, pd.NA, 5, 10, 10, 15, 100]


def test_rules_record_and_defaults():
    rules = DisclosureRules()
    rec = rules.record()
    assert (rec["threshold"], rec["count_round"], rec["estimate_round"], rec["min_base"]) == (8, 5, 10, 50)
    assert rec["protection"] == 8 and "NHS" in rec["source"]
    assert DisclosureRules(protection=12).width == 12
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.threshold = 3  # type: ignore[misc]


def test_rounded_value_interval():
    lo, hi = DisclosureRules().interval(np.array([10.0, 25.0]))
    assert lo.tolist() == [8, 23] and hi.tolist() == [12, 27]  # 8..12 round to 10; 23..27 to 25
    lo, hi = DisclosureRules(count_round=1).interval(np.array([9.0]))
    assert (lo[0], hi[0]) == (9, 9)
    lo, hi = DisclosureRules(count_round=10).interval(np.array([20.0]))
    assert (lo[0], hi[0]) == (15, 24)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"threshold": 0}, "threshold must be a whole number, 1 or more"),
        ({"threshold": 2.5}, "threshold must be a whole number"),
        ({"count_round": 0}, "count_round"),
        ({"threshold": 2, "count_round": 5}, "would be published as 0"),
        ({"min_base": -1}, "min_base"),
        ({"estimate_round": float("nan")}, "estimate_round"),
        ({"protection": 0}, "protection"),
    ],
)
def test_bad_rules(kwargs, needle):
    with pytest.raises(CarepopError, match=needle) as err:
        DisclosureRules(**kwargs)
    assert err.value.code == "bad_rule"


def test_estimates_rounded_and_low_bases_blanked():
    table = pd.DataFrame(
        {
            "area": ["A", "B", "C"],
            "carers": [12344.0, 5.0, 987.0],
            "carers_lower": [11001.0, 0.0, 880.0],
            "rate": [0.123456, 0.5, 0.0987],
            "people": [3, 40, 120],
            "n": [120, 49, 50],
        }
    )
    before = table.copy()
    out = protect_estimates(table, totals=["carers", "carers_lower"], rates=["rate"], counts=["people"])
    pd.testing.assert_frame_equal(table, before)
    t = out.table
    assert t["carers"].tolist()[0::2] == [12340.0, 990.0] and np.isnan(t["carers"][1])
    assert t["carers_lower"].tolist()[0::2] == [11000.0, 880.0]
    assert t["rate"].tolist()[0] == pytest.approx(0.123) and t["rate"].tolist()[2] == pytest.approx(0.099)
    assert t["people"].tolist() == [pd.NA, pd.NA, 120]  # 3 suppressed; B's base 49 < 50
    assert t["status"].tolist() == ["published", "base below 50", "published"]
    assert t["n"].tolist() == [120, 49, 50]
    assert out.record["rows_suppressed_low_base"] == 1 and out.record["min_base"] == 50
    lax = protect_estimates(table, totals=["carers"], rules=DisclosureRules(min_base=0, estimate_round=0))
    assert lax.table["carers"].tolist() == table["carers"].tolist()


def test_estimates_bad_columns():
    table = pd.DataFrame({"carers": [1.0], "n": [60]})
    with pytest.raises(CarepopError, match="no column 'x'"):
        protect_estimates(table, totals=["x"])
    with pytest.raises(CarepopError, match="no column 'n'"):
        protect_estimates(table.drop(columns="n"), totals=["carers"])
    with pytest.raises(CarepopError, match="status"):
        protect_estimates(table.assign(status="x"), totals=["carers"])


# ------------------------------------------------------------------------------ worked examples
def councils(seed: int = 3) -> pd.DataFrame:
    """3 regions x 4 councils x 2 sexes, counts 20-60, with a planted 3 in council B2, female."""
    rng = np.random.default_rng(seed)
    rows = [(f"R{r}", f"R{r}C{c}", s) for r in range(3) for c in range(4) for s in ("F", "M")]
    data = pd.DataFrame(rows, columns=["region", "la", "sex"])
    data["n"] = rng.integers(20, 60, len(data))
    data.loc[(data["la"] == "R1C2") & (data["sex"] == "F"), "n"] = 3
    return data


def test_planted_small_cell_in_council_by_sex_table_is_protected():
    data = councils()
    before = data.copy()
    out = protect_table(data, "n", [("region", "la"), "sex"])
    pd.testing.assert_frame_equal(data, before)
    t = out.table
    planted = cell(t, region="R1", la="R1C2", sex="F")
    assert planted["status"] == "primary" and pd.isna(planted["value"])
    # its council total would give it back: the other sex (or the total) is suppressed too
    row = t[(t["la"] == "R1C2")]
    assert (row["status"] != "published").sum() >= 2
    # so would the region's female total: another council's female count is suppressed
    col = t[(t["region"] == "R1") & (t["sex"] == "F") & (t["la"] != TOTAL)]
    assert (col["status"] != "published").sum() >= 2
    # nothing else is small, so regions and England stay published
    assert (t.loc[t["region"] == TOTAL, "status"] == "published").all()
    assert (t.loc[t["la"] == TOTAL, "status"] == "published").all()
    assert out.audit["protected"].all()
    assert out.audit.loc[out.audit["status"] == "primary", "width"].min() >= 8
    published = t["value"].dropna().to_numpy(dtype=int)
    assert not ((published >= 1) & (published <= 7)).any() and (published % 5 == 0).all()
    assert out.record["primary"] == 1 and out.record["secondary"] >= 3


def test_a_cell_its_margin_would_reveal_gets_a_complementary_suppression():
    data = pd.DataFrame({"service": ["home care", "nursing", "residential"], "n": [4, 50, 120]})
    out = protect_table(data, "n", "service", rules=DisclosureRules(count_round=1))
    t = out.table.set_index("service")
    assert t.loc["home care", "status"] == "primary"
    assert t.loc["nursing", "status"] == "secondary"  # the cheaper neighbour
    assert t.loc["residential", "status"] == "published" and t.loc[TOTAL, "value"] == 174
    a = out.audit.set_index("service")
    assert (a.loc["home care", "lower"], a.loc["home care", "upper"]) == (1, 53)


def test_small_margin_is_suppressed_and_protected_too():
    # council C's total (2 + 3 = 5) is small as well as its cells
    data = pd.DataFrame(
        {"la": ["A", "A", "B", "B", "C", "C"], "sex": list("FMFMFM"), "n": [30, 40, 25, 35, 2, 3]}
    )
    out = protect_table(data, "n", ["la", "sex"])
    t = out.table
    assert cell(t, la="C", sex=TOTAL)["status"] == "primary"
    assert out.audit["protected"].all()


def bridged() -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """A 4x4 table and a pattern with two suppressions in every row and column whose cell (r1, c3)
    joins two cycles: a bridge, worked out exactly from the margins."""
    rows = [f"r{i}" for i in range(1, 5)]
    cols = [f"c{j}" for j in range(1, 5)]
    data = pd.DataFrame([(r, c) for r in rows for c in cols], columns=["row", "col"])
    data["n"] = [20, 30, 5, 40, 25, 35, 45, 50, 30, 20, 25, 35, 40, 45, 30, 20]
    pattern = [("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"), ("r3", "c3"), ("r3", "c4"),
               ("r4", "c3"), ("r4", "c4"), ("r1", "c3")]  # fmt: skip
    return data, pattern


def test_two_suppressions_per_line_can_leave_a_cell_exact_and_the_audit_sees_it():
    data, pattern = bridged()
    rules = DisclosureRules(count_round=1)
    table = count_table(data, "n", ["row", "col"])
    keys = list(zip(table.cells["row"], table.cells["col"], strict=True))
    status = np.array(["secondary" if k in pattern else "published" for k in keys], dtype=object)
    status[keys.index(("r1", "c3"))] = "primary"
    checked = audit(table, status, rules)
    bridge = cell(checked, row="r1", col="c3")
    assert (bridge["lower"], bridge["upper"], bridge["protected"]) == (5, 5, False)
    # every other suppressed cell is on a cycle: free to move
    assert (checked.loc[checked["status"] == "secondary", "width"] > 0).all()
    # carepop's own suppression of the same table protects the cell
    out = protect_table(data, "n", ["row", "col"], rules=rules)
    assert cell(out.audit, row="r1", col="c3")["width"] >= 8


def test_rounded_margins_are_modelled_as_intervals():
    """x = 4 is suppressed and y (the cheaper neighbour) with it; z = 120 is published as 120, so
    118..122, and the total 174 as 175, so 173..177: x + y lies in 51..59 and each of x and y, at
    least 1, in 1..58 (by hand, and by enumerating every table)."""
    data = pd.DataFrame({"a": ["x", "y", "z"], "n": [4, 50, 120]})
    out = protect_table(data, "n", "a")
    t = out.table.set_index("a")
    assert t["status"].tolist() == ["primary", "secondary", "published", "published"]
    assert t.loc["z", "value"] == 120 and t.loc[TOTAL, "value"] == 175
    a = out.audit.set_index("a")
    assert a.loc["x", ["lower", "upper"]].tolist() == [1, 58]
    assert a.loc["y", ["lower", "upper"]].tolist() == [1, 58]
    table = count_table(data, "n", "a")
    s = table.cells["a"].isin(["x", "y"]).to_numpy()
    ref = brute_ranges(data, "n", ["a"], table.cells, s, threshold=8, base=5, top=180)
    assert ref is not None
    by_label = dict(zip(table.cells.loc[s, "a"], ref[s].tolist(), strict=True))
    assert by_label == {"x": [1, 58], "y": [1, 58]}


def test_cost_count_and_public_status():
    data = councils()
    by_count = protect_table(data, "n", [("region", "la"), "sex"], cost="count", public=True)
    assert set(by_count.table["status"]) == {"published", "suppressed"}
    assert by_count.audit["protected"].all()


def test_three_dimensions_use_the_integer_audit():
    rng = np.random.default_rng(4)
    idx = pd.MultiIndex.from_product([["a", "b"], ["x", "y"], ["u", "v", "w"]], names=["p", "q", "r"])
    data = idx.to_frame(index=False)
    data["n"] = rng.integers(0, 25, len(data))
    data.loc[0, "n"] = 2
    table = count_table(data, "n", ["p", "q", "r"])
    assert not table.exact_lp
    out = protect_table(data, "n", ["p", "q", "r"])
    assert "milp" in out.record["audit"] and out.audit["protected"].all()


def test_missing_combinations_are_known_zeros():
    data = pd.DataFrame({"la": ["A", "A", "B"], "sex": ["F", "M", "F"], "n": [3, 40, 30]})
    out = protect_table(data, "n", ["la", "sex"])
    assert len(out.table) == 3 + 2 + 2 + 1 - 0  # inner 3, la totals 2, sex totals 2, grand total 1
    assert out.audit["protected"].all()


# ------------------------------------------------------------------------------ bad input
def _set(col, row, value, dtype=None):
    """A change to the good table: ``col`` at 0-based ``row`` set to ``value``."""

    def change(d):
        v = d[col].astype(dtype) if dtype else d[col].copy()
        v[row] = value
        return d.assign(**{col: v})

    return change


BAD = [
    (_set("n", 2, -4), ["la", "sex"], "negative_count", "rows: 3"),
    (_set("n", 1, 2.5, float), ["la", "sex"], "not_a_count", "2.5"),
    (_set("n", 0, "x", object), ["la", "sex"], "not_a_count", "'x'"),
    (_set("n", 4, np.nan, float), ["la", "sex"], "not_a_count", "rows: 5"),
    (lambda d: pd.concat([d, d.iloc[[1]]]), ["la", "sex"], "duplicate_cell", "rows: 2, 7"),
    (lambda d: d, ["la", "age"], "unknown_column", "'age'"),
    (_set("sex", 3, "Total"), ["la", "sex"], "reserved_category", "rows: 4"),
    (
        lambda d: d.assign(region=["R1", "R1", "R2", "R2", "R2", "R1"]),
        [("region", "la"), "sex"],
        "not_nested",
        "under more than one region",
    ),
    (lambda d: d, ["la", "la"], "bad_by", "once"),
]


@pytest.mark.parametrize("change, by, code, needle", BAD)
def test_bad_tables(change, by, code, needle):
    data = pd.DataFrame(
        {"la": ["A", "A", "B", "B", "C", "C"], "sex": list("FMFMFM"), "n": [30, 40, 25, 35, 2, 3]}
    )
    with pytest.raises(CarepopError) as err:
        protect_table(change(data), "n", by)
    assert err.value.code == code
    assert needle in str(err.value)


def test_missing_count_column_and_bad_cost():
    data = pd.DataFrame({"la": ["A"], "n": [3]})
    with pytest.raises(CarepopError, match="no column 'm'"):
        protect_table(data, "m", "la")
    with pytest.raises(CarepopError, match="cost"):
        suppress(count_table(data, "n", "la"), cost="cells")


def test_empty_table_and_rules_from_a_config_section():
    with pytest.raises(CarepopError, match="no cells"):
        protect_table(pd.DataFrame({"la": [], "n": []}), "n", "la")
    assert rules_from({"threshold": 10, "count_round": 10}) == DisclosureRules(threshold=10, count_round=10)
    assert rules_from(None) == DisclosureRules()
    with pytest.raises(CarepopError, match="Unknown disclosure rule 'thresh'"):
        rules_from({"thresh": 10})

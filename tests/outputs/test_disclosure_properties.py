"""Property tests of disclosure control on random tables (1-D, 2-D with both margins, councils
within regions within England, crossed with sex): no published cell is a small count, every
suppressed small count keeps a range at least the protection width wide, the LP audit equals the
integer programme where the constraint matrix is totally unimodular, and on tables small enough
to enumerate the audit equals every table an attacker could hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from carepop.outputs.disclosure import DisclosureRules, audit, count_table, protect_table, suppress
from tests.outputs.brute import brute_ranges

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: counts with many small ones (and zeros) so that suppression has work to do
COUNT = st.one_of(st.integers(0, 9), st.integers(0, 60))
RULES = st.sampled_from(
    [
        DisclosureRules(),
        DisclosureRules(count_round=1),
        DisclosureRules(threshold=5, count_round=1, protection=6),
    ]
)


@st.composite
def one_way(draw):
    k = draw(st.integers(1, 6))
    return pd.DataFrame(
        {"a": [f"a{i}" for i in range(k)], "n": draw(st.lists(COUNT, min_size=k, max_size=k))}
    ), "a"


@st.composite
def two_way(draw):
    r, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    idx = pd.MultiIndex.from_product(
        [[f"r{i}" for i in range(r)], [f"c{j}" for j in range(c)]], names=["a", "b"]
    )
    data = idx.to_frame(index=False)
    data["n"] = draw(st.lists(COUNT, min_size=r * c, max_size=r * c))
    if draw(st.booleans()):  # some combinations absent (known zeros)
        keep = draw(st.lists(st.booleans(), min_size=r * c, max_size=r * c))
        assume(any(keep))
        data = data[keep]
    return data.reset_index(drop=True), ["a", "b"]


@st.composite
def councils(draw):
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    rows = [(f"R{r}", f"R{r}L{i}") for r, size in enumerate(sizes) for i in range(size)]
    crossed = draw(st.booleans())
    if crossed:
        rows = [(*row, s) for row in rows for s in ("F", "M")]
    data = pd.DataFrame(rows, columns=["region", "la", *(["sex"] if crossed else [])])
    data["n"] = draw(st.lists(COUNT, min_size=len(data), max_size=len(data)))
    return data, [("region", "la"), *(["sex"] if crossed else [])]


TABLES = st.one_of(one_way(), two_way(), councils())


@SETTINGS
@given(TABLES, RULES, st.sampled_from(["value", "count"]))
def test_no_small_count_published_and_every_audit_holds(case, rules, cost):
    data, by = case
    before = data.copy()
    out = protect_table(data, "n", by, rules=rules, cost=cost)
    pd.testing.assert_frame_equal(data, before)
    t = out.table
    shown = t["value"].dropna().to_numpy(dtype=int)
    assert not ((shown >= 1) & (shown < rules.threshold)).any()
    assert (shown % rules.count_round == 0).all()
    assert (t["value"].isna() == (t["status"] != "published")).all()
    # the audit, recomputed from the statuses alone
    table = count_table(data, "n", by)
    status = suppress(table, rules, cost=cost)
    checked = audit(table, status, rules)
    primary = checked[checked["status"] == "primary"]
    assert (primary["upper"] - primary["lower"] >= rules.width - 1e-6).all()
    assert (primary["lower"] >= 1).all()  # zeros are published: a suppressed cell is 1 or more
    # every small count in the exact table is suppressed
    small = (table.cells["count"] >= 1) & (table.cells["count"] < rules.threshold)
    assert (status[small.to_numpy()] == "primary").all()


@SETTINGS
@given(TABLES, RULES)
def test_lp_bounds_are_the_integer_bounds_for_these_shapes(case, rules):
    data, by = case
    table = count_table(data, "n", by)
    assert table.exact_lp
    status = suppress(table, rules)
    lp = audit(table, status, rules, integer=False)
    ip = audit(table, status, rules, integer=True)
    np.testing.assert_allclose(
        lp[["lower", "upper"]].to_numpy(), ip[["lower", "upper"]].to_numpy(), atol=1e-6
    )


@st.composite
def tiny(draw):
    """Tables whose attacker tables can be enumerated: up to 4 inner cells, counts up to 14."""
    small = st.integers(0, 14)
    shape = draw(st.sampled_from(["1d", "2x2", "nested"]))
    if shape == "1d":
        k = draw(st.integers(1, 4))
        return pd.DataFrame(
            {"a": [f"a{i}" for i in range(k)], "n": draw(st.lists(small, min_size=k, max_size=k))}
        ), ["a"]
    if shape == "2x2":
        data = pd.DataFrame({"a": ["r0", "r0", "r1", "r1"], "b": ["c0", "c1", "c0", "c1"]})
        data["n"] = draw(st.lists(small, min_size=4, max_size=4))
        return data, ["a", "b"]
    data = pd.DataFrame({"region": ["R0", "R0", "R1", "R1"], "la": ["A", "B", "C", "D"]})
    data["n"] = draw(st.lists(small, min_size=4, max_size=4))
    return data, [("region", "la")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny(), RULES)
def test_audit_equals_the_enumeration_of_every_possible_table(case, rules):
    data, by = case
    table = count_table(data, "n", by)
    status = suppress(table, rules)
    s = status != "published"
    checked = audit(table, status, rules)
    columns = table.columns
    top = int(table.cells["count"].max()) + rules.count_round
    ref = brute_ranges(data, "n", columns, table.cells, s, threshold=rules.threshold, base=rules.count_round,
                       top=top)  # fmt: skip
    assume(ref is not None)
    expected = table.cells.loc[s, columns].assign(lo=ref[s, 0], hi=ref[s, 1])
    both = checked.merge(expected, on=columns, validate="one_to_one")
    assert len(both) == s.sum()
    got = np.minimum(both[["lower", "upper"]].to_numpy(), top)  # the enumeration stops at top
    np.testing.assert_allclose(got, np.minimum(both[["lo", "hi"]].to_numpy(), top), atol=1e-6)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(COUNT, min_size=8, max_size=8), RULES)
def test_three_way_tables_are_judged_by_the_integer_programme(counts, rules):
    """2 x 2 x 2 with all margins: not totally unimodular, so the integer bounds decide; they lie
    inside the LP's and still give every small count its protection width."""
    idx = pd.MultiIndex.from_product([["a0", "a1"], ["b0", "b1"], ["c0", "c1"]], names=["a", "b", "c"])
    data = idx.to_frame(index=False).assign(n=counts)
    out = protect_table(data, "n", ["a", "b", "c"], rules=rules)
    assert "milp" in out.record["audit"]
    primary = out.audit[out.audit["status"] == "primary"]
    assert (primary["width"] >= rules.width - 1e-6).all()
    table = count_table(data, "n", ["a", "b", "c"])
    status = suppress(table, rules)
    lp = audit(table, status, rules, integer=False)
    ip = audit(table, status, rules, integer=True)
    assert (ip["lower"] >= lp["lower"] - 1e-6).all() and (ip["upper"] <= lp["upper"] + 1e-6).all()

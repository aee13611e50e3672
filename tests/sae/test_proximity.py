"""Proximity matrices: tables of pairs, and the council adjacency derived from ONS boundaries.

R's ``grapesprox`` (sae 1.3) is the reference for reading a table: tests/sae/fixtures/grapes/
grapesprox.csv holds its non-zero entries (``which(W != 0, arr.ind = TRUE)``, see make_fixtures.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from carepop.errors import ModelError
from carepop.sae.proximity import council_adjacency, read_proximity, row_standardise
from carepop.sources.boundaries import (
    bundled_council_adjacency,
    bundled_councils,
    topojson_areas,
    topojson_neighbours,
)

FIX = Path(__file__).parent / "fixtures" / "grapes"
SHARED_TOPOLOGY = Path("/work/shared/data/boundaries/ons_uk_boundaries_topo.json")

MANCHESTER, SALFORD, TRAFFORD = "E08000003", "E08000006", "E08000009"
ISLE_OF_WIGHT, SCILLY, HAMPSHIRE = "E06000046", "E06000053", "E10000014"


def councils_2023() -> list[str]:
    c = bundled_councils()
    return c.loc[c["code"].str.startswith("E") & (c["start"] <= 2023) & (c["end"] >= 2023), "code"].tolist()


# --- read_proximity ----------------------------------------------------------------------------


def test_grapesprox_round_trip() -> None:
    table = pd.read_csv(FIX / "grapesprox.csv")
    areas = np.arange(1, 275)
    W = read_proximity(FIX / "grapesprox.csv", areas, standardise=False)
    assert W.shape == (274, 274)
    assert W.nnz == len(table)
    np.testing.assert_array_equal(W[table["from"] - 1, table["to"] - 1].A1, table["weight"])
    # grapesprox is row-standardised already (to R's rounding): standardising changes nothing
    Ws = read_proximity(FIX / "grapesprox.csv", areas)
    np.testing.assert_allclose(Ws.toarray(), W.toarray(), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(Ws.sum(axis=1)).ravel(), 1.0, rtol=1e-15)


def test_rows_follow_the_order_of_the_areas() -> None:
    table = pd.DataFrame(
        {"from": ["a", "a", "b", "c"], "to": ["b", "c", "a", "a"], "weight": [1.0, 3.0, 2.0, 1.0]}
    )
    W = read_proximity(table, ["c", "b", "a"]).toarray()
    # row a: b 1/4, c 3/4; row b: a 1; row c: a 1
    np.testing.assert_allclose(W, [[0, 0, 1], [0, 0, 1], [0.75, 0.25, 0]])


def test_symmetric_table_and_default_weight() -> None:
    table = pd.DataFrame({"from": ["a", "b"], "to": ["b", "c"]})
    W = read_proximity(table, ["a", "b", "c"], symmetric=True, standardise=False).toarray()
    np.testing.assert_array_equal(W, [[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    Ws = read_proximity(table, ["a", "b", "c"], symmetric=True).toarray()
    np.testing.assert_allclose(Ws, [[0, 1, 0], [0.5, 0, 0.5], [0, 1, 0]])


def test_area_without_neighbours_gets_a_zero_row_and_a_warning() -> None:
    table = pd.DataFrame({"from": ["a", "b", "c"], "to": ["b", "a", "a"], "weight": [1, 1, 0]})
    with pytest.warns(UserWarning, match=r"2 area\(s\) have no neighbours.*: c, d\."):
        W = read_proximity(table, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(W.toarray()[2:], 0)


def test_codes_are_compared_as_text(tmp_path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("from,to,weight\n01,02,1\n02,01,1\n")
    W = read_proximity(path, ["01", "02"])
    np.testing.assert_array_equal(W.toarray(), [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("table", "kwargs", "code", "rows"),
    [
        ({"from": ["a", "b"], "to": ["b", "a"], "weight": [1, -1]}, {}, "negative_weight", [2]),
        ({"from": ["a", "b", "b"], "to": ["b", "a", "b"], "weight": [1, 1, 1]}, {}, "self_loop", [3]),
        ({"from": ["a", "b", "a"], "to": ["b", "a", "b"], "weight": [1, 1, 2]}, {}, "duplicate_pair", [3]),
        ({"from": ["a", "b"], "to": ["b", "a"]}, {"symmetric": True}, "duplicate_pair", [2]),
        ({"from": ["a", "b"], "to": ["b", "a"], "weight": [1, "x"]}, {}, "bad_weight", [2]),
        ({"from": ["a", None], "to": ["b", "a"]}, {}, "missing_area", [2]),
        ({"source": ["a"], "to": ["b"]}, {}, "missing_column", None),
    ],
)
def test_bad_tables(table, kwargs, code, rows) -> None:
    with pytest.raises(ModelError) as err:
        read_proximity(pd.DataFrame(table), ["a", "b"], **kwargs)
    assert err.value.code == code
    assert err.value.rows == rows


def test_unknown_areas_are_named_or_dropped() -> None:
    table = pd.DataFrame({"from": ["a", "b", "x", "a"], "to": ["b", "a", "a", "y"]})
    with pytest.raises(ModelError) as err:
        read_proximity(table, ["a", "b"])
    assert err.value.code == "unknown_area"
    assert err.value.got == ["x", "y"]
    assert err.value.rows == [3, 4]
    assert "drop_unknown=True" in err.value.fix
    W = read_proximity(table, ["a", "b"], drop_unknown=True)
    np.testing.assert_array_equal(W.toarray(), [[0, 1], [1, 0]])


def test_areas_must_be_distinct() -> None:
    with pytest.raises(ModelError) as err:
        read_proximity(pd.DataFrame({"from": ["a"], "to": ["b"]}), ["a", "b", "a"])
    assert err.value.code == "duplicate_area"


def test_row_standardise_keeps_zero_rows() -> None:
    W = row_standardise(sp.csr_matrix([[0, 2, 2], [0, 0, 0], [5, 0, 0]]))
    np.testing.assert_allclose(W.toarray(), [[0, 0.5, 0.5], [0, 0, 0], [1, 0, 0]])


# --- council adjacency -------------------------------------------------------------------------


def test_known_council_neighbours() -> None:
    areas = councils_2023()
    assert len(areas) == 153
    with pytest.warns(UserWarning, match="E06000046, E06000053"):
        A = council_adjacency(areas, standardise=False)
    pos = {c: i for i, c in enumerate(areas)}

    def neighbours(code: str) -> set[str]:
        return {areas[j] for j in A[pos[code]].indices}

    manchester = neighbours(MANCHESTER)
    assert {SALFORD, TRAFFORD} <= manchester
    # Manchester's borders: the other Greater Manchester boroughs it touches, and Cheshire East (the airport)
    assert manchester == {
        "E08000002",
        "E08000004",
        "E08000005",
        SALFORD,
        "E08000007",
        "E08000008",
        TRAFFORD,
        "E06000049",
    }
    # islands: no shared arc with any council
    assert neighbours(ISLE_OF_WIGHT) == set() and neighbours(SCILLY) == set()
    assert ISLE_OF_WIGHT not in neighbours(HAMPSHIRE)
    # every other English council of 2023 has a land neighbour
    assert set(np.array(areas)[np.diff(A.indptr) == 0]) == {ISLE_OF_WIGHT, SCILLY}


def test_council_adjacency_is_symmetric_before_standardising() -> None:
    areas = councils_2023()
    with pytest.warns(UserWarning):
        A = council_adjacency(areas, standardise=False)
        W = council_adjacency(areas)
    assert set(np.unique(A.data)) == {1.0}
    assert (A != A.T).nnz == 0
    sums = np.asarray(W.sum(axis=1)).ravel()
    np.testing.assert_allclose(sums[sums > 0], 1.0)


def test_council_subset_ignores_outside_neighbours() -> None:
    W = council_adjacency([MANCHESTER, SALFORD, TRAFFORD])
    np.testing.assert_allclose(W.toarray(), [[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])


def test_unknown_council_code() -> None:
    with pytest.raises(ModelError) as err:
        council_adjacency([MANCHESTER, "E07000001", "E99999999"])
    assert err.value.code == "unknown_area"
    assert err.value.got == ["E07000001", "E99999999"]


def test_replaced_and_new_councils_are_not_neighbours() -> None:
    """Northamptonshire (to 2020) shares arcs with North Northamptonshire (from 2021) but they
    never coexisted, so they are no pair; each is paired with the councils around it in its time."""
    pairs = bundled_council_adjacency()
    keys = set(zip(pairs["from"], pairs["to"], strict=True))
    assert ("E06000061", "E10000021") not in keys
    assert ("E06000061", "E06000062") in keys  # North and West Northamptonshire
    assert ("E10000018", "E10000021") in keys  # Leicestershire - Northamptonshire
    assert ("E06000061", "E10000018") in keys  # Leicestershire - North Northamptonshire
    assert (pairs["from"] < pairs["to"]).all()
    assert not pairs.duplicated().any()


# --- the TopoJSON reader -----------------------------------------------------------------------

#: three squares in a row (A | B | C) and D touching C at a corner only; C ends in 2018, E starts
#: in 2019 and shares C's arc with B
TOY = {
    "type": "Topology",
    "arcs": [
        [[0, 0], [0, 1]],
        [[1, 0], [1, 1]],
        [[2, 0], [2, 1]],
        [[0, 0], [1, 0]],
        [[3, 1], [3, 2]],
        [[9, 9]],
    ],
    "objects": {
        "utla": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "arcs": [[0, 1]], "properties": {"areacd": "A", "areanm": "a"}},
                {"type": "Polygon", "arcs": [[-2, 2, 3]], "properties": {"areacd": "B", "areanm": "b"}},
                {
                    "type": "MultiPolygon",
                    "arcs": [[[~2, 5]], [[4]]],
                    "properties": {"areacd": "C", "areanm": "c", "end": 2018},
                },
                {"type": "Polygon", "arcs": [[5]], "properties": {"areacd": "D", "areanm": "d"}},
                {
                    "type": "Polygon",
                    "arcs": [[2]],
                    "properties": {"areacd": "E", "areanm": "e", "start": 2019},
                },
            ],
        }
    },
}


def test_topojson_neighbours_share_an_arc_and_coexist() -> None:
    pairs = topojson_neighbours(TOY, "utla")
    # A-B share arc 1; B-C share arc 2 (C uses it reversed); C-D share arc 5; B-E share arc 2;
    # C-E share arc 2 but never coexisted
    got = list(zip(pairs["from"], pairs["to"], strict=True))
    assert got == [("A", "B"), ("B", "C"), ("B", "E"), ("C", "D")]
    areas = topojson_areas(TOY, "utla")
    assert areas.loc[areas["code"] == "C", "end"].item() == 2018
    assert areas.loc[areas["code"] == "A", "start"].item() == 2014


def test_topojson_unknown_layer() -> None:
    with pytest.raises(Exception, match="no such layer"):
        topojson_neighbours(TOY, "ltla")


@pytest.mark.skipif(not SHARED_TOPOLOGY.exists(), reason="the ONS TopoJSON is not bundled")
def test_bundled_table_is_what_the_topology_gives() -> None:
    topology = json.loads(SHARED_TOPOLOGY.read_text(encoding="utf-8"))
    made = topojson_neighbours(topology, "utla")
    pd.testing.assert_frame_equal(made.astype(str), bundled_council_adjacency())
    assert len(bundled_councils()) == len(topojson_areas(topology, "utla")) == 230

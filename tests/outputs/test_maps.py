"""Council choropleth and district hex map (carepop.outputs.maps)."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.outputs import maps
from carepop.sources.boundaries import bundled_councils
from carepop.sources.census import bundled_path

SVG = "{http://www.w3.org/2000/svg}"
SHARED = Path("/work/shared/data/boundaries")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def councils_2023() -> pd.DataFrame:
    """The 153 councils of 2023 from the bundled adjacency table (made from the full ONS file)."""
    c = bundled_councils()
    return c[c["code"].str.startswith("E") & (c["start"] <= 2023) & (c["end"] >= 2023)]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    c = councils_2023().reset_index(drop=True)
    rng = np.random.default_rng(7)
    est = rng.uniform(0.05, 0.2, len(c))
    return pd.DataFrame(
        {
            "area_code": c["code"],
            "area_name": c["name"],
            "estimate": est,
            "ci_lower": est - 0.02,
            "ci_upper": est + 0.02,
        }
    )


def areas(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter() if e.get("class") == "area"]


def test_153_council_paths_each_code_once(table):
    svg = maps.choropleth_svg(table, title="t")
    paths = areas(svg)
    codes = [p.get("data-code") for p in paths]
    assert len(paths) == 153
    assert len(set(codes)) == 153
    assert set(codes) == set(councils_2023()["code"])
    assert all(p.tag == SVG + "path" for p in paths)


def test_path_data_is_finite_closed_and_inside_the_view_box():
    shapes, (w, h) = maps.council_paths()
    d = " ".join(shapes["d"])
    assert "nan" not in d.lower() and "inf" not in d.lower()
    for path in shapes["d"]:
        for ring in path.split("Z")[:-1]:
            xy = np.array(NUMBER.findall(ring), dtype=float).reshape(-1, 2)
            assert np.isfinite(xy).all()
            assert (xy >= 0).all() and (xy[:, 0] <= w).all() and (xy[:, 1] <= h).all()
            # every ring ends where it started: arcs were joined in order and reversed where asked
            # (atol: coordinates are written with one decimal in the SVG path, so 0.1 plus rounding)
            assert np.allclose(xy[0], xy[-1], atol=0.11), path[:40]


def test_geography_is_the_right_way_up():
    shapes, _ = maps.council_paths()
    at = shapes.set_index("name")[["cx", "cy"]]
    assert at.loc["Northumberland", "cy"] < at.loc["Cornwall", "cy"]  # north is up
    assert at.loc["Cornwall", "cx"] < at.loc["Kent", "cx"]  # west is left
    assert at.loc["Norfolk", "cx"] > at.loc["Cumberland", "cx"]


def test_decode_arcs_by_hand():
    topo = {
        "transform": {"scale": [0.5, 2.0], "translate": [10.0, -1.0]},
        "arcs": [[[1, 2], [3, 0], [0, -1]], [[4, 4], [-4, 0]]],
    }
    points, starts = maps.decode_arcs(topo)
    # arc 0: (1,2) (4,2) (4,1); arc 1: (4,4) (0,4); then x*0.5+10, y*2-1
    expected = np.array([[10.5, 3], [12, 3], [12, 1], [12, 7], [10, 7]])
    np.testing.assert_allclose(points, expected)
    assert starts.tolist() == [0, 3, 5]


def test_polygon_and_reversed_arc_by_hand():
    # a unit square from two arcs; the second used reversed: ~1 = -2
    topo = {
        "type": "Topology",
        "arcs": [[[0, 0], [1, 0], [1, 1]], [[0, 0], [0, 1], [1, 1]]],
        "objects": {
            "utla": {
                "type": "GeometryCollection",
                "geometries": [
                    {
                        "type": "Polygon",
                        "arcs": [[0, -2]],
                        "properties": {"areacd": "E06000001", "areanm": "Square"},
                    }
                ],
            }
        },
    }
    shapes, _ = maps.council_paths(topo, width=100)
    xy = np.array(NUMBER.findall(shapes["d"][0]), dtype=float).reshape(-1, 2)
    assert len(xy) == 5  # 3 + 3 points, the shared one written once
    np.testing.assert_allclose(xy[0], xy[-1])
    # the second arc is walked backwards: (1,1) -> (0,1) -> (0,0)
    assert xy[2, 0] > xy[3, 0] and xy[4, 1] == xy[0, 1]


def test_colours_follow_the_values(table):
    svg = maps.choropleth_svg(table, bins=5)
    palette = maps.sequential_palette(5)
    fill = {p.get("data-code"): p.get("fill") for p in areas(svg)}
    order = table.sort_values("estimate")["area_code"]
    rank = [palette.index(fill[c]) for c in order]
    assert rank == sorted(rank)
    assert rank[0] == 0 and rank[-1] == 4
    # quantile classes: about a fifth of the councils in each
    assert np.bincount(rank).min() >= 28


def test_palette_runs_light_to_dark():
    from matplotlib.colors import to_rgb

    lum = [np.dot(to_rgb(c), [0.2126, 0.7152, 0.0722]) for c in maps.sequential_palette(6)]
    assert np.all(np.diff(lum) < 0)


def test_tooltips_name_value_and_interval(table):
    svg = maps.choropleth_svg(table, label="rate", value_format="{:.1%}")
    tips = {p.get("data-code"): p.find(SVG + "title").text for p in areas(svg)}
    row = table.iloc[10]
    tip = tips[row["area_code"]]
    assert row["area_name"] in tip and row["area_code"] in tip
    assert f"{row['estimate']:.1%}" in tip and f"{row['ci_lower']:.1%} to {row['ci_upper']:.1%}" in tip


def test_missing_and_suppressed_are_marked(table):
    t = table.copy()
    t.loc[0, "estimate"] = np.nan
    t["suppressed"] = False
    t.loc[1, "suppressed"] = True
    t = t.drop(index=2)  # a council absent from the table: no value
    before = t.copy()
    svg = maps.choropleth_svg(t, id_prefix="x")
    pd.testing.assert_frame_equal(t, before)  # the input is not changed
    fill = {p.get("data-code"): p.get("fill") for p in areas(svg)}
    assert fill[table.loc[0, "area_code"]] == "url(#x-na)"
    assert fill[table.loc[2, "area_code"]] == "url(#x-na)"
    assert fill[table.loc[1, "area_code"]] == "url(#x-sup)"
    tips = {p.get("data-code"): p.find(SVG + "title").text for p in areas(svg)}
    assert "suppressed" in tips[table.loc[1, "area_code"]]
    assert f"{table.loc[1, 'estimate']:.3g}" not in tips[table.loc[1, "area_code"]]  # never shown
    legend = "".join(ET.fromstring(svg).itertext())
    assert "no value" in legend and "suppressed" in legend


def test_other_areas_ignored_and_text_escaped(table):
    t = pd.concat(
        [table, pd.DataFrame({"area_code": ["E92000001", "E12000001"], "estimate": [0.1, 0.2]})],
        ignore_index=True,
    )
    t.loc[0, "area_name"] = 'A <b>"bold"</b> & council'
    before = t.copy()
    svg = maps.choropleth_svg(t, title="<script>x</script>")
    assert "<script>" not in svg and "<b>" not in svg
    assert len(areas(svg)) == 153  # parses: the name was escaped
    pd.testing.assert_frame_equal(t, before)


def test_bad_tables_name_the_column_and_rows(table):
    with pytest.raises(CarepopError) as e:
        maps.choropleth_svg(table.drop(columns="estimate"))
    assert e.value.code == "missing_column" and e.value.column == "estimate"
    old = table.copy()
    old.loc[4, "area_code"] = "E10000021"  # Northamptonshire, abolished in 2021
    with pytest.raises(CarepopError) as e:
        maps.choropleth_svg(old)
    assert e.value.code == "unknown_area" and e.value.rows == [5]
    dup = pd.concat([table, table.iloc[[3]]], ignore_index=True)
    with pytest.raises(CarepopError) as e:
        maps.choropleth_svg(dup)
    assert e.value.code == "duplicate_area" and e.value.rows == [4, 154]
    text = table.astype({"estimate": object})
    text.loc[6, "estimate"] = "about 5"
    with pytest.raises(CarepopError) as e:
        maps.choropleth_svg(text)
    assert e.value.code == "not_numeric" and e.value.rows == [7]


def test_hex_map_has_the_296_english_districts_coloured_by_council(table):
    hexes = maps.hexmap_svg(table, id_prefix="h")
    choro = maps.choropleth_svg(table, id_prefix="h")
    cells = areas(hexes)
    assert len(cells) == 296 and len({c.get("data-code") for c in cells}) == 296
    assert all(c.get("data-code").startswith("E") for c in cells)
    assert {c.get("data-council") for c in cells} == set(councils_2023()["code"])
    council_fill = {p.get("data-code"): p.get("fill") for p in areas(choro)}
    assert all(c.get("fill") == council_fill[c.get("data-council")] for c in cells)
    # a two-tier district names its council in the tooltip
    tip = {c.get("data-code"): c.find(SVG + "title").text for c in cells}
    assert tip["E07000008"].startswith("Cambridge — Cambridgeshire (E10000003)")
    xs = np.array([float(c.get("x")) for c in cells])
    ys = np.array([float(c.get("y")) for c in cells])
    assert np.isfinite(xs).all() and np.isfinite(ys).all()
    assert len(set(zip(xs.round(1), ys.round(1), strict=True))) == 296  # no two hexes on one spot


def test_maps_build_fast(table):
    maps.council_paths()  # the bundled file read once
    start = time.perf_counter()
    maps.choropleth_svg(table)
    assert time.perf_counter() - start < 1.0


def test_bundled_file_is_small_and_packaged():
    path = bundled_path("boundaries", maps.TOPOLOGY_FILE)
    assert path.stat().st_size < 250_000
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '"data/**/*.topojson"' in pyproject and '"data/**/*.hexjson"' in pyproject


@pytest.mark.skipif(
    not (SHARED / "ons_uk_boundaries_topo.json").exists(), reason="the shared ONS file is absent"
)
def test_bundled_files_are_the_reduction_of_the_shared_ones(tmp_path):
    topo = maps.build_bundled_boundaries(SHARED / "ons_uk_boundaries_topo.json", tmp_path / "t.topojson")
    assert (tmp_path / "t.topojson").read_bytes() == bundled_path(
        "boundaries", maps.TOPOLOGY_FILE
    ).read_bytes()
    maps.build_bundled_hexes(SHARED / "uk_lad_2023.hexjson", tmp_path / "h.hexjson")
    assert (tmp_path / "h.hexjson").read_bytes() == bundled_path("boundaries", maps.HEX_FILE).read_bytes()
    # the coarser grid moves no point by more than half a cell (about 20 m)
    full = json.loads((SHARED / "ons_uk_boundaries_topo.json").read_text())
    lon_full = maps.council_paths(full, width=10_000)[0].set_index("code")[["cx", "cy"]]
    lon_small = maps.council_paths(topo, width=10_000)[0].set_index("code")[["cx", "cy"]]
    assert (lon_full - lon_small).abs().to_numpy().max() < 1.0  # 1 unit of 10,000 across England


def test_suppressed_councils_are_named_in_the_legend(table):
    t = table.assign(suppressed=False)
    t.loc[[0, 1, 2, 3, 4], "suppressed"] = True
    svg = maps.choropleth_svg(t)
    names = [e.text for e in ET.fromstring(svg).iter() if e.get("class") == "suppressed-name"]
    assert names == [*t.loc[[0, 1, 2], "area_name"], "and 2 more"]
    hexes = maps.hexmap_svg(t.loc[t.index != 0].assign(suppressed=t["suppressed"].iloc[1:]))
    names = [e.text for e in ET.fromstring(hexes).iter() if e.get("class") == "suppressed-name"]
    assert names == [*t.loc[[1, 2, 3], "area_name"], "and 1 more"]


def areas_km2(rings: pd.DataFrame) -> pd.Series:
    """Signed area of each council (km²) by the shoelace formula in the sinusoidal projection
    (x = λ cos φ, y = φ, times the Earth's mean radius), which is equal-area."""
    radius = 6371.0088
    x = np.radians(rings["lon"]) * np.cos(np.radians(rings["lat"])) * radius
    y = np.radians(rings["lat"]) * radius
    nxt = rings.assign(x=x, y=y).groupby("ring")[["x", "y"]].shift(-1)
    cross = (x * nxt["y"] - nxt["x"] * y) / 2  # NaN at each ring's last point (it closes the ring)
    return cross.groupby(rings["code"]).sum()


def test_council_areas_agree_with_published_areas():
    """The decoded rings enclose the published land areas (ONS Standard Area Measurements as
    published, e.g. England 130,279 km², City of London 2.90 km²) to within the generalisation of
    the super-generalised boundaries; a ring walked in the wrong order or an arc not reversed
    would break this."""
    rings = maps.council_rings()
    signed = areas_km2(rings)
    assert (signed < 0).all()  # every council's exterior rings run the same way (holes the other)
    area = -signed
    assert area.sum() == pytest.approx(130_279, rel=0.01)
    published = {"E06000057": 5_013, "E10000019": 5_921, "E10000020": 5_380, "E09000001": 2.90}
    for code, km2 in published.items():
        assert area[code] == pytest.approx(km2, rel=0.02 if km2 > 100 else 0.05), code


def test_neighbours_touch():
    """Councils that share a border in the bundled adjacency table (made by
    carepop.sources.boundaries from the full ONS file) have boxes that meet on the map."""
    shapes, _ = maps.council_paths()
    box = {}
    for code, d in zip(shapes["code"], shapes["d"], strict=True):
        xy = np.array(NUMBER.findall(d), dtype=float).reshape(-1, 2)
        box[code] = (*xy.min(axis=0), *xy.max(axis=0))
    pairs = pd.read_csv(bundled_path("boundaries", "council_adjacency.csv"))
    pairs = pairs[pairs["from"].isin(box) & pairs["to"].isin(box)]
    assert len(pairs) > 300
    a = np.array([box[c] for c in pairs["from"]])
    b = np.array([box[c] for c in pairs["to"]])
    touch = (
        (a[:, 0] <= b[:, 2] + 0.2)
        & (b[:, 0] <= a[:, 2] + 0.2)
        & (a[:, 1] <= b[:, 3] + 0.2)
        & (b[:, 1] <= a[:, 3] + 0.2)
    )
    assert touch.all()


def test_hex_layout_keeps_neighbours_together(table):
    """odd-r: odd rows shifted right. With the right parity 63% of the pairs of neighbouring
    districts that are councils themselves (bundled adjacency table) are neighbouring hexes; with
    even rows shifted instead it would be 51%."""
    cells = areas(maps.hexmap_svg(table, size=10.0))
    at = pd.DataFrame(
        {"x": [float(c.get("x")) for c in cells], "y": [float(c.get("y")) for c in cells]},
        index=[c.get("data-code") for c in cells],
    )
    pairs = pd.read_csv(bundled_path("boundaries", "council_adjacency.csv"))
    pairs = pairs[pairs["from"].isin(at.index) & pairs["to"].isin(at.index)]
    gap = np.hypot(*(at.loc[pairs["from"]].to_numpy() - at.loc[pairs["to"]].to_numpy()).T)
    assert len(pairs) > 200
    assert np.mean(gap < np.sqrt(3) * 10 + 0.1) > 0.6

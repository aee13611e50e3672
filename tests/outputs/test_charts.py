"""Charts (carepop.outputs.charts): caterpillar, direct vs model, fan chart; reproducible bytes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.outputs import charts


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 153
    est = rng.uniform(0.05, 0.2, n)
    direct = est + rng.normal(0, 0.02, n)
    return pd.DataFrame(
        {
            "area_level": "council",
            "area_code": [f"E06{i:06d}" for i in range(n)],
            "area_name": [f"Council {i}" for i in range(n)],
            "direct": direct,
            "direct_se": rng.uniform(0.01, 0.03, n),
            "estimate": est,
            "ci_lower": est - 0.015,
            "ci_upper": est + 0.015,
        }
    )


@pytest.fixture(scope="module")
def projection() -> pd.DataFrame:
    years = np.arange(2040, 2022, -1)  # unsorted on purpose
    central = 1000.0 + 10 * (years - 2023)
    w = 3.0 * (years - 2022)
    return pd.DataFrame(
        {
            "year": years,
            "estimate": central,
            "ci_lower": central - w,
            "ci_upper": central + w,
            "variant_lower": central - 2 * w,
            "variant_upper": central + 2 * w,
        }
    )


def test_caterpillar_sorted_with_every_council(table):
    t = table.copy()
    t.loc[5, "estimate"] = np.nan
    extra = pd.DataFrame(
        {
            "area_level": ["country"],
            "area_code": ["E92000001"],
            "area_name": ["England"],
            "estimate": [0.5],
            "ci_lower": [0.4],
            "ci_upper": [0.6],
        }
    )
    fig = charts.caterpillar(pd.concat([t, extra], ignore_index=True), reference=0.1, title="x")
    ax = fig.axes[0]
    labels = [lab.get_text() for lab in ax.get_yticklabels()]
    expected = t.dropna(subset=["estimate"]).sort_values("estimate")["area_name"].tolist()
    assert labels == expected  # lowest at the bottom (y = 0), England not among the councils
    assert "1 council(s) without a value (or suppressed) not shown" in ax.get_title(loc="left")
    segments = ax.collections[0].get_segments()
    assert len(segments) == 152
    lo = t.set_index("area_name").loc[expected, "ci_lower"].to_numpy()
    np.testing.assert_allclose([s[0][0] for s in segments], lo)


def test_direct_vs_model_panels(table):
    fig = charts.direct_vs_model(table, value_format="{:.1%}")
    left, right = fig.axes
    np.testing.assert_allclose(left.collections[0].get_offsets(), table[["direct", "estimate"]].to_numpy())
    line = left.get_lines()[0].get_xydata()
    assert np.allclose(line[:, 0], line[:, 1])  # y = x
    widths = right.collections[0].get_offsets()
    np.testing.assert_allclose(widths[:, 0], 2 * 1.959964 * table["direct_se"])
    np.testing.assert_allclose(widths[:, 1], 0.03)
    share = np.mean(0.03 < 2 * 1.959964 * table["direct_se"])
    assert f"model narrower for {share:.0%}" in right.get_title(loc="left")
    only = charts.direct_vs_model(table.drop(columns="direct_se"))
    assert len(only.axes) == 1


def test_fan_chart_sorted_bands(projection):
    fig = charts.fan_chart(projection, title="p")
    ax = fig.axes[0]
    line = ax.get_lines()[0].get_xydata()
    assert line[:, 0].tolist() == sorted(projection["year"].tolist())
    assert len(ax.collections) == 2  # variant band and interval band
    no_variants = charts.fan_chart(projection.drop(columns=["variant_lower", "variant_upper"]))
    assert len(no_variants.axes[0].collections) == 1


def test_fan_chart_refuses_two_rows_for_a_year(projection):
    dup = pd.concat([projection, projection.iloc[[0]]], ignore_index=True)
    with pytest.raises(CarepopError) as e:
        charts.fan_chart(dup)
    assert e.value.code == "duplicate_year" and e.value.rows == [1, 19]


def test_missing_and_text_columns_are_errors(table):
    with pytest.raises(CarepopError) as e:
        charts.caterpillar(table.drop(columns="ci_upper"))
    assert e.value.code == "missing_column" and e.value.column == "ci_upper"
    bad = table.astype({"ci_lower": object})
    bad.loc[2, "ci_lower"] = "n/a"
    with pytest.raises(CarepopError) as e:
        charts.caterpillar(bad)
    assert e.value.code == "not_numeric" and e.value.rows == [3]


@pytest.mark.parametrize("which", ["caterpillar", "direct_vs_model", "fan_chart"])
def test_same_bytes_every_run(which, table, projection):
    data = projection if which == "fan_chart" else table
    build = getattr(charts, which)
    a, b = build(data, title="t"), build(data, title="t")
    svg = charts.figure_svg(a)
    assert svg == charts.figure_svg(b)
    assert charts.figure_png(a) == charts.figure_png(b)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<dc:date>" not in svg  # no time stamp


def test_svg_ids_change_with_content_only(table):
    """The fixed hash salt makes ids depend on the figure alone: a different figure, other ids."""
    a = charts.figure_svg(charts.caterpillar(table))
    b = charts.figure_svg(charts.caterpillar(table.assign(estimate=table["estimate"] * 1.01)))
    assert a != b


def test_ids_carry_the_prefix_and_references_follow(table):
    svg = charts.figure_svg(charts.direct_vs_model(table), id_prefix="dvm")
    root = ET.fromstring(svg)
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert ids and all(i.startswith("dvm-") for i in ids)
    refs = re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', svg)
    targets = {a or b for a, b in refs}
    assert targets and targets <= set(ids)  # every reference points to an id of this SVG


def test_suppressed_values_are_never_drawn(table):
    t = table.assign(suppressed=False)
    t.loc[[0, 1], "suppressed"] = True
    before = t.copy()
    fig = charts.caterpillar(t)
    labels = [lab.get_text() for lab in fig.axes[0].get_yticklabels()]
    assert len(labels) == 151 and "Council 0" not in labels and "Council 1" not in labels
    fig = charts.direct_vs_model(t)
    assert len(fig.axes[0].collections[0].get_offsets()) == 151
    assert len(fig.axes[1].collections[0].get_offsets()) == 151
    pd.testing.assert_frame_equal(t, before)

"""Maps of a council measure as SVG, with no GIS library: a choropleth and a hex map.

:func:`choropleth_svg` draws the 153 English councils with adult social care duties (2023) from
the bundled boundaries (``carepop/data/boundaries/england_councils_2023.topojson``, a reduction of
the ONS generalised boundaries, see :func:`build_bundled_boundaries`); :func:`hexmap_svg` draws the
296 English districts of 2023 as equal hexagons (``england_districts_2023.hexjson``), each coloured
by its council's value, so that small urban councils are as visible as large rural ones.

How the geometry is drawn (the TopoJSON specification, https://github.com/topojson/topojson-specification):

- an *arc* is a list of integer points, the first absolute and the rest deltas; the absolute
  position of point ``j`` is the cumulative sum of points ``0..j`` (done for all arcs at once with
  one ``np.cumsum`` and a per-arc offset), and ``lon = x * scale_x + translate_x`` (same for lat);
- a ring lists arc indices, ``~i`` (``-i - 1``) meaning arc ``i`` reversed; consecutive arcs share
  their end point, which is written once;
- projection: equirectangular with the longitude scaled by ``cos(52.5°)`` (England's middle
  latitude), so shapes are true to within a few per cent across England; y points down in SVG.

Colours: values are cut into ``bins`` classes at quantiles of the mapped values (equal numbers of
councils per class), coloured from a colour-blind-safe sequential palette (viridis, reversed so
that darker is more); the legend lists the classes. Councils with no value are hatched grey;
values withheld by disclosure control (a true ``suppressed`` column) get their own pattern and
legend entry, under which those councils are named. Each council carries an SVG ``<title>`` (a
tooltip in browsers): its name, code, value and interval.

Input tables: one row per council with ``area_code`` and ``estimate``, optionally ``area_name``,
``ci_lower``, ``ci_upper`` and ``suppressed``; rows of other areas (regions ``E12``, England
``E92``) are ignored, so a measure's table can be passed as it is.

Source of the boundaries: Office for National Statistics licensed under the Open Government
Licence v3.0. Contains OS data © Crown copyright and database right. Hex layout: © Open
Innovations (odileeds/hexmaps), MIT licence.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, opt
from carepop.sources.boundaries import topojson_areas
from carepop.sources.census import bundled_path
from carepop.sources.regions import councils_of

__all__ = [
    "BOUNDARIES_ATTRIBUTION",
    "HEX_ATTRIBUTION",
    "MapClasses",
    "build_bundled_boundaries",
    "choropleth_svg",
    "classify",
    "council_paths",
    "council_rings",
    "decode_arcs",
    "hexmap_svg",
    "sequential_palette",
]

BOUNDARIES_ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data © Crown copyright and database right."
)
HEX_ATTRIBUTION = "Hex layout © Open Innovations (odileeds/hexmaps), MIT licence."
TOPOLOGY_FILE = "england_councils_2023.topojson"
HEX_FILE = "england_districts_2023.hexjson"
#: the layer of the bundled topology (the name of the ONS file's layer, so sources.boundaries reads it)
LAYER = "utla"
#: England's middle latitude: longitudes are scaled by its cosine
MID_LATITUDE = 52.5
MISSING_FILL = "#d9d9d9"
COUNCIL_PREFIXES = ("E06", "E07", "E08", "E09", "E10")


# --------------------------------------------------------------------------- geometry


def decode_arcs(topology: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """All arcs' points as longitude / latitude: ``(points, starts)`` with ``points`` of shape
    ``(n_points, 2)`` and arc ``i`` at ``points[starts[i]:starts[i + 1]]`` (``starts`` has one
    more entry than there are arcs). Delta decoding is one cumulative sum over every point, less
    the running total at the start of each arc."""
    arcs = topology.get("arcs", [])
    lengths = np.fromiter((len(a) for a in arcs), dtype=np.int64, count=len(arcs))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.array([p[:2] for a in arcs for p in a], dtype=np.float64).reshape(-1, 2)
    transform = topology.get("transform")
    if transform is None:  # an unquantised topology holds absolute positions
        return flat, starts
    total = np.cumsum(flat, axis=0)
    before = np.vstack([[0.0, 0.0], total])[starts[:-1]]  # running total before each arc
    absolute = total - np.repeat(before, lengths, axis=0)
    scale = np.asarray(transform["scale"], dtype=float)
    translate = np.asarray(transform["translate"], dtype=float)
    return absolute * scale + translate, starts


def _rings(geometry: Mapping[str, Any]) -> Iterator[list[int]]:
    """The rings (lists of signed arc indices) of a Polygon or MultiPolygon."""
    arcs = geometry.get("arcs", [])
    if geometry.get("type") == "Polygon":
        yield from arcs
    elif geometry.get("type") == "MultiPolygon":
        for polygon in arcs:
            yield from polygon


def _project(lonlat: np.ndarray) -> np.ndarray:
    """Equirectangular, longitude scaled by cos(MID_LATITUDE); y down (SVG)."""
    return np.column_stack([lonlat[:, 0] * math.cos(math.radians(MID_LATITUDE)), -lonlat[:, 1]])


def council_rings(
    topology: Mapping[str, Any] | None = None, *, year: int = 2023, layer: str = LAYER
) -> pd.DataFrame:
    """The boundary points of the English councils of ``year``, one row per point in drawing
    order: ``code``, ``name``, ``ring`` (a number per ring, over all councils), ``lon``, ``lat``.
    Each ring is closed (its last point repeats its first). ``topology`` defaults to the bundled
    one (``layer`` ``utla``)."""
    topology = _bundled_topology() if topology is None else topology
    areas = topojson_areas(topology, layer)
    keep = areas["code"].str.startswith("E") & (areas["start"] <= year) & (areas["end"] >= year)
    if not keep.any():
        raise CarepopError(f"The topology has no English {layer} areas in {year}.", code="no_areas", got=year)
    geoms = topology["objects"][layer]["geometries"]
    points, starts = decode_arcs(topology)
    # the nested JSON is read once: one entry per (area, ring, arc) with the arc's sign
    refs = [
        (area, ring_no, arc)
        for area in np.flatnonzero(keep.to_numpy())
        for ring_no, ring in enumerate(_rings(geoms[area]))
        for arc in ring
    ]
    ref = np.array(refs, dtype=np.int64).reshape(-1, 3)
    area, arc = ref[:, 0], ref[:, 2]
    ring = np.cumsum(np.r_[True, (np.diff(ref[:, 1]) != 0) | (np.diff(area) != 0)]) - 1
    first_in_ring = np.r_[True, ring[1:] != ring[:-1]]
    index = np.where(arc >= 0, arc, ~arc)
    n = starts[index + 1] - starts[index]
    skip = (~first_in_ring).astype(np.int64)  # a following arc repeats the previous end point
    count = n - skip
    # the point offsets within each arc, forwards or backwards
    seq = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count) + np.repeat(skip, count)
    forward = np.repeat(arc >= 0, count)
    pos = np.where(forward, seq, np.repeat(n, count) - 1 - seq) + np.repeat(starts[index], count)
    point_area = np.repeat(area, count)
    return pd.DataFrame(
        {
            "code": areas["code"].to_numpy()[point_area],
            "name": areas["name"].to_numpy()[point_area],
            "ring": np.repeat(ring, count),
            "lon": points[pos, 0],
            "lat": points[pos, 1],
        }
    )


def council_paths(
    topology: Mapping[str, Any] | None = None,
    *,
    year: int = 2023,
    width: float = 600.0,
    layer: str = LAYER,
) -> tuple[pd.DataFrame, tuple[float, float]]:
    """SVG path data of the English councils of ``year``: ``(table, (width, height))`` where the
    table has ``code``, ``name``, ``d`` (the path), ``cx``, ``cy`` (the centre of its bounding box),
    one row per council, sorted by code. ``topology`` defaults to the bundled one."""
    if topology is None:
        table, size = _bundled_paths(year, float(width), layer)
        return table.copy(), size
    return _paths(council_rings(topology, year=year, layer=layer), width)


@cache
def _bundled_paths(year: int, width: float, layer: str) -> tuple[pd.DataFrame, tuple[float, float]]:
    return _paths(council_rings(year=year, layer=layer), width)


def _paths(rings: pd.DataFrame, width: float) -> tuple[pd.DataFrame, tuple[float, float]]:
    pts = _project(rings[["lon", "lat"]].to_numpy())
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    margin = 4.0
    k = (width - 2 * margin) / (hi[0] - lo[0])
    pts = (pts - lo) * k + margin
    height = float((hi[1] - lo[1]) * k + 2 * margin)
    point_ring = rings["ring"].to_numpy()
    ring_start = np.r_[True, point_ring[1:] != point_ring[:-1]]
    ring_end = np.r_[point_ring[1:] != point_ring[:-1], True]
    coords = pd.Series(np.round(pts, 1).astype(str).tolist()).str.join(",")
    token = np.where(ring_start, "M", "") + coords.to_numpy(dtype=str) + np.where(ring_end, "Z", "")
    frame = pd.DataFrame(
        {"code": rings["code"], "name": rings["name"], "token": token, "x": pts[:, 0], "y": pts[:, 1]}
    )
    grouped = frame.groupby("code", sort=True)
    box = grouped[["x", "y"]].agg(["min", "max"])
    table = pd.DataFrame(
        {
            "code": box.index.to_numpy(),
            "name": grouped["name"].first().to_numpy(),
            "d": grouped["token"].agg(" ".join).to_numpy(),
            "cx": ((box[("x", "min")] + box[("x", "max")]) / 2).to_numpy(),
            "cy": ((box[("y", "min")] + box[("y", "max")]) / 2).to_numpy(),
        }
    )
    return table, (float(width), height)


@cache
def _bundled_topology() -> Mapping[str, Any]:
    return json.loads(bundled_path("boundaries", TOPOLOGY_FILE).read_text(encoding="utf-8"))


@cache
def _bundled_hexes() -> Mapping[str, Any]:
    return json.loads(bundled_path("boundaries", HEX_FILE).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- classes and colours


def sequential_palette(n: int) -> list[str]:
    """``n`` colours from light to dark: viridis reversed (perceptually uniform, readable with
    the common colour-vision deficiencies and in greyscale)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if n < 1:
        raise CarepopError("A palette needs at least one colour.", code="bad_option", got=n, fix=opt("bins"))
    cmap = colormaps["viridis"]
    return [to_hex(cmap(t)) for t in np.linspace(0.95, 0.1, n)]


@dataclass(frozen=True)
class MapClasses:
    """Binned classes of a value: ``breaks`` (``bins + 1`` edges), ``colours`` (one per class),
    ``labels`` (for the legend) and ``index`` (the class of each value; -1 where missing)."""

    breaks: np.ndarray
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    index: np.ndarray


def classify(
    values: Sequence[float] | np.ndarray, *, bins: int = 5, value_format: str = "{:.3g}"
) -> MapClasses:
    """Cut ``values`` into ``bins`` classes at their quantiles (fewer when values tie); class
    ``i`` holds ``breaks[i] <= v < breaks[i + 1]`` (the top class includes its upper edge)."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return MapClasses(np.array([]), (), (), np.full(v.shape, -1))
    breaks = np.unique(np.quantile(v[ok], np.linspace(0, 1, bins + 1)))
    if len(breaks) == 1:
        breaks = np.array([breaks[0], breaks[0]])
    cls = np.clip(np.searchsorted(breaks, v, side="right") - 1, 0, len(breaks) - 2)
    index = np.where(ok, cls, -1)
    colours = tuple(sequential_palette(len(breaks) - 1))
    labels = tuple(
        f"{value_format.format(a)} to {'<' if i < len(breaks) - 2 else ''}{value_format.format(b)}"
        for i, (a, b) in enumerate(zip(breaks[:-1], breaks[1:], strict=True))
    )
    return MapClasses(breaks, colours, labels, index)


# --------------------------------------------------------------------------- input tables


def _values(
    table: pd.DataFrame, codes: pd.Series, value: str, lower: str | None, upper: str | None
) -> pd.DataFrame:
    """The table's values for ``codes`` (in order): ``value``, ``lower``, ``upper``, ``suppressed``,
    ``label_name``; councils absent from the table get NaN. Checks the table's columns and codes."""
    for col in ("area_code", value):
        if col not in table.columns:
            raise CarepopError(
                f"The table has no {col!r} column.",
                code="missing_column",
                column=col,
                expected=["area_code", value],
                got=list(map(str, table.columns))[:10],
                fix="pass one row per council: area_code, estimate (ci_lower, ci_upper optional)",
            )
    code = table["area_code"].astype(str)
    known = code.isin(set(codes))
    stray = ~known & code.str[:3].isin(COUNCIL_PREFIXES)
    if stray.any():
        rows = np.flatnonzero(stray.to_numpy())
        raise CarepopError(
            f"{int(stray.sum())} council code(s) are not among the councils of the map (2023): "
            f"{', '.join(code[stray].head(5))}.",
            code="unknown_area",
            column="area_code",
            rows=[int(i) + 1 for i in rows[:5]],
            got=list(code[stray].head(5)),
            fix="map the codes to the 153 councils of 2023 (carepop.sources.regions.councils_of)",
        )
    dup = code[known].duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(known.to_numpy())[dup.to_numpy()]
        raise CarepopError(
            "A council appears more than once in the table.",
            code="duplicate_area",
            column="area_code",
            rows=[int(i) + 1 for i in rows[:5]],
            got=sorted(set(code[known][dup]))[:5],
            fix="give one row per council",
        )
    sub = table[known.to_numpy()].copy()
    sub.index = code[known].to_numpy()
    out = pd.DataFrame(index=codes.to_numpy())
    for key, col in (("value", value), ("lower", lower), ("upper", upper)):
        src = sub[col] if col is not None and col in sub.columns else pd.Series(np.nan, index=sub.index)
        vals = pd.to_numeric(src, errors="coerce")
        bad = vals.isna() & src.notna()
        if bad.any():
            raise CarepopError(
                f"Column {col!r} holds values that are not numbers.",
                code="not_numeric",
                column=col,
                rows=[int(i) + 1 for i in np.flatnonzero(known.to_numpy())[bad.to_numpy()][:5]],
                got=list(src[bad].astype(str).head(5)),
                fix="give numbers (leave the cell empty where there is no value)",
            )
        out[key] = vals.reindex(out.index).to_numpy(dtype=float)
    sup = (
        sub["suppressed"].fillna(False).astype(bool)
        if "suppressed" in sub.columns
        else pd.Series(False, index=sub.index)
    )
    out["suppressed"] = sup.reindex(out.index).fillna(False).to_numpy(dtype=bool)
    out.loc[out["suppressed"], ["value", "lower", "upper"]] = np.nan
    return out


def _tooltip(
    names: pd.Series, codes: pd.Series, v: pd.DataFrame, value_format: str, label: str
) -> np.ndarray:
    fmt = np.vectorize(lambda x: value_format.format(x), otypes=[object])
    val = np.where(np.isfinite(v["value"]), fmt(v["value"].fillna(0).to_numpy()), "no value")
    has_ci = np.isfinite(v["lower"]) & np.isfinite(v["upper"])
    ci = np.where(
        has_ci,
        " (95% interval "
        + fmt(v["lower"].fillna(0).to_numpy())
        + " to "
        + fmt(v["upper"].fillna(0).to_numpy())
        + ")",
        "",
    )
    val = np.where(v["suppressed"], "suppressed (disclosure control)", val + ci)
    return (
        names.astype(str) + " (" + codes.astype(str) + "): " + label + " " + pd.Series(val, index=names.index)
    ).to_numpy()


# --------------------------------------------------------------------------- SVG


def _prefix(*parts: str) -> str:
    return "m" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:8]


def _defs(pid: str, extra: str = "") -> str:
    return (
        "<defs>"
        f'<pattern id="{pid}-na" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{MISSING_FILL}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#7f7f7f" stroke-width="1.5"/></pattern>'
        f'<pattern id="{pid}-sup" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#ffffff"/><path d="M0,0L6,6M6,0L0,6" stroke="#404040" '
        'stroke-width="1"/></pattern>'
        f"{extra}</defs>"
    )


def _fills(v: pd.DataFrame, classes: MapClasses, pid: str) -> np.ndarray:
    colours = np.array([*classes.colours, ""], dtype=object)
    fill = colours[classes.index]
    fill = np.where(classes.index < 0, f"url(#{pid}-na)", fill)
    return np.where(v["suppressed"].to_numpy(), f"url(#{pid}-sup)", fill)


def _legend(
    classes: MapClasses,
    v: pd.DataFrame,
    names: np.ndarray,
    pid: str,
    x: float,
    y: float,
    title: str,
    font: float = 11.0,
) -> tuple[str, float]:
    """The legend as SVG (top left at x, y, text ``font`` units high) and its height. The councils
    whose value is suppressed are named under their entry (up to three, then how many more)."""
    rows = [(c, lab) for c, lab in zip(classes.colours, classes.labels, strict=True)]
    if (classes.index < 0).any() and (~v["suppressed"] & ~np.isfinite(v["value"])).any():
        rows.append((f"url(#{pid}-na)", "no value"))
    if v["suppressed"].any():
        rows.append((f"url(#{pid}-sup)", "suppressed"))
        hidden = list(names[v["suppressed"].to_numpy()])
        more = [f"and {len(hidden) - 3} more"] if len(hidden) > 3 else []
        rows += [("", f"{n}") for n in hidden[:3]] + [("", m) for m in more]
    step, box = 1.6 * font, 1.25 * font
    parts = [
        f'<g class="legend" font-size="{font:g}"><text x="{x}" y="{y + font:g}" font-weight="bold">'
        f"{escape(title)}</text>"
    ]
    for i, (colour, label) in enumerate(rows):
        yy = y + step * (i + 1)
        if not colour:  # a suppressed council, named under its entry
            parts.append(
                f'<text class="suppressed-name" x="{x + box + 0.5 * font:g}" y="{yy + font:g}" '
                f'font-style="italic">{escape(label)}</text>'
            )
            continue
        parts.append(
            f'<rect x="{x}" y="{yy:g}" width="{box:g}" height="{box:g}" fill="{colour}" stroke="#555" '
            f'stroke-width="0.5"/><text x="{x + box + 0.5 * font:g}" y="{yy + font:g}">{escape(label)}</text>'
        )
    parts.append("</g>")
    return "".join(parts), step * (len(rows) + 1)


def _attribution(text: str, x: float, bottom: float, font: float) -> str:
    """The attribution, right-aligned, one line per sentence, the last line ending at ``bottom``."""
    lines = [t if t.endswith(".") else t + "." for t in text.rstrip(".").split(". ")]
    return "".join(
        f'<text x="{x:.0f}" y="{bottom - (len(lines) - 1 - i) * 1.3 * font:.1f}" font-size="{font:.1f}" '
        f'text-anchor="end" fill="#555">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )


def _svg(width: float, height: float, title: str, desc: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-labelledby="t" class="carepop-map" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{body}</svg>"
    )


def choropleth_svg(
    table: pd.DataFrame,
    *,
    value: str = "estimate",
    lower: str | None = "ci_lower",
    upper: str | None = "ci_upper",
    title: str = "",
    label: str = "",
    bins: int = 5,
    value_format: str = "{:.3g}",
    width: float = 600.0,
    id_prefix: str | None = None,
) -> str:
    """A council choropleth as one SVG document (a string; it can be written to a ``.svg`` file or
    put inline in HTML).

    Parameters
    ----------
    table : one row per council (``area_code``, ``value``, optionally ``area_name``, ``lower``,
        ``upper``, ``suppressed``); other areas' rows (regions, England) are ignored.
    value, lower, upper : the columns of the value and its interval (``None``: no interval).
    title : the map's title (for screen readers and the legend heading).
    label : what the value is, for the tooltips (e.g. ``"carers per 100 residents"``).
    bins : the number of classes (quantiles of the mapped values).
    value_format : a ``str.format`` pattern for values, e.g. ``"{:.1%}"``.
    id_prefix : prefix of the ids inside the SVG (patterns); give distinct ones when several maps
        share an HTML page (by default derived from ``title`` and ``value``).
    """
    shapes, (w, h) = council_paths(width=width)
    v = _values(table, shapes["code"], value, lower, upper)
    classes = classify(v["value"].to_numpy(), bins=bins, value_format=value_format)
    pid = id_prefix or _prefix("choropleth", title, value)
    fill = _fills(v, classes, pid)
    names = shapes["name"]
    if "area_name" in table.columns:  # the table's names where it has them
        given = table.assign(area_code=table["area_code"].astype(str)).drop_duplicates("area_code")
        names = shapes["code"].map(given.set_index("area_code")["area_name"]).fillna(names)
    tips = _tooltip(names, shapes["code"], v, value_format, label or value)
    paths = (
        '<path class="area" data-code="'
        + shapes["code"]
        + '" fill="'
        + pd.Series(fill, dtype=str)
        + '" d="'
        + shapes["d"]
        + '"><title>'
        + pd.Series(tips, dtype=str).map(escape)
        + "</title></path>"
    )
    legend, lh = _legend(
        classes, v, names.to_numpy(), pid, 8.0, 8.0, title or label or value, font=width / 42
    )
    body = (
        _defs(pid)
        + f'<g class="areas" stroke="#ffffff" stroke-width="0.4" stroke-linejoin="round">{"".join(paths)}</g>'
        + legend
        + _attribution(BOUNDARIES_ATTRIBUTION, w - 6, h - 4, width / 66)
    )
    n_value = int(np.isfinite(v["value"]).sum())
    desc = (
        f"Map of {len(shapes)} English councils coloured by {label or value} in {len(classes.colours)} "
        f"classes; {n_value} with a value, {int(v['suppressed'].sum())} suppressed."
    )
    return _svg(w, max(h, lh + 16), title or f"Map of {label or value} by council", desc, body)


def _hex_points(size: float) -> str:
    angles = np.radians(np.arange(6) * 60 + 30)  # pointy-topped (the r layouts)
    return " ".join(
        f"{x:.2f},{y:.2f}" for x, y in zip(size * np.cos(angles), size * np.sin(angles), strict=True)
    )


def hexmap_svg(
    table: pd.DataFrame,
    *,
    value: str = "estimate",
    lower: str | None = "ci_lower",
    upper: str | None = "ci_upper",
    title: str = "",
    label: str = "",
    bins: int = 5,
    value_format: str = "{:.3g}",
    size: float = 8.0,
    id_prefix: str | None = None,
) -> str:
    """The 296 English districts of 2023 as hexagons (``odd-r`` layout: pointy-topped, odd rows
    shifted right by half a hexagon; row ``r`` counts upwards), each coloured by the value of its
    council (a two-tier county's districts share its colour). Same table and options as
    :func:`choropleth_svg`; the classes are those of the councils, as on the choropleth."""
    hexes = _bundled_hexes()["hexes"]
    codes = pd.Series(list(hexes), dtype=str)
    meta = pd.DataFrame(list(hexes.values()))
    council = councils_of(codes, column="hex code")
    shapes, _ = council_paths()
    v = _values(table, shapes["code"], value, lower, upper)
    classes = classify(v["value"].to_numpy(), bins=bins, value_format=value_format)
    pid = id_prefix or _prefix("hexmap", title, value)
    fill_by_council = pd.Series(_fills(v, classes, pid), index=shapes["code"].to_numpy())
    council_name = shapes.set_index("code")["name"]
    if "area_name" in table.columns:
        given = table.assign(area_code=table["area_code"].astype(str)).drop_duplicates("area_code")
        council_name = (
            council_name.index.to_series().map(given.set_index("area_code")["area_name"]).fillna(council_name)
        )
    hv = v.reindex(council.to_numpy())
    hv.index = codes.index
    tips = _tooltip(
        council_name.reindex(council.to_numpy()).reset_index(drop=True),
        council,
        hv,
        value_format,
        label or value,
    )
    district = meta["n"].astype(str)
    tips = np.where(
        district.to_numpy() != council_name.reindex(council.to_numpy()).to_numpy(),
        district + " — " + tips,
        tips,
    )
    q, r = meta["q"].to_numpy(dtype=float), meta["r"].to_numpy(dtype=float)
    w, step = math.sqrt(3) * size, 1.5 * size
    x = q * w + np.where(meta["r"].to_numpy() % 2 == 1, w / 2, 0.0)
    y = -r * step
    legend_w = 150.0
    x = x - x.min() + size + legend_w
    y = y - y.min() + size + 4
    width, height = float(x.max() + size + 4), float(y.max() + size + 16)
    fill = fill_by_council.reindex(council.to_numpy()).to_numpy(dtype=str)
    cells = (
        '<use href="#'
        + pid
        + '-hex" class="area" data-code="'
        + codes
        + '" data-council="'
        + council
        + '" x="'
        + pd.Series(np.round(x, 2)).astype(str)
        + '" y="'
        + pd.Series(np.round(y, 2)).astype(str)
        + '" fill="'
        + pd.Series(fill)
        + '"><title>'
        + pd.Series(tips, dtype=str).map(escape)
        + "</title></use>"
    )
    legend, lh = _legend(classes, v, council_name.to_numpy(), pid, 8.0, 8.0, title or label or value)
    body = (
        _defs(pid, f'<polygon id="{pid}-hex" points="{_hex_points(size * 0.98)}"/>')
        + f'<g class="areas" stroke="#ffffff" stroke-width="0.5">{"".join(cells)}</g>'
        + legend
        + _attribution(HEX_ATTRIBUTION, width - 6, height - 4, 8.0)
    )
    desc = (
        f"Hex map of {len(codes)} English districts, each coloured by its council's {label or value} "
        f"in {len(classes.colours)} classes."
    )
    return _svg(width, max(height, lh + 16), title or f"Hex map of {label or value} by council", desc, body)


# --------------------------------------------------------------------------- bundled data


def _requantise(
    topology: Mapping[str, Any], keep: np.ndarray, factor: int
) -> tuple[list[list[list[int]]], dict]:
    """The arcs ``keep`` (indices) on a grid ``factor`` times coarser, delta encoded again, with
    repeated points dropped (an arc keeps at least its two end points)."""
    arcs = topology["arcs"]
    lengths = np.array([len(arcs[i]) for i in keep], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.array([p[:2] for i in keep for p in arcs[i]], dtype=np.int64).reshape(-1, 2)
    total = np.cumsum(flat, axis=0)
    before = np.vstack([[0, 0], total])[starts[:-1]]
    absolute = total - np.repeat(before, lengths, axis=0)
    coarse = np.rint(absolute / factor).astype(np.int64)
    arc_of = np.repeat(np.arange(len(keep)), lengths)
    first = np.zeros(len(coarse), bool)
    first[starts[:-1]] = True
    last = np.zeros(len(coarse), bool)
    last[starts[1:] - 1] = True
    same = np.r_[False, (coarse[1:] == coarse[:-1]).all(axis=1)]
    kept = first | last | ~same
    coarse, arc_of, first = coarse[kept], arc_of[kept], first[kept]
    delta = np.where(first[:, None], coarse, np.diff(coarse, axis=0, prepend=coarse[:1]))
    split = np.flatnonzero(np.diff(arc_of)) + 1
    out = [a.tolist() for a in np.split(delta, split)]
    t = topology["transform"]
    transform = {"scale": [s * factor for s in t["scale"]], "translate": list(t["translate"])}
    return out, transform


def build_bundled_boundaries(
    source: Path, out: Path | None = None, *, year: int = 2023, factor: int = 4
) -> dict:
    """Reduce the ONS TopoJSON (``ons_uk_boundaries_topo.json``, layer ``utla``) to England's
    councils of ``year``, on a grid ``factor`` times coarser than the source's quantisation
    (about 40 m at factor 4, far below what a page shows), and write it to ``out`` (by default
    the bundled ``england_councils_2023.topojson``). Returns the reduced topology."""
    topology = json.loads(Path(source).read_text(encoding="utf-8"))
    areas = topojson_areas(topology, LAYER)
    keep = areas["code"].str.startswith("E") & (areas["start"] <= year) & (areas["end"] >= year)
    geoms = [g for g, k in zip(topology["objects"][LAYER]["geometries"], keep, strict=True) if k]

    def ids(a: Any) -> Iterator[int]:
        if isinstance(a, int):
            yield a if a >= 0 else ~a
        else:
            for b in a:
                yield from ids(b)

    used = np.unique(np.fromiter((i for g in geoms for i in ids(g["arcs"])), dtype=np.int64))
    new_index = {int(old): new for new, old in enumerate(used)}

    def renumber(a: Any) -> Any:
        if isinstance(a, int):
            return new_index[a] if a >= 0 else ~new_index[~a]
        return [renumber(b) for b in a]

    arcs, transform = _requantise(topology, used, factor)
    reduced = {
        "type": "Topology",
        "transform": transform,
        "objects": {
            LAYER: {
                "type": "GeometryCollection",
                "geometries": [
                    {
                        "type": g["type"],
                        "arcs": renumber(g["arcs"]),
                        "properties": {
                            "areacd": g["properties"]["areacd"],
                            "areanm": g["properties"]["areanm"],
                        },
                    }
                    for g in geoms
                ],
            }
        },
        "arcs": arcs,
    }
    target = Path(out) if out is not None else bundled_path("boundaries", TOPOLOGY_FILE)
    target.write_text(json.dumps(reduced, separators=(",", ":")) + "\n", encoding="utf-8")
    return reduced


def build_bundled_hexes(source: Path, out: Path | None = None) -> dict:
    """Keep the English districts (``E`` codes) of a HexJSON layout and write them to ``out`` (by
    default the bundled ``england_districts_2023.hexjson``)."""
    hexes = json.loads(Path(source).read_text(encoding="utf-8"))
    reduced = {
        "layout": hexes["layout"],
        "hexes": {
            k: {"n": h["n"], "q": h["q"], "r": h["r"], "region": h.get("region")}
            for k, h in hexes["hexes"].items()
            if k.startswith("E")
        },
    }
    target = Path(out) if out is not None else bundled_path("boundaries", HEX_FILE)
    target.write_text(json.dumps(reduced, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    return reduced


def main(argv: list[str]) -> None:
    """``python -m carepop.outputs.maps <shared boundaries folder>``: rebuild both bundled files."""
    folder = Path(argv[0])
    build_bundled_boundaries(folder / "ons_uk_boundaries_topo.json")
    build_bundled_hexes(folder / "uk_lad_2023.hexjson")


if __name__ == "__main__":  # pragma: no cover - the build step of the bundled files
    main(sys.argv[1:])

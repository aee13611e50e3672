"""Council adjacency from ONS boundaries (TopoJSON), and the bundled adjacency table.

A TopoJSON topology stores every shared border once, as an *arc*; each polygon ring lists the
indices of its arcs (``~i`` = ``-i - 1`` for arc ``i`` reversed). Two areas of one layer are
neighbours when their rings use a common arc: they share a stretch of border (areas that meet at a
single point share no arc). No GIS library is needed.

:func:`topojson_areas` lists a layer's areas (code, name, first and last year), and
:func:`topojson_neighbours` its pairs of neighbours, keeping only areas that existed at the same
time (the ONS file holds 2014–2025, so a new unitary council and the county it replaced share arcs
but never coexisted).

The bundled table ``carepop/data/boundaries/`` (``council_adjacency.csv``, ``councils.csv``) was
made from the ONS generalised boundaries (ONSvisual/uk-topojson, ``ons_uk_boundaries_topo.json``,
layer ``utla`` = upper-tier local authorities, the councils with adult social care duties in
England) by running this module::

    python -m carepop.sources.boundaries /work/shared/data/boundaries/ons_uk_boundaries_topo.json

Source: Office for National Statistics licensed under the Open Government Licence v3.0. Contains OS
data © Crown copyright and database right.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError
from carepop.sources.census import bundled_path

__all__ = ["bundled_council_adjacency", "bundled_councils", "topojson_areas", "topojson_neighbours"]

#: the years the ONS topology covers (an area without ``start`` / ``end`` spans all of them)
FIRST_YEAR, LAST_YEAR = 2014, 2025


def _layer(topology: Mapping[str, Any], layer: str) -> list[Mapping[str, Any]]:
    objects = topology.get("objects", {})
    if layer not in objects:
        raise CarepopError(
            "The TopoJSON has no such layer.", code="unknown_layer", got=layer, expected=sorted(objects)
        )
    return list(objects[layer].get("geometries", []))


def _arc_ids(arcs: Any) -> Iterator[int]:
    """Every arc index in a (nested) ``arcs`` list, reversed arcs ``~i`` mapped back to ``i``."""
    if isinstance(arcs, int):
        yield arcs if arcs >= 0 else ~arcs
    else:
        for a in arcs:
            yield from _arc_ids(a)


def topojson_areas(topology: Mapping[str, Any], layer: str) -> pd.DataFrame:
    """The areas of one layer: ``code``, ``name``, ``start`` and ``end`` year (one row per geometry)."""
    props = [g.get("properties", {}) for g in _layer(topology, layer)]
    return pd.DataFrame(
        {
            "code": [p.get("areacd") for p in props],
            "name": [p.get("areanm") for p in props],
            "start": [int(p.get("start", FIRST_YEAR)) for p in props],
            "end": [int(p.get("end", LAST_YEAR)) for p in props],
        }
    )


def topojson_neighbours(topology: Mapping[str, Any], layer: str) -> pd.DataFrame:
    """Pairs of areas of ``layer`` that share an arc and coexisted: columns ``from``, ``to``
    (``from < to``, each pair once), sorted."""
    geoms = _layer(topology, layer)
    areas = topojson_areas(topology, layer)
    # the arcs of each area (reading the nested JSON lists is the only per-area step)
    arcs = [np.unique(np.fromiter(_arc_ids(g.get("arcs", [])), dtype=np.int64)) for g in geoms]
    owner = np.repeat(np.arange(len(geoms)), [len(a) for a in arcs])
    use = pd.DataFrame({"arc": np.concatenate(arcs), "area": owner})
    pairs = use.merge(use, on="arc", suffixes=("_a", "_b"))
    pairs = pairs[pairs["area_a"] < pairs["area_b"]][["area_a", "area_b"]].drop_duplicates()
    a, b = pairs["area_a"].to_numpy(), pairs["area_b"].to_numpy()
    start, end = areas["start"].to_numpy(), areas["end"].to_numpy()
    coexist = np.maximum(start[a], start[b]) <= np.minimum(end[a], end[b])
    codes = areas["code"].to_numpy()
    ca, cb = codes[a[coexist]], codes[b[coexist]]
    out = pd.DataFrame({"from": np.minimum(ca, cb), "to": np.maximum(ca, cb)}).drop_duplicates()
    return out.sort_values(["from", "to"], ignore_index=True)


def bundled_council_adjacency() -> pd.DataFrame:
    """The bundled pairs of neighbouring councils (``from``, ``to``; each pair once, ``from < to``)."""
    return pd.read_csv(bundled_path("boundaries", "council_adjacency.csv"), dtype=str)


def bundled_councils() -> pd.DataFrame:
    """The councils of the bundled adjacency (``code``, ``name``, ``start``, ``end``), 2014–2025."""
    return pd.read_csv(bundled_path("boundaries", "councils.csv"), dtype={"code": str, "name": str})


def main(argv: list[str]) -> None:
    """Write ``council_adjacency.csv`` and ``councils.csv`` from the ONS TopoJSON (layer ``utla``)."""
    source = Path(argv[0])
    out = Path(argv[1]) if len(argv) > 1 else bundled_path("boundaries", "council_adjacency.csv").parent
    topology = json.loads(source.read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    topojson_neighbours(topology, "utla").to_csv(out / "council_adjacency.csv", index=False)
    areas = topojson_areas(topology, "utla").sort_values("code", ignore_index=True)
    areas.to_csv(out / "councils.csv", index=False)


if __name__ == "__main__":  # pragma: no cover - the build step of the bundled table
    main(sys.argv[1:])

"""The HTML report: one self-contained file that opens anywhere, with no network.

:func:`write_report` (or :func:`render_report` for the text) takes the measures
(:class:`MeasureSection`: a council table with ``area_code``, ``area_name``, ``estimate``,
``ci_lower``, ``ci_upper`` and, where there is one, the survey's ``direct`` estimate), the
projections (:class:`ProjectionSection`: ``year``, ``estimate``, ``ci_lower``, ``ci_upper`` and
optionally ``variant_lower`` / ``variant_upper``), method notes and an :class:`Appendix` (data
sources and their licences, definitions, methods, the disclosure rules applied and a
data-protection checklist), and writes:

- a title, a table of contents and a headline table (per measure: the England value where given,
  the council median and range, councils with a value, councils suppressed);
- per measure: a choropleth and a hex map (:mod:`carepop.outputs.maps`), a caterpillar plot and
  the direct estimates against the model's (:mod:`carepop.outputs.charts`), the council table (in a
  collapsible block) and the measure's notes;
- per projection: a fan chart and its table; the method notes; the appendix.

Everything is inline: the CSS in a ``<style>`` element, maps and charts as inline SVG (PNG figures
as ``data:`` URIs); no script, no external font, image or style sheet, so the file reads the same
offline, on a phone (viewport meta, fluid SVG, tables that scroll sideways) and printed. All text
passed in is escaped (``html.escape``): a council name or a note cannot inject markup.

The tables passed in are published as they are: apply disclosure control before
(:mod:`carepop.outputs` does; a ``suppressed`` column marks withheld values, which are shown as
suppressed, never as numbers).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError
from carepop.io.writers import write_text_atomic
from carepop.outputs import charts, maps

__all__ = [
    "Appendix",
    "MeasureSection",
    "ProjectionSection",
    "headline_table",
    "render_report",
    "write_report",
]


@dataclass(frozen=True)
class MeasureSection:
    """One measure by council.

    Attributes
    ----------
    key : a short identifier (letters, digits, ``-``, ``_``), used for anchors and ids.
    title : the section heading, e.g. ``"Unpaid carers"``.
    table : one row per council: ``area_code``, ``area_name``, ``estimate``, ``ci_lower``,
        ``ci_upper``; optional ``direct`` with ``direct_se`` or ``direct_lower`` / ``direct_upper``
        (adds the direct-vs-model chart), ``suppressed`` (bool). Rows of regions and England
        (``area_level`` not ``"council"``, or codes outside the 153 councils) are listed in the
        table but not mapped.
    label : what the value is, e.g. ``"share of residents aged 5+ who are carers"``.
    value_format : ``str.format`` pattern for values, e.g. ``"{:.1%}"``.
    description : a paragraph under the heading (definition in plain words).
    notes : the measure's notes (what was treated as known, which model, ...).
    reference : the England value (drawn on the caterpillar plot, in the headline table).
    tables : further tables to show under the measure, by caption.
    figures : further figures by caption: a matplotlib ``Figure`` (put inline as SVG) or PNG bytes
        (put inline as a ``data:`` URI), e.g. the small-area model's diagnostic plots.
    """

    key: str
    title: str
    table: pd.DataFrame
    label: str = ""
    value_format: str = "{:.3g}"
    description: str = ""
    notes: Sequence[str] = ()
    reference: float | None = None
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    figures: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectionSection:
    """A projection over years for one area (e.g. England or a council): ``table`` has ``year``,
    ``estimate``, ``ci_lower``, ``ci_upper`` and optionally ``variant_lower``, ``variant_upper``
    (the range across population-projection variants)."""

    key: str
    title: str
    table: pd.DataFrame
    label: str = ""
    value_format: str = "{:,.0f}"
    description: str = ""
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class Appendix:
    """What the pipeline knows about the run, printed at the end of the report.

    Attributes
    ----------
    sources : one mapping per data source with ``name`` and ``licence`` and optionally
        ``publisher``, ``attribution``, ``url``, ``notes``.
    definitions : term → definition.
    methods : paragraphs on the methods.
    disclosure : the disclosure rules applied (one line each).
    data_protection : checklist items as (item, status), status e.g. ``"yes"``, ``"no"``, ``"n/a"``.
    """

    sources: Sequence[Mapping[str, str]] = ()
    definitions: Mapping[str, str] = field(default_factory=dict)
    methods: Sequence[str] = ()
    disclosure: Sequence[str] = ()
    data_protection: Sequence[tuple[str, str]] = ()


CSS = """
:root{--fg:#1b1b1b;--muted:#555;--line:#d0d0d0;--bg:#fff;--accent:#0072B2;--band:#f4f6f8}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0 auto;max-width:60rem;padding:1rem;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.7rem;line-height:1.2;margin:.5rem 0}
h2{font-size:1.35rem;margin-top:2.5rem;padding-top:.5rem;border-top:3px solid var(--accent)}
h3{font-size:1.1rem;margin-top:1.5rem}
a{color:var(--accent)}
p.lede{color:var(--muted)}
nav.toc{background:var(--band);padding:.5rem 1rem;border-radius:6px}
nav.toc ol{margin:.3rem 0;padding-left:1.3rem}
figure{margin:1rem 0}
figure svg{display:block;width:100%;height:auto;max-width:100%}
figure.map svg{max-width:40rem;margin:0 auto}
figure.chart svg{max-width:44rem}
figure img{max-width:100%;height:auto}
figcaption{font-size:.9rem;color:var(--muted)}
.maps{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
.scroll.tall{max-height:32rem;overflow-y:auto}
table{border-collapse:collapse;font-size:.9rem;font-variant-numeric:tabular-nums;min-width:100%}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{padding:.3rem .6rem;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
td.num,th.num{text-align:right}
thead th{position:sticky;top:0;background:var(--band)}
details{margin:1rem 0}
summary{cursor:pointer;font-weight:600}
ul.notes li,ul.checklist li{margin:.2rem 0}
.status{display:inline-block;min-width:3rem;font-weight:600}
.supp{font-style:italic;color:var(--muted)}
footer{margin-top:3rem;font-size:.85rem;color:var(--muted)}
@media (max-width:40rem){body{padding:.6rem;font-size:15px}h1{font-size:1.4rem}}
@media print{nav.toc{display:none}.scroll.tall{max-height:none}h2{break-before:page}}
"""

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _fmt(values: pd.Series, value_format: str) -> pd.Series:
    """Numbers as text with ``value_format``; missing values as an empty cell."""
    num = pd.to_numeric(values, errors="coerce")
    return num.map(lambda x: "" if pd.isna(x) else value_format.format(x))


def _html_table(frame: pd.DataFrame, caption: str, numeric: Sequence[str] = ()) -> str:
    """A table with every cell escaped; ``numeric`` columns right-aligned."""
    cls = ["num" if c in numeric else "" for c in frame.columns]
    head = "".join(
        f'<th scope="col"{f" class={chr(34)}{k}{chr(34)}" if k else ""}>{escape(str(c))}</th>'
        for c, k in zip(frame.columns, cls, strict=True)
    )
    cells = frame.astype(str).apply(lambda col: col.map(escape))
    for c, k in zip(frame.columns, cls, strict=True):
        cells[c] = (f'<td class="{k}">' if k else "<td>") + cells[c] + "</td>"
    rows = "".join("<tr>" + cells.agg("".join, axis=1) + "</tr>") if len(frame) else ""
    return (
        f'<div class="scroll{" tall" if len(frame) > 20 else ""}"><table><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _measure_table(m: MeasureSection) -> str:
    t = m.table
    out = pd.DataFrame({"code": t["area_code"].astype(str)})
    if "area_name" in t.columns:
        out["name"] = t["area_name"].fillna("").astype(str)
    sup = (
        t["suppressed"].fillna(False).astype(bool)
        if "suppressed" in t.columns
        else pd.Series(False, index=t.index)
    )
    numeric = []
    for col, head in (
        ("estimate", "estimate"),
        ("ci_lower", "95% lower"),
        ("ci_upper", "95% upper"),
        ("direct", "direct (survey)"),
    ):
        if col in t.columns:
            out[head] = _fmt(t[col], m.value_format).where(~sup, "suppressed")
            numeric.append(head)
    return _html_table(out, f"{m.title} by area", numeric)


def headline_table(measures: Sequence[MeasureSection]) -> pd.DataFrame:
    """Per measure: England value (where given), council median, lowest and highest, councils
    with a value and councils suppressed (the values formatted as text)."""
    rows = []
    for m in measures:
        codes = m.table["area_code"].astype(str)
        council = codes.str[:3].isin(maps.COUNCIL_PREFIXES)
        if "area_level" in m.table.columns:
            council &= m.table["area_level"].astype(str) == "council"
        est = pd.to_numeric(m.table["estimate"], errors="coerce")[council]
        sup = (
            m.table["suppressed"].fillna(False).astype(bool)[council]
            if "suppressed" in m.table.columns
            else None
        )
        shown = est[~sup] if sup is not None else est
        f = m.value_format
        ok = shown.dropna()
        rows.append(
            {
                "measure": m.title,
                "England": "" if m.reference is None else f.format(m.reference),
                "council median": f.format(ok.median()) if len(ok) else "",
                "lowest": f.format(ok.min()) if len(ok) else "",
                "highest": f.format(ok.max()) if len(ok) else "",
                "councils with a value": str(len(ok)),
                "suppressed": str(int(sup.sum())) if sup is not None else "0",
            }
        )
    return pd.DataFrame(rows)


def _notes(notes: Sequence[str], cls: str = "notes") -> str:
    if not notes:
        return ""
    return f'<ul class="{cls}">' + "".join(f"<li>{escape(str(n))}</li>" for n in notes) + "</ul>"


def _figure(svg: str, caption: str, cls: str = "") -> str:
    return f'<figure class="{cls}">{svg}<figcaption>{escape(caption)}</figcaption></figure>'


def _measure(m: MeasureSection) -> str:
    label = m.label or m.title
    parts = [f'<section id="{m.key}"><h2>{escape(m.title)}</h2>']
    if m.description:
        parts.append(f"<p>{escape(m.description)}</p>")
    choro = maps.choropleth_svg(
        m.table, title=label, label=label, value_format=m.value_format, id_prefix=f"{m.key}-map"
    )
    hexes = maps.hexmap_svg(
        m.table, title=label, label=label, value_format=m.value_format, id_prefix=f"{m.key}-hex"
    )
    parts.append(
        '<div class="maps">'
        + _figure(
            choro,
            f"{m.title} by council (darker is higher; hover or tap a council for its value and interval).",
            "map choropleth",
        )
        + _figure(
            hexes,
            "The same as a hex map: each hexagon is a district, coloured by its council, so "
            "small urban councils are as visible as large rural ones.",
            "map hexmap",
        )
        + "</div>"
    )
    fig = charts.caterpillar(
        m.table,
        label=label,
        value_format=m.value_format,
        reference=m.reference,
        title=f"{m.title}: councils ranked, with 95% intervals",
    )
    parts.append(
        _figure(
            charts.figure_svg(fig, id_prefix=f"{m.key}-cat"),
            "Each line is a council's 95% interval; councils whose intervals overlap cannot be told apart.",
            "chart caterpillar",
        )
    )
    if "direct" in m.table.columns:
        fig = charts.direct_vs_model(m.table, label=label, value_format=m.value_format)
        parts.append(
            _figure(
                charts.figure_svg(fig, id_prefix=f"{m.key}-dvm"),
                "Left: the survey's direct estimate against the model "
                "estimate. Right: the widths of their 95% intervals.",
                "chart direct-model",
            )
        )
    parts.append(f"<details><summary>Table: {escape(m.title)} by area</summary>{_measure_table(m)}</details>")
    for i, (caption, figure) in enumerate(m.figures.items()):
        parts.append(_extra_figure(figure, caption, f"{m.key}-fig{i + 1}"))
    for caption, extra in m.tables.items():
        numeric = [c for c in extra.columns if pd.api.types.is_numeric_dtype(extra[c])]
        parts.append(_html_table(extra, caption, numeric))
    if m.notes:
        parts.append("<h3>Notes</h3>" + _notes(m.notes))
    parts.append("</section>")
    return "".join(parts)


def _extra_figure(figure: Any, caption: str, id_prefix: str) -> str:
    """A figure given by the caller: PNG bytes as a data URI, a matplotlib Figure as inline SVG."""
    if isinstance(figure, bytes | bytearray):
        if not bytes(figure[:8]) == b"\x89PNG\r\n\x1a\n":
            raise CarepopError(
                f"The figure {caption!r} is bytes but not a PNG image.",
                code="bad_figure",
                fix="pass PNG bytes (carepop.outputs.charts.figure_png) or a matplotlib Figure",
            )
        data = base64.b64encode(bytes(figure)).decode("ascii")
        img = f'<img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
        return _figure(img, caption, "chart extra")
    if hasattr(figure, "savefig"):
        return _figure(charts.figure_svg(figure, id_prefix=id_prefix), caption, "chart extra")
    raise CarepopError(
        f"The figure {caption!r} is neither PNG bytes nor a matplotlib Figure.",
        code="bad_figure",
        got=type(figure).__name__,
        fix="pass PNG bytes (carepop.outputs.charts.figure_png) or a matplotlib Figure",
    )


def _projection(p: ProjectionSection) -> str:
    parts = [f'<section id="{p.key}"><h2>{escape(p.title)}</h2>']
    if p.description:
        parts.append(f"<p>{escape(p.description)}</p>")
    fig = charts.fan_chart(p.table, label=p.label or p.title, value_format=p.value_format, title=p.title)
    parts.append(
        _figure(
            charts.figure_svg(fig, id_prefix=f"{p.key}-fan"),
            "Central projection, its 95% interval (darker band) and the "
            "range across population-projection variants (lighter band).",
            "chart fan",
        )
    )
    cols = [
        c
        for c in ("estimate", "ci_lower", "ci_upper", "variant_lower", "variant_upper")
        if c in p.table.columns
    ]
    table = pd.DataFrame({"year": p.table["year"].astype(str)})
    for c in cols:
        table[c] = _fmt(p.table[c], p.value_format)
    parts.append(
        f"<details><summary>Table: {escape(p.title)}</summary>{_html_table(table, p.title, cols)}</details>"
    )
    parts.append(_notes(p.notes) + "</section>")
    return "".join(parts)


def _appendix(a: Appendix) -> str:
    parts = ['<section id="appendix"><h2>Appendix</h2>', '<h3 id="sources">Data sources and licences</h3>']
    if a.sources:
        cols = ["name", "publisher", "licence", "attribution", "url", "notes"]
        frame = pd.DataFrame([{c: s.get(c, "") for c in cols} for s in a.sources])
        frame = frame[[c for c in cols if (frame[c].astype(str) != "").any()]]
        parts.append(_html_table(frame.fillna(""), "Data sources"))
    else:
        parts.append("<p>None given.</p>")
    parts.append('<h3 id="definitions">Definitions</h3>')
    if a.definitions:
        parts.append(
            "<dl>"
            + "".join(
                f"<dt><strong>{escape(k)}</strong></dt><dd>{escape(v)}</dd>" for k, v in a.definitions.items()
            )
            + "</dl>"
        )
    parts.append('<h3 id="methods">Methods</h3>' + "".join(f"<p>{escape(p)}</p>" for p in a.methods))
    parts.append(
        '<h3 id="disclosure">Disclosure control applied</h3>'
        + (_notes(a.disclosure) or "<p>None recorded.</p>")
    )
    parts.append('<h3 id="data-protection">Data-protection checklist</h3>')
    if a.data_protection:
        parts.append(
            '<ul class="checklist">'
            + "".join(
                f'<li><span class="status">{escape(str(s))}</span> {escape(str(item))}</li>'
                for item, s in a.data_protection
            )
            + "</ul>"
        )
    parts.append("</section>")
    return "".join(parts)


def _check(measures: Sequence[MeasureSection], projections: Sequence[ProjectionSection]) -> None:
    keys = [s.key for s in (*measures, *projections)]
    bad = [k for k in keys if not _KEY.match(k) or k in ("contents", "headline", "method-notes", "appendix")]
    if bad:
        raise CarepopError(
            "A section key must start with a letter, hold only letters, digits, '-' and '_', and not be "
            "a name the report uses itself.",
            code="bad_key",
            got=bad[:5],
            fix="give each measure and projection a key such as 'carers'",
        )
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise CarepopError(
            "Two sections share a key.",
            code="duplicate_key",
            got=dup,
            fix="give each measure and projection its own key",
        )
    for m in measures:
        missing = [c for c in ("area_code", "estimate") if c not in m.table.columns]
        if missing:
            raise CarepopError(
                f"The table of measure {m.key!r} has no {missing[0]!r} column.",
                code="missing_column",
                column=missing[0],
                got=list(map(str, m.table.columns))[:10],
                fix="pass one row per council with area_code, area_name, estimate, ci_lower, ci_upper",
            )


def render_report(
    measures: Sequence[MeasureSection],
    *,
    title: str,
    projections: Sequence[ProjectionSection] = (),
    notes: Sequence[str] = (),
    appendix: Appendix | None = None,
    subtitle: str = "",
    footer: str = "",
) -> str:
    """The report as HTML text (see the module docstring); nothing is fetched when it is opened."""
    _check(measures, projections)
    appendix = appendix or Appendix()
    toc = [
        ("headline", "Headline figures"),
        *((m.key, m.title) for m in measures),
        *((p.key, p.title) for p in projections),
        ("method-notes", "Method notes"),
        ("appendix", "Appendix"),
    ]
    head = headline_table(measures)
    body = [
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="lede">{escape(subtitle)}</p>' if subtitle else "",
        "</header>",
        '<nav class="toc" id="contents" aria-label="Contents"><strong>Contents</strong><ol>'
        + "".join(f'<li><a href="#{k}">{escape(t)}</a></li>' for k, t in toc)
        + "</ol></nav>",
        '<section id="headline"><h2>Headline figures</h2>'
        + _html_table(head, "Headline figures by measure", [c for c in head.columns if c != "measure"])
        + "</section>",
        *(_measure(m) for m in measures),
        *(_projection(p) for p in projections),
        '<section id="method-notes"><h2>Method notes</h2>'
        + (_notes(notes) or "<p>None given.</p>")
        + "</section>",
        _appendix(appendix),
        f"<footer><p>{escape(footer)}</p>"
        f"<p>{escape(maps.BOUNDARIES_ATTRIBUTION)} {escape(maps.HEX_ATTRIBUTION)}</p></footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )


def write_report(
    path: str | os.PathLike[str],
    measures: Sequence[MeasureSection],
    *,
    title: str,
    projections: Sequence[ProjectionSection] = (),
    notes: Sequence[str] = (),
    appendix: Appendix | None = None,
    subtitle: str = "",
    footer: str = "",
) -> Path:
    """Write the report (one HTML file, atomically) and return its path."""
    html = render_report(
        measures,
        title=title,
        projections=projections,
        notes=notes,
        appendix=appendix,
        subtitle=subtitle,
        footer=footer,
    )
    write_text_atomic(path, html)
    return Path(path)


def demo_sections(seed: int = 2023) -> tuple[list[MeasureSection], list[ProjectionSection]]:
    """Synthetic values for the 153 councils (a demo measure with direct and model estimates, and
    an England projection), for the sample report and the tests; the values mean nothing."""
    shapes, _ = maps.council_paths()
    rng = np.random.default_rng(seed)
    n = len(shapes)
    # a smooth north-south gradient plus noise, so the map shows a pattern
    truth = 0.08 + 0.04 * shapes["cy"].to_numpy() / shapes["cy"].max() + rng.normal(0, 0.006, n)
    se_direct = rng.uniform(0.008, 0.03, n)
    direct = truth + rng.normal(0, se_direct)
    synthetic = 0.08 + 0.04 * shapes["cy"].to_numpy() / shapes["cy"].max()  # the "model" part
    gamma = 0.006**2 / (0.006**2 + se_direct**2)
    est = gamma * direct + (1 - gamma) * synthetic
    se = np.sqrt(gamma) * se_direct
    table = pd.DataFrame(
        {
            "area_level": "council",
            "area_code": shapes["code"],
            "area_name": shapes["name"],
            "direct": direct,
            "direct_se": se_direct,
            "estimate": est,
            "ci_lower": est - 1.96 * se,
            "ci_upper": est + 1.96 * se,
            "suppressed": False,
        }
    )
    table.loc[table["area_code"] == "E06000053", ["suppressed"]] = True  # Isles of Scilly
    table.loc[
        table["area_code"] == "E09000001", ["direct", "direct_se", "estimate", "ci_lower", "ci_upper"]
    ] = np.nan
    england = pd.DataFrame(
        {
            "area_level": ["country"],
            "area_code": ["E92000001"],
            "area_name": ["England"],
            "estimate": [float(np.nanmean(est))],
        }
    )
    table = pd.concat([table, england], ignore_index=True)
    years = np.arange(2023, 2041)
    central = 5.0e6 * (1 + 0.012 * (years - 2023))
    w = 0.004 * central * np.sqrt(years - 2022)
    projection = pd.DataFrame(
        {
            "year": years,
            "estimate": central,
            "ci_lower": central - w,
            "ci_upper": central + w,
            "variant_lower": central - 2.5 * w,
            "variant_upper": central + 2 * w,
        }
    )
    measure = MeasureSection(
        key="demo",
        title="Demo measure (synthetic)",
        table=table,
        label="demo rate",
        value_format="{:.1%}",
        description="Synthetic values by council, to show the layout of the report; they mean nothing.",
        notes=[
            "values are random draws around a north–south gradient",
            "Isles of Scilly suppressed as a test",
        ],
        reference=float(np.nanmean(est)),
    )
    proj = ProjectionSection(
        key="demo-projection", title="Demo projection, England (synthetic)", table=projection, label="people"
    )
    return [measure], [proj]


def main(argv: list[str]) -> None:
    """``python -m carepop.outputs.report OUT.html``: write the sample report of synthetic values
    (the one pictured in ``docs/report.png``)."""
    measures, projections = demo_sections()
    write_report(
        argv[0] if argv else "report.html",
        measures,
        title="carepop sample report (synthetic values)",
        subtitle="A demo measure for the 153 councils with adult social care duties (values mean nothing).",
        projections=projections,
        notes=["Every value in this report is synthetic, drawn to show the layout."],
        appendix=Appendix(
            sources=[
                {
                    "name": "Council boundaries (generalised, 2023)",
                    "publisher": "Office for National Statistics",
                    "licence": "Open Government Licence v3.0",
                    "attribution": maps.BOUNDARIES_ATTRIBUTION,
                },
                {
                    "name": "Hex layout of local authority districts 2023",
                    "publisher": "Open Innovations",
                    "licence": "MIT",
                    "attribution": maps.HEX_ATTRIBUTION,
                },
            ],
            definitions={"demo rate": "a synthetic share, one per council"},
            methods=[
                "Synthetic direct estimates shrunk towards a synthetic model, as a Fay–Herriot model does."
            ],
            disclosure=["Isles of Scilly marked as suppressed, to show how suppression looks"],
            data_protection=[("no person-level data in the report", "yes")],
        ),
    )


if __name__ == "__main__":  # pragma: no cover - the sample report of docs/report.png
    import sys

    main(sys.argv[1:])

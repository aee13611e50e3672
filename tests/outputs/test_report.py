"""The self-contained HTML report (carepop.outputs.report), checked as text and in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.outputs import charts, report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
APPENDIX = report.Appendix(
    sources=[
        {
            "name": "Census 2021 TS039",
            "publisher": "ONS",
            "licence": "Open Government Licence v3.0",
            "attribution": "Source: Office for National Statistics, Open Government Licence v3.0.",
        },
        {"name": "Hex layout", "publisher": "Open Innovations", "licence": "MIT"},
    ],
    definitions={"unpaid carer": "someone who looks after a family member, partner or friend"},
    methods=["Fay–Herriot model on the arcsine scale, benchmarked to regions."],
    disclosure=["counts below 10 suppressed", "counts rounded to the nearest 5"],
    data_protection=[("no person identifiers in any output", "yes"), ("linkage keys hashed (HMAC)", "n/a")],
)


class Parsed(HTMLParser):
    """Tags, ids, anchors and resource references of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.resources: list[tuple[str, str, str]] = []
        self.meta: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "a" and a.get("href"):
            self.hrefs.append(str(a["href"]))
        for key in ("src", "href", "xlink:href", "data"):
            if a.get(key) and tag != "a":
                self.resources.append((tag, key, str(a[key])))
        if tag == "meta":
            self.meta.append(a)


@pytest.fixture(scope="module")
def sections():
    return report.demo_sections()


@pytest.fixture(scope="module")
def html(sections) -> str:
    measures, projections = sections
    return report.render_report(
        measures,
        title="Carers <report> & more",
        projections=projections,
        notes=["note with <b>markup</b>"],
        appendix=APPENDIX,
        subtitle="2023",
    )


def parse(html: str) -> Parsed:
    p = Parsed()
    p.feed(html)
    p.close()
    return p


def test_self_contained_no_network_no_script(html):
    p = parse(html)
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags and "img" not in p.tags
    # the only references are in-page: #anchors, pattern ids (#...-hex) and data: URIs
    assert all(v.startswith(("#", "data:")) for _, _, v in p.resources), p.resources[:5]
    assert "@import" not in html and "url(http" not in html and "@font-face" not in html
    assert re.findall(r"(?:src|href)=\"https?:", html) == []


def test_structure_toc_and_unique_ids(html):
    p = parse(html)
    assert len(p.ids) == len(set(p.ids)), [i for i in p.ids if p.ids.count(i) > 1][:5]
    toc = [h[1:] for h in p.hrefs if h.startswith("#")]
    assert set(toc) <= set(p.ids)
    assert {"headline", "demo", "demo-projection", "method-notes", "appendix"} <= set(toc)
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in p.meta
    assert html.count('class="map choropleth"') == 1 and html.count('class="map hexmap"') == 1
    assert html.count('class="chart caterpillar"') == 1 and html.count('class="chart direct-model"') == 1
    assert html.count('class="chart fan"') == 1
    assert html.count("<svg") == 5
    assert "overflow-x:auto" in html and "@media (max-width" in html


def test_text_is_escaped(sections):
    measures, _ = sections
    m = measures[0]
    t = m.table.copy()
    t.loc[0, "area_name"] = "<script>alert(1)</script>"
    evil = replace(m, table=t, title="<i>t</i>", notes=["<img src=x onerror=alert(1)>"])
    out = report.render_report(
        [evil],
        title="<b>x</b>",
        notes=["<script>"],
        appendix=report.Appendix(
            sources=[{"name": "<a href='http://e'>x</a>", "licence": "OGL"}], definitions={"<k>": "<v>"}
        ),
    )
    assert "<script" not in out and "<img" not in out and "<i>" not in out and "<b>x" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "<a href='http" not in out


def test_headline_and_tables(html, sections):
    measures, _ = sections
    t = measures[0].table
    councils = t[t["area_level"] == "council"]
    shown = councils[~councils["suppressed"].astype(bool)]["estimate"].dropna()
    head = report.headline_table(measures).iloc[0]
    assert head["council median"] == f"{shown.median():.1%}"
    assert head["lowest"] == f"{shown.min():.1%}" and head["highest"] == f"{shown.max():.1%}"
    assert head["councils with a value"] == str(len(shown)) == "151"
    assert head["suppressed"] == "1"
    # the suppressed council's numbers are never printed, in the table or the tooltips
    scilly = councils[councils["area_code"] == "E06000053"].iloc[0]
    row = re.search(r"<tr><td>E06000053</td>.*?</tr>", html).group(0)
    assert "suppressed" in row and f"{scilly['estimate']:.1%}" not in row
    assert "Isles of Scilly (E06000053): demo rate suppressed (disclosure control)" in html


def test_appendix_content(html):
    for text in (
        "Open Government Licence v3.0",
        "MIT",
        "unpaid carer",
        "Fay–Herriot",
        "counts below 10 suppressed",
        "no person identifiers in any output",
        "Data-protection checklist",
    ):
        assert text in html


def test_bad_sections_are_refused(sections):
    measures, projections = sections
    with pytest.raises(CarepopError) as e:
        report.render_report([replace(measures[0], key="1 bad")], title="x")
    assert e.value.code == "bad_key"
    with pytest.raises(CarepopError) as e:
        report.render_report(measures, title="x", projections=[replace(projections[0], key="demo")])
    assert e.value.code == "duplicate_key"
    with pytest.raises(CarepopError) as e:
        report.render_report(
            [replace(measures[0], table=measures[0].table.drop(columns="estimate"))], title="x"
        )
    assert e.value.code == "missing_column" and e.value.column == "estimate"


def test_write_report_atomic_and_inputs_unchanged(tmp_path, sections):
    measures, projections = sections
    before = measures[0].table.copy()
    out = report.write_report(tmp_path / "r.html", measures, title="t", projections=projections)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left
    pd.testing.assert_frame_equal(measures[0].table, before)


def test_same_report_every_run(sections, html):
    measures, projections = sections
    again = report.render_report(
        measures,
        title="Carers <report> & more",
        projections=projections,
        notes=["note with <b>markup</b>"],
        appendix=APPENDIX,
        subtitle="2023",
    )
    assert again == html


# ----------------------------------------------------------------------------- in a browser


def chromium(page: Path, *args: str, tmp: Path) -> tuple[str, list[str], list[str]]:
    """Open ``page`` in headless Chromium: (the DOM after load, console messages, URLs the page
    asked for over the network). Network requests are read from Chromium's net log, keeping those
    made for the page (``site_for_cookies`` file://), not Chromium's own background calls."""
    netlog = tmp / f"{page.stem}-net.json"
    run = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--log-net-log={netlog}",
            f"--user-data-dir={tmp / 'profile'}",
            *args,
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    console = re.findall(r":CONSOLE(?::|\()\d+\)?\] (.*)", run.stderr)
    events = json.loads(netlog.read_text()).get("events", []) if netlog.exists() else []
    asked = sorted(
        {
            e["params"]["url"]
            for e in events
            if "url" in e.get("params", {})
            and "site=file://" in str(e["params"].get("site_for_cookies", ""))
            and not e["params"]["url"].startswith(("file:", "data:"))
        }
    )
    return run.stdout, console, asked


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")


@needs_chromium
def test_the_checks_can_fail(tmp_path):
    """A planted script error, console error and external request are all seen."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://example.com/a.css"></head>'
        '<body><p>x</p><script>console.error("planted"); throw new Error("boom");</script></body></html>'
    )
    dom, console, asked = chromium(bad, tmp=tmp_path)
    assert "<p>x</p>" in dom
    assert any("planted" in c for c in console) and any("Uncaught Error: boom" in c for c in console)
    assert asked == ["https://example.com/a.css"]


@needs_chromium
def test_report_in_chromium(tmp_path, sections):
    measures, projections = sections
    page = report.write_report(
        tmp_path / "report.html",
        measures,
        title="Demo report",
        projections=projections,
        appendix=APPENDIX,
        notes=["demo"],
    )
    dom, console, asked = chromium(page, "--window-size=1000,1000", tmp=tmp_path)
    assert console == [] and asked == []
    assert dom.count('class="area"') == 153 + 296  # both maps rendered into the DOM
    assert dom.count("<svg") == 5 and 'class="chart fan"' in dom and 'class="chart caterpillar"' in dom
    # on a narrow (phone-sized) window nothing sticks out sideways: a probe script logs the layout
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.read_text(encoding="utf-8").replace(
            "</body>",
            '<script>const e=document.documentElement;const s=[...document.querySelectorAll("figure svg")]'
            ".map(x=>x.getBoundingClientRect().width);"
            'console.log("LAYOUT "+e.scrollWidth+" "+innerWidth+" "+Math.max(...s)+" "+s.length)'
            "</script></body>",
        ),
        encoding="utf-8",
    )
    _, console, _ = chromium(probe, "--window-size=390,844", tmp=tmp_path)
    layout = [c for c in console if c.startswith('"LAYOUT')]
    assert len(layout) == 1, console
    scroll, inner, widest, n = (
        float(x) for x in re.findall(r"LAYOUT ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", layout[0])[0]
    )
    assert n == 5 and scroll <= inner and widest <= inner
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1000,1400",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_values_have_their_shape(sections):
    measures, projections = sections
    t = measures[0].table
    councils = t[t["area_level"] == "council"]
    assert len(councils) == 153 and councils["area_code"].is_unique
    ok = councils.dropna(subset=["estimate"])
    assert (ok["ci_lower"] < ok["estimate"]).all() and (ok["estimate"] < ok["ci_upper"]).all()
    p = projections[0].table
    assert np.all(p["variant_lower"] <= p["ci_lower"]) and np.all(p["ci_upper"] <= p["variant_upper"])


def test_extra_figures_inline(sections):
    import base64

    measures, _ = sections
    fig = charts.fan_chart(sections[1][0].table)
    png = charts.figure_png(fig, dpi=40)
    m = replace(measures[0], figures={"as PNG": png, "as SVG": fig})
    out = report.render_report([m], title="x")
    uri = re.search(r'<img src="data:image/png;base64,([^"]+)"', out).group(1)
    assert base64.b64decode(uri) == png
    assert out.count("<svg") == 5  # the 4 of the measure and the figure
    p = parse(out)
    assert all(v.startswith(("#", "data:")) for _, _, v in p.resources)
    assert len(p.ids) == len(set(p.ids))
    with pytest.raises(CarepopError) as e:
        report.render_report([replace(m, figures={"x": b"GIF89a"})], title="x")
    assert e.value.code == "bad_figure"

"""Publishing a run: disclosure control on every table, then tables, plots, the report and the
manifest's record of what was done.

1. Every table a measure returns is protected as its step declares (:class:`~carepop.pipeline.
   steps.Protect`): weighted totals rounded, rates rounded, exact counts suppressed (1..7) and
   rounded, direct estimates on too few respondents blanked; tables of counts by council with their
   regions and England get secondary suppression and the LP audit. With ``[disclosure] enabled =
   false`` nothing is protected and the manifest and report say so in capitals.
2. Tables: CSV and Parquet per table, one ``tables.xlsx`` with a notes sheet
   (:mod:`carepop.outputs.tables`).
3. Plots (PNG and SVG, in ``plots/``): per report section the caterpillar plot of the council
   estimates, and the fan chart of each projection — drawn from the protected tables, so no label
   shows a suppressed value.
4. ``report.html`` (:mod:`carepop.outputs.report`) with the appendix: sources and licences,
   definitions, methods, the disclosure rules applied and the data-protection checklist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carepop.outputs import charts
from carepop.outputs.disclosure import DisclosureRules, protect_estimates, protect_table, rules_from
from carepop.outputs.report import Appendix, MeasureSection, ProjectionSection, write_report
from carepop.outputs.tables import write_tables
from carepop.pipeline.step_types import Protect, Section, StepResult

#: the data sources a run's report credits (bundled data; the run's own inputs are listed too)
SOURCES = (
    {
        "name": "Census 2021 (TS039 unpaid care, TS007 age, TS008 sex) and Census 2011 (QS301)",
        "publisher": "Office for National Statistics (Nomis)",
        "licence": "Open Government Licence v3.0",
        "attribution": (
            "Source: Office for National Statistics licensed under the Open Government Licence v3.0"
        ),
    },
    {
        "name": "GP-registered carers by practice, summed to councils (2023-24 Q2)",
        "publisher": "NHS England (NHS Digital)",
        "licence": "Open Government Licence v3.0",
    },
    {
        "name": "English Indices of Deprivation 2019",
        "publisher": "Ministry of Housing, Communities and Local Government",
        "licence": "Open Government Licence v3.0",
    },
    {
        "name": "2018-based subnational and 2018/2020-based national population projections",
        "publisher": "Office for National Statistics",
        "licence": "Open Government Licence v3.0",
        "attribution": (
            "Source: Office for National Statistics licensed under the Open Government Licence v3.0"
        ),
    },
    {
        "name": "Council boundaries (generalised) and district hex layout",
        "publisher": "Office for National Statistics; Open Innovations",
        "licence": "Open Government Licence v3.0; MIT",
        "attribution": "Contains OS data © Crown copyright and database right",
    },
)


def disclosure_rules(config_section: Mapping[str, Any]) -> tuple[DisclosureRules | None, dict[str, Any]]:
    """The rules of a ``[disclosure]`` table (None when ``enabled = false``) and their record."""
    values = {k: v for k, v in config_section.items() if k != "enabled"}
    rules = rules_from(values)
    if config_section.get("enabled", True) is False:
        return None, {"enabled": False, "warning": "DISCLOSURE CONTROL WAS TURNED OFF: NOT FOR PUBLICATION"}
    return rules, {"enabled": True, **rules.record()}


def protect(
    table: pd.DataFrame,
    spec: Protect,
    rules: DisclosureRules,
    published: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One table protected as ``spec`` says (module docstring); returns it and what was done.
    ``published``: the tables protected so far (for ``spec.linked``)."""
    if spec.nested:
        return _protect_nested(table, spec, rules)
    records: dict[str, Any] = {}
    out = table
    if spec.linked is not None:
        source, measure, column = spec.linked
        values = _linked_values(table, (published or {})[source], measure)
        out = table.assign(**{column: values})
        hidden = np.isnan(values)
        if hidden.any() and spec.derived:
            out[list(spec.derived)] = (
                out[list(spec.derived)]
                .astype(float)
                .mask(pd.DataFrame({c: hidden for c in spec.derived}, index=out.index))
            )
        records["linked"] = f"{column} as published in {source} ({measure}), suppression included"
    if spec.withheld:
        out = out.copy()
        for stat, n in spec.withheld:
            few = pd.to_numeric(table[n], errors="coerce").to_numpy(dtype=float) < rules.threshold
            out[stat] = np.where(
                few, np.nan, pd.to_numeric(table[stat], errors="coerce").to_numpy(dtype=float)
            )
        records["withheld"] = {stat: f"blank where {n} < {rules.threshold}" for stat, n in spec.withheld}
    if spec.base is not None and spec.base_columns:
        first = protect_estimates(out, rates=list(spec.base_columns), base=spec.base, rules=rules)
        out = first.table.rename(columns={"status": "direct_status"})
        records["direct"] = first.record
    rest = [c for c in spec.rates if c not in spec.base_columns]
    # counts given for some rows only (council rows of a table with region and England rows) are
    # protected where they are given and stay empty elsewhere
    empty = {c: out[c].isna().to_numpy() for c in spec.counts}
    if any(m.any() for m in empty.values()):
        out = out.assign(**{c: out[c].fillna(0) for c in spec.counts})
    second = protect_estimates(
        out, totals=list(spec.totals), rates=rest, counts=list(spec.counts), base=None, rules=rules
    )
    out = second.table.drop(columns="status")
    for c, m in empty.items():
        if m.any():
            out.loc[m, c] = pd.NA
    records["estimates"] = second.record
    return out, records


def _linked_values(table: pd.DataFrame, nested: pd.DataFrame, measure: str) -> np.ndarray:
    """The values a nested council → region → England table publishes for ``measure``, for each
    row of ``table`` (councils, regions and England by ``area_code``)."""
    from carepop.outputs.disclosure import TOTAL

    rows = nested[nested["measure"] == measure]
    council = rows["council_code"].astype(str)
    region = rows["region_code"].astype(str)
    code = np.where(council != TOTAL, council, np.where(region != TOTAL, region, "E92000001"))
    values = pd.Series(pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float), index=code)
    return table["area_code"].astype(str).map(values).to_numpy(dtype=float)


def _protect_nested(table: pd.DataFrame, spec: Protect, rules: DisclosureRules) -> tuple[pd.DataFrame, dict]:
    """Counts by council (inner cells) with region and England margins: one protected, audited
    table per count column, stacked long (``measure``, ``region_code``, ``council_code``,
    ``value``, ``status`` published / suppressed)."""
    frames, records = [], {}
    for col in spec.counts:
        result = protect_table(
            table[["region_code", "council_code", col]],
            col,
            [("region_code", "council_code")],
            rules=rules,
            public=True,
        )
        audit = result.audit
        records[col] = {
            **result.record,
            "audit_all_protected": bool(audit["protected"].all()) if len(audit) else True,
        }
        frames.append(
            result.table.assign(measure=col)[["measure", "region_code", "council_code", "value", "status"]]
        )
    return pd.concat(frames, ignore_index=True), records


def publish(
    folder: Path,
    config: Any,
    results: Mapping[str, StepResult],
    manifest: dict[str, Any],
    say: Callable[[str], None],
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Protect, write and report (module docstring) into ``folder``; return the tables and manifest."""
    rules, rules_record = disclosure_rules(config.disclosure)
    tables: dict[str, pd.DataFrame] = {}
    applied: dict[str, Any] = {}
    notes: list[str] = []
    for name, result in results.items():
        for tname, frame in result.tables.items():
            spec = result.protect.get(tname, Protect())
            if rules is None:  # every table says so, in its first column
                tables[tname] = frame.assign(**{"NOT FOR PUBLICATION": "disclosure control was off"})[
                    ["NOT FOR PUBLICATION", *frame.columns]
                ]
            else:
                tables[tname], applied[tname] = protect(frame, spec, rules, tables)
        notes.extend(f"{name}: {n}" for n in result.notes)
    outputs = config.outputs
    say("writing the tables")
    written = write_tables(
        folder,
        tables,
        formats=outputs.get("tables", ("csv", "parquet", "xlsx")),
        notes=[*_rule_lines(rules_record), *notes],
    )
    say("drawing the plots and the report")
    sections, projections = _sections(results, tables)
    plot_files = _plots(folder / "plots", sections, projections, outputs.get("plots", ("png", "svg")))
    report = None
    if outputs.get("report", True):
        report = write_report(
            folder / "report.html",
            [s for s, _ in sections],
            title=str(config.run.get("title", "carepop: estimates by council")),
            projections=[p for p, _ in projections],
            notes=[n for n in notes],
            appendix=_appendix(config, rules_record),
            subtitle="Estimates by council with 95% intervals",
        )
    manifest = {
        **manifest,
        "disclosure": {"rules": rules_record, "applied": applied},
        "outputs": sorted(
            str(p.relative_to(folder)) for p in [*written, *plot_files, *([report] if report else [])]
        ),
    }
    return tables, manifest


def _rule_lines(record: Mapping[str, Any]) -> list[str]:
    if not record.get("enabled", True):
        return [str(record["warning"])]
    return [
        f"counts of 1 to {record['threshold'] - 1} suppressed, zeros shown, other counts rounded "
        f"to the nearest {record['count_round']}",
        f"weighted estimates of people rounded to the nearest {record['estimate_round']:g}; rates "
        f"to {record['rate_decimals']} decimals",
        f"direct survey estimates on fewer than {record['min_base']} respondents not published "
        "(model estimates are)",
        "tables of counts by council are published with their regional and England totals only "
        "after secondary suppression, audited by linear programming (every suppressed cell's "
        f"range at least {record['protection']} wide)",
        f"source of the rules: {record['source']}",
    ]


def _section_table(table: pd.DataFrame, s: Section) -> pd.DataFrame:
    """The report's view of a section: area rows with estimate/ci under their standard names."""
    for column, value in s.where:
        table = table[table[column] == value]
    cols = {s.value: "estimate", s.lower: "ci_lower", s.upper: "ci_upper"}
    keep = ["area_level", "area_code", "area_name", *cols]
    if s.direct:
        keep += [c for c in ("direct", "direct_se") if c in table.columns]
    view = table[[c for c in dict.fromkeys(keep) if c in table.columns]].rename(columns=cols)
    view["suppressed"] = view["estimate"].isna().to_numpy()
    return view.reset_index(drop=True)


def _sections(results: Mapping[str, StepResult], tables: Mapping[str, pd.DataFrame]):
    sections, projections = [], []
    for result in results.values():
        for s in result.sections:
            view = _section_table(tables[s.table], s)
            england = view[view["area_level"].astype(str) == "england"]["estimate"]
            reference = float(england.iloc[0]) if len(england) and np.isfinite(england.iloc[0]) else None
            sections.append(
                (
                    MeasureSection(
                        key=s.key,
                        title=s.title,
                        table=view,
                        label=s.label,
                        value_format=s.value_format,
                        description=s.description,
                        notes=list(result.notes),
                        reference=reference,
                    ),
                    s,
                )
            )
        for s in result.projections:
            t = tables[s.table]
            projections.append(
                (
                    ProjectionSection(
                        key=s.key,
                        title=s.title,
                        table=t,
                        label=s.label,
                        value_format=s.value_format,
                        description=s.description,
                        notes=list(result.notes),
                    ),
                    s,
                )
            )
    return sections, projections


def _plots(folder: Path, sections, projections, formats) -> list[Path]:
    formats = list(formats)
    if not formats:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    figures = [
        (
            s.key,
            charts.caterpillar(
                m.table[m.table["area_level"] == "council"],
                label=m.label,
                title=m.title,
                reference=m.reference,
                value_format=m.value_format,
            ),
        )
        for m, s in sections
    ]
    figures += [
        (
            p.key,
            charts.fan_chart(p.table, label=p.label or p.title, title=p.title, value_format=p.value_format),
        )
        for p, _ in projections
    ]
    for key, fig in figures:
        if "svg" in formats:
            (folder / f"{key}.svg").write_text(charts.figure_svg(fig, id_prefix=key), encoding="utf-8")
            written.append(folder / f"{key}.svg")
        if "png" in formats:
            (folder / f"{key}.png").write_bytes(charts.figure_png(fig))
            written.append(folder / f"{key}.png")
    return written


def _appendix(config: Any, rules_record: Mapping[str, Any]) -> Appendix:
    inputs = [
        {"name": f"{name}: {spec['file']}", "publisher": "supplied by the user", "licence": "as supplied"}
        for name, spec in config.inputs.items()
    ]
    protection = [
        ("Only the columns the analysis declares were read from person-level files", "yes"),
        ("No person identifier (or hashed identifier) is in any output (checked before writing)", "yes"),
        (
            "Disclosure control applied to every published table and plot label",
            "yes" if rules_record.get("enabled", True) else "NO: not for publication",
        ),
        (
            "Tables of counts with totals audited by linear programming",
            "yes" if rules_record.get("enabled", True) else "no",
        ),
        (
            "Inputs recorded with their SHA-256 in manifest.json, so the run can be checked and repeated",
            "yes",
        ),
        (
            "Lawful basis, data-sharing agreement and retention of the inputs",
            "for the data controller to confirm",
        ),
    ]
    return Appendix(
        sources=[*SOURCES, *inputs],
        definitions={
            "unpaid carer": (
                "someone who looks after, or gives help or support to, anyone because of long-term "
                "physical or mental ill-health or disability, or problems related to old age "
                "(Census 2021 question)"
            ),
            "hidden carer": (
                "an unpaid carer not known to the services named (GP carer registers or council records)"
            ),
            "95% interval": (
                "the range that would cover the true value in 95% of repeated surveys, given the model"
            ),
        },
        methods=[
            "Direct estimates are design-based (Horvitz–Thompson with Taylor linearisation; they "
            "agree with R survey). Council estimates use area-level small-area models (Fay–Herriot) "
            "with census and administrative covariates, benchmarked to regional direct estimates.",
            "Counts are rates times Census 2021 populations, treated as known. Each measure's notes "
            "say which other inputs were treated as known.",
        ],
        disclosure=_rule_lines(rules_record),
        data_protection=protection,
    )

"""Is this file CLD at all (:func:`validate`), and how well is it recorded (:func:`quality_report`)?

:func:`validate` fails with a :class:`~carepop.errors.CarepopError` when the file cannot be read as
CLD: a required field missing or no data rows (see :mod:`~carepop.sources.cld.inputs`), a date or
birth year/month that does not parse, a date outside 1900-01-01..2100-12-31, or an ``LA_Code``
that is not one of the 153 councils. Nothing is computed from such a file.

:func:`quality_report` gives one row per check: how many records (or events, or people) it finds,
their share, up to five example rows (1-based data rows, header excluded) and what the check means.
``severity`` is ``problem`` for recording problems and ``info`` for facts worth knowing that are
not errors (people known only at first contact, records without a traced NHS number).

=================================  ======  ===========================================================
check                              level   counts
=================================  ======  ===========================================================
``missing_birth_date``             record  records without a birth year or month
``implausible_birth_date``         record  birth year outside 1900-2100 or month outside 1-12 (unknown)
``missing_value:<field>``          record  records without a Client_Type, Event_Type or start date
``end_before_start``               record  events that end before they start
``open_non_service``               record  requests, assessments or reviews without an end date
``missing_identifier``             record  records with neither pseudonymised identifier
``retired_code:<field>``           record  retired or earlier wordings (recoded to the current code)
``nonstandard_spelling:<field>``   record  codes in another letter case (recoded)
``invalid_code:<field>``           record  codes outside the list ("Invalid code" in aggregates)
``no_nhs_number``                  record  records without a traced NHS number (info)
``event_before_birth``             record  events starting before the record's birth month
``duplicate_events``               event   records that repeat an earlier record (removed)
``resubmitted_events``             event   earlier versions of an event sent again with other
                                           details (e.g. an end date now filled): the latest
                                           reported version is kept (info)
``events_after_death``             event   events starting after the person's date of death
``service_open_after_death``       event   services starting on or before death that are open or
                                           end after it
``overlapping_services``           event   services starting before an earlier service of the same
                                           person, type and component has ended (a service
                                           starting on the day another ends is a handover)
``first_contact_only``             person  people whose only events are requests (info)
=================================  ======  ===========================================================

Event and person checks run on the de-duplicated events; people are keyed as in the pipeline
(:mod:`carepop.sources.cld.sql`). Overlaps are only looked for among services whose type is in
the code list (after recoding) and whose component is in it or missing (its own value).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from carepop.errors import CarepopError
from carepop.sources.cld import schema
from carepop.sources.cld.engines import Engine, get_engine
from carepop.sources.cld.inputs import EventFile, open_events
from carepop.sources.cld.sql import (
    Step,
    base_steps,
    code,
    councils_table,
    dedup_steps,
    lit,
    person_steps,
    recode,
    status,
)

__all__ = ["CHECKS", "Check", "quality_report", "quality_steps", "validate", "validation_steps"]


@dataclass(frozen=True)
class Check:
    """One data-quality check of the report."""

    id: str
    column: str | None
    level: str  # "record" | "event" | "person"
    severity: str  # "problem" | "info"
    description: str
    condition: str | None = None  # record checks: SQL over cld_typed (+ c_Event_Type)
    code_status: int | None = None  # code checks: the status of the value (see sql.status)


def _record_checks() -> list[Check]:
    lo, hi = schema.BIRTH_YEAR_RANGE
    y, m = "i_Der_Birth_Year", "i_Der_Birth_Month"
    request, assessment, review = (code("Event_Type", v) for v in ("Request", "Assessment", "Review"))
    checks = [
        Check(
            "missing_birth_date",
            "Der_Birth_Year",
            "record",
            "problem",
            "Records without a birth year or month; the age band is Unknown unless another record "
            "of the person has one.",
            f"{y} IS NULL OR {m} IS NULL",
        ),
        Check(
            "implausible_birth_date",
            "Der_Birth_Year",
            "record",
            "problem",
            f"Birth year outside {lo}-{hi} or month outside 1-12; treated as unknown.",
            f"{y} IS NOT NULL AND {m} IS NOT NULL "
            f"AND NOT ({y} BETWEEN {lo} AND {hi} AND {m} BETWEEN 1 AND 12)",
        ),
        Check(
            "event_before_birth",
            "Der_Birth_Year",
            "record",
            "problem",
            "Events that start before the record's (plausible) birth month; the age band is Unknown.",
            f"{y} BETWEEN {lo} AND {hi} AND {m} BETWEEN 1 AND 12 AND EXTRACT(YEAR FROM d_Event_Start_Date) "
            f"* 12 + EXTRACT(MONTH FROM d_Event_Start_Date) < {y} * 12 + {m}",
        ),
        Check(
            "missing_value:Client_Type",
            "Client_Type",
            "record",
            "problem",
            "Records without a client type.",
            "raw_Client_Type IS NULL",
        ),
        Check(
            "missing_value:Event_Type",
            "Event_Type",
            "record",
            "problem",
            "Records without an event type.",
            "raw_Event_Type IS NULL",
        ),
        Check(
            "missing_value:Event_Start_Date",
            "Event_Start_Date",
            "record",
            "problem",
            "Records without an event start date (age band Unknown).",
            "d_Event_Start_Date IS NULL",
        ),
        Check(
            "end_before_start",
            "Event_End_Date",
            "record",
            "problem",
            "Events that end before they start.",
            "d_Event_End_Date < d_Event_Start_Date",
        ),
        Check(
            "open_non_service",
            "Event_End_Date",
            "record",
            "problem",
            "Requests, assessments and reviews without an end date (they are recorded when "
            "completed; only services may be open).",
            f"d_Event_End_Date IS NULL AND {recode('Event_Type', 'raw_Event_Type')} "
            f"IN ({request}, {assessment}, {review})",
        ),
        Check(
            "missing_identifier",
            "Der_LA_Person_Unique_Identifier_Pseudo",
            "record",
            "problem",
            "Records with neither a traced NHS number nor a council person identifier: their "
            "events are counted, their people are not.",
            "nhs IS NULL AND la_pid IS NULL",
        ),
    ]
    for field in schema.CODE_FIELDS:
        if field in schema.RETIRED:
            checks.append(
                Check(
                    f"retired_code:{field}",
                    field,
                    "record",
                    "problem",
                    f"{field}: retired or earlier wordings, recoded to the current code.",
                    code_status=1,
                )
            )
        checks.append(
            Check(
                f"nonstandard_spelling:{field}",
                field,
                "record",
                "problem",
                f"{field}: codes in another letter case, recoded to the listed spelling.",
                code_status=2,
            )
        )
        if field in schema.R2_VALUES:
            checks.append(
                Check(
                    f"other_release:{field}",
                    field,
                    "record",
                    "info",
                    f"{field}: wordings of the other CLD release than the file's (e.g. Release 1 "
                    "wordings in a Release 2 file, as when a council changes release within the "
                    "period), recoded to the same carepop code.",
                    code_status=4,
                )
            )
        checks.append(
            Check(
                f"invalid_code:{field}",
                field,
                "record",
                "problem",
                f"{field}: codes outside the list (shown as '{schema.INVALID}' in aggregates).",
                code_status=3,
            )
        )
    checks.append(
        Check(
            "no_nhs_number",
            "Der_NHS_Number_Traced_Pseudo",
            "record",
            "info",
            "Records without a traced NHS number: the person is keyed on the NHS number another "
            "record of the same council identifier carries, else on the council identifier.",
            "nhs IS NULL",
        )
    )
    return checks


CHECKS: tuple[Check, ...] = (
    *_record_checks(),
    Check(
        "duplicate_events",
        None,
        "event",
        "problem",
        "Records identical to an earlier one in every field once codes are recoded (letter case, "
        "retired wordings; reporting-period dates aside); removed before counting. Example rows "
        "are the last copies.",
    ),
    Check(
        "resubmitted_events",
        None,
        "event",
        "info",
        "Earlier versions of an event sent again with other details (e.g. an open service closed in "
        "a later return): same person, client type, event type, start date and service type, "
        "component and delivery mechanism. Only the latest reported version is counted.",
    ),
    Check(
        "events_after_death",
        "Date_of_Death",
        "event",
        "problem",
        "Events that start after the person's (earliest recorded) date of death; kept in the counts.",
    ),
    Check(
        "service_open_after_death",
        "Date_of_Death",
        "event",
        "problem",
        "Services that start on or before the person's (earliest recorded) date of death but are "
        "open or end after it; kept in the counts.",
    ),
    Check(
        "overlapping_services",
        "Event_Start_Date",
        "event",
        "problem",
        "Services that start before an earlier service of the same person, service type and "
        "component (a missing component is a value of its own) has ended (open services never end; "
        "starting on its end date is a handover); kept in the counts.",
    ),
    Check(
        "first_contact_only",
        "Event_Type",
        "person",
        "info",
        "People whose only events are requests: known only at first contact. Example rows are "
        "each person's first row.",
    ),
)


# ---------------------------------------------------------------------------------------------
# validation: can the file be read as CLD at all?


def validation_steps(kinds: dict[str, str]) -> list[Step]:
    """Steps whose result lists, per problem, up to five rows (``chk``, ``_row``, ``val``,
    ``total``) that make the file unreadable as CLD."""
    parts = []
    for name in schema.DATE_FIELDS:
        if kinds[name] not in ("date", "timestamp"):
            parts.append(
                f"SELECT 'bad_date:{name}' AS chk, _row, s_{name} AS val FROM cld_typed WHERE bad_{name}"
            )
    lo, hi = schema.DATE_RANGE
    for name in schema.DATE_FIELDS:
        parts.append(
            f"SELECT 'implausible_date:{name}' AS chk, _row, COALESCE(s_{name}, CAST(d_{name} AS STRING)) "
            f"AS val FROM cld_typed WHERE d_{name} < DATE '{lo}' OR d_{name} > DATE '{hi}'"
        )
    for name in schema.INT_FIELDS:
        if kinds[name] != "int":
            parts.append(
                f"SELECT 'bad_number:{name}' AS chk, _row, s_{name} AS val FROM cld_typed WHERE bad_{name}"
            )
    parts.append(
        f"SELECT 'unknown_la' AS chk, t._row, t.la_code AS val FROM cld_typed t LEFT JOIN {councils_table()} "
        "ON t.la_code = councils.code WHERE councils.code IS NULL"
    )
    hits = Step("v_hits", "\nUNION ALL\n".join(parts))
    final = Step(
        "v_report",
        "SELECT chk, _row, val, total FROM (SELECT chk, _row, val,\n"
        "  COUNT(*) OVER (PARTITION BY chk) AS total,\n"
        "  ROW_NUMBER() OVER (PARTITION BY chk ORDER BY _row) AS rn FROM v_hits) t\n"
        "WHERE rn <= 5 ORDER BY chk, _row",
    )
    return [*base_steps(kinds), hits, final]


def validate(events: EventFile, engine: Engine) -> None:
    """Raise :class:`CarepopError` when ``events`` cannot be read as CLD (dates or birth
    year/month that do not parse, unknown council codes); return quietly otherwise."""
    found = engine.run(validation_steps(events.kinds), events.path, label=f"validating {events.source.name}")
    if found.empty:
        return
    order = [f"bad_date:{n}" for n in schema.DATE_FIELDS] + [
        f"implausible_date:{n}" for n in schema.DATE_FIELDS
    ]
    order += [f"bad_number:{n}" for n in schema.INT_FIELDS]
    order.append("unknown_la")
    problems = {chk: found[found["chk"] == chk] for chk in order if (found["chk"] == chk).any()}
    summaries = [_summary(chk, rows) for chk, rows in problems.items()]
    chk, rows = next(iter(problems.items()))
    kind, _, column = chk.partition(":")
    values = [_show(v) for v in rows["val"].tolist()]
    examples = ", ".join(dict.fromkeys(values))
    also = "; also " + "; ".join(summaries[1:]) if len(summaries) > 1 else ""
    name = events.source.name
    if kind == "bad_date":
        raise CarepopError(
            f"{name} cannot be read as CLD: {summaries[0]} (e.g. {examples}).",
            code="bad_date",
            column=column,
            rows=[int(r) for r in rows["_row"]],
            fix="write dates as YYYY-MM-DD (or DD/MM/YYYY) and leave unknown dates empty" + also,
        )
    if kind == "implausible_date":
        lo, hi = schema.DATE_RANGE
        raise CarepopError(
            f"{name} cannot be read as CLD: {summaries[0]} (e.g. {examples}).",
            code="implausible_date",
            column=column,
            rows=[int(r) for r in rows["_row"]],
            fix=f"dates must lie between {lo} and {hi}; correct them or leave unknown dates empty" + also,
        )
    if kind == "bad_number":
        raise CarepopError(
            f"{name} cannot be read as CLD: {summaries[0]} (e.g. {examples}).",
            code="bad_number",
            column=column,
            rows=[int(r) for r in rows["_row"]],
            fix="give the birth year (e.g. 1948) and month (1-12) as whole numbers, or leave them empty"
            + also,
        )
    abolished = [schema.ABOLISHED_2023[v] for v in rows["val"] if v in schema.ABOLISHED_2023]
    hint = (
        "re-code records of councils abolished in April 2023: " + "; ".join(dict.fromkeys(abolished))
        if abolished
        else "LA_Code must be the ONS code of one of the 153 councils (E06/E08/E09/E10), e.g. "
        "E10000014 for Hampshire"
    )
    raise CarepopError(
        f"{name} cannot be read as CLD: {summaries[0]} (e.g. {examples}).",
        code="unknown_la",
        column="LA_Code",
        rows=[int(r) for r in rows["_row"]],
        fix=hint + also,
    )


def _show(value: object) -> str:
    return "(missing)" if value is None or value != value else repr(value)


def _summary(chk: str, rows: pd.DataFrame) -> str:
    total = int(rows["total"].iloc[0])
    kind, _, column = chk.partition(":")
    if kind == "bad_date":
        return f"{total} value(s) of {column} are not dates"
    if kind == "implausible_date":
        lo, hi = schema.DATE_RANGE
        return f"{total} value(s) of {column} are dates outside {lo}..{hi}"
    if kind == "bad_number":
        return f"{total} value(s) of {column} are not whole numbers"
    return f"{total} record(s) have an LA_Code that is not one of the 153 councils"


# ---------------------------------------------------------------------------------------------
# the data-quality report


def quality_steps(kinds: dict[str, str], release: str = "r1") -> list[Step]:
    """Steps whose result has, per check with hits, up to five examples (``chk``, ``_row``,
    ``val``, ``total``), plus the totals ``__events`` and ``__persons``.

    Codes are classified on the distinct values of each field (a small table), not per record;
    the examples of a code check are the first rows of up to five different values.
    """
    record = [c for c in CHECKS if c.condition is not None]
    flags = ",\n  ".join(f"({c.condition}) AS f{i}" for i, c in enumerate(record))
    any_flag = " OR ".join(f"({c.condition})" for c in record)
    flag_step = Step(
        "q_flags", f"SELECT _row,\n  {flags}\nFROM cld_typed\nWHERE {any_flag}", materialize=True
    )
    values = Step(
        "q_codes",
        "\nUNION ALL\n".join(
            f"SELECT {lit(f)} AS field, val, n, first_row, {status(f, 'val', release)} AS st FROM (\n"
            f"  SELECT raw_{f} AS val, COUNT(*) AS n, MIN(_row) AS first_row FROM cld_typed\n"
            f"  WHERE raw_{f} IS NOT NULL GROUP BY raw_{f}) v_{f}"
            for f in schema.CODE_FIELDS
        ),
        materialize=True,
    )
    service = code("Event_Type", "Service")
    null = "CAST(NULL AS STRING) AS val"
    parts = [
        f"SELECT {lit(c.id)} AS chk, _row, {null}, CAST(1 AS BIGINT) AS n FROM q_flags WHERE f{i}"
        for i, c in enumerate(record)
    ]
    kinds_sql = " ".join(
        f"WHEN {k} THEN {lit(name)}"
        for k, name in (
            (1, "retired_code"),
            (2, "nonstandard_spelling"),
            (3, "invalid_code"),
            (4, "other_release"),
        )
    )
    parts += [
        f"SELECT CASE st {kinds_sql} END || ':' || field AS chk, first_row AS _row, val, n "
        "FROM q_codes WHERE st > 0",
        f"SELECT 'duplicate_events' AS chk, last_row AS _row, {null}, CAST(copies - 1 AS BIGINT) AS n "
        "FROM cld_versions WHERE copies > 1",
        f"SELECT 'resubmitted_events' AS chk, _row, {null}, CAST(1 AS BIGINT) AS n "
        "FROM cld_ranked WHERE rn > 1",
        f"SELECT 'events_after_death' AS chk, e._row, {null}, CAST(1 AS BIGINT) AS n FROM cld_keyed e "
        "LEFT JOIN cld_persons p ON e.la_code = p.la_code AND e.person = p.person "
        "WHERE e.d_Event_Start_Date > COALESCE(p.p_dod, e.d_Date_of_Death)",
        f"SELECT 'service_open_after_death' AS chk, e._row, {null}, CAST(1 AS BIGINT) AS n FROM cld_keyed e "
        "LEFT JOIN cld_persons p ON e.la_code = p.la_code AND e.person = p.person "
        f"WHERE e.c_Event_Type = {service} AND e.d_Event_Start_Date <= COALESCE(p.p_dod, e.d_Date_of_Death) "
        "AND (e.d_Event_End_Date IS NULL OR e.d_Event_End_Date > COALESCE(p.p_dod, e.d_Date_of_Death))",
        f"SELECT 'overlapping_services' AS chk, _row, {null}, CAST(1 AS BIGINT) AS n FROM (\n"
        "  SELECT _row, d_Event_Start_Date AS start_date, MAX(COALESCE(d_Event_End_Date, DATE '9999-12-31')) "
        "OVER (PARTITION BY la_code, person, c_Service_Type, c_Service_Component "
        "ORDER BY d_Event_Start_Date, _row ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end\n"
        f"  FROM cld_keyed WHERE c_Event_Type = {service} AND person IS NOT NULL "
        "AND d_Event_Start_Date IS NOT NULL AND c_Service_Type >= 0 "
        "AND (c_Service_Component IS NULL OR c_Service_Component >= 0)) s\n"
        "WHERE start_date < prev_end",
        f"SELECT 'first_contact_only' AS chk, p_first_row AS _row, {null}, CAST(1 AS BIGINT) AS n "
        "FROM cld_persons WHERE p_non_requests = 0",
        f"SELECT '__events' AS chk, CAST(0 AS BIGINT) AS _row, {null}, COUNT(*) AS n FROM cld_events",
        f"SELECT '__persons' AS chk, CAST(0 AS BIGINT) AS _row, {null}, COUNT(*) AS n FROM cld_persons",
    ]
    hits = Step("q_hits", "\nUNION ALL\n".join(parts))
    final = Step(
        "q_report",
        "SELECT chk, _row, val, total FROM (SELECT chk, _row, val, SUM(n) OVER (PARTITION BY chk) AS total,\n"
        "  ROW_NUMBER() OVER (PARTITION BY chk ORDER BY _row) AS rn FROM q_hits) t\n"
        "WHERE rn <= 5 ORDER BY chk, _row",
    )
    return [*base_steps(kinds), flag_step, values, *dedup_steps(), *person_steps(), hits, final]


def report_from_hits(hits: pd.DataFrame, rows: int) -> pd.DataFrame:
    """The report table from the result of :func:`quality_steps` and the number of input rows."""
    totals = hits.groupby("chk")["total"].first().astype("int64").to_dict()
    examples = hits.groupby("chk")["_row"].apply(lambda s: ", ".join(str(int(r)) for r in s)).to_dict()
    values = (
        hits.dropna(subset=["val"]).groupby("chk")["val"].apply(lambda s: " | ".join(map(str, s))).to_dict()
    )
    events = totals.get("__events", 0)
    persons = totals.get("__persons", 0)
    out = []
    for c in CHECKS:
        n = totals.get(c.id, 0)
        if c.level == "person":
            denom = persons
        elif c.level == "event" and c.id not in ("duplicate_events", "resubmitted_events"):
            denom = events
        else:
            denom = rows
        out.append(
            {
                "check": c.id,
                "column": c.column or "",
                "level": c.level,
                "severity": c.severity,
                "count": n,
                "share": n / denom if denom else 0.0,
                "example_rows": examples.get(c.id, "") if n else "",
                "example_values": values.get(c.id, "") if n else "",
                "description": c.description,
            }
        )
    frame = pd.DataFrame(out)
    frame["count"] = frame["count"].astype("int64")
    frame.attrs.update(rows=rows, events=events, persons=persons)
    return frame


def quality_report(
    path: str | Path,
    engine: str | Engine | None = None,
    *,
    release: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """The data-quality report of the event file at ``path`` (after :func:`validate`).

    Codes are checked against the lists of ``release`` (``"r1"`` or ``"r2"``; default: detected
    from the values, see :func:`~carepop.sources.cld.releases.resolve_release`).
    ``frame.attrs`` holds ``rows`` (input rows), ``events`` (after de-duplication), ``persons``
    and ``release``.
    ``encoding`` and ``sep`` describe a CSV file (see :func:`~carepop.sources.cld.inputs.open_events`).
    """
    from carepop.sources.cld.releases import resolve_release

    eng = get_engine(engine)
    with open_events(path, spark_safe=eng.spark_safe, encoding=encoding, sep=sep) as events:
        validate(events, eng)
        found = resolve_release(events, eng, release)
        hits = eng.run(
            quality_steps(events.kinds, found.release), events.path, label=f"checking {events.source.name}"
        )
        frame = report_from_hits(hits, events.rows)
        frame.attrs["release"] = found.release
        return frame


def problems(report: pd.DataFrame) -> int:
    """Number of checks of severity ``problem`` that found something."""
    return int(((report["severity"] == "problem") & (report["count"] > 0)).sum())

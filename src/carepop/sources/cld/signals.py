"""CLD signals by council: the counts and waits the measures read from client-level data.

:func:`signals` validates the file, settles its release (:mod:`~carepop.sources.cld.releases`),
then runs one SQL pipeline (DuckDB or Spark, the same text, identical results) over the
de-duplicated, person-keyed events of :mod:`~carepop.sources.cld.sql`. The result has one row per
council (``council_code``, every ``LA_Code`` with records in the file) and one column per signal.
Counts are exact: disclosure control is the outputs layer's job.

The period
----------
``period=(start, end)`` (dates, both included); by default the file's reporting period, from the
earliest ``Reporting_Period_Start_Date`` to the latest ``Reporting_Period_End_Date``. An event is
*in* the period when it starts in it; a service or assessment is *active* in the period when it
starts on or before its end and has no end date or ends on or after its start.

Signals (``people``: distinct persons, keyed as in :mod:`~carepop.sources.cld.sql`; records with
no identifier count as events, never as people)
-------------------------------------------------------------------------------------------------
``requests`` / ``requests_people``
    Requests for support from service users (client type Service User / "Service user")
    starting in the period: events / distinct people.
``requests_no_service`` / ``requests_no_service_people``
    Those whose outcome is one of :data:`~carepop.sources.cld.schema.NO_SERVICE_OUTCOMES` (every
    "NFA" outcome of either release: moved / responsibility moved to another LA, 100% NHS funded
    care / referral to NHS services, self-funded, information and advice / signposting, referral
    to another service within the LA (R2), support declined, deceased, no services offered or
    support ended for another reason, other). The outcome alone decides, as in SALT STS001.
``requests_self_funded`` / ``requests_self_funded_people``
    Those closed as "NFA: Self-funded client or under 12wk disregard" (Release 2 wording; the
    Release 1 wordings "NFA - Self-funded client (inc. 12wk disregard)" are recoded to it).
``long_term_people`` and ``long_term_<funding>``
    People with a long-term service (Nursing, Residential, Community, Prison) active in the period,
    in total and by their ``Client_Funding_Status``: ``fully_social_care_funded``,
    ``joint_funded`` (joint client and social care funded), ``fully_client_funded`` and
    ``funding_unknown`` (Unknown, missing, outside the list, or no such column). A person's status
    is the one on their latest record (start date, then row) with a known status (as DHSC's
    latest-person-details table does), else Unknown.
``home_care_people``, ``home_care_council_funded``, ``home_care_self_funded``
    People with a long-term community service whose component is home support ("Home Support",
    R2 "Home support or domiciliary care") active in the period; of them, those the council funds
    in whole or in part (fully social care or joint funded) and those fully client funded.
``carers_supported``
    Distinct carers (client type Carer / Carer known by association, R2 "Unpaid carer ...") with a
    carer-support service ("Carer Support: ..." / "Unpaid carer support: ...") or an assessment
    active in the period (the known-carers source for hidden carers; unlike the summary's
    ``carers_supported`` table, reviews alone do not count).
``wait_request_to_assessment_*`` and ``wait_request_to_service_*``
    Waiting times in days (``_median_days``, ``_p25_days``, ``_p75_days`` by linear interpolation,
    SQL ``PERCENTILE_CONT``; ``_n`` waits measured), see below. Missing when no wait was measured.

Waiting times: DHSC's method, and where this deviates
-----------------------------------------------------
Followed: DataS-DHSC/ASC-CLD-LA-Dashboard ``Waiting_times/waiting_times_method.sql`` (version 1.1,
19 May 2026, "provisional"), commit 9bee728:

1. Valid requests: requests of service users aged 25 or over at the request, whose outcome is not
   an "NFA" outcome nor "Admitted to hospital" (nor missing), from people who are not existing
   clients: no long-term service (nursing, residential, community, prison) that started before the
   request and is open or ended within the 12 months before it (or after it), and no ST-Max or
   other short-term service that started before it and is open or ended within the 3 months before
   it (months as calendar months, the day clamped to the month's end as SQL Server's ``DATEADD``).
2. Assessments (of people aged 25 or over) and services of the seven short- and long-term types
   (of people aged 25 or over) join the valid requests in one chronology per person: start date,
   then request before assessment before service on the same day.
3. For each valid request: the first assessment and the first service after it in that order.
   The service is the first response when it comes before that assessment or there is none.
4. The wait to service is dropped when the first response is an assessment and no assessment in
   its block of consecutive assessments has an outcome that progresses to a service (reablement /
   ST-Max, support planning or services, continuation of support or services; R1 "No change in
   package" and "Provision of service" are its Release 1 forms).
5. A request is dropped when the previous request's first response or service comes after it,
   or its first response / service is one an earlier request already took.
6. Wait = days from the request's start to the first response's start (to assessment) and to the
   service's start (to service); counted in the period of the assessment's / service's start.

Deviations: (a) DHSC keeps only assessments of type "Short term assessment" / "Long term
assessment"; carepop does not read ``Assessment_Type`` codes and keeps service users' assessments
(carers' assessments out) instead. (b) DHSC lets an R1 request flagged as a "conversation"
(``Der_Conversation``, a derived field of NHS England's extract) act as the assessment; carepop
has no such field and never does. (c) DHSC reports medians by statistical quarter and age band
(25-64, 65+); carepop reports one median, the quartiles and the count per council for the whole
period (waits whose response / service starts in it). (d) Events on the same day and of the same
kind are ordered by row number (DHSC: latest import first). (e) Age is the age band at the event's
start from birth year and month (DHSC: its derived age).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from carepop.errors import CarepopError, opt
from carepop.sources.cld import schema
from carepop.sources.cld.engines import Engine, get_engine
from carepop.sources.cld.inputs import open_events
from carepop.sources.cld.quality import validate
from carepop.sources.cld.sql import (
    Step,
    base_steps,
    code,
    dedup_steps,
    enriched_step,
    lit,
    person_steps,
)

__all__ = ["SIGNALS", "signals", "signals_steps"]

COUNTS = (
    "requests",
    "requests_people",
    "requests_no_service",
    "requests_no_service_people",
    "requests_self_funded",
    "requests_self_funded_people",
    "long_term_people",
    "long_term_fully_social_care_funded",
    "long_term_joint_funded",
    "long_term_fully_client_funded",
    "long_term_funding_unknown",
    "home_care_people",
    "home_care_council_funded",
    "home_care_self_funded",
    "carers_supported",
)
WAITS = tuple(
    f"wait_request_to_{part}_{stat}"
    for part in ("assessment", "service")
    for stat in ("median_days", "p25_days", "p75_days", "n")
)
#: the columns of :func:`signals`, after ``council_code``, ``council_name``, ``period_start`` and
#: ``period_end``
SIGNALS: tuple[str, ...] = COUNTS + WAITS

LONG_TERM = (
    "Long Term Support: Nursing Care",
    "Long Term Support: Residential Care",
    "Long Term Support: Community",
    "Long Term Support: Prison",
)
SHORT_TERM_RECENT = ("Short Term Support: ST-Max", "Short Term Support: Other Short Term")
WAIT_SERVICES = (
    *LONG_TERM,
    "Short Term Support: ST-Max",
    "Short Term Support: Ongoing Low Level",
    "Short Term Support: Other Short Term",
)
#: outcomes that end a request without progress (DHSC's "NFA" group and "Admitted to hospital")
NOT_PROGRESSING = (*schema.NO_SERVICE_OUTCOMES, "Service ended as planned", "Admitted to hospital")
#: assessment outcomes that progress to a service (DHSC step 2.3a, with their Release 1 forms)
TO_SERVICE = (
    "Progress to Reablement/ST-Max",
    "Progress to Support Planning / Services",
    "Continuation of support or services",
    "No change in package",
    "Provision of service",
)
AGE_25 = [label for label, _ in schema.AGE_BANDS].index("25-49")


def _codes(field: str, values) -> str:
    return "(" + ", ".join(str(code(field, v)) for v in values) + ")"


def _add_months(d: str, months: int) -> str:
    """SQL: the date ``d`` plus ``months`` calendar months, the day clamped to the month's end."""
    m = f"(EXTRACT(YEAR FROM {d}) * 12 + EXTRACT(MONTH FROM {d}) - 1 + ({months}))"
    y, mo = f"CAST(FLOOR({m} / 12) AS INT)", f"CAST({m} - FLOOR({m} / 12) * 12 + 1 AS INT)"
    last = f"EXTRACT(DAY FROM last_day(make_date({y}, {mo}, 1)))"
    return f"make_date({y}, {mo}, CAST(LEAST(EXTRACT(DAY FROM {d}), {last}) AS INT))"


def signals_steps(kinds: dict[str, str], period: tuple[date, date] | None = None) -> list[Step]:
    """The pipeline as SQL steps; the last returns one row per council (``la_code``, the period and
    :data:`SIGNALS`)."""
    if period is None:
        p_start, p_end = "MIN(d_Reporting_Period_Start_Date)", "MAX(d_Reporting_Period_End_Date)"
    else:
        # an aggregate, so the one-row table stays one row
        p_start, p_end = (f"MIN(DATE {lit(d.isoformat())})" for d in period)
    per = Step(
        "sig_period", f"SELECT {p_start} AS p_start, {p_end} AS p_end FROM cld_typed", materialize=True
    )
    request, assessment, service = (code("Event_Type", v) for v in ("Request", "Assessment", "Service"))
    su = code("Client_Type", "Service User")
    events = Step(
        "sig_events",
        "SELECT e.la_code, e.person, e._row, e.ord, e.age, e.c_Client_Type AS ct, e.c_Event_Type AS et,\n"
        "  e.c_Event_Outcome AS eo, e.c_Service_Type AS st, e.c_Service_Component AS sc,\n"
        "  e.c_Client_Funding_Status AS fs, e.d_Event_Start_Date AS sd, e.d_Event_End_Date AS ed,\n"
        "  p.p_start, p.p_end,\n"
        "  CASE WHEN e.d_Event_Start_Date <= p.p_end AND (e.d_Event_End_Date IS NULL OR\n"
        "    e.d_Event_End_Date >= p.p_start) THEN 1 ELSE 0 END AS active,\n"
        "  CASE WHEN e.d_Event_Start_Date BETWEEN p.p_start AND p.p_end THEN 1 ELSE 0 END AS starts_in\n"
        "FROM cld_enriched e CROSS JOIN sig_period p",
        materialize=True,
    )
    funding = Step(
        "sig_funding",
        "SELECT la_code, person, COALESCE(MAX_BY(CASE WHEN fs IN (0, 1, 2) THEN fs END,\n"
        "  CASE WHEN fs IN (0, 1, 2) THEN ord END), 3) AS fs_person\n"
        "FROM sig_events WHERE person IS NOT NULL GROUP BY la_code, person",
        materialize=True,
    )
    req = f"et = {request} AND ct = {su} AND starts_in = 1"
    nfa = f"{req} AND eo IN {_codes('Event_Outcome', schema.NO_SERVICE_OUTCOMES)}"
    sf = f"{req} AND eo = {code('Event_Outcome', schema.SELF_FUNDED)}"
    lt = f"et = {service} AND active = 1 AND st IN {_codes('Service_Type', LONG_TERM)}"
    home = (
        f"et = {service} AND active = 1 AND st = {code('Service_Type', 'Long Term Support: Community')} "
        f"AND sc = {code('Service_Component', 'Home Support')}"
    )
    carer = (
        f"ct IN {_codes('Client_Type', schema.CARER_CLIENT_TYPES)} AND active = 1 AND ((et = {service} "
        f"AND st IN {_codes('Service_Type', schema.CARER_SERVICE_TYPES)}) OR et = {assessment})"
    )

    def n(cond: str) -> str:
        return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    def people(cond: str) -> str:
        return f"COUNT(DISTINCT CASE WHEN {cond} THEN e.person END)"

    counts = Step(
        "sig_counts",
        "SELECT e.la_code, MIN(e.p_start) AS period_start, MIN(e.p_end) AS period_end,\n  "
        + ",\n  ".join(
            [
                f"{n(req)} AS requests",
                f"{people(req)} AS requests_people",
                f"{n(nfa)} AS requests_no_service",
                f"{people(nfa)} AS requests_no_service_people",
                f"{n(sf)} AS requests_self_funded",
                f"{people(sf)} AS requests_self_funded_people",
                f"{people(lt)} AS long_term_people",
                f"{people(lt + ' AND f.fs_person = 0')} AS long_term_fully_social_care_funded",
                f"{people(lt + ' AND f.fs_person = 1')} AS long_term_joint_funded",
                f"{people(lt + ' AND f.fs_person = 2')} AS long_term_fully_client_funded",
                f"{people(lt + ' AND f.fs_person NOT IN (0, 1, 2)')} AS long_term_funding_unknown",
                f"{people(home)} AS home_care_people",
                f"{people(home + ' AND f.fs_person IN (0, 1)')} AS home_care_council_funded",
                f"{people(home + ' AND f.fs_person = 2')} AS home_care_self_funded",
                f"{people(carer)} AS carers_supported",
            ]
        )
        + "\nFROM sig_events e LEFT JOIN sig_funding f ON e.la_code = f.la_code AND e.person = f.person\n"
        "GROUP BY e.la_code",
    )
    return [
        *base_steps(kinds),
        *dedup_steps(),
        *person_steps(),
        enriched_step(),
        per,
        events,
        funding,
        counts,
        *_wait_steps(),
        _final(),
    ]


def _wait_steps() -> list[Step]:
    request, assessment, service = (code("Event_Type", v) for v in ("Request", "Assessment", "Service"))
    su = code("Client_Type", "Service User")
    adult = f"age BETWEEN {AGE_25} AND {len(schema.AGE_BANDS) - 1}"
    lt = _codes("Service_Type", LONG_TERM)
    st_recent = _codes("Service_Type", SHORT_TERM_RECENT)
    existing = Step(
        "sig_existing",
        "SELECT DISTINCT r._row FROM sig_events r JOIN sig_events s\n"
        "  ON r.la_code = s.la_code AND r.person = s.person\n"
        f"WHERE r.et = {request} AND s.et = {service} AND s.sd < r.sd AND (\n"
        f"  (s.st IN {lt} AND (s.ed IS NULL OR s.ed >= {_add_months('r.sd', -12)}))\n"
        f"  OR (s.st IN {st_recent} AND (s.ed IS NULL OR s.ed >= {_add_months('r.sd', -3)})))",
        materialize=True,
    )
    valid = (
        f"e.et = {request} AND e.ct = {su} AND e.{adult} AND e.eo IS NOT NULL "
        f"AND e.eo NOT IN {_codes('Event_Outcome', NOT_PROGRESSING)} AND x._row IS NULL"
    )
    seq = Step(
        "sig_seq",
        "SELECT la_code, person, _row, kind, sd, eo,\n"
        "  ROW_NUMBER() OVER (PARTITION BY la_code, person ORDER BY sd, kind, _row) AS o\n"
        "FROM (\n"
        "  SELECT e.la_code, e.person, e._row, 1 AS kind, e.sd, e.eo FROM sig_events e\n"
        "  LEFT JOIN sig_existing x ON e._row = x._row\n"
        f"  WHERE e.person IS NOT NULL AND e.sd IS NOT NULL AND {valid}\n"
        "  UNION ALL\n"
        "  SELECT la_code, person, _row, 2 AS kind, sd, eo FROM sig_events\n"
        f"  WHERE person IS NOT NULL AND sd IS NOT NULL AND et = {assessment} AND ct = {su} AND {adult}\n"
        "  UNION ALL\n"
        "  SELECT la_code, person, _row, 3 AS kind, sd, eo FROM sig_events\n"
        f"  WHERE person IS NOT NULL AND sd IS NOT NULL AND et = {service} AND {adult}\n"
        f"    AND st IN {_codes('Service_Type', WAIT_SERVICES)}) u",
    )
    to_service = _codes("Event_Outcome", TO_SERVICE)
    blocks = Step(
        "sig_blocks",
        "SELECT b.*,\n"
        "  MAX(CASE WHEN kind = 2 THEN CASE WHEN eo IN " + to_service + " THEN 1 ELSE 0 END END)\n"
        "    OVER (PARTITION BY la_code, person, block) AS block_to_service,\n"
        "  MIN(CASE WHEN kind = 2 THEN o END) OVER (PARTITION BY la_code, person ORDER BY o\n"
        "    ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_a,\n"
        "  MIN(CASE WHEN kind = 3 THEN o END) OVER (PARTITION BY la_code, person ORDER BY o\n"
        "    ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_s\n"
        "FROM (SELECT s.*, SUM(CASE WHEN kind <> 2 THEN 1 ELSE 0 END) OVER (PARTITION BY la_code, person\n"
        "  ORDER BY o ROWS UNBOUNDED PRECEDING) AS block FROM sig_seq s) b",
        materialize=True,
    )
    svc_first = "(r.next_s IS NOT NULL AND (r.next_a IS NULL OR r.next_a > r.next_s))"
    linked = Step(
        "sig_linked",
        "SELECT r.la_code, r.person, r.o, r.sd,\n"
        f"  CASE WHEN {svc_first} THEN r.next_s ELSE r.next_a END AS resp_o,\n"
        f"  CASE WHEN {svc_first} THEN s.sd ELSE a.sd END AS resp_sd,\n"
        f"  CASE WHEN NOT {svc_first} AND r.next_a IS NOT NULL AND a.block_to_service = 0 THEN NULL\n"
        "    ELSE r.next_s END AS svc_o,\n"
        f"  CASE WHEN NOT {svc_first} AND r.next_a IS NOT NULL AND a.block_to_service = 0 THEN NULL\n"
        "    ELSE s.sd END AS svc_sd\n"
        "FROM sig_blocks r\n"
        "LEFT JOIN sig_blocks a ON a.la_code = r.la_code AND a.person = r.person AND a.o = r.next_a\n"
        "LEFT JOIN sig_blocks s ON s.la_code = r.la_code AND s.person = r.person AND s.o = r.next_s\n"
        "WHERE r.kind = 1",
        materialize=True,
    )
    w = "PARTITION BY la_code, person ORDER BY o"
    before = f"{w} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    waits = Step(
        "sig_waits",
        "SELECT la_code, resp_sd, svc_sd,\n"
        "  CASE WHEN dropped = 0 THEN cld_days_between(sd, resp_sd) END AS wait1,\n"
        "  CASE WHEN dropped = 0 THEN cld_days_between(sd, svc_sd) END AS wait2\n"
        "FROM (SELECT l.*, CASE\n"
        f"    WHEN LAG(GREATEST(resp_o, svc_o)) OVER ({w}) > o THEN 1\n"
        f"    WHEN resp_o <= COALESCE(MAX(resp_o) OVER ({before}), 0) THEN 1\n"
        f"    WHEN svc_o <= COALESCE(MAX(svc_o) OVER ({before}), 0) THEN 1\n"
        "    ELSE 0 END AS dropped FROM sig_linked l) d",
        materialize=True,
    )

    def part(name: str, wait: str, when: str) -> str:
        stats = ", ".join(
            f"PERCENTILE_CONT({q}) WITHIN GROUP (ORDER BY {wait}) AS wait_request_to_{name}_{label}"
            for q, label in ((0.5, "median_days"), (0.25, "p25_days"), (0.75, "p75_days"))
        )
        return (
            f"SELECT w.la_code, {stats}, COUNT(*) AS wait_request_to_{name}_n\n"
            f"FROM sig_waits w CROSS JOIN sig_period p WHERE {wait} IS NOT NULL AND {when} BETWEEN p.p_start "
            "AND p.p_end GROUP BY w.la_code"
        )

    return [
        existing,
        seq,
        blocks,
        linked,
        waits,
        Step("sig_wait1", part("assessment", "wait1", "w.resp_sd"), materialize=True),
        Step("sig_wait2", part("service", "wait2", "w.svc_sd"), materialize=True),
    ]


def _final() -> Step:
    cols = ", ".join(f"c.{c}" for c in COUNTS)
    w1 = ", ".join(f"w1.{c}" for c in WAITS[:4])
    w2 = ", ".join(f"w2.{c}" for c in WAITS[4:])
    return Step(
        "sig_final",
        f"SELECT c.la_code, c.period_start, c.period_end, {cols}, {w1}, {w2}\n"
        "FROM sig_counts c LEFT JOIN sig_wait1 w1 ON c.la_code = w1.la_code\n"
        "LEFT JOIN sig_wait2 w2 ON c.la_code = w2.la_code ORDER BY c.la_code",
    )


def _check_period(period) -> tuple[date, date] | None:
    if period is None:
        return None
    try:
        start, end = (d if isinstance(d, date) else date.fromisoformat(str(d)) for d in period)
    except (TypeError, ValueError):
        raise CarepopError(
            f"The period {period!r} is not two dates.",
            code="bad_option",
            got=repr(period),
            fix=("give ", opt("period", metavar="START,END"), " as two dates YYYY-MM-DD, start first"),
        ) from None
    if end < start:
        raise CarepopError(
            f"The period ends ({end}) before it starts ({start}).",
            code="bad_option",
            got=f"{start},{end}",
            fix=("give ", opt("period", metavar="START,END"), " with the start first"),
        )
    return start, end


def signals(
    path: str | Path,
    engine: str | Engine | None = None,
    *,
    release: str | None = None,
    period: tuple[date | str, date | str] | None = None,
    encoding: str | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """The CLD signals by council of the event file at ``path`` (see the module docstring).

    ``engine``: ``"duckdb"`` (default), ``"spark"`` or an engine; ``release``: ``"r1"`` / ``"r2"``
    (default detected); ``period``: ``(start, end)`` dates (default the file's reporting period).
    Returns one row per council: ``council_code``, ``council_name``, ``period_start``,
    ``period_end`` (dates), then :data:`SIGNALS` (counts ``int64``, waits ``float64`` with NaN
    where no wait was measured and ``_n`` ``int64``). ``attrs`` hold ``rows``, ``release``.

    Raises :class:`~carepop.errors.CarepopError` when the file cannot be read as CLD (dates or
    numbers that do not parse, unknown councils, ...: :func:`~carepop.sources.cld.quality.validate`),
    the release given does not match the file, the period is not two dates in order, or the file
    has no reporting period and none is given.
    """
    from carepop.sources.cld.releases import resolve_release

    when = _check_period(period)
    eng = get_engine(engine)
    with open_events(path, spark_safe=eng.spark_safe, encoding=encoding, sep=sep) as events:
        validate(events, eng)
        found = resolve_release(events, eng, release)
        label = f"signals of {events.source.name}"
        raw = eng.run(signals_steps(events.kinds, when), events.path, label=label)
        if raw["period_start"].isna().any() or raw["period_end"].isna().any():
            raise CarepopError(
                f"{events.source.name} has no reporting period: Reporting_Period_Start_Date or "
                "Reporting_Period_End_Date is empty on every record.",
                code="no_period",
                column="Reporting_Period_Start_Date",
                fix=("give the period with ", opt("period", metavar="START,END")),
            )
        out = _tidy(raw)
        out.attrs.update(rows=events.rows, release=found.release)
        return out


def _tidy(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw.rename(columns={"la_code": "council_code"})
    out.insert(1, "council_name", out["council_code"].map(schema.councils()).astype(object))
    out["council_code"] = out["council_code"].astype(object)
    for col in ("period_start", "period_end"):
        out[col] = pd.to_datetime(out[col]).dt.date
    for col in SIGNALS:
        if col.endswith("_n") or col in COUNTS:
            out[col] = out[col].fillna(0).astype("int64")
        else:
            out[col] = out[col].astype("float64")
    cols = ["council_code", "council_name", "period_start", "period_end", *SIGNALS]
    return out[cols].sort_values("council_code", kind="stable").reset_index(drop=True)

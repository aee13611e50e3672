"""CLD aggregates by council: one pipeline, written once in SQL, run on DuckDB or Spark.

:func:`summarise` validates the file (:func:`carepop.sources.cld.quality.validate`), then runs
the steps of :func:`summary_steps`:

1. type and recode every record (:func:`carepop.sources.cld.sql.base_steps`);
2. collapse the records of one event: identical copies (after recoding, reporting-period dates
   aside) and versions re-sent in later returns (same person, client type, event type, start date
   and service type / component / delivery mechanism), keeping the latest reported version
   (:func:`carepop.sources.cld.sql.dedup_steps`);
3. key people on ``Der_NHS_Number_Traced_Pseudo``, falling back to the NHS number another record
   with the same ``Der_LA_Person_Unique_Identifier_Pseudo`` carries, then to that identifier (a
   person is counted once per council);
4. derive each person's birth year/month and gender from their latest record that has them, and
   the age band at each event's start ("Unknown" when never recorded);
5. aggregate.

The result is a long table, one row per cell (the council's name beside its code), with the
counts ``events`` and ``people`` (distinct
people with at least one counted event in the cell: a person can be in several cells, so people
do not add up across cells). Columns not broken down in a table hold ``"All"``.

======================  =======================================================================
``table``               cells and what is counted
======================  =======================================================================
``activity``            LA x client type x age band x sex x event type x service type x primary
                        support reason: all de-duplicated events
``carers_supported``    LA x client type x age band x sex: carers (client type Carer or Carer
                        known by association) with a carer-support service, an assessment or a
                        review
``self_funded``         LA x client type x age band x sex x event type: events whose outcome is
                        "NFA: Self-funded client or under 12wk disregard" (people leaving as
                        self-funders)
``requests_no_service`` LA x client type x age band x sex x event outcome: requests whose
                        outcome says no service follows: one of
                        :data:`~carepop.sources.cld.schema.NO_SERVICE_OUTCOMES`, the "NFA" (no
                        further action) outcomes: moved to another LA, 100% NHS funded care,
                        self-funded, support declined, information & advice / signposting only,
                        deceased, no services offered or support ended for another reason, other.
                        Requests that progress (to assessment, reablement, support planning /
                        services, ...) are not counted, whatever services follow or not; the
                        outcome alone decides, as in SALT's STS001 (unidentified requests are
                        counted as events, not people)
======================  =======================================================================

No person identifier, birth date or row number leaves the engine: the output is counts only.
Counts are exact here; disclosure control lives in :mod:`carepop.outputs.disclosure`, which the
CLI applies (small counts suppressed, the rest rounded) unless told not to.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carepop.sources.cld import schema
from carepop.sources.cld.engines import Engine, get_engine
from carepop.sources.cld.inputs import open_events
from carepop.sources.cld.quality import validate
from carepop.sources.cld.sql import (
    Step,
    base_steps,
    code,
    decode,
    decode_age,
    decode_sex,
    dedup_steps,
    enriched_step,
    lit,
    person_steps,
)

__all__ = ["DIMENSIONS", "OUTPUT_COLUMNS", "TABLES", "summarise", "summary_steps"]

DIMENSIONS = (
    "la_code",
    "client_type",
    "age_band",
    "sex",
    "event_type",
    "service_type",
    "support_reason",
    "event_outcome",
)
OUTPUT_COLUMNS = ("table", "la_code", "la_name", *DIMENSIONS[1:], "events", "people")
TABLES = ("activity", "carers_supported", "self_funded", "requests_no_service")

_GROUP_EXPR = {
    "la_code": "la_code",
    "client_type": "c_Client_Type",
    "age_band": "age",
    "sex": "sex",
    "event_type": "c_Event_Type",
    "service_type": "c_Service_Type",
    "support_reason": "c_Primary_Support_Reason",
    "event_outcome": "c_Event_Outcome",
}
_DECODE = {
    "la_code": lambda e: e,
    "client_type": lambda e: decode("Client_Type", e),
    "age_band": decode_age,
    "sex": decode_sex,
    "event_type": lambda e: decode("Event_Type", e),
    "service_type": lambda e: decode("Service_Type", e),
    "support_reason": lambda e: decode("Primary_Support_Reason", e),
    "event_outcome": lambda e: decode("Event_Outcome", e),
}


def _table(name: str, dims: tuple[str, ...], where: str | None) -> str:
    keys = [_GROUP_EXPR[d] for d in dims]
    inner = (
        f"SELECT {', '.join(keys)}, COUNT(*) AS events, COUNT(DISTINCT person) AS people "
        f"FROM cld_facts {'WHERE ' + where if where else ''} GROUP BY {', '.join(keys)}"
    )
    cols = [f"{lit(name)} AS tbl"]
    for d in DIMENSIONS:
        cols.append(f"{_DECODE[d](_GROUP_EXPR[d])} AS {d}" if d in dims else f"{lit(schema.ALL)} AS {d}")
    return f"SELECT {', '.join(cols)}, events, people FROM ({inner}) g"


def summary_steps(kinds: dict[str, str]) -> list[Step]:
    """The pipeline as SQL steps; the last one returns ``tbl`` (the table), the
    :data:`DIMENSIONS`, ``events`` and ``people``, sorted."""
    carer_types = ", ".join(str(code("Client_Type", v)) for v in schema.CARER_CLIENT_TYPES)
    carer_services = ", ".join(str(code("Service_Type", v)) for v in schema.CARER_SERVICE_TYPES)
    request, assessment, service, review = (
        code("Event_Type", v) for v in ("Request", "Assessment", "Service", "Review")
    )
    no_service = ", ".join(str(code("Event_Outcome", v)) for v in schema.NO_SERVICE_OUTCOMES)
    facts = Step(
        "cld_facts",
        "SELECT la_code, person, c_Client_Type, age, sex, c_Event_Type, c_Service_Type,\n"
        "  c_Primary_Support_Reason, c_Event_Outcome,\n"
        f"  CASE WHEN c_Event_Type = {request} AND c_Event_Outcome IN ({no_service}) THEN 1 ELSE 0 END\n"
        "    AS no_service\n"
        "FROM cld_enriched",
        materialize=True,
    )
    base = ("la_code", "client_type", "age_band", "sex")
    parts = [
        _table("activity", (*base, "event_type", "service_type", "support_reason"), None),
        _table(
            "carers_supported",
            base,
            f"c_Client_Type IN ({carer_types}) AND ((c_Event_Type = {service} AND c_Service_Type IN "
            f"({carer_services})) OR c_Event_Type IN ({assessment}, {review}))",
        ),
        _table(
            "self_funded",
            (*base, "event_type"),
            f"c_Event_Outcome = {code('Event_Outcome', schema.SELF_FUNDED)}",
        ),
        _table("requests_no_service", (*base, "event_outcome"), "no_service = 1"),
    ]
    order = ", ".join(("tbl", *DIMENSIONS))
    final = Step("cld_summary", "SELECT * FROM (\n" + "\nUNION ALL\n".join(parts) + f"\n) s ORDER BY {order}")
    return [*base_steps(kinds), *dedup_steps(), *person_steps(), enriched_step(), facts, final]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Engine output -> the documented columns and dtypes, in a fixed order."""
    out = frame.rename(columns={"tbl": "table"})
    out.insert(2, "la_name", out["la_code"].map(schema.councils()))
    out = out[list(OUTPUT_COLUMNS)].copy()
    for col in ("table", "la_name", *DIMENSIONS):
        out[col] = out[col].astype(object)
    for col in ("events", "people"):
        out[col] = out[col].astype("int64")
    order = {name: i for i, name in enumerate(TABLES)}
    out = out.sort_values(
        ["table", *DIMENSIONS], key=lambda s: s.map(order) if s.name == "table" else s, kind="stable"
    )
    return out.reset_index(drop=True)


def summarise(
    path: str | Path,
    engine: str | Engine | None = None,
    *,
    encoding: str | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """Aggregate the CLD event file at ``path`` (CSV or Parquet) on ``engine`` (``"duckdb"``,
    the default, ``"spark"`` or an :class:`~carepop.sources.cld.engines.Engine`); ``encoding`` and
    ``sep`` describe a CSV file (see :func:`~carepop.sources.cld.inputs.open_events`).

    Raises :class:`~carepop.errors.CarepopError` when the file cannot be read as CLD. The frame's
    ``attrs`` hold ``rows`` (input rows).
    """
    eng = get_engine(engine)
    with open_events(path, spark_safe=eng.spark_safe, encoding=encoding, sep=sep) as events:
        validate(events, eng)
        steps = summary_steps(events.kinds)
        out = _tidy(eng.run(steps, events.path, label=f"summarising {events.source.name}"))
        out.attrs["rows"] = events.rows
        return out

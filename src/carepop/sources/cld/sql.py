"""SQL shared by the CLD quality report and the pipeline, written once for DuckDB and Spark SQL.

Every step is plain SQL that both engines run unchanged: CTE-free ``SELECT`` statements over named
views, ``CASE``, ``TRY_CAST``, ``EXTRACT``, window functions, ``COUNT(DISTINCT ...)`` and
``MAX_BY``. The one function the two dialects spell differently (a regular-expression match) is
written as ``cld_regexp_match(value, pattern)`` and replaced by the engine (:data:`DIALECTS`).

The engine registers the input file as the view ``cld_raw`` with a 1-based row number
``__cld_row`` (data rows as a spreadsheet user counts them, header excluded). The steps here build:

``cld_str``     trimmed text (empty -> NULL) and the input's own typed values
``cld_typed``   parsed dates and birth year/month (with flags for values that do not parse) and
                the codes as text (``raw_<field>``)
``cld_versions`` one row per group of identical records (every field after trimming, typing and
                recoding, reporting-period dates aside): first and last row number, copies
``cld_ranked``  versions numbered within an event (same council, identifiers, client type, event
                type, start date, service type/component/delivery mechanism), latest reported
                first (see :func:`dedup_steps`)
``cld_events``  the latest version of each event, each code recoded to its position in the code
                list (``c_<field>``, SMALLINT: -1 when not in the list; see :func:`recode` and
                :func:`status`)
``cld_links``   council person identifier -> traced NHS number, where the council links them
``cld_keyed``   events with the person key: "N" + the traced NHS number, else "N" + the NHS
                number another record of the same council identifier carries, else "L" + the
                council identifier
``cld_persons`` one row per council x person: latest known birth year/month and gender, earliest
                date of death, start of the last service, number of events other than requests
``cld_enriched`` events with the person's age band and sex
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from carepop.sources.cld import schema

#: the dialect-specific functions: full regular-expression match (patterns are anchored) and the
#: days from one date to another, ``cld_days_between(start, end)`` = end - start (a native name
#: ending in "(" replaces the generic name and its parenthesis)
DIALECTS: dict[str, dict[str, str]] = {
    "duckdb": {"cld_regexp_match": "regexp_matches", "cld_days_between": "datediff('day', "},
    "spark": {"cld_regexp_match": "regexp_like", "cld_days_between": "-datediff("},
}

ROW = "__cld_row"
UNKNOWN_AGE_CODE = len(schema.AGE_BANDS)
SEX_UNKNOWN_CODE = schema.SEXES.index("Unknown")
#: a date, or a date and a time of day with an optional UTC offset (nothing else may follow)
_ISO = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    "([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,9})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$"
)
_UK = "^[0-9]{2}/[0-9]{2}/[0-9]{4}$"
_WHOLE = "^[+-]?[0-9]{1,9}([.]0*)?$"
#: any character outside printable ASCII (space to tilde): line breaks among them, so a value
#: with one never matches a pattern (Java's ``$`` matches before a final line break, RE2's does not)
_NOT_PRINTABLE_ASCII = "[^ -~]"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()


def matches(value: str, pattern: str) -> str:
    """SQL: ``value`` matches the anchored ``pattern`` and holds printable ASCII only, the same on
    both engines (the second test is a search for one character, which both engines agree on)."""
    guard = f"cld_regexp_match({value}, '{_NOT_PRINTABLE_ASCII}')"
    return f"(cld_regexp_match({value}, '{pattern}') AND NOT {guard})"


def ascii_upper(text: str) -> str:
    """``text`` with the ASCII letters a-z upper-cased and nothing else changed (what
    :func:`upper_sql` does in SQL: ``UPPER`` differs between engines beyond ASCII)."""
    return text.translate(str.maketrans(_LOWER, _UPPER))


def upper_sql(expr: str) -> str:
    """SQL upper-casing the ASCII letters of ``expr`` only, identically on DuckDB and Spark."""
    return f"TRANSLATE({expr}, '{_LOWER}', '{_UPPER}')"


@dataclass(frozen=True)
class Step:
    """One named SQL step. ``materialize`` asks the engine to compute it once (a temp table in
    DuckDB, a persisted frame in Spark) because later steps read it more than once."""

    name: str
    sql: str
    materialize: bool = False


def dialect(sql: str, engine: str) -> str:
    """``sql`` with the dialect-specific function names of ``engine``."""
    for generic, native in DIALECTS[engine].items():
        sql = sql.replace(generic + "(", native if native.endswith(("(", " ")) else native + "(")
    return sql


def lit(value: str) -> str:
    """A SQL string literal both engines read the same way (no quotes or backslashes inside)."""
    if "'" in value or "\\" in value:
        raise ValueError(f"cannot write {value!r} as a portable SQL literal")
    return f"'{value}'"


def in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def code(field: str, value: str) -> int:
    """Position of ``value`` in the code list of ``field`` (what ``c_<field>`` holds)."""
    return schema.CODE_LISTS[field].index(value)


# ---------------------------------------------------------------------------------------------
# typing and recoding


def _text(col: str, kind: str) -> str:
    if kind in ("null", "absent"):
        return "CAST(NULL AS STRING)"
    if kind == "string":
        return f"NULLIF(TRIM({col}), '')"
    return f"NULLIF(TRIM(CAST({col} AS STRING)), '')"


def str_step(kinds: Mapping[str, str]) -> Step:
    """``cld_str``: text fields trimmed (empty -> NULL); dates and numbers kept typed if typed."""
    cols = [f"{ROW} AS _row"]
    for f in schema.FIELDS:
        kind = kinds[f.name]
        if f.kind in ("la", "id", "code", "text"):
            cols.append(f"{_text(f.name, kind)} AS s_{f.name}")
        elif f.kind == "date":
            if kind == "date":
                cols.append(f"{f.name} AS v_{f.name}")
            elif kind == "timestamp":
                cols.append(f"CAST({f.name} AS DATE) AS v_{f.name}")
            else:
                cols.append(f"{_text(f.name, kind)} AS s_{f.name}")
        else:  # int
            if kind == "int":
                cols.append(f"CAST({f.name} AS BIGINT) AS v_{f.name}")
            elif kind == "float":
                cols.append(f"{f.name} AS f_{f.name}")
            else:
                cols.append(f"{_text(f.name, kind)} AS s_{f.name}")
    return Step("cld_str", "SELECT " + ",\n  ".join(cols) + "\nFROM cld_raw")


def _date_cols(name: str, kind: str) -> list[str]:
    if kind in ("date", "timestamp"):
        return [f"v_{name} AS d_{name}", f"FALSE AS bad_{name}", f"CAST(NULL AS STRING) AS s_{name}"]
    s = f"s_{name}"
    parsed = (
        f"CASE WHEN {matches(s, _ISO)} THEN TRY_CAST(SUBSTR({s}, 1, 10) AS DATE) "
        f"WHEN {matches(s, _UK)} THEN "
        f"TRY_CAST(SUBSTR({s}, 7, 4) || '-' || SUBSTR({s}, 4, 2) || '-' || SUBSTR({s}, 1, 2) AS DATE) END"
    )
    return [
        f"{parsed} AS d_{name}",
        f"({s} IS NOT NULL AND ({parsed}) IS NULL) AS bad_{name}",
        f"{s} AS s_{name}",
    ]


def _int_cols(name: str, kind: str) -> list[str]:
    if kind == "int":
        return [f"v_{name} AS i_{name}", f"FALSE AS bad_{name}", f"CAST(v_{name} AS STRING) AS s_{name}"]
    if kind == "float":
        f = f"f_{name}"
        val = f"CASE WHEN {f} = FLOOR({f}) AND ABS({f}) < 1000000000 THEN CAST({f} AS BIGINT) END"
        return [
            f"{val} AS i_{name}",
            f"({f} IS NOT NULL AND ({val}) IS NULL) AS bad_{name}",
            f"CAST({f} AS STRING) AS s_{name}",
        ]
    s = f"s_{name}"
    val = f"CASE WHEN {matches(s, _WHOLE)} THEN CAST(CAST({s} AS DOUBLE) AS BIGINT) END"
    return [f"{val} AS i_{name}", f"({s} IS NOT NULL AND ({val}) IS NULL) AS bad_{name}", f"{s} AS s_{name}"]


def _recode(field: str, src: str | None = None, release: str = "r1") -> tuple[str, str]:
    """(code expression, status expression) for one code field, from the trimmed text ``src``
    (default ``s_<field>``). Codes are SMALLINT: the position in the list, -1 when not in it.

    Either release's wording is recoded (both name the same carepop code); the status says
    whether the wording is current in ``release`` (0), retired (1), another letter case (2),
    outside every list (3) or the other release's (4)."""
    s = src or f"s_{field}"
    codes = schema.CODE_LISTS[field]
    retired = schema.RETIRED.get(field, {})
    other_release = "r2" if release == "r1" else "r1"
    current = schema.release_values(field, release)
    other = [v for v in schema.release_values(field, other_release) if v not in current]
    known: dict[str, int] = {}
    for v in (*current, *other, *retired):
        known.setdefault(v, codes.index(schema.canonical(field, v)))
    exact = [f"WHEN {lit(v)} THEN {i}" for v, i in known.items()]
    upper: dict[str, int] = {}
    for v, i in known.items():
        upper.setdefault(ascii_upper(v), i)
    loose = [f"WHEN {lit(v)} THEN {i}" for v, i in upper.items()]
    code_expr = (
        f"CAST(CASE WHEN {s} IS NULL THEN NULL ELSE CASE {s} {' '.join(exact)} "
        f"ELSE CASE {upper_sql(s)} {' '.join(loose)} ELSE -1 END END END AS SMALLINT)"
    )
    st: dict[str, int] = {}
    for v in current:
        st.setdefault(v, 0)
    for v in retired:
        st.setdefault(v, 1)
    for v in other:
        st.setdefault(v, 4)
    st_exact = [f"WHEN {lit(v)} THEN {k}" for v, k in st.items()]
    st_upper: dict[str, int] = {}
    for v in current:
        st_upper.setdefault(ascii_upper(v), 2)
    for v in retired:
        st_upper.setdefault(ascii_upper(v), 1)
    for v in other:
        st_upper.setdefault(ascii_upper(v), 4)
    st_loose = [f"WHEN {lit(v)} THEN {k}" for v, k in st_upper.items()]
    status_expr = (
        f"CAST(CASE WHEN {s} IS NULL THEN NULL ELSE CASE {s} {' '.join(st_exact)} "
        f"ELSE CASE {upper_sql(s)} {' '.join(st_loose)} ELSE 3 END END END AS SMALLINT)"
    )
    return code_expr, status_expr


def typed_step(kinds: Mapping[str, str]) -> Step:
    """``cld_typed`` from ``cld_str`` (see the module docstring)."""
    cols = ["_row", "s_LA_Code AS la_code"]
    cols += [
        "s_Der_NHS_Number_Traced_Pseudo AS nhs",
        "s_Der_LA_Person_Unique_Identifier_Pseudo AS la_pid",
    ]
    for name in schema.DATE_FIELDS:
        cols += _date_cols(name, kinds[name])
    for name in schema.INT_FIELDS:
        cols += _int_cols(name, kinds[name])
    cols += [f"s_{name} AS raw_{name}" for name in schema.CODE_FIELDS]
    cols += [f"s_{name} AS t_{name}" for name in schema.TEXT_FIELDS]
    return Step("cld_typed", "SELECT " + ",\n  ".join(cols) + "\nFROM cld_str")


def recode(field: str, src: str) -> str:
    """SQL for the code of ``field`` (SMALLINT position in the list, -1 outside it, NULL when
    missing) from the trimmed text ``src``."""
    return _recode(field, src)[0]


def status(field: str, src: str, release: str = "r1") -> str:
    """SQL for the status of the text ``src`` of ``field`` in ``release``: 0 current, 1 retired,
    2 another letter case, 3 outside the lists, 4 the other release's wording, NULL when missing."""
    return _recode(field, src, release)[1]


def base_steps(kinds: Mapping[str, str]) -> list[Step]:
    """``cld_str`` and ``cld_typed``: the input as typed records (one per input row)."""
    return [str_step(kinds), typed_step(kinds)]


# ---------------------------------------------------------------------------------------------
# de-duplication and persons

_START = "d_Event_Start_Date"
_END = "d_Event_End_Date"
_DOD = "d_Date_of_Death"


def _birth_ym(prefix: str = "") -> str:
    lo, hi = schema.BIRTH_YEAR_RANGE
    y, m = f"{prefix}i_Der_Birth_Year", f"{prefix}i_Der_Birth_Month"
    return f"CASE WHEN {y} BETWEEN {lo} AND {hi} AND {m} BETWEEN 1 AND 12 THEN {y} * 12 + {m} - 1 END"


def councils_table() -> str:
    """The 153 council codes as an inline table ``(code)`` both engines read."""
    return "(VALUES " + ", ".join(f"({lit(c)})" for c in schema.councils()) + ") AS councils(code)"


#: what makes an event the same event across submissions (besides the person's identifiers):
#: its type, start date, client type and service type, component and delivery mechanism
IDENTITY_CODES = ("Client_Type", "Event_Type", "Service_Type", "Service_Component", "Delivery_Mechanism")
_RP_END = "d_Reporting_Period_End_Date"


def _code_keys(names: Iterable[str]) -> list[str]:
    """Group keys comparing codes on their recoded values (letter case, retired wordings), and
    values outside the list on their text (two different invalid values are not equal)."""
    keys = []
    for name in names:
        keys += [f"c_{name}", f"inv_{name}"]
    return keys


def dedup_steps() -> list[Step]:
    """``cld_versions``, ``cld_ranked`` and ``cld_events``: records grouped into events.

    1. ``cld_versions``: one row per group of identical records, every field compared after
       trimming spaces, reading dates and numbers and recoding codes (so ``female`` and ``Female``
       are equal), leaving out the reporting-period dates; ``copies`` records per group, ``_row``
       the first and ``last_row`` the last row number, ``rp_end`` the latest reporting-period end.
    2. ``cld_ranked``: versions of the same event numbered ``rn`` from the latest reported: the same
       council, person identifiers, client type, event type, start date and service type, component
       and delivery mechanism (end date, outcome and the rest may change when a council sends the
       event again, e.g. an open service closed in the next quarter's return). The latest version
       has the latest ``Reporting_Period_End_Date``, then an end date, then the later end date,
       then the later row. Records without a start date or without any identifier are not
       collapsed with other versions (only with identical copies).
    3. ``cld_events``: the latest version of each event (``versions`` how many were sent).
    """
    person = ["la_code", "nhs", "la_pid"]
    values = [*person, "i_Der_Birth_Year", "i_Der_Birth_Month", _START, _END, _DOD]
    codes = [f"{recode(name, f'raw_{name}')} AS c_{name}" for name in schema.CODE_FIELDS]
    norm = (
        "SELECT _row, "
        + ", ".join(values)
        + f", {_RP_END},\n  "
        + ", ".join(f"c_{n}" for n in schema.CODE_FIELDS)
        + ",\n  "
        + ", ".join(f"CASE WHEN c_{n} = -1 THEN raw_{n} END AS inv_{n}" for n in schema.CODE_FIELDS)
        + "\nFROM (SELECT *, "
        + ", ".join(codes)
        + " FROM cld_typed) t"
    )
    keys = values + _code_keys(schema.CODE_FIELDS)
    out_cols = values + _code_keys(schema.CODE_FIELDS)
    versions = Step(
        "cld_versions",
        f"SELECT MIN(_row) AS _row, MAX(_row) AS last_row, COUNT(*) AS copies, MAX({_RP_END}) AS rp_end,\n  "
        + ", ".join(out_cols)
        + f"\nFROM ({norm}) n\nGROUP BY "
        + ", ".join(keys),
        materialize=True,
    )
    alone = f"CASE WHEN {_START} IS NULL OR (nhs IS NULL AND la_pid IS NULL) THEN _row END"
    identity = ", ".join([*person, _START, alone, *_code_keys(IDENTITY_CODES)])
    ranked = Step(
        "cld_ranked",
        f"SELECT v.*,\n  ROW_NUMBER() OVER (PARTITION BY {identity}\n"
        f"    ORDER BY rp_end DESC NULLS LAST, CASE WHEN {_END} IS NULL THEN 1 ELSE 0 END, "
        f"{_END} DESC, last_row DESC) AS rn,\n"
        f"  COUNT(*) OVER (PARTITION BY {identity}) AS versions\nFROM cld_versions v",
        materialize=True,
    )
    keep = ["_row", "last_row", "copies", "versions", *values] + [f"c_{n}" for n in schema.CODE_FIELDS]
    events = Step(
        "cld_events", "SELECT " + ", ".join(keep) + "\nFROM cld_ranked WHERE rn = 1", materialize=True
    )
    return [versions, ranked, events]


def person_steps() -> list[Step]:
    """``cld_links``, ``cld_keyed`` and ``cld_persons`` (see the module docstring)."""
    links = Step(
        "cld_links",
        "SELECT e.la_code, e.la_pid, MIN(e.nhs) AS linked_nhs\n"
        "FROM cld_events e JOIN (SELECT DISTINCT la_code, la_pid FROM cld_events\n"
        "  WHERE nhs IS NULL AND la_pid IS NOT NULL) u ON e.la_code = u.la_code AND e.la_pid = u.la_pid\n"
        "WHERE e.nhs IS NOT NULL GROUP BY e.la_code, e.la_pid",
        materialize=True,
    )
    # a total order on a person's events: start date (missing first), then row number
    ymd = (
        f"COALESCE(CAST(EXTRACT(YEAR FROM e.{_START}) AS BIGINT) * 10000 "
        f"+ EXTRACT(MONTH FROM e.{_START}) * 100 + EXTRACT(DAY FROM e.{_START}), 0)"
    )
    extra = (
        f"  {ymd} * 100000000000 + e._row AS ord,\n"
        f"  {_birth_ym('e.')} AS birth_ym,\n"
        "  CASE WHEN e.c_Gender IN (0, 1, 2) THEN e.c_Gender END AS known_sex\n"
    )
    keyed = Step(
        "cld_keyed",
        "SELECT e.*, 'N' || e.nhs AS person,\n"
        + extra
        + "FROM cld_events e WHERE e.nhs IS NOT NULL\nUNION ALL\n"
        "SELECT e.*, COALESCE('N' || l.linked_nhs, 'L' || e.la_pid) AS person,\n"
        + extra
        + "FROM cld_events e LEFT JOIN cld_links l ON e.la_code = l.la_code AND e.la_pid = l.la_pid\n"
        "WHERE e.nhs IS NULL",
    )
    service = code("Event_Type", "Service")
    request = code("Event_Type", "Request")
    persons = Step(
        "cld_persons",
        "SELECT la_code, person,\n"
        "  MAX_BY(birth_ym, CASE WHEN birth_ym IS NOT NULL THEN ord END) AS p_birth_ym,\n"
        "  MAX_BY(known_sex, CASE WHEN known_sex IS NOT NULL THEN ord END) AS p_sex,\n"
        f"  MIN({_DOD}) AS p_dod,\n"
        f"  MAX(CASE WHEN c_Event_Type = {service} THEN {_START} END) AS p_last_service_start,\n"
        f"  SUM(CASE WHEN c_Event_Type = {request} THEN 0 ELSE 1 END) AS p_non_requests,\n"
        "  MIN(_row) AS p_first_row\n"
        "FROM cld_keyed WHERE person IS NOT NULL GROUP BY la_code, person",
        materialize=True,
    )
    return [links, keyed, persons]


def enriched_step() -> Step:
    """``cld_enriched``: events with the age band (``age``) and sex (``sex``) codes.

    Age is in whole years at the event's start, from the person's latest known birth year and
    month (the record's own when the person is unknown), the birthday taken as the 1st of the
    month; unknown when either is missing or the event starts before the birth month.
    """
    birth = "COALESCE(p.p_birth_ym, e.birth_ym)"
    months = f"(EXTRACT(YEAR FROM e.{_START}) * 12 + EXTRACT(MONTH FROM e.{_START}) - 1 - {birth})"
    bands = [f"WHEN {months} < {lo * 12} THEN {i - 1}" for i, (_, lo) in enumerate(schema.AGE_BANDS) if i]
    age = (
        f"CASE WHEN e.{_START} IS NULL OR {birth} IS NULL OR {months} < 0 THEN {UNKNOWN_AGE_CODE} "
        + " ".join(bands)
        + f" ELSE {len(schema.AGE_BANDS) - 1} END"
    )
    sql = (
        "SELECT e.*, p.p_dod, p.p_last_service_start,\n"
        f"  {age} AS age,\n"
        f"  COALESCE(p.p_sex, e.known_sex, {SEX_UNKNOWN_CODE}) AS sex\n"
        "FROM cld_keyed e LEFT JOIN cld_persons p ON e.la_code = p.la_code AND e.person = p.person"
    )
    return Step("cld_enriched", sql)


def decode(field: str, expr: str) -> str:
    """SQL turning the code ``expr`` of ``field`` back into its label."""
    whens = " ".join(f"WHEN {i} THEN {lit(v)}" for i, v in enumerate(schema.CODE_LISTS[field]))
    return (
        f"CASE WHEN {expr} IS NULL THEN {lit(schema.NOT_RECORDED)} "
        f"ELSE CASE {expr} {whens} ELSE {lit(schema.INVALID)} END END"
    )


def decode_age(expr: str) -> str:
    whens = " ".join(f"WHEN {i} THEN {lit(label)}" for i, (label, _) in enumerate(schema.AGE_BANDS))
    return f"CASE {expr} {whens} ELSE {lit(schema.UNKNOWN_AGE)} END"


def decode_sex(expr: str) -> str:
    whens = " ".join(f"WHEN {i} THEN {lit(label)}" for i, label in enumerate(schema.SEXES))
    return f"CASE {expr} {whens} END"

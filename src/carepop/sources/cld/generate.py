"""A seeded synthetic CLD event file with the recording problems of real council data.

:func:`generate` writes ``rows`` event records (Parquet, in chunks of about a million rows, or CSV)
for people of the 153 councils, and returns what it planted, counted as it planted it, under the
check names of the data-quality report (:data:`carepop.sources.cld.quality.CHECKS`) so a test can
compare the two exactly.

People follow one of six pathways (shares are of people):

===  =====  ===============================================================================
A    30%    first contact only: one request ending "NFA" (advice, self-funding, declined, ...)
B    12%    request, then an assessment ending "NFA" (often self-funding)
C    12%    request, short-term support to maximise independence (ST-Max), then perhaps an
            assessment, a long-term service and a review
D    30%    long-term clients: a long-term service (often started before the period, often
            open), reviews, perhaps a second, ancillary service and a re-assessment
E    12%    carers: request, carer's assessment, perhaps direct support and a review
F     4%    carers known by association: support involving the person cared for
===  =====  ===============================================================================

Each person's events start on distinct, increasing dates, and no two of a person's services share
a service type and component, so the clean data have no duplicates, overlaps or events after
death. Then, in this order, the generator plants:

- missing birth dates on about a fifth of records (18% year and month, 2% month only);
- retired codes, spellings in another letter case, and codes outside the list in several fields;
- events after death: for some people who died, the date of death moved to the day before their
  last event starts (one event after death each; their services that started by then now run
  past death: ``service_open_after_death``);
- overlapping services: copies of services starting a day later and ending with the original,
  which lasts at least two days or is open;
- exact duplicate records (about 2% of the file, to make up the exact row count);

and people known only at first contact are pathway A. 8% of people are not traced (no NHS
number on any record) and 5% of traced people lack it on one record (found through their council
identifier). Records carrying a planted value keep it when copied, and are counted per copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from carepop.core.progress import progress
from carepop.errors import CarepopError, opt
from carepop.io.writers import write_atomic_with
from carepop.sources.cld import schema
from carepop.sources.cld.synthetic_codes import ETHNICITY_P, PATHWAYS, PSR, FieldValues, field_values

__all__ = ["GeneratedCLD", "generate"]

CHUNK_ROWS = 1_000_000
#: shares of Client_Funding_Status (fully social care, joint, fully client funded, unknown)
FUNDING_P = np.array([0.6, 0.25, 0.1, 0.05])
DUPLICATE_RATE = 0.02
OVERLAP_RATE = 0.003
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class GeneratedCLD:
    """What :func:`generate` wrote: the file, its size and the planted problems."""

    path: Path
    rows: int
    people: int
    seed: int
    planted: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "path": str(self.path),
                "rows": self.rows,
                "people": self.people,
                "seed": self.seed,
                "planted": self.planted,
            },
            indent=2,
        )


def _draw(rng: np.random.Generator, choices: tuple, n: int) -> np.ndarray:
    w = np.array([c[-1] for c in choices], dtype=float)
    return rng.choice(len(choices), size=n, p=w / w.sum())


def _hex_ids(gidx: np.ndarray, key: int) -> pa.Array:
    """12 hex digits, a bijection of the person index (pseudonym-like, unique)."""
    x = (gidx.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key)) & np.uint64((1 << 48) - 1)
    shifts = np.arange(44, -1, -4, dtype=np.uint64)
    digits = ((x[:, None] >> shifts) & np.uint64(0xF)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)[digits]
    return pa.array(np.ascontiguousarray(chars).view("S12").ravel()).cast(pa.string())


# ---------------------------------------------------------------------------------------------
# one chunk


def _people_and_events(
    rng: np.random.Generator,
    n_target: int,
    la_weights: np.ndarray,
    vocab: dict[str, FieldValues],
    period_start: np.datetime64,
    period_days: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Clean events for whole people, as close to ``n_target`` rows as whole people allow."""
    names = list(PATHWAYS)
    shares = np.array([PATHWAYS[k][0] for k in names])
    pool = max(16, int(n_target / 1.6) + 16)
    pathway = rng.choice(len(names), size=pool, p=shares / shares.sum())
    # which slots happen, per person (the first slot always does)
    per_path = []
    counts = np.zeros(pool, dtype=np.int64)
    for k, name in enumerate(names):
        slots = PATHWAYS[name][2]
        who = np.flatnonzero(pathway == k)
        p = np.array([s.p for s in slots])
        inc = rng.random((who.size, len(slots))) < p
        inc[:, 0] = True
        counts[who] = inc.sum(axis=1)
        per_path.append((who, inc))
    keep = int(np.searchsorted(np.cumsum(counts), n_target, side="right"))
    people = {"pathway": pathway[:keep]}
    # people
    p_la = rng.choice(la_weights.size, size=keep, p=la_weights)
    client = np.array([vocab["Client_Type"].idx(PATHWAYS[names[k]][1]) for k in range(len(names))])[
        pathway[:keep]
    ]
    carer = client != vocab["Client_Type"].idx("Service User")
    older = rng.random(keep) < 0.7
    age = np.where(
        carer,
        np.clip(rng.normal(58, 14, keep), 18, 95),
        np.where(older, np.clip(65 + rng.gamma(2.0, 8.0, keep), 65, 104), rng.uniform(18, 65, keep)),
    )
    start_month = (period_start.astype("datetime64[M]") - np.datetime64("1970-01", "M")).astype(np.int64)
    birth_ym = start_month + 1970 * 12 - np.floor(age * 12).astype(np.int64) - rng.integers(0, 12, keep)
    female = rng.random(keep) < np.where(carer, 0.68, 0.60)
    gender = np.where(female, vocab["Gender"].idx("Female"), vocab["Gender"].idx("Male"))
    odd = rng.random(keep)
    gender = np.where(odd < 0.005, vocab["Gender"].idx("Other"), gender)
    gender = np.where((odd >= 0.005) & (odd < 0.01), vocab["Gender"].idx("Unknown"), gender)
    eth = rng.choice(ETHNICITY_P.size, size=keep, p=ETHNICITY_P / ETHNICITY_P.sum())
    psr_v = vocab["Primary_Support_Reason"]
    psr = np.array([psr_v.idx(v) for v, _ in PSR])[_draw(rng, PSR, keep)]
    psr = np.where(carer, psr_v.idx("Social Support: Support to Carer"), psr)
    long_term = np.isin(pathway[:keep], [names.index("D"), names.index("F")])
    t0 = np.where(
        long_term,
        rng.integers(-3 * 365, 200, keep),
        rng.integers(0, max(period_days - 90, 1), keep),
    )
    people.update(la=p_la, client=client, birth_ym=birth_ym, gender=gender, eth=eth, psr=psr, t0=t0)
    # events: (person, slot) in chronological order per person
    ev_person, ev_slot, ev_path = [], [], []
    for k, (who, inc) in enumerate(per_path):
        sel = who < keep
        pr, sl = np.nonzero(inc[sel])
        ev_person.append(who[sel][pr])
        ev_slot.append(sl)
        ev_path.append(np.full(sl.size, k))
    person = np.concatenate(ev_person)
    slot = np.concatenate(ev_slot)
    path = np.concatenate(ev_path)
    order = np.lexsort((slot, person))
    person, slot, path = person[order], slot[order], path[order]
    n = person.size
    first = np.ones(n, dtype=bool)
    first[1:] = person[1:] != person[:-1]
    last = np.ones(n, dtype=bool)
    last[:-1] = person[1:] != person[:-1]
    ev = {
        "person": person,
        "event_type": np.empty(n, np.int16),
        "outcome": np.full(n, -1, np.int16),
        "stype": np.full(n, -1, np.int16),
        "scomp": np.full(n, -1, np.int16),
        "dmech": np.full(n, -1, np.int16),
        "gap_mean": np.empty(n),
        "dur_lo": np.empty(n, np.int64),
        "dur_hi": np.empty(n, np.int64),
        "p_open": np.zeros(n),
    }
    et_v, out_v = vocab["Event_Type"], vocab["Event_Outcome"]
    st_v, sc_v, dm_v = vocab["Service_Type"], vocab["Service_Component"], vocab["Delivery_Mechanism"]
    for k, name in enumerate(names):
        for j, s in enumerate(PATHWAYS[name][2]):
            rows = np.flatnonzero((path == k) & (slot == j))
            if rows.size == 0:
                continue
            ev["event_type"][rows] = et_v.idx(s.event_type)
            ev["gap_mean"][rows] = s.gap
            ev["dur_lo"][rows], ev["dur_hi"][rows] = s.duration
            ev["p_open"][rows] = s.p_open
            if s.outcomes:
                ev["outcome"][rows] = np.array([out_v.idx(o) for o, _ in s.outcomes])[
                    _draw(rng, s.outcomes, rows.size)
                ]
            if s.services:
                pick = _draw(rng, s.services, rows.size)
                ev["stype"][rows] = np.array([st_v.idx(t) for t, _, _ in s.services])[pick]
                ev["scomp"][rows] = np.array([sc_v.idx(c) for _, c, _ in s.services])[pick]
    # delivery mechanism for community and direct carer support
    service = et_v.idx("Service")
    needs_dm = np.isin(
        ev["stype"], [st_v.idx("Long Term Support: Community"), st_v.idx("Carer Support: Direct to Carer")]
    )
    dm_choice = np.array([dm_v.idx(v) for v in schema.CODE_LISTS["Delivery_Mechanism"]])[
        rng.choice(3, size=n, p=[0.3, 0.2, 0.5])
    ]
    dm_choice = np.where(ev["scomp"] == sc_v.idx("Direct Payment"), dm_v.idx("Direct Payment"), dm_choice)
    ev["dmech"] = np.where(needs_dm, dm_choice, -1).astype(np.int16)
    # dates: strictly increasing starts per person
    gaps = 1 + np.floor(rng.exponential(ev["gap_mean"])).astype(np.int64)
    gaps[first] = 0
    cs = np.cumsum(gaps)
    start_of_person = cs[first]
    seg = np.cumsum(first) - 1
    start = people["t0"][person] + cs - start_of_person[seg]
    dur = rng.integers(ev["dur_lo"], ev["dur_hi"] + 1)
    end = start + dur
    is_service = ev["event_type"] == service
    # a service may be open only if no later service of the person shares its type and component
    # (true by construction: a person's service slots have distinct components)
    open_ = is_service & (rng.random(n) < ev["p_open"])
    end = np.where(open_, np.iinfo(np.int64).min, end)
    ev["outcome"] = np.where(open_, out_v.idx("Provision of service"), ev["outcome"]).astype(np.int16)
    ended_res = is_service & ~open_ & (ev["stype"] == st_v.idx("Long Term Support: Residential Care"))
    sf = ended_res & (rng.random(n) < 0.15)
    ev["outcome"] = np.where(sf, out_v.idx(schema.SELF_FUNDED), ev["outcome"]).astype(np.int16)
    # deaths among C and D people, after their last event; open services end at death
    dies = np.zeros(keep, dtype=bool)
    cd = np.isin(people["pathway"], [names.index("C"), names.index("D")])
    dies[cd] = rng.random(int(cd.sum())) < 0.08
    last_start = start[last]
    last_end = np.where(end[last] == np.iinfo(np.int64).min, last_start, end[last])
    p_last = person[last]
    dod = np.full(keep, np.iinfo(np.int64).min)
    dod[p_last] = np.maximum(last_start, last_end) + rng.integers(1, 61, p_last.size)
    dod = np.where(dies, dod, np.iinfo(np.int64).min)
    closes = open_ & dies[person]
    end = np.where(closes, dod[person], end)
    ev["outcome"] = np.where(closes, out_v.idx("NFA - Deceased"), ev["outcome"]).astype(np.int16)
    # no service runs past death
    end = np.where(is_service & dies[person] & (end > dod[person]), dod[person], end)
    ev.update(start=start, end=end, first=first, last=last)
    people["dod"] = dod
    return people, ev, keep


def _chunk(
    rng: np.random.Generator,
    n_rows: int,
    person_offset: int,
    la_weights: np.ndarray,
    vocab: dict[str, FieldValues],
    period_start: np.datetime64,
    period_days: int,
    release: str = "r1",
    funding_rng: np.random.Generator | None = None,
) -> tuple[pa.Table, dict[str, int], int]:
    n_dup_target = int(round(DUPLICATE_RATE * n_rows))
    n_ov = int(round(OVERLAP_RATE * n_rows))
    people, ev, keep = _people_and_events(
        rng, n_rows - n_dup_target - n_ov, la_weights, vocab, period_start, period_days
    )
    n = ev["person"].size
    person = ev["person"]
    planted: dict[str, int] = {}
    MISSING = np.iinfo(np.int64).min
    # ---- record-level columns
    birth_ym = people["birth_ym"][person]
    byear = (birth_ym // 12).astype(np.int64)
    bmonth = (birth_ym % 12 + 1).astype(np.int64)
    u = rng.random(n)
    no_year = u < 0.18
    no_month = u < 0.20
    et = ev["event_type"].astype(np.int64)
    request = vocab["Event_Type"].idx("Request")
    code = {
        "Gender": people["gender"][person].astype(np.int64),
        "Ethnicity": people["eth"][person].astype(np.int64),
        "Client_Type": people["client"][person].astype(np.int64),
        "Event_Type": et,
        "Event_Outcome": ev["outcome"].astype(np.int64),
        "Service_Type": ev["stype"].astype(np.int64),
        "Service_Component": ev["scomp"].astype(np.int64),
        "Delivery_Mechanism": ev["dmech"].astype(np.int64),
        "Primary_Support_Reason": np.where(et == request, -1, people["psr"][person]).astype(np.int64),
    }
    # ---- plant codes: (field, share of eligible records, which current values, kind)
    plans = [
        ("Gender", 0.01, ("Male", "Female"), "retired_code"),
        ("Gender", 0.003, None, "invalid_code"),
        (
            "Ethnicity",
            0.01,
            ("White - English, Welsh, Scottish, Northern Irish or British", "White - Irish"),
            "nonstandard_spelling",
        ),
        ("Ethnicity", 0.01, None, "invalid_code"),
        ("Client_Type", 0.005, ("Service User", "Carer"), "nonstandard_spelling"),
        (
            "Event_Outcome",
            0.3,
            (
                schema.SELF_FUNDED,
                "NFA - 100% NHS funded care",
                "NFA - Support ended: Other reason",
                "NFA - No services offered: Other reason",
            ),
            "retired_code",
        ),
        ("Event_Outcome", 0.005, None, "invalid_code"),
        ("Service_Type", 0.05, ("Short Term Support: ST-Max",), "retired_code"),
        (
            "Service_Type",
            0.01,
            ("Long Term Support: Community", "Long Term Support: Residential Care"),
            "nonstandard_spelling",
        ),
        ("Service_Component", 0.01, ("Home Support", "Day Care", "Residential Care"), "nonstandard_spelling"),
        ("Delivery_Mechanism", 0.03, ("CASSR Commissioned Support",), "nonstandard_spelling"),
        ("Delivery_Mechanism", 0.005, None, "invalid_code"),
        (
            "Primary_Support_Reason",
            0.03,
            ("Physical Support: Access & mobility only", "Support with Memory & Cognition"),
            "retired_code",
        ),
        ("Primary_Support_Reason", 0.005, None, "invalid_code"),
    ]
    for fld, share, currents, kind in plans:
        v = vocab[fld]
        col = code[fld]
        if currents is None:  # any current value -> one of the field's invalid codes
            current = np.array([k == "" for k in v.kind])
            repl = {-2: v.invalid}
            eligible = np.flatnonzero((col >= 0) & current[np.maximum(col, 0)])
        else:
            cur = [v.idx(c) for c in currents]
            if kind == "retired_code":
                repl = {c: v.retired_of(v.values[c]) for c in cur}
            else:
                repl = {c: [v.variant_of(v.values[c])] for c in cur}
            eligible = np.flatnonzero(np.isin(col, cur))
        chosen = eligible[rng.random(eligible.size) < share]
        for c, news in repl.items():
            rows = chosen if c == -2 else chosen[col[chosen] == c]
            col[rows] = np.array(news)[rng.integers(0, len(news), rows.size)]
    # ---- NHS numbers: 8% of people untraced; 5% of traced people with >1 event lack it once
    traced = rng.random(keep) >= 0.08
    nhs_ok = traced[person].copy()
    n_events = np.bincount(person, minlength=keep)
    lapse_people = traced & (n_events > 1) & (rng.random(keep) < 0.05)
    not_first = ~ev["first"] & lapse_people[person]
    # one non-first record per lapsing person: the first of their non-first records
    cand = np.flatnonzero(not_first)
    _, pick = np.unique(person[cand], return_index=True)
    nhs_ok[cand[pick]] = False
    # ---- events after death: ~15% of people who died, with 2+ events
    dod = people["dod"].copy()
    died = np.flatnonzero((dod != MISSING) & (n_events > 1))
    moved = died[rng.random(died.size) < 0.15]
    last_rows = np.flatnonzero(ev["last"])
    last_start = np.empty(keep, dtype=np.int64)
    last_start[person[last_rows]] = ev["start"][last_rows]
    dod[moved] = last_start[moved] - 1
    planted["events_after_death"] = int(moved.size)
    # services of those people that started by the new date of death run past it
    is_moved = np.zeros(keep, dtype=bool)
    is_moved[moved] = True
    past = (
        (et == vocab["Event_Type"].idx("Service"))
        & is_moved[person]
        & (ev["start"] <= dod[person])
        & ((ev["end"] == MISSING) | (ev["end"] > dod[person]))
    )
    planted["service_open_after_death"] = int(past.sum())
    # ---- assemble record arrays (copies below index into these)
    rec = {
        "person": person,
        "start": ev["start"],
        "end": ev["end"],
        "byear": np.where(no_year, MISSING, byear),
        "bmonth": np.where(no_month, MISSING, bmonth),
        "nhs_ok": nhs_ok,
        **{f"c_{k}": v for k, v in code.items()},
    }
    rec["dod"] = dod[person]
    # ---- overlapping services: copies starting a day later, for people who did not die
    service = vocab["Event_Type"].idx("Service")
    room = (rec["end"] == MISSING) | (rec["end"] - rec["start"] >= 2)
    ok = (code["Event_Type"] == service) & room & (people["dod"][person] == MISSING)
    src = rng.choice(np.flatnonzero(ok), size=min(n_ov, int(ok.sum())), replace=False)
    planted["overlapping_services"] = int(src.size)
    rows_idx = np.concatenate([np.arange(n), src])
    shift = np.concatenate([np.zeros(n, np.int64), np.ones(src.size, np.int64)])
    # ---- exact duplicates to make up the row count
    n_dup = n_rows - rows_idx.size
    dup = rng.choice(rows_idx.size, size=n_dup, replace=False)
    rows_idx = np.concatenate([rows_idx, rows_idx[dup]])
    shift = np.concatenate([shift, shift[dup]])
    planted["duplicate_events"] = int(n_dup)
    perm = rng.permutation(rows_idx.size)
    rows_idx, shift = rows_idx[perm], shift[perm]
    # ---- record-level counts, per copy
    out = {k: v[rows_idx] for k, v in rec.items()}
    out["start"] = out["start"] + shift
    planted["missing_birth_date"] = int(((out["byear"] == MISSING) | (out["bmonth"] == MISSING)).sum())
    planted["no_nhs_number"] = int((~out["nhs_ok"]).sum())
    for fld, v in vocab.items():
        kinds = np.array(v.kind, dtype=object)
        col = out[f"c_{fld}"]
        present = kinds[np.maximum(col, 0)]
        present[col < 0] = ""
        for kind in ("retired_code", "nonstandard_spelling", "invalid_code"):
            c = int((present == kind).sum())
            if c:
                planted[f"{kind}:{fld}"] = c
    planted["first_contact_only"] = int((people["pathway"] == list(PATHWAYS).index("A")).sum())
    funding = None
    if funding_rng is not None:  # its own stream: the rest of the file is the same with or without it
        funding = funding_rng.choice(len(FUNDING_P), size=keep, p=FUNDING_P)
    table = _arrow(out, people, person_offset, vocab, period_start, period_days, release, funding)
    return table, planted, keep


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Days since 1970-01-01 as a date column (``missing`` marks nulls)."""
    return pa.array((_EPOCH + days.clip(-100000, 100000)).astype("datetime64[D]"), mask=missing)


def _dict(codes: np.ndarray, values: list[str]) -> pa.Array:
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    if len(set(values)) < len(values):  # Release 2 spells some codes alike: plain strings
        return pa.DictionaryArray.from_arrays(idx, pa.array(values, type=pa.string())).cast(pa.string())
    return pa.DictionaryArray.from_arrays(idx, pa.array(values, type=pa.string()))


def _arrow(
    out: dict,
    people: dict,
    offset: int,
    vocab: dict[str, FieldValues],
    period_start: np.datetime64,
    period_days: int,
    release: str = "r1",
    funding: np.ndarray | None = None,
) -> pa.Table:
    MISSING = np.iinfo(np.int64).min
    person = out["person"].astype(np.int32)
    gidx = np.arange(people["la"].size, dtype=np.int64) + offset
    councils = list(schema.councils())
    la = pa.DictionaryArray.from_arrays(pa.array(people["la"][person].astype(np.int32)), pa.array(councils))
    nhs = pa.DictionaryArray.from_arrays(pa.array(person, mask=~out["nhs_ok"]), _hex_ids(gidx, 0x5A17))
    lap = pa.DictionaryArray.from_arrays(pa.array(person), _hex_ids(gidx, 0xC0FFEE))
    n = person.size
    ps = (period_start - _EPOCH).astype(np.int64)
    cols = {
        "LA_Code": la,
        "Der_NHS_Number_Traced_Pseudo": nhs,
        "Der_LA_Person_Unique_Identifier_Pseudo": lap,
        "Der_Birth_Year": pa.array(out["byear"].astype(np.int32), mask=out["byear"] == MISSING),
        "Der_Birth_Month": pa.array(out["bmonth"].astype(np.int32), mask=out["bmonth"] == MISSING),
        "Gender": _dict(out["c_Gender"], vocab["Gender"].written(release)),
        "Ethnicity": _dict(out["c_Ethnicity"], vocab["Ethnicity"].written(release)),
        "Client_Type": _dict(out["c_Client_Type"], vocab["Client_Type"].written(release)),
        "Event_Type": _dict(out["c_Event_Type"], vocab["Event_Type"].written(release)),
        "Event_Start_Date": _dates(out["start"] + ps),
        "Event_End_Date": _dates(out["end"] + ps, out["end"] == MISSING),
        "Event_Outcome": _dict(out["c_Event_Outcome"], vocab["Event_Outcome"].written(release)),
        "Service_Type": _dict(out["c_Service_Type"], vocab["Service_Type"].written(release)),
        "Service_Component": _dict(out["c_Service_Component"], vocab["Service_Component"].written(release)),
        "Delivery_Mechanism": _dict(
            out["c_Delivery_Mechanism"], vocab["Delivery_Mechanism"].written(release)
        ),
        "Primary_Support_Reason": _dict(
            out["c_Primary_Support_Reason"], vocab["Primary_Support_Reason"].written(release)
        ),
        "Date_of_Death": _dates(out["dod"] + ps, out["dod"] == MISSING),
        "Reporting_Period_Start_Date": _dates(np.full(n, ps)),
        "Reporting_Period_End_Date": _dates(np.full(n, ps + period_days - 1)),
    }
    if funding is not None:
        cols["Client_Funding_Status"] = _dict(
            funding[person].astype(np.int64), list(schema.CODE_LISTS["Client_Funding_Status"])
        )
    return pa.table(cols)


def generate(
    path: str | Path,
    rows: int = 100_000,
    seed: int = 2024,
    *,
    period_start: date | None = None,
    chunk_rows: int = CHUNK_ROWS,
    release: str = "r1",
) -> GeneratedCLD:
    """Write ``rows`` synthetic CLD event records to ``path`` (``.parquet`` or ``.csv``).

    The file covers the financial year from ``period_start`` (default 1 April 2024 for Release 1,
    1 April 2025 for Release 2); the same ``rows``, ``seed``, ``chunk_rows`` and ``release`` give
    the same file. ``release="r2"`` writes every code in its Release 2 wording (letter-case
    variants too; retired and invalid values stay as they are), so the planted problems are the
    same ones. Every person has a ``Client_Funding_Status`` (drawn from its own random stream).
    Returns the planted counts (see the module docstring). The file is written atomically.
    """
    from carepop.sources.cld.releases import check_release

    release = check_release(release) or "r1"
    if period_start is None:
        period_start = date(2025, 4, 1) if release == "r2" else date(2024, 4, 1)
    path = Path(path)
    if rows < 100:
        raise CarepopError(
            f"{rows} rows are too few for a CLD file.",
            code="bad_option",
            got=rows,
            fix=("give ", opt("rows", metavar="N"), " of at least 100"),
        )
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise CarepopError(
            f"Cannot write {suffix or 'a file without an extension'} as CLD events.",
            code="unknown_format",
            got=suffix or str(path),
            expected=(".parquet", ".csv"),
            fix=("give ", opt("path", metavar="FILE.parquet"), " ending in .parquet or .csv"),
        )
    ps = np.datetime64(period_start, "D")
    period_days = int(
        (np.datetime64(date(period_start.year + 1, period_start.month, period_start.day), "D") - ps).astype(
            np.int64
        )
    )
    rng0 = np.random.default_rng(seed)
    la_w = rng0.lognormal(0.0, 0.6, len(schema.councils()))
    la_w /= la_w.sum()
    vocab = field_values()
    n_chunks = max(1, -(-rows // chunk_rows))
    sizes = [rows // n_chunks + (1 if i < rows % n_chunks else 0) for i in range(n_chunks)]
    planted: dict[str, int] = {}
    people = 0

    def _write(tmp: str) -> None:
        nonlocal people
        writer = None
        try:
            with progress(f"generating {path.name}", total=len(sizes)) as advance:
                for i, size in enumerate(sizes):
                    rng = np.random.default_rng([seed, i])
                    funding_rng = np.random.default_rng([seed, i, 7])
                    table, counts, kept = _chunk(
                        rng, size, i * 10_000_000, la_w, vocab, ps, period_days, release, funding_rng
                    )
                    people += kept
                    for k, v in counts.items():
                        planted[k] = planted.get(k, 0) + v
                    if suffix == ".csv":
                        plain = pa.table(
                            {
                                c: table[c].cast(pa.string())
                                if pa.types.is_dictionary(table[c].type)
                                else table[c]
                                for c in table.column_names
                            }
                        )
                        opts = pacsv.WriteOptions(include_header=(i == 0))
                        if writer is None:
                            writer = open(tmp, "wb")  # noqa: SIM115
                        pacsv.write_csv(plain, writer, write_options=opts)
                    else:
                        if writer is None:
                            writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                        writer.write_table(table, row_group_size=256 * 1024)
                    advance()
        finally:
            if writer is not None:
                writer.close()

    write_atomic_with(path, _write)
    return GeneratedCLD(path, rows, people, seed, dict(sorted(planted.items())))

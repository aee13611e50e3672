"""CLD signals by council (DuckDB): every signal against an independent pandas computation on
generated files of both releases, hand-worked waits on a small Release 2 file, and bad input.

The pandas reference below re-derives everything from the file (codes, duplicates, person keys,
ages, the waiting-time chronology) with pandas operations only; it shares the code lists of
:mod:`carepop.sources.cld.schema` (facts) but none of the SQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.sources.cld import schema
from carepop.sources.cld.generate import generate
from carepop.sources.cld.signals import COUNTS, SIGNALS, signals
from tests.sources.cld.fixtures import write

# ---------------------------------------------------------------------------------------------
# the pandas reference


def _canonical(field: str, values: pd.Series) -> pd.Series:
    """Each value's carepop code label (exact, then letter case); "<invalid>" outside every
    list, None when missing."""
    exact: dict[str, str] = {}
    for v in schema.R1_LISTS[field]:
        exact.setdefault(v, v)
    for v, c in schema.R2_VALUES.get(field, {}).items():
        exact.setdefault(v, c)
    for v, c in schema.RETIRED.get(field, {}).items():
        exact.setdefault(v, c)
    upper: dict[str, str] = {}
    for v, c in exact.items():
        upper.setdefault(v.upper(), c)
    text = values.astype("string").str.strip()
    found = text.map(exact).fillna(text.str.upper().map(upper)).fillna("<invalid>")
    return found.astype(object).where(text.notna(), None)


def _prepare(path) -> pd.DataFrame:
    raw = pd.read_parquet(path)
    for col in raw.columns:
        if isinstance(raw[col].dtype, pd.CategoricalDtype):
            raw[col] = raw[col].astype(object)
    raw["_row"] = np.arange(1, len(raw) + 1)
    df = raw.copy()
    for field in schema.CODE_FIELDS:
        if field in df:
            df[field] = _canonical(field, df[field])
    keys = [
        c for c in df.columns if c not in ("_row", "Reporting_Period_Start_Date", "Reporting_Period_End_Date")
    ]
    df = df.drop_duplicates(subset=keys, keep="first").copy()  # the generator plants exact copies only
    for col in ("Event_Start_Date", "Event_End_Date"):
        df[col] = pd.to_datetime(df[col])
    nhs = df["Der_NHS_Number_Traced_Pseudo"]
    pid = df["Der_LA_Person_Unique_Identifier_Pseudo"]
    linked = (
        df[nhs.notna()]
        .groupby(["LA_Code", "Der_LA_Person_Unique_Identifier_Pseudo"])["Der_NHS_Number_Traced_Pseudo"]
        .min()
    )
    via = pd.MultiIndex.from_arrays([df["LA_Code"], pid]).map(linked.to_dict().get)
    df["person"] = np.where(
        nhs.notna(),
        "N" + nhs.astype(str),
        np.where(pd.notna(via), "N" + pd.Series(via, index=df.index).astype(str), "L" + pid.astype(str)),
    )
    # age band at the event from the person's known birth month (constant per generated person)
    ym = df["Der_Birth_Year"] * 12 + df["Der_Birth_Month"] - 1
    birth = ym.groupby([df["LA_Code"], df["person"]]).transform("max")
    months = df["Event_Start_Date"].dt.year * 12 + df["Event_Start_Date"].dt.month - 1 - birth
    df["adult25"] = (months >= 25 * 12).fillna(False).astype(bool)
    return df


def reference(path, period=None) -> pd.DataFrame:
    df = _prepare(path)
    raw = pd.read_parquet(path, columns=["Reporting_Period_Start_Date", "Reporting_Period_End_Date"])
    p0 = pd.Timestamp(period[0] if period else pd.to_datetime(raw.iloc[:, 0]).min())
    p1 = pd.Timestamp(period[1] if period else pd.to_datetime(raw.iloc[:, 1]).max())
    sd, ed = df["Event_Start_Date"], df["Event_End_Date"]
    active = (sd <= p1) & (ed.isna() | (ed >= p0))
    starts_in = sd.between(p0, p1)
    et, ct, eo, st = df["Event_Type"], df["Client_Type"], df["Event_Outcome"], df["Service_Type"]
    # funding status: latest record with a known one, else Unknown
    known = df[df["Client_Funding_Status"].isin(schema.R1_LISTS["Client_Funding_Status"][:3])]
    latest = (
        known.sort_values(["Event_Start_Date", "_row"])
        .groupby(["LA_Code", "person"])["Client_Funding_Status"]
        .last()
    )
    fs = pd.MultiIndex.from_arrays([df["LA_Code"], df["person"]]).map(latest.to_dict().get)
    fs = pd.Series(fs, index=df.index).fillna("Unknown")
    req = (et == "Request") & (ct == "Service User") & starts_in
    nfa = req & eo.isin(schema.NO_SERVICE_OUTCOMES)
    sf = req & (eo == schema.SELF_FUNDED)
    lt = (
        (et == "Service")
        & active
        & st.isin(
            [
                "Long Term Support: Nursing Care",
                "Long Term Support: Residential Care",
                "Long Term Support: Community",
                "Long Term Support: Prison",
            ]
        )
    )
    home = (
        (et == "Service")
        & active
        & (st == "Long Term Support: Community")
        & (df["Service_Component"] == "Home Support")
    )
    carer = (
        ct.isin(schema.CARER_CLIENT_TYPES)
        & active
        & (((et == "Service") & st.isin(schema.CARER_SERVICE_TYPES)) | (et == "Assessment"))
    )
    flags = {
        "requests": (req, False),
        "requests_people": (req, True),
        "requests_no_service": (nfa, False),
        "requests_no_service_people": (nfa, True),
        "requests_self_funded": (sf, False),
        "requests_self_funded_people": (sf, True),
        "long_term_people": (lt, True),
        "long_term_fully_social_care_funded": (lt & (fs == "Fully social care funded"), True),
        "long_term_joint_funded": (lt & (fs == "Joint client and social care funded"), True),
        "long_term_fully_client_funded": (lt & (fs == "Fully client funded"), True),
        "long_term_funding_unknown": (lt & (fs == "Unknown"), True),
        "home_care_people": (home, True),
        "home_care_council_funded": (
            home & fs.isin(["Fully social care funded", "Joint client and social care funded"]),
            True,
        ),
        "home_care_self_funded": (home & (fs == "Fully client funded"), True),
        "carers_supported": (carer, True),
    }
    out = pd.DataFrame(index=pd.Index(sorted(df["LA_Code"].unique()), name="council_code"))
    for name, (mask, distinct) in flags.items():
        sub = df[mask]
        got = sub.groupby("LA_Code")["person"].nunique() if distinct else sub.groupby("LA_Code").size()
        out[name] = got.reindex(out.index).fillna(0).astype("int64")
    waits = _reference_waits(df, p0, p1)
    return out.join(waits).reset_index()


def _reference_waits(df: pd.DataFrame, p0, p1) -> pd.DataFrame:
    et, ct, eo, st = df["Event_Type"], df["Client_Type"], df["Event_Outcome"], df["Service_Type"]
    ok = df["person"].notna() & df["Event_Start_Date"].notna()
    lt = [
        "Long Term Support: Nursing Care",
        "Long Term Support: Residential Care",
        "Long Term Support: Community",
        "Long Term Support: Prison",
    ]
    requests = df[ok & (et == "Request")]
    services = df[ok & (et == "Service")]
    pairs = requests[["LA_Code", "person", "_row", "Event_Start_Date"]].merge(
        services[["LA_Code", "person", "Service_Type", "Event_Start_Date", "Event_End_Date"]],
        on=["LA_Code", "person"],
        suffixes=("", "_s"),
    )
    r_sd, s_sd, s_ed = pairs["Event_Start_Date"], pairs["Event_Start_Date_s"], pairs["Event_End_Date"]
    before12 = r_sd - pd.DateOffset(months=12)
    before3 = r_sd - pd.DateOffset(months=3)
    hit = (s_sd < r_sd) & (
        (pairs["Service_Type"].isin(lt) & (s_ed.isna() | (s_ed >= before12)))
        | (
            pairs["Service_Type"].isin(["Short Term Support: ST-Max", "Short Term Support: Other Short Term"])
            & (s_ed.isna() | (s_ed >= before3))
        )
    )
    existing = set(pairs.loc[hit, "_row"])
    stop = [*schema.NO_SERVICE_OUTCOMES, "Service ended as planned", "Admitted to hospital"]
    valid = (
        ok
        & (et == "Request")
        & (ct == "Service User")
        & df["adult25"]
        & eo.notna()
        & ~eo.isin(stop)
        & ~df["_row"].isin(existing)
    )
    assess = ok & (et == "Assessment") & (ct == "Service User") & df["adult25"]
    serv = (
        ok
        & (et == "Service")
        & df["adult25"]
        & st.isin(
            [
                *lt,
                "Short Term Support: ST-Max",
                "Short Term Support: Ongoing Low Level",
                "Short Term Support: Other Short Term",
            ]
        )
    )
    kind = np.select([valid, assess, serv], [1, 2, 3], 0)
    seq = df.assign(kind=kind)[kind > 0][
        ["LA_Code", "person", "_row", "kind", "Event_Start_Date", "Event_Outcome"]
    ]
    seq = seq.sort_values(["LA_Code", "person", "Event_Start_Date", "kind", "_row"]).reset_index(drop=True)
    g = seq.groupby(["LA_Code", "person"], sort=False)
    seq["o"] = g.cumcount() + 1
    seq["block"] = (seq["kind"] != 2).astype(int).groupby([seq["LA_Code"], seq["person"]]).cumsum()
    prog = seq["Event_Outcome"].isin(
        [
            "Progress to Reablement/ST-Max",
            "Progress to Support Planning / Services",
            "Continuation of support or services",
            "No change in package",
            "Provision of service",
        ]
    )
    seq["a_prog"] = np.where(seq["kind"] == 2, prog.astype(float), np.nan)
    seq["block_prog"] = seq.groupby(["LA_Code", "person", "block"])["a_prog"].transform("max")
    for k, name in ((2, "next_a"), (3, "next_s")):
        mark = pd.Series(np.where(seq["kind"] == k, seq["o"], np.inf), index=seq.index)
        rev = mark[::-1].groupby([seq["LA_Code"][::-1], seq["person"][::-1]]).cummin()[::-1]
        nxt = rev.groupby([seq["LA_Code"], seq["person"]]).shift(-1)
        seq[name] = nxt.replace(np.inf, np.nan)
    by_o = seq.set_index(["LA_Code", "person", "o"])
    r = seq[seq["kind"] == 1].copy()
    a_idx = pd.MultiIndex.from_arrays([r["LA_Code"], r["person"], r["next_a"].fillna(-1).astype(int)])
    s_idx = pd.MultiIndex.from_arrays([r["LA_Code"], r["person"], r["next_s"].fillna(-1).astype(int)])
    a_sd = by_o["Event_Start_Date"].reindex(a_idx).to_numpy()
    a_prog = by_o["block_prog"].reindex(a_idx).to_numpy()
    s_sd = by_o["Event_Start_Date"].reindex(s_idx).to_numpy()
    svc_first = r["next_s"].notna() & (r["next_a"].isna() | (r["next_a"] > r["next_s"]))
    r["resp_o"] = np.where(svc_first, r["next_s"], r["next_a"])
    r["resp_sd"] = np.where(svc_first, s_sd, a_sd)
    no_prog = ~svc_first & r["next_a"].notna() & (a_prog == 0)
    r["svc_o"] = np.where(no_prog, np.nan, r["next_s"])
    r["svc_sd"] = pd.Series(s_sd, index=r.index).where(~no_prog)
    gr = r.groupby(["LA_Code", "person"], sort=False)
    prev_greatest = r[["resp_o", "svc_o"]].max(axis=1).groupby([r["LA_Code"], r["person"]]).shift(1)
    prev_resp = gr["resp_o"].shift(1).groupby([r["LA_Code"], r["person"]]).cummax().fillna(0)
    prev_svc = gr["svc_o"].shift(1).groupby([r["LA_Code"], r["person"]]).cummax().fillna(0)
    dropped = (prev_greatest > r["o"]) | (r["resp_o"] <= prev_resp) | (r["svc_o"] <= prev_svc)
    r = r[~dropped.fillna(False)]
    resp_sd = pd.to_datetime(r["resp_sd"])
    svc_sd = pd.to_datetime(r["svc_sd"])
    w1 = (resp_sd - r["Event_Start_Date"]).dt.days.where(resp_sd.between(p0, p1))
    w2 = (svc_sd - r["Event_Start_Date"]).dt.days.where(svc_sd.between(p0, p1))
    out = {}
    for name, w in (("assessment", w1), ("service", w2)):
        grp = w.dropna().groupby(r.loc[w.dropna().index, "LA_Code"])
        out[f"wait_request_to_{name}_median_days"] = grp.quantile(0.5)
        out[f"wait_request_to_{name}_p25_days"] = grp.quantile(0.25)
        out[f"wait_request_to_{name}_p75_days"] = grp.quantile(0.75)
        out[f"wait_request_to_{name}_n"] = grp.size()
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["r1", "r2"])
def made(request, tmp_path_factory):
    made = generate(
        tmp_path_factory.mktemp("sig") / "events.parquet", rows=6_000, seed=11, release=request.param
    )
    made.release = request.param
    return made


def test_every_signal_matches_pandas(made):
    got = signals(made.path)
    assert got.attrs["release"] == made.release  # detected
    want = reference(made.path)
    assert list(got["council_code"]) == list(want["council_code"])
    for col in SIGNALS:
        w = want[col]
        if col in COUNTS or col.endswith("_n"):
            w = w.fillna(0).astype("int64")
        np.testing.assert_allclose(
            got[col].to_numpy(float), w.to_numpy(float), rtol=0, atol=1e-9, err_msg=col
        )
    # the signals are not trivially zero
    for col in (
        "requests_no_service",
        "requests_self_funded",
        "long_term_fully_client_funded",
        "home_care_council_funded",
        "carers_supported",
        "wait_request_to_service_n",
    ):
        assert got[col].sum() > 0, col


def test_a_shorter_period_matches_pandas(made):
    start = pd.Timestamp(signals(made.path)["period_start"].iloc[0])
    period = (start.date(), (start + pd.Timedelta(days=120)).date())
    got = signals(made.path, period=period)
    want = reference(made.path, period=period)
    for col in SIGNALS:
        np.testing.assert_allclose(
            got[col].to_numpy(float),
            want[col].fillna(0 if col in COUNTS or col.endswith("_n") else np.nan).to_numpy(float),
            atol=1e-9,
            err_msg=col,
        )
    assert (got["period_end"] == period[1]).all()


# ---------------------------------------------------------------------------------------------
# a small Release 2 file worked by hand

R2_DEFAULT = {
    "LA_Code": "E06000001",
    "Der_NHS_Number_Traced_Pseudo": "N1",
    "Der_LA_Person_Unique_Identifier_Pseudo": "L1",
    "Der_Birth_Year": 1950,
    "Der_Birth_Month": 6,
    "Gender": "Female",
    "Ethnicity": "White: Irish",
    "Client_Type": "Service user",
    "Event_Type": "Request",
    "Event_Start_Date": "2025-05-01",
    "Event_End_Date": "2025-05-01",
    "Event_Outcome": "Progress to assessment, review or reassessment",
    "Service_Type": None,
    "Service_Component": None,
    "Delivery_Mechanism": None,
    "Primary_Support_Reason": None,
    "Date_of_Death": None,
    "Reporting_Period_Start_Date": "2025-04-01",
    "Reporting_Period_End_Date": "2026-03-31",
    "Client_Funding_Status": "Fully social care funded",
}


def r2_events(*rows: dict) -> pd.DataFrame:
    unknown = {k for r in rows for k in r} - set(R2_DEFAULT)
    assert not unknown, unknown
    return pd.DataFrame([{**R2_DEFAULT, **r} for r in rows], columns=list(R2_DEFAULT))


def person(n: int, **kw) -> dict:
    return {"Der_NHS_Number_Traced_Pseudo": f"N{n}", "Der_LA_Person_Unique_Identifier_Pseudo": f"L{n}", **kw}


def service(n: int, start: str, stype: str, comp: str, end: str | None = None, **kw) -> dict:
    return person(
        n,
        Event_Type="Service",
        Event_Start_Date=start,
        Event_End_Date=end,
        Service_Type=stype,
        Service_Component=comp,
        Event_Outcome="Continuation of support or services",
        **kw,
    )


HAND = [
    # P1: request 1 May, assessment 10 May (to support planning), home care from 1 June: waits 9, 31
    person(1),
    person(
        1,
        Event_Type="Assessment",
        Event_Start_Date="2025-05-10",
        Event_End_Date="2025-05-20",
        Event_Outcome="Progress to support planning or services",
    ),
    service(1, "2025-06-01", "Long term support: Community", "Home support or domiciliary care"),
    # P2: an existing client (long-term service ended 15 March, within 12 months): request not timed
    service(2, "2025-01-01", "Long term support: Community", "Day support", end="2025-03-15"),
    person(2, Event_Start_Date="2025-06-01", Event_End_Date="2025-06-01"),
    person(
        2,
        Event_Type="Assessment",
        Event_Start_Date="2025-06-05",
        Event_End_Date="2025-06-06",
        Event_Outcome="Progress to support planning or services",
    ),
    # P3: ST-Max on 5 July comes before the assessment: the service is the first response (4, 4)
    person(
        3,
        Event_Start_Date="2025-07-01",
        Event_End_Date="2025-07-01",
        Event_Outcome="Progress to reablement/ST-Max",
    ),
    service(3, "2025-07-05", "Short term support: ST-Max", "Reablement", end="2025-07-30"),
    person(
        3,
        Event_Type="Assessment",
        Event_Start_Date="2025-07-20",
        Event_End_Date="2025-07-21",
        Event_Outcome="NFA: Support ended as planned",
    ),
    # P4: the assessment (10 days) ends in "support declined": the later service is not a wait
    person(
        4,
        Event_Start_Date="2025-08-01",
        Event_End_Date="2025-08-01",
        Client_Funding_Status="Fully client funded",
    ),
    person(
        4,
        Event_Type="Assessment",
        Event_Start_Date="2025-08-11",
        Event_End_Date="2025-08-12",
        Event_Outcome="NFA: Support declined",
        Client_Funding_Status="Fully client funded",
    ),
    service(
        4,
        "2025-09-01",
        "Long term support: Residential care",
        "Long term residential care",
        Client_Funding_Status="Fully client funded",
    ),
    # P5: a request closed as self-funded (no service, no wait)
    person(
        5,
        Event_Start_Date="2025-09-01",
        Event_End_Date="2025-09-01",
        Event_Outcome="NFA: Self-funded client or under 12wk disregard",
    ),
    # P6: an unpaid carer with a carer's assessment and support
    person(
        6,
        Client_Type="Unpaid carer",
        Event_Type="Assessment",
        Event_Start_Date="2025-10-01",
        Event_End_Date="2025-10-02",
        Event_Outcome="Progress to support planning or services",
    ),
    service(
        6,
        "2025-10-10",
        "Unpaid carer support: Direct to unpaid carer",
        "Unpaid carer respite",
        end="2025-10-20",
        Client_Type="Unpaid carer",
    ),
]


def test_hand_worked_release_2_file(tmp_path):
    path = write(r2_events(*HAND), tmp_path / "hand.csv")
    got = signals(path).iloc[0]
    assert signals(path).attrs["release"] == "r2"
    expected = {
        "council_code": "E06000001",
        "requests": 5,  # P1-P5 (P2's request counts; it is only left out of the waits)
        "requests_people": 5,
        "requests_no_service": 1,  # P5
        "requests_self_funded": 1,
        "long_term_people": 2,  # P1 (home care) and P4 (residential); P2's ended in March
        "long_term_fully_social_care_funded": 1,
        "long_term_fully_client_funded": 1,
        "long_term_joint_funded": 0,
        "long_term_funding_unknown": 0,
        "home_care_people": 1,
        "home_care_council_funded": 1,
        "home_care_self_funded": 0,
        "carers_supported": 1,
        "wait_request_to_assessment_n": 3,  # P1 9, P3 4 (the service), P4 10
        "wait_request_to_assessment_median_days": 9.0,
        "wait_request_to_assessment_p25_days": 6.5,
        "wait_request_to_assessment_p75_days": 9.5,
        "wait_request_to_service_n": 2,  # P1 31, P3 4
        "wait_request_to_service_median_days": 17.5,
    }
    assert {k: got[k] for k in expected} == expected
    assert str(got["period_start"]) == "2025-04-01" and str(got["period_end"]) == "2026-03-31"


# ---------------------------------------------------------------------------------------------
# bad input


def test_unparseable_date_is_named(tmp_path):
    frame = r2_events(person(1), person(2, Event_Start_Date="2025-13-01"))
    with pytest.raises(CarepopError) as err:
        signals(write(frame, tmp_path / "d.csv"))
    assert err.value.code == "bad_date" and err.value.column == "Event_Start_Date" and err.value.rows == [2]


def test_release_2_given_for_a_release_1_file(tmp_path):
    from tests.sources.cld.fixtures import story

    path = write(story(), tmp_path / "r1.csv")
    with pytest.raises(CarepopError) as err:
        signals(path, release="r2")
    e = err.value
    assert e.code == "release_mismatch" and "uses Release 1 wordings only" in e.message
    assert "'Progress to Assessment'" in e.message and e.column in (
        "Client_Type",
        "Event_Outcome",
        "Ethnicity",
    )
    assert e.rows and "release='r1'" in e.fix
    with pytest.raises(CarepopError) as err:
        signals(path, release="r3")
    assert err.value.code == "bad_option"


def test_unknown_councils(tmp_path):
    frame = r2_events(person(1), person(2, LA_Code="E07000026"))
    with pytest.raises(CarepopError) as err:
        signals(write(frame, tmp_path / "la.csv"))
    assert err.value.code == "unknown_la" and err.value.rows == [2] and err.value.column == "LA_Code"


def test_bad_period_and_no_period(tmp_path):
    path = write(r2_events(person(1)), tmp_path / "p.csv")
    for period in (("2025-04-01", "2025-13-01"), ("2025-06-01", "2025-04-01"), ("2025-04-01",)):
        with pytest.raises(CarepopError) as err:
            signals(path, period=period)
        assert err.value.code == "bad_option"
    none = r2_events(person(1, Reporting_Period_Start_Date=None, Reporting_Period_End_Date=None))
    path = write(none, tmp_path / "none.csv")
    with pytest.raises(CarepopError) as err:
        signals(path)
    assert err.value.code == "no_period"
    assert signals(path, period=("2025-04-01", "2026-03-31"))["requests"].item() == 1


def test_inputs_are_not_modified(tmp_path):
    path = write(r2_events(*HAND), tmp_path / "hand.parquet")
    before = path.read_bytes()
    signals(path)
    assert path.read_bytes() == before

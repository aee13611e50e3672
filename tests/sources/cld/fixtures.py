"""Hand-built CLD event files shared by the ``test_cld_*`` modules (no tests here).

:func:`events` builds records from a few keyword overrides on a clean default row, so each test
states only what matters to it. :data:`STORY` is a small file whose aggregates are worked out by
hand in ``test_cld_pipeline.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carepop.sources.cld import schema

HARTLEPOOL = "E06000001"
HAMPSHIRE = "E10000014"
SELF_FUNDED = schema.SELF_FUNDED

DEFAULT = {
    "LA_Code": HARTLEPOOL,
    "Der_NHS_Number_Traced_Pseudo": "N0",
    "Der_LA_Person_Unique_Identifier_Pseudo": "L0",
    "Der_Birth_Year": 1950,
    "Der_Birth_Month": 6,
    "Gender": "Female",
    "Ethnicity": "White - Irish",
    "Client_Type": "Service User",
    "Event_Type": "Request",
    "Event_Start_Date": "2024-05-01",
    "Event_End_Date": "2024-05-02",
    "Event_Outcome": "Progress to Assessment",
    "Service_Type": None,
    "Service_Component": None,
    "Delivery_Mechanism": None,
    "Primary_Support_Reason": None,
    "Date_of_Death": None,
    "Reporting_Period_Start_Date": "2024-04-01",
    "Reporting_Period_End_Date": "2025-03-31",
}


def events(*rows: dict) -> pd.DataFrame:
    """One record per dict, each the default row with the dict's fields replaced."""
    unknown = {k for r in rows for k in r} - set(DEFAULT)
    assert not unknown, unknown
    frame = pd.DataFrame([{**DEFAULT, **r} for r in rows], columns=list(DEFAULT))
    for col in ("Der_Birth_Year", "Der_Birth_Month"):
        frame[col] = frame[col].astype("Int64")
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as CSV or Parquet (by suffix); dates stay text in both."""
    path = Path(path)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def service(**kw) -> dict:
    base = {
        "Event_Type": "Service",
        "Service_Type": "Long Term Support: Community",
        "Service_Component": "Home Support",
        "Delivery_Mechanism": "Direct Payment",
        "Primary_Support_Reason": "Physical Support: Personal care support",
        "Event_Outcome": "Provision of service",
        "Event_End_Date": None,
    }
    return {**base, **kw}


P1 = {"Der_NHS_Number_Traced_Pseudo": "n1", "Der_LA_Person_Unique_Identifier_Pseudo": "a1"}
P2 = {"Der_NHS_Number_Traced_Pseudo": None, "Der_LA_Person_Unique_Identifier_Pseudo": "b2"}
P3 = {
    "Der_NHS_Number_Traced_Pseudo": "n3",
    "Der_LA_Person_Unique_Identifier_Pseudo": "c3",
    "Der_Birth_Year": 1960,
    "Der_Birth_Month": 3,
    "Client_Type": "Carer",
    "Primary_Support_Reason": "Social Support: Support to Carer",
}
P4 = {
    "LA_Code": HAMPSHIRE,
    "Der_NHS_Number_Traced_Pseudo": "n4",
    "Der_LA_Person_Unique_Identifier_Pseudo": "d4",
    "Der_Birth_Year": 1930,
    "Der_Birth_Month": 2,
    "Date_of_Death": "2024-09-01",
}

#: 14 records (row numbers as the comments say) of five people and one unidentified record
STORY = [
    # P1, Hartlepool, born June 1940, female: request (sent twice), assessment, two overlapping services
    {**P1, "Der_Birth_Year": 1940},  # 1
    {**P1, "Der_Birth_Year": 1940, "Reporting_Period_End_Date": "2024-06-30"},  # 2 duplicate of 1
    {
        **P1,
        "Der_NHS_Number_Traced_Pseudo": None,  # 3: untraced record, linked through a1
        "Der_Birth_Year": None,
        "Der_Birth_Month": None,
        "Event_Type": "Assessment",
        "Event_Start_Date": "2024-05-10",
        "Event_End_Date": "2024-05-20",
        "Event_Outcome": "Progress to Support Planning / Services",
    },
    service(**P1, Der_Birth_Year=1940, Event_Start_Date="2024-06-01"),  # 4
    service(**P1, Der_Birth_Year=1940, Event_Start_Date="2024-07-01"),  # 5 overlaps 4 (open)
    # P2, Hartlepool, untraced, born January 1990, male: one request ending self-funded (release-1 wording)
    {
        **P2,
        "Der_Birth_Year": 1990,
        "Der_Birth_Month": 1,
        "Gender": "Male",
        "Ethnicity": "Not stated",
        "Event_Start_Date": "2024-07-01",
        "Event_End_Date": "2024-07-01",
        "Event_Outcome": "NFA - Self-funded client (Inc. 12wk disregard)",
    },  # 6
    # P3, Hartlepool, carer born March 1960: carer's assessment and direct support
    {
        **P3,
        "Event_Type": "Assessment",
        "Event_Start_Date": "2024-04-15",
        "Event_End_Date": "2024-04-20",
        "Event_Outcome": "Progress to Support Planning / Services",
    },  # 7
    service(
        **{**P3, "Client_Type": "carer"},  # 8: the client type in lower case
        Service_Type="Carer Support: Direct to Carer",
        Service_Component="Carer Support",
        Delivery_Mechanism="CASSR Commissioned Support",
        Event_Start_Date="2024-05-01",
        Event_End_Date="2024-09-30",
        Event_Outcome="Service ended as planned",
    ),
    # P4, Hampshire, born February 1930, died 1 September 2024
    {
        **P4,
        "Der_Birth_Month": None,
        "Gender": "Unknown",
        "Event_Start_Date": "2024-06-01",
        "Event_End_Date": "2024-06-03",
    },  # 9
    {
        **P4,
        "Event_Type": "Review",
        "Event_Start_Date": "2024-08-01",
        "Event_End_Date": "2024-08-05",
        "Event_Outcome": "No change in package",
    },  # 10
    service(
        **P4,
        Service_Type="Long Term Support: Residential Care",
        Service_Component="Residential Care",
        Delivery_Mechanism=None,
        Primary_Support_Reason="Support with Memory and Cognition",  # SALT wording (retired)
        Event_Start_Date="2024-06-01",  # same day as the request: the request led to a service
        Event_End_Date="2024-07-31",
        Event_Outcome=SELF_FUNDED,
    ),  # 11
    {
        **P4,
        "Der_Birth_Year": None,
        "Der_Birth_Month": None,
        "Event_Type": "Review",
        "Event_Start_Date": "2024-10-01",
        "Event_End_Date": "2024-10-02",
        "Event_Outcome": "No change in package",
    },  # 12: after death
    # no identifier at all: counted as an event, not as a person
    {
        "Der_NHS_Number_Traced_Pseudo": None,
        "Der_LA_Person_Unique_Identifier_Pseudo": None,
        "Der_Birth_Year": 2000,
        "Der_Birth_Month": 1,
        "Gender": "Male",
        "Event_Start_Date": "2024-05-05",
        "Event_End_Date": "2024-05-05",
        "Event_Outcome": "NFA - Information & Advice / Signposting only",
    },  # 13
    # P3 again: a review
    {
        **P3,
        "Event_Type": "Review",
        "Event_Start_Date": "2024-10-10",
        "Event_End_Date": "2024-10-12",
        "Event_Outcome": "No change in package",
    },  # 14
]


def story() -> pd.DataFrame:
    return events(*STORY)

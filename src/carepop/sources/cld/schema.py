"""The CLD event file: fields, code lists, retired codes, age bands and the councils.

Adult social care client-level data (CLD) is the quarterly, event-level return every council with
adult social services responsibilities (153 from April 2023) makes to NHS England; it replaced the
aggregate SALT return in 2024-25. One row is one *event* of one person: a Request for support, an
Assessment (including carers' assessments), a Service (which may be open-ended) or a Review.
Requests, assessments and reviews are recorded when completed, services while active.

Field names are those of the national specification as they appear in the pseudonymised extract
NHS England distributes and in its published processing code (github.com/NHSDigital/
ASC-Client-Level-Data-SALT-ASCOF-transformations), so a real extract loads as it is. Other columns
(``Der_Unique_Record_ID``, ``LA_Name``, ``ImportDate``, ...) are allowed and ignored.

Code lists
----------
Where the project's domain notes (CONTEXT.md) are silent the values are those of the
CLD specification as used in NHS England's processing code (its reference tables for event
outcomes, service types, delivery mechanisms, primary support reasons and ethnicity). Two choices
are carepop's own and should be checked against the current specification:

- The self-funded outcome is spelled ``"NFA: Self-funded client or under 12wk disregard"`` (the
  wording of the carepop issue and CONTEXT.md). The release-1 wordings in NHS England's code
  (``"NFA - Self-funded client (Inc. 12wk disregard)"`` and ``"... (inc. ...)"``) are accepted as
  retired codes and recoded to it.
- ``Service_Component`` and ``Gender`` lists are carepop's working lists (the processing code does
  not enumerate them); NHS Data Dictionary gender codes ``1/2/9/X`` are accepted as retired codes.

Every value is compared after trimming spaces. A value is then

- *current*: in the list;
- *retired*: an earlier or alternative wording listed in :data:`RETIRED` (recoded to the current one);
- *non-standard spelling*: equal to a current or retired value apart from letter case (recoded);
- *invalid*: anything else (kept as "Invalid code" in aggregates).

The data-quality report (:mod:`carepop.sources.cld.quality`) counts each kind per field.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = [
    "AGE_BANDS",
    "CARER_CLIENT_TYPES",
    "CARER_SERVICE_TYPES",
    "CODE_FIELDS",
    "CODE_LISTS",
    "DATE_FIELDS",
    "FIELDS",
    "Field",
    "INT_FIELDS",
    "ID_FIELDS",
    "NO_SERVICE_OUTCOMES",
    "REQUIRED",
    "RETIRED",
    "SELF_FUNDED",
    "SEXES",
    "councils",
]


@dataclass(frozen=True)
class Field:
    """One column of the CLD event file."""

    name: str
    kind: str  # "la" | "id" | "int" | "date" | "code"
    description: str


FIELDS: tuple[Field, ...] = (
    Field("LA_Code", "la", "ONS code of the submitting council (E06/E08/E09/E10, April 2023 councils)."),
    Field(
        "Der_NHS_Number_Traced_Pseudo",
        "id",
        "Pseudonymised NHS number after tracing; missing when the person could not be traced.",
    ),
    Field(
        "Der_LA_Person_Unique_Identifier_Pseudo",
        "id",
        "Pseudonymised person identifier of the council's case-management system.",
    ),
    Field("Der_Birth_Year", "int", "Year of birth (CLD carries year and month only)."),
    Field("Der_Birth_Month", "int", "Month of birth, 1-12."),
    Field("Gender", "code", "Gender (defined list)."),
    Field("Ethnicity", "code", "Ethnic category, 2021 census categories (defined list)."),
    Field("Client_Type", "code", "Service user, carer, or carer known by association."),
    Field("Event_Type", "code", "Request, Assessment, Service or Review."),
    Field("Event_Start_Date", "date", "Start of the event (YYYY-MM-DD)."),
    Field("Event_End_Date", "date", "End of the event; only services may be open (missing)."),
    Field("Event_Outcome", "code", "Outcome or next step when the event ended (defined list)."),
    Field("Service_Type", "code", "Type of service (Service events)."),
    Field("Service_Component", "code", "Component of the service (Service events)."),
    Field("Delivery_Mechanism", "code", "How a community service is delivered (direct payment, ...)."),
    Field("Primary_Support_Reason", "code", "Primary support reason (defined list)."),
    Field("Date_of_Death", "date", "Date of death, when known."),
    Field("Reporting_Period_Start_Date", "date", "Start of the submission's reporting period."),
    Field("Reporting_Period_End_Date", "date", "End of the submission's reporting period."),
)
REQUIRED: tuple[str, ...] = tuple(f.name for f in FIELDS)
DATE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "date")
INT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "int")
ID_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "id")
CODE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "code")

SELF_FUNDED = "NFA: Self-funded client or under 12wk disregard"

CODE_LISTS: dict[str, tuple[str, ...]] = {
    "Gender": ("Male", "Female", "Other", "Unknown"),
    "Ethnicity": (
        "White - English, Welsh, Scottish, Northern Irish or British",
        "White - Irish",
        "White - Gypsy or Irish Traveller",
        "White - Roma",
        "White - Any other White background",
        "Mixed or multiple ethnic groups - White and Black Caribbean",
        "Mixed or multiple ethnic groups - White and Black African",
        "Mixed or multiple ethnic groups - White and Asian",
        "Mixed or multiple ethnic groups - Any other Mixed or multiple ethnic background",
        "Asian or Asian British - Indian",
        "Asian or Asian British - Pakistani",
        "Asian or Asian British - Bangladeshi",
        "Asian or Asian British - Chinese",
        "Asian or Asian British - Any other Asian background",
        "Black, Black British, Caribbean or African - African",
        "Black, Black British, Caribbean or African - Caribbean",
        "Black, Black British, Caribbean or African - Any other Black, Black British or Caribbean background",
        "Other ethnic group - Arab",
        "Other ethnic group - Any other ethnic group",
        "No data - Refused",
        "No data - Undeclared or Not known",
    ),
    "Client_Type": ("Service User", "Carer", "Carer known by association"),
    "Event_Type": ("Request", "Assessment", "Service", "Review"),
    "Event_Outcome": (
        "Progress to Reablement/ST-Max",
        "Progress to Assessment",
        "Admitted to hospital",
        "Progress to Re-assessment / Unplanned Review",
        "Progress to Support Planning / Services",
        "Progress to End of Life Care",
        "No change in package",
        "Service ended as planned",
        "Progress to financial assessment",
        "Provision of service",
        "NFA - Moved to another LA",
        "NFA - 100% NHS funded care",
        SELF_FUNDED,
        "NFA - Support declined",
        "NFA - Information & Advice / Signposting only",
        "NFA - Deceased",
        "NFA - No services offered: Other reason",
        "NFA - Support ended: Other reason",
        "NFA- Other",
    ),
    "Service_Type": (
        "Short Term Support: ST-Max",
        "Short Term Support: Ongoing Low Level",
        "Short Term Support: Other Short Term",
        "Long Term Support: Nursing Care",
        "Long Term Support: Residential Care",
        "Long Term Support: Community",
        "Long Term Support: Prison",
        "Carer Support: Direct to Carer",
        "Carer Support: Support involving the person cared-for",
    ),
    "Service_Component": (
        "Reablement",
        "Residential Care",
        "Nursing Care",
        "Home Support",
        "Supported Living",
        "Shared Lives",
        "Extra Care Housing",
        "Direct Payment",
        "Day Care",
        "Equipment & Adaptations",
        "Meals",
        "Respite",
        "Carer Support",
        "Other",
    ),
    "Delivery_Mechanism": ("Direct Payment", "CASSR Managed Personal Budget", "CASSR Commissioned Support"),
    "Primary_Support_Reason": (
        "Physical Support: Access & mobility only",
        "Physical Support: Personal care support",
        "Sensory Support: Support for visual impairment",
        "Sensory Support: Support for hearing impairment",
        "Sensory Support: Support for dual impairment",
        "Support with Memory & Cognition",
        "Learning Disability Support",
        "Mental Health Support",
        "Social Support: Substance misuse support",
        "Social Support: Asylum seeker support",
        "Social Support: Support for Social Isolation/Other",
        "Social Support: Support to Carer",
        "Unknown",
    ),
}

#: earlier or alternative wordings -> current code (recoded, and counted as retired codes)
RETIRED: dict[str, dict[str, str]] = {
    "Gender": {"1": "Male", "2": "Female", "9": "Other", "X": "Unknown"},  # NHS Data Dictionary codes
    "Event_Outcome": {  # release-1 wordings in NHS England's processing code
        "NFA - Self-funded client (Inc. 12wk disregard)": SELF_FUNDED,
        "NFA - Self-funded client (inc. 12wk disregard)": SELF_FUNDED,
        "NFA - 100% NHS-funded care": "NFA - 100% NHS funded care",
        "NFA - Support ended – other reason": "NFA - Support ended: Other reason",
        "NFA - No services offered - other reason": "NFA - No services offered: Other reason",
    },
    "Service_Type": {"Short Term Support: Reablement": "Short Term Support: ST-Max"},  # SALT-era wording
    "Primary_Support_Reason": {  # SALT wordings
        "Physical Support: Access and mobility only": "Physical Support: Access & mobility only",
        "Support with Memory and Cognition": "Support with Memory & Cognition",
    },
}

#: request outcomes meaning the request led to no service from the council (the
#: ``requests_no_service`` table): every "NFA" (no further action) outcome of the list, i.e.
#: moved to another LA, 100% NHS funded care, self-funded (incl. 12-week disregard), support
#: declined, information & advice / signposting only (universal services), deceased, no services
#: offered for another reason, support ended for another reason and other NFA. SALT's STS001 counts
#: such requests as "universal services / signposted", "no services provided" or self-funded.
#: Outcomes that progress (to assessment, reablement / ST-Max, support planning / services, end of
#: life care, financial assessment, re-assessment) or record a hospital admission are not counted.
NO_SERVICE_OUTCOMES: tuple[str, ...] = tuple(v for v in CODE_LISTS["Event_Outcome"] if v.startswith("NFA"))
#: plausible event dates (start, end, death and reporting period); others make the file unreadable
DATE_RANGE = ("1900-01-01", "2100-12-31")

CARER_CLIENT_TYPES: tuple[str, ...] = ("Carer", "Carer known by association")
CARER_SERVICE_TYPES: tuple[str, ...] = (
    "Carer Support: Direct to Carer",
    "Carer Support: Support involving the person cared-for",
)

#: (label, lowest age in whole years); age at the event from birth year and month, taking the
#: 1st of the birth month as the birthday (as NHS England's code does). Bands follow the Census
#: 2021 TS007 breaks from 25 up, so counts can sit beside census populations.
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("Under 18", 0),
    ("18-24", 18),
    ("25-49", 25),
    ("50-64", 50),
    ("65-74", 65),
    ("75-84", 75),
    ("85+", 85),
)
UNKNOWN_AGE = "Unknown"
#: sex in the aggregates: the person's latest known Gender (Unknown when never known)
SEXES: tuple[str, ...] = ("Male", "Female", "Other", "Unknown")
#: plausible birth years; others are reported and treated as unknown
BIRTH_YEAR_RANGE = (1900, 2100)

NOT_RECORDED = "Not recorded"
INVALID = "Invalid code"
ALL = "All"


@lru_cache(maxsize=1)
def councils() -> dict[str, str]:
    """The 153 councils that submit CLD: ``{LA_Code: LA_Name}`` (bundled, April 2023 codes)."""
    ref = resources.files("carepop").joinpath("data/cld/councils_2023.csv")
    with ref.open("r", encoding="utf-8") as fh:
        return {row["LA_Code"]: row["LA_Name"] for row in csv.DictReader(fh)}


#: councils abolished on 1 April 2023, named in the hint when they turn up
ABOLISHED_2023: dict[str, str] = {
    "E10000006": "Cumbria (now Cumberland E06000063 and Westmorland and Furness E06000064)",
    "E10000023": "North Yorkshire county (now North Yorkshire E06000065)",
    "E10000027": "Somerset county (now Somerset E06000066)",
}

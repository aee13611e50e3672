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

Releases and code lists
-----------------------
CLD has two releases of its specification: Release 1 (2023-24 and 2024-25 returns) and Release 2
(submitted from 2025), which rewords event outcomes, service types and components, client types,
ethnicity, delivery mechanisms and support reasons and adds fields (read here when present:
:data:`OPTIONAL`). :data:`R1_LISTS` holds the Release 1 lists (the wordings of NHS England's
processing code, github.com/NHSDigital/ASC-Client-Level-Data-SALT-ASCOF-transformations);
:data:`R2_VALUES` maps each Release 2 wording to the carepop code it is recoded to (from DHSC's
dashboard code, github.com/DataS-DHSC/ASC-CLD-LA-Dashboard, which maps Release 1 to Release 2).
:data:`CODE_LISTS` is the carepop code list of each field: Release 1's, then the codes only Release 2
has ("Progress to assessment, review or reassessment" merges two Release 1 outcomes, "Continuation of
support or services", "NFA: Referral to other service within the local authority"), so a code's
position is the same whatever the release. :data:`SOURCES` says, per field, where each list was
checked (repository, commit and file). Where a Release 2 list could not be verified in full
(:data:`R2_ALSO_R1`), Release 1 wordings stay current in Release 2 files.

Choices that are carepop's own and should be checked against the current specification:

- The self-funded outcome's code is ``"NFA: Self-funded client or under 12wk disregard"`` (the
  Release 2 wording, in both releases; the carepop issue and CONTEXT.md). The Release 1 wordings in
  NHS England's code (``"NFA - Self-funded client (Inc. 12wk disregard)"`` and ``"... (inc. ...)"``)
  are accepted as retired codes and recoded to it.
- ``Service_Component`` (Release 1) and ``Gender`` lists are carepop's working lists (the
  processing code does not enumerate them); NHS Data Dictionary gender codes ``1/2/9/X`` are
  accepted as retired codes.
- ``Has_Unpaid_Carer``, ``Total_Hrs_Caring_per_week``, ``Assessment_Type``,
  ``Eligible_Needs_Identified``, ``Request_Route_of_Access``, ``Review_Reason``, ``Unit_Cost`` and the
  linked person IDs are carried as text without a list: their full lists are in the Release 2 mapping
  workbook, which neither repository holds (DHSC's code names "Short term assessment" / "Long term
  assessment" and review reasons starting "Planned" / "Unplanned" / "Review of short term support").

Every value is compared after trimming spaces. Within the file's release (detected or given, see
:mod:`carepop.sources.cld.releases`) a value is then

- *current*: in that release's list;
- *retired*: an earlier or alternative wording listed in :data:`RETIRED` (recoded to the current one);
- *other release*: the other release's wording (recoded; reported for information);
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
    "OPTIONAL",
    "R1_LISTS",
    "R2_VALUES",
    "RELEASES",
    "REQUIRED",
    "RETIRED",
    "SOURCES",
    "SELF_FUNDED",
    "SEXES",
    "TEXT_FIELDS",
    "canonical",
    "councils",
    "release_values",
    "to_r2",
]


@dataclass(frozen=True)
class Field:
    """One column of the CLD event file."""

    name: str
    kind: str  # "la" | "id" | "int" | "date" | "code" | "text"
    description: str
    required: bool = True


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
    # optional fields (read when present; missing when absent): see OPTIONAL
    Field("Client_Funding_Status", "code", "Funding status of the client (defined list).", False),
    Field("Has_Unpaid_Carer", "text", "Whether the person has an unpaid carer.", False),
    Field("Total_Hrs_Caring_per_week", "text", "Unpaid carers: hours caring a week (banded).", False),
    Field("Assessment_Type", "text", "Assessments: short term, long term, carer's, ... assessment.", False),
    Field("Eligible_Needs_Identified", "text", "Assessments: whether eligible needs were identified.", False),
    Field("Request_Route_of_Access", "text", "Requests: route of access (hospital discharge, ...).", False),
    Field("Review_Reason", "text", "Reviews: planned, unplanned, review of short term support.", False),
    Field("Unit_Cost", "text", "Services: cost per unit (kept as text, not used).", False),
    Field("Adult_1_Linked_Person_ID", "text", "Carers: council person ID of the first adult cared for.",
          False),
    Field("Adult_2_Linked_Person_ID", "text", "Carers: council person ID of the second adult cared for.",
          False),
    Field("Adult_3_Linked_Person_ID", "text", "Carers: council person ID of the third adult cared for.",
          False),
)
REQUIRED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)
#: fields read when the file has them (Release 2 and some Release 1 extracts); absent -> missing
OPTIONAL: tuple[str, ...] = tuple(f.name for f in FIELDS if not f.required)
TEXT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "text")
DATE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "date")
INT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "int")
ID_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "id")
CODE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "code")

SELF_FUNDED = "NFA: Self-funded client or under 12wk disregard"

R1_LISTS: dict[str, tuple[str, ...]] = {
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
    "Client_Funding_Status": (
        "Fully social care funded",
        "Joint client and social care funded",
        "Fully client funded",
        "Unknown",
    ),
}

#: Release 2 (2024-25 specification, submitted from 2025) wordings -> the carepop code they are
#: recoded to: the Release 1 label where the two releases match one to one, else the Release 2
#: wording itself (a code only Release 2 has, appended to :data:`CODE_LISTS`). Fields missing
#: here use the Release 1 list in both releases.
R2_VALUES: dict[str, dict[str, str]] = {
    "Ethnicity": {
        v.replace(" - ", ": ", 1).replace("Undeclared or Not known", "Undeclared or not known"): v
        for v in R1_LISTS["Ethnicity"]
    },
    "Client_Type": {
        "Service user": "Service User",
        "Unpaid carer": "Carer",
        "Unpaid carer known by association": "Carer known by association",
    },
    "Event_Outcome": {
        "Progress to reablement/ST-Max": "Progress to Reablement/ST-Max",
        "Progress to assessment, review or reassessment": "Progress to assessment, review or reassessment",
        "Progress to support planning or services": "Progress to Support Planning / Services",
        "Continuation of support or services": "Continuation of support or services",
        "Admitted to hospital": "Admitted to hospital",
        "NFA: Responsibility moved to another local authority": "NFA - Moved to another LA",
        "NFA: Referral to NHS services or NHS funded social care": "NFA - 100% NHS funded care",
        SELF_FUNDED: SELF_FUNDED,
        "NFA: Information and advice or signposting": "NFA - Information & Advice / Signposting only",
        "NFA: Referral to other service within the local authority": (
            "NFA: Referral to other service within the local authority"
        ),
        "NFA: Support declined": "NFA - Support declined",
        "NFA: Deceased": "NFA - Deceased",
        "NFA: Support ended as planned": "Service ended as planned",
        "NFA: Support ended for other reason": "NFA - Support ended: Other reason",
        "NFA: No services offered for other reason": "NFA - No services offered: Other reason",
        "NFA: Other": "NFA- Other",
    },
    "Service_Type": {
        "Short term support: ST-Max": "Short Term Support: ST-Max",
        "Short term support: Ongoing low level": "Short Term Support: Ongoing Low Level",
        "Short term support: Other short term": "Short Term Support: Other Short Term",
        "Long term support: Nursing care": "Long Term Support: Nursing Care",
        "Long term support: Residential care": "Long Term Support: Residential Care",
        "Long term support: Community": "Long Term Support: Community",
        "Long term support: Prison": "Long Term Support: Prison",
        "Unpaid carer support: Direct to unpaid carer": "Carer Support: Direct to Carer",
        "Unpaid carer support: Support involving the person cared-for": (
            "Carer Support: Support involving the person cared-for"
        ),
    },
    "Service_Component": {
        "Reablement": "Reablement",
        "Short term residential care": "Residential Care",
        "Short term nursing care": "Nursing Care",
        "Long term residential care": "Residential Care",
        "Long term nursing care": "Nursing Care",
        "Home support or domiciliary care": "Home Support",
        "Community supported living": "Supported Living",
        "Shared Lives": "Shared Lives",
        "Extra care housing": "Extra Care Housing",
        "Direct payment": "Direct Payment",
        "Day support": "Day Care",
        "Equipment": "Equipment & Adaptations",
        "Meals": "Meals",
        "Unpaid carer respite": "Respite",
        "Unpaid carer sitting service": "Carer Support",
        "Unpaid carer universal services": "Carer Support",
        "Other unpaid carer support": "Carer Support",
        "Transport": "Other",
        "Professional support: Social worker": "Other",
        "Professional support: Other": "Other",
        "Learning, education or employment support": "Other",
        "End of life care": "Other",
        "Emergency support": "Other",
        "Other short term support": "Other",
        "Other long term support": "Other",
    },
    "Delivery_Mechanism": {
        "Direct payment": "Direct Payment",
        "CASSR managed personal budget": "CASSR Managed Personal Budget",
        "CASSR commissioned support": "CASSR Commissioned Support",
    },
    "Primary_Support_Reason": {
        "Physical support: Access and mobility only": "Physical Support: Access & mobility only",
        "Physical support: Personal care support": "Physical Support: Personal care support",
        "Sensory support: Support for visual impairment": "Sensory Support: Support for visual impairment",
        "Sensory support: Support for hearing impairment": "Sensory Support: Support for hearing impairment",
        "Sensory support: Support for dual impairment": "Sensory Support: Support for dual impairment",
        "Support with memory and cognition": "Support with Memory & Cognition",
        "Learning disability support": "Learning Disability Support",
        "Mental health support": "Mental Health Support",
        "Social support: Substance misuse support": "Social Support: Substance misuse support",
        "Social support: Asylum seeker support": "Social Support: Asylum seeker support",
        "Social support: Support for social isolation or other": (
            "Social Support: Support for Social Isolation/Other"
        ),
        "Social support: Support to unpaid carer": "Social Support: Support to Carer",
        "Unknown": "Unknown",
    },
}
#: fields whose Release 2 list could not be checked in full against the published code: Release 2
#: files may use either release's wording there without being told it is the other release's
R2_ALSO_R1: frozenset[str] = frozenset(
    {"Gender", "Event_Type", "Service_Component", "Primary_Support_Reason", "Client_Funding_Status"}
)

#: where each list was checked (repository at the commit read, path); "carepop" = carepop's own
#: working list, not found in either repository
SOURCES: dict[str, str] = {
    "Gender": "carepop working list (R1 and R2); neither repository enumerates gender codes",
    "Ethnicity": "R1: NHSDigital/ASC-Client-Level-Data-SALT-ASCOF-transformations (d6ff762) "
    "ASCOF 2B2C/ASCOF 2B2C replication code.txt; R2: DataS-DHSC/ASC-CLD-LA-Dashboard (9bee728) "
    "Main_tables/docs/methodology/5-data-cleaning.md (Ethnicity_Cleaned)",
    "Client_Type": "R1: NHSDigital (d6ff762) SALT LTS001a/LTS001a replication code.txt; R2: DataS-DHSC "
    "(9bee728) ASCOF_measures/Create_ASCOF_3D_2425_Onwards.sql ('Unpaid carer', 'Service user')",
    "Event_Type": "both: NHSDigital (d6ff762) SALT STS001/STS001 replication code.txt; DataS-DHSC "
    "(9bee728) Waiting_times/waiting_times_method.sql",
    "Event_Outcome": "R1: NHSDigital (d6ff762) SALT STS001/STS001 replication code.txt; R2 and the R1 -> R2 "
    "correspondence: DataS-DHSC (9bee728) Main_tables/docs/methodology/5-data-cleaning.md and "
    "6-deduplication.md (outcome hierarchy), Waiting_times/waiting_times_method.sql",
    "Service_Type": "R1: NHSDigital (d6ff762) SALT LTS001a/LTS001a replication code.txt; R2: DataS-DHSC "
    "(9bee728) Main_tables/docs/methodology/5-data-cleaning.md (Service_Type_Cleaned)",
    "Service_Component": "R1: carepop working list; R2: DataS-DHSC (9bee728) 2.Services_fact.sql (some "
    "values: home support or domiciliary care, community supported living, short term residential / "
    "nursing care, equipment, reablement, shared lives, extra care housing); the rest of the R2 list "
    "from a public data standard quoting the CLD specification, not verified",
    "Delivery_Mechanism": "R1: NHSDigital (d6ff762) SALT LTS001a/LTS001a replication code.txt; R2: "
    "DataS-DHSC (9bee728) 2.Services_fact.sql (sentence-case wordings)",
    "Primary_Support_Reason": "R1: NHSDigital (d6ff762) SALT LTS001a/LTS001a replication code.txt; R2: "
    "DataS-DHSC (9bee728) ASCOF_measures ('Social support: Support to unpaid carer') - the other R2 "
    "wordings are carepop's reading, not verified, so R1 wordings stay valid in R2",
    "Client_Funding_Status": "DataS-DHSC (9bee728) ASCOF_measures/Create_personal_details_table.sql (the "
    "three known values; anything else there is 'Unknown')",
}

#: the carepop codes of each field: the Release 1 list, then the codes only Release 2 has (so a
#: code's position, what the SQL works with, is the same whatever the release)
CODE_LISTS: dict[str, tuple[str, ...]] = {
    field: values
    + tuple(dict.fromkeys(c for c in R2_VALUES.get(field, {}).values() if c not in values))
    for field, values in R1_LISTS.items()
}
RELEASES: tuple[str, ...] = ("r1", "r2")


def release_values(field: str, release: str) -> tuple[str, ...]:
    """The exact wordings of ``field`` that are current in ``release`` (``"r1"`` or ``"r2"``)."""
    r1 = R1_LISTS[field]
    if release == "r1":
        return r1
    r2 = tuple(R2_VALUES.get(field, {}))
    if not r2:
        return r1
    return tuple(dict.fromkeys(r2 + r1)) if field in R2_ALSO_R1 else r2


def canonical(field: str, value: str) -> str | None:
    """The carepop code of the exact wording ``value`` (either release, or a retired wording)."""
    if value in R1_LISTS[field]:
        return value
    if value in R2_VALUES.get(field, {}):
        return R2_VALUES[field][value]
    return RETIRED.get(field, {}).get(value)


#: Release 1 codes that Release 2 merged into a wider one (DHSC's outcome hierarchy puts them at the
#: same rank: DataS-DHSC/ASC-CLD-LA-Dashboard Main_tables/docs/methodology/6-deduplication.md); used
#: to write Release 2 files, while reading keeps the wider code apart
R1_TO_R2: dict[str, dict[str, str]] = {
    "Event_Outcome": {
        "Progress to Assessment": "Progress to assessment, review or reassessment",
        "Progress to Re-assessment / Unplanned Review": "Progress to assessment, review or reassessment",
        "No change in package": "Continuation of support or services",
        "Provision of service": "Continuation of support or services",
    },
}


def to_r2(field: str, code_value: str) -> str:
    """The Release 2 wording of the carepop code ``code_value`` (itself when Release 2 has none)."""
    merged = R1_TO_R2.get(field, {}).get(code_value)
    if merged is not None:
        return merged
    for r2, c in R2_VALUES.get(field, {}).items():
        if c == code_value:
            return r2
    return code_value


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
#: Release 2 adds "NFA: Referral to other service within the local authority" (an NFA code of its
#: own, so in the list); its "NFA: Support ended as planned" is recoded to "Service ended as
#: planned" (a service outcome, not a request outcome) and so is not in it.
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

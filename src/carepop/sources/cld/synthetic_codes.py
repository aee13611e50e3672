"""What the synthetic CLD generator draws from (:mod:`carepop.sources.cld.generate`): every string a
code field can take, with the recording problem each planted variant stands for, and the care
pathways (chronological slots of events with their outcomes, services and timing).

Shares and pathways are invented to look like council returns; they are not estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carepop.sources.cld import schema

# ---------------------------------------------------------------------------------------------
# field_values: every string a code field can take, with the kind of problem it plants


def variant(value: str) -> str:
    """The value in another letter case (a non-standard spelling)."""
    return value.upper() if value.upper() != value else value.lower()


class FieldValues:
    """Strings a field can take: current codes, then planted variants; ``kind[i]`` is "" for a
    current code, else the check it plants (``retired_code``, ``nonstandard_spelling``,
    ``invalid_code``)."""

    def __init__(self, name: str, invalid: tuple[str, ...] = ()) -> None:
        self.name = name
        self.values: list[str] = list(schema.CODE_LISTS[name])
        self.kind: list[str] = [""] * len(self.values)
        self.base: list[str | None] = list(self.values)  # the code a variant spells another way
        self.invalid = [self._add(v, "invalid_code") for v in invalid]

    def _add(self, value: str, kind: str, base: str | None = None) -> int:
        self.values.append(value)
        self.kind.append(kind)
        self.base.append(base)
        return len(self.values) - 1

    def written(self, release: str) -> list[str]:
        """The strings as a file of ``release`` spells them: Release 2 files carry the Release 2
        wording of each code and of its letter-case variants (retired and invalid values as they
        are)."""
        if release == "r1":
            return list(self.values)
        out = []
        for value, kind, base in zip(self.values, self.kind, self.base, strict=True):
            if kind == "":
                out.append(schema.to_r2(self.name, value))
            elif kind == "nonstandard_spelling" and base is not None:
                out.append(variant(schema.to_r2(self.name, base)))
            else:
                out.append(value)
        return out

    def idx(self, value: str) -> int:
        return self.values.index(value)

    def retired_of(self, current: str) -> list[int]:
        olds = [old for old, new in schema.RETIRED.get(self.name, {}).items() if new == current]
        return [self._add(o, "retired_code") if o not in self.values else self.values.index(o) for o in olds]

    def variant_of(self, current: str) -> int:
        v = variant(current)
        return self.values.index(v) if v in self.values else self._add(v, "nonstandard_spelling", current)


def field_values() -> dict[str, FieldValues]:
    v = {
        "Gender": FieldValues("Gender", ("U", "Not specified")),
        "Ethnicity": FieldValues("Ethnicity", ("White British", "Not stated", "W1")),
        "Client_Type": FieldValues("Client_Type"),
        "Event_Type": FieldValues("Event_Type"),
        "Event_Outcome": FieldValues("Event_Outcome", ("Closed", "NFA", "Case closed - other")),
        "Service_Type": FieldValues("Service_Type"),
        "Service_Component": FieldValues("Service_Component"),
        "Delivery_Mechanism": FieldValues("Delivery_Mechanism", ("Personal Budget", "Managed account")),
        "Primary_Support_Reason": FieldValues("Primary_Support_Reason", ("Physical", "Dementia", "Frailty")),
    }
    return v


# ---------------------------------------------------------------------------------------------
# pathways: chronological slots of events


@dataclass(frozen=True)
class Slot:
    event_type: str
    p: float  # probability the slot happens
    outcomes: tuple[tuple[str, float], ...] = ()
    services: tuple[tuple[str, str, float], ...] = ()  # (service type, component, weight)
    gap: float = 30.0  # mean days after the previous event
    duration: tuple[int, int] = (0, 14)  # days, for ended events
    p_open: float = 0.0  # services: chance to be open (if last of the person)


NFA_REQUEST = (
    ("NFA - Information & Advice / Signposting only", 0.45),
    (schema.SELF_FUNDED, 0.15),
    ("NFA - Support declined", 0.15),
    ("NFA - No services offered: Other reason", 0.12),
    ("NFA - Moved to another LA", 0.05),
    ("NFA - 100% NHS funded care", 0.05),
    ("NFA- Other", 0.03),
)
NFA_ASSESS = (
    (schema.SELF_FUNDED, 0.30),
    ("NFA - Support declined", 0.20),
    ("NFA - Information & Advice / Signposting only", 0.25),
    ("NFA - No services offered: Other reason", 0.15),
    ("NFA - 100% NHS funded care", 0.10),
)
LT_MAIN = (
    ("Long Term Support: Residential Care", "Residential Care", 0.20),
    ("Long Term Support: Nursing Care", "Nursing Care", 0.10),
    ("Long Term Support: Community", "Home Support", 0.35),
    ("Long Term Support: Community", "Supported Living", 0.10),
    ("Long Term Support: Community", "Direct Payment", 0.15),
    ("Long Term Support: Community", "Shared Lives", 0.03),
    ("Long Term Support: Community", "Extra Care Housing", 0.05),
    ("Long Term Support: Prison", "Other", 0.02),
)
ANCILLARY = (
    ("Long Term Support: Community", "Day Care", 0.4),
    ("Short Term Support: Ongoing Low Level", "Equipment & Adaptations", 0.4),
    ("Short Term Support: Other Short Term", "Meals", 0.2),
)
ENDED = (("Service ended as planned", 0.85), ("Progress to Re-assessment / Unplanned Review", 0.15))
REVIEW = (("No change in package", 0.7), ("Progress to Support Planning / Services", 0.3))

PATHWAYS: dict[str, tuple[float, str, tuple[Slot, ...]]] = {
    "A": (0.30, "Service User", (Slot("Request", 1.0, NFA_REQUEST),)),
    "B": (
        0.12,
        "Service User",
        (
            Slot("Request", 1.0, (("Progress to Assessment", 1.0),)),
            Slot("Assessment", 1.0, NFA_ASSESS, gap=20, duration=(1, 42)),
        ),
    ),
    "C": (
        0.12,
        "Service User",
        (
            Slot("Request", 1.0, (("Progress to Reablement/ST-Max", 1.0),)),
            Slot(
                "Service",
                1.0,
                ENDED,
                (("Short Term Support: ST-Max", "Reablement", 1.0),),
                gap=7,
                duration=(7, 42),
            ),
            Slot(
                "Assessment",
                0.5,
                (("Progress to Support Planning / Services", 1.0),),
                gap=40,
                duration=(1, 42),
            ),
            Slot("Service", 0.5, ENDED, LT_MAIN, gap=20, duration=(30, 600), p_open=0.6),
            Slot("Review", 0.3, REVIEW, gap=90),
        ),
    ),
    "D": (
        0.30,
        "Service User",
        (
            Slot("Service", 1.0, ENDED, LT_MAIN, duration=(60, 1500), p_open=0.7),
            Slot("Review", 0.7, REVIEW, gap=120),
            Slot("Service", 0.3, ENDED, ANCILLARY, gap=40, duration=(14, 365), p_open=0.3),
            Slot("Review", 0.3, REVIEW, gap=120),
            Slot(
                "Assessment",
                0.2,
                (("Progress to Support Planning / Services", 1.0),),
                gap=60,
                duration=(1, 42),
            ),
        ),
    ),
    "E": (
        0.12,
        "Carer",
        (
            Slot("Request", 1.0, (("Progress to Assessment", 1.0),)),
            Slot(
                "Assessment",
                1.0,
                (
                    ("Progress to Support Planning / Services", 0.6),
                    ("NFA - Information & Advice / Signposting only", 0.4),
                ),
                gap=20,
                duration=(1, 30),
            ),
            Slot(
                "Service",
                0.6,
                ENDED,
                (
                    ("Carer Support: Direct to Carer", "Carer Support", 0.7),
                    ("Carer Support: Direct to Carer", "Direct Payment", 0.3),
                ),
                gap=20,
                duration=(1, 365),
                p_open=0.3,
            ),
            Slot("Review", 0.4, REVIEW, gap=150),
        ),
    ),
    "F": (
        0.04,
        "Carer known by association",
        (
            Slot(
                "Service",
                1.0,
                ENDED,
                (("Carer Support: Support involving the person cared-for", "Respite", 1.0),),
                duration=(1, 60),
            ),
            Slot("Review", 0.3, REVIEW, gap=90),
        ),
    ),
}
PSR = (
    ("Physical Support: Personal care support", 0.48),
    ("Physical Support: Access & mobility only", 0.08),
    ("Support with Memory & Cognition", 0.15),
    ("Learning Disability Support", 0.10),
    ("Mental Health Support", 0.10),
    ("Sensory Support: Support for visual impairment", 0.02),
    ("Sensory Support: Support for hearing impairment", 0.01),
    ("Social Support: Substance misuse support", 0.02),
    ("Social Support: Support for Social Isolation/Other", 0.03),
    ("Unknown", 0.01),
)
ETHNICITY_P = np.array(
    [
        0.78,
        0.02,
        0.003,
        0.002,
        0.04,
        0.006,
        0.003,
        0.005,
        0.004,
        0.025,
        0.02,
        0.008,
        0.003,
        0.01,
        0.018,
        0.012,
        0.004,
        0.003,
        0.005,
        0.007,
        0.01,
    ]
)

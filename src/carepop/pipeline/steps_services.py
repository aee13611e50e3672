"""Steps about services: the councils' client-level data, self-funders and the workforce — thin
adapters from a ``[measures.NAME]`` table to the library call."""

from __future__ import annotations

from typing import Any

import pandas as pd

from carepop.errors import CarepopError
from carepop.pipeline.step_types import Context, Protect, Section, StepResult

CLD_COUNTS = (
    "requests_people",
    "requests_no_service_people",
    "requests_self_funded_people",
    "long_term_people",
    "long_term_fully_client_funded",
    "home_care_people",
    "home_care_council_funded",
    "home_care_self_funded",
    "carers_supported",
)
WAITS = ("request_to_assessment", "request_to_service")


def cld_step(ctx: Context, spec: dict[str, Any]) -> StepResult:
    """The councils' client-level data: signals by council (:mod:`carepop.sources.cld.signals`)."""
    from carepop.sources.cld.signals import signals

    path = ctx.config.file(spec["input"])
    sig = signals(path, engine=spec.get("engine", "duckdb"), release=spec.get("release"))
    ctx.raw["cld_signals"] = sig
    counts = _nested_counts(sig, CLD_COUNTS)  # the councils in the file only (no false zeros)
    waits = pd.concat(
        [
            pd.DataFrame(
                {
                    "council_code": sig["council_code"],
                    "wait": w.replace("_", " "),
                    "median_days": sig[f"wait_{w}_median_days"],
                    "p25_days": sig[f"wait_{w}_p25_days"],
                    "p75_days": sig[f"wait_{w}_p75_days"],
                    "n": sig[f"wait_{w}_n"].astype("int64"),
                }
            )
            for w in WAITS
        ],
        ignore_index=True,
    )
    period = f"{sig['period_start'].min()} to {sig['period_end'].max()}"
    return StepResult(
        tables={"cld_counts": counts, "cld_waits": waits},
        protect={
            "cld_counts": Protect(counts=CLD_COUNTS, nested=True),
            "cld_waits": Protect(
                rates=("median_days", "p25_days", "p75_days"),
                counts=("n",),
                withheld=(("median_days", "n"), ("p25_days", "n"), ("p75_days", "n")),
            ),
        },
        notes=(
            f"client-level data {period} ({sig.attrs.get('release', 'release detected')}); distinct people "
            "counted once per council; waiting times after DHSC's method (carepop.sources.cld.signals)",
        ),
    )


def _named(table: pd.DataFrame) -> pd.DataFrame:
    """``area_name`` beside ``area_code`` (councils, regions, England) when a table lacks it."""
    if "area_name" in table.columns:
        return table
    from carepop.sources.tables import load_table

    t = load_table("council", None)
    names = pd.concat(
        [
            t.set_index("council_code")["council_name"],
            t.drop_duplicates("region_code").set_index("region_code")["region_name"],
            pd.Series({"E92000001": "England"}),
        ]
    )
    out = table.copy()
    out.insert(out.columns.get_loc("area_code") + 1, "area_name", out["area_code"].astype(str).map(names))
    return out


def _share_section(key: str, title: str, table: str, stem: str, label: str, fmt: str, text: str) -> Section:
    return Section(
        key,
        title,
        table,
        value=stem,
        lower=f"{stem}_lower",
        upper=f"{stem}_upper",
        label=label,
        value_format=fmt,
        description=text,
    )


def _nested_counts(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Counts by council with each council's region (councils not in ``frame`` are left out: a
    file from one council is not 152 zeros), for protection with their totals."""
    from carepop.sources.tables import load_table

    regions = load_table("council", None)[["council_code", "region_code"]]
    out = regions.merge(frame[["council_code", *columns]], on="council_code", how="inner")
    out[list(columns)] = out[list(columns)].fillna(0).astype("int64")
    return out


def self_funders_step(ctx: Context, spec: dict[str, Any]) -> StepResult:
    from carepop.measures.self_funders import community_self_funders, self_funders_in_care_homes

    tables, protect, notes, sections = {}, {}, [], []
    if "homes" in spec:
        homes = self_funders_in_care_homes(
            ctx.inputs[spec["homes"]],
            ctx.inputs[spec["directory"]],
            min_homes=int(spec.get("min_homes", 5)),
            boot=int(spec.get("boot", 0)),
            seed=ctx.seed("self_funders"),
            level=float(spec.get("level", 0.95)),
        )
        tables["care_home_self_funders"] = _named(homes.to_pandas())
        people = [
            c for c in tables["care_home_self_funders"].columns if c.startswith(("residents", "self_funders"))
        ]
        shares = [c for c in tables["care_home_self_funders"].columns if c.startswith("self_funder_share")]
        protect["care_home_self_funders"] = Protect(totals=tuple(people), rates=tuple(shares))
        notes.extend(homes.notes)
        sections.append(
            _share_section(
                "care-home-self-funders",
                "Self-funders in care homes",
                "care_home_self_funders",
                "self_funder_share",
                "share of care-home residents who pay for their own care",
                "{:.0%}",
                "The share of care-home residents who fund their own care, from a survey of homes weighted "
                "to the care directory's beds within council and home type (ONS's method).",
            )
        )
    if "users" in spec:
        funded_from = spec.get("funded", "cld")
        if funded_from == "cld":
            if "cld_signals" not in ctx.raw:
                raise CarepopError(
                    'funded = "cld" needs the CLD signals.',
                    code="bad_config",
                    column="funded",
                    fix="add [measures.cld_signals], or name an input with home_care_council_funded by "
                    "council",
                )
            # only the count this measure uses: other CLD columns are published (protected) in cld_counts
            funded = ctx.raw["cld_signals"][["council_code", "home_care_council_funded"]]
            linked_to = "cld_counts"
            source = "council-funded home care (client-level data)"
        else:
            funded = ctx.inputs[funded_from][["council_code", "home_care_council_funded"]]
            # published once, with its region and England totals, after secondary suppression
            tables["council_funded_home_care"] = _nested_counts(funded, ("home_care_council_funded",))
            protect["council_funded_home_care"] = Protect(counts=("home_care_council_funded",), nested=True)
            linked_to = "council_funded_home_care"
            source = f"council-funded home care ({funded_from})"
        users = ctx.inputs[spec["users"]]
        community = community_self_funders(
            users,
            funded,
            df="df" if "df" in users.columns else None,
            seed=ctx.seed("community"),
            level=float(spec.get("level", 0.95)),
        )
        tables["community_self_funders"] = _named(community.to_pandas())
        cols = tables["community_self_funders"].columns
        totals = ("home_care_users", "home_care_users_se", "self_funders", "self_funders_se")
        derived = (*totals[2:], "self_funders_lower", "self_funders_upper")
        shares = tuple(c for c in cols if c.startswith("self_funder_share"))
        protect["community_self_funders"] = Protect(
            totals=(*totals, "self_funders_lower", "self_funders_upper"),
            rates=shares,
            # the council-funded count exactly as its nested table publishes it; the difference and
            # the share blanked where it is suppressed (users − difference would give it back)
            linked=(linked_to, "home_care_council_funded", "council_funded"),
            derived=(*derived, *shares),
        )
        notes.append(f"council-funded: {source}")
        notes.extend(community.notes)
        sections.append(
            _share_section(
                "community-self-funders",
                "Self-funders of home care",
                "community_self_funders",
                "self_funders",
                "people paying for their own home care",
                "{:,.0f}",
                "People receiving home care (estimated from a survey of providers) minus those whose care "
                f"the council funds ({source}), with the interval of the difference.",
            )
        )
    return StepResult(tables=tables, protect=protect, notes=tuple(notes), sections=tuple(sections))


def workforce_step(ctx: Context, spec: dict[str, Any]) -> StepResult:
    from carepop.measures.workforce import personal_assistant_posts, workforce_by_area

    tables, protect, notes, sections = {}, {}, [], []
    if "returns" in spec:
        wf = workforce_by_area(
            ctx.inputs[spec["returns"]],
            ctx.inputs[spec["register"]],
            cells=tuple(spec.get("cells", ("council_code", "service"))),
            level=float(spec.get("level", 0.95)),
        )
        tables["workforce"] = _named(wf.to_pandas())
        cols = tables["workforce"].columns
        protect["workforce"] = Protect(
            totals=tuple(c for c in cols if c.startswith(("filled_posts", "vacancies"))),
            rates=tuple(c for c in cols if c.startswith("vacancy_rate")),
        )
        notes.extend(wf.notes)
        sections.append(
            _share_section(
                "vacancy-rate",
                "Vacancy rate in adult social care",
                "workforce",
                "vacancy_rate",
                "vacancies as a share of filled posts and vacancies",
                "{:.1%}",
                "From a survey of care providers' returns weighted to the register of locations within "
                "council and service (Skills for Care's method).",
            )
        )
    if "pa_recipients" in spec:
        pa = personal_assistant_posts(
            spec["pa_recipients"],
            spec["pa_share"],
            spec["pa_per_employer"],
            recipients_se=spec.get("pa_recipients_se", 0.0),
            share_employing_se=spec.get("pa_share_se", 0.0),
            pas_per_employer_se=spec.get("pa_per_employer_se", 0.0),
            method=spec.get("pa_method", "delta"),
            seed=ctx.seed("pa_posts"),
            level=float(spec.get("level", 0.95)),
        )
        tables["pa_posts"] = pa.to_pandas()
        protect["pa_posts"] = Protect(
            totals=("recipients", "pa_posts", "pa_posts_se", "pa_posts_lower", "pa_posts_upper"),
            rates=("share_employing", "share_employing_se", "pas_per_employer", "pas_per_employer_se"),
        )
        notes.extend(pa.notes)
    return StepResult(tables=tables, protect=protect, notes=tuple(notes), sections=tuple(sections))

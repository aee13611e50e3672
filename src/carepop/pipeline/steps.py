"""The measures a run config can name, each a thin adapter from a ``[measures.NAME]`` table to a
library call (the same call a user would make in Python, so a run's numbers are the library's).

Every step takes the run's :class:`Context` and its table of keys and returns a
:class:`StepResult`: the published tables (name → data frame, by council with region and England
rows where the measure has them), the notes (what was treated as known, the model's choices) and
the row set to map (``estimate``, ``ci_lower``, ``ci_upper`` by council) if any.

:data:`STEPS` lists them in the order they run (a measure may use an earlier one's result: hidden
carers use carers; projections use a rate measure).
"""

from __future__ import annotations

from typing import Any

from carepop.pipeline.step_types import Context, Protect, Schema, Section, Step, StepResult
from carepop.pipeline.steps_people import carers_step, hidden_step, need_items, projection_step, unmet_step
from carepop.pipeline.steps_services import CLD_COUNTS, cld_step, self_funders_step, workforce_step

__all__ = ["CLD_COUNTS", "STEPS", "Context", "Protect", "Section", "Step", "StepResult", "measure_schemas"]


def _schema(**keys: tuple[tuple[type, ...], bool, str]) -> Schema:
    return dict(keys)


_TEXT, _INT, _NUM, _BOOL = (str,), (int,), (int, float), (bool,)

STEPS: tuple[Step, ...] = (
    Step(
        "cld_signals",
        "Client-level data",
        _schema(
            input=(_TEXT, True, "the name of an [inputs.NAME] table with the CLD event file"),
            engine=(_TEXT, False, "duckdb or spark"),
            release=(_TEXT, False, "r1 or r2 (default: detected)"),
        ),
        cld_step,
        reads_file=True,
    ),
    Step(
        "carers",
        "Unpaid carers",
        _schema(
            survey=(_TEXT, True, "the name of a [surveys.NAME] table"),
            carer=(_TEXT, True, "the yes/no carer column"),
            category=((str, int), False, "the value of the carer column that means 'carer'"),
            council=(_TEXT, False, "the column with 2023 council codes"),
            definition=(_TEXT, False, "what the carer column measures"),
            hours=(_TEXT, False, "the census hours band column (1-5), for estimates by band"),
            benchmark=(_TEXT, False, "region, england or none"),
            boot=(_INT, False, "bootstrap replicates of the model MSE"),
            level=(_NUM, False, "the confidence level"),
        ),
        carers_step,
        columns=("carer", "council", "hours"),
        default_columns=(("council", "council_code"),),
    ),
    Step(
        "hidden_carers",
        "Hidden carers",
        _schema(
            known=(
                _TEXT,
                False,
                "gp (GP-registered carers, bundled), cld (carers supported in the CLD signals) or the "
                "name of an input with counts",
            ),
            known_count=(_TEXT, False, "the count column of the known input"),
            known_area=(_TEXT, False, "the area-code column of the known input"),
            source=(_TEXT, False, "what the known counts count"),
        ),
        hidden_step,
    ),
    Step(
        "unmet_need",
        "Unmet need",
        _schema(
            survey=(_TEXT, True, "the name of a [surveys.NAME] table (the needs survey)"),
            council=(_TEXT, False, "the column with 2023 council codes"),
            age=(_TEXT, False, "the age column (years)"),
            sex=(_TEXT, False, "the sex column (1 female, 2 male)"),
            definition=(_TEXT, False, "hse, hse_iadl, ageuk, ageuk65 or adults"),
            variants=((list,), False, "no_help and/or insufficient"),
            model=(_TEXT, False, "fay_herriot, synthetic or direct"),
            boot=(_INT, False, "bootstrap replicates of the model MSE"),
            level=(_NUM, False, "the confidence level"),
        ),
        unmet_step,
        columns=("council", "age", "sex"),
        default_columns=(("council", "council_code"), ("age", "age"), ("sex", "sex")),
        more_columns=need_items,
    ),
    Step(
        "self_funders",
        "Self-funders",
        _schema(
            homes=(_TEXT, False, "the input with the survey of care homes"),
            directory=(_TEXT, False, "the input with the care directory (beds by home)"),
            min_homes=(_INT, False, "councils with fewer responding homes get the model estimate"),
            boot=(_INT, False, "bootstrap replicates over homes (0: none)"),
            users=(_TEXT, False, "the input with home-care users by council (estimate and SE)"),
            funded=(_TEXT, False, "cld (the CLD signals) or an input with council-funded home care"),
            level=(_NUM, False, "the confidence level"),
        ),
        self_funders_step,
        input_keys=("homes", "directory", "users"),
        requires=(("homes", ("directory",)), ("directory", ("homes",))),
    ),
    Step(
        "workforce",
        "The care workforce",
        _schema(
            returns=(_TEXT, False, "the input with providers' returns (filled posts, vacancies)"),
            register=(_TEXT, False, "the input with the register of locations"),
            cells=((list,), False, "the weighting cells (columns)"),
            pa_recipients=(_NUM, False, "direct-payment recipients"),
            pa_recipients_se=(_NUM, False, "their SE (0: known)"),
            pa_share=(_NUM, False, "the share of recipients employing staff"),
            pa_share_se=(_NUM, False, "its SE"),
            pa_per_employer=(_NUM, False, "personal assistants per employing recipient"),
            pa_per_employer_se=(_NUM, False, "its SE"),
            pa_method=(_TEXT, False, "delta, exact or bootstrap"),
            level=(_NUM, False, "the confidence level"),
        ),
        workforce_step,
        input_keys=("returns", "register"),
        requires=(
            ("returns", ("register",)),
            ("register", ("returns",)),
            ("pa_recipients", ("pa_share", "pa_per_employer")),
        ),
    ),
    Step(
        "projection",
        "Projected unmet need",
        _schema(
            variant=(_TEXT, False, "no_help or insufficient"),
            to=(_INT, False, "the last year (up to 2043)"),
            method=(_TEXT, False, "delta or bootstrap"),
            level=(_NUM, False, "the confidence level"),
        ),
        projection_step,
    ),
)


def check_references(config: Any) -> None:
    """Keys that name inputs name ones that exist, and keys that go together are together — checked
    before any work, each error with its line (:func:`carepop.pipeline.config.config_error`)."""
    from carepop.pipeline.config import config_error, nearest

    steps = {s.name: s for s in STEPS}
    for name, spec in config.measures.items():
        step, table = steps[name], f"measures.{name}"
        special = {"known": ("gp", "cld"), "funded": ("cld",)}
        for key in (*step.input_keys, *[k for k in special if k in spec]):
            value = spec.get(key)
            if value is None or value in special.get(key, ()) or value in config.inputs:
                continue
            raise config_error(
                config.path,
                config.text,
                table,
                key,
                f"no input named {value!r}{nearest(str(value), config.inputs)}.",
                "name an [inputs.NAME] table"
                + (f" (or {' / '.join(special[key])})" if key in special else ""),
                code="unknown_input",
            )
        for key, needed in step.requires:
            missing = [k for k in needed if key in spec and k not in spec]
            if missing:
                raise config_error(
                    config.path,
                    config.text,
                    table,
                    key,
                    f"{key} needs {', '.join(missing)} beside it.",
                    f"add {missing[0]} = ... to [{table}]",
                    code="missing_key",
                )


def _allowed() -> dict[tuple[str, str], tuple[object, ...] | tuple[float, float]]:
    """The values a key may take: a tuple of choices, or a (lowest, highest) range of numbers."""
    from carepop.measures.unmet_need import DEFINITIONS, MODELS, VARIANTS

    return {
        ("carers", "benchmark"): ("region", "england", "none"),
        ("carers", "boot"): (1, 100_000),
        ("unmet_need", "boot"): (1, 100_000),
        ("self_funders", "boot"): (0, 100_000),
        ("self_funders", "min_homes"): (2, 100_000),
        ("unmet_need", "definition"): tuple(DEFINITIONS),
        ("unmet_need", "model"): tuple(MODELS),
        ("projection", "variant"): tuple(VARIANTS),
        ("projection", "to"): (2022, 2043),
        ("projection", "method"): ("delta", "bootstrap"),
        ("workforce", "pa_method"): ("delta", "exact", "bootstrap"),
        ("cld_signals", "engine"): ("duckdb", "spark"),
        ("cld_signals", "release"): ("r1", "r2"),
        **{
            (m, "level"): (0.5, 0.999)
            for m in ("carers", "unmet_need", "self_funders", "workforce", "projection")
        },
    }


def check_values(config: Any) -> None:
    """Keys whose values have a fixed set of choices or a range, and the disclosure rules, checked
    before any work with the line of the key (a typo'd definition is not found after minutes)."""
    from carepop.errors import CarepopError
    from carepop.pipeline.config import config_error, nearest
    from carepop.pipeline.publish import disclosure_rules

    for (name, key), allowed in _allowed().items():
        spec = config.measures.get(name, {})
        if key not in spec:
            continue
        value = spec[key]
        values = value if isinstance(value, list) else [value]
        numeric = len(allowed) == 2 and all(isinstance(a, int | float) for a in allowed)
        for v in values:
            if numeric:
                ok = isinstance(v, int | float) and allowed[0] <= v <= allowed[1]
                expected = f"a number from {allowed[0]} to {allowed[1]}"
            else:
                ok = v in allowed
                expected = "one of " + ", ".join(map(str, allowed))
            if not ok:
                raise config_error(
                    config.path,
                    config.text,
                    f"measures.{name}",
                    key,
                    f"{key} = {v!r} is not allowed{'' if numeric else nearest(str(v), map(str, allowed))}.",
                    f"give {expected}",
                    code="bad_value",
                )
    variants = config.measures.get("unmet_need", {}).get("variants")
    if variants is not None:
        from carepop.measures.unmet_need import VARIANTS

        bad = [v for v in variants if v not in VARIANTS]
        if bad:
            raise config_error(
                config.path,
                config.text,
                "measures.unmet_need",
                "variants",
                f"{bad[0]!r} is not a variant{nearest(str(bad[0]), VARIANTS)}.",
                "give some of " + ", ".join(VARIANTS),
                code="bad_value",
            )
    try:
        disclosure_rules(config.disclosure)
    except CarepopError as err:
        raise config_error(
            config.path,
            config.text,
            "disclosure",
            next((k for k in config.disclosure if str(err).startswith(k)), None),
            str(err).split("\n")[0],
            "see [disclosure] in the starter config (carepop run --init)",
            code="bad_value",
        ) from None


def measure_schemas() -> dict[str, Schema]:
    return {s.name: s.schema for s in STEPS}

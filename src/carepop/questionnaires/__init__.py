"""Survey instruments (YAML) harmonised with Census 2021: schema, validation, derived variables, exports.

>>> from carepop.questionnaires import load_instrument, validate, derive, to_survey
>>> ins = load_instrument("unpaid_carers")          # or a path to your own YAML file
>>> report = validate(responses, ins)                # one row per problem; empty when clean
>>> data = derive(responses, ins)                    # + hours_band, carer, carer_known, ...
>>> survey = to_survey(responses, ins, weight="design_weight", strata="la_code")

Exports: :func:`write_xlsform` (ODK / KoboToolbox), :func:`write_sav` / :func:`write_dta`
(templates with labels), :func:`codebook` (Markdown or HTML).

The names are imported on first use (:mod:`carepop._lazy`); ``validate``, ``derive`` and
``codebook`` share their names with their modules, and the package attribute is the function
however the module came to be imported, as with eager imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carepop._lazy import lazy_exports

if TYPE_CHECKING:
    from carepop.questionnaires.codebook import codebook
    from carepop.questionnaires.derive import derive, to_survey
    from carepop.questionnaires.export_stats import stats_template, write_dta, write_sav
    from carepop.questionnaires.export_xlsform import to_xlsform, write_xlsform
    from carepop.questionnaires.load import list_instruments, load_instrument
    from carepop.questionnaires.schema import Choice, Derived, Instrument, Item, Rule, Section
    from carepop.questionnaires.simulate import simulate_responses
    from carepop.questionnaires.validate import ERROR_KINDS, summarise, validate

__all__ = [
    "ERROR_KINDS",
    "Choice",
    "Derived",
    "Instrument",
    "Item",
    "Rule",
    "Section",
    "codebook",
    "derive",
    "list_instruments",
    "load_instrument",
    "simulate_responses",
    "stats_template",
    "summarise",
    "to_survey",
    "to_xlsform",
    "validate",
    "write_dta",
    "write_sav",
    "write_xlsform",
]

_HOMES = {
    "codebook": "carepop.questionnaires.codebook",
    "derive": "carepop.questionnaires.derive",
    "to_survey": "carepop.questionnaires.derive",
    "stats_template": "carepop.questionnaires.export_stats",
    "write_dta": "carepop.questionnaires.export_stats",
    "write_sav": "carepop.questionnaires.export_stats",
    "to_xlsform": "carepop.questionnaires.export_xlsform",
    "write_xlsform": "carepop.questionnaires.export_xlsform",
    "list_instruments": "carepop.questionnaires.load",
    "load_instrument": "carepop.questionnaires.load",
    "Choice": "carepop.questionnaires.schema",
    "Derived": "carepop.questionnaires.schema",
    "Instrument": "carepop.questionnaires.schema",
    "Item": "carepop.questionnaires.schema",
    "Rule": "carepop.questionnaires.schema",
    "Section": "carepop.questionnaires.schema",
    "simulate_responses": "carepop.questionnaires.simulate",
    "ERROR_KINDS": "carepop.questionnaires.validate",
    "summarise": "carepop.questionnaires.validate",
    "validate": "carepop.questionnaires.validate",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

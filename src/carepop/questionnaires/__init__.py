"""Survey instruments (YAML) harmonised with Census 2021: schema, validation, derived variables, exports.

>>> from carepop.questionnaires import load_instrument, validate, derive, to_survey
>>> ins = load_instrument("unpaid_carers")          # or a path to your own YAML file
>>> report = validate(responses, ins)                # one row per problem; empty when clean
>>> data = derive(responses, ins)                    # + hours_band, carer, carer_known, ...
>>> survey = to_survey(responses, ins, weight="design_weight", strata="la_code")

Exports: :func:`write_xlsform` (ODK / KoboToolbox), :func:`write_sav` / :func:`write_dta`
(templates with labels), :func:`codebook` (Markdown or HTML).
"""

# the functions validate, derive and codebook share their names with their modules: importing
# them here, once, binds the package attributes to the functions
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

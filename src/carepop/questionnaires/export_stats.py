"""SPSS ``.sav`` and Stata ``.dta`` templates: every variable of the instrument, typed, with
variable labels and value labels, and no rows — ready to be filled or to define a data entry.

Column layout (the same as :func:`~.derive.derive` produces): one numeric column per single-choice,
integer and decimal item; a string column per text item; a date column per date item; one 0/1
column per option of a multiple-choice item (``<item>_<code>``, labelled "item: option"); then
the derived variables. Responses in this layout validate as they are (indicator columns are
recognised). In SPSS, "missing" codes (don't know, prefer not to say) are declared user-missing
and variables are marked nominal, ordinal or scale. Stata variable labels are cut to 80
characters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd
import pyreadstat

from carepop.questionnaires.derive import labels_of
from carepop.questionnaires.load import load_instrument
from carepop.questionnaires.schema import Instrument

__all__ = ["StatsTemplate", "stats_template", "write_dta", "write_sav"]


@dataclass
class StatsTemplate:
    """An empty frame with the instrument's columns and its labels."""

    frame: pd.DataFrame
    column_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)
    missing_codes: dict[str, list[int]] = field(default_factory=dict)
    measure: dict[str, str] = field(default_factory=dict)


def stats_template(instrument: Instrument | str, *, include_derived: bool = True) -> StatsTemplate:
    """The template's columns (0 rows), labels, user-missing codes and measurement levels."""
    ins = load_instrument(instrument)
    value_labels, column_labels = labels_of(ins)
    columns: dict[str, pd.Series] = {}
    missing: dict[str, list[int]] = {}
    measure: dict[str, str] = {}
    for item in ins.data_items:
        if item.type == "select_multiple":
            for col in ins.multi_columns(item):
                columns[col] = pd.Series([], dtype=float)
                measure[col] = "nominal"
            continue
        if item.type == "text":
            columns[item.name] = pd.Series([], dtype=object)
            measure[item.name] = "nominal"
        elif item.type == "date":
            columns[item.name] = pd.Series([], dtype="datetime64[ns]")
            measure[item.name] = "scale"
        else:
            columns[item.name] = pd.Series([], dtype=float)
            if item.type == "select_one":
                measure[item.name] = "ordinal" if ins.is_ordered(item) else "nominal"
                codes = [c.code for c in ins.choices_of(item) if c.missing]
                if codes:
                    missing[item.name] = codes
            else:
                measure[item.name] = "scale"
    if include_derived:
        for d in ins.derived:
            columns[d.name] = pd.Series([], dtype=float)
            measure[d.name] = (
                ("ordinal" if ins.is_ordered(d) else "nominal") if d.type == "select_one" else "scale"
            )
    else:
        for d in ins.derived:
            value_labels.pop(d.name, None)
            column_labels.pop(d.name, None)
    frame = pd.DataFrame(columns)
    return StatsTemplate(
        frame=frame,
        column_labels={k: v for k, v in column_labels.items() if k in frame.columns},
        value_labels={k: v for k, v in value_labels.items() if k in frame.columns},
        missing_codes=missing,
        measure=measure,
    )


def write_sav(instrument: Instrument | str, path: str | os.PathLike[str], **kwargs) -> None:
    """Write the SPSS template to ``path`` (use the CLI for an atomic write)."""
    t = stats_template(instrument, **kwargs)
    ins = load_instrument(instrument)
    pyreadstat.write_sav(
        t.frame,
        os.fspath(path),
        file_label=f"{ins.title} v{ins.version}"[:64],
        column_labels=t.column_labels,
        variable_value_labels=t.value_labels,
        missing_ranges={k: list(v) for k, v in t.missing_codes.items()},
        variable_measure=t.measure,
    )


def write_dta(instrument: Instrument | str, path: str | os.PathLike[str], **kwargs) -> None:
    """Write the Stata template to ``path`` (use the CLI for an atomic write)."""
    t = stats_template(instrument, **kwargs)
    ins = load_instrument(instrument)
    pyreadstat.write_dta(
        t.frame,
        os.fspath(path),
        file_label=f"{ins.title} v{ins.version}"[:80],
        column_labels={k: v[:80] for k, v in t.column_labels.items()},
        variable_value_labels=t.value_labels,
    )

"""Exports: XLSForm that pyxform converts (and ODK Validate accepts, when Java is present),
SPSS and Stata templates that read back with their labels, and codebooks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pyreadstat
import pytest
from pyxform.xls2xform import convert

from carepop.questionnaires import (
    codebook,
    list_instruments,
    load_instrument,
    to_xlsform,
    write_dta,
    write_sav,
    write_xlsform,
)
from carepop.sources.census import HOURS_LABELS


@pytest.mark.parametrize("name", ["unpaid_carers", "workforce", "self_funders"])
def test_xlsform_converts_with_pyxform(tmp_path, name):
    path = tmp_path / f"{name}.xlsx"
    write_xlsform(name, path)
    warnings: list[str] = []
    result = convert(str(path), warnings=warnings)
    assert warnings == []
    root = ET.fromstring(result.xform)
    binds = {b.get("nodeset").rsplit("/", 1)[-1]: b for b in root.iter("{http://www.w3.org/2002/xforms}bind")}
    ins = load_instrument(name)
    assert {i.name for i in ins.items} | {d.name for d in ins.derived} <= set(binds)
    for d in ins.derived:
        assert binds[d.name].get("calculate", "").startswith("if(")


def test_xlsforms_pass_odk_validate(tmp_path):
    # ODK Validate runs on Java, which carepop needs anyway (Spark) and .ci/run installs
    for name in list_instruments():
        path = tmp_path / f"{name}.xlsx"
        write_xlsform(name, path)
        convert(str(path), validate=True)  # raises when ODK Validate rejects the form


def test_xlsform_rows_carry_the_same_rules():
    sheets = to_xlsform("unpaid_carers")
    survey = sheets["survey"].set_index("name")
    assert survey.loc["care_hours_band", "type"] == "select_one care_hours"
    assert survey.loc["care_tasks", "type"] == "select_multiple care_tasks"
    assert survey.loc["age", "constraint"] == ". >= 11 and . <= 110"
    assert survey.loc["yc_guardian", "relevant"] == "${age} < 16"
    assert survey.loc["hidden_hours", "relevant"] == (
        "(${consent_adult} = 1 or ${yc_assent} = 1) and ${care_hours_band} = 0 and "
        "string-length(${care_tasks}) > 0 and not(selected(${care_tasks}, '0'))"
    )
    assert survey.loc["care_tasks", "constraint"] == "not(selected(., '0') and count-selected(.) > 1)"
    assert survey.loc["la_code", "constraint"] == "regex(., '^(E0[6-9][0-9]{6})$')"
    assert survey.loc["la_code", "read_only"] == "yes" and survey.loc["la_code", "required"] == ""
    assert survey.loc["carer", "calculation"] == (
        "if(${care_hours_band} >= 1, 1, if(${care_hours_band} = 0, 0, ''))"
    )
    choices = sheets["choices"]
    hours = choices[choices["list_name"] == "care_hours"]
    assert list(hours["name"]) == ["0", "1", "2", "3", "4", "5"]
    wf = to_xlsform("workforce")["survey"].set_index("name")
    assert wf.loc["hours_week", "constraint"] == (
        "(. >= 0 and . <= 168) and (. > 0) and (. <= 80 or ${live_in} = 1)"
    )
    assert wf.loc["pay_amount", "constraint"].endswith(
        "(${pay_period} != 1 and string-length(${pay_period}) > 0) or . <= 100)"
        " and ((${pay_period} != 1 and string-length(${pay_period}) > 0) or . >= 4)"
    )


def test_spss_template_reads_back_with_labels(tmp_path):
    path = tmp_path / "carers.sav"
    write_sav("unpaid_carers", path)
    df, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert len(df) == 0
    labels = meta.variable_value_labels
    assert labels["hours_band"] == {float(k): v for k, v in HOURS_LABELS.items()}
    assert labels["care_hours_band"][5.0] == "Yes, 50 or more hours a week"
    assert labels["care_tasks_0"] == {0.0: "Not chosen", 1.0: "Chosen"}
    names = meta.column_names_to_labels
    assert names["hours_band"] == "Unpaid care, hours a week (Census 2021 TS039 bands)"
    assert names["care_tasks_1"].startswith("Caring tasks in the last 4 weeks: Helped them wash")
    assert meta.missing_ranges["cf_age"] == [{"lo": -8.0, "hi": -8.0}]
    assert meta.variable_measure["care_hours_band"] == "ordinal"
    assert meta.variable_measure["cf_relationship"] == "nominal"
    assert meta.variable_measure["work_hours"] == "scale"
    assert meta.readstat_variable_types["la_code"] == "string"
    assert "care_tasks" not in df.columns and "care_tasks_8" in df.columns


@pytest.mark.parametrize("name", ["unpaid_carers", "workforce", "self_funders"])
def test_stata_template_reads_back_with_labels(tmp_path, name):
    path = tmp_path / f"{name}.dta"
    write_dta(name, path)
    df, meta = pyreadstat.read_dta(str(path))
    ins = load_instrument(name)
    for item in ins.data_items:
        if item.type == "select_one":
            assert meta.variable_value_labels[item.name] == ins.value_labels(item)
            assert meta.column_names_to_labels[item.name] == item.short_label[:80]
    for d in ins.derived:
        assert d.name in df.columns


def test_codebooks(tmp_path):
    md = codebook("self_funders")
    assert md.startswith("# People who need care, and self-funders — codebook")
    assert "| adl_dress_help | Does anyone help them get dressed? | select_one |" in md
    assert "adl_dress >= 1" in md
    assert "unmet_adl_insufficient" in md and "otherwise missing" in md
    assert "4 → CLD Service_Type: Long term support: Residential care" in md
    page = codebook("unpaid_carers", "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "Don&#x27;t know (missing)" in page  # text is escaped

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[str] = []
            self.tables = 0

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br"):
                self.stack.append(tag)
            self.tables += tag == "table"

        def handle_endtag(self, tag):
            assert self.stack.pop() == tag

    parser = Tags()
    parser.feed(page)
    assert parser.stack == [] and parser.tables >= 8


@pytest.mark.parametrize("name", ["unpaid_carers", "workforce", "self_funders"])
def test_templates_give_text_items_room(tmp_path, name):
    """Text columns are as wide as their pattern allows (la_code: 9), else 255 (SPSS) / 244
    (Stata) — not one character — and the templates still have no rows."""
    sav, dta = tmp_path / f"{name}.sav", tmp_path / f"{name}.dta"
    write_sav(name, sav)
    write_dta(name, dta)
    df, meta = pyreadstat.read_sav(str(sav), user_missing=True)
    assert len(df) == 0
    assert meta.readstat_variable_types["la_code"] == "string"
    assert meta.original_variable_types["la_code"] == "A9"
    assert meta.original_variable_types["resp_id"] == "A255"
    assert meta.variable_storage_width["resp_id"] == 255
    assert meta.column_names_to_labels["resp_id"] == "Respondent identifier"
    df, meta = pyreadstat.read_dta(str(dta))
    assert len(df) == 0
    assert meta.readstat_variable_types["la_code"] == "string"
    assert meta.original_variable_types["la_code"] == "%-9s"
    assert meta.original_variable_types["resp_id"] == "%-244s"
    assert meta.variable_storage_width["resp_id"] >= 244
    ins = load_instrument(name)
    for item in ins.data_items:
        if item.type == "select_one":
            assert meta.variable_value_labels[item.name] == ins.value_labels(item)

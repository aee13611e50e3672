"""Instruments load, are checked on load, and keep the census and CLD answer categories."""

from __future__ import annotations

import copy

import pytest
import yaml

from carepop import CarepopError
from carepop.questionnaires import list_instruments, load_instrument
from carepop.questionnaires import routing as rt
from carepop.sources.census import HOURS_LABELS

MINIMAL = {
    "name": "mini",
    "title": "Mini",
    "version": 1,
    "choice_lists": {"yes_no": {"choices": [{"code": 1, "label": "Yes"}, {"code": 0, "label": "No"}]}},
    "conditions": {"adult": "age >= 18"},
    "sections": [
        {
            "name": "s1",
            "label": "Section",
            "items": [
                {"name": "age", "type": "integer", "label": "Age?", "range": {"min": 0, "max": 120}},
                {"name": "cares", "type": "select_one", "label": "Care?", "choices": "yes_no"},
                {"name": "hours", "type": "decimal", "label": "Hours?", "relevant": "cares = 1 and adult"},
            ],
        }
    ],
    "derived": [
        {
            "name": "carer",
            "type": "select_one",
            "label": "Carer",
            "choices": "yes_no",
            "cases": [{"when": "cares = 1", "value": 1}, {"when": "cares = 0", "value": 0}],
        }
    ],
}


def write(tmp_path, data, name="mini.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def bad(tmp_path, mutate) -> CarepopError:
    data = copy.deepcopy(MINIMAL)
    mutate(data)
    with pytest.raises(CarepopError) as info:
        load_instrument(write(tmp_path, data))
    assert info.value.code == "bad_questionnaire"
    return info.value


def test_three_bundled_instruments_load():
    assert list_instruments() == ["self_funders", "unpaid_carers", "workforce"]
    for name in list_instruments():
        ins = load_instrument(name)
        assert ins.name == name
        assert len(ins.data_items) > 20 and ins.derived
        names = [i.name for i in ins.items] + [d.name for d in ins.derived]
        assert len(names) == len(set(names))
        assert all(len(n) <= 32 for n in names)


def test_a_file_loads_and_expressions_are_compiled(tmp_path):
    ins = load_instrument(write(tmp_path, MINIMAL))
    assert ins.version == "1"
    assert rt.to_text(ins.relevance("hours")) == "cares = 1 and age >= 18"
    assert ins.relevance_text("hours") == "cares = 1 and adult"
    assert ins.value_labels(ins.get("carer")) == {1: "Yes", 0: "No"}


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d["sections"][0]["items"][2].update(relevant="later = 1"), "unknown name 'later'"),
        (lambda d: d["sections"][0]["items"][1].update(relevant="hours > 3"), "not asked before"),
        (lambda d: d["sections"][0]["items"][2].update(relevant="cares = 2"), "not a code of 'cares'"),
        (lambda d: d["sections"][0]["items"][2].update(relevant="cares + 1"), "must be a condition"),
        (lambda d: d["sections"][0]["items"][2].update(relevant="cares = 1 and"), "Cannot read"),
        (lambda d: d["sections"][0]["items"][1].update(choices="nope"), "choice list 'nope'"),
        (lambda d: d["sections"][0]["items"][0].update(name="x" * 33), "longer than 32"),
        (lambda d: d["sections"][0]["items"][0].update(name="to"), "reserved"),
        (lambda d: d["sections"][0]["items"][0].update(name="cares"), "already used"),
        (lambda d: d["sections"][0]["items"][0].update(type="number"), "type"),
        (lambda d: d["sections"][0]["items"][0].update(colour="red"), "colour"),
        (lambda d: d["sections"][0]["items"][1].update(range={"min": 0}), "only integer and decimal"),
        (lambda d: d["sections"][0]["items"][0].update(range={"min": 5, "max": 1}), "above max"),
        (
            lambda d: d["choice_lists"]["yes_no"]["choices"].append({"code": 1, "label": "Again"}),
            "repeats code",
        ),
        (lambda d: d["derived"][0]["cases"][0].update(value=7), "not one of its codes"),
        (
            lambda d: d["sections"][0]["items"].append(
                {
                    "name": "m",
                    "type": "select_multiple",
                    "label": "M",
                    "choices": [{"code": -1, "label": "x"}],
                }
            ),
            ">= 0",
        ),
        (
            lambda d: d["sections"][0]["items"].append(
                {
                    "name": "t",
                    "type": "select_multiple",
                    "label": "T",
                    "choices": "yes_no",
                    "relevant": "t = 1",
                }
            ),
            "not asked before",
        ),
    ],
)
def test_load_rejects_bad_instruments_with_a_clear_message(tmp_path, mutate, words):
    err = bad(tmp_path, mutate)
    assert words in err.message


def test_unreadable_and_unknown(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nsections: [\n  - a: 1\n", encoding="utf-8")
    with pytest.raises(CarepopError) as info:
        load_instrument(broken)
    assert info.value.code == "bad_questionnaire" and "line" in info.value.message
    with pytest.raises(CarepopError) as info:
        load_instrument("no_such_survey")
    assert info.value.code == "unknown_questionnaire" and "unpaid_carers" in info.value.fix
    with pytest.raises(CarepopError) as info:
        load_instrument(tmp_path / "missing.yaml")
    assert info.value.code == "file_not_found"


def test_unpaid_carers_keeps_census_hours_bands():
    ins = load_instrument("unpaid_carers")
    asked = ins.get("care_hours_band")
    assert [c.code for c in ins.choices_of(asked)] == list(HOURS_LABELS)
    # the derived, census-compatible band carries exactly carepop's census labels
    assert ins.value_labels(ins.get("hours_band")) == HOURS_LABELS
    ts039 = [c.maps_to["Census 2021 TS039"] for c in ins.choices_of(asked)]
    assert ts039[0] == "Provides no unpaid care" and ts039[-1].startswith("Provides 50 or more")


def test_unpaid_carers_young_carers_consent_route():
    ins = load_instrument("unpaid_carers")
    assert ins.get("age").range.min == 11
    assert ins.relevance_text("yc_guardian") == "age < 16"
    assert ins.relevance_text("yc_assent") == "age < 18 and (age >= 16 or yc_guardian = 1)"
    # every young-carer item needs consent, age under 18 and caring
    for item in ins.sections[[s.name for s in ins.sections].index("young_carers")].items:
        refs = rt.references(ins.relevance(item.name))
        assert {"consent_adult", "yc_assent", "age", "care_hours_band", "care_tasks"} <= refs
    # activity items find people who do not call themselves carers
    tasks = ins.get("care_tasks")
    assert tasks.type == "select_multiple" and any(c.exclusive for c in ins.choices_of(tasks))


def test_cld_and_census_alignment_of_other_instruments():
    sf = load_instrument("self_funders")
    setting = {c.code: c.maps_to.get("CLD Service_Type") for c in sf.choices_of(sf.get("care_setting"))}
    assert setting[4] == "Long term support: Residential care"
    assert setting[5] == "Long term support: Nursing care"
    reasons = " ".join(c.label for c in sf.choices_of(sf.get("sf_reasons")))
    assert "£23,250" in reasons and "12 weeks" in reasons
    wf = load_instrument("workforce")
    assert sf.value_labels(sf.get("funding_status"))[1] == "Fully self-funded"
    assert wf.value_labels(wf.get("role_group")) == {
        1: "Direct care",
        2: "Managerial",
        3: "Regulated profession",
        4: "Other",
    }
    uc = load_instrument("unpaid_carers")
    psr = [c.maps_to.get("CLD Primary_Support_Reason") for c in uc.choices_of(uc.get("cf_condition"))]
    assert "Mental health support" in psr and "Support with memory and cognition" in psr


@pytest.mark.parametrize("expr", ["nick < 'm'", "nick >= 'a'", "'m' > nick", "nick <= other"])
def test_text_cannot_be_ordered(tmp_path, expr):
    """pandas orders text alphabetically but XPath 1.0 compares numbers ('abe' < 'm' is false),
    so ordering text is refused on load; = and != stay allowed."""
    data = copy.deepcopy(MINIMAL)
    data["sections"][0]["items"][:0] = [
        {"name": "nick", "type": "text", "label": "Nickname?"},
        {"name": "other", "type": "text", "label": "Other name?"},
    ]
    data["sections"][0]["items"][4]["relevant"] = expr  # hours
    with pytest.raises(CarepopError) as info:
        load_instrument(write(tmp_path, data))
    msg = info.value.message
    assert info.value.code == "bad_questionnaire"
    assert "'hours'" in msg and rt.to_text(rt.parse_expression(expr)) in msg and "text" in msg
    data["sections"][0]["items"][4]["relevant"] = "nick != 'm' and nick = other"
    assert load_instrument(write(tmp_path, data, "ok.yaml")).get("hours").relevant

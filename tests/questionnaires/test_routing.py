"""The routing expression language: parsing, vectorised evaluation with missing values, and the
XPath it becomes in an XLSForm — one rule, two readers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError
from carepop.questionnaires import routing as rt


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "q": [1.0, 2.0, np.nan, 0.0],
            "age": [17.0, 45.0, 80.0, np.nan],
            "tasks": ["1 3", "11", None, "0"],
            "name": ["a", "b", None, "a"],
            "hours": [10.0, 0.0, 5.0, np.nan],
            "pay": [100.0, 50.0, np.nan, 20.0],
        }
    )


def ev(text: str, frame: pd.DataFrame) -> list:
    return rt.evaluate(rt.parse_expression(text), frame).tolist()


def test_precedence_and_structure():
    node = rt.parse_expression("q = 1 or age >= 18 and not q = 2")
    assert isinstance(node, rt.BoolOp) and node.op == "or"
    right = node.operands[1]
    assert isinstance(right, rt.BoolOp) and right.op == "and"
    assert isinstance(right.operands[1], rt.Not)
    arith = rt.parse_expression("pay / hours * 2 - 1")
    assert rt.to_text(arith) == "pay / hours * 2 - 1"
    assert rt.parse_expression("q == 1") == rt.parse_expression("q = 1")
    assert rt.references(rt.parse_expression("selected(tasks, 3) and age > q")) == {"tasks", "age", "q"}


def test_comparisons_with_missing_are_false(frame):
    assert ev("q = 1", frame) == [True, False, False, False]
    # != is false when q is missing (unlike plain XPath, where '' != 1 is true)
    assert ev("q != 1", frame) == [False, True, False, True]
    assert ev("not q = 1", frame) == [False, True, True, True]
    assert ev("age >= 18", frame) == [False, True, True, False]
    assert ev("q in (1, 2)", frame) == [True, True, False, False]
    assert ev("q not in (1, 2)", frame) == [False, False, False, True]
    assert ev("name = 'a'", frame) == [True, False, False, True]
    assert ev("name != 'a'", frame) == [False, True, False, False]


def test_boolean_operators(frame):
    assert ev("q = 1 or age > 70", frame) == [True, False, True, False]
    assert ev("q = 2 and age > 18", frame) == [False, True, False, False]
    assert ev("true and not false", frame) == [True, True, True, True]


def test_selected_matches_whole_codes(frame):
    assert ev("selected(tasks, 1)", frame) == [True, False, False, False]  # "11" is not 1
    assert ev("selected(tasks, 11)", frame) == [False, True, False, False]
    assert ev("selected(tasks, '3')", frame) == [True, False, False, False]
    assert ev("count_selected(tasks)", frame) == [2.0, 1.0, 0.0, 1.0]
    assert ev("answered(tasks)", frame) == [True, True, False, True]
    assert ev("answered(q)", frame) == [True, True, False, True]
    assert ev("selected(q, 2)", frame) == [False, True, False, False]  # single choice: equality


def test_arithmetic_propagates_missing_and_guards_division(frame):
    got = rt.evaluate(rt.parse_expression("pay / hours"), frame)
    np.testing.assert_array_equal(np.isnan(got), [False, True, True, True])
    assert got[0] == 10.0
    assert ev("-q + 1", frame)[:2] == [0.0, -1.0]
    assert ev("pay * 12 / 52 > 10", frame) == [True, True, False, False]  # 23.1, 11.5, -, 4.6


def test_xpath_translation():
    x = lambda s, self=None: rt.to_xpath(rt.parse_expression(s), self)  # noqa: E731
    assert x("q = 1") == "${q} = 1"
    assert x("selected(tasks, 3)") == "selected(${tasks}, '3')"
    assert x("count_selected(tasks) > 1") == "count-selected(${tasks}) > 1"
    assert x("answered(q)") == "string-length(${q}) > 0"
    assert x("q != 1") == "${q} != 1 and string-length(${q}) > 0"
    assert x("q in (1, 2)") == "${q} = 1 or ${q} = 2"
    assert x("q not in (1, 2)") == "string-length(${q}) > 0 and not(${q} = 1 or ${q} = 2)"
    assert x("not (q = 1 or age < 18)") == "not((${q} = 1 or ${age} < 18))"
    assert x("pay / hours >= 12.6") == "if(${hours} = 0, '', ${pay} div ${hours}) >= 12.6"
    assert x("hours <= 80 or q = 1", "hours") == ". <= 80 or ${q} = 1"
    assert x("name = 'a'") == "${name} = 'a'"


def test_substitute_inlines_named_conditions():
    cond = {"adult": rt.parse_expression("age >= 18")}
    node = rt.substitute(rt.parse_expression("adult and q = 1"), cond)
    assert rt.to_text(node) == "age >= 18 and q = 1"


@pytest.mark.parametrize(
    "text",
    [
        "q = ",
        "q === 1",
        "q = 1 and",
        "(q = 1",
        "foo(q)",
        "__import__('os')",
        "selected(3, q)",
        "q = 1; drop",
        "answered(q, 2)",
        "",
    ],
)
def test_bad_expressions_are_clear_errors(text):
    with pytest.raises(CarepopError) as info:
        rt.parse_expression(text)
    assert info.value.code == "bad_expression"


def test_a_missing_column_is_named(frame):
    with pytest.raises(CarepopError) as info:
        rt.evaluate(rt.parse_expression("nope = 1"), frame)
    assert info.value.column == "nope"


def test_count_selected_of_an_unanswered_item_is_0_in_both_readers():
    """ODK counts an unanswered select_multiple as 0 (count-selected('') = 0), so `!=` and
    `not in` on a count are decided without an answer — and pandas agrees with the XPath."""
    frame = pd.DataFrame({"tasks": [None, "1 3", "2"], "q": [1.0, np.nan, 2.0]})
    x = lambda s: rt.to_xpath(rt.parse_expression(s))  # noqa: E731
    assert ev("count_selected(tasks) != 2", frame) == [True, False, True]
    assert x("count_selected(tasks) != 2") == "count-selected(${tasks}) != 2"
    assert ev("count_selected(tasks) not in (1, 2)", frame) == [True, False, False]
    assert x("count_selected(tasks) not in (1, 2)") == (
        "not(count-selected(${tasks}) = 1 or count-selected(${tasks}) = 2)"
    )
    # an item value in the same comparison is still guarded: missing q makes it false
    assert ev("count_selected(tasks) + q != 2", frame) == [True, False, True]
    assert x("count_selected(tasks) + q != 2") == (
        "(count-selected(${tasks}) + ${q}) != 2 and string-length(${q}) > 0"
    )


def test_division_by_zero_has_no_value_in_both_readers():
    frame = pd.DataFrame({"pay": [100.0, 100.0, np.nan], "hours": [0.0, 10.0, 5.0]})
    x = lambda s: rt.to_xpath(rt.parse_expression(s))  # noqa: E731
    assert ev("pay / hours > 1", frame) == [False, True, False]
    assert ev("pay / hours != 1", frame) == [False, True, False]
    # XPath: x div 0 is Infinity (Infinity > 1 is true), so the division gives no value at 0
    assert x("pay / hours > 1") == "if(${hours} = 0, '', ${pay} div ${hours}) > 1"
    assert x("pay / hours != 1") == (
        "if(${hours} = 0, '', ${pay} div ${hours}) != 1 and string-length(${hours}) > 0 "
        "and string-length(${pay}) > 0 and ${hours} != 0"
    )

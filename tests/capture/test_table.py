import numpy as np
import pandas as pd
import pytest

from carepop.capture.table import all_patterns, capture_table, from_counts
from carepop.errors import ModelError


def _frame(rows, cols=("A", "B", "C")):
    return pd.DataFrame(rows, columns=[*cols, "n"])


def test_missing_patterns_are_zero_cells_in_rcapture_order():
    t = capture_table(_frame([[1, 0, 0, 5], [0, 1, 1, 2], [1, 1, 1, 1]]), ["A", "B", "C"], "n")
    assert t.patterns.tolist() == all_patterns(3).tolist()
    assert t.patterns[0].tolist() == [1, 1, 1] and t.patterns[-1].tolist() == [0, 0, 1]
    assert t.counts.tolist() == [1, 0, 0, 5, 2, 0, 0]
    assert t.observed == 8 and t.on_list().tolist() == [6, 3, 3]


def test_person_level_rows_are_counted():
    frame = pd.DataFrame({"A": [1, 1, 0, 1], "B": [0, 0, 1, 1]})
    t = capture_table(frame, ["A", "B"])
    assert t.counts.tolist() == [1, 2, 1]  # 11, 10, 01


def test_from_counts_dict():
    t = from_counts({"11": 3, "01": 4}, ["A", "B"])
    assert t.counts.tolist() == [3, 0, 4]


def _code(excinfo):
    return excinfo.value.code


def test_list_column_not_binary_names_rows():
    with pytest.raises(ModelError) as e:
        capture_table(_frame([[1, 0, 0, 5], [2, 1, 0, 1]]), ["A", "B", "C"], "n")
    assert _code(e) == "not_binary" and e.value.column == "A" and e.value.rows == [2]


def test_pattern_twice_names_rows():
    with pytest.raises(ModelError) as e:
        capture_table(_frame([[1, 0, 0, 5], [0, 1, 0, 1], [1, 0, 0, 2]]), ["A", "B", "C"], "n")
    assert _code(e) == "duplicate_pattern" and e.value.rows == [1, 3]


def test_negative_count():
    with pytest.raises(ModelError) as e:
        capture_table(_frame([[1, 0, 0, 5], [0, 1, 0, -1]]), ["A", "B", "C"], "n")
    assert _code(e) == "negative_count" and e.value.rows == [2]


def test_all_zero_table():
    with pytest.raises(ModelError) as e:
        capture_table(_frame([[1, 0, 0, 0], [0, 1, 0, 0]]), ["A", "B", "C"], "n")
    assert _code(e) == "empty_table"


def test_all_zero_pattern_with_a_count():
    with pytest.raises(ModelError) as e:
        capture_table(_frame([[1, 0, 0, 5], [0, 0, 0, 7]]), ["A", "B", "C"], "n")
    assert _code(e) == "unobserved_cell_given" and e.value.rows == [2]


def test_all_zero_pattern_with_zero_count_is_accepted():
    t = capture_table(_frame([[1, 0, 0, 5], [0, 0, 0, 0]]), ["A", "B", "C"], "n")
    assert t.observed == 5


def test_fewer_than_two_lists():
    with pytest.raises(ModelError) as e:
        capture_table(_frame([[1, 0, 0, 5]]), ["A"], "n")
    assert _code(e) == "too_few_lists"


def test_unknown_column():
    with pytest.raises(ModelError) as e:
        capture_table(_frame([[1, 0, 0, 5]]), ["A", "D"], "n")
    assert _code(e) == "unknown_column" and e.value.column == "D"


def test_all_patterns_is_binary_countdown():
    pat = all_patterns(4)
    assert len(pat) == 15 and (pat @ [8, 4, 2, 1]).tolist() == list(range(15, 0, -1))
    assert np.all((pat == 0) | (pat == 1))


def test_person_on_no_list_refused():
    frame = pd.DataFrame({"A": [1, 0], "B": [0, 0]})
    with pytest.raises(ModelError) as e:
        capture_table(frame, ["A", "B"])
    assert e.value.code == "unobserved_cell_given" and e.value.rows == [2]


def test_from_counts_bad_key():
    with pytest.raises(ModelError) as e:
        from_counts({"1": 3}, ["A", "B"])
    assert e.value.code == "not_binary"


def test_missing_count_refused():
    with pytest.raises(ModelError) as e:
        capture_table(_frame([[1, 0, 0, 5], [0, 1, 0, None]]), ["A", "B", "C"], "n")
    assert e.value.rows == [2]

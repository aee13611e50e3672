"""Linking person-level lists by a keyed hash (carepop.capture.link): the pattern table against
the truth it was built from, the normalisation rules, the documented HMAC message, the report
(1-based unusable rows, duplicates merged, overlaps) and every refusal."""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from carepop.capture.link import (
    COUNT,
    LINK_HASH,
    LinkWarning,
    link_lists,
    norm_dob,
    norm_name,
    norm_postcode,
    read_key,
)
from carepop.errors import CarepopError

KEY = b"0123456789abcdef0123456789abcdef-test-key"


def people(rows):
    return pd.DataFrame(rows, columns=["name", "dob", "postcode"])


# ------------------------------------------------------------------------------ normalisation
def test_name_rules():
    got = norm_name(pd.Series(["O'Brien-José ", "  MÜLLER, Straße", "ﬁnn", "ＡＢＣ", "Anne_Marie", "!!"]))
    assert got.tolist() == ["obrienjose", "mullerstrasse", "finn", "abc", "annemarie", None]


def test_postcode_rules():
    got = norm_postcode(pd.Series(["sw1a 1aa", " M1  1AE ", "b1\t1aa", "   "]))
    assert got.tolist() == ["SW1A1AA", "M11AE", "B11AA", None]


def test_dob_rules():
    got = norm_dob(pd.Series(["02/01/1950", "2/1/1950", "1950-01-02", "31/02/1950"]), "%d/%m/%Y")
    assert got.tolist() == ["1950-01-02", "1950-01-02", None, None]
    iso = norm_dob(pd.Series(["1950-01-02", "02/01/1950"]), "%Y-%m-%d")
    assert iso.tolist() == ["1950-01-02", None]
    stamps = norm_dob(
        pd.Series(pd.to_datetime(["1950-01-02 13:45", "1960-04-03"], format="ISO8601")), "%d/%m/%Y"
    )
    assert stamps.tolist() == ["1950-01-02", "1960-04-03"]


# ------------------------------------------------------------------------------ the table
def test_three_lists_by_hand():
    a = people(
        [
            ["José Smith", "02/01/1950", "SW1A 1AA"],
            ["Ann Lee", "03/04/1960", "M1 1AE"],
            ["Bea Khan", "07/07/1977", "B1 1AA"],
        ]
    )
    b = people([["JOSE  SMITH", "2/1/1950", "sw1a1aa"], ["Carl Oduya", "05/05/1955", "L1 1AA"]])
    c = people(
        [
            ["ann-lee", "03/04/1960", "m1 1ae"],
            ["Carl Oduya", "05/05/1955", "L1 1AA"],
            ["José Smith", "02/01/1950", "SW1A 1AA"],
            ["Dee Roe", "01/01/2000", "E1 1AA"],
        ]
    )
    res = link_lists(
        {"A": a, "B": b, "C": c}, key=KEY, name="name", dob="dob", postcode="postcode", dob_format="%d/%m/%Y"
    )
    # José: ABC; Ann: AC; Bea: A; Carl: BC; Dee: C
    expected = pd.DataFrame(
        [[0, 0, 1, 1], [0, 1, 1, 1], [1, 0, 0, 1], [1, 0, 1, 1], [1, 1, 1, 1]], columns=["A", "B", "C", COUNT]
    )
    pd.testing.assert_frame_equal(res.table, expected)
    assert res.links is None
    assert res.report["people"] == 5 and res.report["patterns"] == 5
    shares = {tuple(o["lists"]): o["both"] for o in res.report["overlaps"]}
    assert shares == {("A", "B"): 1, ("A", "C"): 2, ("B", "C"): 2}
    rates = {e["list"]: (e["people"], e["on_another_list"]) for e in res.report["lists"]}
    assert rates == {"A": (3, 2), "B": (2, 2), "C": (4, 3)}


def test_random_lists_recover_the_true_patterns():
    """2,000 people, each on each of three lists with its own probability; the lists are shuffled
    and their names, postcodes and dates written differently. The table must equal the truth."""
    rng = np.random.default_rng(13)
    n = 2000
    first = np.array(["Ann", "Bob", "Cai", "Dee", "Eve", "Fay", "Gus", "Hal"])[rng.integers(0, 8, n)]
    last = np.array([f"Smith{i}" for i in range(n)])  # distinct people
    dob = pd.Timestamp("1930-01-01") + pd.to_timedelta(rng.integers(0, 20000, n), unit="D")
    pc = np.array(["SW1A 1AA", "M1 1AE", "B1 1AA", "L1 8JQ"])[rng.integers(0, 4, n)]
    on = rng.random((n, 3)) < np.array([0.5, 0.4, 0.3])
    frames = {}
    for j, nm in enumerate("XYZ"):
        idx = rng.permutation(np.flatnonzero(on[:, j]))
        styles = [
            (lambda f, s: f + " " + s, "%d/%m/%Y", str.lower),
            (lambda f, s: (f + "  " + s).upper(), "%d/%m/%Y", lambda p: p.replace(" ", "")),
            (lambda f, s: f"{s}-{f}".replace(s, s), "%d/%m/%Y", str.upper),
        ]
        make, fmt, pcf = styles[j]
        names = [make(f, s) if j != 2 else f + " " + s for f, s in zip(first[idx], last[idx], strict=True)]
        frames[nm] = pd.DataFrame(
            {"name": names, "dob": dob[idx].strftime(fmt), "postcode": [pcf(p) for p in pc[idx]]}
        )
    res = link_lists(frames, key=KEY, name="name", dob="dob", postcode="postcode", dob_format="%d/%m/%Y")
    seen = on[on.any(axis=1)].astype(int)
    truth = pd.DataFrame(seen, columns=list("XYZ")).value_counts().sort_index()
    got = res.table.set_index(list("XYZ"))[COUNT]
    assert got.to_dict() == truth.to_dict()
    assert res.table[COUNT].sum() == on.any(axis=1).sum()


def test_duplicates_and_unusable_rows_are_reported_one_based():
    a = people(
        [
            ["Ann Lee", "1960-04-03", "M1 1AE"],
            [None, "1960-04-03", "M1 1AE"],  # row 2: no name
            ["ANN LEE", "1960-04-03", "m11ae"],  # row 3: duplicate of row 1
            ["Bob Ray", "not a date", "B1 1AA"],  # row 4: dob unreadable
            ["Bob Ray", None, "B1 1AA"],  # row 5: dob missing
            ["Cy Ng", "1970-01-01", " "],  # row 6: postcode blank
            ["Ann Lee", "1960-04-03", "M1 1AE"],  # row 7: duplicate again
        ]
    )
    b = people([["Ann Lee", "1960-04-03", "M1 1AE"]])
    res = link_lists({"A": a, "B": b}, key=KEY, name="name", dob="dob", postcode="postcode")
    ea = res.report["lists"][0]
    assert ea["rows_read"] == 7 and ea["unusable_rows"] == [2, 4, 5, 6] and ea["n_unusable"] == 4
    assert ea["unusable_by_reason"] == {
        "name_missing": [2],
        "dob_missing": [5],
        "dob_unreadable": [4],
        "postcode_missing": [6],
    }
    assert ea["duplicates"] == 2 and ea["duplicate_rows"] == [3, 7] and ea["duplicates_merged"] is True
    assert ea["people"] == 1 and ea["match_rate"] == 1.0
    assert res.table.to_dict("list") == {"A": [1], "B": [1], COUNT: [1]}


def test_several_name_columns_join_and_each_must_be_present():
    a = pd.DataFrame(
        {"fn": ["Ann", "Bob"], "sn": ["Lee", None], "dob": ["1960-04-03"] * 2, "pc": ["M1 1AE"] * 2}
    )
    b = pd.DataFrame(
        {"fn": ["ANN", "Bob"], "sn": [" lee", "Ray"], "dob": ["1960-04-03"] * 2, "pc": ["M11AE"] * 2}
    )
    res = link_lists({"A": a, "B": b}, key=KEY, name=["fn", "sn"], dob="dob", postcode="pc")
    assert res.report["lists"][0]["unusable_by_reason"]["name_missing"] == [2]
    assert res.table.to_dict("list") == {"A": [0, 1], "B": [1, 1], COUNT: [1, 1]}
    # forename alone: Bob (no surname) is usable, and "Ann" matches "ANN"
    res = link_lists({"A": a, "B": b}, key=KEY, name="fn", dob="dob", postcode="pc")
    assert res.table.to_dict("list") == {"A": [1], "B": [1], COUNT: [2]}


def test_id_mode_numbers_and_text_link_and_the_hash_is_the_documented_hmac():
    a = pd.DataFrame({"pid": [101, 102, 103]})
    b = pd.DataFrame({"pid": [" 101", "102.0", None, "104"]})  # float text is not rewritten
    res = link_lists({"A": a, "B": b}, key=KEY, id="pid", keep_links=True)
    assert res.table.to_dict("list") == {"A": [0, 1, 1], "B": [1, 0, 1], COUNT: [2, 2, 1]}
    assert res.report["lists"][1]["unusable_rows"] == [3]
    expect = hmac.new(KEY, b"carepop-link/1\x1fid\x1f101", hashlib.sha256).hexdigest()
    links = res.links
    assert list(links.columns) == [LINK_HASH, "A", "B"]
    assert links[LINK_HASH].is_monotonic_increasing and len(links) == 5
    assert links.set_index(LINK_HASH).loc[expect].tolist() == [1, 1]
    # a float column that holds whole numbers links with the integers
    c = pd.DataFrame({"pid": [101.0, np.nan]})
    res2 = link_lists({"A": a, "C": c}, key=KEY, id="pid")
    assert res2.report["overlaps"][0]["both"] == 1


def test_name_dob_postcode_hash_is_the_documented_message():
    a = people([["O'Brien José", "1950-01-02", "sw1a 1aa"]])
    res = link_lists({"A": a, "B": a}, key=KEY, name="name", dob="dob", postcode="postcode", keep_links=True)
    msg = b"carepop-link/1\x1fname-dob-postcode\x1fobrienjose\x1f1950-01-02\x1fSW1A1AA"
    assert res.links[LINK_HASH].tolist() == [hmac.new(KEY, msg, hashlib.sha256).hexdigest()]


def test_another_key_gives_other_hashes_and_the_same_table():
    a = pd.DataFrame({"pid": ["p1", "p2"]})
    b = pd.DataFrame({"pid": ["p2", "p3"]})
    r1 = link_lists({"A": a, "B": b}, key=KEY, id="pid", keep_links=True)
    r2 = link_lists({"A": a, "B": b}, key=KEY[::-1], id="pid", keep_links=True)
    pd.testing.assert_frame_equal(r1.table, r2.table)
    assert not set(r1.links[LINK_HASH]) & set(r2.links[LINK_HASH])


def test_the_report_holds_no_identifier():
    a = people([["Zebedee Quornash", "1944-12-25", "ZX9 8QT"], ["Yolanda Vexley", "1933-03-03", "QW1 2XZ"]])
    b = people([["Zebedee Quornash", "1944-12-25", "ZX9 8QT"]])
    res = link_lists({"A": a, "B": b}, key=KEY, name="name", dob="dob", postcode="postcode")
    text = json.dumps(res.report) + res.table.to_csv()
    for secret in [
        "Zebedee",
        "zebedee",
        "Quornash",
        "quornash",
        "Yolanda",
        "1944",
        "1933",
        "ZX9",
        "QW1",
        "8QT",
        KEY.decode()[:16],
    ]:
        assert secret not in text


def test_lists_with_no_one_in_common_warn():
    a = pd.DataFrame({"pid": ["p1"]})
    b = pd.DataFrame({"pid": ["p2"]})
    with pytest.warns(LinkWarning, match="no one in common"):
        link_lists({"A": a, "B": b}, key=KEY, id="pid")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        link_lists({"A": a, "B": a}, key=KEY, id="pid")


# ------------------------------------------------------------------------------ the key
def test_read_key_strips_surrounding_whitespace(tmp_path):
    k = tmp_path / "k.key"
    k.write_bytes(KEY + b"\n")
    assert read_key(k) == KEY
    k.write_bytes(b"  " + KEY + b"\r\n")
    assert read_key(k) == KEY


def test_missing_key_file(tmp_path):
    with pytest.raises(CarepopError) as err:
        read_key(tmp_path / "nope.key")
    assert err.value.code == "key_file_not_found" and "key_file=" in str(err.value)


def test_key_too_short(tmp_path):
    k = tmp_path / "k.key"
    k.write_bytes(b"short-secret-xyz\n")
    with pytest.raises(CarepopError) as err:
        read_key(k)
    assert err.value.code == "key_too_short" and "16 bytes" in str(err.value)
    assert "short-secret-xyz" not in str(err.value) and "short-secret-xyz" not in json.dumps(
        err.value.to_dict()
    )
    with pytest.raises(CarepopError, match="31 bytes") as err:
        link_lists({"A": pd.DataFrame({"i": [1]}), "B": pd.DataFrame({"i": [1]})}, key=b"x" * 31, id="i")
    with pytest.raises(CarepopError) as err:
        link_lists({"A": pd.DataFrame({"i": [1]}), "B": pd.DataFrame({"i": [1]})}, key="x" * 40, id="i")
    assert err.value.code == "bad_key"


# ------------------------------------------------------------------------------ refusals
def test_identifier_column_missing():
    a = pd.DataFrame({"pid": [1]})
    b = pd.DataFrame({"person": [1]})
    with pytest.raises(CarepopError) as err:
        link_lists({"A": a, "B": b}, key=KEY, id="pid")
    assert err.value.code == "unknown_column" and err.value.column == "pid" and "'B'" in str(err.value)
    with pytest.raises(CarepopError) as err:
        link_lists({"A": people([]), "B": people([])}, key=KEY, name="name", dob="birth", postcode="postcode")
    assert err.value.code == "unknown_column" and err.value.column == "birth"


def test_a_list_with_no_usable_rows():
    a = pd.DataFrame({"pid": ["p1", "p2"]})
    b = pd.DataFrame({"pid": [None, "  "]})
    with pytest.raises(CarepopError) as err:
        link_lists({"A": a, "B": b}, key=KEY, id="pid")
    assert err.value.code == "no_usable_rows" and "'B'" in str(err.value) and "2 row(s)" in str(err.value)
    with pytest.raises(CarepopError) as err:
        link_lists({"A": a, "B": b.iloc[:0]}, key=KEY, id="pid")
    assert err.value.code == "no_usable_rows"
    wrong_format = people([["Ann Lee", "03/04/1960", "M1 1AE"]])
    with pytest.raises(CarepopError) as err:
        link_lists(
            {"A": wrong_format, "B": wrong_format}, key=KEY, name="name", dob="dob", postcode="postcode"
        )
    assert err.value.code == "no_usable_rows" and "dob_format=" in str(err.value)
    assert "03/04/1960" not in str(err.value) and "Ann" not in str(err.value)


def test_the_same_list_name_twice():
    a = pd.DataFrame({"pid": ["p1"]})
    with pytest.raises(CarepopError) as err:
        link_lists([("A", a), ("B", a), ("A", a)], key=KEY, id="pid")
    assert err.value.code == "duplicate_list" and err.value.got == "A"


def test_fewer_than_two_lists():
    a = pd.DataFrame({"pid": ["p1"]})
    for frames in ({"A": a}, {}):
        with pytest.raises(CarepopError) as err:
            link_lists(frames, key=KEY, id="pid")
        assert err.value.code == "too_few_lists"


@pytest.mark.parametrize("name", ["", "count", 3])
def test_a_list_name_that_cannot_be_a_column(name):
    a = pd.DataFrame({"pid": ["p1"]})
    with pytest.raises(CarepopError) as err:
        link_lists([(name, a), ("B", a)], key=KEY, id="pid")
    assert err.value.code == "bad_list_name"


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"id": "pid", "name": "name"},
        {"name": "name", "dob": "dob"},
        {"id": "pid", "dob_format": "%d/%m/%Y"},
    ],
)
def test_how_people_are_identified_must_be_clear(kwargs):
    a = pd.DataFrame({"pid": ["p1"], "name": ["x"], "dob": ["1950-01-01"], "postcode": ["A1 1AA"]})
    with pytest.raises(CarepopError) as err:
        link_lists({"A": a, "B": a}, key=KEY, **kwargs)
    assert err.value.code == "bad_option"

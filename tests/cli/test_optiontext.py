"""Option text turned into values (carepop.cli.optiontext), and through the CLI: each malformed
value is an error naming its flag."""

from __future__ import annotations

import pytest

from carepop.cli import optiontext as text
from carepop.errors import CarepopError
from tests.cli.conftest import assert_refused, invoke
from tests.golden import DATA

SRS = str(DATA / "apisrs.csv")


def test_parsers_give_values():
    assert text.split_list(" a, b ", "by") == ["a", "b"]
    assert text.no_empty([" x "], "allow_column") == ["x"]
    assert text.numbers("1", "rscales") == 1.0
    assert text.numbers("1, 0.5", "rscales") == (1.0, 0.5)
    assert text.pairs(["a = f.csv"], "rake", "VAR=FILE") == [("a", "f.csv")]
    assert text.number_pairs(["api99=3914069"], "calibrate_num", "VAR=TOTAL") == [("api99", 3914069.0)]
    assert text.bounds("0.5,2", "trim") == (0.5, 2.0)
    assert text.method_count("bootstrap:200", "replicates") == ("bootstrap", 200)
    assert text.method_count("jk1", "replicates") == ("jk1", None)
    assert text.method_count(None, "replicates") == (None, None)


@pytest.mark.parametrize(
    "call, got",
    [
        (lambda: text.split_list("a,,b", "by"), "a,,b"),
        (lambda: text.no_empty([" "], "allow_column"), " "),
        (lambda: text.numbers("1,x", "rscales"), "1,x"),
        (lambda: text.pairs(["stype"], "rake", "VAR=FILE"), "stype"),
        (lambda: text.number_pairs(["api99=lots"], "calibrate_num", "VAR=TOTAL"), "lots"),
        (lambda: text.bounds("2,0.5", "trim"), "2,0.5"),
        (lambda: text.bounds("1,2,3", "trim"), "1,2,3"),
        (lambda: text.method_count("bootstrap:many", "replicates"), "bootstrap:many"),
    ],
)
def test_malformed_text_is_an_error_naming_the_option(call, got):
    with pytest.raises(CarepopError) as info:
        call()
    err = info.value
    assert err.code == "bad_option" and err.got == got and err.fix


def test_bounds_the_wrong_way_round_name_the_flag():
    with pytest.raises(CarepopError) as info:
        text.bounds("2,0.5", "trim")
    assert info.value.render({"trim": "--trim"}.get).endswith(
        "fix: give --trim L,U with the lower bound first, e.g. 0.5,2"
    )


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--trim", "2,0.5"], "--trim L,U"),
        (["--bounds", "1"], "--bounds L,U"),
        (["--calibrate-num", "api99=lots"], "--calibrate-num VAR=TOTAL"),
        (["--rake", "stype"], "--rake VAR=FILE"),
        (["--replicates", "jk2:10"], "--replicates jk1|jkn|"),
        (["--replicates", "bootstrap:many"], "--replicates METHOD[:R]"),
    ],
)
def test_through_the_cli(args, flag):
    res = invoke("estimate", SRS, "--weight", "pw", "--fpc", "fpc", "--mean", "api00", *args)
    assert_refused(res, flag)


def test_replicate_method_aliases_are_accepted():
    res = invoke(
        "estimate", SRS, "--weight", "pw", "--mean", "api00", "--replicates", "Jackknife", "--format", "json"
    )
    assert res.exit_code == 0, res.output

"""The run config: every problem a clear error naming the file, the line, the key and a fix."""

from __future__ import annotations

import pytest

from carepop.errors import CarepopError
from carepop.pipeline.config import line_of, load_config
from carepop.pipeline.governance import is_identifier, refuse_hashed_values
from carepop.pipeline.steps import measure_schemas

GOOD = """\
[run]
title = "Test"
seed = 7

[inputs.carers]
file = "survey.csv"

[surveys.carers]
input = "carers"
weight = "w"
strata = "council_code"

[measures.carers]
survey = "carers"
carer = "carer"
boot = 20
"""


def _write(tmp_path, text: str):
    (tmp_path / "survey.csv").write_text("council_code,carer,w\nE06000001,1,10\n")
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def _error(tmp_path, text: str) -> CarepopError:
    with pytest.raises(CarepopError) as err:
        load_config(_write(tmp_path, text), measure_schemas())
    return err.value


def test_a_good_config(tmp_path):
    cfg = load_config(_write(tmp_path, GOOD), measure_schemas())
    assert cfg.run["seed"] == 7 and cfg.measures["carers"]["boot"] == 20
    assert cfg.file("carers") == tmp_path / "survey.csv"


def test_unknown_key_names_its_line_and_the_nearest_key(tmp_path):
    err = _error(tmp_path, GOOD.replace("boot = 20", "boots = 20"))
    assert err.code == "unknown_key" and err.column == "boots"
    assert "line 16" in str(err) and "did you mean 'boot'" in str(err)


def test_unknown_table_and_measure(tmp_path):
    assert "did you mean 'surveys'" in str(_error(tmp_path, GOOD + "\n[survey]\nx = 1\n"))
    err = _error(tmp_path, GOOD + '\n[measures.carer]\nsurvey = "carers"\n')
    assert err.code == "unknown_key" and "did you mean 'carers'" in str(err) and "line 18" in str(err)


def test_wrong_type_and_missing_key(tmp_path):
    err = _error(tmp_path, GOOD.replace("boot = 20", 'boot = "twenty"'))
    assert err.code == "bad_type" and "line 16" in str(err) and "a whole number" in str(err)
    err = _error(tmp_path, GOOD.replace('carer = "carer"\n', ""))
    assert err.code == "missing_key" and "carer" in str(err) and "line 13" in str(err)
    err = _error(tmp_path, GOOD.replace("seed = 7", "seed = true"))
    assert err.code == "bad_type"  # true is not a whole number


def test_missing_file_and_unknown_references(tmp_path):
    err = _error(tmp_path, GOOD.replace('file = "survey.csv"', 'file = "nope.csv"'))
    assert err.code == "file_not_found" and "line 6" in str(err) and "nope.csv" in str(err)
    err = _error(tmp_path, GOOD.replace('input = "carers"', 'input = "carer"'))
    assert err.code == "unknown_input" and "line 9" in str(err)
    err = _error(tmp_path, GOOD.replace('survey = "carers"', 'survey = "carer"'))
    assert err.code == "unknown_input" and "line 14" in str(err)


def test_not_toml_and_no_file(tmp_path):
    assert "not valid TOML" in str(_error(tmp_path, GOOD + "\nthis is not toml\n"))
    with pytest.raises(CarepopError) as err:
        load_config(tmp_path / "absent.toml")
    assert err.value.code == "file_not_found"


def test_line_of_finds_keys_in_their_table():
    text = '[a]\nx = 1\n[b.c]\nx = 2\n"y" = 3\n'
    assert line_of(text, "a", "x") == 2 and line_of(text, "b.c", "x") == 4
    assert line_of(text, "b.c", "y") == 5 and line_of(text, "b.c") == 3 and line_of(text, "z", "x") is None


@pytest.mark.parametrize(
    "name",
    [
        "nhs_number",
        "NHS Number",
        "Der_NHS_Number_Traced_Pseudo",
        "person_id",
        "postcode",
        "dob",
        "date_of_birth",
        "surname",
        "email",
        "client_id",
        "hashed_id",
    ],
)
def test_identifier_names(name):
    assert is_identifier(name)


@pytest.mark.parametrize("name", ["council_code", "carer", "hours_band", "weight", "age", "sex", "strata"])
def test_not_identifier_names(name):
    assert not is_identifier(name)


def test_hashed_values_refused():
    import pandas as pd

    digest = "a3f1" * 16
    with pytest.raises(CarepopError) as err:
        refuse_hashed_values(pd.DataFrame({"key": [digest, digest[::-1]], "n": [1, 2]}), where="t")
    assert err.value.column == "key"
    refuse_hashed_values(pd.DataFrame({"area_code": ["E06000001"], "n": [1]}), where="t")


def test_input_references_and_pairs_are_checked_before_any_work(tmp_path):
    from carepop.pipeline.config import load_config
    from carepop.pipeline.steps import check_references

    base = GOOD + '\n[inputs.homes]\nfile = "survey.csv"\n'
    cfg = load_config(
        _write(tmp_path, base + '\n[measures.self_funders]\nhomes = "home"\ndirectory = "homes"\n'),
        measure_schemas(),
    )
    with pytest.raises(CarepopError) as err:
        check_references(cfg)
    assert (
        err.value.code == "unknown_input"
        and "line 22" in str(err.value)
        and "did you mean 'homes'" in str(err.value)
    )
    cfg = load_config(
        _write(tmp_path, base + '\n[measures.self_funders]\nhomes = "homes"\n'), measure_schemas()
    )
    with pytest.raises(CarepopError) as err:
        check_references(cfg)
    assert err.value.code == "missing_key" and "directory" in str(err.value)
    cfg = load_config(
        _write(tmp_path, base + '\n[measures.hidden_carers]\nknown = "GP"\n'), measure_schemas()
    )
    with pytest.raises(CarepopError) as err:
        check_references(cfg)
    assert "gp / cld" in str(err.value)


def test_output_formats_are_checked(tmp_path):
    err = _error(tmp_path, GOOD + '\n[outputs]\nplots = ["pdf"]\n')
    assert err.code == "bad_value" and "pdf" in str(err)


@pytest.mark.parametrize(
    "extra, key, line",
    [
        ('\n[measures.unmet_need]\nsurvey = "carers"\ndefinition = "HSE"\n', "definition", 20),
        ('\n[measures.unmet_need]\nsurvey = "carers"\nboot = 0\n', "boot", 20),
        ('\n[measures.unmet_need]\nsurvey = "carers"\nvariants = ["no help"]\n', "variants", 20),
        ("\n[measures.projection]\nto = 2100\n", "to", 19),
        ("\n[disclosure]\nthreshold = 0\n", "threshold", 19),
    ],
)
def test_values_are_checked_before_any_work(tmp_path, extra, key, line):
    from carepop.pipeline.steps import check_values

    cfg = load_config(_write(tmp_path, GOOD + extra), measure_schemas())
    with pytest.raises(CarepopError) as err:
        check_values(cfg)
    assert err.value.code == "bad_value" and err.value.column == key and f"line {line}" in str(err.value)

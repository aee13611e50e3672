"""carepop.sources.tables: the bundled tables by name (what ``carepop census show`` prints)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carepop import CarepopError
from carepop.sources.tables import TABLES, filter_area, is_table_name, load_table

NOMIS = Path(__file__).parents[1] / "data" / "nomis"


def test_names_and_files():
    assert is_table_name("TS039") and not is_table_name(str(NOMIS / "ts039_la_good.csv"))
    assert set(TABLES) == {"ts039", "ts007", "ts008", "qs301", "imd2019", "gp_carers", "area", "council"}
    frame = load_table(str(NOMIS / "ts039_la_good.csv"))
    assert "E08000001" in set(frame["area_code"])


def test_one_area_and_its_msoas():
    bolton = filter_area(load_table("ts039"), "e08000001", "ts039")
    assert len(bolton) == 1 and bolton.loc[0, "carers"] == 25_980
    msoas = filter_area(load_table("ts039", "msoa"), "E08000001", "ts039")
    assert len(msoas) == 35


@pytest.mark.parametrize(
    "call, code, fix",
    [
        (lambda: load_table("ts008", "msoa"), "bad_option", "level="),
        (lambda: load_table("ts039", "lsoa"), "bad_option", "level="),
        (lambda: load_table("imd2019", wales=True), "bad_option", "wales=True"),
        (lambda: load_table("ts039", encoding="cp1252"), "bad_option", "encoding='cp1252'"),
        (lambda: load_table("nope"), "unknown_table", "ts039"),
        (lambda: filter_area(load_table("ts008"), "W06000001", "ts008"), "unknown_code", "wales=True"),
    ],
)
def test_errors_name_the_parameter(call, code, fix):
    with pytest.raises(CarepopError) as err:
        call()
    assert err.value.code == code and fix in err.value.fix

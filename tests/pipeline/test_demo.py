"""``carepop demo``: every measure for the 153 councils from the bundled data and seeded synthetic
inputs; its numbers equal the library calls; ``carepop run`` on its config gives the same bytes;
every published table passes the disclosure rules and the LP audit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from carepop.measures.unmet_need import unmet_need_by_council
from carepop.outputs.disclosure import DisclosureRules, audit, count_table
from carepop.pipeline.demo import run_demo
from carepop.pipeline.run import run
from carepop.pipeline.steps import CLD_COUNTS, Context


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "carepop-demo"
    results = run_demo(folder, seed=2021)
    return folder, results


def _seed(name: str, run_seed: int = 2021) -> int:
    class _Cfg:
        run = {"seed": run_seed}

    return Context(config=_Cfg(), surveys={}, inputs={}).seed(name)


def test_every_measure_for_every_council(demo):
    _, results = demo
    for name in (
        "carers",
        "hidden_carers",
        "unmet_need",
        "care_home_self_funders",
        "community_self_funders",
        "workforce",
    ):
        t = pd.read_csv(results / f"{name}.csv", dtype={"area_code": str})
        councils = t[t["area_level"] == "council"]["area_code"].unique()
        assert len(councils) == 153, name
        assert (t["area_level"] == "england").any(), name
    p = pd.read_csv(results / "projection.csv")
    assert p["year"].max() == 2040 and (p["area_level"] == "council").sum() == 153 * 20
    assert (results / "report.html").stat().st_size > 100_000
    assert {f.name for f in (results / "plots").iterdir()} >= {
        "carers.png",
        "carers.svg",
        "projection-england.svg",
    }


def test_numbers_equal_the_library_calls(demo):
    """Unmet need from the demo's own input, by the library, equals the published table once
    rounded as the disclosure rules say (rates to 3 decimals, counts of people to 10)."""
    folder, results = demo
    data = pd.read_csv(folder / "inputs" / "synthetic_needs_survey.csv")
    lib = unmet_need_by_council(
        Survey(data, weight="weight", strata="council_code"),
        definition="hse",
        boot=200,
        seed=_seed("unmet_need"),
    ).to_pandas()
    pub = pd.read_csv(results / "unmet_need.csv")
    np.testing.assert_allclose(pub["estimate"], np.round(lib["estimate"], 3), atol=1e-12)
    np.testing.assert_allclose(pub["count"], np.floor(lib["count"] / 10 + 0.5) * 10, atol=1e-6)


def test_run_on_the_demo_config_gives_the_same_bytes(demo, tmp_path):
    folder, results = demo
    again = run(folder / "carepop.toml", out=tmp_path / "again").out
    tables = sorted(p.name for p in results.iterdir() if p.suffix in (".csv", ".parquet", ".xlsx"))
    assert len(tables) >= 20
    for name in tables:
        assert (again / name).read_bytes() == (results / name).read_bytes(), name


def test_published_tables_pass_the_rules_and_the_audit(demo):
    folder, results = demo
    rules = DisclosureRules()
    manifest = json.loads((results / "manifest.json").read_text())
    applied = manifest["disclosure"]["applied"]
    # counts of people by council, region and England: no 1-7 published, each signal audited
    counts = pd.read_csv(results / "cld_counts.csv", dtype={"council_code": str, "region_code": str})
    published = pd.to_numeric(counts["value"], errors="coerce")
    assert not ((published >= 1) & (published < rules.threshold)).any()
    assert (published.dropna() % rules.count_round == 0).all()
    assert set(counts["status"]) <= {"published", "suppressed"}
    assert all(applied["cld_counts"][c]["audit_all_protected"] for c in CLD_COUNTS)
    # the audit again, from the raw signals: every suppressed cell's range is at least 8 wide
    from carepop.sources.cld.signals import signals
    from carepop.sources.tables import load_table

    sig = signals(folder / "inputs" / "synthetic_cld.parquet")
    raw = load_table("council", None)[["council_code", "region_code"]].merge(
        sig, on="council_code", how="left"
    )
    one = counts[counts["measure"] == "requests_self_funded_people"]
    table = count_table(
        raw.fillna(0).astype({"requests_self_funded_people": int}),
        "requests_self_funded_people",
        [("region_code", "council_code")],
    )
    status = np.where(
        table.cells[table.columns].merge(one, on=table.columns, how="left")["status"].to_numpy()
        == "suppressed",
        "primary",
        "published",
    )
    ranges = audit(table, status, rules)
    assert (ranges["width"] >= rules.threshold).all()
    # survey estimates: no direct estimate on fewer than 50 respondents
    for name in ("carers", "unmet_need"):
        t = pd.read_csv(results / f"{name}.csv")
        small = t["n"] < rules.min_base
        assert small.any() and t.loc[small, "direct"].isna().all(), name
        assert t.loc[~small, "direct"].notna().all(), name
    # the CLD waits beside unmet need: counts protected, a wait on fewer than 8 people withheld
    u = pd.read_csv(results / "unmet_need.csv")
    n = u["wait_request_to_service_n"].dropna()
    assert len(n) and not ((n >= 1) & (n < 8)).any() and (n % 5 == 0).all()
    assert u.loc[u["wait_request_to_service_n"].isna(), "wait_request_to_service_median_days"].isna().all()
    assert not {"requests_people", "carers_supported"} & set(u.columns)  # counts only in cld_counts
    # rates at 3 decimals, totals of people at tens
    t = pd.read_csv(results / "carers.csv")
    np.testing.assert_allclose(t["estimate"], np.round(t["estimate"], 3), atol=1e-12)
    assert (t["carers"].dropna() % 10 == 0).all()
    assert manifest["disclosure"]["rules"]["threshold"] == 8


def test_no_identifier_in_any_output(demo):
    _, results = demo
    for path in results.glob("*.csv"):
        cols = pd.read_csv(path, nrows=1).columns
        assert not any(
            c.lower() in ("respondent", "resp_id", "home_id", "der_nhs_number_traced_pseudo") for c in cols
        ), path


def test_the_demo_never_replaces_an_edited_config(tmp_path):
    from carepop.errors import CarepopError

    (tmp_path / "carepop.toml").write_text("# my edits\n")
    with pytest.raises(CarepopError) as err:
        run_demo(tmp_path, seed=2021)
    assert err.value.code == "cannot_write" and "edited" in str(err.value)
    assert (tmp_path / "carepop.toml").read_text() == "# my edits\n"
    assert not (tmp_path / "inputs").exists()  # refused before writing anything

"""``carepop disclose``: a council x sex table protected with its margins, the audit file, every
option, and refusals (exit 2, nothing written)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import assert_refused, invoke, read_back, snapshot


@pytest.fixture
def table(tmp_path):
    """3 regions x 3 councils x 2 sexes, with small counts planted."""
    rng = np.random.default_rng(11)
    rows = [(f"R{r}", f"R{r}C{c}", s) for r in range(3) for c in range(3) for s in ("F", "M")]
    data = pd.DataFrame(rows, columns=["region", "la", "sex"])
    data["n"] = rng.integers(15, 70, len(data))
    data.loc[[1, 8, 15], "n"] = [3, 6, 1]
    path = tmp_path / "in" / "councils.csv"
    path.parent.mkdir()
    data.to_csv(path, index=False)
    return path


def test_protects_a_nested_table_and_writes_the_audit(table, tmp_path):
    out, audit = tmp_path / "protected.csv", tmp_path / "audit.parquet"
    before = snapshot(table)
    res = invoke("disclose", table, "--count", "n", "--by", "region/la,sex", "--out", out, "--audit", audit)
    assert res.exit_code == 0, res.output
    assert "3 small counts suppressed" in res.stderr and "--public" in res.stderr
    got = read_back(out)
    assert list(got.columns) == ["region", "la", "sex", "value", "status"]
    # inner 18, council totals 9, region x sex 6 and region totals 3, England x sex 2 and total 1
    assert len(got) == 18 + 9 + 6 + 3 + 2 + 1
    assert set(got["status"]) == {"published", "primary", "secondary"}
    shown = got["value"].dropna().to_numpy()
    assert ((shown == 0) | (shown >= 8)).all() and (shown % 5 == 0).all()
    assert got["value"].isna().equals(got["status"] != "published")
    assert (got.loc[got["status"] == "primary", "la"].tolist()) == ["R0C0", "R1C1", "R2C1"]
    checked = read_back(audit)
    assert checked["protected"].all()
    assert (checked.loc[checked["status"] == "primary", "width"] >= 8).all()
    assert len(checked) == (got["status"] != "published").sum()
    assert snapshot(table) == before


def test_round_1_leaves_counts_exact_and_public_hides_the_kind(table):
    res = invoke(
        "disclose", table, "--count", "n", "--by", "la,sex", "--round", "1", "--public", "--format", "json"
    )
    assert res.exit_code == 0, res.output
    rows = pd.DataFrame(json.loads(res.stdout))
    data = pd.read_csv(table)
    inner = rows[(rows["la"] != "Total") & (rows["sex"] != "Total") & (rows["status"] == "published")]
    merged = inner.merge(data, on=["la", "sex"])
    assert (merged["value"] == merged["n"]).all() and len(merged) > 0
    assert set(rows["status"]) == {"published", "suppressed"}
    total = rows[(rows["la"] == "Total") & (rows["sex"] == "Total")]["value"].item()
    assert total == data["n"].sum()


def test_threshold_and_protection_options(table):
    res = invoke(
        "disclose", table, "--count", "n", "--by", "la,sex", "--threshold", "2", "--round", "1",
        "--protection", "20", "--format", "csv",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "1 small counts suppressed" in res.stderr and "at least 20 wide" in res.stderr
    res = invoke("disclose", table, "--count", "n", "--by", "la,sex", "--cost", "count", "--format", "table")
    assert res.exit_code == 0 and "protected table" in res.stdout


@pytest.mark.parametrize(
    "edit, args, needles",
    [
        (None, ["--threshold", "0"], ["threshold must be", "--threshold 8"]),
        (None, ["--threshold", "2"], ["would be published as 0", "--round 1"]),
        (None, ["--round", "0"], ["count_round", "--round 5"]),
        (None, ["--cost", "cells"], ["--cost", "'cells' is not one of"]),
        (None, ["--by", "la,age"], ["no column 'age'", "--by A,B"]),
        (None, ["--by", "la/,sex"], ["--by"]),
        (None, ["--count", "m"], ["no column 'm'"]),
        (lambda d: d.assign(n=d["n"].where(d.index != 4, -2)), [], ["cannot be negative", "rows: 5"]),
        (
            lambda d: d.assign(n=d["n"].astype(float).where(d.index != 0, 1.5)),
            [],
            ["whole numbers", "rows: 1"],
        ),
        (lambda d: pd.concat([d, d.iloc[[2]]]), [], ["more than once", "rows: 3, 19"]),
    ],
)
def test_refusals(table, tmp_path, edit, args, needles):
    if edit is not None:
        edit(pd.read_csv(table)).to_csv(table, index=False)
    out = tmp_path / "out.csv"
    base = {"--count": "n", "--by": "la,sex"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for kv in base.items() for x in kv]
    res = invoke("disclose", table, *flat, "--out", out)
    assert_refused(res, *needles, unchanged=snapshot(table), absent=[out])


def test_audit_file_refused_before_any_work(table, tmp_path):
    out = tmp_path / "out.csv"
    res = invoke(
        "disclose", table, "--count", "n", "--by", "la,sex", "--out", out, "--audit", tmp_path / "a.txt"
    )
    assert_refused(res, "--audit", absent=[out])
    res = invoke("disclose", table, "--count", "n", "--by", "la,sex", "--out", out, "--audit", out)
    assert_refused(res, "--audit", absent=[out])
    res = invoke("disclose", table, "--count", "n", "--by", "la,sex", "--audit", table)
    assert_refused(res, "input", "--audit", unchanged=snapshot(table))


def test_cld_summarise_takes_the_rule_from_outputs_disclosure(tmp_path):
    from carepop.sources.cld.summary import summarise

    made = invoke("cld", "generate", tmp_path / "g.parquet", "--rows", 3000, "--seed", 7)
    assert made.exit_code == 0, made.output
    out = tmp_path / "summary.parquet"
    res = invoke(
        "cld", "summarise", tmp_path / "g.parquet", "--out", out, "--threshold", "11", "--round", "10"
    )
    assert res.exit_code == 0, res.output
    assert "counts 1-10 suppressed" in res.stderr and "nearest 10" in res.stderr
    got, exact = pd.read_parquet(out), summarise(tmp_path / "g.parquet")
    for col in ("events", "people"):
        small = exact[col].between(1, 10).to_numpy()
        assert small.any() and got[col][small].isna().all()
        assert (got[col][~small].to_numpy() % 10 == 0).all()
        assert (got[col][~small].to_numpy() == np.floor(exact[col][~small] / 10 + 0.5) * 10).all()
    res = invoke("cld", "summarise", tmp_path / "g.parquet", "--out", out, "--threshold", "2")
    assert_refused(res, "would be published as 0", "--round 1")

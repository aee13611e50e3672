"""Simulation with a known truth for the measures of issue 14 (see supply_simulation.py), small and
seeded: 4 replicates (each 153 councils; 40 PA surveys). The full run (400 replicates) is the
table in validation/README.md."""

from __future__ import annotations

from supply_simulation import run


def test_supply_measures_cover_the_truth():
    c = run(4, seed=21)
    # 4 replicates x 153 councils = 612 intervals per council-level measure: 95% +- about 2 points
    for key in (
        "care homes: share",
        "care homes: self-funders",
        "community self-funders",
        "workforce: filled posts",
        "workforce: vacancies",
        "workforce: vacancy rate",
    ):
        assert 0.90 <= c[key] <= 0.99, (key, c[key])
    # 40 national PA surveys: the product's interval covers (binomial: 40 x 0.95 = 38 +- 3)
    assert c["PA posts (delta)"] >= 0.85 and c["PA posts (bootstrap)"] >= 0.85

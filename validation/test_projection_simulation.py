"""Simulation with a known truth for demand projections (see projection_simulation.py), small and
seeded. The full run (200 replicates of council rates, 400 of England rates) is the table in
validation/README.md: the 95% intervals of the projected counts cover 94-96% for councils, regions
and England, delta method and logit bootstrap."""

from __future__ import annotations

from projection_simulation import coverage


def test_council_rates_cover():
    c = coverage(8, seed=300, to=2030, boot=300)
    # 8 replicates x 153 councils x 10 years; councils' samples are independent (years are not)
    assert 0.92 <= c["delta council"] <= 0.98
    assert 0.92 <= c["bootstrap council"] <= 0.98


def test_england_rates_cover():
    c = coverage(40, seed=301, to=2025, england=True, methods=("delta",))
    # one rate per band for every council: the replicates are the independent units (40 of them)
    assert 0.85 <= c["delta england"] <= 1.0

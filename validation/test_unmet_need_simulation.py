"""Simulation with a known truth for unmet need by council (see unmet_need_simulation.py), small
and seeded. The full run (100 surveys of 20,000 adults) is the table in validation/README.md:
counts of people aged 65+ with unmet ADL need (no help) by council — direct 97.6%, Fay–Herriot
96.2%, synthetic 53.9% (the synthetic interval carries no council effect); no or not enough help:
97.3%, 91.7%, 46.6%."""

from __future__ import annotations

from unmet_need_simulation import coverage


def test_unmet_need_intervals_cover():
    t = coverage(4, seed=300, boot=40).set_index(["variant", "estimate"])
    # 4 surveys x 153 councils; bounds wide enough for 612 council-replicates
    for variant in ("no_help", "insufficient"):
        assert 0.90 <= t.loc[(variant, "direct"), "coverage"] <= 1.0
        assert 0.85 <= t.loc[(variant, "fay_herriot"), "coverage"] <= 0.99
        assert t.loc[(variant, "synthetic"), "coverage"] < 0.75  # biased for councils: shown, not hidden
        assert (
            t.loc[(variant, "fay_herriot"), "relative RMSE"]
            < 0.6 * t.loc[(variant, "direct"), "relative RMSE"]
        )

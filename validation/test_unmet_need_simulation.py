"""Simulation with a known truth for unmet need by council (see unmet_need_simulation.py), small
and seeded. The full run (100 surveys of 20,000 adults) is the table in validation/README.md: counts
of people aged 65+ with unmet ADL need by council, no help — direct 96.2%, Fay–Herriot 96.1%,
synthetic 53.9% (its interval carries no council effect), regions and England 93.9%; no or not
enough help — 96.3%, 94.9%, 46.6%, 95.1%."""

from __future__ import annotations

from unmet_need_simulation import coverage


def test_unmet_need_intervals_cover():
    t = coverage(4, seed=300, boot=40).set_index(["variant", "estimate"])
    # 4 surveys x 153 councils; bounds wide enough for 612 council-replicates
    for variant in ("no_help", "insufficient"):
        assert 0.90 <= t.loc[(variant, "direct"), "coverage"] <= 0.99
        assert 0.85 <= t.loc[(variant, "fay_herriot"), "coverage"] <= 0.99
        assert t.loc[(variant, "synthetic"), "coverage"] < 0.75  # biased for councils: shown, not hidden
        assert (
            t.loc[(variant, "fay_herriot"), "relative RMSE"]
            < 0.6 * t.loc[(variant, "direct"), "relative RMSE"]
        )

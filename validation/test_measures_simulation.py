"""Simulation with a known truth for the measures of issue 13 (see measures_simulation.py), small
and seeded. The full run (400 capture–recapture replicates, 100 surveys) is the table in
validation/README.md: carers and hidden carers by council cover 94.4%; the log-linear independence
model covers 95.8% on independent lists and 0% with a bias of −27.8% when lists A and B are
dependent; with the A:B interaction 93.2% and +0.2%."""

from __future__ import annotations

from measures_simulation import capture_runs, carers_coverage


def test_capture_recapture_covers_when_the_model_holds_and_is_biased_when_not():
    independent = capture_runs(150, dependent=False, seed=11)
    assert 0.90 <= independent["independence"]["coverage"] <= 0.99
    assert abs(independent["independence"]["relative bias"]) < 0.01
    dependent = capture_runs(150, dependent=True, seed=12)
    assert dependent["independence"]["relative bias"] < -0.2  # ignoring the dependence: far too few
    assert dependent["independence"]["coverage"] < 0.05
    assert abs(dependent["A:B"]["relative bias"]) < 0.02 and dependent["A:B"]["coverage"] >= 0.88


def test_carers_and_hidden_carers_cover():
    c = carers_coverage(6, seed=200)
    # 6 surveys x 153 councils (the full run, 100 surveys: 94.4%)
    assert 0.87 <= c["carers: coverage"] <= 0.99
    assert c["hidden carers: coverage"] == c["carers: coverage"]  # the register is exact
    assert c["relative RMSE, model"] < 0.7 * c["relative RMSE, direct"]

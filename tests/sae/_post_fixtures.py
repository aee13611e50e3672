"""Fixture loaders for the SAE post-processing tests (variance, benchmark, diagnostics, transforms).

tests/sae/fixtures/eusilcA/: emdi package data (eusilcA_smpAgg, eusilcA_popAgg; GPL-2, derived from
synthetic EU-SILC data) and an FH ML fit of the emdi vignette model made with R package sae 1.3
(make_fixtures.R there). tests/sae/fixtures/post_hand/: small hand examples computed in base R
(make_hand.R there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

FIX = Path(__file__).parent / "fixtures"


def eusilc_fit() -> pd.DataFrame:
    """The emdi vignette FH ML fit (Mean ~ cash + self_empl, Var_Mean), one row per domain."""
    return pd.read_csv(FIX / "eusilcA" / "fh_ml_fit.csv")


def eusilc_summary() -> dict:
    return json.loads((FIX / "eusilcA" / "fh_ml_summary.json").read_text())


def eusilc_bench() -> pd.DataFrame:
    return pd.read_csv(FIX / "eusilcA" / "benchmark_emdi.csv")


def eusilc_smp() -> pd.DataFrame:
    return pd.read_csv(FIX / "eusilcA" / "eusilcA_smpAgg.csv")


def eusilc_pop() -> pd.DataFrame:
    return pd.read_csv(FIX / "eusilcA" / "eusilcA_popAgg.csv")


def hand() -> dict:
    return json.loads((FIX / "post_hand" / "hand.json").read_text())

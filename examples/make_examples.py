"""Write the sample files in examples/ (see README.md there). Run from anywhere:

    python examples/make_examples.py

Everything is seeded or copied from public data bundled with carepop or shipped in tests/data, so
the files can be remade; the files in the repository are the ones the README's examples run on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from carepop.questionnaires import derive, load_instrument, simulate_responses, stats_template
from carepop.sources.census import load_ts039
from carepop.sources.cld.generate import generate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUNDLED = ROOT / "src" / "carepop" / "data"

#: the councils of the sample responses: Bolton and Hartlepool
LAS = {"E08000001": "BOL", "E06000001": "HAR"}
PER_LA = 150


def responses() -> pd.DataFrame:
    """Adult respondents who agreed to take part and answered the census question on hours of
    care (so every row has a derived ``hours_band``, as calibration to TS039 needs), 150 per LA."""
    ins = load_instrument("unpaid_carers")
    parts = []
    for i, (la, prefix) in enumerate(LAS.items()):
        n = 4 * PER_LA
        df = simulate_responses(
            ins,
            n,
            seed=20240 + i,
            fixed={
                "la_code": la,
                "resp_id": [f"{prefix}{k:04d}" for k in range(1, n + 1)],
                "age": np.random.default_rng(i).integers(18, 91, n),
                "consent_adult": 1,
            },
        )
        keep = derive(df, ins)["hours_band"].notna().to_numpy()
        df = df[keep].head(PER_LA).reset_index(drop=True)
        assert len(df) == PER_LA
        df["resp_id"] = [f"{prefix}{k:04d}" for k in range(1, PER_LA + 1)]
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def write_responses_sav(df: pd.DataFrame, path: Path) -> None:
    """The responses laid out as the SPSS template of the instrument (one 0/1 column per option
    of a multiple-choice item, variable and value labels, user-missing codes), plus
    ``design_weight``: residents aged 5+ of the LA (TS039) over the LA's respondents."""
    ins = load_instrument("unpaid_carers")
    t = stats_template(ins, include_derived=False)
    data = derive(df, ins)[list(t.frame.columns)]
    residents = load_ts039("la").set_index("area_code")["residents_5plus"]
    n = data.groupby("la_code")["la_code"].transform("size")
    data["design_weight"] = data["la_code"].map(residents).to_numpy() / n.to_numpy()
    pyreadstat.write_sav(
        data,
        str(path),
        file_label="carepop example: unpaid carers responses",
        column_labels={**t.column_labels, "design_weight": "Design weight (residents 5+ / respondents)"},
        variable_value_labels=t.value_labels,
        missing_ranges={k: list(v) for k, v in t.missing_codes.items()},
        variable_measure={**t.measure, "design_weight": "scale"},
        compress=True,
    )


def apiclus1_with_jk1() -> pd.DataFrame:
    """R's apiclus1 with the 15 JK1 replicate weights R's as.svrepdesign gives it (tests/data)."""
    data = pd.read_csv(ROOT / "tests" / "data" / "apiclus1.csv")
    reps = pd.read_csv(ROOT / "tests" / "data" / "apiclus1_jk1.csv")
    return pd.concat([data, reps], axis=1)


def nomis_bulk() -> str:
    """TS039 for the twelve North East councils (E06000001-E06000057 and E08000021-E08000037 in the
    bundled Nomis bulk file), rows copied as they are."""
    lines = (BUNDLED / "census2021" / "ts039_unpaid_care_la.csv").read_text().splitlines(keepends=True)
    north_east = {
        "E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000047",
        "E06000057", "E08000021", "E08000022", "E08000023", "E08000024", "E08000037",
    }  # fmt: skip
    rows = [ln for ln in lines[1:] if ln.split(",")[2] in north_east]
    assert len(rows) == len(north_east)
    return lines[0] + "".join(rows)


def frame() -> pd.DataFrame:
    """A frame of MSOAs (the PSUs of `carepop demo`) in three councils, sized by residents aged 5+."""
    m = load_ts039("msoa")
    m = m[m["la_code"].isin(["E08000001", "E06000001", "E06000047"])]
    return m[["area_code", "area_name", "la_code", "la_name", "residents_5plus", "carers"]].rename(
        columns={"area_code": "msoa_code", "area_name": "msoa_name"}
    )


def strata() -> pd.DataFrame:
    """The same three councils, one row per council (a stratum): residents aged 5+, carers, and
    the standard deviation of "is a carer" (sqrt(p(1 - p))) for a Neyman allocation."""
    f = frame().groupby(["la_code", "la_name"], as_index=False)[["residents_5plus", "carers"]].sum()
    p = f["carers"] / f["residents_5plus"]
    return f.assign(sd=np.sqrt(p * (1 - p)).round(4))


def main() -> None:
    df = responses()
    df.to_csv(HERE / "responses.csv", index=False)
    write_responses_sav(df, HERE / "responses.sav")
    # R's apipop counts of sch.wide (its totals add up to the stype totals: 6,194 schools)
    pd.DataFrame({"value": ["No", "Yes"], "total": [1072, 5122]}).to_csv(HERE / "sch_wide.csv", index=False)
    # R's apipop counts of school types (table(apipop$stype))
    pd.DataFrame({"value": ["E", "H", "M"], "total": [4421, 755, 1018]}).to_csv(
        HERE / "stype.csv", index=False
    )
    apiclus1_with_jk1().to_csv(HERE / "apiclus1_with_jk1.csv", index=False)
    (HERE / "nomis_bulk.csv").write_text(nomis_bulk())
    frame().to_csv(HERE / "frame.csv", index=False)
    strata().to_csv(HERE / "strata.csv", index=False)
    generate(HERE / "events.parquet", rows=2000, seed=1)
    # R Rcapture's HIV data (Abeni, Brancato & Perucci 1994): four lists, counts by capture history
    (HERE / "hiv_lists.csv").write_bytes((ROOT / "tests" / "capture" / "fixtures" / "hiv.csv").read_bytes())


if __name__ == "__main__":
    main()

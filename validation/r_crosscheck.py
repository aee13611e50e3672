"""Live cross-check of carepop against R's ``survey`` package.

Run ``python validation/r_crosscheck.py`` (R with the ``survey`` package must be installed and
``Rscript`` on PATH). The script gathers the comparisons of every topic module (:data:`TOPICS`,
in this order: the order of the table), runs R once on the fixtures in ``tests/data/`` and
carepop on the same data with R's replicate weights, prints a table of the largest relative
difference per comparison and writes it to ``validation/README.md`` (between its
``r-crosscheck`` markers). ``--topic NAME`` runs only the comparisons of one topic (and leaves
the README alone).

The harness (R script, comparison, table) is ``r_harness.py``; each ``checks_<topic>.py`` holds
R code and carepop code side by side, and ``test_r_<topic>.py`` runs them under pytest.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import checks_domains
import checks_lonely
import checks_quantiles
import checks_ratios_proportions
import checks_replicate
import checks_taylor
import checks_weighting
import r_harness as h

#: topic name -> its comparisons, in the order of the published table
TOPICS: dict[str, list[h.Check]] = {
    "taylor": checks_taylor.CHECKS,
    "domains": checks_domains.CHECKS,
    "ratios_proportions": checks_ratios_proportions.CHECKS,
    "quantiles": checks_quantiles.CHECKS,
    "replicate": checks_replicate.CHECKS,
    "lonely": checks_lonely.CHECKS,
    "weighting": checks_weighting.CHECKS,
}

#: every comparison
CHECKS: list[h.Check] = [c for checks in TOPICS.values() for c in checks]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-readme", action="store_true", help="do not rewrite validation/README.md")
    p.add_argument("--keep", type=Path, help="keep the R script, R's results and weights in this directory")
    p.add_argument("--topic", choices=sorted(TOPICS), help="run only this topic's comparisons (no README)")
    a = p.parse_args(argv)
    if shutil.which("Rscript") is None:
        print("Rscript is not on PATH: install R and the 'survey' package to run the cross-check.")
        return 2
    checks = TOPICS[a.topic] if a.topic else CHECKS
    t0 = time.perf_counter()
    outcomes = h.crosscheck(checks, a.keep)
    secs = time.perf_counter() - t0
    print(h.table(outcomes))
    print("\n" + h.summary(outcomes, secs))
    if not a.no_readme and not a.topic:
        h.write_readme(outcomes, h.r_version(), secs)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

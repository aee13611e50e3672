"""The harness of the live cross-check of carepop against R's ``survey`` package.

The comparisons themselves live in one module per topic (``checks_*.py``); ``r_crosscheck.py``
gathers them, and is the script to run. This module

1. assembles an R script (:func:`r_script`) that reads the API fixtures in ``tests/data/``, builds
   the R designs, evaluates the R code of every comparison and writes R's numbers (17 significant
   digits) plus the replicate weights it generated to a working directory (:func:`run_r`);
2. gives the carepop side the same fixtures and R's replicate weights (:class:`Ctx`) and compares
   (:func:`compare`);
3. formats the table of the largest relative difference per comparison and writes it to
   ``validation/README.md`` (:func:`table`, :func:`summary`, :func:`write_readme`).

Relative difference: ``|carepop - R| / |R|`` (the absolute difference where R's value is 0);
two NaNs agree. Each comparison has a tolerance (:data:`DEFAULT_TOL` unless stated).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from carepop import CarepopError, Survey

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
README = HERE / "README.md"

#: relative tolerance of a comparison unless it says otherwise
DEFAULT_TOL = 1e-9
#: every comparison must at least meet the project's requirement
REQUIRED_TOL = 1e-6

# --------------------------------------------------------------------------- R side

R_PREAMBLE = r"""
args <- commandArgs(trailingOnly = TRUE)
DATA <- args[1]; OUT <- args[2]
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE, warn = -1)
rd <- function(n) read.csv(file.path(DATA, paste0(n, ".csv")), stringsAsFactors = TRUE)
wcsv <- function(m, file) {
  m <- as.data.frame(m)
  for (v in names(m)) if (is.double(m[[v]])) m[[v]] <- sprintf("%.17g", m[[v]])
  write.csv(m, file.path(OUT, file), row.names = FALSE, quote = FALSE)
}
repw <- function(r, prefix) {
  m <- unclass(as.matrix(weights(r, "analysis")))
  m <- matrix(as.numeric(m), nrow = nrow(m))
  colnames(m) <- paste0(prefix, seq_len(ncol(m)))
  m
}
meta <- list()
addmeta <- function(name, r) {
  meta[[name]] <<- data.frame(design = name, scale = sprintf("%.17g", r$scale),
                              rscales = paste(sprintf("%.17g", r$rscales), collapse = " "))
}
## v(): estimates then standard errors
v <- function(x) c(coef(x), as.vector(as.matrix(SE(x))))
## vci(): estimates, standard errors, normal (Wald) interval bounds
vci <- function(x) { ci <- confint(x); c(coef(x), SE(x), ci[, 1], ci[, 2]) }
## quantile rows: estimate, lower, upper, se
vq <- function(q) as.vector(t(q[[1]]))[c(1, 2, 3, 4)]
vqby <- function(b) c(coef(b), SE(b), b$ci_l, b$ci_u)
## a svyciprop: estimate, lower, upper
vcp <- function(p) c(as.numeric(p), attr(p, "ci"))
## svyby(svyciprop, vartype = "ci"): estimates, lower, upper
vcpby <- function(b) c(coef(b), b$ci_l, b$ci_u)
## logit interval of svyciprop on a replicate design, in closed form (no IRLS): the replicate
## variance of the replicates' logits (what svyglm.svyrep.design computes)
logit_rep <- function(d, level = 0.95) {
  m <- svymean(~as.numeric(sch.wide == "Yes"), d, return.replicates = TRUE)
  eta <- qlogis(as.numeric(m$mean))
  v <- survey:::svrVar(qlogis(m$replicates), d$scale, d$rscales, mse = d$mse, coef = eta)
  c(plogis(eta), plogis(eta + c(-1, 1) * qt(1 - (1 - level) / 2, degf(d)) * sqrt(as.numeric(v))))
}
## per-domain t interval with the domain's design df
tdom <- function(d, by, FUN) {
  lv <- sort(unique(as.character(d$variables[[by]])))
  m <- sapply(lv, function(l) {
    dd <- d[as.character(d$variables[[by]]) == l, ]
    e <- FUN(dd)
    ci <- confint(e, df = degf(dd))
    c(coef(e), SE(e), ci[1, 1], ci[1, 2], degf(dd))
  })
  as.vector(m)
}

apistrat <- rd("apistrat"); apiclus1 <- rd("apiclus1"); apiclus2 <- rd("apiclus2"); apisrs <- rd("apisrs")
ud <- sort(unique(apiclus2$dnum)); apiclus2$pstrat <- (match(apiclus2$dnum, ud) + 1) %/% 2
ud1 <- sort(unique(apiclus1$dnum)); k1 <- match(apiclus1$dnum, ud1)
apiclus1$lstrat <- ifelse(k1 == 1, "A", ifelse(k1 <= 8, "B", "C"))
lonely1 <- apistrat[apistrat$stype != "H" | !duplicated(apistrat$stype), ]
lonely3 <- apiclus2[!(apiclus2$dnum == 83 & duplicated(apiclus2$dnum)), ]
apistrat$frac <- as.vector(table(apistrat$stype)[as.character(apistrat$stype)]) / apistrat$fpc
apiclus2$pin <- ave(apiclus2$dnum, apiclus2$pstrat, FUN = function(x) match(x, sort(unique(x))))

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dstrat0 <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
dpair <- svydesign(id = ~dnum, strata = ~pstrat, weights = ~pw, data = apiclus2)
dsrs <- svydesign(id = ~1, weights = ~pw, fpc = ~fpc, data = apisrs)
dclus1w <- svydesign(id = ~dnum, fpc = ~fpc, data = apiclus1)
dfrac <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~frac, data = apistrat)
dnest <- svydesign(id = ~pin, strata = ~pstrat, weights = ~pw, nest = TRUE, data = apiclus2)

rjk1 <- as.svrepdesign(dclus1, type = "JK1", compress = FALSE)
wcsv(repw(rjk1, "rw"), "jk1.csv"); addmeta("jk1", rjk1)
rjkn <- as.svrepdesign(dstrat, type = "JKn", compress = FALSE)
wcsv(repw(rjkn, "rw"), "jkn.csv"); addmeta("jkn", rjkn)
rjkn0 <- as.svrepdesign(dstrat0, type = "JKn", compress = FALSE)
wcsv(repw(rjkn0, "rw"), "jkn0.csv"); addmeta("jkn0", rjkn0)
rbrr <- as.svrepdesign(dpair, type = "BRR", compress = FALSE)
wcsv(repw(rbrr, "rw"), "brr.csv"); addmeta("brr", rbrr)
rfay <- as.svrepdesign(dpair, type = "Fay", fay.rho = 0.3, compress = FALSE)
wcsv(repw(rfay, "rw"), "fay.csv"); addmeta("fay", rfay)
set.seed(20240601)
rboot <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 50, compress = FALSE)
wcsv(repw(rboot, "rw"), "boot.csv"); addmeta("boot", rboot)
rsdr <- svrepdesign(data = apiclus2, repweights = repw(rfay, "rw"), weights = ~pw,
                    type = "successive-difference", combined.weights = TRUE)
addmeta("sdr", rsdr)
rjk1m <- svrepdesign(data = apiclus1, repweights = repw(rjk1, "rw"), weights = ~pw, type = "JK1",
                     scale = rjk1$scale, rscales = rjk1$rscales, combined.weights = TRUE, mse = TRUE)
rbootm <- svrepdesign(data = apiclus1, repweights = repw(rboot, "rw"), weights = ~pw,
                      type = "bootstrap", scale = rboot$scale, rscales = rboot$rscales,
                      combined.weights = TRUE, mse = TRUE)
wcsv(do.call(rbind, meta), "meta.csv")

lonely_design <- function(which) {
  if (which == 1) svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = lonely1)
  else if (which == 2) svydesign(id = ~dnum, strata = ~lstrat, weights = ~pw, data = apiclus1)
  else svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = lonely3)
}
with_lonely <- function(policy, expr) {
  op <- options(survey.lonely.psu = policy); on.exit(options(op))
  force(expr)
}

.res <- list()
"""

R_FOOTER = r"""
out <- character(0)
for (nm in names(.res)) {
  x <- .res[[nm]]
  if (inherits(x, "error")) {
    out <- c(out, paste(nm, 0, paste0("ERROR: ", gsub("[\r\n,]", " ", conditionMessage(x))), sep = ","))
  } else {
    x <- as.numeric(unlist(x))
    out <- c(out, paste(nm, seq_along(x), sprintf("%.17g", x), sep = ","))
  }
}
writeLines(c("name,i,value", out), file.path(OUT, "results.csv"))
"""


def r_script(checks: Sequence[Check]) -> str:
    """The complete R script evaluating ``checks``."""
    body = []
    for c in checks:
        body.append(f'.res[["{c.name}"]] <- tryCatch({{\n{c.r.strip()}\n}}, error = function(e) e)')
    return R_PREAMBLE + "\n".join(body) + "\n" + R_FOOTER


# --------------------------------------------------------------------------- carepop side


class Ctx:
    """Fixtures and R's exported replicate weights, for the carepop side of the checks."""

    def __init__(self, rdir: Path) -> None:
        self.rdir = rdir
        self.strat = pd.read_csv(DATA / "apistrat.csv")
        self.clus1 = pd.read_csv(DATA / "apiclus1.csv")
        self.clus2 = pd.read_csv(DATA / "apiclus2.csv")
        self.srs = pd.read_csv(DATA / "apisrs.csv")
        ud = np.sort(self.clus2["dnum"].unique())
        self.clus2["pstrat"] = (np.searchsorted(ud, self.clus2["dnum"]) + 2) // 2
        ud1 = np.sort(self.clus1["dnum"].unique())
        k1 = np.searchsorted(ud1, self.clus1["dnum"]) + 1
        self.clus1["lstrat"] = np.where(k1 == 1, "A", np.where(k1 <= 8, "B", "C"))
        s = self.strat
        self.lonely1 = s[(s["stype"] != "H") | ~s["stype"].duplicated()].reset_index(drop=True)
        c2 = self.clus2
        self.lonely3 = c2[~((c2["dnum"] == 83) & c2["dnum"].duplicated())].reset_index(drop=True)
        self.strat["frac"] = self.strat.groupby("stype")["stype"].transform("size") / self.strat["fpc"]
        self.clus2["pin"] = self.clus2.groupby("pstrat")["dnum"].rank(method="dense").astype(int)
        meta = pd.read_csv(rdir / "meta.csv", dtype={"rscales": str})
        self.meta = {
            r.design: (float(r.scale), np.array([float(x) for x in r.rscales.split()]))
            for r in meta.itertuples()
        }
        self._reps: dict[str, pd.DataFrame] = {}

    def reps(self, name: str) -> pd.DataFrame:
        if name not in self._reps:
            self._reps[name] = pd.read_csv(self.rdir / f"{name}.csv")
        return self._reps[name]

    # designs -------------------------------------------------------------
    def dstrat(self, **kw) -> Survey:
        return Survey(self.strat, weight="pw", strata="stype", fpc="fpc", **kw)

    def dstrat0(self) -> Survey:
        return Survey(self.strat, weight="pw", strata="stype")

    def dclus1(self) -> Survey:
        return Survey(self.clus1, weight="pw", psu="dnum", fpc="fpc")

    def dclus2(self) -> Survey:
        return Survey(self.clus2, psu="dnum", ssu="snum", fpc="fpc1", fpc2="fpc2")

    def lonely(self, which: int, policy: str) -> Survey:
        if which == 1:
            return Survey(self.lonely1, weight="pw", strata="stype", fpc="fpc", lonely_psu=policy)
        if which == 2:
            return Survey(self.clus1, weight="pw", strata="lstrat", psu="dnum", lonely_psu=policy)
        return Survey(self.lonely3, psu="dnum", ssu="snum", fpc="fpc1", fpc2="fpc2", lonely_psu=policy)

    def rep(
        self,
        name: str,
        method: str,
        *,
        mse: bool = False,
        shuffle: bool = False,
        pass_rscales: bool = True,
        pass_scale: bool = True,
        rho: float | None = None,
    ) -> Survey:
        base = {
            "jk1": self.clus1,
            "jkn": self.strat,
            "jkn0": self.strat,
            "brr": self.clus2,
            "fay": self.clus2,
            "boot": self.clus1,
            "sdr": self.clus2,
        }[name]
        w = self.reps("fay" if name == "sdr" else name)
        df = pd.concat([base.reset_index(drop=True), w], axis=1)
        if shuffle:
            df = df.sample(frac=1.0, random_state=12345).reset_index(drop=True)
        scale, rscales = self.meta[name]
        return Survey.replicate(
            df,
            repweights=list(w.columns),
            method=method,
            weight="pw",
            rho=rho,
            scale=scale if pass_scale else None,
            rscales=rscales if pass_rscales else None,
            mse=mse,
        )


def cols(est, names: Sequence[str] = ("estimate", "se"), level=None, sort_by: Sequence[str] | None = None):
    """Concatenate result columns (all rows of the first column, then the next...)."""
    t = est.to_pandas()
    if level is not None:
        t = t[t["level"] == level]
    if sort_by:
        t = t.sort_values(list(sort_by), kind="stable")
    return np.concatenate([t[c].to_numpy(dtype=float) for c in names])


def by_level(est, names: Sequence[str] = ("estimate", "se")):
    """Proportions by domain in R svyby order: per statistic, levels outer, domains inner."""
    t = est.to_pandas()
    levels = list(dict.fromkeys(t["level"]))
    return np.concatenate([t[t["level"] == lv][c].to_numpy(dtype=float) for c in names for lv in levels])


WCI = ("estimate", "se", "ci_lower", "ci_upper")
QCI = ("estimate", "ci_lower", "ci_upper", "se")


def tdom(est):
    """Per-domain rows estimate, se, lower, upper, df (R helper ``tdom``)."""
    t = est.to_pandas()
    return t[["estimate", "se", "ci_lower", "ci_upper", "df"]].to_numpy(dtype=float).ravel()


# --------------------------------------------------------------------------- the comparisons


@dataclass(frozen=True)
class Check:
    """One comparison: R code giving a numeric vector, and carepop code giving the same vector."""

    name: str
    group: str
    what: str
    r: str
    py: Callable[[Ctx], np.ndarray]
    tol: float = DEFAULT_TOL
    note: str = ""
    #: a known disagreement of carepop with R (explained here); expected to exceed ``tol``
    known: str = ""


def fails(fn: Callable[[], object]) -> np.ndarray:
    try:
        fn()
    except CarepopError:
        return np.array([1.0])
    return np.array([0.0])


def registry(checks: list[Check]) -> Callable[..., Callable]:
    """A decorator ``check(name, group, what, r, tol=, note=, known=)`` that appends a
    :class:`Check` with the decorated carepop function to ``checks`` (one list per topic module)."""

    def check(name, group, what, r, tol=DEFAULT_TOL, note="", known=""):
        def deco(fn):
            checks.append(Check(name, group, what, r, fn, tol, note, known))
            return fn

        return deco

    return check


# --------------------------------------------------------------------------- running


@dataclass
class Outcome:
    check: Check
    r: np.ndarray | None
    py: np.ndarray | None
    max_rel: float
    error: str = ""

    @property
    def within_tol(self) -> bool:
        return not self.error and self.max_rel <= self.check.tol

    @property
    def ok(self) -> bool:
        """As expected: within tolerance, or (for a known disagreement) still disagreeing."""
        if self.check.known:
            return not self.error and not self.within_tol
        return self.within_tol

    @property
    def status(self) -> str:
        if self.error:
            return f"**FAIL** {self.error}"
        if self.check.known:
            return "known disagreement (see below)" if not self.within_tol else "**now agrees** (update)"
        return "ok" if self.within_tol else "**FAIL**"


def rel_diff(py: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Elementwise relative difference (absolute where R's value is 0; 0 where both are NaN)."""
    py = np.asarray(py, dtype=float)
    r = np.asarray(r, dtype=float)
    both_nan = np.isnan(py) & np.isnan(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.abs(py - r) / np.where(r == 0, 1.0, np.abs(r))
    d = np.where(both_nan, 0.0, d)
    return np.where(np.isnan(d), np.inf, d)


def run_r(checks: Sequence[Check], workdir: Path, timeout: float = 120) -> dict[str, np.ndarray | str]:
    """Run the R script in ``workdir``; R's values per check (or its error message)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise RuntimeError("Rscript is not on PATH")
    script = workdir / "crosscheck.R"
    script.write_text(r_script(checks))
    proc = subprocess.run(
        [rscript, "--vanilla", str(script), str(DATA), str(workdir)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0 or not (workdir / "results.csv").exists():
        raise RuntimeError(f"R failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    res = pd.read_csv(workdir / "results.csv", dtype={"value": str}, keep_default_na=False)
    out: dict[str, np.ndarray | str] = {}
    for name, g in res.groupby("name", sort=False):
        vals = g["value"].tolist()
        if vals and vals[0].startswith("ERROR"):
            out[name] = vals[0]
        else:
            out[name] = np.array([float("nan") if x in ("NA", "NaN") else float(x) for x in vals])
    return out


def compare(checks: Sequence[Check], r_values: dict[str, np.ndarray | str], ctx: Ctx) -> list[Outcome]:
    outcomes = []
    for c in checks:
        rv = r_values.get(c.name)
        if rv is None or isinstance(rv, str):
            outcomes.append(Outcome(c, None, None, math.inf, f"R: {rv or 'no result'}"))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. quantile bounds beyond the data (NaN, as R)
                pv = np.asarray(c.py(ctx), dtype=float)
        except Exception as exc:  # reported, not raised: one failure should not hide the others
            outcomes.append(Outcome(c, rv, None, math.inf, f"carepop: {type(exc).__name__}: {exc}"))
            continue
        if pv.shape != rv.shape:
            outcomes.append(Outcome(c, rv, pv, math.inf, f"shape: carepop {pv.shape} vs R {rv.shape}"))
            continue
        outcomes.append(Outcome(c, rv, pv, float(rel_diff(pv, rv).max()) if rv.size else 0.0))
    return outcomes


class RRun:
    """R run once for a set of checks; the carepop side of a check is computed when asked for
    (so that under pytest each check's carepop work happens in its own test)."""

    def __init__(self, checks: Sequence[Check], workdir: Path) -> None:
        self.r_values = run_r(checks, workdir)
        self.ctx = Ctx(workdir)

    def outcome(self, check: Check) -> Outcome:
        return compare([check], self.r_values, self.ctx)[0]


def crosscheck(checks: Sequence[Check], workdir: Path | None = None) -> list[Outcome]:
    """Run R and carepop on ``checks`` and compare."""
    with tempfile.TemporaryDirectory(prefix="carepop_r_") as tmp:
        wd = Path(workdir) if workdir is not None else Path(tmp)
        wd.mkdir(parents=True, exist_ok=True)
        r_values = run_r(checks, wd)
        ctx = Ctx(wd)
        return compare(checks, r_values, ctx)


def r_version() -> str:
    proc = subprocess.run(
        ["Rscript", "--vanilla", "-e", 'cat(R.version.string, "/ survey", format(packageVersion("survey")))'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.stdout.strip()


def table(outcomes: Sequence[Outcome]) -> str:
    """Markdown table of the outcomes."""
    lines = [
        "| comparison | group | what | values | max rel. diff | tolerance | result |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for o in outcomes:
        n = "" if o.r is None else str(o.r.size)
        diff = "—" if math.isinf(o.max_rel) else f"{o.max_rel:.1e}"
        lines.append(
            f"| `{o.check.name}` | {o.check.group} | {o.check.what} | {n} | {diff} | "
            f"{o.check.tol:.0e} | {o.status} |"
        )
    return "\n".join(lines)


README_HEAD = """## Live validation against R `survey`

`r_crosscheck.py` writes an R script, runs it with `Rscript` on the fixtures in `tests/data/`
(R's `data(api)`), and computes the same numbers with carepop. Replicate weights are generated
by R (`as.svrepdesign`, `svrepdesign`) in the same run and loaded into `Survey.replicate`, so
the replicate comparisons check carepop's variance formulas on exactly R's weights.

    python validation/r_crosscheck.py            # prints the table and rewrites this section
    python -m pytest validation -q               # the same comparisons as tests (skipped without Rscript)

The relative difference of a value is `|carepop - R| / |R|` (absolute where R's value is 0; two
NaNs agree). *values* counts the numbers compared (estimates, SEs, interval bounds, deff, df).
Each comparison must meet its tolerance; all tolerances are at least as strict as 1e-6.
The R code of each comparison sits beside its carepop code in one module per topic (the *group*
column): `checks_taylor.py`, `checks_domains.py`, `checks_ratios_proportions.py` (groups ratio
and proportion), `checks_quantiles.py`, `checks_replicate.py`, `checks_lonely.py` and
`checks_weighting.py`, each run by its `test_r_<topic>.py`; R runs once per test session for all
of them (`conftest.py`). The harness (R script, comparison, this table) is `r_harness.py`.
Golden tests with R's numbers frozen (no R needed) are in `tests/core/test_golden_taylor.py`,
`tests/core/test_golden_replicate.py` and `tests/weighting/test_golden_weighting.py`.
"""


def summary(outcomes: Sequence[Outcome], seconds: float) -> str:
    agree = [o for o in outcomes if not o.check.known]
    known = [o for o in outcomes if o.check.known]
    worst = max((o.max_rel for o in agree), default=0.0)
    n_values = sum(0 if o.r is None else o.r.size for o in outcomes)
    plain = [o.max_rel for o in agree if not o.check.note]
    text = (
        f"{sum(o.within_tol for o in agree)}/{len(agree)} comparisons within tolerance "
        f"({n_values} values in all); largest relative difference {worst:.1e}"
        f" ({max(plain, default=0.0):.1e} outside the comparisons with a note)"
    )
    if known:
        text += f"; {len(known)} known disagreement(s): " + ", ".join(
            f"`{o.check.name}` ({o.max_rel:.1e})" for o in known
        )
    return text + f"; {seconds:.1f} s."


START = "<!-- r-crosscheck:start (written by r_crosscheck.py) -->"
END = "<!-- r-crosscheck:end -->"


def write_readme(outcomes: Sequence[Outcome], version: str, seconds: float) -> None:
    """Write the cross-check section of validation/README.md (between START and END; the rest of
    the file, if any, is kept)."""
    notes = [f"- `{o.check.name}`: {o.check.note}" for o in outcomes if o.check.note]
    known = [f"- `{o.check.name}`: {o.check.known}" for o in outcomes if o.check.known]
    text = README_HEAD + f"\nLast run: {version}. {summary(outcomes, seconds)}\n\n" + table(outcomes) + "\n"
    if known:
        text += "\n### Known disagreements with R\n\n" + "\n".join(known) + "\n"
    if notes:
        text += "\n### Notes\n\n" + "\n".join(notes) + "\n"
    block = f"{START}\n{text}{END}\n"
    old = README.read_text() if README.exists() else ""
    if START in old and END in old:
        head, rest = old.split(START, 1)
        new = head + block + rest.split(END, 1)[1].lstrip("\n")
    elif old.strip():
        new = old.rstrip("\n") + "\n\n" + block
    else:
        new = "# Validation\n\n" + block
    README.write_text(new)

"""The adult social care workforce: filled posts and vacancies from an establishment survey, and
personal-assistant posts from direct payments.

**Filled posts and vacancies** (:func:`workforce_by_area`). Skills for Care grossed up returns
to its establishment data set (ASC-WDS) by coverage within cells of the register of CQC locations
(area × service × employer type; Skills for Care, "The size and structure of the adult social care
sector and workforce in England"): each responding location ``j`` in cell ``h`` has weight
``w_h = N_h / n_h`` — locations in the register's cell over responding locations in it — and

- filled posts ``F̂ = Σ_h w_h Σ_{j∈h} f_j``, vacancies ``V̂ = Σ_h w_h Σ_{j∈h} v_j``,
- vacancy rate ``r̂ = V̂ / (F̂ + V̂)`` (vacancies as a share of all posts, filled or vacant),

for every area, region and England. Variance: the responding locations are taken as a simple
random sample of the register's locations within each cell (response "missing at random" within
cells), i.e. a stratified design with the cells as strata and the register counts as the finite
population corrections — R ``svydesign(ids = ~1, strata = ~cell, fpc = ~N_h)`` with ``svytotal``
and ``svyratio`` (the default, ``variance="stratified"``). ``variance="poststratified"`` is the
equivalent post-stratified design — one simple random sample of the whole register, post-stratified
to the cells' counts: R ``postStratify(svydesign(ids = ~1, fpc = ~N), ~cell, counts)``. The two
give the same estimates; their SEs differ a little (the post-stratified SE conditions on the
achieved cell sizes only through the residuals). Both are carepop's Survey machinery and are checked
against R live in ``tests/measures/test_workforce.py``. Intervals are ``θ̂ ± t_df SE`` with ``df``
= responding locations in the area − cells they fall in (Korn & Graubard's rule for small domains;
the simulation in ``validation/supply_simulation.py`` shows normal intervals under-cover councils
with a few returns per cell); for the rate the linearised SE of the ratio. A cell with one
responding location and more than one registered has no variance estimate of its own:
``lonely_psu`` says what to do (R ``survey.lonely.psu``; default ``adjust``, centring on the grand
mean).

**Personal-assistant posts** (:func:`personal_assistant_posts`). People who employ their own care
staff with a direct payment are in no register of locations. Skills for Care estimate
``PA posts = recipients × share employing staff × PAs per employer``, the last two from a survey
of direct-payment recipients (2022/23: about 215,000 recipients × 32% × 1.87 ≈ 130,000). The
interval comes from :mod:`carepop.measures.propagate`: the delta method, Goodman's exact variance of
a product of independent estimates, or a parametric bootstrap. Recipients (a count from council
returns) are usually treated as known; any input with SE 0 is recorded as treated as known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carepop.core.estimation.ci import critical
from carepop.core.results import TableResult
from carepop.core.survey import Survey
from carepop.errors import CarepopError, data_rows, opt
from carepop.measures.propagate import Propagated, propagate, source
from carepop.sae.areas import need_columns

CELLS = ("council_code", "service", "employer_type")
VARIANCES = ("stratified", "poststratified")
R_DESIGN = {"stratified": "svydesign(strata=~cell, fpc=~N_h)", "poststratified": "postStratify"}


@dataclass(frozen=True)
class WorkforceEstimates(TableResult):
    """Filled posts, vacancies and the vacancy rate by area, region and England (module docstring).

    Columns: ``area_level, area_code, respondents, locations, filled_posts (+ _se, _lower, _upper),
    vacancies (+ ...), vacancy_rate (+ ...), method``."""

    table: pd.DataFrame
    cells: tuple[str, ...]
    variance: str
    level: float
    notes: tuple[str, ...] = field(default_factory=tuple)


def workforce_by_area(
    establishments: pd.DataFrame,
    register: pd.DataFrame,
    *,
    cells: Sequence[str] = CELLS,
    area: str = "council_code",
    filled: str = "filled_posts",
    vacancies: str = "vacancies",
    locations: str | None = None,
    variance: str = "stratified",
    lonely_psu: str = "adjust",
    regions: pd.Series | None = None,
    level: float = 0.95,
) -> WorkforceEstimates:
    """Filled posts, vacancies and the vacancy rate, grossed up by coverage within register cells.

    Parameters
    ----------
    establishments : one row per responding location, with the ``cells`` columns and the counts
        ``filled`` and ``vacancies``.
    register : the register of locations: one row per location with the ``cells`` columns, or one
        row per cell with its number of locations in ``locations``.
    cells : the weighting cells (must include ``area``).
    area : the column of the areas to estimate for (councils by default).
    variance : ``stratified`` (cells as strata with fpc) or ``poststratified`` (module docstring).
    lonely_psu : policy for a cell with one respondent (``adjust``, ``certainty``, ``remove``,
        ``average``, ``fail``).
    regions : area code -> region code, for region rows (default: carepop's council table when
        the areas are councils; None of them found: no region rows).
    """
    cells = tuple(cells)
    if area not in cells:
        raise CarepopError(
            f"The area column {area!r} must be one of the weighting cells {list(cells)}.",
            code="bad_option",
            column=area,
            fix=("add it to ", opt("cells")),
        )
    if variance not in VARIANCES:
        raise CarepopError(
            f"Unknown variance {variance!r}.",
            code="bad_option",
            got=variance,
            expected=VARIANCES,
            fix=("choose ", opt("variance"), " among stratified, poststratified"),
        )
    frame, N = _cell_frame(establishments, register, cells, filled, vacancies, locations)
    frame["_posts"] = frame[filled] + frame[vacancies]
    if variance == "stratified":
        survey = Survey(frame, strata="_cell", fpc="_N", lonely_psu=lonely_psu)
    else:
        from carepop.weighting.poststratify import poststratify

        total = float(N.sum())
        frame["_w0"] = total / len(frame)
        frame["_Ntot"] = total
        base = Survey(frame, weight="_w0", fpc="_Ntot")
        survey = poststratify(base, "_cell", pd.DataFrame({"value": N.index, "total": N.to_numpy()}))
    if regions is None:
        regions = _council_regions()
    codes = frame[area].astype(str)
    region = codes.map(regions) if regions is not None else pd.Series(np.nan, index=frame.index)
    levels = [("council" if area == "council_code" else "area", area)]
    if region.notna().all():
        survey = survey.with_columns(_region=region.to_numpy())
        levels.append(("region", "_region"))
    levels.append(("england", None))
    reg_locations = _register_locations(register, cells, locations)
    parts = []
    for level_name, by in levels:
        tot = survey.total([filled, vacancies], by=by, level=level).to_pandas()
        rate = survey.ratio(vacancies, "_posts", by=by, level=level).to_pandas()
        f = tot[tot["variable"] == filled].reset_index(drop=True)
        v = tot[tot["variable"] == vacancies].reset_index(drop=True)
        if by is None:
            n_loc = np.array([reg_locations.sum()])
        else:
            area_of_reg = reg_locations.index.get_level_values(area).astype(str)
            by_area = reg_locations.groupby(area_of_reg).sum()
            if by == "_region":
                by_area = by_area.groupby(by_area.index.map(regions)).sum()
            n_loc = by_area.reindex(f[by].astype(str)).to_numpy()
        out = pd.DataFrame(
            {
                "area_level": level_name,
                "area_code": f[by].astype(str).to_numpy() if by else "E92000001",
                "respondents": f["n"].to_numpy(),
                "locations": n_loc,
            }
        )
        # degrees of freedom: responding locations in the area minus the cells they are in
        if by is None:
            n_cells = np.array([frame["_cell"].nunique()])
        else:
            key = survey.column(by).astype(str).to_numpy()
            n_cells = pd.Series(frame["_cell"].to_numpy()).groupby(key).nunique()
            n_cells = n_cells.reindex(f[by].astype(str)).to_numpy()
        out["df"] = np.maximum(out["respondents"].to_numpy() - n_cells, 1)
        t = critical(level, out["df"].to_numpy(dtype=float))
        for name, est in (
            ("filled_posts", f),
            ("vacancies", v),
            ("vacancy_rate", rate.reset_index(drop=True)),
        ):
            out[name] = est["estimate"].to_numpy()
            out[f"{name}_se"] = se = est["se"].to_numpy()
            out[f"{name}_lower"] = out[name] - t * se
            out[f"{name}_upper"] = out[name] + t * se
        parts.append(out)
    table = pd.concat(parts, ignore_index=True)
    table["method"] = f"coverage-weighted ({' x '.join(cells)}), {variance} design"
    notes = (
        f"weights: register locations / responding locations in each cell of {' x '.join(cells)}",
        f"variance: {variance} design (R {R_DESIGN[variance]}); "
        f"cells with one respondent: lonely_psu={lonely_psu!r}",
        "responding locations are taken as a random sample of the register within each cell; "
        "the register counts are treated as known",
    )
    return WorkforceEstimates(table=table, cells=cells, variance=variance, level=level, notes=notes)


def _register_locations(register: pd.DataFrame, cells: tuple[str, ...], locations: str | None) -> pd.Series:
    """Locations per cell of the register (a Series with a MultiIndex over ``cells``)."""
    keys = [register[c].astype(str) for c in cells]
    out = register.groupby(keys).size() if locations is None else register.groupby(keys)[locations].sum()
    if not isinstance(out.index, pd.MultiIndex):  # grouping by one column gives a plain Index
        out.index = pd.MultiIndex.from_arrays([out.index])
    return out


def _cell_frame(
    establishments: pd.DataFrame,
    register: pd.DataFrame,
    cells: tuple[str, ...],
    filled: str,
    vacancies: str,
    locations: str | None,
) -> tuple[pd.DataFrame, pd.Series]:
    """The respondents with their cell key ``_cell`` and register count ``_N``; N by cell."""
    for table, what, cols in (
        (establishments, "establishments", [*cells, filled, vacancies]),
        (register, "register", [*cells] + ([locations] if locations else [])),
    ):
        need_columns(table, cols, f"The {what} table")
    for col in (filled, vacancies):
        x = pd.to_numeric(establishments[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x) | (x < 0)
        if bad.any():
            raise CarepopError(
                f"{col!r} must be a count (a number, 0 or more) for every responding location.",
                code="negative_count" if np.any(x[np.isfinite(x)] < 0) else "missing_value",
                column=col,
                rows=data_rows(bad),
                got=establishments[col].to_numpy()[bad][0],
                fix="correct the counts, or drop the locations that did not answer (non-respondents)",
            )
    if locations is not None:
        x = pd.to_numeric(register[locations], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x) | (x < 0)
        if bad.any():
            raise CarepopError(
                "Register counts of locations must be numbers, 0 or more.",
                code="negative_count",
                column=locations,
                rows=data_rows(bad),
                got=register[locations].to_numpy()[bad][0],
                fix="correct the register counts",
            )
    for table, what in ((establishments, "establishments"), (register, "register")):
        for c in cells:
            gap = table[c].isna().to_numpy()
            if gap.any():
                raise CarepopError(
                    f"The {what} have no {c!r} in some rows: every row needs its cell.",
                    code="missing_value",
                    column=c,
                    rows=data_rows(gap),
                    fix="fill in the cell, or drop the rows",
                )
    N = _register_locations(register, cells, locations)
    N = N[N > 0]
    key = lambda t: pd.MultiIndex.from_arrays([t[c].astype(str) for c in cells])  # noqa: E731
    est_key = key(establishments)
    in_register = est_key.isin(N.index)
    if not in_register.all():
        raise CarepopError(
            "Some responding locations are in a cell the register does not have.",
            code="unknown_cell",
            column=", ".join(cells),
            rows=data_rows(~in_register),
            got=" / ".join(est_key[~in_register][0]),
            fix="check the cell codes in both files (same spelling), or the register's vintage",
        )
    n = pd.Series(1, index=est_key).groupby(level=list(range(len(cells)))).sum()
    if not isinstance(n.index, pd.MultiIndex):
        n.index = pd.MultiIndex.from_arrays([n.index])
    n.index = n.index.set_names(N.index.names)
    empty = ~N.index.isin(n.index)
    if empty.any():
        shown = [" / ".join(k) for k in N.index[empty][:5]]
        more = f" and {int(empty.sum()) - 5} more" if empty.sum() > 5 else ""
        raise CarepopError(
            f"{int(empty.sum())} cell(s) of the register have no responding location "
            f"({'; '.join(shown)}{more}), so their locations cannot be represented.",
            code="empty_cell",
            column=", ".join(cells),
            got=shown[0],
            fix=(
                "collapse cells: give fewer ",
                opt("cells"),
                " (e.g. drop the employer type), or merge the empty cell with a neighbour in both files",
            ),
        )
    over = n.reindex(N.index).to_numpy() > N.to_numpy()
    if over.any():
        raise CarepopError(
            "Some cells have more responding locations than the register has.",
            code="more_than_register",
            column=", ".join(cells),
            got=" / ".join(N.index[over][0]),
            fix="check the register's vintage and the cell codes",
        )
    frame = establishments[[*cells, filled, vacancies]].copy()
    frame[filled] = frame[filled].astype(float)
    frame[vacancies] = frame[vacancies].astype(float)
    cell_id = pd.Series(np.arange(len(N)), index=N.index)
    frame["_cell"] = cell_id.reindex(est_key).to_numpy()
    frame["_N"] = N.reindex(est_key).to_numpy(dtype=float)
    N_by_id = pd.Series(N.to_numpy(dtype=float), index=np.arange(len(N)))
    return frame, N_by_id


def _council_regions() -> pd.Series | None:
    from carepop.sources.tables import load_table

    t = load_table("council", None)
    return t.set_index(t["council_code"].astype(str))["region_code"]


# ------------------------------------------------------------------------------ personal assistants
@dataclass(frozen=True)
class PersonalAssistantPosts(TableResult):
    """PA posts = recipients × share employing × PAs per employer, with an interval, by area."""

    table: pd.DataFrame
    result: Propagated
    notes: tuple[str, ...] = field(default_factory=tuple)


def personal_assistant_posts(
    recipients: object,
    share_employing: object,
    pas_per_employer: object,
    *,
    recipients_se: object = 0.0,
    share_employing_se: object = 0.0,
    pas_per_employer_se: object = 0.0,
    area: object = None,
    method: str = "delta",
    boot: int = 2000,
    seed: int | None = None,
    level: float = 0.95,
) -> PersonalAssistantPosts:
    """Personal-assistant posts from direct-payment recipients (module docstring).

    Each input is a number or one value per area (``area`` names them); its SE 0 means treated as
    known. ``method``: ``delta`` (first order), ``exact`` (Goodman: inputs independent) or
    ``bootstrap`` (parametric; all three drawn lognormal, being positive; ``boot``, ``seed``).
    Skills for Care's 2022/23 inputs, 215,000 × 0.32 × 1.87, give about 130,000.
    """
    r = source("recipients", recipients, recipients_se)
    s = source("share employing staff", share_employing, share_employing_se)
    p = source("PAs per employer", pas_per_employer, pas_per_employer_se)
    bad = (s.estimate < 0) | (s.estimate > 1)
    if bad.any():
        raise CarepopError(
            "The share of recipients employing staff must be between 0 and 1.",
            code="out_of_range",
            column="share_employing",
            rows=data_rows(bad),
            got=float(s.estimate[bad][0]),
            fix="give a share (0.32), not a percentage (32)",
        )
    for src, col in ((r, "recipients"), (p, "pas_per_employer")):
        neg = src.estimate < 0
        if neg.any():
            raise CarepopError(
                f"{col} cannot be negative.",
                code="negative_count",
                column=col,
                rows=data_rows(neg),
                got=float(src.estimate[neg][0]),
                fix="check the input",
            )
    res = propagate("product", [r, s, p], method=method, dist="lognormal", boot=boot, seed=seed, level=level)
    M = res.estimate.shape[0]
    codes = np.broadcast_to(np.asarray(area if area is not None else "E92000001", dtype=object), (M,))
    table = pd.DataFrame(
        {
            "area_code": codes,
            "recipients": np.broadcast_to(r.estimate, (M,)),
            "recipients_se": np.broadcast_to(r.se, (M,)),
            "share_employing": np.broadcast_to(s.estimate, (M,)),
            "share_employing_se": np.broadcast_to(s.se, (M,)),
            "pas_per_employer": np.broadcast_to(p.estimate, (M,)),
            "pas_per_employer_se": np.broadcast_to(p.se, (M,)),
        }
    )
    table = pd.concat([table, res.frame("pa_posts")], axis=1)
    table["method"] = method
    table["treated_as_known"] = ", ".join(res.known) or "none"
    notes = (res.description, *res.notes)
    return PersonalAssistantPosts(table=table, result=res, notes=notes)

"""Charts of council estimates and projections, as matplotlib Figures, SVG text or PNG bytes.

- :func:`caterpillar`: every council's estimate with its interval, sorted by the estimate, one
  row per council with its name (the figure grows with the number of councils so names stay
  readable), an optional reference line (e.g. England);
- :func:`direct_vs_model`: the survey's direct estimates against the model's (with the line
  y = x; points below it were pulled down by the model, above it up) and, beside it, the width of
  the direct interval against the model's (points below y = x: the model narrowed the interval);
- :func:`fan_chart`: a projection by year: the central line, its interval as a band and, where
  given, the range across population-projection variants as a wider, lighter band.

Figures are built without pyplot (no global state, nothing shown). :func:`figure_svg` and
:func:`figure_png` render them reproducibly: the SVG's ids come from a fixed hash salt and no date
is written, so the same figure gives the same bytes on every run (text stays text in the SVG, so it
can be selected and searched in the report). Colours: the colour-blind-safe Okabe–Ito blue and
vermilion, and greys.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec

import numpy as np
import pandas as pd

from carepop.errors import CarepopError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

P = ParamSpec("P")

__all__ = ["caterpillar", "direct_vs_model", "fan_chart", "figure_png", "figure_svg"]

BLUE, VERMILION, GREY = "#0072B2", "#D55E00", "#7f7f7f"
#: rcParams that make the output the same on every run and every machine with the same matplotlib
_RC = {
    "svg.hashsalt": "carepop",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _styled(build: Callable[P, Figure]) -> Callable[P, Figure]:
    """Build the figure under carepop's rcParams (sizes and spines are read when axes are made)."""

    @functools.wraps(build)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        import matplotlib

        with matplotlib.rc_context(_RC):
            return build(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _columns(table: pd.DataFrame, columns: Sequence[str | None], what: str) -> pd.DataFrame:
    """The named columns as floats; a missing or non-numeric column is an error naming it."""
    for col in columns:
        if col is None:
            continue
        if col not in table.columns:
            raise CarepopError(
                f"The {what} table has no {col!r} column.",
                code="missing_column",
                column=col,
                got=list(map(str, table.columns))[:10],
                fix=f"pass a table with {', '.join(c for c in columns if c)} or name its columns",
            )
        vals = pd.to_numeric(table[col], errors="coerce")
        bad = vals.isna() & table[col].notna()
        if bad.any():
            raise CarepopError(
                f"Column {col!r} holds values that are not numbers.",
                code="not_numeric",
                column=col,
                rows=[int(i) + 1 for i in np.flatnonzero(bad.to_numpy())[:5]],
                got=list(table[col][bad].astype(str).head(5)),
                fix="give numbers (leave the cell empty where there is no value)",
            )
    return pd.DataFrame(
        {c: pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) for c in columns if c is not None}
    )


def _council_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Council rows only: ``area_level == "council"`` where the column exists; never the rows of
    regions (``E12``) or countries (``E92``). Where a true ``suppressed`` column marks a value
    withheld by disclosure control, every number of that row becomes missing (never drawn)."""
    keep = (
        ~table["area_code"].astype(str).str[:3].isin(("E12", "E92")) if "area_code" in table.columns else True
    )
    if "area_level" in table.columns:
        keep = keep & (table["area_level"].astype(str) == "council")
    out = (table[keep] if keep is not True else table).reset_index(drop=True)
    if "suppressed" in out.columns:
        hidden = out["suppressed"].fillna(False).astype(bool).to_numpy()
        numbers = [c for c in out.columns if c != "suppressed" and pd.api.types.is_numeric_dtype(out[c])]
        out = out.astype({c: float for c in numbers})
        out.loc[hidden, numbers] = np.nan
    return out


def _percent_axis(axis: object, value_format: str) -> None:
    """Label an axis as per cent when ``value_format`` is a percentage format."""
    if "%" in value_format:
        from matplotlib.ticker import PercentFormatter

        axis.set_major_formatter(PercentFormatter(1.0))  # type: ignore[attr-defined]


@_styled
def caterpillar(
    table: pd.DataFrame,
    *,
    value: str = "estimate",
    lower: str = "ci_lower",
    upper: str = "ci_upper",
    name: str = "area_name",
    label: str = "",
    title: str = "",
    reference: float | None = None,
    reference_label: str = "England",
    value_format: str = "{:.3g}",
) -> Figure:
    """Estimates with their intervals, one row per council sorted by the estimate (highest at the
    top), councils named on the left; councils without a value are left out and counted in the
    caption."""
    t = _council_rows(table).reset_index(drop=True)
    v = _columns(t, [value, lower, upper], "caterpillar")
    names = t[name].astype(str) if name in t.columns else t["area_code"].astype(str)
    ok = np.isfinite(v[value]).to_numpy()
    order = np.argsort(v[value].to_numpy()[ok], kind="stable")
    est = v[value].to_numpy()[ok][order]
    lo, hi = v[lower].to_numpy()[ok][order], v[upper].to_numpy()[ok][order]
    n = len(est)
    fig = _figure(6.5, max(2.5, 0.13 * n + 1.2))
    ax = fig.subplots()
    y = np.arange(n)
    ax.hlines(y, lo, hi, color=BLUE, alpha=0.55, lw=1.4)
    ax.plot(est, y, "o", color=BLUE, ms=2.8)
    span = float(np.nanmax(hi) - np.nanmin(lo)) if n else 0.0
    if reference is not None and n and not (np.nanmin(lo) - span <= reference <= np.nanmax(hi) + span):
        reference = None  # e.g. England's total beside councils' counts: off the councils' scale
    if reference is not None:
        ax.axvline(
            reference,
            color=VERMILION,
            lw=1,
            ls="--",
            label=f"{reference_label} {value_format.format(reference)}",
        )
        ax.legend(loc="lower right", frameon=False)
    ax.set_yticks(y, names.to_numpy()[ok][order], fontsize=6 if n > 40 else 8)
    ax.set_ylim(-0.8, n - 0.2)
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", top=True, labeltop=n > 40)
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    _percent_axis(ax.xaxis, value_format)
    ax.set_xlabel(f"{label or value} (95% interval)")
    missing = int((~ok).sum())
    note = f"\n{missing} council(s) without a value (or suppressed) not shown" if missing else ""
    ax.set_title(title + note, loc="left")
    return fig


@_styled
def direct_vs_model(
    table: pd.DataFrame,
    *,
    direct: str = "direct",
    model: str = "estimate",
    direct_lower: str | None = "direct_lower",
    direct_upper: str | None = "direct_upper",
    direct_se: str | None = "direct_se",
    model_lower: str = "ci_lower",
    model_upper: str = "ci_upper",
    label: str = "",
    title: str = "",
    value_format: str = "{:.3g}",
) -> Figure:
    """Left: the direct estimate (x) against the model estimate (y), with y = x. Right: the width
    of each council's 95% interval, direct (x) against model (y). The direct interval is
    ``direct_lower``..``direct_upper`` when the table has them, else ``direct ± 1.96 direct_se``;
    without either, only the left panel is drawn."""
    t = _council_rows(table).reset_index(drop=True)
    v = _columns(t, [direct, model, model_lower, model_upper], "direct vs model")
    if direct_lower in t.columns and direct_upper in t.columns:
        d = _columns(t, [direct_lower, direct_upper], "direct vs model")
        direct_width = (d[direct_upper] - d[direct_lower]).to_numpy()
    elif direct_se in t.columns:
        direct_width = 2 * 1.959964 * _columns(t, [direct_se], "direct vs model")[direct_se].to_numpy()
    else:
        direct_width = None
    both = np.isfinite(v[direct]) & np.isfinite(v[model])
    fig = _figure(9.0 if direct_width is not None else 4.8, 4.3)
    axes = fig.subplots(1, 2 if direct_width is not None else 1, squeeze=False)[0]
    ax = axes[0]
    x, y = v[direct][both], v[model][both]
    ax.scatter(x, y, s=12, color=BLUE, alpha=0.75, edgecolors="none")
    lim = (
        [float(np.nanmin([x.min(), y.min()])), float(np.nanmax([x.max(), y.max()]))] if both.any() else [0, 1]
    )
    ax.plot(lim, lim, color=GREY, lw=1, ls="--", label="y = x")
    ax.set_xlabel(f"direct (survey) {label}".strip())
    ax.set_ylabel(f"model {label}".strip())
    _percent_axis(ax.xaxis, value_format)
    _percent_axis(ax.yaxis, value_format)
    ax.legend(loc="upper left", frameon=False)
    ax.set_title(f"Estimates ({int(both.sum())} councils with a direct estimate)", loc="left", fontsize=9)
    ax.set_aspect("equal", adjustable="datalim")
    if direct_width is not None:
        ax = axes[1]
        mw = (v[model_upper] - v[model_lower]).to_numpy()
        ok = np.isfinite(direct_width) & np.isfinite(mw)
        ax.scatter(direct_width[ok], mw[ok], s=12, color=VERMILION, alpha=0.75, edgecolors="none")
        top = float(np.nanmax(np.r_[direct_width[ok], mw[ok]])) if ok.any() else 1.0
        ax.plot([0, top], [0, top], color=GREY, lw=1, ls="--", label="y = x")
        ax.set_xlim(0, top * 1.05)
        ax.set_ylim(0, top * 1.05)
        ax.set_xlabel("width of the direct 95% interval")
        ax.set_ylabel("width of the model 95% interval")
        _percent_axis(ax.xaxis, value_format)
        _percent_axis(ax.yaxis, value_format)
        share = float(np.mean(mw[ok] < direct_width[ok])) if ok.any() else float("nan")
        ax.set_title(f"Interval widths (model narrower for {share:.0%})", loc="left", fontsize=9)
        ax.legend(loc="upper left", frameon=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left")
    return fig


@_styled
def fan_chart(
    table: pd.DataFrame,
    *,
    year: str = "year",
    value: str = "estimate",
    lower: str = "ci_lower",
    upper: str = "ci_upper",
    variant_lower: str | None = "variant_lower",
    variant_upper: str | None = "variant_upper",
    label: str = "",
    title: str = "",
    value_format: str = "{:,.0f}",
) -> Figure:
    """A projection over years: central line, 95% interval band and (when the table has the
    columns) the range across population-projection variants as a wider, lighter band. One row per
    year (sorted here)."""
    cols = [year, value, lower, upper]
    has_variant = variant_lower in table.columns and variant_upper in table.columns
    if has_variant:
        cols += [variant_lower, variant_upper]
    v = _columns(table, cols, "projection").sort_values(year, kind="stable")
    if v[year].duplicated().any():
        rows = np.flatnonzero(pd.to_numeric(table[year], errors="coerce").duplicated(keep=False).to_numpy())
        raise CarepopError(
            "The projection has more than one row for a year.",
            code="duplicate_year",
            column=year,
            rows=[int(i) + 1 for i in rows[:5]],
            fix="give one area's projection, one row per year",
        )
    fig = _figure(6.5, 3.8)
    ax = fig.subplots()
    if has_variant:
        ax.fill_between(
            v[year],
            v[variant_lower],
            v[variant_upper],
            color=BLUE,
            alpha=0.12,
            lw=0,
            label="range of projection variants",
        )
    ax.fill_between(v[year], v[lower], v[upper], color=BLUE, alpha=0.3, lw=0, label="95% interval")
    ax.plot(v[year], v[value], color=BLUE, lw=2, label="central projection")
    ax.set_xlabel("year")
    ax.set_ylabel(label or value)
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if "%" in value_format:
        _percent_axis(ax.yaxis, value_format)
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _pos: value_format.format(x)))
    ax.grid(axis="y", color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", frameon=False)
    ax.set_title(title, loc="left")
    return fig


def figure_svg(fig: Figure, *, id_prefix: str | None = None) -> str:
    """The figure as SVG text, the same bytes on every run (fixed hash salt, no date), without the
    XML prolog so it can sit inline in HTML. Every id inside (and every ``url(#id)`` /
    ``href="#id"`` pointing to one) gets ``id_prefix``, so several figures on one page never share
    an id (matplotlib names its elements ``figure_1``, ``axes_1``, ... in every figure); by default
    the prefix is a hash of the SVG itself."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "carepop"})
    svg = buf.getvalue()
    svg = svg[svg.find("<svg") :]
    prefix = id_prefix or "f" + hashlib.sha1(svg.encode()).hexdigest()[:8]
    ids = set(re.findall(r'\bid="([^"]+)"', svg))

    def rename(m: re.Match[str]) -> str:
        return f"{m.group(1)}{prefix}-{m.group(2)}" if m.group(2) in ids else m.group(0)

    return re.sub(r'(\bid="|url\(#|href="#)([^")]+)', rename, svg)


def figure_png(fig: Figure, *, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (no time stamp)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()

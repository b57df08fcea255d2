"""Forest and funnel plots for pooled results (matplotlib, no pyplot state, Agg/SVG output).

``forest_figure`` draws one row per study (square sized by weight, confidence interval), a
diamond per subgroup and for the overall estimate, and the prediction interval as a bar below
the overall diamond; the text columns give events/n (or the effect) and the estimate with its
interval on the natural scale. ``funnel_figure`` plots effects against standard errors on the
model scale with the pseudo-95% region around the pooled estimate (Sterne & Egger 2001).

``*_svg`` functions return SVG text for embedding in HTML reports, through the one exporter
:mod:`myositis.report.svg` (which also writes SVG or PNG files with ``save_figure``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from myositis.evidence.effects import EffectSizes
from myositis.evidence.pooling import PoolResult, StudyEstimate, SubgroupResult
from myositis.report.svg import to_svg

PROPORTION_LABEL = "Proportion"
_FONT = 8.5


@dataclass(frozen=True)
class _Row:
    kind: str  # "study", "header", "summary", "overall", "pi", "blank"
    label: str
    left: str = ""
    right: str = ""
    estimate: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")
    weight: float | None = None
    weight_text: str = ""


def _fmt(value: float | None, digits: int) -> str:
    return "NA" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _interval(est: float, lo: float, hi: float, digits: int) -> str:
    return f"{_fmt(est, digits)} [{_fmt(lo, digits)}, {_fmt(hi, digits)}]"


def _study_row(s: StudyEstimate, digits: int) -> _Row:
    left = f"{int(s.events)}/{int(s.n)}" if s.events is not None and s.n is not None else ""
    return _Row(
        kind="study",
        label=s.study,
        left=left,
        right=_interval(s.estimate, s.ci_low, s.ci_high, digits),
        weight_text="" if s.weight is None else f"{s.weight:.1f}%",
        estimate=s.estimate,
        low=s.ci_low,
        high=s.ci_high,
        weight=s.weight,
    )


def _summary_row(label: str, r: PoolResult, kind: str, digits: int) -> _Row:
    het = f"; I\u00b2 = {r.i2:.0f}%" if r.k > 1 and kind == "summary" else ""
    return _Row(
        kind=kind,
        label=f"{label} (k = {r.k}{het})",
        right=_interval(r.estimate, r.ci_low, r.ci_high, digits),
        estimate=r.estimate,
        low=r.ci_low,
        high=r.ci_high,
    )


def _pi_row(r: PoolResult, digits: int) -> _Row | None:
    if r.pi_low is None or r.pi_high is None:
        return None
    return _Row(
        kind="pi",
        label="Prediction interval",
        right=f"[{_fmt(r.pi_low, digits)}, {_fmt(r.pi_high, digits)}]",
        estimate=r.estimate,
        low=r.pi_low,
        high=r.pi_high,
    )


def _rows(
    result: PoolResult | SubgroupResult, digits: int, also: Sequence[tuple[str, PoolResult]]
) -> list[_Row]:
    rows: list[_Row] = []
    if isinstance(result, SubgroupResult):
        for label, group in result.groups.items():
            rows.append(_Row(kind="header", label=label))
            rows.extend(_study_row(s, digits) for s in group.studies)
            rows.append(_summary_row(f"Subtotal {label}", group, "summary", digits))
            rows.append(_Row(kind="blank", label=""))
        overall = result.overall
    else:
        rows.extend(_study_row(s, digits) for s in result.studies)
        rows.append(_Row(kind="blank", label=""))
        overall = result
    model = "Common effect" if overall.method == "EE" else f"Random effects, {overall.method}"
    rows.append(_summary_row(model, overall, "overall", digits))
    pi = _pi_row(overall, digits)
    if pi is not None:
        rows.append(pi)
    rows.extend(_summary_row(label, other, "overall", digits) for label, other in also)
    return rows


def forest_figure(
    result: PoolResult | SubgroupResult,
    *,
    title: str | None = None,
    effect_label: str | None = None,
    digits: int = 2,
    also: Sequence[tuple[str, PoolResult]] = (),
) -> Figure:
    """A publication-quality forest plot of ``result`` (with subgroups if it has them).

    ``also`` adds pooled estimates of other models of the same studies (label, result) as
    further diamonds below the overall one, e.g. a report's primary model when the study
    weights come from another (the binomial-normal GLMM has no inverse-variance weights).
    """
    rows = _rows(result, digits, also)
    overall = result.overall if isinstance(result, SubgroupResult) else result
    is_proportion = overall.measure in ("PR", "PLO", "PFT")
    default = {"MN": "Mean", "IRLN": "Rate"}.get(overall.measure, "Effect")
    label = effect_label or (PROPORTION_LABEL if is_proportion else default)
    n_rows = len(rows)
    notes = _notes(result, overall)
    top_margin, bottom_margin = (0.45 if title else 0.1), 0.55 + 0.14 * len(notes)
    height = top_margin + bottom_margin + 0.24 * (n_rows + 1)
    fig = Figure(figsize=(9.0, height), dpi=150)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 3, width_ratios=[3.2, 3.6, 2.6], wspace=0.02)
    ax_left, ax_mid, ax_right = (fig.add_subplot(grid[0, i]) for i in range(3))
    top, bottom = -0.5, n_rows - 0.5
    for ax in (ax_left, ax_mid, ax_right):
        ax.set_ylim(bottom, top - 1.0)
    for ax in (ax_left, ax_right):
        ax.set_xlim(0, 1)
        ax.axis("off")

    lows = [r.low for r in rows if r.kind != "blank" and np.isfinite(r.low)]
    highs = [r.high for r in rows if r.kind != "blank" and np.isfinite(r.high)]
    lo, hi = min(lows), max(highs)
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    lo, hi = lo - pad, hi + pad
    if is_proportion:
        lo, hi = max(0.0, lo), min(1.0, hi)
    ax_mid.set_xlim(lo, hi)

    weights = [r.weight for r in rows if r.weight is not None]
    max_w = max(weights) if weights else None
    header_y = top - 0.6
    ax_left.text(0.0, header_y, "Study", fontsize=_FONT, fontweight="bold", va="center")
    if any(r.left for r in rows):
        ax_left.text(
            0.98, header_y, "Events/N", fontsize=_FONT, fontweight="bold", va="center", ha="right"
        )
    ax_right.text(
        0.02, header_y, f"{label} [95% CI]", fontsize=_FONT, fontweight="bold", va="center"
    )
    if weights:
        ax_right.text(
            0.98, header_y, "Weight", fontsize=_FONT, fontweight="bold", va="center", ha="right"
        )

    for y, row in enumerate(rows):
        weight = "bold" if row.kind in ("header", "overall") else "normal"
        style = "italic" if row.kind in ("summary", "pi") else "normal"
        indent = 0.04 if row.kind == "study" and isinstance(result, SubgroupResult) else 0.0
        ax_left.text(
            indent,
            y,
            row.label,
            fontsize=_FONT,
            va="center",
            fontweight=weight,
            fontstyle=style,
            clip_on=False,
        )
        if row.left:
            ax_left.text(0.98, y, row.left, fontsize=_FONT, va="center", ha="right")
        if row.right:
            ax_right.text(0.02, y, row.right, fontsize=_FONT, va="center", fontweight=weight)
        if row.weight_text:
            ax_right.text(0.98, y, row.weight_text, fontsize=_FONT, va="center", ha="right")
        if row.kind == "study":
            ax_mid.plot([row.low, row.high], [y, y], color="black", lw=0.8, solid_capstyle="butt")
            size = (
                5.0
                if max_w is None or row.weight is None
                else 3.0 + 7.0 * np.sqrt(row.weight / max_w)
            )
            ax_mid.plot(
                [row.estimate], [y], marker="s", color="#1f4e79", markersize=size, linestyle="none"
            )
        elif row.kind in ("summary", "overall"):
            colour = "#7f7f7f" if row.kind == "summary" else "#1a1a1a"
            diamond = Polygon(
                [(row.low, y), (row.estimate, y - 0.38), (row.high, y), (row.estimate, y + 0.38)],
                closed=True,
                facecolor=colour,
                edgecolor=colour,
            )
            ax_mid.add_patch(diamond)
        elif row.kind == "pi":
            ax_mid.plot([row.low, row.high], [y, y], color="#b22222", lw=2.2, solid_capstyle="butt")

    ax_mid.axvline(overall.estimate, color="#555555", lw=0.6, ls="--")
    if not is_proportion and lo < 0.0 < hi:
        ax_mid.axvline(0.0, color="black", lw=0.6)
    for side in ("left", "right", "top"):
        ax_mid.spines[side].set_visible(False)
    ax_mid.set_yticks([])
    ax_mid.tick_params(axis="x", labelsize=_FONT)
    ax_mid.set_xlabel(label, fontsize=_FONT)

    fig.text(0.01, 0.01, "\n".join(notes), fontsize=_FONT - 1, va="bottom", ha="left")
    if title:
        fig.suptitle(title, fontsize=_FONT + 2, fontweight="bold", x=0.01, ha="left")
    fig.subplots_adjust(
        left=0.01, right=0.99, top=1.0 - top_margin / height, bottom=bottom_margin / height
    )
    return fig


def _notes(result: PoolResult | SubgroupResult, overall: PoolResult) -> list[str]:
    """The footnote lines: heterogeneity, subgroup weights and test, the interval method."""
    notes = [
        f"Heterogeneity: Q = {overall.q:.2f} (df = {overall.q_df}), {_p(overall.q_pvalue)}; "
        f"I\u00b2 = {overall.i2:.1f}%; \u03c4\u00b2 = {overall.tau2:.4g}"
    ]
    if isinstance(result, SubgroupResult):
        notes.append("Weights are within each subgroup (each subgroup has its own \u03c4\u00b2)")
        notes.append(
            f"Test for subgroup differences: Q = {result.q_between:.2f} "
            f"(df = {result.q_between_df}), {_p(result.q_between_pvalue)}"
        )
    if overall.test != "z":
        kind = "modified " if overall.test == "adhoc" else ""
        notes.append(f"Confidence and prediction intervals: {kind}Hartung-Knapp-Sidik-Jonkman")
    return notes


def _p(value: float) -> str:
    """``p = 0.0123`` or ``p < 0.0001``."""
    if not np.isfinite(value):
        return "p = NA"
    return "p < 0.0001" if value < 1e-4 else f"p = {value:.4f}"


def funnel_figure(effects: EffectSizes, result: PoolResult, *, title: str | None = None) -> Figure:
    """Funnel plot: effect (model scale) against its standard error, with the pseudo-95%
    region ``estimate +/- 1.96 se`` around the pooled estimate."""
    fig = Figure(figsize=(5.5, 4.5), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    se = np.sqrt(effects.vi)
    top = float(np.max(se)) * 1.1
    centre = result.model_estimate
    grid = np.linspace(0.0, top, 50)
    ax.fill_betweenx(grid, centre - 1.96 * grid, centre + 1.96 * grid, color="#e8eef5", lw=0)
    ax.plot(centre - 1.96 * grid, grid, color="#7f7f7f", lw=0.7, ls="--")
    ax.plot(centre + 1.96 * grid, grid, color="#7f7f7f", lw=0.7, ls="--")
    ax.axvline(centre, color="black", lw=0.8)
    ax.scatter(effects.yi, se, s=22, color="#1f4e79", zorder=3)
    ax.set_ylim(top, 0.0)
    scale = {"PLO": "logit proportion", "PFT": "double-arcsine proportion", "PR": "proportion"}
    ax.set_xlabel(f"Effect ({scale.get(effects.measure, 'model scale')})", fontsize=_FONT)
    ax.set_ylabel("Standard error", fontsize=_FONT)
    ax.tick_params(labelsize=_FONT)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=_FONT + 1)
    fig.tight_layout()
    return fig


def forest_svg(result: PoolResult | SubgroupResult, **kwargs: object) -> str:
    """The forest plot as SVG text (see :func:`forest_figure` for the options)."""
    return to_svg(forest_figure(result, **kwargs), "forest")  # type: ignore[arg-type]


def funnel_svg(effects: EffectSizes, result: PoolResult, *, title: str | None = None) -> str:
    """The funnel plot as SVG text."""
    return to_svg(funnel_figure(effects, result, title=title), "funnel")

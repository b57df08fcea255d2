"""Publication figures for the retrospective study report.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, not through pyplot: no
global figure registry is involved, so a figure is freed as soon as the caller drops it and
nothing needs closing; ``to_svg``/``to_png`` render one figure to text or bytes for the
self-contained HTML report. Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color
Universal Design"), distinguishable with the common colour-vision deficiencies; meaning is never
carried by colour alone (line styles, markers, labels).
"""

from __future__ import annotations

import math
import numbers
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, NoReturn

import matplotlib
import matplotlib.lines
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator, PercentFormatter

from myositis.errors import InputProblem, InvalidInputError

__all__ = [
    "FACET_ABOVE",
    "OKABE_ITO",
    "WATERFALL_MAX_WIDTH",
    "attrition_flow",
    "course_step",
    "course_summary",
    "km_curve",
    "trajectories",
    "waterfall",
]

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Widest waterfall (inches): about the report's text width (1100 px at 96 px per inch).
WATERFALL_MAX_WIDTH = 10.0

# Keys typed loosely: matplotlib types rc_context keys as a Literal of every rcParam name.
_STYLE: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    # Text stays text in SVG (smaller, searchable, selectable); fixed salt -> reproducible ids.
    "svg.fonttype": "none",
    "svg.hashsalt": "myositis-outcomes",
}


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):
        yield


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _fail(reason: str, value: object = None, column: str | None = None) -> NoReturn:
    raise InvalidInputError(
        [InputProblem(None, column, None if value is None else repr(value), reason, "figure")]
    )


def _finite(value: object, what: str, column: str | None = None) -> float:
    if (
        value is None
        or isinstance(value, bool)
        or not isinstance(value, numbers.Real | Decimal)
        or not math.isfinite(float(value))
    ):
        _fail(f"{what} must be a finite number", value, column)
    return float(value)


def waterfall(
    improvement: Mapping[str, float],
    *,
    mcid: float | None,
    responders: Mapping[str, bool] | None = None,
    ylabel: str = "Improvement in CDASI activity\n(baseline \u2212 follow-up; up = better)",
    title: str | None = None,
) -> Figure:
    """One bar per patient: the improvement (baseline minus follow-up, positive = better, the
    sign of the report's tables), sorted from the largest improvement to the largest
    worsening.

    Colours: clinically meaningful improvement (``responders[patient]`` when given, else an
    improvement of at least ``mcid``) blue; other improvement orange; worsening vermillion.
    A patient with no change has no bar, so a black diamond on the zero line marks them. With
    ``mcid`` (a positive number of points) a dashed line marks it.
    """
    if not improvement:
        _fail("a waterfall plot needs at least one patient")
    values = {str(k): _finite(v, "the change", str(k)) for k, v in improvement.items()}
    if mcid is not None and _finite(mcid, "the MCID") <= 0:
        _fail("the MCID must be a positive number of points", mcid)
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    labels = [k for k, _ in ordered]
    heights = [v for _, v in ordered]

    def meaningful(pid: str, value: float) -> bool:
        if responders is not None:
            return bool(responders.get(pid, False))
        return mcid is not None and value >= mcid

    graded = responders is not None or mcid is not None  # meaningful vs other improvement
    keys = {
        OKABE_ITO["blue"]: "Clinically meaningful improvement" if graded else "Improved",
        OKABE_ITO["orange"]: "Improved, less than clinically meaningful",
        OKABE_ITO["vermillion"]: "Worse",
    }
    colours = []
    for pid, value in ordered:
        if value > 0 and meaningful(pid, value):
            colours.append(OKABE_ITO["blue"])
        elif value > 0:
            colours.append(OKABE_ITO["orange"] if graded else OKABE_ITO["blue"])
        else:
            colours.append(OKABE_ITO["vermillion"])  # zero bars are invisible; marked below
    zero = [i for i, h in enumerate(heights) if h == 0]

    with _style():
        # Bars get thinner, not the figure wider: the report scales an SVG down to its page
        # width, so a figure much wider than the page would shrink its text out of reach.
        fig = _new_figure(min(WATERFALL_MAX_WIDTH, max(4.0, 0.28 * len(labels) + 1.5)), 3.6)
        ax = fig.add_subplot()
        _bars(ax, heights, colours, width=0.8)
        ax.axhline(0, color=OKABE_ITO["black"], linewidth=0.8)
        shown = {c for c, h in zip(colours, heights, strict=True) if h != 0}
        handles: list[Artist] = [
            Patch(color=c, label=text) for c, text in keys.items() if c in shown
        ]
        if zero:
            (marker,) = ax.plot(
                zero,
                [0.0] * len(zero),
                linestyle="none",
                marker="D",
                markersize=4.5,
                color=OKABE_ITO["black"],
                label="No change (0)",
            )
            handles.append(marker)
        if mcid is not None:
            threshold = ax.axhline(
                mcid,
                color=OKABE_ITO["black"],
                linestyle="--",
                linewidth=1.0,
                label=f"MCID ({mcid:g} points)",
            )
            handles.append(threshold)
        ax.legend(handles=handles, loc="upper right")
        if len(labels) <= 40:
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=90 if len(labels) > 8 else 0)
        else:
            # no tick per bar: unlabelled, hundreds of them only blur the axis (and drawing a
            # thousand ticks took most of a 1,300-patient report's time)
            ax.set_xticks([])
        ax.set_xlabel("Patient")
        ax.set_ylabel(ylabel)
        ax.set_xlim(-0.6, len(heights) - 0.4)
        high = max(max(heights), mcid if mcid is not None else 0.0, 0.0)
        low = min(min(heights), 0.0)
        pad = 0.08 * (high - low or 1.0)
        ax.set_ylim(low - pad, high + pad)
        if title:
            ax.set_title(title)
    return fig


def _bars(ax: Axes, heights: Sequence[float], colours: Sequence[str], width: float) -> None:
    """The bars ``ax.bar(range(n), heights, color=colours, width=width, edgecolor="none")``
    draws, as ONE collection (label ``_bars``) holding one compound path per colour, each bar
    a closed rectangle of it, rather than one Rectangle artist per bar: drawing, laying out
    and writing 1,300 artists took most of a 1,300-patient report's figure time, and writing
    1,300 paths to SVG half of what was left (bars do not overlap, so a colour's bars filled
    as one path are the same picture). The callers set both axis limits themselves, so the
    bars add no data limits."""
    half = width / 2
    # each bar's corners anticlockwise from (left, 0), as a Rectangle's path runs, closed
    shapes: dict[str, list[list[tuple[float, float]]]] = {}
    for i, (h, colour) in enumerate(zip(heights, colours, strict=True)):
        corners = [(i - half, 0.0), (i + half, 0.0), (i + half, h), (i - half, h), (i - half, 0.0)]
        shapes.setdefault(colour, []).append(corners)
    bar = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
    # one list of codes per path (matplotlib's stub types it as one flat sequence)
    codes: Any = [bar * len(rects) for rects in shapes.values()]
    bars = PolyCollection([], facecolors=list(shapes), edgecolors="none", label="_bars")
    bars.set_verts_and_codes(
        [[xy for corners in rects for xy in corners] for rects in shapes.values()], codes
    )
    bars.sticky_edges.y.append(0.0)
    ax.add_collection(bars, autolim=False)


#: Fewest patients a time point needs for the median and quartiles to be drawn there.
TRAJECTORY_MIN_PATIENTS = 5
#: More patients than this: one panel per group (the lines would hide each other).
FACET_ABOVE = 12


def course_step(last_month: float) -> float:
    """Spacing (months) of the time points the course summary is taken at: 0.25 up to 6
    months of follow-up, 0.5 up to 24, else 1."""
    return 0.25 if last_month <= 6 else 0.5 if last_month <= 24 else 1.0


def course_summary(
    series: Mapping[str, Sequence[tuple[float, float]]],
    step: float,
    min_patients: int = TRAJECTORY_MIN_PATIENTS,
) -> list[dict[str, float]]:
    """Median and quartiles over patients of their courses, at months 0, step, 2 step, ...

    Each patient's course is linear between their assessments (numpy ``interp``) and counts
    at the time points from their first to their last assessment; a patient with one
    assessment counts at the time point equal to it only. Quartiles as R ``quantile(type =
    7)`` (numpy's default); time points with fewer than ``min_patients`` patients are left out.
    Times are months since the index: baseline assessments (at or before 0) hold the course at 0.
    """
    courses = [sorted(points) for points in series.values() if points]
    if not courses:
        return []
    last = max(p[-1][0] for p in courses)
    months = [i * step for i in range(int(math.floor(max(last, 0.0) / step + 1e-9)) + 1)]
    grid = np.array(months, dtype=float)
    # at each month, the values of the courses spanning it, in course order: one interp call
    # per course over its months (the values np.interp gives month by month)
    at: list[list[float]] = [[] for _ in months]
    for p in courses:
        inside = np.flatnonzero((p[0][0] <= grid) & (grid <= p[-1][0]))
        if inside.size:
            times = np.array([t for t, _ in p], dtype=float)
            values = np.interp(grid[inside], times, np.array([v for _, v in p], dtype=float))
            for i, value in zip(inside.tolist(), values.tolist(), strict=True):
                at[i].append(value)
    rows = []
    for month, values in zip(months, at, strict=True):
        if len(values) < min_patients:
            continue
        q1, median, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
        rows.append({"month": month, "q1": q1, "median": median, "q3": q3, "patients": len(values)})
    return rows


def trajectories(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    groups: Mapping[str, str] | None = None,
    xlabel: str = "Months since JAK-inhibitor start",
    ylabel: str = "CDASI activity",
    title: str | None = None,
) -> Figure:
    """Each patient's values over time as a faint line, with the median (line) and
    interquartile range (band) of the courses drawn over them (:func:`course_summary`).

    With more than FACET_ABOVE patients and ``groups`` (patient -> group, e.g. the subtype
    group) naming two or more groups, one panel per group (in order of first appearance), on
    shared axes.
    """
    if not series:
        _fail("a trajectory plot needs at least one patient")
    cleaned: dict[str, list[tuple[float, float]]] = {}
    for pid, points in series.items():
        if len(points) == 0:
            _fail("a patient has no measurements", pid, "patient")
        pts = [
            (_finite(t, "the time", str(pid)), _finite(v, "the value", str(pid))) for t, v in points
        ]
        cleaned[str(pid)] = sorted(pts)
    panels: dict[str, dict[str, list[tuple[float, float]]]] = {"": cleaned}
    if groups is not None and len(cleaned) > FACET_ABOVE:
        by_group: dict[str, dict[str, list[tuple[float, float]]]] = {}
        for pid, pts in cleaned.items():
            by_group.setdefault(str(groups.get(pid, "Not classified")), {})[pid] = pts
        if len(by_group) > 1:
            panels = by_group
    step = course_step(max(t for pts in cleaned.values() for t, _ in pts))
    top = max(v for pts in cleaned.values() for _, v in pts)

    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    with _style():
        fig = _new_figure(6.4 if columns == 1 else 10.0, 3.2 * rows + 0.5)
        axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
        for ax, (name, members) in zip(axes.flat, panels.items(), strict=False):
            _courses(ax, list(members.values()))
            summary = course_summary(members, step)
            if summary:
                months = [r["month"] for r in summary]
                ax.fill_between(
                    months,
                    [r["q1"] for r in summary],
                    [r["q3"] for r in summary],
                    color=OKABE_ITO["blue"],
                    alpha=0.25,
                    linewidth=0,
                    label="Interquartile range",
                )
                ax.plot(
                    months,
                    [r["median"] for r in summary],
                    color=OKABE_ITO["blue"],
                    linewidth=2.0,
                    label="Median",
                )
            if name:
                ax.set_title(f"{name} (n = {len(members)})")
            ax.set_ylim(0, top * 1.05 + 1)
        for ax in axes.flat[len(panels) :]:
            ax.set_axis_off()
        for ax in axes[-1]:
            ax.set_xlabel(xlabel)
        for ax in axes[:, 0]:
            ax.set_ylabel(ylabel)
        individual = matplotlib.lines.Line2D([], [], color="#8C8C8C", linewidth=0.7)
        band = Patch(color=OKABE_ITO["blue"], alpha=0.25, linewidth=0)
        median = matplotlib.lines.Line2D([], [], color=OKABE_ITO["blue"], linewidth=2.0)
        fig.legend(
            [individual, median, band],
            [f"Each patient ({len(cleaned)})", "Median", "Interquartile range"],
            loc="outside lower center",
            ncols=3,
        )
        if title:
            fig.suptitle(title)
    return fig


def _courses(ax: Axes, courses: Sequence[Sequence[tuple[float, float]]]) -> None:
    """Each course as a faint grey line (what ``ax.plot(times, values, color="#8C8C8C",
    alpha=0.45, linewidth=0.7)`` draws for it, caps and joins included), all in ONE collection
    (label ``_patient``) rather than one Line2D per patient: 1,300 artists took most of a
    1,300-patient figure's time. Each course is still stroked on its own, so where courses
    cross the grey darkens as it did; the axes then autoscale to the courses, as ``plot``
    requests."""
    lines = LineCollection(
        [np.array(pts, dtype=float).reshape(-1, 2) for pts in courses],
        colors="#8C8C8C",
        alpha=0.45,
        linewidths=0.7,
        capstyle="projecting",
        joinstyle="round",
        label="_patient",
    )
    ax.add_collection(lines)
    ax.autoscale()


def km_curve(
    curve: Mapping[str, Any],
    *,
    cumulative: bool = True,
    xlabel: str = "Months since start",
    ylabel: str = "Patients with clinically meaningful improvement (%)",
) -> Figure:
    """Kaplan-Meier step curve with its pointwise interval band and numbers at risk below.

    ``curve`` is the ``time_to_response`` block of the results: ``table`` rows (``time_months,
    n_risk, n_event, n_censor, cumulative_incidence, ci_low, ci_high``, the interval on the
    cumulative scale, None where R leaves it undefined), ``conf`` and ``n``. ``cumulative``
    plots 1 - S(t) (share with the event, rising), otherwise S(t). Censoring times are marked
    with "+". The table under the plot gives the number at risk at each x tick (R
    ``summary(fit, times, extend = TRUE)$n.risk``).
    """
    rows = list(curve["table"])
    times = [0.0, *(float(r["time_months"]) for r in rows)]
    incidence = [0.0, *(float(r["cumulative_incidence"]) for r in rows)]
    low = [0.0, *(math.nan if r["ci_low"] is None else float(r["ci_low"]) for r in rows)]
    high = [0.0, *(math.nan if r["ci_high"] is None else float(r["ci_high"]) for r in rows)]
    if cumulative:
        line = [100 * c for c in incidence]
        band_low = [100 * lo for lo in low]
        band_high = [100 * h for h in high]
    else:
        line = [100 * (1 - c) for c in incidence]
        band_low = [100 * (1 - h) for h in high]
        band_high = [100 * (1 - lo) for lo in low]

    def at_risk(t: float) -> int:
        # patients whose follow-up lasts at least t: the risk set of the first time >= t
        later = [int(r["n_risk"]) for r in rows if float(r["time_months"]) >= t]
        return later[0] if later else 0

    with _style():
        fig = _new_figure(5.5, 4.2)
        grid = fig.add_gridspec(2, 1, height_ratios=(5.0, 0.6))
        ax = fig.add_subplot(grid[0])
        table = fig.add_subplot(grid[1], sharex=ax)
        colour = OKABE_ITO["blue"]
        ax.fill_between(
            times,
            band_low,
            band_high,
            step="post",
            color=colour,
            alpha=0.2,
            linewidth=0,
            label=f"{float(curve['conf']):.0%} confidence interval",
        )
        ax.step(times, line, where="post", color=colour, linewidth=1.6, label="Kaplan-Meier")
        censored = [i for i, r in enumerate(rows) if int(r["n_censor"]) > 0]
        if censored:
            ax.plot(
                [times[i + 1] for i in censored],
                [line[i + 1] for i in censored],
                linestyle="none",
                marker="+",
                markersize=7,
                color=colour,
                label="Censored",
            )
        ax.set_ylim(-2, 102)
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_ylabel(textwrap.fill(ylabel, 38))
        ax.set_xlabel(xlabel)
        ax.legend(loc="lower right" if cumulative else "upper right")
        last = max(times) if max(times) > 0 else 1.0
        ax.set_xlim(0, last * 1.04)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ticks = [float(t) for t in ax.get_xticks() if 0 <= t <= last * 1.04]
        ax.set_xticks(ticks)

        # Number at risk under each x tick, in a frameless strip sharing the x axis.
        table.set_ylim(0, 1)
        table.set_axis_off()
        table.set_title("Number at risk", loc="left", fontsize=8)
        for t in ticks:
            table.text(t, 0.5, f"{at_risk(t)}", ha="center", va="center", fontsize=8)
    return fig


def attrition_flow(steps: Sequence[tuple[str, int]]) -> Figure:
    """Cohort attrition: one box per step, top to bottom, with its patient count, and beside
    each arrow a box with the number excluded between the two steps (STROBE-style diagram).

    Counts must be whole numbers >= 0 that never increase from one step to the next.
    """
    if not steps:
        _fail("an attrition diagram needs at least one step")
    counts: list[int] = []
    for label, count in steps:
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            _fail("each step's count must be a whole number >= 0", count, str(label))
        if counts and count > counts[-1]:
            _fail(
                f"a step cannot have more patients than the step before it ({counts[-1]})",
                count,
                str(label),
            )
        counts.append(count)

    box_h, gap = 0.9, 0.7
    total_h = len(steps) * box_h + (len(steps) - 1) * gap
    with _style():
        fig = _new_figure(6.4, 0.65 * total_h + 0.4)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_xlim(0, 10)
        ax.set_ylim(-0.1, total_h + 0.1)
        for i, ((label, count), prev) in enumerate(zip(steps, [None, *counts], strict=False)):
            top = total_h - i * (box_h + gap)
            centre = top - box_h / 2
            ax.add_patch(
                FancyBboxPatch(
                    (0.3, top - box_h),
                    5.4,
                    box_h,
                    boxstyle="round,pad=0,rounding_size=0.08",
                    facecolor="#E8F1F8",
                    edgecolor=OKABE_ITO["blue"],
                    linewidth=1.0,
                )
            )
            ax.text(
                3.0,
                centre,
                f"{textwrap.fill(str(label), 42)}\nn = {count:,}",
                ha="center",
                va="center",
                fontsize=8.5,
            )
            if prev is not None:
                y_from = top + gap
                ax.annotate(
                    "",
                    xy=(3.0, top),
                    xytext=(3.0, y_from),
                    arrowprops={"arrowstyle": "-|>", "color": OKABE_ITO["black"], "linewidth": 0.9},
                )
                mid = top + gap / 2
                ax.plot([3.0, 6.3], [mid, mid], color=OKABE_ITO["black"], linewidth=0.8)
                ax.add_patch(
                    FancyBboxPatch(
                        (6.3, mid - 0.3),
                        3.4,
                        0.6,
                        boxstyle="round,pad=0,rounding_size=0.06",
                        facecolor="white",
                        edgecolor="#7F7F7F",
                        linewidth=0.8,
                    )
                )
                ax.text(
                    8.0,
                    mid,
                    f"Excluded: n = {prev - count:,}",
                    ha="center",
                    va="center",
                    fontsize=8,
                )
    return fig

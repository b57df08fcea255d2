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
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from myositis.errors import InputProblem, InvalidInputError

__all__ = [
    "OKABE_ITO",
    "WATERFALL_MAX_WIDTH",
    "attrition_flow",
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
# Line colours in an order that keeps neighbours distinct (yellow is too light for thin lines).
_LINE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")

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


def _waterfall_keys(mcid: float | None) -> list[tuple[str, str]]:
    if mcid is None:
        return [(OKABE_ITO["blue"], "Improved"), (OKABE_ITO["vermillion"], "Worse or unchanged")]
    return [
        (OKABE_ITO["blue"], "Clinically meaningful improvement"),
        (OKABE_ITO["orange"], "Less than clinically meaningful"),
    ]


def waterfall(
    changes: Mapping[str, float],
    *,
    mcid: float | None,
    ylabel: str = "Change in CDASI activity",
    title: str | None = None,
) -> Figure:
    """One bar per patient, sorted from the largest worsening to the largest improvement.

    Negative change is improvement. With ``mcid`` (the minimal clinically important difference,
    a positive number of points) a dashed line marks -mcid and bars at or below it are drawn in
    blue ("clinically meaningful improvement"), the others in orange; without it, improvement
    is blue and worsening vermillion.
    """
    if not changes:
        _fail("a waterfall plot needs at least one patient")
    values = {str(k): _finite(v, "the change", str(k)) for k, v in changes.items()}
    if mcid is not None and _finite(mcid, "the MCID") <= 0:
        _fail("the MCID must be a positive number of points", mcid)
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    labels = [k for k, _ in ordered]
    heights = [v for _, v in ordered]
    if mcid is None:
        colours = [OKABE_ITO["blue"] if h < 0 else OKABE_ITO["vermillion"] for h in heights]
    else:
        colours = [OKABE_ITO["blue"] if h <= -mcid else OKABE_ITO["orange"] for h in heights]

    with _style():
        # Bars get thinner, not the figure wider: the report scales an SVG down to its page
        # width, so a figure much wider than the page would shrink its text out of reach.
        fig = _new_figure(min(WATERFALL_MAX_WIDTH, max(4.0, 0.28 * len(labels) + 1.5)), 3.4)
        ax = fig.add_subplot()
        ax.bar(
            range(len(heights)), heights, color=colours, width=0.8, edgecolor="none", label="_bars"
        )
        ax.axhline(0, color=OKABE_ITO["black"], linewidth=0.8)
        handles: list[Artist] = [
            Patch(color=c, label=lbl) for c, lbl in _waterfall_keys(mcid) if c in colours
        ]
        if mcid is not None:
            threshold = ax.axhline(
                -mcid,
                color=OKABE_ITO["black"],
                linestyle="--",
                linewidth=1.0,
                label=f"MCID threshold (\u2212{mcid:g})",
            )
            handles.append(threshold)
        ax.legend(handles=handles, loc="best")
        ax.set_xticks(range(len(labels)))
        if len(labels) <= 40:
            ax.set_xticklabels(labels, rotation=90 if len(labels) > 8 else 0)
        else:
            ax.set_xticklabels([])
        ax.set_xlabel("Patient")
        ax.set_ylabel(ylabel)
        ax.set_xlim(-0.6, len(heights) - 0.4)
        low = min(min(heights), -mcid if mcid is not None else 0.0, 0.0)
        high = max(max(heights), 0.0)
        pad = 0.08 * (high - low or 1.0)
        ax.set_ylim(low - pad, high + pad)
        if title:
            ax.set_title(title)
    return fig


def trajectories(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    xlabel: str = "Months since JAK-inhibitor start",
    ylabel: str = "CDASI activity",
    title: str | None = None,
) -> Figure:
    """One line per patient through its (time, value) points, sorted by time.

    Colours and markers both vary so that patients stay distinguishable in greyscale; the
    legend names the patients when there are at most 12 of them.
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

    with _style():
        fig = _new_figure(6.0, 3.6)
        ax = fig.add_subplot()
        for i, (pid, pts) in enumerate(cleaned.items()):
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                color=_LINE_COLOURS[i % len(_LINE_COLOURS)],
                marker=_MARKERS[(i // len(_LINE_COLOURS)) % len(_MARKERS)],
                markersize=4,
                linewidth=1.2,
                label=pid,
            )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        if len(cleaned) <= 12:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="Patient")
        if title:
            ax.set_title(title)
    return fig


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

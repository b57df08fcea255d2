"""Report figures: the drawn artists carry exactly the data given (synthetic data only)."""

from __future__ import annotations

import io
import math
import struct
import xml.etree.ElementTree as ET

import matplotlib.image
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from myositis.analysis.response import km_table
from myositis.analysis.survival import KaplanMeier, kaplan_meier
from myositis.errors import InvalidInputError
from myositis.report.figures import (
    OKABE_ITO,
    WATERFALL_MAX_WIDTH,
    attrition_flow,
    course_step,
    course_summary,
    km_curve,
    trajectories,
    waterfall,
)
from myositis.report.svg import to_png, to_svg

# Synthetic CDASI-activity changes for 11 patients (consistent with Min 2022: all improved by
# at least 11 points, mean improvement 17.8).
CHANGES = {
    f"S{i:02d}": v
    for i, v in enumerate([-11, -15, -20, -18, -25, -12, -17, -22, -14, -19, -23], start=1)
}


def _data(line: Line2D) -> tuple[list[float], list[float]]:
    return (
        [float(v) for v in np.asarray(line.get_xdata())],
        [float(v) for v in np.asarray(line.get_ydata())],
    )


def _legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def _bars(ax: Axes) -> list[tuple[float, str]]:
    """Each bar's height and colour, left to right: the closed rectangles of the one
    collection labelled _bars (a compound path per colour)."""
    (bars,) = [c for c in ax.collections if c.get_label() == "_bars"]
    assert isinstance(bars, PolyCollection)
    found = []
    for path, colour in zip(bars.get_paths(), bars.get_facecolors(), strict=True):
        for rectangle in path.to_polygons(closed_only=True):
            x, y = rectangle[:, 0], rectangle[:, 1]
            assert y.min() == 0.0 or y.max() == 0.0  # every bar starts at zero
            found.append((float(x.mean()), float(y.max() if y.max() != 0.0 else y.min()),
                          to_hex(colour)))  # fmt: skip
    return [(height, colour) for _, height, colour in sorted(found)]


def _courses(ax: Axes) -> list[tuple[list[float], list[float]]]:
    """Each patient's drawn course (times, values): the one collection labelled _patient."""
    (lines,) = [c for c in ax.collections if c.get_label() == "_patient"]
    assert isinstance(lines, LineCollection)
    return [([float(t) for t in seg[:, 0]], [float(v) for v in seg[:, 1]])
            for seg in lines.get_segments()]  # fmt: skip


def _pixels(fig: Figure) -> np.ndarray:
    return np.asarray(matplotlib.image.imread(io.BytesIO(to_png(fig, 100))))


def _texts(fig: Figure) -> list[str]:
    """Visible texts (the arrows of the attrition diagram are empty annotations)."""
    return [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text()]


# --- waterfall ------------------------------------------------------------------------------

#: The same patients as improvements (baseline - follow-up, positive = better): the report's sign.
IMPROVEMENT = {k: -v for k, v in CHANGES.items()}


def _colours(ax: Axes) -> dict[str, str]:
    return {
        lbl.get_text(): colour
        for lbl, (_, colour) in zip(ax.get_xticklabels(), _bars(ax), strict=True)
    }


def test_waterfall_has_one_bar_per_patient_sorted_with_heights_equal_to_improvements() -> None:
    fig = waterfall(IMPROVEMENT, mcid=5)
    ax = fig.axes[0]
    bars = _bars(ax)
    heights = [h for h, _ in bars]
    assert len(heights) == len(IMPROVEMENT)
    assert heights == sorted(IMPROVEMENT.values(), reverse=True)  # largest improvement first
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert [IMPROVEMENT[k] for k in labels] == heights
    assert all(h > 0 for h in heights)  # improvement is drawn upwards, as the tables count it
    # every bar reaches the MCID, so all are in the "meaningful improvement" colour
    assert {colour for _, colour in bars} == {OKABE_ITO["blue"].lower()}
    assert "baseline \u2212 follow-up" in ax.get_ylabel()


def test_waterfall_marks_the_mcid_worsening_and_a_zero_change() -> None:
    """C and D reach the MCID of 4.5 (blue), B improved less (orange), A got worse
    (vermillion), and E did not change: a zero-height bar is invisible, so E gets a diamond
    on the zero line."""
    fig = waterfall({"A": -3.0, "B": 2.0, "C": 8.0, "D": 4.5, "E": 0.0}, mcid=4.5)
    ax = fig.axes[0]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1
    assert _data(dashed[0])[1] == [4.5, 4.5]
    colours = _colours(ax)
    assert colours["C"] == colours["D"] == OKABE_ITO["blue"].lower()
    assert colours["B"] == OKABE_ITO["orange"].lower()
    assert colours["A"] == OKABE_ITO["vermillion"].lower()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["C", "D", "B", "E", "A"]
    (diamond,) = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
    assert _data(diamond) == ([3.0], [0.0])  # E, the 4th bar
    assert _legend_texts(ax) == [
        "Clinically meaningful improvement",
        "Improved, less than clinically meaningful",
        "Worse",
        "No change (0)",
        "MCID (4.5 points)",
    ]
    assert ax.get_ylim()[0] < -3.0 and ax.get_ylim()[1] > 8.0


def test_waterfall_colours_by_the_response_rule_when_given() -> None:
    """With a relative rule (e.g. 40% of baseline) the responders are the study's, not those
    above a points line: B (4 points of a baseline of 8) responded, A (10 of 40) did not."""
    fig = waterfall({"A": 10.0, "B": 4.0}, mcid=None, responders={"A": False, "B": True})
    ax = fig.axes[0]
    assert _colours(ax) == {"A": OKABE_ITO["orange"].lower(), "B": OKABE_ITO["blue"].lower()}
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]


def test_waterfall_without_mcid_has_no_threshold_line_and_title_is_set() -> None:
    fig = waterfall({"A": 3.0, "B": -2.0}, mcid=None, title="Synthetic")
    ax = fig.axes[0]
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert ax.get_title() == "Synthetic"
    assert _colours(ax) == {"A": OKABE_ITO["blue"].lower(), "B": OKABE_ITO["vermillion"].lower()}
    assert _legend_texts(ax) == ["Improved", "Worse"]


def test_a_large_cohort_gets_thinner_bars_not_a_wider_figure() -> None:
    """79 patients (the demo) once made a 24-inch figure whose text the report shrank to
    about 3 px; the width is capped at the report's text width, every bar still drawn."""
    small = waterfall(IMPROVEMENT, mcid=5)
    assert small.get_size_inches()[0] == pytest.approx(0.28 * len(IMPROVEMENT) + 1.5)
    many = {f"P{i:03d}": float(i % 30) for i in range(200)}
    fig = waterfall(many, mcid=5)
    assert fig.get_size_inches()[0] == WATERFALL_MAX_WIDTH == 10.0
    assert len(_bars(fig.axes[0])) == 200


@pytest.mark.parametrize("patients", [11, 200])
def test_the_bars_are_what_axes_bar_draws(patients: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The waterfall draws its bars as one collection, not Axes.bar's Rectangle per bar (most
    of a 1,300-patient figure's time); the picture is pixel for pixel the one Axes.bar
    gives."""
    import myositis.report.figures as figures_module

    many = {f"P{i:03d}": float(i % 17 - 5) for i in range(patients)}
    ours = _pixels(waterfall(many, mcid=5))

    def with_axes_bar(ax: Axes, heights: list[float], colours: list[str], width: float) -> None:
        ax.bar(range(len(heights)), heights, color=colours, width=width, edgecolor="none",
               label="_bars")  # fmt: skip

    monkeypatch.setattr(figures_module, "_bars", with_axes_bar)
    theirs = _pixels(waterfall(many, mcid=5))
    assert theirs.shape == ours.shape
    assert np.array_equal(theirs, ours)


@pytest.mark.parametrize(
    ("changes", "mcid", "match"),
    [
        ({}, 5.0, "at least one"),
        ({"A": math.nan}, 5.0, "finite"),
        ({"A": None}, 5.0, "finite"),
        ({"A": -3.0}, 0.0, "positive"),
        ({"A": -3.0}, -4.0, "positive"),
    ],
)
def test_waterfall_rejects_bad_input(changes: dict[str, float], mcid: float, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        waterfall(changes, mcid=mcid)


# --- trajectories ---------------------------------------------------------------------------

COURSES = {
    "S1": [(0.0, 30.0), (2.0, 10.0)],
    "S2": [(0.0, 20.0), (4.0, 12.0)],
    "S3": [(3.0, 10.0), (-0.5, 40.0), (1.0, 20.0)],
}


def test_course_summary_interpolates_each_course_and_takes_r_type_7_quartiles() -> None:
    """Month 0: S1 30, S2 20, S3 40 + (0.5 / 1.5)(20 - 40) = 33.33 (between its baseline at
    -0.5 and month 1). R: quantile(c(30, 20, 100/3), c(.25, .5, .75)) = 25, 30, 31.66667.
    Month 1: 20, 18, 20 -> 19, 20, 20. Month 2: 10, 16, 15 -> 12.5, 15, 15.5 (quantile(c(10,
    16, 15), ...)). From month 3 S1 has ended: 2 patients, fewer than 3, not summarised."""
    rows = course_summary(COURSES, 1.0, min_patients=3)
    assert [r["month"] for r in rows] == [0.0, 1.0, 2.0]
    assert [r["patients"] for r in rows] == [3, 3, 3]
    got = [r[k] for r in rows for k in ("q1", "median", "q3")]
    assert got == pytest.approx([25, 30, 31.666666667, 19, 20, 20, 12.5, 15, 15.5])
    assert course_summary(COURSES, 1.0, min_patients=4) == []


def test_trajectories_draw_faint_courses_under_the_median_and_interquartile_band() -> None:
    fig = trajectories(COURSES)
    (ax,) = fig.axes
    courses = _courses(ax)
    assert len(courses) == 3
    assert courses[2] == ([-0.5, 1.0, 3.0], [40.0, 20.0, 10.0])  # S3, sorted by time
    (lines,) = [c for c in ax.collections if c.get_label() == "_patient"]
    assert lines.get_alpha() is not None and lines.get_alpha() < 1  # faint
    # 3 patients: fewer than the 5 the report summarises, so no median is drawn ...
    assert not [ln for ln in ax.get_lines() if ln.get_label() == "Median"]
    # ... and with 6 (every course twice) there is one, equal to course_summary's medians
    doubled = {**COURSES, **{f"{k}b": v for k, v in COURSES.items()}}
    (ax,) = trajectories(doubled).axes
    (median,) = [ln for ln in ax.get_lines() if ln.get_label() == "Median"]
    expected = course_summary(doubled, course_step(4.0))
    assert _data(median) == ([r["month"] for r in expected], [r["median"] for r in expected])
    (band,) = [c for c in ax.collections if c.get_label() == "Interquartile range"]
    assert isinstance(band, PolyCollection)
    assert ax.get_xlabel() == "Months since JAK-inhibitor start"
    assert ax.get_ylabel() == "CDASI activity"
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        "Each patient (3)", "Median", "Interquartile range",
    ]  # fmt: skip


def test_trajectories_have_one_panel_per_group_above_12_patients() -> None:
    series = {f"S{i:02d}": [(0.0, 20.0 + i), (1.0, 10.0)] for i in range(14)}
    groups = {pid: "Classic" if i % 2 else "Juvenile" for i, pid in enumerate(series)}
    fig = trajectories(series, groups=groups)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.axison]
    assert titles == ["Juvenile (n = 7)", "Classic (n = 7)"]
    twelve = dict(list(series.items())[:12])
    assert len(trajectories(twelve, groups=groups).axes) == 1


def _many_courses(patients: int, seed: int) -> tuple[dict[str, list[tuple[float, float]]], dict]:
    """Synthetic courses: 1-6 assessments each between month -1 and 30 (some at the same
    time, some single), values 0-60 in halves; two subtype groups."""
    rng = np.random.default_rng(seed)
    series = {}
    for i in range(patients):
        n = int(rng.integers(1, 7))
        times = rng.choice([-1.0, 0.0, 0.0, 0.25, 1.0, 2.5, 3.0, 7.75, 12.0, 30.0], n)
        series[f"P{i:04d}"] = [(float(t), float(rng.integers(0, 121)) / 2) for t in times]
    groups = {pid: "Classic" if i % 3 else "Juvenile" for i, pid in enumerate(series)}
    return series, groups


@pytest.mark.parametrize("patients", [3, 6, 40])
def test_the_courses_are_what_axes_plot_draws(
    patients: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trajectories draw the courses as one collection, not a Line2D per patient (most of
    a 1,300-patient figure's time); the picture is pixel for pixel the one Axes.plot gives
    (one panel, with and without the median; one panel per group)."""
    import myositis.report.figures as figures_module

    series, groups = _many_courses(patients, seed=patients)
    ours = _pixels(trajectories(series, groups=groups))

    def with_axes_plot(ax: Axes, courses: list[list[tuple[float, float]]]) -> None:
        for pts in courses:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color="#8C8C8C", alpha=0.45,
                    linewidth=0.7, label="_patient")  # fmt: skip

    monkeypatch.setattr(figures_module, "_courses", with_axes_plot)
    theirs = _pixels(trajectories(series, groups=groups))
    assert theirs.shape == ours.shape
    assert np.array_equal(theirs, ours)


@pytest.mark.parametrize("step", [0.25, 0.5, 1.0])
def test_course_summary_is_the_month_by_month_interpolation(step: float) -> None:
    """course_summary interpolates each course once over its months; the rows are exactly
    (==, not approximately) those of interpolating month by month, patient by patient."""
    series, _ = _many_courses(300, seed=7)
    courses = [sorted(p) for p in series.values()]
    last = max(p[-1][0] for p in courses)
    expected = []
    for i in range(int(math.floor(last / step + 1e-9)) + 1):
        month = i * step
        values = [
            float(np.interp(month, [t for t, _ in p], [v for _, v in p]))
            for p in courses
            if p[0][0] <= month <= p[-1][0]
        ]
        if len(values) >= 5:
            q1, median, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
            expected.append(
                {"month": month, "q1": q1, "median": median, "q3": q3, "patients": len(values)}
            )
    assert course_summary(series, step) == expected
    assert len(expected) > 10


def test_trajectories_reject_empty_or_missing_values() -> None:
    with pytest.raises(InvalidInputError, match="at least one"):
        trajectories({})
    with pytest.raises(InvalidInputError, match="no measurements"):
        trajectories({"S01": []})
    with pytest.raises(InvalidInputError, match="finite"):
        trajectories({"S01": [(0.0, math.nan)]})


# --- Kaplan-Meier curve ---------------------------------------------------------------------

MIN_TIMES = [1.0] * 8 + [1.5, 1.5, 2.0]  # Min 2022: 8 within 1 month, 2 by 1.5, 1 by 2


def _curve(km: KaplanMeier) -> dict[str, object]:
    """The results' time_to_response block the report draws from."""
    return {"table": km_table(km), "conf": km.conf, "n": km.n}


def _step_line(fig: Figure) -> tuple[list[float], list[float]]:
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "Kaplan-Meier"]
    return _data(line)


def test_km_curve_cumulative_plots_percent_improved_with_band_and_numbers_at_risk() -> None:
    km = kaplan_meier(MIN_TIMES, [1] * 11)
    fig = km_curve(_curve(km))
    x, y = _step_line(fig)
    assert x == [0.0, 1.0, 1.5, 2.0]
    assert y == pytest.approx([0.0, 800 / 11, 1000 / 11, 100.0])
    ax, table = fig.axes
    assert [c for c in ax.collections if isinstance(c, PolyCollection)]  # the CI band
    assert ax.get_xlabel() == "Months since start"
    ticks = [float(t) for t in ax.get_xticks()]
    at_risk = [(t.get_position()[0], t.get_text()) for t in table.texts]
    assert at_risk == [(t, str(km.n_risk_at(t))) for t in ticks]
    # R: summary(fit, times = c(0, 1, 2), extend = TRUE)$n.risk is 11 11 1
    assert dict(at_risk)[0.0] == "11" and dict(at_risk)[1.0] == "11" and dict(at_risk)[2.0] == "1"
    assert table.get_title(loc="left") == "Number at risk"


def test_km_curve_survival_scale_marks_censoring() -> None:
    """aml maintained group (R survival): censored at 13, 28, 45 and 161 weeks."""
    km = kaplan_meier(
        [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161], [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
    )
    fig = km_curve(_curve(km), cumulative=False, xlabel="Weeks", ylabel="Remission (%)")
    x, y = _step_line(fig)
    assert y[0] == 100.0 and y[1:] == pytest.approx([100 * s for s in km.survival])
    ax = fig.axes[0]
    (marks,) = [ln for ln in ax.get_lines() if ln.get_label() == "Censored"]
    mark_x, mark_y = _data(marks)
    assert mark_x == [13.0, 28.0, 45.0, 161.0]
    assert mark_y == pytest.approx([100 * km.survival_at(t) for t in (13, 28, 45, 161)])
    assert ax.get_xlabel() == "Weeks" and ax.get_ylabel() == "Remission (%)"


# --- attrition ------------------------------------------------------------------------------


def test_attrition_flow_shows_each_count_and_the_number_excluded() -> None:
    fig = attrition_flow(
        [
            ("Synthetic registry patients with dermatomyositis", 1234),
            ("Prescribed a JAK inhibitor", 40),
            ("CDASI at baseline and follow-up", 11),
        ]
    )
    texts = _texts(fig)
    steps = [t for t in texts if not t.startswith("Excluded")]
    assert [t.splitlines()[-1] for t in steps] == ["n = 1,234", "n = 40", "n = 11"]
    assert [t for t in texts if t.startswith("Excluded")] == [
        "Excluded: n = 1,194",
        "Excluded: n = 29",
    ]
    # boxes run top to bottom in the order given
    ys = [
        t.get_position()[1]
        for t in fig.axes[0].texts
        if t.get_text() and not t.get_text().startswith("Excluded")
    ]
    assert ys == sorted(ys, reverse=True)


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        ([], "at least one"),
        ([("A", 10), ("B", 12)], "more patients"),
        ([("A", -1)], "whole number"),
        ([("A", 2.5)], "whole number"),
    ],
)
def test_attrition_flow_rejects_impossible_counts(steps: list[tuple[str, int]], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        attrition_flow(steps)


# --- rendering ------------------------------------------------------------------------------


def test_to_svg_is_inline_xml_with_text_kept_as_text_and_reproducible() -> None:
    fig = attrition_flow([("Synthetic cohort", 40), ("Analysed", 11)])
    svg = to_svg(fig)
    assert svg.startswith("<svg")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Excluded: n = 29" in "".join(root.itertext())
    assert to_svg(fig) == svg  # no timestamp or random ids


def test_to_svg_prefixes_ids_as_the_alternation_of_every_id_did() -> None:
    """to_svg looks each reference up among the ids; the text is byte for byte what the
    former regular expression (an alternation of every id, longest first) gave, on the
    waterfall (a clip path, markers), the trajectories (panels) and the Kaplan-Meier curve."""
    import io
    import re

    from myositis.report.svg import export_style

    def former(fig: Figure, name: str) -> str:
        buffer = io.StringIO()
        with export_style():
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        text = buffer.getvalue()
        text = text[text.index("<svg") :]
        ids = sorted(set(re.findall(r'\bid="([^"]+)"', text)), key=len, reverse=True)
        alternation = "|".join(map(re.escape, ids))
        pattern = re.compile(r'(\bid="|url\(#|href="#)(' + alternation + r')(?=[")])')
        return pattern.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)

    series, groups = _many_courses(40, seed=3)
    many = {f"P{i:03d}": float(i % 17 - 5) for i in range(60)}
    figures = {
        "w": lambda: waterfall(many, mcid=5),
        "t": lambda: trajectories(series, groups=groups),
        "km": lambda: km_curve(_curve(kaplan_meier(MIN_TIMES, [1] * 10 + [0]))),
    }
    for name, make in figures.items():
        ours = to_svg(make(), name)
        assert ours == former(make(), name)
        assert f'id="{name}-' in ours


def test_to_png_has_the_size_asked_for() -> None:
    fig = waterfall(CHANGES, mcid=5)
    width_in, height_in = fig.get_size_inches()
    png = to_png(fig, dpi=100)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    assert (width, height) == (round(width_in * 100), round(height_in * 100))
    width2, _ = struct.unpack(">II", to_png(fig)[16:24])
    assert width2 == round(width_in * 150)
    with pytest.raises(InvalidInputError, match="dpi"):
        to_png(fig, dpi=0)

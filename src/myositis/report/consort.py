"""The CONSORT 2010 flow diagram of a two-group (or arms-pooled) trial, drawn from its counts.

Layout after the CONSORT 2010 template (Schulz, Altman and Moher, BMJ 2010;340:c332, figure
1): *Enrolment* (assessed for eligibility, excluded with reasons, randomised), *Allocation*,
*Follow-up* and *Analysis*, one column per group, stage labels on the left. The counts come
from a results dictionary (``results["consort"]``, :mod:`myositis.trial.consort`); nothing is
computed here. When the screening log was not given, the first box says that the number
assessed was not recorded instead of showing a number.

Export with :mod:`myositis.report.svg`; figures are built on ``matplotlib.figure.Figure``
with the Agg canvas (no pyplot state).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

_INK = "#000000"
_EDGE = "#0072B2"  # Okabe-Ito blue
_STAGE = "#D7E7F3"
_LINE = 0.152  # inches per text line: 8 pt at line spacing 1.35
_PAD = 0.12
_GAP = 0.32
_NBSP = "\u00a0"
_STAGE_MIN = {"allocation": 0.85, "follow-up": 0.8, "analysis": 0.75}  # inches

_STYLE: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "svg.fonttype": "none",
    "svg.hashsalt": "myositis-outcomes",
}


def _n(value: int) -> str:
    return f"n = {value:,}"


def _wrap(lines: Sequence[str], width: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        # indents in no-break spaces: SVG text collapses ordinary leading spaces
        if line.startswith("    "):  # a detail under a bullet
            out += textwrap.wrap(
                "\u2013 " + line[4:], width, initial_indent=_NBSP * 4, subsequent_indent=_NBSP * 6
            )
            continue
        indent = _NBSP * 3 if line.startswith("- ") else ""
        text = ("\u2022 " + line[2:]) if line.startswith("- ") else line
        out += textwrap.wrap(text, width, subsequent_indent=indent) or [""]
    return out


def _reasons(pairs: Sequence[Sequence[Any]]) -> list[str]:
    return [f"- {reason} ({count})" for reason, count in pairs]


def _grouped(pairs: Sequence[Sequence[Any]]) -> list[str]:
    """Exclusion reasons as CONSORT groups them: a reason written ``group: detail`` is counted
    under its group ("Not meeting inclusion criteria (n = 13)") with the details below."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for reason, count in pairs:
        head, _, detail = str(reason).partition(": ")
        groups.setdefault(head, []).append((detail, int(count)))
    lines: list[str] = []
    for head, items in sorted(groups.items(), key=lambda kv: -sum(n for _, n in kv[1])):
        total = sum(n for _, n in items)
        lines.append(f"- {head[:1].upper()}{head[1:]} ({_n(total)})")
        lines += [f"    {detail} ({n})" for detail, n in items if detail]
    return lines


def _receipt(group: Mapping[str, Any], what: str) -> list[str]:
    """CONSORT's "received allocated intervention" lines of a group's allocation box; "not
    recorded" without the enrolment's first doses (``received`` None or absent)."""
    if group.get("received") is None:
        return [f"- Receipt of the {what}: not recorded"]
    lines = [
        f"- Received the {what} ({_n(group['received'])})",
        f"- Did not receive the {what} ({_n(group['not_received'])})",
    ]
    return lines + [f"    {reason} ({n})" for reason, n in group["not_received_reasons"]]


def group_boxes(group: Mapping[str, Any], consort: Mapping[str, Any]) -> dict[str, list[str]]:
    """The text of a group's allocation, follow-up and analysis boxes (lines; "- " starts a
    bullet)."""
    visit = consort["endpoint_visit"]
    everyone = "all enrolled" if consort.get("single_arm") else "all randomised"
    if "arm" not in group and not consort.get("single_arm"):
        allocated = [
            f"Allocated ({_n(group['allocated'])}): arms pooled; the allocation is concealed"
        ]
    else:
        verb = "Assigned to" if consort.get("single_arm") else "Allocated to"
        allocated = [f"{verb} {group['label']} ({_n(group['allocated'])})"]
    allocated += _receipt(
        group, "intervention" if consort.get("single_arm") else "allocated intervention"
    )
    follow = [f"Withdrew before {visit} ({_n(group['withdrew'])})"]
    follow += _reasons(group["withdrawal_reasons"])
    follow.append(f"Attended the {visit} visit ({_n(group['attended_endpoint_visit'])})")
    groups = consort["groups"]
    if any(g["rescue_therapy"] or g["prednisone_restarted"] for g in groups):
        follow.append(
            f"Rescue therapy ({_n(group['rescue_therapy'])}); prednisone restarted "
            f"({_n(group['prednisone_restarted'])})"
        )
    analysed = [
        f"Analysed ({_n(group['analysed'])}): {everyone}",
        f"- no observed endpoint, counted as non-responders ({group['without_observed_endpoint']})",
        f"Excluded from analysis ({_n(group['excluded_from_analysis'])})",
    ]
    return {"allocation": allocated, "follow-up": follow, "analysis": analysed}


def consort_figure(consort: Mapping[str, Any]) -> Figure:
    """The flow diagram of ``consort`` (see the module docstring)."""
    groups = list(consort["groups"])
    columns = len(groups)
    col_w = 3.3 if columns > 1 else 4.4
    width_chars = 44 if columns > 1 else 60
    left = 0.55  # stage labels
    total_w = max(left + columns * col_w + (columns - 1) * 0.3 + 0.15, 7.2)
    xs = [
        left + (total_w - left - columns * col_w - (columns - 1) * 0.3) / 2 + i * (col_w + 0.3)
        for i in range(columns)
    ]
    centre = (xs[0] + xs[-1] + col_w) / 2
    assessed = consort.get("assessed")
    top_text = (
        [f"Assessed for eligibility ({_n(assessed)})"]
        if assessed is not None
        else ["Assessed for eligibility: not recorded", "(no screening log was given)"]
    )
    excluded: list[str] = []
    if assessed is not None:
        excluded = _wrap(
            [f"Excluded ({_n(consort['excluded'])})", *_grouped(consort["excluded_reasons"])], 46
        )
    boxes = [group_boxes(g, consort) for g in groups]
    stages = ("allocation", "follow-up", "analysis")
    wrapped = {s: [_wrap(b[s], width_chars) for b in boxes] for s in stages}
    # a row is at least as tall as its rotated stage label
    heights = {
        s: max(max(len(t) for t in wrapped[s]) * _LINE + 2 * _PAD, _STAGE_MIN[s]) for s in stages
    }
    top_lines = _wrap(top_text, 40)
    top_h = len(top_lines) * _LINE + 2 * _PAD
    excl_h = len(excluded) * _LINE + 2 * _PAD if excluded else 0.0
    rand_h = _LINE + 2 * _PAD
    enrol_h = top_h + _GAP + (excl_h + _GAP if excluded else 0.0) + rand_h
    total_h = enrol_h + sum(heights.values()) + 4 * _GAP + 0.2

    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(total_w, total_h))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, total_w)
        ax.set_ylim(0, total_h)
        ax.set_axis_off()

        def box(
            x: float, top: float, w: float, h: float, lines: Sequence[str], align: str = "left"
        ) -> None:
            ax.add_patch(
                FancyBboxPatch(
                    (x, top - h),
                    w,
                    h,
                    linewidth=0.9,
                    edgecolor=_EDGE,
                    facecolor="white",
                    boxstyle="round,pad=0,rounding_size=0.04",
                )
            )
            tx = x + w / 2 if align == "center" else x + _PAD
            ax.text(
                tx, top - _PAD, "\n".join(lines), ha=align, va="top", linespacing=1.35, color=_INK
            )

        def line(x0: float, y0: float, x1: float, y1: float, head: bool = False) -> None:
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops={
                    "arrowstyle": "-|>" if head else "-",
                    "color": _INK,
                    "linewidth": 0.8,
                    "shrinkA": 0,
                    "shrinkB": 0,
                },
            )

        def stage(label: str, top: float, h: float) -> None:
            ax.add_patch(
                FancyBboxPatch(
                    (0.08, top - h),
                    0.32,
                    h,
                    linewidth=0,
                    facecolor=_STAGE,
                    boxstyle="round,pad=0,rounding_size=0.04",
                )
            )
            ax.text(
                0.24, top - h / 2, label, rotation=90, ha="center", va="center", fontweight="bold"
            )

        y = total_h - 0.1
        stage("Enrolment", y, enrol_h)
        top_w = 2.7
        box(centre - top_w / 2, y, top_w, top_h, top_lines, "center")
        rand_top = y - enrol_h + rand_h
        if excluded:
            # the excluded box sits right of the line from assessed to randomised
            ex_top = y - top_h - _GAP
            ex_x = centre + 0.35
            box(ex_x, ex_top, min(3.4, total_w - ex_x - 0.15), excl_h, excluded)
            line(centre, ex_top - excl_h / 2, ex_x, ex_top - excl_h / 2, head=True)
        line(centre, y - top_h, centre, rand_top, head=True)
        word = "Enrolled" if consort.get("single_arm") else "Randomised"
        box(
            centre - top_w / 2,
            rand_top,
            top_w,
            rand_h,
            [f"{word} ({_n(consort['randomised'])})"],
            "center",
        )
        y = rand_top - rand_h - _GAP
        mids = [x + col_w / 2 for x in xs]
        split = y + _GAP / 2
        line(centre, rand_top - rand_h, centre, split if columns > 1 else y, head=columns == 1)
        if columns > 1:
            line(min(mids), split, max(mids), split)
            for m in mids:
                line(m, split, m, y, head=True)
        for s in stages:
            h = heights[s]
            stage("Follow-up" if s == "follow-up" else s.capitalize(), y, h)
            for x, lines in zip(xs, wrapped[s], strict=True):
                box(x, y, col_w, h, lines)
                if s != "analysis":
                    line(x + col_w / 2, y - h, x + col_w / 2, y - h - _GAP, head=True)
            y -= h + _GAP
    return fig


__all__ = ["consort_figure", "group_boxes"]

"""The study report: one self-contained HTML page (tables and inline SVG figures) rendered
from a study's results dictionary alone.

Everything shown comes from the results that are also written to ``results.json``, so
``myositis report results.json`` renders the same page again. Synthetic data are announced in
a banner at the top, and the report states that its exact counts are for local use only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from myositis.report import figures
from myositis.report.kernel import render_html, write_text_atomic
from myositis.report.svg import to_svg


def figure_svgs(results: dict[str, Any]) -> dict[str, Markup]:
    """The figures as inline SVG: waterfall, trajectories, Kaplan-Meier, attrition."""
    mcid = float(results["settings"]["mcid"])
    # The waterfall shows follow-up minus baseline (negative = better), the sign of the table.
    changes = {str(p["person_id"]): -float(p["improvement"]) for p in results["patients"]}
    series = {
        str(t["person_id"]): [(float(m), float(v)) for m, v in t["points"]]
        for t in results["trajectories"]
    }
    steps = [(s["label"], int(s["remaining"])) for s in results["attrition"]]
    drawn = {
        "waterfall": figures.waterfall(
            changes,
            mcid=mcid,
            ylabel="Change in CDASI activity (follow-up - baseline)",
        ),
        "trajectories": figures.trajectories(series),
        "kaplan_meier": figures.km_curve(
            results["response"]["time_to_response"], xlabel="Months since JAK-inhibitor start"
        ),
        "attrition": figures.attrition_flow(steps),
    }
    # The SVG comes from matplotlib, not from user text: safe to inline as markup.
    return {name: Markup(to_svg(fig, name)) for name, fig in drawn.items()}


def render_study_html(results: dict[str, Any]) -> str:
    """The study report page for a results dictionary."""
    return render_html("study.html.j2", r=results, fig=figure_svgs(results))


def write_study_report(results: dict[str, Any], path: Path) -> Path:
    """Render the study report to ``path`` (written atomically)."""
    return write_text_atomic(path, render_study_html(results))


__all__ = ["figure_svgs", "render_study_html", "write_study_report"]

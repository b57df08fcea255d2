"""The self-contained HTML report of a study run (jinja2 template, inline SVG figures).

Everything shown comes from the results dictionary that is also written to ``results.json``;
figures are drawn by :mod:`myositis.report.figures` and inlined as SVG, so the file needs
nothing else to be read. Synthetic data are announced in a banner at the top, and the report
states that its exact counts are for local use only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from myositis import __version__
from myositis.analysis.statistics import R_EXACT_WILCOXON
from myositis.analysis.survival import KaplanMeier
from myositis.cohort.builder import Cohort
from myositis.report import figures

_ENV = Environment(
    loader=PackageLoader("myositis.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def fmt(value: Any, digits: int = 1) -> str:
    """A number rounded for display ('-' when missing or not finite)."""
    if value is None or isinstance(value, str):
        return "-" if value is None else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    number = float(value)
    if not math.isfinite(number):
        return "-"
    if float(number).is_integer() and digits == 0:
        return f"{int(number)}"
    return f"{number:.{digits}f}"


def pvalue(value: Any) -> str:
    """p-values as journals print them: three decimals, '< 0.001' below that."""
    if value is None:
        return "-"
    number = float(value)
    return "< 0.001" if number < 0.001 else f"{number:.3f}"


def percent(value: Any, digits: int = 1) -> str:
    """A proportion (0-1) as a percentage."""
    return "-" if value is None else f"{100 * float(value):.{digits}f}%"


_ENV.filters["fmt"] = fmt
_ENV.filters["pvalue"] = pvalue
_ENV.filters["percent"] = percent
_ENV.globals["R_EXACT_WILCOXON"] = R_EXACT_WILCOXON


def figure_svgs(results: dict[str, Any], cohort: Cohort, km: KaplanMeier) -> dict[str, Markup]:
    """The four figures as inline SVG: waterfall, trajectories, Kaplan-Meier, attrition."""
    mcid = float(results["settings"]["mcid"])
    months = float(results["settings"]["days_per_month"])
    changes = {str(p.person_id): p.change for p in cohort.patients}
    series = {
        str(pid): [(days / months, value) for days, value in points]
        for pid, points in cohort.cdasi_series.items()
    }
    steps = [(s["label"], int(s["remaining"])) for s in results["attrition"]]
    drawn = {
        "waterfall": figures.waterfall(
            changes,
            mcid=mcid,
            ylabel="Change in CDASI activity (follow-up - baseline)",
        ),
        "trajectories": figures.trajectories(series),
        "kaplan_meier": figures.km_curve(km, xlabel="Months since JAK-inhibitor start"),
        "attrition": figures.attrition_flow(steps),
    }
    # The SVG comes from matplotlib, not from user text: safe to inline as markup.
    return {name: Markup(figures.to_svg(fig)) for name, fig in drawn.items()}


def render_report(results: dict[str, Any], cohort: Cohort, km: KaplanMeier, path: Path) -> Path:
    """Render ``report.html`` to ``path``."""
    html = _ENV.get_template("report.html.j2").render(
        r=results, fig=figure_svgs(results, cohort, km), version=__version__
    )
    path.write_text(html, encoding="utf-8")
    return path


__all__ = ["figure_svgs", "fmt", "percent", "pvalue", "render_report"]

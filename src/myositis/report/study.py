"""The study report: one self-contained HTML page (tables and inline SVG figures) rendered
from a study's results dictionary alone.

Everything shown comes from the results that are also written to ``results.json``, so
``myositis report results.json`` renders the same page again (:func:`render_again`). Synthetic
data are announced in a banner at the top, and the report states that its exact counts are for
local use only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from myositis.errors import MyositisError
from myositis.report import figures
from myositis.report.kernel import write_text_atomic
from myositis.report.page import plain, render_page
from myositis.report.results_json import read_results
from myositis.report.tables import tables, write_tables

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Members every study results.json has; rendering needs each of them.
STUDY_MEMBERS: Final = (
    "study",
    "spec_sha256",
    "data_fingerprint",
    "software_version",
    "generated_at",
    "synthetic",
    "settings",
    "attrition",
    "baseline_characteristics",
    "cdasi",
    "response",
    "dosing",
    "treatment_duration",
    "adverse_events",
    "concomitant_therapy",
    "pruritus",
    "myositis",
    "notes",
    "patients",
    "trajectories",
)

#: What wrote a results file of each other kind, and so re-creates its report.
_OTHER_KINDS: Final = {
    "evidence-jak-dm": "'myositis evidence jak-dm' (run it again to re-create that report)",
}


def trajectory_layout(results: Mapping[str, Any]) -> dict[str, Any]:
    """How Figure 3 summarises the trajectories (its caption says so): the spacing of the
    summary's time points (months), the fewest patients summarised, and whether it has one
    panel per subtype group."""
    series = results["trajectories"]
    last = max((float(m) for t in series for m, _ in t["points"]), default=0.0)
    groups = {t.get("subtype_group") for t in series}
    return {
        "step": figures.course_step(last),
        "faceted": len(series) > figures.FACET_ABOVE and len(groups) > 1,
        "min_patients": figures.TRAJECTORY_MIN_PATIENTS,
    }


def study_figures(results: dict[str, Any]) -> dict[str, Figure]:
    """The figures of the study report: attrition, waterfall, trajectories, Kaplan-Meier."""
    patients = results["patients"]
    response = results["response"]
    absolute = response.get("rule", "absolute") == "absolute"
    series = {
        str(t["person_id"]): [(float(m), float(v)) for m, v in t["points"]]
        for t in results["trajectories"]
    }
    return {
        "attrition": figures.attrition_flow(
            [(s["label"], int(s["remaining"])) for s in results["attrition"]]
        ),
        "waterfall": figures.waterfall(
            {str(p["person_id"]): float(p["improvement"]) for p in patients},
            mcid=float(results["settings"]["mcid"]) if absolute else None,
            responders={str(p["person_id"]): bool(p["responder"]) for p in patients},
        ),
        "trajectories": figures.trajectories(
            series,
            groups={
                str(t["person_id"]): str(t.get("subtype_group") or "Not classified")
                for t in results["trajectories"]
            },
        ),
        "kaplan_meier": figures.km_curve(
            response["time_to_response"], xlabel="Months since JAK-inhibitor start"
        ),
    }


def render_study_html(results: Mapping[str, Any]) -> str:
    """The study report page for a results dictionary (as results.json holds it)."""
    data = plain(results)
    return render_page(
        "study.html.j2", data, study_figures, is_plain=True, trajectory=trajectory_layout(data)
    )


def write_study_report(results: Mapping[str, Any], path: Path) -> Path:
    """Render the study report to ``path`` (written atomically)."""
    return write_text_atomic(path, render_study_html(results))


def render_again(source: str | Path, out: Path) -> Path:
    """Render the report of a study's ``results.json`` (or of the folder holding it) into
    ``out/report.html``, with its tables in ``out/tables``; returns the page's path.

    Refuses, naming the file and what to do, a results file of another kind, one missing
    members a study report needs, and one whose members cannot be rendered (damaged or
    edited); nothing is written then.
    """
    data = read_results(source)
    where = Path(source)
    kind = data.get("kind")
    if kind != "study":
        made_by = _OTHER_KINDS.get(str(kind), "another command")
        raise MyositisError(
            f"{where}: holds '{kind}' results, written by {made_by}; 'myositis report' renders "
            "the results.json of a study run ('myositis study run' or 'myositis demo')"
        )
    from jinja2 import UndefinedError

    from myositis.errors import InvalidInputError
    from myositis.report import cohort_study

    # a format-2 study (a cohort-language cohort) has a page and tables of its own
    members, render, check, write = (
        (
            cohort_study.COHORT_STUDY_MEMBERS,
            cohort_study.render_cohort_study_html,
            cohort_study.cohort_tables,
            cohort_study.write_cohort_tables,
        )
        if cohort_study.is_cohort_study(data)
        else (STUDY_MEMBERS, render_study_html, tables, write_tables)
    )
    missing = [m for m in members if m not in data]
    if missing:
        raise MyositisError(
            f"{where}: a study results.json without {', '.join(map(repr, missing))}: the file is "
            "incomplete or was edited; give the results.json the run wrote, unchanged"
        )
    if out.exists() and not out.is_dir():
        raise MyositisError(f"--out {out}: exists and is not a folder; choose another --out")
    try:
        html = render(data)
        check(data)
    except (KeyError, IndexError, TypeError, ValueError, UndefinedError, InvalidInputError) as exc:
        raise MyositisError(
            f"{where}: cannot render this results.json ({_problem(exc)}); it was damaged or "
            f"edited, or written by another version (it says {data.get('software_version')!r}): "
            "give the results.json the run wrote, unchanged, or run the study again"
        ) from None
    page = write_text_atomic(out / "report.html", html)
    write(data, out / "tables")
    return page


def _problem(exc: Exception) -> str:
    """The first line of an error, in the words of JSON members where it names one."""
    if isinstance(exc, KeyError):
        return f"member {exc.args[0]!r} is missing"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    undefined = re.search(r"has no attribute '([^']+)'", text)  # jinja2's words for a key
    return f"member {undefined.group(1)!r} is missing" if undefined else text


__all__ = [
    "STUDY_MEMBERS",
    "render_again",
    "render_study_html",
    "study_figures",
    "trajectory_layout",
    "write_study_report",
]

"""The report of a format-2 study (a cohort of the cohort language): one self-contained HTML
page and its tables, rendered from the results dictionary alone
(:func:`myositis.analysis.cohort_results.analyse_cohort` plus the run's header), so
``myositis report results.json`` renders the same page again.

Figures: the attrition flow, and for each ``change`` outcome a waterfall of each member's
improvement (the change in the direction the outcome calls better: up = better).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from myositis.report import figures, labels
from myositis.report.kernel import write_text_atomic
from myositis.report.page import plain, render_page
from myositis.report.tables import write_named_tables

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Members every format-2 study results.json has; rendering needs each of them.
COHORT_STUDY_MEMBERS: Final = (
    "study",
    "spec_version",
    "cohort_label",
    "exit_rule",
    "spec_sha256",
    "data_fingerprint",
    "software_version",
    "generated_at",
    "synthetic",
    "settings",
    "attrition",
    "characteristics",
    "time_in_cohort",
    "outcomes",
    "notes",
    "members",
)

_SUMMARY = ("n", "mean", "sd", "median", "q1", "q3", "min", "max", "ci_low", "ci_high")


def is_cohort_study(results: Mapping[str, Any]) -> bool:
    """Whether ``results`` are those of a format-2 study (this module renders them)."""
    return results.get("kind") == "study" and results.get("spec_version") == 2


def outcome_title(outcome: Mapping[str, Any]) -> str:
    """An outcome's measure in words (``cdasi``, ``activity`` -> the CDASI activity score's
    name from :mod:`myositis.report.labels`; a laboratory test by its name)."""
    population = outcome.get("population") or "adult"
    if outcome.get("score") == "tis":
        return f"Total Improvement Score (2016 ACR/EULAR, {population})"
    if outcome.get("score") == "doi":
        return f"IMACS definition of improvement ({population} core set)"
    if outcome.get("test"):
        uln = " (times the upper limit of normal)" if outcome.get("scale") == "times_uln" else ""
        return f"{str(outcome['test']).upper()}{uln}"
    return labels.measure(str(outcome["instrument"]), str(outcome["measure"]))


def improvement_label(outcome: Mapping[str, Any]) -> str:
    """The waterfall's axis: which difference is plotted, so that up is better."""
    order = (
        "baseline \u2212 follow-up" if outcome["better"] == "lower" else "follow-up \u2212 baseline"
    )
    return f"Improvement in {outcome['name']}\n({order}; up = better)"


def cohort_study_figures(results: dict[str, Any]) -> dict[str, Figure]:
    """Attrition flow, and one waterfall per ``change`` outcome with members (``change_<name>``)."""
    drawn: dict[str, Figure] = {
        "attrition": figures.attrition_flow(
            [(s["label"], int(s["remaining"])) for s in results["attrition"]]
        )
    }
    for outcome in results["outcomes"]:
        if outcome["kind"] == "change" and outcome["members"]:
            drawn[f"change_{outcome['name']}"] = figures.waterfall(
                {
                    f"{m['person_id']}"
                    + (f" ({m['index_date']})" if _repeats(outcome) else ""): float(
                        m["improvement"]
                    )
                    for m in outcome["members"]
                },
                mcid=None,
                ylabel=improvement_label(outcome),
            )
    return drawn


def _repeats(outcome: Mapping[str, Any]) -> bool:
    ids = [m["person_id"] for m in outcome["members"]]
    return len(ids) != len(set(ids))


def _summary_row(outcome: str, label: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    return {"outcome": outcome, "measure": label, **{k: summary.get(k) for k in _SUMMARY}}


def cohort_tables(results: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every table of the report by file name: attrition, characteristics (long form), time
    in cohort, outcome summaries and tests, TIS categories, DOI proportions, members."""
    c = results["characteristics"]
    characteristics: list[dict[str, Any]] = [
        {"characteristic": "Members", "category": "", "value": c["n"]}
    ]
    for key in ("sex", "race", "ethnicity", "site", "subtype"):
        characteristics += [
            {
                "characteristic": key,
                "category": row["category"],
                "value": row["count"],
                "percent": row["percent"],
            }
            for row in c[key]
        ]
    age = c["age_at_index"]
    characteristics.append(
        {"characteristic": "age_at_index", "category": "summary", "value": age.get("mean")}
        | {k: age.get(k) for k in ("sd", "median", "q1", "q3", "min", "max", "n", "missing")}
    )
    summaries: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    categories: list[dict[str, Any]] = []
    proportions: list[dict[str, Any]] = []
    for o in results["outcomes"]:
        name = o["name"]
        if o["kind"] == "change":
            summaries += [
                _summary_row(name, label, o[key])
                for key, label in (
                    ("baseline", "baseline"),
                    ("followup", "follow-up"),
                    ("change", "change (follow-up - baseline)"),
                )
            ]
            tests += [
                {"outcome": name, "test": test, **o[test]}
                for test in ("paired_t", "wilcoxon", "wilcoxon_exact")
            ]
        elif o["kind"] == "tis":
            summaries.append(_summary_row(name, "total improvement score", o["tis"]))
            categories += [{"outcome": name, **row} for row in o["categories"]]
        else:
            proportions.append({"outcome": name, "measure": "met", **o["met"]})
            proportions += [
                {"outcome": name, "measure": f"measures {key}", **o[key]}
                for key in ("improved", "worsened")
            ]
    out: dict[str, list[dict[str, Any]]] = {
        "attrition": list(results["attrition"]),
        "characteristics": characteristics,
        "time_in_cohort": [_summary_row("", "days from index to exit", results["time_in_cohort"])],
        "outcome_summaries": summaries,
        "outcome_tests": tests,
        "members": list(results["members"]),
    }
    if categories:
        out["tis_categories"] = categories
    if proportions:
        out["doi"] = proportions
    return out


def render_cohort_study_html(results: Mapping[str, Any]) -> str:
    """The report page of a format-2 study's results (as results.json holds them)."""
    return render_page(
        "cohort_study.html.j2",
        plain(results),
        cohort_study_figures,
        is_plain=True,
        outcome_title=outcome_title,
    )


def write_cohort_study_report(results: Mapping[str, Any], path: Path) -> Path:
    """Render the report to ``path`` (written atomically)."""
    return write_text_atomic(path, render_cohort_study_html(results))


def write_cohort_tables(results: Mapping[str, Any], folder: Path) -> list[Path]:
    """Write every table of the report as ``folder/<name>.csv``."""
    return write_named_tables(cohort_tables(plain(results)), folder)


__all__ = [
    "COHORT_STUDY_MEMBERS",
    "cohort_study_figures",
    "cohort_tables",
    "improvement_label",
    "outcome_title",
    "is_cohort_study",
    "render_cohort_study_html",
    "write_cohort_study_report",
    "write_cohort_tables",
]

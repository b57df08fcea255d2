"""Every analysis of a format-2 study (a cohort of the cohort language) as one results
dictionary: the attrition, the members' characteristics at the index
(:mod:`myositis.analysis.characteristics`), the time in the cohort and one section per
outcome (:mod:`myositis.analysis.outcomes`).

Time in the cohort: days from the index date to the exit date of each member row (both as
:func:`myositis.cohort.run.run_cohort` returns them), summarised (median and quartiles with
numpy's default linear quantiles, R ``quantile(type = 7)``).

Like :func:`myositis.analysis.results.analyse`, the dictionary holds plain JSON types, exact
counts and per-member values, for use at the site only; the report is rendered from it alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from myositis.analysis.characteristics import characteristics_at_index
from myositis.analysis.options import AnalysisOptions
from myositis.analysis.outcomes import outcome_section
from myositis.analysis.serialise import summary_dict
from myositis.cohort.run import CohortRun
from myositis.progress import StepTimes


def time_in_cohort(rows: Sequence[Mapping[str, Any]], conf: float = 0.95) -> dict[str, Any]:
    """Days from index to exit of the member rows with an exit date (summary), and how many
    have none."""
    days = [
        float((r["exit_date"] - r["index_date"]).days)
        for r in rows
        if r.get("exit_date") is not None
    ]
    return summary_dict(days, conf) | {"missing": len(rows) - len(days)}


def analyse_cohort(
    run: CohortRun,
    characteristics: Sequence[Mapping[str, Any]],
    options: AnalysisOptions,
    times: StepTimes | None = None,
) -> dict[str, Any]:
    """The results of a format-2 study: ``attrition``, ``characteristics``,
    ``time_in_cohort``, ``outcomes`` (a list, in the cohort's order), ``members`` (one row per
    member: characteristics, index and exit) and ``notes``.

    ``characteristics`` are the member rows of :func:`myositis.cohort.members.characteristics`
    (keyed by person and index date, the keys of ``run.members``)."""
    clock = times or StepTimes()
    conf = options.conf_level
    found = {(int(c["person_id"]), c["index_date"]): c for c in characteristics}
    rows: list[dict[str, Any]] = []
    for member in run.members.to_pylist():
        key = (int(member["person_id"]), member["index_date"])
        rows.append({**found.get(key, {}), **member})
    results: dict[str, Any] = {
        "attrition": [asdict(s) for s in run.attrition],
    }
    with clock.step("analysis: characteristics"):
        results["characteristics"] = characteristics_at_index(rows, conf)
        results["time_in_cohort"] = time_in_cohort(rows, conf)
    sections = []
    for outcome in run.cohort.outcomes:
        with clock.step(f"analysis: outcome {outcome.name}"):
            sections.append(outcome_section(outcome, rows, conf))
    results["outcomes"] = sections
    persons = len({r["person_id"] for r in rows})
    results["notes"] = (
        [f"{len(rows)} cohort entries of {persons} persons: a person can enter more than once."]
        if persons != len(rows)
        else []
    )
    results["members"] = [
        {
            "person_id": r["person_id"],
            "index_date": r["index_date"],
            "exit_date": r.get("exit_date"),
            "days_in_cohort": None
            if r.get("exit_date") is None
            else (r["exit_date"] - r["index_date"]).days,
            **{k: r.get(k) for k in ("site", "sex", "age_at_index", "subtype")},
            **{
                k: v
                for k, v in r.items()
                if any(k.startswith(f"{o.name}_") for o in run.cohort.outcomes)
            },
        }
        for r in rows
    ]
    return results


__all__ = ["analyse_cohort", "time_in_cohort"]

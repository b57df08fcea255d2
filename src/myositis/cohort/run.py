"""Run a compiled cohort: its attrition (one query) and its members (one query).

:func:`run_cohort` executes the two expressions of :func:`myositis.cohort.compile.compile_cohort`
and returns the attrition lines (persons remaining after each, and how many each excluded)
and the members (``person_id, index_date, exit_date``) as an Arrow table, sorted; both come
from the compiled cohort's one query (``CompiledCohort.result``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from ibis import BaseBackend

from myositis.cohort.build import AttritionStep
from myositis.cohort.compile import CompiledCohort, Step, compile_cohort
from myositis.cohort.definition import CohortDefinition
from myositis.cohort.language import Cohort
from myositis.cohort.plans import planned
from myositis.cohort.staging import StagedQuery, fetch_all, is_staged, run_staged, staged_plan
from myositis.cohort.translate import from_definition
from myositis.documents import read_yaml, validate
from myositis.errors import SpecError
from myositis.progress import Progress, StepTimes, silent
from myositis.registry.connect import engine_of


@dataclass(frozen=True)
class CohortRun:
    """A cohort run on a registry: the cohort, its attrition lines and members."""

    cohort: Cohort
    #: the compiled expressions; None when the query's plan came from the plan cache
    #: (:mod:`myositis.cohort.plans`), which skips building them
    compiled: CompiledCohort | None
    attrition: list[AttritionStep]
    members: pa.Table
    #: engine, its version, the cohort's hash and the seconds of each step (issue 13 item 6)
    run: dict[str, object] = field(default_factory=dict)

    @property
    def persons(self) -> int:
        """Distinct persons among the members."""
        return len(set(self.members.column("person_id").to_pylist()))

    def as_dict(self) -> dict[str, object]:
        """``{"persons": N, "attrition": [{"label": ..., "remaining": N}, ...], "run": {...}}``."""
        return {
            "persons": self.persons,
            "attrition": [{"label": s.label, "remaining": s.remaining} for s in self.attrition],
            "run": self.run,
        }


def cohort_sha256(cohort: Cohort) -> str:
    """SHA-256 of the cohort's canonical JSON (every field with its value, sorted keys): the
    rule of a study specification's ``spec_sha256``, so formatting and comments of the file do
    not change it and any value does."""
    text = json.dumps(cohort.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_cohort(path: str | Path) -> Cohort:
    """Read and validate a cohort file: a YAML mapping of the cohort language
    (:class:`~myositis.cohort.language.Cohort`), a format-2 study specification whose
    ``cohort`` section is one, or a format-1 study specification, whose cohort section is
    translated (:func:`~myositis.cohort.translate.from_definition`: the persons, index dates,
    attrition lines and CDASI outcome of the study's own run). Problems raise
    :class:`~myositis.errors.SpecError` naming the file, each field path and value
    (docs/cohort-language.md)."""
    source = Path(path)
    if not source.is_file():
        raise SpecError(f"{source}: no such cohort file; give the path of a YAML cohort file")
    data = read_yaml(source, what="cohort file")
    if isinstance(data, dict) and data.get("spec_version") == 1:
        # format 1's cohort section, translated: the persons, index dates and attrition lines
        # of the study's own run (myositis.cohort.translate)
        definition = validate(
            CohortDefinition,
            data.get("cohort", {}),
            source=f"{source} (cohort section, spec_version 1)",
            what="cohort definition",
            docs="docs/study-spec.md",
        )
        cohort = from_definition(definition)
        study = data.get("study")
        title = study.get("title") if isinstance(study, dict) else None
        return cohort.model_copy(update={"label": title}) if isinstance(title, str) else cohort
    if isinstance(data, dict) and "spec_version" in data and isinstance(data.get("cohort"), dict):
        data = data["cohort"]
    return validate(
        Cohort, data, source=str(source), what="cohort definition", docs="docs/cohort-language.md"
    )


def attrition_steps(compiled: CompiledCohort) -> list[AttritionStep]:
    """Execute the attrition expression (one query) into attrition lines."""
    return _steps(compiled.steps, compiled.attrition.to_pyarrow().to_pylist()[0])


def _steps(lines: list[Step], row: dict[str, object]) -> list[AttritionStep]:
    steps: list[AttritionStep] = []
    before = None
    for k, step in enumerate(lines):
        remaining = int(row[f"step_{k}"] or 0)  # type: ignore[call-overload]
        excluded = 0 if before is None else before - remaining
        steps.append(AttritionStep(k + 1, step.label, step.criterion, remaining, excluded))
        before = remaining
    return steps


def run_cohort(con: BaseBackend, cohort: Cohort, *, progress: Progress = silent) -> CohortRun:
    """Compile ``cohort`` on ``con`` and run it: attrition and members. The compiled query is
    kept in the plan cache (:mod:`myositis.cohort.plans`, keyed by :func:`cohort_sha256`), so
    the same cohort on the same engine and table schemas is not built or compiled again."""
    times = StepTimes()
    built: list[CompiledCohort] = []

    def build() -> tuple[ir.Table, dict[str, Any]]:
        compiled = compile_cohort(con, cohort)
        built.append(compiled)
        steps = [[s.label, s.criterion] for s in compiled.steps]
        return compiled.result, {"steps": steps}

    sha256 = cohort_sha256(cohort)
    parts = {"query": "cohort run", "cohort_sha256": sha256}
    if is_staged(con):
        # Staged engines write each line to a temporary table (cohort/staging.py); the plan
        # cache keeps the SQL of every stage, so a warm run only executes it.
        def build_staged() -> StagedQuery:
            result, extra = build()
            return StagedQuery(built[0], [result], extra)

        with times.step("compile"):
            plan, source = staged_plan(con, parts, build_staged)
        lines = [Step(label, criterion) for label, criterion in plan.extra["steps"]]
        progress("running the cohort (staged)")
        with times.step("run"), run_staged(con, plan) as (final,):
            (result,) = fetch_all(con, [final])
    else:
        with times.step("compile"):
            query, extra, source = planned(con, parts, build)
        lines = [Step(label, criterion) for label, criterion in extra["steps"]]
        progress("running the cohort (one query)")
        with times.step("run"):
            (result,) = fetch_all(con, [query])
    steps = _steps(lines, result.slice(0, 1).to_pylist()[0])
    members = result.select([c for c in result.column_names if not c.startswith("step_")])
    members = members.filter(pc.is_valid(members.column("person_id")))
    members = members.sort_by([("person_id", "ascending"), ("index_date", "ascending")])
    run: dict[str, object] = {
        **engine_of(con),
        "cohort_sha256": sha256,
        "plan": source,
        "steps": times.as_list(),
    }
    return CohortRun(cohort, built[0] if built else None, steps, members, run)


__all__ = ["CohortRun", "attrition_steps", "cohort_sha256", "load_cohort", "run_cohort"]

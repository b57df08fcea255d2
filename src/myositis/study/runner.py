"""Run a study: specification + registry -> cohort -> analyses -> report files.

The runner dispatches on the specification's format: format 1 builds the cohort of its
``cohort`` section (:func:`myositis.cohort.build.build_cohort`) and runs the format-1 analyses
(:func:`myositis.analysis.results.analyse`, the report of :mod:`myositis.report.study`);
format 2 runs its cohort of the cohort language (:func:`myositis.cohort.run.run_cohort`, one
query) and the generic analyses of any cohort
(:func:`myositis.analysis.cohort_results.analyse_cohort`: attrition, characteristics at the
index, time in the cohort, one section per outcome; the report of
:mod:`myositis.report.cohort_study`). Both write the same files with the same header.

``run_study(spec, data, out)`` writes into ``out``:

- ``report.html``: the self-contained report (tables and inline SVG figures);
- ``results.json``: every number of the report with the specification's hash, the data's
  fingerprint (and how it was obtained: recorded when the registry was written and verified
  by cheap aggregates, or computed now from every row), how the integrity rules were
  established (``data_integrity``: checked now, or a DuckDB file unchanged since it passed,
  :mod:`myositis.registry.checked`), the software version, the time and the synthetic flag;
  and ``run``: the engine (``duckdb``, ``postgres``, ``pyspark``) and its version, the
  specification's hash and the wall time of each step (opening, integrity, fingerprint, coded
  values, cohort, each analysis, report);
- ``tables/*.csv``: the report's tables;
- ``shareable/site-<site>.json``: one aggregate package per site, small and complementary
  cells suppressed, no per-patient data (the only outputs meant to leave a site).

Bad input stops with :class:`myositis.errors.SpecError`, :class:`~myositis.errors.RegistryError`
(:class:`~myositis.errors.RegistryIntegrityError` for a registry whose rows break the data
model's rules, :mod:`myositis.registry.integrity`) or :class:`~myositis.errors.EmptyStepError`
before anything is written, so a failed run never leaves a report that looks like a result.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
from ibis import BaseBackend

from myositis import __version__
from myositis.analysis.cohort_results import analyse_cohort
from myositis.analysis.results import analyse
from myositis.cohort.build import CohortResult, build_cohort, empty_step_error
from myositis.cohort.definition import CohortDefinition
from myositis.cohort.language import Cohort
from myositis.cohort.members import characteristics
from myositis.cohort.run import CohortRun, run_cohort
from myositis.errors import EmptyStepError, MyositisError, SpecError
from myositis.progress import Progress, StepTimes, silent
from myositis.registry.checked import IntegrityStep, RegistryChecks
from myositis.registry.connect import connect, engine_of, parse_location
from myositis.registry.fingerprint import RECORDED_KEYS, Fingerprint
from myositis.registry.store import read_metadata
from myositis.report.cohort_study import write_cohort_study_report, write_cohort_tables
from myositis.report.results_json import write_json
from myositis.report.study import write_study_report
from myositis.report.tables import write_tables
from myositis.study.site_packages import write_cohort_site_packages, write_site_packages
from myositis.study.spec import StudySpec, load_spec


@dataclass(frozen=True)
class StudyRun:
    """Where a run wrote its outputs, and the results it wrote."""

    out: Path
    report: Path
    results_json: Path
    tables: list[Path]
    shareable: list[Path]
    results: dict[str, Any]


def run_study(
    spec_path: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    progress: Progress = silent,
    spec: StudySpec | None = None,
) -> StudyRun:
    """Run the specification on the registry at ``data`` (a path or URL, see
    :func:`myositis.registry.connect.connect`) and write the report files into ``out``."""
    say = progress
    times = StepTimes()
    spec = spec or load_spec(spec_path)
    target = Path(out)
    _check_out(target, data)
    say("opening the registry")
    with times.step("open the registry"):
        con = connect(data)
    try:
        engine = engine_of(con)
        checks = RegistryChecks(con, parse_location(data))
        say("checking the registry's integrity")
        with times.step("integrity"):
            integrity = checks.integrity()
            metadata = read_metadata(con)
        say("fingerprinting the registry data")
        with times.step("fingerprint"):
            fingerprint = checks.fingerprint(metadata)
        say("checking coded values")
        with times.step("coded values"):
            unmatched = checks.coded_values()
        say("checking records dated after a death")
        with times.step("records after death"):
            late = checks.after_death()
        checks.keep()
        try:
            with times.step("cohort"):
                if isinstance(spec.cohort, Cohort):
                    language = language_cohort(
                        con, spec, lambda message, *_: say(f"cohort: {message}")
                    )
                else:
                    cohort = study_cohort(con, spec, lambda message, *_: say(f"cohort: {message}"))
        except EmptyStepError as exc:
            if not unmatched:
                raise
            # A misspelt code system or subtype is the likeliest reason no one passed: say so.
            found = "\n".join(f"  - {u}" for u in unmatched)
            raise EmptyStepError(
                f"{exc}\nThe registry holds coded values no study can match:\n{found}"
            ) from None
    finally:
        con.disconnect()
    say("analyses")
    header = _header(spec, metadata, fingerprint, integrity, data)
    if isinstance(spec.cohort, Cohort):
        run, members = language
        results = header | analyse_cohort(run, members, spec.analysis, times)
    else:
        results = header | analyse(cohort, spec.analysis, times)
    results["notes"] = [*unmatched, *late, *results["notes"]]
    # the report shows every step but its own; results.json, written last, has all of them
    results["run"] = _run_record(engine, spec, times)
    say("writing the report")
    staging = target.with_name(f".{target.name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        with times.step("report"):
            shared_dir = staging / "shareable"
            shared_dir.mkdir()
            if isinstance(spec.cohort, Cohort):
                tables = write_cohort_tables(results, staging / "tables")
                report = write_cohort_study_report(results, staging / "report.html")
                shared = write_cohort_site_packages(
                    results, spec.analysis, shared_dir, spec.sha256()
                )
            else:
                tables = write_tables(results, staging / "tables")
                report = write_study_report(results, staging / "report.html")
                shared = write_site_packages(
                    cohort, spec.analysis, results, shared_dir, spec.sha256()
                )
        results["run"] = _run_record(engine, spec, times)
        results_path = write_json(results, staging / "results.json")
        _publish(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)

    def moved(path: Path) -> Path:
        return target / path.relative_to(staging)

    return StudyRun(
        out=target,
        report=moved(report),
        results_json=moved(results_path),
        tables=[moved(p) for p in tables],
        shareable=[moved(p) for p in shared],
        results=results,
    )


def study_cohort(con: BaseBackend, spec: StudySpec, progress: Progress = silent) -> CohortResult:
    """Build the specification's cohort on a registry connection, with the records its
    analyses need (the systemic therapies and pruritus measure of the analysis options)."""
    options = spec.analysis
    return build_cohort(
        con,
        _format_1(spec),
        response_rule=options.response_rule(),
        systemic_therapies=options.systemic_therapies,
        pruritus=(options.pruritus_instrument, options.pruritus_measure),
        progress=progress,
    )


def language_cohort(
    con: BaseBackend, spec: StudySpec, progress: Progress = silent
) -> tuple[CohortRun, list[dict[str, Any]]]:
    """Run a format-2 specification's cohort on a registry connection
    (:func:`myositis.cohort.run.run_cohort`: attrition, members and outcome columns in one
    query), then read the members' characteristics at the index
    (:func:`myositis.cohort.members.characteristics`).

    A cohort that no one passes raises :class:`EmptyStepError` naming the first line that
    left no one, the attrition so far and the field of the specification to check."""
    if not isinstance(spec.cohort, Cohort):
        raise SpecError(f"study {spec.study.id}: spec_version 1 has no cohort-language cohort")
    cohort = spec.cohort
    run = run_cohort(con, cohort, progress=progress)
    empty = [k for k, step in enumerate(run.attrition) if step.remaining == 0]
    if empty or run.members.num_rows == 0:
        k = empty[0] if empty else len(run.attrition) - 1
        raise empty_step_error(run.attrition[: k + 1], _what_to_do(cohort, k))
    progress("reading the members' characteristics")
    keys = ibis.memtable(run.members.select(["person_id", "index_date"]))
    return run, characteristics(con, keys)


def _what_to_do(cohort: Cohort, k: int) -> str:
    """Which field of a format-2 cohort made attrition line ``k`` (registry persons, each
    ``persons_with`` rule, the entry events, each inclusion rule) and what to do."""
    check = (
        "Check it against the registry; 'myositis cohort run SPEC --data REGISTRY' prints "
        "every attrition line."
    )
    rules = len(cohort.persons_with)
    if k == 0:
        return "The registry has no persons: load data first (myositis synth or an importer)."
    if k <= rules:
        return (
            f"No one passed cohort.persons_with.{k - 1} ('{cohort.persons_with[k - 1].label}'). "
            + check
        )
    if k == rules + 1:
        return f"No one has an entry event of cohort.entry ('{cohort.entry.label}'). " + check
    j = k - rules - 2
    return f"No one passed cohort.inclusion.{j} ('{cohort.inclusion[j].label}'). " + check


def _format_1(spec: StudySpec) -> CohortDefinition:
    """The format-1 cohort section the report's analyses read; a format-2 cohort is refused."""
    if not isinstance(spec.cohort, CohortDefinition):
        raise SpecError(
            f"study {spec.study.id}: spec_version 2 (a cohort of the cohort language) is read, "
            "checked and hashed, but the study report's analyses still need a format-1 cohort "
            "section (diagnosis, exposure, baseline, follow-up); run the cohort, its attrition, "
            "members and outcomes with: myositis cohort run SPEC --data REGISTRY"
        )
    return spec.cohort


def _check_out(target: Path, data: str | Path) -> None:
    """Refuse an output folder that is a file or the registry folder itself."""
    if target.exists() and not target.is_dir():
        raise MyositisError(f"--out {target}: exists and is not a folder; choose another --out")
    location = parse_location(data)
    same = location.path is not None and target.exists() and target.samefile(location.path)
    if location.engine == "folder" and same:
        raise MyositisError(
            f"--out {target}: is the registry folder itself; the report would be written "
            "among the registry's tables. Choose another folder, e.g. --out report"
        )


def _publish(staging: Path, target: Path) -> None:
    """Move the finished outputs into ``target``, replacing a previous run's outputs of the
    same names only now that everything was written (other files in ``target`` stay)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(staging.iterdir()):
        destination = target / item.name
        if destination.is_dir():
            shutil.rmtree(destination)
        elif destination.exists():
            destination.unlink()
        item.rename(destination)
    staging.rmdir()


def _run_record(engine: dict[str, str], spec: StudySpec, times: StepTimes) -> dict[str, Any]:
    """How this run was made: engine and version, the specification's hash and the wall time
    of each step so far (seconds)."""
    steps = times.as_list()
    return {
        **engine,
        "spec_sha256": spec.sha256(),
        "steps": steps,
        "total_seconds": round(sum(float(s["seconds"]) for s in steps), 3),
    }


def _header(
    spec: StudySpec,
    metadata: dict[str, str],
    fingerprint: Fingerprint,
    integrity: IntegrityStep,
    data: str | Path,
) -> dict[str, Any]:
    synthetic = metadata.get("synthetic", "").strip().lower() == "true"
    header = {
        "kind": "study",
        "study": {
            "id": spec.study.id,
            "version": spec.study.version,
            "title": spec.study.title,
            "description": spec.study.description.strip(),
            "design_source": spec.study.design_source.strip(),
        },
        "spec_sha256": spec.sha256(),
        "data_fingerprint": fingerprint.value,
        "data_fingerprint_method": fingerprint.as_dict(),
        "data_integrity": integrity.as_dict(),
        "registry": parse_location(data).describe(),
        "software_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "synthetic": synthetic,
        # the recorded fingerprint is reported above, with how it was verified
        "registry_metadata": {k: v for k, v in sorted(metadata.items()) if k not in RECORDED_KEYS},
        "local_use": "Exact counts and per-patient data: for use at the site only. Share only "
        "the site packages in shareable/ (small and complementary cells suppressed).",
    }
    if isinstance(spec.cohort, Cohort):
        return header | _language_settings(spec, spec.cohort)
    cohort = spec.cohort
    return header | {
        "settings": {
            "mcid": spec.analysis.mcid,
            "days_per_month": spec.analysis.days_per_month,
            "conf_level": spec.analysis.conf_level,
            "small_cell_threshold": spec.analysis.small_cell_threshold,
            "baseline_window_days": [
                cohort.baseline.window_days.start,
                cohort.baseline.window_days.end,
            ],
            "followup_window_days": [
                cohort.followup.window_days.start,
                cohort.followup.window_days.end,
            ],
            "followup_used": cohort.followup.use,
        },
    }


def _language_settings(spec: StudySpec, cohort: Cohort) -> dict[str, Any]:
    """The header members of a format-2 study: its format, the cohort's label and exit rule,
    and the analysis settings it uses (each outcome's windows are in its section)."""
    return {
        "spec_version": 2,
        "cohort_label": cohort.label,
        "exit_rule": cohort.exit.describe(),
        "settings": {
            "conf_level": spec.analysis.conf_level,
            "small_cell_threshold": spec.analysis.small_cell_threshold,
        },
    }


__all__ = ["StudyRun", "language_cohort", "run_study", "study_cohort"]

"""Run a study: specification + registry -> cohort -> analyses -> report files.

``run_study(spec, data, out)`` writes into ``out``:

- ``report.html``: the self-contained report (tables and inline SVG figures);
- ``results.json``: every number of the report with the specification's hash, the data's
  fingerprint, the software version, the time and the synthetic flag;
- ``tables/*.csv``: the report's tables;
- ``shareable/site-<site>.json``: one aggregate package per site, small and complementary
  cells suppressed, no per-patient data (the only outputs meant to leave a site).

Bad input stops with :class:`myositis.errors.SpecError`, :class:`~myositis.errors.RegistryError`
or :class:`~myositis.errors.EmptyStepError` before anything is written, so a failed run never
leaves a report that looks like a result.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from myositis import __version__
from myositis.analysis.baseline import baseline_characteristics, subtype_group
from myositis.analysis.cdasi_change import cdasi_change
from myositis.analysis.dosing import dosing
from myositis.analysis.myositis_resolution import myositis_resolution
from myositis.analysis.pruritus import pruritus
from myositis.analysis.response import fit_time_to_response, response
from myositis.analysis.safety import adverse_events, treatment_duration
from myositis.analysis.therapy import concomitant_therapy
from myositis.analysis.treatment import treatment_periods
from myositis.cohort.builder import Cohort, build_cohort
from myositis.errors import EmptyStepError, MyositisError
from myositis.registry.store import open_registry, read_metadata
from myositis.registry.vocabulary import vocabulary_problems
from myositis.report.html import render_report
from myositis.report.results_json import data_fingerprint, write_json
from myositis.report.tables import write_tables
from myositis.study.site_packages import write_site_packages
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


def analyse(cohort: Cohort, spec: StudySpec) -> dict[str, Any]:
    """Every analysis of the report on a built cohort (plain JSON-ready dictionaries)."""
    results: dict[str, Any] = {
        "attrition": [
            {
                "step": s.step,
                "label": s.label,
                "criterion": s.criterion,
                "remaining": s.remaining,
                "excluded": s.excluded,
            }
            for s in cohort.attrition
        ],
        "baseline_characteristics": baseline_characteristics(cohort, spec),
        "cdasi": cdasi_change(cohort, spec),
        "response": response(cohort, spec),
        "dosing": dosing(cohort, spec),
        "treatment_duration": treatment_duration(cohort, spec),
        "adverse_events": adverse_events(cohort, spec),
        "concomitant_therapy": concomitant_therapy(cohort, spec),
        "pruritus": pruritus(cohort, spec),
        "myositis": myositis_resolution(cohort, spec),
        "notes": list(cohort.notes),
    }
    results["patients"] = _listing(cohort, spec, results)
    return results


def _listing(cohort: Cohort, spec: StudySpec, results: dict[str, Any]) -> list[dict[str, Any]]:
    months = spec.analysis.days_per_month
    periods = treatment_periods(cohort)
    dose = {p["person_id"]: p for p in results["dosing"]["patients"]}
    therapy = {p["person_id"]: p for p in results["concomitant_therapy"]["patients"]}
    rows = []
    for p in cohort.patients:
        rows.append(
            {
                "person_id": p.person_id,
                "site": p.site,
                "sex": p.sex,
                "age_at_index": p.age_at_index,
                "subtype": p.subtype,
                "subtype_group": subtype_group(p.subtype, spec),
                "drug": p.ingredient,
                "index_date": p.index_date.isoformat(),
                "baseline_cdasi": p.baseline_activity,
                "followup_cdasi": p.followup_activity,
                "followup_months": p.followup_days / months,
                "improvement": p.improvement,
                "responder": p.responder,
                "months_to_response": None if p.response_days is None else p.response_days / months,
                "max_mg_per_day": dose[p.person_id].get("max_mg_per_day"),
                "dose_vs_label": dose[p.person_id]["status"],
                "treatment_months": periods[p.person_id].days / months,
                "tapered_or_stopped": therapy[p.person_id]["tapered_or_stopped"],
                "additional_therapies": therapy[p.person_id]["additional_therapies"],
            }
        )
    return rows


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),  # no spinner text in logs or pipes
        transient=True,  # the progress line goes away; the summary or the error remains
    ) as bar:
        yield bar


def run_study(
    spec_path: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    progress: bool = True,
    spec: StudySpec | None = None,
) -> StudyRun:
    """Run the specification on a registry and write the report files into ``out``."""
    spec = spec or load_spec(spec_path)
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise MyositisError(f"{target} exists and is not a directory; choose another --out")
    with _progress(progress) as bar:
        task = bar.add_task("opening the registry", total=None)
        con = open_registry(data, read_only=Path(data).is_file())
        metadata = read_metadata(con)
        bar.update(task, description="fingerprinting the registry data")
        fingerprint = data_fingerprint(con)
        bar.update(task, description="checking coded values")
        unmatched = vocabulary_problems(con)

        def say(message: str) -> None:
            bar.update(task, description=f"cohort: {message}")

        try:
            cohort = build_cohort(con, spec, say)
        except EmptyStepError as exc:
            if not unmatched:
                raise
            # A misspelt code system or subtype is the likeliest reason no one passed: say so.
            found = "\n".join(f"  - {u}" for u in unmatched)
            raise EmptyStepError(
                f"{exc}\nThe registry holds coded values no study can match:\n{found}"
            ) from None
        bar.update(task, description="analyses")
        results = _header(spec, metadata, fingerprint) | analyse(cohort, spec)
        results["notes"] = [*unmatched, *results["notes"]]
        km = fit_time_to_response(cohort, spec)
        bar.update(task, description="writing the report")
        staging = target.with_name(f".{target.name}.partial")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        results_path = write_json(results, staging / "results.json")
        tables = write_tables(results, staging / "tables")
        report = render_report(results, cohort, km, staging / "report.html")
        shared_dir = staging / "shareable"
        shared_dir.mkdir()
        shared = write_site_packages(cohort, spec, results, shared_dir)
        con.disconnect()
        _publish(staging, target)
        bar.update(task, description="done")

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


def _header(spec: StudySpec, metadata: dict[str, str], fingerprint: str) -> dict[str, Any]:
    synthetic = metadata.get("synthetic", "").strip().lower() == "true"
    return {
        "study": {
            "id": spec.study.id,
            "version": spec.study.version,
            "title": spec.study.title,
            "description": spec.study.description.strip(),
            "design_source": spec.study.design_source.strip(),
        },
        "spec_sha256": spec.sha256(),
        "data_fingerprint": fingerprint,
        "software_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "synthetic": synthetic,
        "registry_metadata": dict(sorted(metadata.items())),
        "local_use": "Exact counts and per-patient data: for use at the site only. Share only "
        "the site packages in shareable/ (small and complementary cells suppressed).",
        "settings": {
            "mcid": spec.analysis.mcid,
            "days_per_month": spec.analysis.days_per_month,
            "conf_level": spec.analysis.conf_level,
            "small_cell_threshold": spec.analysis.small_cell_threshold,
            "baseline_window_days": [
                spec.cohort.baseline.window_days.start,
                spec.cohort.baseline.window_days.end,
            ],
            "followup_window_days": [
                spec.cohort.followup.window_days.start,
                spec.cohort.followup.window_days.end,
            ],
            "followup_used": spec.cohort.followup.use,
        },
    }


__all__ = ["StudyRun", "analyse", "run_study"]

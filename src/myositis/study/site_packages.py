"""One aggregate package per site for multi-site network studies (shareable outputs).

Each site's cohort members give counts with denominators, means with SDs and sizes, and
adverse events with person-years (and the number of persons), written by
:func:`myositis.network.packages.write_site_package` (which applies the small-cell suppression of
the specification's threshold and checksums the file). Nothing per patient is written.
:func:`export_site_package` copies one site's package where ``study run --site-package``
asks.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from myositis.analysis.options import AnalysisOptions
from myositis.analysis.statistics import describe
from myositis.analysis.treatment import treatment_periods
from myositis.cohort.build import CohortResult
from myositis.errors import SitePackageError
from myositis.network.packages import read_site_package, write_site_package


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return slug[:40] or "unnamed"


def site_aggregates(
    cohort: CohortResult, options: AnalysisOptions, results: dict[str, Any], site: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """Aggregates of one site's cohort members (before suppression)."""
    members = [p for p in cohort.patients if (p.site or "unknown") == site]
    ids = {p.person_id for p in members}
    n = len(members)
    periods = treatment_periods(cohort)
    dose = {p["person_id"]: p for p in results["dosing"]["patients"]}
    therapy = {p["person_id"]: p for p in results["concomitant_therapy"]["patients"]}
    events = sum(
        1
        for e in cohort.adverse_events
        if int(e["person_id"]) in ids
        and e["onset_date"] is not None
        and periods[int(e["person_id"])].covers(e["onset_date"])
    )
    counts: dict[str, dict[str, Any]] = {
        "cdasi_responders": {
            "count": sum(p.responder for p in members),
            "denominator": n,
        },
        "dose_above_label": {
            "count": sum(dose[i]["status"] == "above label" for i in ids),
            "denominator": n,
        },
        "tapered_or_stopped": {
            "count": sum(bool(therapy[i]["tapered_or_stopped"]) for i in ids),
            "denominator": n,
        },
        "monotherapy": {
            "count": sum(therapy[i]["additional_therapies"] == 0 for i in ids),
            "denominator": n,
        },
    }
    for group in options.subtype_groups:
        counts[f"subtype_{_slug(group)}"] = {
            "count": sum(options.subtype_group(p.subtype) == group for p in members),
            "denominator": n,
            "partition": "subtype_group",
        }
    means: dict[str, dict[str, Any]] = {}
    if n >= 2:
        for name, values in (
            ("cdasi_baseline", [p.baseline_activity for p in members]),
            ("cdasi_improvement", [p.improvement for p in members]),
        ):
            s = describe(values)
            means[name] = {"mean": s.mean, "sd": s.sd or 0.0, "n": s.n}
    years = sum(periods[i].years for i in ids)
    # ``persons`` lets the writer hide the person-time of fewer persons than the threshold.
    rates = (
        {"adverse_events": {"events": events, "person_time": years, "persons": n}}
        if years > 0
        else {}
    )
    return {"counts": counts, "means": means, "rates": rates}


def write_site_packages(
    cohort: CohortResult,
    options: AnalysisOptions,
    results: dict[str, Any],
    folder: Path,
    spec_hash: str,
) -> list[Path]:
    """Write ``site-<site>.json`` for every site with cohort members (suppressed at the
    options' small-cell threshold, carrying the specification's hash)."""
    sites = sorted({p.site or "unknown" for p in cohort.patients})
    return _write_packages(
        {site: site_aggregates(cohort, options, results, site) for site in sites},
        options,
        folder,
        spec_hash,
    )


def cohort_site_aggregates(
    results: dict[str, Any], site: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """Aggregates of one site's members of a format-2 study (before suppression), from the
    results' member rows (:func:`myositis.analysis.cohort_results.analyse_cohort`):

    - counts (denominator: the site's member entries): recorded DM subtypes (a partition);
      per ``change`` outcome, entries with both a baseline and a follow-up value; per ``tis``
      outcome, each improvement category (a partition of the entries with a score); per
      ``doi`` outcome, entries meeting the definition (of those computable);
    - means (two or more values): per ``change`` outcome, the baseline and the change
      (follow-up minus baseline) of the entries with both; per ``tis`` outcome, the score.
    """
    members = [m for m in results["members"] if (m.get("site") or "unknown") == site]
    n = len(members)
    counts: dict[str, dict[str, Any]] = {}
    means: dict[str, dict[str, Any]] = {}
    subtypes = sorted({str(m.get("subtype") or "not recorded") for m in members})
    for subtype in subtypes:
        counts[f"subtype_{_slug(subtype)}"] = {
            "count": sum(str(m.get("subtype") or "not recorded") == subtype for m in members),
            "denominator": n,
            "partition": "subtype",
        }

    def mean(name: str, values: list[float]) -> None:
        if len(values) >= 2:
            s = describe(values)
            means[name] = {"mean": s.mean, "sd": s.sd or 0.0, "n": s.n}

    for outcome in results["outcomes"]:
        name = outcome["name"]
        if outcome["kind"] == "change":
            both = [
                m
                for m in members
                if m.get(f"{name}_baseline") is not None and m.get(f"{name}_followup") is not None
            ]
            counts[f"{name}_with_both"] = {"count": len(both), "denominator": n}
            mean(f"{name}_baseline", [float(m[f"{name}_baseline"]) for m in both])
            mean(
                f"{name}_change",
                [float(m[f"{name}_followup"]) - float(m[f"{name}_baseline"]) for m in both],
            )
        elif outcome["kind"] == "tis":
            scored = [m for m in members if m.get(f"{name}_tis") is not None]
            for row in outcome["categories"]:
                category = row["category"]
                counts[f"{name}_{_slug(category)}"] = {
                    "count": sum(str(m.get(f"{name}_category")) == category for m in scored),
                    "denominator": len(scored),
                    "partition": name,
                }
            mean(f"{name}_tis", [float(m[f"{name}_tis"]) for m in scored])
        else:
            known = [m for m in members if m.get(f"{name}_met") is not None]
            counts[f"{name}_met"] = {
                "count": sum(bool(m[f"{name}_met"]) for m in known),
                "denominator": len(known),
            }
    return {"counts": counts, "means": means}


def write_cohort_site_packages(
    results: dict[str, Any], options: AnalysisOptions, folder: Path, spec_hash: str
) -> list[Path]:
    """Write ``site-<site>.json`` for every site with members of a format-2 study, through the
    same writer (and suppression at the options' small-cell threshold) as format 1."""
    sites = sorted({m.get("site") or "unknown" for m in results["members"]})
    return _write_packages(
        {site: cohort_site_aggregates(results, site) for site in sites},
        options,
        folder,
        spec_hash,
    )


def _write_packages(
    per_site: dict[str, dict[str, Any]], options: AnalysisOptions, folder: Path, spec_hash: str
) -> list[Path]:
    """Write each site's non-empty aggregates as ``site-<site>.json`` through the one
    disclosure-control writer, suppressed at the options' small-cell threshold."""
    return [
        write_site_package(
            {k: v for k, v in aggregates.items() if v},
            folder / f"site-{_slug(site)}.json",
            spec_hash=spec_hash,
            site=site,
            threshold=options.small_cell_threshold,
        )
        for site, aggregates in per_site.items()
    ]


def export_site_package(written: Sequence[Path], target: Path, site: str | None) -> Path:
    """Copy the package of ``site`` (of those a run ``written``) to ``target``, verified.

    ``site`` may be omitted when the cohort has one site (a hospital running the study on its
    own registry). The copy is byte for byte, so its checksum still verifies.
    """
    packages = {read_site_package(path).site: path for path in written}
    if site is None:
        if len(packages) != 1:
            raise SitePackageError(
                f"the cohort has {len(packages)} sites ({', '.join(sorted(packages))}); "
                "name the one to export with --site"
            )
        site = next(iter(packages))
    if site not in packages:
        raise SitePackageError(
            f"--site {site!r}: no cohort member is from that site; the cohort's sites are "
            f"{', '.join(sorted(packages)) or '(none)'}"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(packages[site], target)
    except OSError as exc:
        raise SitePackageError(
            f"--site-package {target}: cannot write it ({exc.strerror})"
        ) from exc
    return target


__all__ = [
    "cohort_site_aggregates",
    "export_site_package",
    "site_aggregates",
    "write_cohort_site_packages",
    "write_site_packages",
]

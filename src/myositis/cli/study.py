"""``myositis study``: check a study specification; run it on a registry and write its report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from myositis.cli.options import REGISTRY_HELP, Data, OutDir, Quiet, examples
from myositis.cli.progress import progress_display

RUN_HELP = (
    "Run a declarative study specification on a registry and write the report."
    "\n\n"
    "Writes DIR/report.html (self-contained: tables and figures), DIR/results.json (every "
    "number, with the specification's SHA-256, the data fingerprint and the software "
    "version), DIR/tables/*.csv and DIR/shareable/site-<site>.json (one aggregate package "
    "per site, small and complementary cells suppressed: the only files meant to leave a "
    "site)."
    "\n\n"
    "SPEC is a YAML file (see docs/study-spec.md) or the name of a bundled study "
    "(jak-refractory-dm: the design of Min et al. 2022; jak-new-users-w24: CDASI activity at "
    "week 24 and MMT-8 in the cohort language). A spec_version 1 study reports the format-1 "
    "analyses (CDASI change, response, dose, safety, therapies); a spec_version 2 study (a "
    "cohort of the cohort language, docs/cohort-language.md) reports its attrition, the "
    "members' characteristics at the index, the time in the cohort and one section per "
    "outcome (baseline, follow-up, change, paired tests). "
    f"--data: {REGISTRY_HELP}"
    "\n\n"
    + examples(
        "myositis study run jak-refractory-dm --data examples/min2022 -o min2022-report",
        "myositis study run jak-new-users-w24 --data examples/min2022 -o w24-report",
        "myositis study run jak-refractory-dm "
        "--data 'postgresql://postgres@127.0.0.1:5432/test?schema=min2022' -o pg-report",
        "myositis study run my-study.yaml --data registry.duckdb -o report "
        "--site-package site-a.json",
    )
)

CHECK_HELP = (
    "Validate a study specification without running it: print its identity, its SHA-256 "
    "(recorded in every results.json it produces) and the cohort it describes. Every "
    "problem is named with its field path, value and what is allowed."
    "\n\n"
    "SPEC is a YAML file (see docs/study-spec.md) or the name of a bundled study."
    "\n\n" + examples("myositis study check studies/jak-refractory-dm.yaml")
)

app = typer.Typer(
    name="study",
    help="Declarative registry studies: check a study specification; run it on a registry and "
    "write its report (docs/study-spec.md).",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("run", help=RUN_HELP)
def run(
    spec: Annotated[
        Path,
        typer.Argument(
            help="Study specification (YAML) or a bundled study's name.", metavar="SPEC"
        ),
    ],
    data: Data,
    out: OutDir,
    quiet: Quiet = False,
    site_package: Annotated[
        Path | None,
        typer.Option(
            "--site-package",
            help="Also write this site's aggregate package (JSON: counts, means, SDs, events, "
            "person-time; small cells suppressed; checksum and spec hash) to FILE, for "
            "'myositis evidence combine'.",
            metavar="FILE",
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            help="With --site-package: the site to export when the registry holds several.",
            metavar="NAME",
        ),
    ] = None,
) -> None:
    """Run a study (help text: RUN_HELP)."""
    from myositis.errors import SitePackageError
    from myositis.study.runner import run_study
    from myositis.study.site_packages import export_site_package

    if site is not None and site_package is None:
        raise SitePackageError("--site names the site of --site-package FILE; give both")
    if site_package is not None and site_package.is_dir():
        raise SitePackageError(f"--site-package {site_package}: is a directory; give a file name")
    if site_package is not None:
        _check_site(data, site)
    began = time.perf_counter()
    with progress_display(not quiet) as progress:
        result = run_study(spec, data, out, progress=progress)
    summary(result.results, result.report, time.perf_counter() - began)
    if site_package is not None:
        written = export_site_package(result.shareable, site_package, site)
        typer.echo(f"site package: {written.resolve()}")


@app.command("check", help=CHECK_HELP)
def check(
    spec: Annotated[
        Path,
        typer.Argument(
            help="Study specification (YAML) or a bundled study's name.", metavar="SPEC"
        ),
    ],
) -> None:
    """Validate a study specification (help text: CHECK_HELP)."""
    from myositis.cohort.definition import CohortDefinition
    from myositis.study.spec import load_spec

    loaded = load_spec(spec)
    c = loaded.cohort
    typer.echo(f"ok: {loaded.study.id} version {loaded.study.version}: {loaded.study.title}")
    typer.echo(f"spec_sha256: {loaded.sha256()}")
    if not isinstance(c, CohortDefinition):
        rules = [r.label for r in c.persons_with] + [c.entry.label]
        rules += [r.label for r in c.inclusion]
        typer.echo(f"cohort (spec_version 2): {' -> '.join(rules)}")
        for outcome in c.outcomes:
            source = outcome.score and outcome.describe()
            typer.echo(f"outcome {outcome.name}: {source or outcome.test or outcome.instrument}")
        return
    typer.echo(
        f"cohort: {c.diagnosis.label} (>= {c.diagnosis.min_occurrences} date(s)) -> "
        f"{c.exposure.label} -> baseline {c.baseline.window_days.describe()} -> "
        f"follow-up {c.followup.window_days.describe()} ({c.followup.use})"
    )


def _check_site(data: str, site: str | None) -> None:
    """Refuse a --site the registry does not hold (or a missing --site when it holds several)
    before the run writes anything."""
    from myositis.errors import SitePackageError
    from myositis.registry.connect import connect

    con = connect(data)
    try:
        found = con.table("person").select("site").distinct().to_pyarrow()
        sites = sorted(str(s) for s in found.column("site").to_pylist() if s is not None)
    finally:
        con.disconnect()
    if site is None and len(sites) > 1:
        raise SitePackageError(
            f"the registry holds {len(sites)} sites ({', '.join(sites)}); name the one to "
            "export with --site"
        )
    if site is not None and site not in sites:
        raise SitePackageError(
            f"--site {site!r}: the registry has no person from that site; its sites are "
            f"{', '.join(sites) or '(none)'}"
        )


def summary(results: dict[str, Any], report: Path, seconds: float) -> None:
    attrition = results["attrition"]
    final = attrition[-1]["remaining"]
    label = "SYNTHETIC data; " if results.get("synthetic") else ""
    patients = "patient" if final == 1 else "patients"
    typer.echo(f"cohort: {final} {patients} ({label}{len(attrition)} inclusion steps)")
    for note in results.get("notes", []):
        typer.echo(f"note: {note}", err=True)
    checked = results.get("data_integrity", {})
    if checked.get("method") == "unchanged":
        typer.echo(
            f"registry: not checked again, unchanged since its checks at {checked['checked_at']} "
            "(myositis registry check checks everything)"
        )
    typer.echo(f"report: {report.resolve()}")
    typer.echo(f"results: {report.parent.resolve() / 'results.json'}")
    typer.echo(f"done in {seconds:.1f} s")

"""Commands of myositis.study: ``myositis study run`` and ``myositis demo``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

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
    "(jak-refractory-dm: the design of Min et al. 2022). "
    "--data is a registry .duckdb file or a directory of <table>.csv / <table>.parquet files."
    "\n\n"
    "Example:  myositis study run studies/jak-refractory-dm.yaml --data examples/min2022 "
    "--out min2022-report"
)

DEMO_HELP = (
    "Build a SYNTHETIC two-site registry (embedded DuckDB file), run the bundled "
    "jak-refractory-dm study on it and print where the report is."
    "\n\n"
    "Writes DIR/registry.duckdb and the study outputs (DIR/report.html, DIR/results.json, "
    "DIR/tables/, DIR/shareable/). The data are synthetic and the report says so."
    "\n\n"
    "Example:  myositis demo --out demo-report"
)

study_app = typer.Typer(
    name="study",
    help="Declarative registry studies: run a study specification and write its report.",
    no_args_is_help=True,
)


@study_app.command("run", help=RUN_HELP)
def run(
    spec: Annotated[
        Path,
        typer.Argument(
            help="Study specification (YAML) or a bundled study's name.", metavar="SPEC"
        ),
    ],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            help="Registry: .duckdb file or directory of table files.",
            metavar="REGISTRY",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.", metavar="DIR")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
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
    began = time.perf_counter()
    result = run_study(spec, data, out, progress=not quiet)
    _summary(result.results, result.report, time.perf_counter() - began)
    if site_package is not None:
        written = export_site_package(result.shareable, site_package, site)
        typer.echo(f"site package: {written.resolve()}")


@study_app.command("check")
def check(
    spec: Annotated[Path, typer.Argument(help="Study specification (YAML).", metavar="SPEC")],
) -> None:
    """Validate a study specification without running it; print its identity and SHA-256."""
    from myositis.study.spec import load_spec

    loaded = load_spec(spec)
    c = loaded.cohort
    typer.echo(f"ok: {loaded.study.id} version {loaded.study.version}: {loaded.study.title}")
    typer.echo(f"spec_sha256: {loaded.sha256()}")
    typer.echo(
        f"cohort: {c.diagnosis.label} (>= {c.diagnosis.min_occurrences} date(s)) -> "
        f"{c.exposure.label} -> baseline {c.baseline.window_days.describe()} -> "
        f"follow-up {c.followup.window_days.describe()} ({c.followup.use})"
    )


def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory.", metavar="DIR")
    ] = Path("demo-report"),
    patients: Annotated[
        int, typer.Option("--patients", "-n", help="Persons in the synthetic registry.")
    ] = 60_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the registry.")] = 2022,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Synthetic registry + bundled study (help text: DEMO_HELP)."""
    from myositis.study.demo import run_demo

    began = time.perf_counter()
    result = run_demo(out, patients=patients, seed=seed, progress=not quiet)
    _summary(result.results, result.report, time.perf_counter() - began)


def _summary(results: dict[str, Any], report: Path, seconds: float) -> None:
    attrition = results["attrition"]
    final = attrition[-1]["remaining"]
    label = "SYNTHETIC data; " if results.get("synthetic") else ""
    patients = "patient" if final == 1 else "patients"
    typer.echo(f"cohort: {final} {patients} ({label}{len(attrition)} inclusion steps)")
    for note in results.get("notes", []):
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"report: {report.resolve()}")
    typer.echo(f"results: {report.parent.resolve() / 'results.json'}")
    typer.echo(f"done in {seconds:.1f} s")


def register(app: typer.Typer) -> None:
    """Add this part's commands to the main app."""
    app.add_typer(study_app, name="study")
    app.command("demo", help=DEMO_HELP)(demo)

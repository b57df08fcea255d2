"""``myositis import {csv,redcap,fhir,omop} SOURCE --into REGISTRY``: load a source into a
registry, atomically and idempotently, with a report that accounts for every record."""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import Quiet
from myositis.cli.progress import progress_display

app = typer.Typer(
    name="import",
    help="Import spreadsheets, REDCap, FHIR or OMOP data into a registry.\n\n"
    "One contract for every source (docs/sources.md): the records are read and checked, then "
    "stored in one transaction or not at all. Importing the same data again adds nothing; a "
    "changed record updates its row. A report (terminal, HTML, JSON) accounts for every "
    "record: records in = stored + rejected, each rejected record with its file, line or "
    "resource and reason.",
    no_args_is_help=True,
)

#: What each source kind reads (help text).
KINDS = {
    "csv": (
        "Spreadsheets: a folder of <table>.csv or <table>.xlsx files in the template columns "
        "(myositis template DIR), or one .xlsx workbook with a sheet per table.",
        "myositis import csv my-spreadsheets/ --into registry.duckdb",
    ),
    "redcap": (
        "A REDCap project: a folder holding the data dictionary and the raw record export, or "
        "the project's API URL with --token-file. A project made from the template (myositis "
        "template --redcap DIR) needs no mapping; any other project is read through --mapping "
        "(docs/redcap.md).",
        "myositis import redcap export/ --into registry.duckdb\n\n"
        "myositis import redcap https://redcap.example.org/api/ --token-file ~/.redcap-token "
        "--into registry.duckdb --mapping project-mapping.yaml",
    ),
    "fhir": (
        "FHIR R4: a Bundle (.json; Synthea-style transaction or collection Bundles), a "
        "bulk-data NDJSON file (.ndjson) or a folder of them: Patient, Condition, Procedure, "
        "Encounter (visits), MedicationRequest/Statement, Medication, Observation (laboratory "
        "results, measures, vital signs and other measurements, other observations), "
        "QuestionnaireResponse, AdverseEvent. What FHIR has no standard code for (CDASI items, "
        "DM subtype, CTCAE grade) is read with the project's profile, or through --mapping "
        "(docs/fhir.md).",
        "myositis import fhir examples/fhir/bundles --into registry.duckdb\n\n"
        "myositis import fhir bulk-export/ --into registry.duckdb --mapping site-mapping.yaml",
    ),
    "omop": (
        "An OMOP CDM 5.3/5.4 database, read through its live registry views: "
        "omop+duckdb:///path/cdm.duckdb, omop+postgresql://USER@HOST:PORT/DB?schema=cdm or "
        "omop+spark://local[2]?database=cdm. --mapping names the local concepts (CDASI "
        "scores, DM subtypes; default: the shipped ones). One CDM row is one record. A CDM "
        "need not be imported: --data omop+URL reads it live (docs/omop.md).",
        "myositis import omop 'omop+duckdb:///data/cdm.duckdb' --into registry.duckdb\n\n"
        "myositis import omop 'omop+postgresql://me@db:5432/ehr?schema=cdm' --into "
        "registry.duckdb --mapping site-concepts.yaml --errors report",
    ),
}

Into = Annotated[
    str,
    typer.Option(
        "--into",
        "-i",
        help="The registry to import into: a .duckdb file (created if it does not exist).",
        metavar="REGISTRY",
        show_default=False,
    ),
]
Mapping = Annotated[
    Path | None,
    typer.Option(
        "--mapping", "-m", help="Mapping file for a source in its own names (docs/sources.md).",
        metavar="FILE", show_default=False,
    ),
]  # fmt: skip
Errors = Annotated[
    str,
    typer.Option(
        "--errors",
        help="stop: any bad record refuses the whole import and nothing is written (the "
        "default). report: store the valid records and reject the others, each with its reason "
        "in the report.",
        metavar="stop|report",
    ),
]
ReportDir = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="Folder for the report (import-N.html and .json); default: import-reports/ beside "
        "the registry.",
        metavar="DIR",
        show_default=False,
    ),
]


TokenFile = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help="REDCap API: a file holding the project's API token (readable only by you). "
        "Without it the token is read from the environment variable MYOSITIS_REDCAP_TOKEN; "
        "never give the token on the command line.",
        metavar="FILE",
        show_default=False,
    ),
]


def _command(kind: str) -> None:
    what, example = KINDS[kind]

    def run(
        source: Annotated[str, typer.Argument(help="What to import.", metavar="SOURCE")],
        into: Into,
        mapping: Mapping = None,
        errors: Errors = "stop",
        report: ReportDir = None,
        quiet: Quiet = False,
    ) -> None:
        _import(kind, source, into, mapping, errors, report, quiet)

    def run_redcap(
        source: Annotated[
            str,
            typer.Argument(
                help="A folder holding the data dictionary and the raw record export (and the "
                "instrument-event mapping of a longitudinal project), or the project's API URL "
                "(https://.../api/).",
                metavar="SOURCE",
            ),
        ],
        into: Into,
        mapping: Mapping = None,
        token_file: TokenFile = None,
        errors: Errors = "stop",
        report: ReportDir = None,
        quiet: Quiet = False,
    ) -> None:
        _import(kind, source, into, mapping, errors, report, quiet, token_file=token_file)

    command = run_redcap if kind == "redcap" else run
    command.__doc__ = f"Import {kind}."
    app.command(kind, help=f"{what}\n\nExample:  {example}")(command)


def _import(
    kind: str,
    source: str,
    into: str,
    mapping: Path | None,
    errors: str,
    report: Path | None,
    quiet: bool,
    **options: object,
) -> None:
    from myositis.errors import MyositisError
    from myositis.report.imports import write_import_report
    from myositis.sources.contract import Reader, reader_for
    from myositis.sources.write import ERROR_MODES, write_import

    if errors not in ERROR_MODES:
        raise typer.BadParameter("must be 'stop' or 'report'", param_hint="--errors")
    began = time.perf_counter()
    reader: Reader
    if kind == "redcap":  # the REDCap reader takes the API token's file besides the mapping
        from myositis.sources.redcap import Reader as RedcapReader

        reader = RedcapReader(source, mapping=mapping, **options)  # type: ignore[arg-type]
    else:
        reader = reader_for(kind, source, mapping=mapping)
    with progress_display(not quiet) as progress:
        result = write_import(reader, into, errors=errors, progress=progress)  # type: ignore[arg-type]
    folder = report or Path(into).expanduser().parent / "import-reports"
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = f"import-{result.import_id}" if result.import_id else f"refused-{stamp}"
    json_path, html_path = write_import_report(result.as_dict(), folder, stem)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"records read {result.records_in:,}: stored {result.stored:,}, rejected "
        f"{result.rejected:,} (in = stored + rejected: {'yes' if result.balanced else 'NO'})"
    )
    typer.echo(f"report: {html_path} (and {json_path.name})")
    if result.status == "refused":
        shown = [p.describe() for p in result.problems if p.severity == "error"][:5]
        more = sum(p.severity == "error" for p in result.problems) - len(shown)
        tail = f"\n... and {more} more problem(s), all in the report" if more > 0 else ""
        raise MyositisError(
            "the import was refused; nothing was written:\n" + "\n".join(shown) + tail
        )
    for problem in [p for p in result.problems][:5]:
        typer.echo(f"rejected: {problem.describe()}", err=True)
    typer.echo(
        f"stored as import {result.import_id} in {into}: rows added {result.rows('added'):,}, "
        f"updated {result.rows('updated'):,}, unchanged {result.rows('unchanged'):,} "
        f"({time.perf_counter() - began:.1f} s)"
    )


for _kind in KINDS:
    _command(_kind)

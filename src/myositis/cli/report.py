"""``myositis report``: render a report again from the results.json a run wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import OutDir, examples

REPORT_HELP = (
    "Render a study report again from its results.json, with no registry: the report.html "
    "written is the one the run wrote (same numbers, figures and text), and the tables/ CSV "
    "files beside it."
    "\n\n"
    "Use it to re-create a report from an archived results.json, or after upgrading the "
    "software's report templates."
    "\n\n" + examples("myositis report demo-report/results.json -o demo-report-again")
)

app = typer.Typer(name="report", add_completion=False)


@app.command("report", help=REPORT_HELP)
def report(
    results: Annotated[
        Path,
        typer.Argument(
            help="The results.json of a study run (or the run's folder).", metavar="RESULTS"
        ),
    ],
    out: OutDir,
) -> None:
    """Render a report from results.json (help text: REPORT_HELP)."""
    from myositis.errors import MyositisError
    from myositis.report.results_json import read_results
    from myositis.report.study import write_study_report
    from myositis.report.tables import write_tables

    data = read_results(results)
    if data.get("kind") != "study":
        raise MyositisError(
            f"{results}: holds '{data.get('kind')}' results; 'myositis report' renders the "
            "results.json of a study run ('myositis study run' or 'myositis demo')"
        )
    if out.exists() and not out.is_dir():
        raise MyositisError(f"--out {out}: exists and is not a folder; choose another --out")
    page = write_study_report(data, out / "report.html")
    write_tables(data, out / "tables")
    typer.echo(f"report: {page.resolve()}")

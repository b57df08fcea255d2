"""``myositis report``: render a report again from the results.json a run wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import OutDir, examples

REPORT_HELP = (
    "Render a report again from its results.json, with no registry: the report.html written "
    "is the one the run wrote (same numbers, figures and text), with the files beside it "
    "(tables/ CSV files of a study; the CONSORT diagram and listings of a trial report)."
    "\n\n"
    "RESULTS is the results.json of 'myositis study run' or 'demo', or of 'myositis trial "
    "report' (blinded, unblinded or pilot)."
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
            help="The results.json of a study run or a trial report (or its folder).",
            metavar="RESULTS",
        ),
    ],
    out: OutDir,
) -> None:
    """Render a report from results.json (help text: REPORT_HELP)."""
    from myositis.report.results_json import read_results
    from myositis.report.study import render_again

    if str(read_results(results).get("kind", "")).startswith("trial-"):
        from myositis.cli.trial import render_results

        page = render_results(results, out)
    else:
        page = render_again(results, out)
    typer.echo(f"report: {page.resolve()}")

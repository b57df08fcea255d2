"""``myositis evidence``: pool published series (``pool``, ``jak-dm``) and site packages
(``combine``)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from myositis.cli.options import examples
from myositis.errors import EvidenceError, InvalidInputError, SitePackageError

if TYPE_CHECKING:
    from myositis.evidence.effects import Measure
    from myositis.evidence.models import Test
    from myositis.evidence.pooling import PoolMethod, PoolResult, RegressionResult, SubgroupResult

app = typer.Typer(
    name="evidence",
    help=(
        "Pool study-level evidence: proportions, means and generic effects (metafor methods), "
        "the bundled JAK-inhibitor evidence table, and multi-site aggregate packages."
    ),
    no_args_is_help=True,
    add_completion=False,
)


class MeasureChoice(StrEnum):
    PR = "PR"
    PLO = "PLO"
    PFT = "PFT"
    MN = "MN"
    GEN = "GEN"


class MethodChoice(StrEnum):
    EE = "EE"
    DL = "DL"
    REML = "REML"
    PM = "PM"
    GLMM = "GLMM"


class ErrorsChoice(StrEnum):
    first = "first"
    report = "report"


class RandomMethodChoice(StrEnum):
    DL = "DL"
    REML = "REML"
    PM = "PM"


_SCALE = {
    "PR": "proportion",
    "PLO": "proportion (pooled on the logit scale)",
    "PFT": "proportion (pooled on the double-arcsine scale)",
    "MN": "mean",
    "GEN": "effect",
}


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.{digits}f}"


def _p(value: float) -> str:
    if value != value:
        return "-"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def _summary_table(title: str, result: PoolResult) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("statistic", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("studies (k)", str(result.k)),
        ("estimate", _fmt(result.estimate)),
        ("95% CI", f"{_fmt(result.ci_low)} to {_fmt(result.ci_high)}"),
        (
            "95% prediction interval",
            "-" if result.pi_low is None else f"{_fmt(result.pi_low)} to {_fmt(result.pi_high)}",
        ),
        ("se (model scale)", _fmt(result.se)),
        ("tau^2 (model scale)", _fmt(result.tau2)),
        ("I^2", f"{result.i2:.2f}%"),
        ("H^2", _fmt(result.h2)),
        ("Q (df), p", f"{result.q:.4f} ({result.q_df}), p {_p(result.q_pvalue)}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _print_result(
    console: Console,
    result: PoolResult,
    groups: SubgroupResult | None,
    loo: list[tuple[str, PoolResult]] | None,
    reg: RegressionResult | None,
) -> None:
    test = {"z": "z", "knha": "Hartung-Knapp (HKSJ)", "adhoc": "modified HKSJ"}[result.test]
    console.print(
        f"[bold]{result.method}[/bold] model, {_SCALE[result.measure]}; inference: {test}"
    )
    console.print(_summary_table("Pooled estimate", result))
    studies = Table(title="Studies", header_style="bold")
    for name in ("study", "estimate", "95% CI", "weight"):
        studies.add_column(name, justify="left" if name == "study" else "right")
    for s in result.studies:
        studies.add_row(
            s.study,
            _fmt(s.estimate),
            f"{_fmt(s.ci_low)} to {_fmt(s.ci_high)}",
            "-" if s.weight is None else f"{s.weight:.1f}%",
        )
    console.print(studies)
    if result.q_lrt is not None and result.q_lrt_pvalue is not None:
        console.print(
            f"Likelihood-ratio test for heterogeneity: {result.q_lrt:.4f}, "
            f"p {_p(result.q_lrt_pvalue)}"
        )
    if groups is not None:
        table = Table(title=f"Subgroups by {groups.column}", header_style="bold")
        for name in ("subgroup", "k", "estimate", "95% CI", "tau^2", "I^2"):
            table.add_column(name, justify="left" if name == "subgroup" else "right")
        for label, g in groups.groups.items():
            table.add_row(
                label,
                str(g.k),
                _fmt(g.estimate),
                f"{_fmt(g.ci_low)} to {_fmt(g.ci_high)}",
                _fmt(g.tau2),
                f"{g.i2:.2f}%",
            )
        console.print(table)
        console.print(
            f"Test for subgroup differences: Q = {groups.q_between:.4f}, "
            f"df = {groups.q_between_df}, p = {_p(groups.q_between_pvalue)}"
        )
    if loo is not None:
        table = Table(title="Leave one out", header_style="bold")
        for name in ("omitted", "estimate", "95% CI", "tau^2", "I^2", "Q"):
            table.add_column(name, justify="left" if name == "omitted" else "right")
        for omitted, r in loo:
            table.add_row(
                omitted,
                _fmt(r.estimate),
                f"{_fmt(r.ci_low)} to {_fmt(r.ci_high)}",
                _fmt(r.tau2),
                f"{r.i2:.2f}%",
                f"{r.q:.4f}",
            )
        console.print(table)
    if reg is not None:
        table = Table(title=f"Meta-regression on {reg.moderator}", header_style="bold")
        for name in ("term", "estimate", "se", "95% CI", "p"):
            table.add_column(name, justify="left" if name == "term" else "right")
        for i, term in enumerate(("intercept", reg.moderator)):
            table.add_row(
                term,
                _fmt(reg.coef[i], 6),
                _fmt(reg.se[i], 6),
                f"{_fmt(reg.ci_low[i], 6)} to {_fmt(reg.ci_high[i], 6)}",
                _p(reg.pval[i]),
            )
        console.print(table)
        stat = "QM" if reg.test == "z" else "F"
        r2 = "-" if reg.r2 is None else f"{reg.r2:.2f}%"
        console.print(
            f"Residual tau^2 = {reg.tau2:.4f}, I^2 = {reg.i2:.2f}%, R^2 = {r2}; "
            f"{stat} = {reg.qm:.4f} (p {_p(reg.qm_pvalue)}); "
            f"residual Q = {reg.q:.4f} (df {reg.q_df}, p {_p(reg.q_pvalue)})"
        )


POOL_HELP = (
    "Pool study-level effects with metafor's methods and print the result (or --json)."
    "\n\n"
    "FILE is a CSV file (UTF-8, a header row), one row per study with a 'study' column of "
    "unique names and the columns of --measure; columns named by --by (subgroups) and "
    "--moderator (meta-regression) are used too, any others are named in a warning and "
    "ignored. Every bad cell is reported with its row, column and value (exit status 2). "
    "Methods, their metafor equivalents and worked examples: docs/evidence.md."
    "\n\n"
    + examples(
        "myositis evidence pool pritz.csv --measure PLO --method GLMM",
        "myositis evidence pool pritz.csv --measure PFT --method REML --hksj-modified --json",
        "myositis evidence pool bcg.csv --measure GEN --by alloc --moderator ablat "
        "--forest bcg-forest.svg",
    )
)


@app.command("pool", help=POOL_HELP)
def pool_command(
    file: Annotated[
        Path,
        typer.Argument(help="CSV file, one row per study (see docs/evidence.md).", metavar="FILE"),
    ],
    measure: Annotated[
        MeasureChoice,
        typer.Option(
            "--measure",
            help="PR (raw), PLO (logit), PFT (double arcsine) proportions: columns study, "
            "events, n. MN (mean or mean change): study, mean_change, sd_change, n (or mean, "
            "sd, n). GEN (generic effect): study, yi, vi.",
        ),
    ],
    method: Annotated[
        MethodChoice,
        typer.Option(
            "--method",
            help="tau^2 estimator; GLMM (binomial-normal) for PLO.",
        ),
    ] = MethodChoice.REML,
    hksj: Annotated[
        bool,
        typer.Option(
            "--hksj", help="Hartung-Knapp-Sidik-Jonkman t-based intervals (metafor test='knha')."
        ),
    ] = False,
    hksj_modified: Annotated[
        bool,
        typer.Option(
            "--hksj-modified",
            help="Modified HKSJ for few studies (metafor test='adhoc'): HKSJ with its variance "
            "factor not below 1, so the interval is never narrower than the standard z-based "
            "one (plain HKSJ can be, when the studies agree more than their variances imply).",
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Subgroup column: pool within subgroups, test differences."),
    ] = None,
    moderator: Annotated[
        str | None, typer.Option("--moderator", help="Numeric column for meta-regression.")
    ] = None,
    loo: Annotated[
        bool, typer.Option("--leave-one-out", help="Pool with each study left out.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    forest: Annotated[
        Path | None, typer.Option("--forest", help="Write a forest plot (.svg or .png).")
    ] = None,
    funnel: Annotated[
        Path | None, typer.Option("--funnel", help="Write a funnel plot (.svg or .png).")
    ] = None,
    errors: Annotated[
        ErrorsChoice,
        typer.Option("--errors", help="'report' lists every input problem, not the first 5."),
    ] = ErrorsChoice.first,
) -> None:
    """Pool study-level effects (help text: POOL_HELP)."""
    from myositis.evidence.plots import forest_figure, funnel_figure
    from myositis.evidence.pooling import leave_one_out, meta_regression, pool, subgroups
    from myositis.evidence.studies import read_studies
    from myositis.report.results_json import json_ready
    from myositis.report.svg import save_figure

    if hksj and hksj_modified:
        raise EvidenceError("choose one of --hksj and --hksj-modified")
    _check_figure(forest, "--forest")  # before any work: a bad name must not leave a figure
    _check_figure(funnel, "--funnel")
    test: Test = "adhoc" if hksj_modified else ("knha" if hksj else "z")
    measure_value: Measure = measure.value
    method_value: PoolMethod = method.value
    if method_value == "GLMM" and measure_value != "PLO":
        raise EvidenceError("--method GLMM is the binomial-normal model; use it with --measure PLO")
    try:
        effects = read_studies(file, measure_value, subgroup=by, moderator=moderator)
    except InvalidInputError as exc:
        if errors is ErrorsChoice.report:
            raise InvalidInputError(exc.problems, shown=len(exc.problems)) from None
        raise
    try:
        result = pool(effects, method_value, test)
        groups = subgroups(effects, by, method_value, test) if by else None
        loo_rows = leave_one_out(effects, method_value, test) if loo else None
        reg = meta_regression(effects, moderator, method_value, test) if moderator else None
    except EvidenceError as exc:  # the data cannot be pooled so: say which file
        raise EvidenceError(f"{file}: {exc}") from None
    if forest is not None:
        save_figure(forest_figure(groups if groups is not None else result), forest)
    if funnel is not None:
        save_figure(funnel_figure(effects, result), funnel)
    if as_json:
        payload: dict[str, Any] = result.summary()
        if groups is not None:
            payload["subgroups"] = {k: g.summary() for k, g in groups.groups.items()}
            payload["subgroup_test"] = {
                "q": groups.q_between,
                "df": groups.q_between_df,
                "p": groups.q_between_pvalue,
            }
        if loo_rows is not None:
            payload["leave_one_out"] = [{"omitted": s, **r.summary()} for s, r in loo_rows]
        if reg is not None:
            payload["meta_regression"] = {
                "moderator": reg.moderator,
                "terms": ["intercept", reg.moderator],
                "coef": reg.coef,
                "se": reg.se,
                "ci_low": reg.ci_low,
                "ci_high": reg.ci_high,
                "pval": reg.pval,
                "tau2": reg.tau2,
                "i2": reg.i2,
                "r2": reg.r2,
                "qm": reg.qm,
                "qm_pvalue": reg.qm_pvalue,
                "q": reg.q,
                "q_df": reg.q_df,
                "q_pvalue": reg.q_pvalue,
            }
        typer.echo(json.dumps(json_ready(payload), allow_nan=False))
        return
    _print_result(Console(), result, groups, loo_rows, reg)


def _check_figure(path: Path | None, option: str) -> None:
    if path is None:
        return
    if path.is_dir():
        raise EvidenceError(
            f"{option} {path}: is a folder; give a file name ending in .svg or .png"
        )
    if path.suffix.lower() not in (".svg", ".png"):
        raise EvidenceError(
            f"{option} {path}: figures are written as .svg or .png; end the name so"
        )


@app.command(
    "jak-dm",
    help="Pool the bundled JAK-inhibitor dermatomyositis studies and write a report.\n\n"
    "The binomial-normal GLMM is the primary model, with REML and by-drug pools beside it. "
    "Writes DIR/report.html, the forest and funnel plots (SVG and PNG) and DIR/results.json; "
    "every study is cited by DOI or PMID in the report.\n\n"
    + examples("myositis evidence jak-dm -o jak-dm-evidence"),
)
def jak_dm_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Directory for report.html, forest and funnel plots and results.json.",
        ),
    ],
) -> None:
    from myositis.evidence.report import write_jak_dm_report

    results = write_jak_dm_report(out)
    primary = results["overall"]["Binomial-normal GLMM (primary)"]
    typer.echo(
        f"pooled response (GLMM, k = {primary['k']}): {primary['estimate']:.3f} "
        f"(95% CI {primary['ci_low']:.3f} to {primary['ci_high']:.3f})"
    )
    for drug, row in results["by_drug"].items():
        typer.echo(
            f"  {drug} (k = {row['k']}): {row['estimate']:.3f} "
            f"({row['ci_low']:.3f} to {row['ci_high']:.3f})"
        )
    typer.echo(
        f"wrote {out / 'report.html'}, forest.svg, forest.png, funnel.svg, funnel.png, results.json"
    )


@app.command(
    "combine",
    help="Verify site packages and pool them across sites.\n\n"
    "Checks each package's checksum and that all come from one study specification, then "
    "pools each analysis with random effects and adds all-site totals, small cells kept "
    "suppressed. Writes DIR/report.html and DIR/combined.json.\n\n"
    "PACKAGES are the site-<site>.json files that 'myositis study run' writes in its "
    "shareable/ folder (or with --site-package).\n\n"
    + examples("myositis evidence combine site-a.json site-b.json site-c.json -o network"),
)
def combine_command(
    packages: Annotated[
        list[Path], typer.Argument(help="Site package JSON files.", metavar="PACKAGES")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for report.html and combined.json.")
    ],
    method: Annotated[
        RandomMethodChoice,
        typer.Option("--method", help="Random-effects tau^2 estimator."),
    ] = RandomMethodChoice.REML,
) -> None:
    from myositis.network.combine import combine_packages

    for package in packages:
        if package.is_dir():
            raise SitePackageError(
                f"{package}: is a folder; give the site package files themselves, e.g. "
                f"{package / '*.json'}"
            )
    combined = combine_packages(packages, out, method=method.value)
    typer.echo(f"{len(combined['sites'])} site packages verified (spec {combined['spec_hash']})")
    for name, entry in combined["analyses"].items():
        random = entry["random"]
        total = _total_text(entry["kind"], entry["total"])
        if random is None:
            left_out = ", ".join(entry["excluded"])
            typer.echo(f"  {name}: not pooled (fewer than 2 poolable sites; {left_out}){total}")
        else:
            typer.echo(
                f"  {name}: {random['estimate']:.4g} ({random['ci_low']:.4g} to "
                f"{random['ci_high']:.4g}), k = {random['k']}{total}"
            )
    typer.echo(f"wrote {out / 'report.html'} and {out / 'combined.json'}")


def _total_text(kind: str, total: dict[str, Any] | None) -> str:
    """``; all sites: ...`` for a combine summary line (empty when a site is suppressed)."""
    if total is None:
        return ""
    if kind == "counts":
        return f"; all sites: {total['count']}/{total['denominator']}"
    if kind == "means":
        return f"; all sites: mean {total['mean']:.4g} (SD {total['sd']:.4g}, n = {total['n']})"
    return f"; all sites: {total['events']} events / {total['person_time']:.4g}"

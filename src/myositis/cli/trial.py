"""``myositis trial``: sample size and power, allocation lists and minimisation."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from myositis.cli.options import examples
from myositis.errors import MyositisError, TrialDesignError

if TYPE_CHECKING:
    from myositis.trial.randomisation import Allocation

app = typer.Typer(
    name="trial",
    help=(
        "Trial design for a binary endpoint such as prednisone-free moderate improvement "
        "(TIS >= 40) at week 24: sample size and power, stratified allocation lists and "
        "minimisation."
    ),
    no_args_is_help=True,
    add_completion=False,
)


#: Options shared by the allocation commands.
Seed = Annotated[int, typer.Option(help="Random seed; record it with the list.")]
Arms = Annotated[str, typer.Option(help="Arm names, comma-separated.")]
Ratio = Annotated[str | None, typer.Option(help="Allocation ratio, e.g. 2,1 (default equal).")]


class TestChoice(StrEnum):
    chisq = "chisq"
    fisher = "fisher"


@app.command(
    "sample-size",
    help="Patients per arm (1:1, two-sided) to detect p1 against p2, or the power of a given "
    "n.\n\n"
    "The assumed rates are yours to state: for BIRD (baricitinib against placebo, 62 "
    "patients) they are not public. chisq is R's power.prop.test; fisher the exact power of "
    "the Fisher test by enumeration.\n\n"
    + examples(
        "myositis trial sample-size --p1 0.3 --p2 0.7 --test fisher",
        "myositis trial sample-size --p1 0.3 --p2 0.7 --n 31 --json",
    ),
)
def sample_size_command(
    p1: Annotated[float, typer.Option(help="Expected response rate in the control arm, 0-1.")],
    p2: Annotated[float, typer.Option(help="Expected response rate in the treated arm, 0-1.")],
    power: Annotated[float, typer.Option(help="Power wanted (ignored with --n).")] = 0.8,
    n: Annotated[
        int | None, typer.Option("--n", help="Patients per arm: report the power instead.")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    test: Annotated[
        TestChoice,
        typer.Option(
            help="chisq: R power.prop.test (normal approximation); fisher: exact power of "
            "the Fisher exact test (its power is a saw-tooth in n: the size given keeps the "
            "power for the next 5 sizes too)."
        ),
    ] = TestChoice.chisq,
    max_per_arm: Annotated[
        int,
        typer.Option(
            min=2,
            help="fisher: the largest size per arm searched (the exact power takes about a "
            "second per size at 300 per arm, growing with the square of the size).",
        ),
    ] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Sample size or power (help text in the decorator)."""
    from myositis.trial.sample_size import power_for, sample_size

    if n is not None and n < 2:
        raise TrialDesignError(f"--n {n}: at least 2 patients per arm")
    result = (
        power_for(n, p1, p2, alpha=alpha, test=test.value)
        if n is not None
        else sample_size(p1, p2, power=power, alpha=alpha, test=test.value, max_per_arm=max_per_arm)
    )
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(result) | {"n_total": result.n_total}))
        return
    method = "R power.prop.test" if test is TestChoice.chisq else "exact Fisher test"
    typer.echo(
        f"{method}, two-sided alpha {alpha:g}, response {p1:g} vs {p2:g}: "
        f"{result.n_per_arm:.2f} per arm (recruit {result.n_total} in all), "
        f"power {result.power:.4f}"
    )


@app.command(
    "randomise",
    help="Write a stratified permuted-block allocation list with random block sizes.\n\n"
    "For the unblinded statistician only: the list reveals every allocation. Record the "
    "seed: the same options and seed give the same list.\n\n"
    + examples(
        "myositis trial randomise --per-stratum 32 --arms baricitinib,placebo "
        "--strata MTX,AZA --seed 20220501 -o allocation.csv"
    ),
)
def randomise_command(
    per_stratum: Annotated[
        int,
        typer.Option(min=1, help="Allocations per stratum at least (whole blocks are written)."),
    ],
    seed: Seed,
    out: Annotated[Path, typer.Option("--out", "-o", help="Allocation list to write (CSV).")],
    arms: Arms = "A,B",
    ratio: Ratio = None,
    block_sizes: Annotated[
        str, typer.Option(help="Block sizes (the sizes themselves), comma-separated.")
    ] = "4,6",
    strata: Annotated[
        str, typer.Option(help="Strata, comma-separated (e.g. site x prior therapy).")
    ] = "all",
) -> None:
    """Permuted-block allocation list (help text in the decorator)."""
    from myositis.trial.randomisation import permuted_blocks

    allocations = permuted_blocks(
        per_stratum,
        arms=_names(arms, "--arms"),
        ratio=None if ratio is None else _integers(ratio, "--ratio"),
        block_sizes=_integers(block_sizes, "--block-sizes"),
        strata=_names(strata, "--strata"),
        seed=seed,
    )
    _write(allocations, out)
    typer.echo(f"wrote {len(allocations)} allocations ({strata}) to {out}; seed {seed}")


@app.command(
    "minimise",
    help="Allocate patients in turn by Pocock-Simon minimisation (range of the counts per "
    "factor).\n\n"
    "PATIENTS is a CSV file (UTF-8, a header row) with one patient per row in the order they "
    "enrol; the levels of each factor are those found in the file. The output repeats each "
    "patient's row with the arm and every arm's imbalance total at that moment.\n\n"
    + examples(
        "myositis trial minimise enrolled.csv --factors site,prior_ivig "
        "--arms baricitinib,placebo --seed 20220501 -o allocations.csv"
    ),
)
def minimise_command(
    patients: Annotated[
        Path,
        typer.Argument(
            help="CSV of patients in the order they enrol, one per row.", metavar="PATIENTS"
        ),
    ],
    factors: Annotated[
        str, typer.Option(help="Columns holding the prognostic factors, comma-separated.")
    ],
    seed: Seed,
    out: Annotated[Path, typer.Option("--out", "-o", help="Allocations to write (CSV).")],
    arms: Arms = "A,B",
    ratio: Ratio = None,
    p: Annotated[
        float, typer.Option("--p", help="Probability of the arm that minimises imbalance.")
    ] = 0.8,
) -> None:
    """Pocock-Simon minimisation (help text in the decorator)."""
    from myositis.tables import read_csv
    from myositis.trial.minimisation import Minimiser

    columns = _names(factors, "--factors")
    table = read_csv(patients, row_column=_ROW, error=TrialDesignError)
    header = [c for c in table.column_names if c != _ROW]
    missing = [c for c in columns if c not in header]
    if missing:
        raise TrialDesignError(
            f"{patients}: no column(s) {', '.join(missing)} (found: {', '.join(header)})"
        )
    if not table.num_rows:
        raise TrialDesignError(f"{patients}: no patient rows")
    rows = [
        {c: ("" if v is None else v) for c, v in row.items() if c != _ROW}
        for row in table.to_pylist()
    ]
    for number, row in zip(table[_ROW].to_pylist(), rows, strict=True):
        blank = [c for c in columns if not (row[c] or "").strip()]
        if blank:
            raise TrialDesignError(
                f"{patients}, row {number}, column '{blank[0]}': blank; every patient needs a "
                "level of every factor"
            )
    minimiser = Minimiser(
        arms=_names(arms, "--arms"),
        factors={c: sorted({row[c].strip() for row in rows}) for c in columns},
        seed=seed,
        ratio=None if ratio is None else _integers(ratio, "--ratio"),
        p=p,
    )
    names = list(minimiser.arms)
    table = [["sequence", *header, "arm", *(f"imbalance_{arm}" for arm in names)]]
    for row in rows:
        done = minimiser.assign({c: row[c].strip() for c in columns})
        totals = dict(done.totals)
        table.append(
            [done.sequence, *row.values(), done.arm, *(f"{float(totals[a]):g}" for a in names)]
        )
    _write_rows(table, out)
    counts = ", ".join(f"{arm} {sum(a.arm == arm for a in minimiser.allocations)}" for arm in names)
    typer.echo(f"wrote {len(rows)} allocations ({counts}) to {out}; seed {seed}")


#: The row-number column added to a patients table read (not a column of the file).
_ROW = "__row"


def _names(text: str, option: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if any(not name for name in names):
        raise TrialDesignError(f"{option} {text!r}: an empty name between commas")
    return names


def _integers(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise TrialDesignError(
            f"{option} {text!r}: give whole numbers separated by commas"
        ) from None


def _write(allocations: list[Allocation], out: Path) -> None:
    from myositis.trial.randomisation import Allocation

    fields = [f.name for f in dataclasses.fields(Allocation)]
    _write_rows([fields, *(dataclasses.astuple(a) for a in allocations)], out)


def _write_rows(rows: list[Any], out: Path) -> None:
    """Write CSV rows atomically: a half-written allocation list must never exist."""

    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        os.replace(tmp, out)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise MyositisError(f"{out}: cannot be written ({exc.strerror}); nothing written") from None

"""Commands of myositis.trial: ``myositis trial sample-size | randomise``."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from myositis.errors import MyositisError, TrialDesignError
from myositis.trial.randomisation import Allocation, permuted_blocks
from myositis.trial.sample_size import power_for, sample_size

trial_app = typer.Typer(
    name="trial",
    help=(
        "Trial design for a binary endpoint such as prednisone-free moderate improvement "
        "(TIS >= 40) at week 24: sample size and power, and stratified allocation lists."
    ),
    no_args_is_help=True,
    add_completion=False,
)


class TestChoice(StrEnum):
    chisq = "chisq"
    fisher = "fisher"


@trial_app.command("sample-size")
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Patients per arm (1:1, two-sided) to detect p1 against p2, or the power of a given n.

    The assumed rates are yours to state: for BIRD (baricitinib against placebo, 62 patients)
    they are not public. Example:  myositis trial sample-size --p1 0.3 --p2 0.7 --test fisher
    """
    if n is not None and n < 2:
        raise TrialDesignError(f"--n {n}: at least 2 patients per arm")
    result = (
        power_for(n, p1, p2, alpha=alpha, test=test.value)
        if n is not None
        else sample_size(p1, p2, power=power, alpha=alpha, test=test.value)
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


@trial_app.command("randomise")
def randomise_command(
    per_stratum: Annotated[
        int, typer.Option(help="Allocations per stratum at least (whole blocks are written).")
    ],
    seed: Annotated[int, typer.Option(help="Random seed; record it with the list.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Allocation list to write (CSV).")],
    arms: Annotated[str, typer.Option(help="Arm names, comma-separated.")] = "A,B",
    ratio: Annotated[
        str | None, typer.Option(help="Allocation ratio, e.g. 2,1 (default equal).")
    ] = None,
    block_sizes: Annotated[
        str, typer.Option(help="Block sizes (the sizes themselves), comma-separated.")
    ] = "4,6",
    strata: Annotated[
        str, typer.Option(help="Strata, comma-separated (e.g. site x prior therapy).")
    ] = "all",
) -> None:
    """Write a stratified permuted-block allocation list with random block sizes.

    For the unblinded statistician only: the list reveals every allocation. Example:
    myositis trial randomise --per-stratum 32 --arms baricitinib,placebo --strata
    MTX,AZA --seed 20220501 -o allocation.csv
    """
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
    """Write the list atomically: a half-written allocation list must never exist."""
    fields = [f.name for f in dataclasses.fields(Allocation)]
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(fields)
            writer.writerows(dataclasses.astuple(a) for a in allocations)
        os.replace(tmp, out)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise MyositisError(f"{out}: cannot be written ({exc.strerror}); nothing written") from None


def register(app: typer.Typer) -> None:
    """Add this part's commands to the main app."""
    app.add_typer(trial_app, name="trial")

"""``myositis trial``: a trial from design to report.

Design (``check``, ``sample-size``, ``simulate``), open allocation lists (``randomise``,
``minimise``), concealed allocation (``allocation create``, ``randomise-next``, ``unblind``,
``log``), endpoints and reports (``endpoints``, ``report``, ``render``) and synthetic trials
(``synth``). Commands a blinded user runs print nothing about arms.
"""

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
from typer.core import TyperGroup

from myositis.cli.options import REGISTRY_HELP, Data, OutDir, Quiet, examples
from myositis.cli.progress import progress_display
from myositis.errors import MyositisError, TrialDesignError

if TYPE_CHECKING:
    from myositis.trial.concealment import Stores
    from myositis.trial.randomisation import Allocation
    from myositis.trial.spec import TrialSpec

#: The order of the listing in ``myositis trial --help``: design, allocation, data, reports.
ORDER = (
    "check",
    "sample-size",
    "simulate",
    "randomise",
    "minimise",
    "allocation",
    "randomise-next",
    "unblind",
    "log",
    "synth",
    "endpoints",
    "report",
    "render",
)


class _Listing(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))


app = typer.Typer(
    name="trial",
    cls=_Listing,
    help=(
        "Trials end to end, for a binary endpoint such as BIRD's prednisone-free moderate "
        "improvement (TIS >= 40) at week 24 and for single-arm pilots such as STIR.\n\n"
        "Design: check a trial specification, size the trial, simulate it. Allocation: open "
        "lists and minimisation, or a concealed list handed out one patient at a time with an "
        "audit log. Data: derive the endpoints from a registry with a per-patient derivation "
        "listing; blinded (arms pooled), unblinded and pilot reports with a CONSORT diagram.\n\n"
        "Try it on a synthetic trial:\n\n"
        "  myositis trial synth bird -o bird-demo --seed 7\n\n"
        "  myositis trial report bird --data bird-demo/registry.duckdb --enrolment "
        "bird-demo/enrolment.csv --screening bird-demo/screening.csv -o blinded-report\n\n"
        "Documentation: docs/trial.md."
    ),
    no_args_is_help=True,
    add_completion=False,
)
allocation_app = typer.Typer(
    name="allocation",
    help="The concealed allocation list: create it (unblinded statistician).",
    no_args_is_help=True,
)
log_app = typer.Typer(
    name="log",
    help="The allocation audit log: verify its hash chain, show its entries.",
    no_args_is_help=True,
)
app.add_typer(allocation_app)
app.add_typer(log_app)

SPEC_ARGUMENT_HELP = "Trial specification (YAML), or a bundled trial's name (bird, stir)."
Spec = Annotated[str, typer.Argument(help=SPEC_ARGUMENT_HELP, metavar="SPEC")]
BlindedDir = Annotated[
    Path,
    typer.Option(
        "--blinded-dir", help="The blinded store: randomisation plan and audit log.", metavar="DIR"
    ),
]
UnblindedDir = Annotated[
    Path,
    typer.Option(
        "--unblinded-dir",
        help="The unblinded store (owner-only): the allocation list.",
        metavar="DIR",
    ),
]
User = Annotated[
    str, typer.Option("--user", help="Who does this (recorded in the audit log).", metavar="NAME")
]
Enrolment = Annotated[
    Path,
    typer.Option(
        "--enrolment",
        "-e",
        metavar="FILE",
        help="Enrolment table, CSV or Parquet: person_id, stratum, randomisation_date, "
        "withdrawal_date, withdrawal_reason (arm blank or absent); optionally "
        "first_dose_date and not_received_reason (CONSORT's received allocated "
        "intervention; docs/trial.md).",
    ),
]
Screening = Annotated[
    Path | None,
    typer.Option(
        "--screening",
        metavar="FILE",
        help="Screening log, CSV or Parquet: screening_id, screening_date, person_id, "
        "excluded_reason. Gives the CONSORT diagram's 'assessed for eligibility'; "
        "without it that box says 'not recorded'.",
    ),
]


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
    ratio: Annotated[
        float,
        typer.Option(
            help="Patients in the treated arm (p2) per patient in the control arm "
            "(p1): 2 for 1:2. Fleiss-Tytun-Ury formula (Hmisc::bsamsize)."
        ),
    ] = 1.0,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Count rejections in the wrong direction too, as R "
            "power.prop.test(strict = TRUE).",
        ),
    ] = False,
    correct: Annotated[
        bool,
        typer.Option(
            "--correct",
            help="Continuity-corrected size (Fleiss, Tytun and Ury "
            "1980), larger than the uncorrected one.",
        ),
    ] = False,
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
    """Patients per arm (two-sided) to detect p1 against p2, or the power of a given n.

    The assumed rates are yours to state: for BIRD (baricitinib against placebo, 62 patients)
    they are not public. Arm 1 (p1) has n patients, arm 2 (p2) ratio x n.

    Examples:

      myositis trial sample-size --p1 0.3 --p2 0.7 --test fisher

      myositis trial sample-size --p1 0.2 --p2 0.55 --ratio 2 --correct

      myositis trial sample-size --p1 0.2 --p2 0.55 --n 31 --strict
    """
    from myositis.trial.sample_size import power_for, sample_size

    if n is not None and n < 2:
        raise TrialDesignError(f"--n {n}: at least 2 patients per arm")
    result = (
        power_for(
            n, p1, p2, alpha=alpha, test=test.value, ratio=ratio, strict=strict, correct=correct
        )
        if n is not None
        else sample_size(
            p1,
            p2,
            power=power,
            alpha=alpha,
            test=test.value,
            ratio=ratio,
            strict=strict,
            correct=correct,
            max_per_arm=max_per_arm,
        )
    )
    if as_json:
        typer.echo(
            json.dumps(dataclasses.asdict(result) | {"n2": result.n2, "n_total": result.n_total})
        )
        return
    method = (
        "R power.prop.test"
        if test is TestChoice.chisq and ratio == 1
        else (
            "normal approximation (Fleiss-Tytun-Ury)"
            if test is TestChoice.chisq
            else "exact Fisher test"
        )
    )
    extras = [w for w, on in (("continuity-corrected", correct), ("strict", strict)) if on]
    arms = (
        f"{result.n_per_arm:.2f} per arm"
        if ratio == 1
        else f"{result.n_per_arm:.2f} in arm 1 and {result.n2:.2f} in arm 2 (1:{ratio:g})"
    )
    typer.echo(
        f"{method}{', ' + ', '.join(extras) if extras else ''}, two-sided alpha {alpha:g}, "
        f"response {p1:g} vs {p2:g}: {arms} (recruit {result.n_total} in all), "
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


@app.command("check")
def check_command(spec: Spec) -> None:
    """Validate a trial specification; print its identity, SHA-256 and design in brief.

    Every problem is listed at once with its field (for example a taper that does not reach
    zero); the exit status is 2 when the specification is not valid.

    Examples:

      myositis trial check bird

      myositis trial check my-trial.yaml
    """
    from myositis.trial.spec import load_trial_spec

    loaded = load_trial_spec(spec)
    info = loaded.trial
    typer.echo(f"ok: {info.id} version {info.version}: {info.title}")
    typer.echo(f"spec_sha256: {loaded.sha256()}")
    if info.registration:
        typer.echo(f"registration: {info.registration}")
    arms = ", ".join(a.name + (" (control)" if a.control else "") for a in loaded.arms)
    ratio = ":".join(map(str, loaded.allocation.ratio)) if len(loaded.arms) > 1 else "-"
    typer.echo(f"arms: {arms}; ratio {ratio}; {loaded.allocation.method.replace('_', ' ')}")
    typer.echo(f"strata ({len(loaded.stratum_names)}): {', '.join(loaded.stratum_names)}")
    typer.echo(
        "visits: "
        + ", ".join(
            f"{v.name} (day {v.day - v.window_before} to {v.day + v.window_after})"
            for v in loaded.visits
        )
    )
    p = loaded.primary
    typer.echo(
        f"primary endpoint: {p.name} at {p.visit} ({p.kind}"
        + (f" >= {p.tis_at_least:g}" if p.tis_at_least is not None else "")
        + (f", prednisone-free {p.prednisone_free_days} days" if p.prednisone_free_days else "")
        + ")"
    )
    taper = loaded.prednisone_taper
    if taper is not None:
        typer.echo(
            f"{taper.ingredient} taper: "
            + ", ".join(f"{s.dose_mg:g} mg from day {s.from_day}" for s in taper.steps)
        )
    a = loaded.analysis
    typer.echo(f"analysis: {a.primary_test} (alpha {a.alpha:g}), population {a.population}")


@app.command("simulate")
def simulate_command(
    spec: Spec,
    trials: Annotated[
        int | None,
        typer.Option("--trials", help="Simulated trials (default: the specification's, 10,000)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (default: the specification's).")
    ] = None,
    rates: Annotated[
        str | None,
        typer.Option(
            "--rates",
            metavar="ARM=RATE,...",
            help="Response rates per arm instead of the specification's, e.g. "
            "baricitinib=0.7,placebo=0.3.",
        ),
    ] = None,
    dropout: Annotated[
        float | None,
        typer.Option("--dropout", help="Share of patients who drop out (non-responders)."),
    ] = None,
    patients: Annotated[
        int | None,
        typer.Option("--patients", help="Patients per trial instead of the specification's."),
    ] = None,
    test: Annotated[
        str | None,
        typer.Option(
            "--test",
            metavar="cmh|fisher|logistic",
            help="Planned test instead of the specification's.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    quiet: Quiet = False,
) -> None:
    """Simulate the trial: power and type I error, with Monte Carlo standard errors.

    Each simulated trial enrols patients into strata, allocates them as planned (stratified
    permuted blocks or minimisation), lets some drop out (non-responders) and runs the planned
    test. For comparison it prints the exact power of Fisher's test at the same effective
    rates (each arm's rate x (1 - dropout)), averaged over the simulated arm sizes: with
    --test fisher the simulated power must agree with it within its Monte Carlo error.

    Examples:

      myositis trial simulate bird

      myositis trial simulate bird --test fisher --dropout 0 --rates baricitinib=0.7,placebo=0.3
    """
    from myositis.trial.sample_size import chisq_power, fisher_power
    from myositis.trial.simulation import adjusted, simulate
    from myositis.trial.spec import load_trial_spec

    loaded = adjusted(
        load_trial_spec(spec),
        patients=patients,
        response_rates=None if rates is None else _rates(rates),
        dropout_rate=dropout,
        test=test,
    )
    with progress_display(not quiet and not as_json) as progress:
        oc = simulate(loaded, trials=trials, seed=seed, progress=progress)
    rate = dict(oc.response_rates)
    treated, control = loaded.treated_arm, loaded.control_arm or ""
    keep = 1 - oc.dropout_rate
    p_t, p_c = rate[treated] * keep, rate[control] * keep
    half = oc.patients // 2
    sizes = [n for n, _ in oc.treated_sizes]
    reference: dict[str, Any] = {"treated_rate": p_t, "control_rate": p_c, "per_arm": half}
    if p_t != p_c and 0 < p_t < 1 and 0 < p_c < 1:
        reference["fisher_power"] = oc.fisher_reference(treated, control)
        reference["fisher_power_equal_arms"] = fisher_power(half, p_c, p_t, oc.alpha)
        reference["normal_power_equal_arms"] = chisq_power(half, p_c, p_t, oc.alpha)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(oc) | {"reference": reference}))
        return
    test_words = {
        "cmh": "Cochran-Mantel-Haenszel stratified by the randomisation strata"
        + (", continuity-corrected" if loaded.analysis.cmh_correct else ""),
        "fisher": "Fisher's exact test",
        "logistic": "logistic regression adjusted for strata (Wald)",
    }[oc.test]
    typer.echo(
        f"{loaded.trial.id}: {oc.trials:,} simulated trials of {oc.patients} patients "
        f"(seed {oc.seed}); {loaded.allocation.method.replace('_', ' ')} in "
        f"{len(loaded.stratum_names)} strata"
    )
    typer.echo(f"planned test: {test_words}, two-sided alpha {oc.alpha:g}")
    typer.echo(
        f"response: {treated} {rate[treated]:g}, {control} {rate[control]:g}; dropout "
        f"{oc.dropout_rate:.0%} (counted as non-responders)"
    )
    typer.echo(
        f"power {oc.power:.3f} (Monte Carlo SE {oc.power_mcse:.4f}); significant in "
        f"favour of {treated} {oc.favouring_treatment:.3f}"
    )
    typer.echo(
        f"type I error {oc.type_i_error:.3f} (Monte Carlo SE {oc.type_i_mcse:.4f}), "
        f"both arms at {rate[control]:g}"
    )
    typer.echo(f"patients on {treated}: {oc.mean_treated:.1f} on average")
    if "fisher_power" in reference:
        typer.echo(
            f"for comparison, the exact Fisher power at the same effective rates ({p_t:.3g} vs "
            f"{p_c:.3g}), averaged over the simulated arm sizes ({min(sizes)} to {max(sizes)} on "
            f"{treated}): {reference['fisher_power']:.3f}; with equal arms of {half}: "
            f"{reference['fisher_power_equal_arms']:.3f} (normal approximation "
            f"{reference['normal_power_equal_arms']:.3f})"
        )


def _rates(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise TrialDesignError(
                f"--rates {text!r}: give ARM=RATE pairs separated by commas, e.g. "
                "baricitinib=0.55,placebo=0.2"
            ) from None
    return out


def _stores(blinded: Path, unblinded: Path) -> Stores:
    from myositis.trial.concealment import Stores

    return Stores(blinded, unblinded)


@allocation_app.command("create")
def allocation_create(
    spec: Spec,
    unblinded_dir: UnblindedDir,
    blinded_dir: BlindedDir,
    seed: Annotated[int, typer.Option(help="Seed of the list; kept in the unblinded store only.")],
    user: User,
    per_stratum: Annotated[
        int | None,
        typer.Option(
            "--per-stratum",
            help="Allocations per stratum at least (whole blocks); default: the "
            "trial's size (simulation.patients), so any stratum can take every patient.",
        ),
    ] = None,
) -> None:
    """Make the concealed allocation list (unblinded statistician's account).

    Stratified permuted blocks with the specification's ratio and block sizes, reproducible
    from --seed. The unblinded store (owner-only) holds the list, the seed and a secret key;
    the blinded store holds each slot's random pack code and a keyed commitment, and the
    audit log. Both are created once and never overwritten.

    Example:

      myositis trial allocation create bird --unblinded-dir /secure/bird --blinded-dir
      /shared/bird --seed 20220501 --user stat.unblinded
    """
    from myositis.trial.concealment import create_allocation
    from myositis.trial.spec import load_trial_spec

    loaded = load_trial_spec(spec)
    size = per_stratum or (loaded.simulation.patients if loaded.simulation else None)
    if size is None:
        raise TrialDesignError("give --per-stratum (the specification has no trial size)")
    slots = create_allocation(
        _stores(blinded_dir, unblinded_dir), loaded, per_stratum=size, seed=seed, user=user
    )
    typer.echo(
        f"created the concealed allocation list of {loaded.trial.id}: "
        f"{sum(slots.values())} slots in {len(slots)} strata"
    )
    for stratum, n in slots.items():
        typer.echo(f"  {stratum}: {n} slots")
    typer.echo(f"blinded store (share with the trial team): {blinded_dir}")
    typer.echo(f"unblinded store (owner-only; the list, seed and key): {unblinded_dir}")


@app.command("randomise-next")
def randomise_next_command(
    blinded_dir: BlindedDir,
    patient: Annotated[int, typer.Option("--patient", help="The registry's person_id.")],
    stratum: Annotated[
        str, typer.Option("--stratum", help="The patient's stratum, e.g. naive/methotrexate.")
    ],
    user: User,
) -> None:
    """Randomise one patient: the next pack of their stratum, logged (blinded).

    Prints the pack code to dispense and the log entry; nothing about arms or the rest of the
    list. A stratum not in the plan, a patient randomised before or a used-up stratum is
    refused and nothing is written.

    Example:

      myositis trial randomise-next --blinded-dir /shared/bird --patient 1001 --stratum
      naive/methotrexate --user site3.investigator
    """
    from myositis.trial.concealment import randomise_next

    # randomise_next reads and writes the blinded store only
    receipt = randomise_next(
        _stores(blinded_dir, blinded_dir), person_id=patient, stratum=stratum, user=user
    )
    typer.echo(
        f"person {receipt.person_id}, stratum {receipt.stratum}: dispense pack {receipt.pack}"
    )
    typer.echo(f"logged {receipt.time} by {receipt.user}; log entry hash {receipt.log_hash}")


@app.command("unblind")
def unblind_command(
    blinded_dir: BlindedDir,
    unblinded_dir: UnblindedDir,
    patient: Annotated[int, typer.Option("--patient", help="The registry's person_id.")],
    reason: Annotated[str, typer.Option("--reason", help="The clinical reason (logged).")],
    user: User,
) -> None:
    """Emergency unblinding of ONE patient: prints their arm; logged in both stores.

    The blinded log records who, when, which patient and why (no arm); the unblinded store's
    own log records the arm as well. Needs read access to the unblinded store.

    Example:

      myositis trial unblind --blinded-dir /shared/bird --unblinded-dir /secure/bird
      --patient 1002 --reason "suspected sepsis, ICU" --user dr.oncall
    """
    from myositis.trial.concealment import unblind

    opened = unblind(
        _stores(blinded_dir, unblinded_dir), person_id=patient, user=user, reason=reason
    )
    typer.echo(f"person {opened.person_id}: arm {opened.arm} (pack {opened.pack})")
    typer.echo(f"logged {opened.time} by {opened.user}: {opened.reason}")


@log_app.command("verify")
def log_verify(
    blinded_dir: BlindedDir,
    unblinded_dir: Annotated[
        Path | None,
        typer.Option(
            "--unblinded-dir",
            metavar="DIR",
            help="Also check the allocation list against the "
            "commitments and its balance (unblinded statistician).",
        ),
    ] = None,
) -> None:
    """Verify the audit log's hash chain (and, with --unblinded-dir, the list).

    Prints the number of entries of each kind and the log's head (count and last hash):
    record the head elsewhere, since cutting lines off the end leaves a shorter valid chain.

    Examples:

      myositis trial log verify --blinded-dir /shared/bird

      myositis trial log verify --blinded-dir /shared/bird --unblinded-dir /secure/bird
    """
    from collections import Counter

    from myositis.trial.audit import head
    from myositis.trial.concealment import (
        LOG,
        list_balance,
        read_blinded_log,
        verify_commitments,
    )

    stores = _stores(blinded_dir, unblinded_dir or blinded_dir)
    entries = read_blinded_log(stores)
    if not entries:
        raise TrialDesignError(f"{blinded_dir}: no audit log here; give the blinded store")
    count, last = head(blinded_dir / LOG)
    kinds = Counter(e["event"] for e in entries)
    typer.echo(
        f"ok: the audit log's hash chain is intact ({count} entries: "
        + ", ".join(f"{k} {n}" for k, n in kinds.items())
        + ")"
    )
    typer.echo(f"head: entry {count}, hash {last}")
    if unblinded_dir is not None:
        checked = verify_commitments(stores)
        typer.echo(
            f"ok: the allocation list matches all {checked} commitments made when it was created"
        )
        for b in list_balance(stores):
            keeps = "every block keeps the ratio" if b.blocks_keep_ratio else (
                "SOME BLOCK DOES NOT KEEP THE RATIO")  # fmt: skip
            typer.echo(
                f"  {b.stratum}: {b.slots} slots in {b.blocks} blocks, {keeps}; largest "
                f"running imbalance {b.largest_running_imbalance:g}"
            )


@log_app.command("show")
def log_show(blinded_dir: BlindedDir) -> None:
    """Print the audit log, verified (blinded: who, when, which patient, stratum, pack).

    Example:  myositis trial log show --blinded-dir /shared/bird
    """
    from myositis.trial.concealment import read_blinded_log

    entries = read_blinded_log(_stores(blinded_dir, blinded_dir))
    for e in entries:
        what = {
            "list_created": lambda e: (
                "slots " + ", ".join(f"{k} {v}" for k, v in e["slots"].items())
            ),
            "randomised": lambda e: (
                f"person {e['person_id']}, {e['stratum']} slot {e['sequence']}, pack {e['pack']}"
            ),
            "unblinded": lambda e: f"person {e['person_id']}: {e['reason']}",
            "allocation_read": lambda e: f"{e['patients']} patients' arms read",
        }.get(e["event"], lambda e: "")(e)
        typer.echo(f"{e['seq']:>4}  {e['time']}  {e['event']:<15} {e['user']:<28} {what}")


def _load(
    spec: str, data: str, enrolment: Path, screening: Path | None, quiet: bool, out: Path
) -> tuple[TrialSpec, Any, Any]:
    """Specification, inputs and endpoints (blind), with progress; nothing written."""
    from myositis.registry.connect import parse_location
    from myositis.trial.inputs import load_inputs
    from myositis.trial.reports import check_out
    from myositis.trial.spec import load_trial_spec

    loaded = load_trial_spec(spec)
    check_out(out)
    location = parse_location(data)
    if location.path is not None and out.exists() and out.resolve() == location.path.resolve():
        raise MyositisError(f"--out {out}: is the registry itself; choose another folder")
    with progress_display(not quiet) as progress:
        inputs = load_inputs(loaded, data, enrolment, screening, progress=progress)
        progress("deriving the endpoints")
        endpoints = inputs.derive(loaded)
    for note in inputs.notes:
        typer.echo(f"note: {note}", err=True)
    return loaded, inputs, endpoints


def _summary(results: dict[str, Any]) -> None:
    """What a blinded or unblinded run found, in a few lines."""
    label = "SYNTHETIC registry; " if results["synthetic"] else ""
    n = len(results["patients"])
    typer.echo(
        f"{results['trial']['id']}: {n} patients ({label}"
        f"{len(results['endpoints'])} endpoints derived)"
    )
    primary = next(e for e in results["endpoints"] if e["primary"])
    for g in results["groups"]:
        s = primary["groups"][g["key"]]
        basis = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in s["basis"].items() if k != "responder" and v
        )
        where = "arms pooled" if g["key"] == "all" else g["key"]
        share = f"{s['proportion']:.1%}" if s["proportion"] is not None else "-"
        typer.echo(
            f"primary {primary['endpoint']} ({where}): {s['responders']} of "
            f"{s['patients']} responders ({share}); non-responders: {basis or 'none'}"
        )
    if results["problems"]:
        typer.echo(f"{len(results['problems'])} data problem(s) flagged (problems.csv)", err=True)


@app.command("endpoints")
def endpoints_command(
    spec: Spec,
    data: Data,
    enrolment: Enrolment,
    out: OutDir,
    screening: Screening = None,
    quiet: Quiet = False,
) -> None:
    """Derive the endpoints from registry data, blind, with a per-patient derivation listing.

    Writes DIR/endpoints.csv (one row per patient and endpoint: observed, responder, what
    decided it), DIR/visits.csv (TIS and IMACS DOI at each visit against baseline, or why not
    computable), DIR/listing.csv (every derivation step with the registry rows it used) and,
    when the specification flags rather than stops on them, DIR/problems.csv. No arm is read
    or written. Bad data (a visit outside its window, a missing core set measure, as the
    specification's data_checks say; overlapping dose records) stop with exit status 2 and
    nothing written.

    Example:

      myositis trial endpoints bird --data bird-demo/registry.duckdb --enrolment
      bird-demo/enrolment.csv -o bird-endpoints
    """
    from myositis.trial.reports import tables, write_files
    from myositis.trial.results import blinded_results

    loaded, inputs, endpoints = _load(spec, data, enrolment, screening, quiet, out)
    results = blinded_results(loaded, inputs, endpoints)
    written = write_files(dict(tables(results)), out)
    _summary(results)
    typer.echo("wrote " + ", ".join(str(p) for p in written))


REPORT_HELP = (
    "Write the trial report: blinded (arms pooled), unblinded (by arm) or pilot (single arm)."
    "\n\n"
    "Blinded without --unblinded-dir, unblinded with it; a single-arm study gets the pilot "
    "report."
    "\n\n"
    "Writes DIR/report.html (self-contained: tables, CONSORT 2010 flow diagram, per-patient "
    "derivation listing), DIR/results.json (every number with the specification's SHA-256, "
    "the data fingerprint and the input files' SHA-256; kind trial-blinded, trial-unblinded "
    "or trial-pilot), DIR/consort.svg and .png, and DIR/endpoints.csv, visits.csv, "
    "listing.csv. The blinded report never reads the allocation and carries no arm. The "
    "unblinded report reads the arms from the concealed store (--blinded-dir, "
    "--unblinded-dir); the read is logged with --user. Bad data stop with exit status 2 "
    "before anything is read from the store or written."
    "\n\n"
    f"--data: {REGISTRY_HELP}"
    "\n\n"
    "Examples:\n\n"
    "  myositis trial report bird --data bird-demo/registry.duckdb --enrolment "
    "bird-demo/enrolment.csv --screening bird-demo/screening.csv -o blinded-report\n\n"
    "  myositis trial report bird --data bird-demo/registry.duckdb --enrolment "
    "bird-demo/enrolment.csv --screening bird-demo/screening.csv --blinded-dir "
    "bird-demo/allocation/blinded --unblinded-dir bird-demo/allocation/unblinded --user "
    "stat.unblinded -o unblinded-report\n\n"
    "  myositis trial report stir --data tests/trial/data/stir --enrolment "
    "tests/trial/data/stir/enrolment.csv -o stir-report"
)


@app.command("report", help=REPORT_HELP)
def report_command(
    spec: Spec,
    data: Data,
    enrolment: Enrolment,
    out: OutDir,
    screening: Screening = None,
    blinded_dir: Annotated[
        Path | None,
        typer.Option(
            "--blinded-dir",
            metavar="DIR",
            help="Unblinded report: the blinded store (the log says which pack each patient got).",
        ),
    ] = None,
    unblinded_dir: Annotated[
        Path | None,
        typer.Option(
            "--unblinded-dir",
            metavar="DIR",
            help="Unblinded report: the unblinded store (the "
            "list). Without it the report is blinded.",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", metavar="NAME", help="Unblinded report: who reads the allocation (logged)."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Write a trial report (help text: REPORT_HELP)."""
    from myositis.trial.reports import write_trial_report
    from myositis.trial.results import blinded_results, pilot_results, unblinded_results

    unblinded = unblinded_dir is not None or blinded_dir is not None
    if unblinded and (unblinded_dir is None or blinded_dir is None or not user):
        raise TrialDesignError(
            "the unblinded report needs --blinded-dir, --unblinded-dir and --user (who reads "
            "the allocation; the read is logged); leave all three out for the blinded report"
        )
    loaded, inputs, endpoints = _load(spec, data, enrolment, screening, quiet, out)
    if len(loaded.arms) == 1:
        if unblinded:
            raise TrialDesignError(
                f"{loaded.trial.id} is a single-arm study: there is no "
                "allocation to read; leave out the store options"
            )
        results = pilot_results(loaded, inputs, endpoints)
    elif unblinded:
        from myositis.trial.concealment import allocation_by_person

        assert blinded_dir is not None and unblinded_dir is not None and user
        allocation = allocation_by_person(_stores(blinded_dir, unblinded_dir), user=user)
        missing = [p.person_id for p in endpoints.patients if p.person_id not in allocation]
        if missing:
            raise TrialDesignError(
                f"{len(missing)} enrolled patient(s) were not randomised through this store "
                f"(person {', '.join(map(str, missing[:10]))}); check --blinded-dir"
            )
        results = unblinded_results(loaded, inputs, endpoints, allocation)
    else:
        results = blinded_results(loaded, inputs, endpoints)
    written = write_trial_report(results, out)
    if results["kind"] == "trial-pilot":
        _pilot_summary(results)
    elif results["kind"] == "trial-unblinded":
        _summary(results)
        a = next(x for x in results["analyses"] if x["primary"])
        rd = a["risk_difference"]
        typer.echo(
            f"risk difference {rd['estimate']:.3f} ({rd['conf_level']:.0%} CI "
            f"{rd['lower']:.3f} to {rd['upper']:.3f}); planned {a['primary_test']} "
            f"p = {a['primary_p']:.4f}"
        )
    else:
        _summary(results)
    typer.echo(f"report: {written[0].resolve()}")
    typer.echo(f"results: {written[1].resolve()}")


def _pilot_summary(results: dict[str, Any]) -> None:
    typer.echo(
        f"{results['trial']['id']}: {len(results['patients'])} patients (single arm"
        + ("; SYNTHETIC registry" if results["synthetic"] else "")
        + ")"
    )
    for p in results["proportions"]:
        typer.echo(
            f"{p['endpoint']}: {p['responders']} of {p['patients']} ({p['estimate']:.0%};"
            f" {p['conf_level']:.0%} CI {p['lower']:.3f} to {p['upper']:.3f})"
        )
    cats = results["tis_categories"]
    typer.echo(
        f"TIS categories at {cats['visit']}: "
        + ", ".join(f"{k} {v}" for k, v in cats["counts"].items())
    )
    c = results["cdasi"]
    if "test" in c:
        t = c["test"]
        typer.echo(
            f"CDASI activity {c['baseline_visit']} {t['mean_before']:.1f} +/- "
            f"{t['sd_before']:.1f} -> {c['visit']} {t['mean_after']:.1f} +/- "
            f"{t['sd_after']:.1f} (n = {t['n']}); paired t-test p = {t['p_t']:.4f}; "
            f"Wilcoxon signed-rank p = {t['p_wilcoxon']:.4f}"
        )


@app.command("render")
def render_command(
    results: Annotated[
        Path,
        typer.Argument(
            help="The results.json of a trial report (or its folder).", metavar="RESULTS"
        ),
    ],
    out: OutDir,
) -> None:
    """Render a trial report again from its results.json alone (no registry, no store).

    Example:  myositis trial render blinded-report/results.json -o blinded-report-again
    """
    typer.echo(f"report: {render_results(results, out).resolve()}")


def render_results(results: Path, out: Path) -> Path:
    """Render the trial report of a results.json into ``out``; returns the page written
    (``myositis report`` uses it too)."""
    from jinja2 import UndefinedError

    from myositis.report.results_json import read_results
    from myositis.trial.reports import check_kind, write_trial_report

    data = read_results(results)
    check_kind(data, str(results))
    try:
        return write_trial_report(data, out)[0]
    except (KeyError, IndexError, TypeError, ValueError, UndefinedError) as exc:
        raise MyositisError(
            f"{results}: cannot render this results.json ({type(exc).__name__}: {exc}); it was "
            "damaged or edited, or written by another version (it says "
            f"{data.get('software_version')!r}); give the results.json the report wrote, "
            "unchanged, or run 'myositis trial report' again. Nothing was written."
        ) from None


@app.command("synth")
def synth_command(
    spec: Spec,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="DIR", help="New folder to write the synthetic trial into."
        ),
    ],
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")],
    allocation_seed: Annotated[
        int | None,
        typer.Option(
            "--allocation-seed",
            help="Seed of the concealed list (default: drawn at random; "
            "both seeds are kept in the unblinded store only). Give both seeds to make the same "
            "trial again.",
        ),
    ] = None,
    patients: Annotated[
        int | None,
        typer.Option(
            "--patients", help="Patients to randomise (default: simulation.patients, 62 for BIRD)."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Make a SYNTHETIC BIRD-like trial: registry, enrolment, screening, concealed allocation.

    The folder holds a registry, an enrolment table, a screening log and a concealed
    allocation store through which every patient was randomised.

    Patients enrol into strata, are randomised with randomise-next on their randomisation
    day, follow the visit schedule and the prednisone taper; responders improve by 45-80 %
    of the way to normal, others by 0-10 %; some withdraw, need rescue therapy or restart
    prednisone; adverse events and screening failures are drawn too. The response rates are
    the specification's simulation.response_rates. Labelled synthetic everywhere.

    Example:

      myositis trial synth bird -o bird-demo --seed 7 --allocation-seed 20220501
    """
    from myositis.trial.spec import load_trial_spec
    from myositis.trial.synthetic_files import write_synthetic_trial

    loaded = load_trial_spec(spec)
    with progress_display(not quiet) as progress:
        files = write_synthetic_trial(
            loaded,
            out,
            seed=seed,
            allocation_seed=allocation_seed,
            patients=patients,
            spec_name=spec,
            progress=progress,
        )
    typer.echo(
        f"wrote a SYNTHETIC trial of {loaded.trial.id} to {files.out}: "
        f"{files.patients} patients randomised ({files.screened} screened)"
    )
    typer.echo(f"  registry:   {files.registry}")
    typer.echo(f"  enrolment:  {files.enrolment}")
    typer.echo(f"  screening:  {files.screening}")
    typer.echo(
        f"  allocation: {files.stores.blinded} (blinded), {files.stores.unblinded} "
        "(unblinded, owner-only)"
    )
    typer.echo(f"next: see {files.out / 'README.txt'}")


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

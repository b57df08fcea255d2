"""A synthetic trial written as a trial team holds one: a registry, the enrolment table, the
screening log and a concealed allocation store through which every patient was randomised.

``write_synthetic_trial(spec, out, seed=..., allocation_seed=...)`` writes::

    out/README.txt              what this is (SYNTHETIC) and what to run next
    out/registry.duckdb         the registry (registry_metadata synthetic = true)
    out/enrolment.csv           the blinded enrolment table (arm blank)
    out/screening.csv           the screening log (CONSORT: assessed, excluded, reasons)
    out/allocation/blinded/     the plan (pack codes, commitments) and the audit log
    out/allocation/unblinded/   the allocation list, owner-only, and synthetic.json (the seeds)

The allocation list is made first (:func:`myositis.trial.concealment.create_allocation`);
each synthetic patient is then randomised by :func:`randomise_next` on their randomisation
day, as a site would, and the generator reads the arm behind the pack it was given to draw
the patient's outcomes (the generator plays every role). Neither seed is written where a
blinded reader looks: with the data seed and the data one could tell some patients' arms.
Everything is built in ``out.partial`` and renamed into place when complete.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from myositis.errors import MyositisError
from myositis.progress import Progress, silent
from myositis.trial.concealment import Stores, create_allocation, randomise_next, slot_arms
from myositis.trial.spec import TrialSpec

README = """SYNTHETIC TRIAL DATA: made by `myositis trial synth` for demonstrations and tests.
No real patient is in it. Trial {trial}, {patients} patients.

registry.duckdb            the registry (registry_metadata synthetic = true)
enrolment.csv              the enrolment table (blinded: no arm)
screening.csv              the screening log
allocation/blinded/        the randomisation plan (pack codes) and the audit log
allocation/unblinded/      the allocation list: owner-only, for the unblinded statistician

Next (blinded):
  myositis trial report {spec} --data {out}/registry.duckdb --enrolment {out}/enrolment.csv \\
      --screening {out}/screening.csv -o blinded-report
Next (unblinded statistician):
  myositis trial report {spec} --data {out}/registry.duckdb --enrolment {out}/enrolment.csv \\
      --screening {out}/screening.csv --blinded-dir {out}/allocation/blinded \\
      --unblinded-dir {out}/allocation/unblinded --user stat.unblinded -o unblinded-report
"""


@dataclass(frozen=True)
class SyntheticTrialFiles:
    out: Path
    registry: Path
    enrolment: Path
    screening: Path
    stores: Stores
    patients: int
    screened: int


def write_synthetic_trial(
    spec: TrialSpec,
    out: Path,
    *,
    seed: int,
    allocation_seed: int | None = None,
    patients: int | None = None,
    spec_name: str | None = None,
    progress: Progress = silent,
) -> SyntheticTrialFiles:
    """Write a synthetic trial of ``spec`` into ``out`` (see the module docstring).

    ``allocation_seed`` seeds the concealed list (default: drawn at random, then kept only in
    the unblinded store); the same two seeds give the same trial, except the random pack
    codes and the log's hashes.
    """
    from myositis.registry.store import append_arrow, create_registry, write_metadata
    from myositis.trial.synthetic import generate_trial

    if len(spec.arms) != 2:
        raise MyositisError(
            f"{spec.trial.id}: trial synth makes two-arm randomised trials; this specification "
            "has one arm"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MyositisError(f"-o {out}: exists and is not an empty folder; choose a new folder")
    size = patients or (spec.simulation.patients if spec.simulation else 62)
    if size < 1:
        raise MyositisError(f"--patients {size}: make at least one patient")
    chosen = secrets.randbits(31) if allocation_seed is None else allocation_seed
    staging = out.with_name(f".{out.name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        stores = Stores(staging / "allocation" / "blinded", staging / "allocation" / "unblinded")
        progress("making the concealed allocation list")
        start = dt.datetime(2022, 8, 29, 9, 0, tzinfo=dt.UTC)
        create_allocation(
            stores,
            spec,
            per_stratum=size,
            seed=chosen,
            user="synthetic.unblinded-statistician",
            now=start,
        )
        arms = slot_arms(stores)
        done = [0]

        def allocate(person_id: int, stratum: str, day: dt.date) -> str:
            when = dt.datetime.combine(day, dt.time(9, 30), tzinfo=dt.UTC)
            receipt = randomise_next(
                stores,
                person_id=person_id,
                stratum=stratum,
                user="synthetic.site-investigator",
                now=when,
            )
            done[0] += 1
            progress("randomising the synthetic patients", done[0], size)
            return arms[(stratum, receipt.sequence)]

        trial = generate_trial(spec, seed=seed, patients=size, allocate=allocate)
        progress("writing the registry")
        con = create_registry(staging / "registry.duckdb")
        try:
            for name, table in trial.registry_tables().items():
                if name != "registry_metadata":
                    append_arrow(con, name, table)
            write_metadata(
                con, {r["key"]: r["value"] for r in trial.tables["registry_metadata"].to_pylist()}
            )
        finally:
            con.disconnect()
        # blinded: no arm column at all (the reader treats a missing one as blank)
        _write_csv(trial.enrolment.drop_columns(["arm"]), staging / "enrolment.csv")
        assert trial.screening is not None
        _write_csv(trial.screening, staging / "screening.csv")
        seeds = stores.unblinded / "synthetic.json"
        handle = os.open(seeds, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump({"data_seed": seed, "allocation_seed": chosen, "patients": size}, f)
        (staging / "README.txt").write_text(
            README.format(
                trial=spec.trial.id, patients=size, out=out, spec=spec_name or spec.trial.id
            ),
            encoding="utf-8",
        )
        staging.rename(out) if not out.exists() else _move_into(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final = Stores(out / "allocation" / "blinded", out / "allocation" / "unblinded")
    return SyntheticTrialFiles(
        out,
        out / "registry.duckdb",
        out / "enrolment.csv",
        out / "screening.csv",
        final,
        size,
        trial.screening.num_rows,
    )


def _move_into(staging: Path, out: Path) -> None:
    for item in staging.iterdir():
        item.rename(out / item.name)
    staging.rmdir()


def _write_csv(table: object, path: Path) -> None:
    import pyarrow.csv as pacsv

    # Blank cells (not "null") for missing values, as a spreadsheet shows them.
    options = pacsv.WriteOptions(quoting_style="needed")
    pacsv.write_csv(table, path, write_options=options)


__all__ = ["SyntheticTrialFiles", "write_synthetic_trial"]

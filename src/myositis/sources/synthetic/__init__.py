"""A synthetic, EHR-like registry for demonstrations, tests and benchmarks. Synthetic only.

``generate_registry`` writes a DuckDB registry of the data model (``registry.schema``) in
batches of :data:`BATCH_SIZE` persons (Arrow tables appended to DuckDB), so memory stays bounded
whatever the number of patients. The output is deterministic for a given seed, patient count,
site count and parameters, and labelled synthetic in ``registry_metadata`` (``synthetic=true``,
``generator``, ``seed``, ...) and in the site names (``synthetic-site-1``, ...).

The model is described, with the status of every number, in docs/synthetic.md.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from myositis import __version__
from myositis.codes import CODESET_VERSION
from myositis.errors import InputProblem, InvalidInputError
from myositis.progress import Progress, silent
from myositis.registry.fingerprint import record_fingerprint
from myositis.registry.keys import declare_person_key
from myositis.registry.store import append_arrow, create_registry, write_metadata
from myositis.sources.synthetic.background import (
    common_records,
    lookalikes,
    persons,
    write_persons,
)
from myositis.sources.synthetic.context import DATA_TABLES, Batch, site_name
from myositis.sources.synthetic.deaths import add_deaths
from myositis.sources.synthetic.dermatomyositis import add_dm_patient
from myositis.sources.synthetic.encounters import add_encounters
from myositis.sources.synthetic.measurements import add_measurements
from myositis.sources.synthetic.params import (
    POPULATION_DM_PER_1000,
    PRESETS,
    REFERRAL_CENTRE_DM_PER_1000,
    SynthParams,
)

#: Persons generated and written per batch (bounds memory; part of the determinism contract).
BATCH_SIZE: Final = 50_000
GENERATOR: Final = "myositis.sources.synthetic"


def generate_registry(
    path: str | Path,
    *,
    patients: int,
    sites: int,
    seed: int,
    dm_per_1000: float | None = None,
    progress: Progress = silent,
    overwrite: bool = False,
    params: SynthParams | None = None,
    preset: str = "population",
    core_set: bool = False,
) -> Path:
    """Write a synthetic registry of ``patients`` persons over ``sites`` sites to ``path``.

    ``preset`` names a parameter set of ``PRESETS``: ``population`` (the defaults of
    ``SynthParams``: 0.2 DM per 1,000, the population-based prevalence) or ``referral-centre``
    (5 DM per 1,000 and CDASI recorded at nearly every visit, docs/synthetic.md); ``params``
    replaces the preset's parameters; ``dm_per_1000``, when given, replaces their DM
    prevalence; ``core_set`` records the other IMACS core set measures at the JAK course's
    visits (``SynthParams.core_set``). Returns the path written.
    """
    problems = []
    if params is None and preset not in PRESETS:
        problems.append(
            InputProblem(None, "--preset", preset, f"must be one of {', '.join(PRESETS)}")
        )
    if patients < 1:
        problems.append(InputProblem(None, "--patients", str(patients), "must be at least 1"))
    if sites < 1:
        problems.append(InputProblem(None, "--sites", str(sites), "must be at least 1"))
    if seed < 0:
        problems.append(InputProblem(None, "--seed", str(seed), "must be 0 or more"))
    if dm_per_1000 is not None and not 0 <= dm_per_1000 <= 1000:
        problems.append(
            InputProblem(None, "--dm-per-1000", str(dm_per_1000), "must be from 0 to 1000")
        )
    if problems:
        raise InvalidInputError(problems)
    settings = params or PRESETS[preset]
    overrides: dict[str, Any] = {"dm_per_1000": dm_per_1000} if dm_per_1000 is not None else {}
    settings = replace(settings, **overrides | ({"core_set": True} if core_set else {}))
    target = Path(path)
    con = create_registry(target, overwrite=overwrite)
    write_metadata(
        con,
        {
            "synthetic": "true",
            "generator": f"{GENERATOR} (myositis-outcomes {__version__})",
            "seed": str(seed),
            "patients": str(patients),
            "sites": str(sites),
            "site_names": ",".join(site_name(k) for k in range(sites)),
            "preset": preset if params is None else "custom",
            "dm_per_1000": repr(settings.dm_per_1000),
            "batch_size": str(BATCH_SIZE),
            "codeset_version": CODESET_VERSION,
        }
        # only when on, so a registry made without it is unchanged
        | ({"core_set": "true"} if settings.core_set else {}),
    )
    exposure_id = assessment_id = 0
    progress("synthetic registry: persons", 0, patients)
    for index, first in enumerate(range(0, patients, BATCH_SIZE)):
        n = min(BATCH_SIZE, patients - first)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
        batch = Batch(rng, settings, sites, exposure_id, assessment_id)
        if settings.core_set:
            batch.core_rng = np.random.default_rng(
                np.random.SeedSequence(seed, spawn_key=(index, 1))
            )
        # procedures, visits and observations: a stream of their own, so that the other
        # tables are exactly what they were before the generator wrote these
        encounters = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, 2)))
        # measurements: likewise a stream of their own, read after every other table is written
        measures = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, 3)))
        # deaths: last of all, on each person's latest record day, from a stream of their own
        deaths = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, 4)))
        _generate_batch(batch, first + 1, n, encounters, measures, deaths)
        for table in DATA_TABLES:
            append_arrow(con, table, batch.rows[table].to_arrow())
        exposure_id, assessment_id = batch.next_exposure_id, batch.next_assessment_id
        progress("synthetic registry: persons", first + n, patients)
    declare_person_key(con)
    # recorded now, so that a study run verifies it cheaply instead of hashing every row
    progress("synthetic registry: data fingerprint")
    record_fingerprint(con)
    con.disconnect()
    return target


def _generate_batch(
    batch: Batch, first_id: int, n: int, encounters: np.random.Generator,
    measures: np.random.Generator, deaths: np.random.Generator,
) -> None:  # fmt: skip
    people = persons(batch, first_id, n)
    is_dm = batch.rng.random(n) < batch.params.dm_per_1000 / 1000
    # DM patients first: their birth replaces the drawn one before any other record is dated
    # from it, so no record of theirs falls before their birth.
    for i in np.flatnonzero(is_dm):
        sex, birth = add_dm_patient(batch, int(people["person_id"][i]), int(people["site"][i]))
        people["sex"][i] = sex
        people["birth"][i] = birth
        people["birth_date_known"][i] = True
    common_records(batch, people)
    lookalikes(batch, people, skip=is_dm)
    write_persons(batch, people)
    add_encounters(batch, people, encounters)
    add_measurements(batch, people, measures)
    add_deaths(batch, people, deaths)


__all__ = [
    "BATCH_SIZE",
    "GENERATOR",
    "POPULATION_DM_PER_1000",
    "PRESETS",
    "REFERRAL_CENTRE_DM_PER_1000",
    "SynthParams",
    "generate_registry",
]

"""Synthetic BIRD-like trials: registry-shaped Arrow tables plus the enrolment table.

Everything here is made up (``registry_metadata.synthetic = true``); nothing describes a real
patient. Given a trial specification, the generator enrols ``patients`` into strata drawn
from ``level_shares``, allocates them with the specification's permuted blocks, and for each
patient draws whether they respond (probability ``response_rates[arm]``). Responders improve
by 45-80 % of the distance to normal across the core set measures by the last visit
(non-responders by 0-10 %), so that responders reach TIS >= 40 and non-responders stay below
it. The prednisone taper is recorded as one ``drug_exposure`` row per step; a share of
non-responders stop tapering at 5 mg. Withdrawals (``dropout_rate``), rescue therapy and a
prednisone restart happen with the given probabilities; about 3 % of patients receive none of
the allocated intervention (``NOT_RECEIVED``), the others a first dose 0 to 3 days after
randomisation. Same specification, inputs and seed: the same tables.

The enrolment table carries no arm (``arm`` is null: the trial is blinded); the allocation
(person -> arm) is returned apart, for the unblinded store only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from myositis.errors import TrialDesignError
from myositis.trial.inputs import ENROLMENT_SCHEMA, SCREENING_SCHEMA
from myositis.trial.randomisation import permuted_blocks
from myositis.trial.spec import TrialSpec

CK_ULN = 190.0

#: Synthetic adverse events: (term, probability per patient, serious, grade).
ADVERSE_EVENTS = (
    ("upper respiratory tract infection", 0.25, False, 1),
    ("headache", 0.15, False, 1),
    ("nausea", 0.10, False, 1),
    ("alanine aminotransferase increased", 0.08, False, 2),
    ("herpes zoster", 0.05, False, 2),
    ("pneumonia", 0.03, True, 3),
)

#: Synthetic screening failures (CONSORT groups) and their shares.
EXCLUSIONS = (
    ("not meeting inclusion criteria: MMT-8 of 145/150 or more", 0.35),
    ("not meeting inclusion criteria: age outside 18 to 64 years", 0.15),
    ("not meeting inclusion criteria: no active disease", 0.15),
    ("declined to participate", 0.25),
    ("other reasons: could not attend the visits", 0.10),
)

#: Synthetic reasons a randomised patient received none of the allocated intervention, and
#: the share of patients with each (CONSORT's "did not receive allocated intervention").
NOT_RECEIVED = (
    ("withdrew consent before the first dose", 0.02),
    ("no longer eligible at the first dose visit", 0.01),
)

#: Assigns an arm: (person_id, stratum, randomisation date) -> arm name.
Allocator = Callable[[int, str, dt.date], str]


@dataclass(frozen=True)
class SyntheticTrial:
    """The generated tables (registry shape), the blinded enrolment table, and apart from
    them the allocation and each patient's generated truth (for tests and simulation)."""

    tables: dict[str, pa.Table]
    enrolment: pa.Table
    allocation: dict[int, str] = field(repr=False)
    truth: dict[int, bool] = field(repr=False)  # generated responder class
    screening: pa.Table | None = None

    def write(self, folder: str | Path) -> Path:
        """Write a folder registry (``<table>.parquet`` for every table of the data model) with
        ``enrolment.parquet`` and ``screening.parquet`` beside it (blinded: no allocation);
        returns the folder."""
        import pyarrow.parquet as pq

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        extra = {"enrolment": self.enrolment.drop_columns(["arm"])}
        if self.screening is not None:
            extra["screening"] = self.screening
        for name, table in {**self.registry_tables(), **extra}.items():
            pq.write_table(table, out / f"{name}.parquet")
        return out

    def registry_tables(self) -> dict[str, pa.Table]:
        """Every table of the registry data model (those not generated are empty)."""
        from myositis.registry.schema import TABLES

        return {name: self.tables.get(name, _registry_schema(name).empty_table())
                for name in TABLES}  # fmt: skip


def _registry_schema(name: str) -> pa.Schema:
    from myositis.registry.schema import TABLES

    return TABLES[name].to_pyarrow()


def generate_trial(
    spec: TrialSpec,
    *,
    patients: int = 62,
    response_rates: Mapping[str, float] | None = None,
    dropout_rate: float = 0.1,
    rescue_rate: float = 0.05,
    restart_rate: float = 0.05,
    non_tapering_rate: float = 0.3,
    level_shares: Mapping[str, Mapping[str, float]] | None = None,
    first_randomisation: dt.date = dt.date(2022, 9, 1),
    seed: int,
    allocate: Allocator | None = None,
) -> SyntheticTrial:
    """A synthetic trial of ``spec`` (see the module docstring).

    ``allocate`` assigns each patient's arm as they enrol (for example through the concealed
    allocation store, :func:`write_synthetic_trial`); by default the arms come from the
    specification's permuted blocks drawn from ``seed``. Adverse events (``ADVERSE_EVENTS``,
    the same rates in every arm) and the screening log (``EXCLUSIONS``, about one screening
    failure for every three randomised patients) are drawn from a second stream of the same
    seed, so they leave the rest of the trial as it was.
    """
    rates = dict(response_rates or (spec.simulation.response_rates if spec.simulation else {}))
    if set(rates) != set(spec.arm_names):
        raise TrialDesignError(
            f"response_rates {rates}: give one rate per arm ({', '.join(spec.arm_names)})"
        )
    for name, value in (("dropout_rate", dropout_rate), ("rescue_rate", rescue_rate),
                        ("restart_rate", restart_rate), *rates.items()):  # fmt: skip
        if not 0 <= value <= 1:
            raise TrialDesignError(f"{name} = {value}: a probability lies between 0 and 1")
    if patients < 1:
        raise TrialDesignError(f"patients = {patients}: generate at least one patient")
    rng = np.random.default_rng(seed)
    strata = spec.stratum_names
    shares = level_shares or (spec.simulation.level_shares if spec.simulation else {})
    weights = np.ones(len(strata))
    if spec.strata is not None:
        for i, name in enumerate(strata):
            for factor, level in zip(spec.strata.factors, name.split("/"), strict=True):
                factor_shares = shares.get(factor)
                if factor_shares:
                    weights[i] *= factor_shares[level] / sum(factor_shares.values())
    weights /= weights.sum()
    if len(spec.arms) == 2:
        lists = permuted_blocks(patients, arms=spec.arm_names, ratio=spec.allocation.ratio,
                                block_sizes=spec.allocation.block_sizes, strata=strata,
                                seed=int(rng.integers(2**31)))  # fmt: skip
        queues = {s: [a.arm for a in lists if a.stratum == s] for s in strata}
    else:
        queues = {s: [spec.arm_names[0]] * patients for s in strata}
    last = spec.visits[-1].day
    rows: dict[str, list[dict[str, object]]] = {
        k: [] for k in ("person", "assessment", "laboratory", "drug_exposure")
    }
    enrol: list[dict[str, object]] = []
    allocation: dict[int, str] = {}
    truth: dict[int, bool] = {}
    ids = {"assessment": 0, "exposure": 0}

    def assess(pid: int, when: dt.date, instrument: str, measure: str, value: float) -> None:
        ids["assessment"] += 1
        rows["assessment"].append(dict(assessment_id=ids["assessment"], person_id=pid,
                                       assessment_date=when, instrument=instrument,
                                       measure=measure, value=float(value)))  # fmt: skip

    def expose(pid: int, ingredient: str, start: dt.date, end: dt.date | None, dose: float,
               formulation: str = "IR", route: str = "oral") -> None:  # fmt: skip
        ids["exposure"] += 1
        rows["drug_exposure"].append(dict(
            exposure_id=ids["exposure"], person_id=pid, ingredient=ingredient,
            code_system="LOCAL", code=ingredient, start_date=start, end_date=end, dose=dose,
            dose_unit="mg", frequency="QD" if route == "oral" else "ONCE",
            formulation=formulation, route=route))  # fmt: skip

    day = first_randomisation
    for index in range(patients):
        pid = 1001 + index
        day += dt.timedelta(days=int(rng.integers(0, 8)))
        stratum = strata[int(rng.choice(len(strata), p=weights))]
        queued = queues[stratum].pop(0)
        arm = queued if allocate is None else allocate(pid, stratum, day)
        if arm not in rates:
            raise TrialDesignError(f"person {pid}: allocated to {arm!r}, not an arm of the plan")
        allocation[pid] = arm
        responder = bool(rng.random() < rates[arm])
        truth[pid] = responder
        withdrawn: dt.date | None = None
        if rng.random() < dropout_rate:
            withdrawn = day + dt.timedelta(days=int(rng.integers(20, last)))
        rows["person"].append(dict(person_id=pid, site=f"site{int(rng.integers(1, 7))}",
                                   sex="F" if rng.random() < 0.7 else "M", birth_date=None,
                                   birth_year=int(rng.integers(1960, 2004)), race=None,
                                   ethnicity=None))  # fmt: skip
        enrol.append(dict(person_id=pid, stratum=stratum, randomisation_date=day, arm=None,
                          withdrawal_date=withdrawn,
                          withdrawal_reason="withdrew consent" if withdrawn else None))  # fmt: skip
        base = {"pga": rng.uniform(4, 8), "ptga": rng.uniform(4, 8), "ema": rng.uniform(3, 7),
                "haq": rng.uniform(0.8, 2.0), "mmt8": float(rng.integers(110, 141)),
                "ck": rng.uniform(2, 10) * CK_ULN}  # fmt: skip
        final = rng.uniform(0.45, 0.8) if responder else rng.uniform(0.0, 0.1)
        for visit in spec.visits:
            when = day + dt.timedelta(
                days=visit.day
                + int(rng.integers(-min(visit.window_before, 3), min(visit.window_after, 3) + 1))
            )
            if withdrawn is not None and when >= withdrawn:
                break
            f = final * min(visit.day / last, 1.0) if last else final
            assess(pid, when, "pga", "score", round(base["pga"] * (1 - f), 1))
            assess(pid, when, "ptga", "score", round(base["ptga"] * (1 - f), 1))
            assess(pid, when, "ema", "score", round(base["ema"] * (1 - f), 1))
            assess(pid, when, "haq", "score", round(base["haq"] * (1 - f), 3))
            assess(
                pid,
                when,
                "mmt8",
                "total",
                float(round(base["mmt8"] + (spec.mmt8_max - base["mmt8"]) * f)),
            )
            rows["laboratory"].append(dict(person_id=pid, test="ck", loinc="2157-6",
                                           result_date=when,
                                           value=float(round(base["ck"] * (1 - f))),
                                           unit="U/L", uln=CK_ULN))  # fmt: skip
        taper = spec.prednisone_taper
        if taper is not None:
            stop_at_five = (not responder) and rng.random() < non_tapering_rate
            steps = taper.steps
            end_day = last + 30
            for i, step in enumerate(steps):
                if step.dose_mg == 0:
                    break
                start = step.from_day
                stop = steps[i + 1].from_day - 1 if i + 1 < len(steps) else end_day
                if stop_at_five and step.dose_mg <= 5:
                    expose(pid, taper.ingredient, day + dt.timedelta(days=start),
                           day + dt.timedelta(days=end_day), 5.0)  # fmt: skip
                    break
                expose(pid, taper.ingredient, day + dt.timedelta(days=start),
                       day + dt.timedelta(days=stop), step.dose_mg)  # fmt: skip
            else:
                stop_at_five = False
            if not stop_at_five and rng.random() < restart_rate:
                restart = day + dt.timedelta(days=max(taper.zero_day + 7, last - 30))
                expose(pid, taper.ingredient, restart, restart + dt.timedelta(days=13), 10.0)
        if rng.random() < rescue_rate and spec.intercurrent_events.rescue_ingredients:
            drug = spec.intercurrent_events.rescue_ingredients[0]
            when = day + dt.timedelta(days=int(rng.integers(60, last)))
            expose(pid, drug, when, when, 1000.0, "INF", "intravenous")
    extra = np.random.default_rng([seed, 1])
    rows["adverse_event"] = _adverse_events(extra, enrol, last)
    tables = {name: pa.Table.from_pylist(r, schema=_registry_schema(name))
              for name, r in rows.items()}  # fmt: skip
    # No seed here: with the data seed and the data, a blinded reader could tell the arm of
    # some patients (whether a response draw fell between the two arms' rates).
    tables["registry_metadata"] = pa.Table.from_pylist(
        [{"key": "synthetic", "value": "true"},
         {"key": "generator", "value": "myositis.trial.synthetic.generate_trial"},
         {"key": "trial", "value": spec.trial.id}],
        schema=_registry_schema("registry_metadata"))  # fmt: skip
    _first_doses(np.random.default_rng([seed, 2]), enrol)
    enrolment = pa.Table.from_pylist(enrol, schema=ENROLMENT_SCHEMA)
    screening = pa.Table.from_pylist(_screening(extra, enrol), schema=SCREENING_SCHEMA)
    return SyntheticTrial(tables, enrolment, allocation, truth, screening)


def _adverse_events(rng: np.random.Generator, enrol: list[dict[str, object]], last: int
                    ) -> list[dict[str, object]]:  # fmt: skip
    out: list[dict[str, object]] = []
    for row in enrol:
        day0 = row["randomisation_date"]
        assert isinstance(day0, dt.date)
        withdrawn = row["withdrawal_date"]
        end = (withdrawn - day0).days if isinstance(withdrawn, dt.date) else last
        for term, rate, serious, grade in ADVERSE_EVENTS:
            if rng.random() < rate and end > 1:
                onset = day0 + dt.timedelta(days=int(rng.integers(1, end)))
                out.append(dict(person_id=row["person_id"], term=term, onset_date=onset,
                                grade=grade, serious=serious, outcome="recovered",
                                suspected_drug="study drug (masked)",
                                led_to_discontinuation=False))  # fmt: skip
    return out


def _first_doses(rng: np.random.Generator, enrol: list[dict[str, object]]) -> None:
    """Give each enrolment row its first dose of the allocated intervention (0 to 3 days after
    randomisation) or, for the shares of :data:`NOT_RECEIVED`, the reason there was none. A
    generator of its own, so the other tables do not change with it."""
    cut = np.cumsum([share for _, share in NOT_RECEIVED])
    for row in enrol:
        day0 = row["randomisation_date"]
        assert isinstance(day0, dt.date)
        u, days = rng.random(), int(rng.integers(0, 4))
        missed = int(np.searchsorted(cut, u, side="right"))
        if missed < len(NOT_RECEIVED):
            row |= {"first_dose_date": None, "not_received_reason": NOT_RECEIVED[missed][0]}
        else:
            row |= {"first_dose_date": day0 + dt.timedelta(days=days), "not_received_reason": None}


def _screening(rng: np.random.Generator, enrol: list[dict[str, object]]
               ) -> list[dict[str, object]]:  # fmt: skip
    """One screening row per randomised patient, a few days before randomisation, and about
    one screening failure (``EXCLUSIONS``) for every three randomised patients."""
    reasons = [r for r, _ in EXCLUSIONS]
    shares = np.array([w for _, w in EXCLUSIONS])
    rows: list[tuple[dt.date, object, str | None]] = []
    for row in enrol:
        day0 = row["randomisation_date"]
        assert isinstance(day0, dt.date)
        rows.append((day0 - dt.timedelta(days=int(rng.integers(3, 22))), row["person_id"], None))
        if rng.random() < 1 / 3:
            reason = reasons[int(rng.choice(len(reasons), p=shares / shares.sum()))]
            rows.append((day0 - dt.timedelta(days=int(rng.integers(1, 30))), None, reason))
    rows.sort(key=lambda r: r[0])
    return [dict(screening_id=f"S-{i:04d}", screening_date=d, person_id=p, excluded_reason=r)
            for i, (d, p, r) in enumerate(rows, start=1)]  # fmt: skip


__all__ = ["ENROLMENT_SCHEMA", "Allocator", "SyntheticTrial", "generate_trial"]

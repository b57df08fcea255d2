"""Hand-made cohorts for the analysis tests (no registry needed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from myositis.cohort.build import AttritionStep, CohortResult, Patient
from myositis.cohort.definition import CohortDefinition

INDEX = dt.date(2020, 1, 1)
CUTOFF = dt.date(2025, 6, 30)


def patient(pid: int, **fields: Any) -> Patient:
    """A cohort member with plausible defaults (baseline 30, follow-up 10 at day 180: a
    responder)."""
    values: dict[str, Any] = {
        "person_id": pid,
        "site": "site-a",
        "sex": "F",
        "race": "White",
        "ethnicity": None,
        "age_at_index": 50,
        "subtype": "amyopathic",
        "index_date": INDEX,
        "ingredient": "tofacitinib",
        "first_diagnosis_date": dt.date(2018, 1, 1),
        "baseline_date": INDEX,
        "baseline_days": 0,
        "baseline_activity": 30.0,
        "followup_date": INDEX + dt.timedelta(days=180),
        "followup_days": 180,
        "followup_activity": 10.0,
        "followup_count": 2,
        "last_followup_days": 180,
        "responder": True,
        "response_days": 30,
    }
    values.update(fields)
    return Patient(**values)


_ids = iter(range(1, 1_000_000))


def exposure(
    pid: int,
    ingredient: str,
    start: int,
    end: int | None,
    dose: float,
    frequency: str = "QD",
    formulation: str = "IR",
    unit: str = "mg",
) -> dict[str, Any]:
    """A drug_exposure row with start/end given as days from INDEX (end None = open)."""
    return {
        "exposure_id": next(_ids),
        "person_id": pid,
        "ingredient": ingredient,
        "code_system": "LOCAL",
        "code": ingredient,
        "start_date": INDEX + dt.timedelta(days=start),
        "end_date": None if end is None else INDEX + dt.timedelta(days=end),
        "dose": dose,
        "dose_unit": unit,
        "frequency": frequency,
        "formulation": formulation,
        "route": "oral",
    }


def cohort(
    patients: list[Patient], definition: CohortDefinition | None = None, **records: Any
) -> CohortResult:
    """A built cohort of the given patients and records (empty by default), from the default
    cohort definition unless one is given."""
    values: dict[str, Any] = {
        "definition": definition or CohortDefinition(),
        "attrition": [AttritionStep(1, "all", "all", len(patients), 0)],
        "patients": patients,
        "cdasi_series": {},
        "jak_exposures": [],
        "therapies": [],
        "adverse_events": [],
        "pruritus": [],
        "labs": [],
        "mmt8": [],
        "data_cutoff": CUTOFF,
        "unscorable_cdasi": 0,
    }
    values.update(records)
    return CohortResult(**values)

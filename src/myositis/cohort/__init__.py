"""myositis.cohort: who is in a cohort (the definition) and who is, on a registry (the built
result with its attrition table).

Public API::

    from myositis.cohort import CohortDefinition, build_cohort
    result = build_cohort(connect("registry.duckdb"), CohortDefinition())
    result.attrition, result.patients
"""

from myositis.cohort.build import AttritionStep, CohortResult, Patient, build_cohort
from myositis.cohort.cdasi_activity import cdasi_activity
from myositis.cohort.definition import CohortDefinition, ResponseRule, Window

__all__ = [
    "AttritionStep",
    "CohortDefinition",
    "CohortResult",
    "Patient",
    "ResponseRule",
    "Window",
    "build_cohort",
    "cdasi_activity",
]

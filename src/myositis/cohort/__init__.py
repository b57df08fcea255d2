"""myositis.cohort: a study's cohort built from a registry with Ibis, with its attrition table.

Public API::

    from myositis.cohort import build_cohort
    cohort = build_cohort(open_registry(path), load_spec(spec_path))
    cohort.attrition, cohort.patients
"""

from myositis.cohort.builder import AttritionStep, Cohort, Patient, build_cohort
from myositis.cohort.cdasi_activity import cdasi_activity

__all__ = ["AttritionStep", "Cohort", "Patient", "build_cohort", "cdasi_activity"]

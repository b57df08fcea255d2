"""myositis.cohort: who is in a cohort (the definition) and who is, on a registry (the built
result with its attrition table).

Public API::

    from myositis.cohort import CohortDefinition, build_cohort
    result = build_cohort(connect("registry.duckdb"), CohortDefinition())
    result.attrition, result.patients

    # the cohort language (docs/cohort-language.md): one compiled query per cohort
    from myositis.cohort import load_cohort, run_cohort
    run = run_cohort(connect("registry.duckdb"), load_cohort("cohort.yaml"))
    run.attrition, run.members

    # an ATLAS cohort definition (docs/atlas.md), or any cohort file (YAML or ATLAS JSON)
    from myositis.cohort import read_atlas, read_cohort_file
    imported = read_atlas(Path("gi_bleed.json"))
    imported.cohort, imported.notes
"""

from myositis.cohort.atlas import AtlasImport, read_atlas, translate_atlas
from myositis.cohort.build import AttritionStep, CohortResult, Patient, build_cohort
from myositis.cohort.cdasi_activity import cdasi_activity
from myositis.cohort.compile import CompiledCohort, compile_cohort
from myositis.cohort.definition import CohortDefinition, ResponseRule, Window
from myositis.cohort.files import read_cohort_file
from myositis.cohort.language import Cohort
from myositis.cohort.run import CohortRun, load_cohort, run_cohort

__all__ = [
    "AtlasImport",
    "AttritionStep",
    "Cohort",
    "CohortDefinition",
    "CohortRun",
    "CompiledCohort",
    "CohortResult",
    "Patient",
    "ResponseRule",
    "Window",
    "build_cohort",
    "cdasi_activity",
    "compile_cohort",
    "load_cohort",
    "read_atlas",
    "read_cohort_file",
    "run_cohort",
    "translate_atlas",
]

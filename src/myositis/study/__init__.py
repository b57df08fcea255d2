"""myositis.study: a declarative study (a cohort definition and analysis options in one YAML
file) and the runner that executes it on a registry and writes its report.

Public API::

    from myositis.study import load_spec, run_study
    spec = load_spec("studies/jak-refractory-dm.yaml")
    run = run_study("studies/jak-refractory-dm.yaml", "examples/min2022", "out")
    run.report, run.results_json, run.results["cdasi"]
"""

from __future__ import annotations

from myositis.study.demo import run_demo
from myositis.study.runner import StudyRun, run_study
from myositis.study.spec import StudySpec, bundled_spec_path, load_spec, spec_from_mapping

__all__ = [
    "StudyRun",
    "StudySpec",
    "bundled_spec_path",
    "load_spec",
    "run_demo",
    "run_study",
    "spec_from_mapping",
]

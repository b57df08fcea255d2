"""myositis.study: declarative study specifications and the runner that executes them.

Public API::

    from myositis.study import load_spec, run_study
    spec = load_spec("studies/jak-refractory-dm.yaml")
    run = run_study("studies/jak-refractory-dm.yaml", "examples/min2022", "out")
    run.report, run.results_json, run.results["cdasi"]

``run_study`` and ``run_demo`` are imported on first use: the runner imports the cohort,
analysis and report parts, which themselves read the specification types from here.
"""

from __future__ import annotations

from typing import Any

from myositis.study.spec import StudySpec, bundled_spec_path, load_spec, spec_from_mapping

__all__ = [
    "StudySpec",
    "bundled_spec_path",
    "load_spec",
    "run_demo",
    "run_study",
    "spec_from_mapping",
]


def __getattr__(name: str) -> Any:
    if name == "run_study":
        from myositis.study.runner import run_study

        return run_study
    if name == "run_demo":
        from myositis.study.demo import run_demo

        return run_demo
    raise AttributeError(f"module 'myositis.study' has no attribute {name!r}")

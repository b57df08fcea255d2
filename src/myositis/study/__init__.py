"""myositis.study: a declarative study (a cohort definition and analysis options in one YAML
file) and the runner that executes it on a registry and writes its report.

Public API::

    from myositis.study import load_spec, run_study
    spec = load_spec("studies/jak-refractory-dm.yaml")
    run = run_study("studies/jak-refractory-dm.yaml", "examples/min2022", "out")
    run.report, run.results_json, run.results["cdasi"]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from myositis.study.demo import run_demo
    from myositis.study.runner import StudyRun, run_study
    from myositis.study.spec import StudySpec, bundled_spec_path, load_spec, spec_from_mapping

#: Where each name of the public API is defined. Imported when first used (PEP 562), so that
#: reading a specification (``myositis.study.spec``) does not import the runner, which
#: imports every analysis and the report (SciPy, statsmodels, lifelines, matplotlib: about
#: 2 s of a command's start on these machines).
_DEFINED_IN = {
    "run_demo": "demo",
    "StudyRun": "runner",
    "run_study": "runner",
    "StudySpec": "spec",
    "bundled_spec_path": "spec",
    "load_spec": "spec",
    "spec_from_mapping": "spec",
}


def __getattr__(name: str) -> Any:
    if name not in _DEFINED_IN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_DEFINED_IN[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_DEFINED_IN])


__all__ = [
    "StudyRun",
    "StudySpec",
    "bundled_spec_path",
    "load_spec",
    "run_demo",
    "run_study",
    "spec_from_mapping",
]

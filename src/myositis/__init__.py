"""myositis-outcomes: clinical outcomes research for dermatomyositis and the myopathies.

Data flows one way: ``sources -> registry -> cohort -> analysis -> report``; ``instruments``
(CDASI, TIS, IMACS DOI, MMT-8, HAQ-DI/CHAQ) are used everywhere, ``evidence`` and ``trial``
build on top.
"""

from __future__ import annotations

from myositis.errors import (
    EmptyStepError,
    EvidenceError,
    InputProblem,
    InvalidInputError,
    MissingColumnError,
    MyositisError,
    RegistryError,
    SitePackageError,
    SourceError,
    SpecError,
    TrialDesignError,
)

__version__ = "0.1.0"

__all__ = [
    "EmptyStepError",
    "EvidenceError",
    "InputProblem",
    "InvalidInputError",
    "MissingColumnError",
    "MyositisError",
    "RegistryError",
    "SitePackageError",
    "SourceError",
    "SpecError",
    "TrialDesignError",
    "__version__",
]

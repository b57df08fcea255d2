"""The declarative study specification: a versioned YAML file, validated with clear errors.

A specification composes a cohort definition (:mod:`myositis.cohort.definition`: diagnosis
and exposure code sets, the index date, the baseline and follow-up assessment windows) and the
analysis options (:mod:`myositis.analysis.options`: MCID, response definition, time windows,
small-cell threshold), under a study identity and a format version. Every field, its
default and a worked example are documented in ``docs/study-spec.md``.

Validation is strict: an unknown field, an unknown code system or code-set role, or a window
that cannot be satisfied (start after end, a baseline after the index, a follow-up that
overlaps the baseline) raises :class:`myositis.errors.SpecError` naming the field path
(``cohort.baseline.window_days.start``), the value and what is allowed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from myositis.analysis.options import AnalysisOptions
from myositis.cohort.definition import CohortDefinition, Strict
from myositis.cohort.language import Cohort
from myositis.cohort.translate import from_definition
from myositis.documents import read_yaml, validate
from myositis.errors import SpecError

#: Newest version of the specification format; every version in SPEC_FORMAT_VERSIONS is read.
SPEC_FORMAT_VERSION: Final = 2
#: Format 1: the cohort section is a :class:`CohortDefinition` (diagnosis, exposure, windows);
#: format 2: it is a cohort of the cohort language (:class:`myositis.cohort.language.Cohort`).
SPEC_FORMAT_VERSIONS: Final = (1, 2)


class StudyInfo(Strict):
    """Who and what: identifier, version, title and the design's published source."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$")]
    version: str
    title: str
    description: str = ""
    design_source: str = ""


class StudySpec(Strict):
    """A complete, validated study specification (format 1: :class:`StudySpecV1`; format 2:
    :class:`StudySpecV2`)."""

    spec_version: Literal[1, 2]
    study: StudyInfo
    cohort: CohortDefinition | Cohort = CohortDefinition()
    analysis: AnalysisOptions = AnalysisOptions()

    def cohort_language(self) -> Cohort:
        """The cohort in the cohort language: format 2's as written, format 1's translated
        (:func:`myositis.cohort.translate.from_definition`: same persons, index dates and
        attrition)."""
        if isinstance(self.cohort, Cohort):
            return self.cohort
        return from_definition(self.cohort)

    def canonical(self) -> dict[str, Any]:
        """Every field with its value (defaults filled in), as plain JSON types."""
        return self.model_dump(mode="json")

    def sha256(self) -> str:
        """SHA-256 of the canonical JSON (sorted keys) of the validated specification.

        Formatting and comments of the YAML file do not change it; any value (including a
        changed default) does.
        """
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StudySpecV1(StudySpec):
    """Format 1: the cohort section is a :class:`CohortDefinition`. Its canonical JSON, and so
    its hash, is the one format 1 always had."""

    spec_version: Literal[1]
    cohort: CohortDefinition = CohortDefinition()


class StudySpecV2(StudySpec):
    """Format 2: the cohort section is a cohort of the cohort language
    (docs/cohort-language.md)."""

    spec_version: Literal[2]
    cohort: Cohort


def spec_from_mapping(data: Any, *, source: str = "specification") -> StudySpec:
    """Validate a parsed specification; raise :class:`SpecError` listing every problem."""
    model: type[StudySpec] = StudySpecV1
    if isinstance(data, dict):
        version = data.get("spec_version")
        if version is not None and version not in SPEC_FORMAT_VERSIONS:
            raise SpecError(
                f"{source}: spec_version {version!r} is not supported; this software reads "
                f"spec_version {' and '.join(map(str, SPEC_FORMAT_VERSIONS))}"
            )
        if version == 2:
            model = StudySpecV2
    return validate(
        model, data, source=source, what="study specification", docs="docs/study-spec.md"
    )


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a YAML study specification file.

    A bare name without a suffix that is not a file (``jak-refractory-dm``) names a study
    bundled with the package, so an installed copy runs it from any directory.
    """
    source = Path(path)
    if not source.exists() and not source.suffix and source.name == str(path):
        with contextlib.suppress(SpecError):  # not bundled either: the error below says so
            source = bundled_spec_path(source.name)
    if not source.exists():
        raise SpecError(
            f"{source}: no such study specification file; give the path of a YAML file, or "
            f"the name of a bundled study: {', '.join(bundled_spec_names())}"
        )
    data = read_yaml(source, what="study specification")
    return spec_from_mapping(data, source=str(source))


def _bundled_folders() -> list[Path]:
    """Where bundled specifications live: the package data (installed wheels), then the
    source tree."""
    from importlib.resources import files

    return [
        Path(str(files("myositis.study").joinpath("studies"))),
        Path(__file__).resolve().parents[3] / "studies",
    ]


def bundled_spec_names() -> list[str]:
    """Names of the bundled specifications (``studies/<name>.yaml``)."""
    return sorted({p.stem for folder in _bundled_folders() for p in folder.glob("*.yaml")})


def bundled_spec_path(name: str = "jak-refractory-dm") -> Path:
    """Path of a specification bundled with the project (``studies/<name>.yaml``).

    Looked up in the package data first (installed wheels), then in the source tree.
    """
    candidates = [folder / f"{name}.yaml" for folder in _bundled_folders()]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    looked = " and ".join(str(c) for c in candidates)
    raise SpecError(f"no bundled study named {name!r} (looked in {looked})")


__all__ = [
    "SPEC_FORMAT_VERSION",
    "SPEC_FORMAT_VERSIONS",
    "StudySpec",
    "StudySpecV1",
    "StudySpecV2",
    "bundled_spec_names",
    "bundled_spec_path",
    "load_spec",
    "spec_from_mapping",
]

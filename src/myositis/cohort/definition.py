"""The cohort definition: entry diagnosis, qualifying exposure, index date and the assessment
windows around it (OHDSI/i2b2 style), as validated, immutable models.

A definition says *who* is in a cohort and *which* assessments count; it knows nothing of the
analyses run on it or of the study file it came from. ``myositis.study`` reads it from the
``cohort`` section of a study specification; ``myositis.cohort.build`` runs it on a registry.

Validation is strict: an unknown field, an unknown code system or code-set role, or a window
that cannot be satisfied (start after end, a baseline after the index, a follow-up that
overlaps the baseline) is refused with the field and what is allowed.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from myositis.codes import ICD_SYSTEMS, normalise_icd, roles
from myositis.errors import InvalidInputError
from myositis.registry.schema import CODE_SYSTEMS


class Strict(BaseModel):
    """Base of the definition models: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeRef(Strict):
    """One code of a named code system (``registry.schema.CODE_SYSTEMS``)."""

    system: str
    code: str

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        if value not in CODE_SYSTEMS:
            raise ValueError(
                f"unknown code system {value!r}; known systems: {', '.join(CODE_SYSTEMS)}"
            )
        return value

    @field_validator("code")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a code cannot be empty")
        return value.strip()

    @model_validator(mode="after")
    def _readable_icd(self) -> Self:
        # an ICD code is matched dotted or undotted (codes.md): one the rule cannot read
        # matches nothing, so it is refused here, where the message names the field
        if self.system in ICD_SYSTEMS:
            try:
                normalise_icd(self.code, system=self.system)
            except InvalidInputError as error:
                raise ValueError(f"{self.code!r} {error.problems[0].reason}") from None
        return self


def _check_roles(values: list[str]) -> list[str]:
    known = roles()
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(
            f"unknown code set role(s) {', '.join(map(repr, unknown))}; "
            f"known roles: {', '.join(known)}"
        )
    return values


class Diagnosis(Strict):
    """Entry criterion: persons with a diagnosis code of the code sets (or extra codes)."""

    label: str = "Dermatomyositis diagnosis"
    codesets: list[str] = Field(default_factory=lambda: ["dm_diagnosis"])
    codes: list[CodeRef] = Field(default_factory=list)
    exclude_codes: list[CodeRef] = Field(default_factory=list)
    min_occurrences: Annotated[int, Field(ge=1)] = 1

    @field_validator("codesets")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        return _check_roles(value)

    @model_validator(mode="after")
    def _something(self) -> Diagnosis:
        if not self.codesets and not self.codes:
            raise ValueError("give at least one code set role (codesets) or code (codes)")
        return self


class Exposure(Strict):
    """Qualifying exposure: a drug of the code sets or named ingredients, minus exclusions."""

    label: str = "Systemic JAK inhibitor"
    codesets: list[str] = Field(default_factory=lambda: ["jak_inhibitor"])
    codes: list[CodeRef] = Field(default_factory=list)
    ingredients: list[str] = Field(default_factory=list)
    exclude_codesets: list[str] = Field(default_factory=lambda: ["jak_topical_exclude"])
    exclude_formulations: list[str] = Field(default_factory=lambda: ["TOP"])
    exclude_routes: list[str] = Field(default_factory=lambda: ["topical"])

    @field_validator("codesets", "exclude_codesets")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        return _check_roles(value)

    @field_validator("ingredients")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]

    @model_validator(mode="after")
    def _something(self) -> Exposure:
        if not (self.codesets or self.codes or self.ingredients):
            raise ValueError("give at least one of codesets, codes or ingredients")
        return self


class Window(Strict):
    """Days relative to the index date, both ends included (negative = before the index)."""

    start: int
    end: int

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start > self.end:
            raise ValueError(
                f"impossible window: start ({self.start}) is after end ({self.end}); "
                "start must be the earlier day"
            )
        return self

    def describe(self) -> str:
        return f"day {self.start:+d} to day {self.end:+d} of the index date"

    def contains(self, day: int) -> bool:
        """Whether ``day`` (days from the index) lies inside the window."""
        return self.start <= day <= self.end


class Baseline(Strict):
    """The baseline assessment: the one closest to the index inside the window."""

    instrument: Literal["cdasi"] = "cdasi"
    measure: Literal["activity"] = "activity"
    window_days: Window = Window(start=-30, end=0)

    @model_validator(mode="after")
    def _before_index(self) -> Baseline:
        if self.window_days.end > 0:
            raise ValueError(
                f"impossible baseline window: it ends on day {self.window_days.end}, after the "
                "index date; a baseline must be on or before the index (end <= 0)"
            )
        return self


class FollowUp(Strict):
    """Follow-up assessments inside the window; ``use`` picks the one for the change."""

    window_days: Window = Window(start=1, end=1461)
    use: Literal["last", "first", "best"] = "last"

    @model_validator(mode="after")
    def _after_index(self) -> FollowUp:
        if self.window_days.start < 1:
            raise ValueError(
                f"impossible follow-up window: it starts on day {self.window_days.start}; "
                "follow-up must be after the index date (start >= 1)"
            )
        return self


class CohortDefinition(Strict):
    """Who is in the cohort: entry diagnosis, qualifying exposure, the index date (first start
    of a qualifying exposure) and the baseline and follow-up assessment windows around it."""

    diagnosis: Diagnosis = Diagnosis()
    exposure: Exposure = Exposure()
    index: Literal["first_exposure"] = "first_exposure"
    baseline: Baseline = Baseline()
    followup: FollowUp = FollowUp()

    @model_validator(mode="after")
    def _windows_do_not_overlap(self) -> CohortDefinition:
        base, follow = self.baseline.window_days, self.followup.window_days
        if follow.start <= base.end:
            raise ValueError(
                f"impossible windows: follow-up starts on day {follow.start}, not after the "
                f"baseline window's end (day {base.end})"
            )
        return self


class ResponseRule(Strict):
    """Clinically meaningful improvement of the outcome between baseline and a follow-up:
    a fall of at least ``mcid`` points, or, when ``percent`` is set, of at least ``percent``
    per cent of the baseline value (``myositis.instruments.cdasi.response``)."""

    mcid: Annotated[float, Field(gt=0)] = 5
    percent: Annotated[float, Field(gt=0, le=100)] | None = None


__all__ = [
    "Baseline",
    "CodeRef",
    "CohortDefinition",
    "Diagnosis",
    "Exposure",
    "FollowUp",
    "ResponseRule",
    "Strict",
    "Window",
]

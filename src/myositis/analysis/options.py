"""Options of the study analyses: the MCID and response definition, time windows, confidence
level, small-cell threshold, subtype groups, the systemic therapies counted, the label dose
compared against, and the pruritus and myositis outcomes.

Every field, its default and a worked example are documented in ``docs/study-spec.md`` (the
``analysis`` section of a study specification).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, field_validator, model_validator

from myositis.cohort.definition import ResponseRule, Strict
from myositis.registry.schema import DM_SUBTYPES

#: Days per month used to express days in months (365.25 / 12), stated in every report.
DAYS_PER_MONTH_DEFAULT: Final = 30.4375

#: Systemic therapies of dermatomyositis counted as prior or concomitant (lower-case
#: ingredients as in ``drug_exposure.ingredient``); the seed's list of previous therapies.
DM_SYSTEMIC_THERAPIES: Final = (
    "hydroxychloroquine",
    "prednisone",
    "methotrexate",
    "mycophenolate mofetil",
    "immune globulin",
    "lenalidomide",
    "isotretinoin",
    "dapsone",
    "azathioprine",
    "rituximab",
    "thalidomide",
    "quinacrine",
    "cyclosporine",
    "infliximab",
    "tacrolimus",
    "leflunomide",
    "apremilast",
)


class Response(Strict):
    """Response definition: an absolute fall of at least ``mcid`` points, or a relative fall
    of at least ``percent`` per cent of the baseline value."""

    definition: Literal["absolute", "relative"] = "absolute"
    percent: Annotated[float, Field(gt=0, le=100)] | None = None

    @model_validator(mode="after")
    def _percent(self) -> Response:
        if self.definition == "relative" and self.percent is None:
            raise ValueError("a relative response definition needs 'percent'")
        if self.definition == "absolute" and self.percent is not None:
            raise ValueError("'percent' belongs to definition: relative (absolute uses mcid)")
        return self


class LabelDose(Strict):
    """Which label dose the dose analysis compares against (``myositis.codes.label_dose``)."""

    indication: str = "RA"
    region: str = "US"


class Myositis(Strict):
    """Resolution of active myositis among patients with active muscle disease at baseline."""

    active_subtypes: list[str] = Field(default_factory=lambda: ["classic_active_myositis"])
    ck_test: str = "ck"
    mmt8_min: Annotated[float, Field(ge=0, le=150)] | None = None

    @field_validator("active_subtypes")
    @classmethod
    def _subtypes(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in DM_SUBTYPES]
        if unknown:
            raise ValueError(f"unknown subtype(s) {unknown}; known: {', '.join(DM_SUBTYPES)}")
        return value


def _default_groups() -> dict[str, list[str]]:
    return {subtype: [subtype] for subtype in DM_SUBTYPES}


class AnalysisOptions(Strict):
    """Options of the analyses of a study (the ``analysis`` section of a specification)."""

    mcid: Annotated[float, Field(gt=0)] = 5
    response: Response = Response()
    days_per_month: Annotated[float, Field(gt=0)] = DAYS_PER_MONTH_DEFAULT
    response_windows_months: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [1.0, 1.5, 2.0]
    )
    conf_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    small_cell_threshold: Annotated[int, Field(ge=1)] = 5
    subtype_groups: dict[str, list[str]] = Field(default_factory=_default_groups)
    systemic_therapies: list[str] = Field(default_factory=lambda: list(DM_SYSTEMIC_THERAPIES))
    monotherapy_at: Literal["end_of_treatment", "index"] = "end_of_treatment"
    label_dose: LabelDose = LabelDose()
    pruritus_instrument: str = "pruritus_nrs"
    pruritus_measure: str = "score"
    myositis: Myositis = Myositis()

    @field_validator("response_windows_months")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if not value:
            raise ValueError("give at least one time window")
        if any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError(f"time windows must increase strictly, got {value}")
        return value

    @field_validator("subtype_groups")
    @classmethod
    def _groups(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        seen: dict[str, str] = {}
        for group, members in value.items():
            if not members:
                raise ValueError(f"subtype group {group!r} is empty")
            for subtype in members:
                if subtype not in DM_SUBTYPES:
                    raise ValueError(
                        f"subtype group {group!r}: unknown subtype {subtype!r}; "
                        f"known: {', '.join(DM_SUBTYPES)}"
                    )
                if subtype in seen:
                    raise ValueError(
                        f"subtype {subtype!r} is in two groups ({seen[subtype]!r}, {group!r})"
                    )
                seen[subtype] = group
        return value

    @field_validator("systemic_therapies")
    @classmethod
    def _ingredients(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]

    def response_rule(self) -> ResponseRule:
        """The response rule the cohort applies at each follow-up (MCID or percent)."""
        return ResponseRule(mcid=self.mcid, percent=self.response.percent)

    def subtype_group(self, subtype: str | None) -> str:
        """The group label of a subtype ('unclassified' when no group holds it)."""
        for group, members in self.subtype_groups.items():
            if subtype in members:
                return group
        return "unclassified"


__all__ = [
    "DAYS_PER_MONTH_DEFAULT",
    "DM_SYSTEMIC_THERAPIES",
    "AnalysisOptions",
    "LabelDose",
    "Myositis",
    "Response",
]

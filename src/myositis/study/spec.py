"""The declarative study specification: a versioned YAML file, validated with clear errors.

A specification states the cohort (diagnosis and exposure code sets, the index date, the
baseline and follow-up assessment windows relative to the index), the outcome and the analysis
options (MCID, response definition, time windows, small-cell threshold). Every field, its
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

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from myositis.codes import roles
from myositis.errors import SpecError
from myositis.registry.schema import CODE_SYSTEMS, DM_SUBTYPES

#: Version of the specification format this software reads.
SPEC_FORMAT_VERSION: Final = 1

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeRef(_Strict):
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


def _check_roles(values: list[str]) -> list[str]:
    known = roles()
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(
            f"unknown code set role(s) {', '.join(map(repr, unknown))}; "
            f"known roles: {', '.join(known)}"
        )
    return values


class Diagnosis(_Strict):
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


class Exposure(_Strict):
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


class Window(_Strict):
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


class Baseline(_Strict):
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


class FollowUp(_Strict):
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


class Cohort(_Strict):
    """Cohort definition (OHDSI/i2b2 style): entry, exposure, index and assessment windows."""

    diagnosis: Diagnosis = Diagnosis()
    exposure: Exposure = Exposure()
    index: Literal["first_exposure"] = "first_exposure"
    baseline: Baseline = Baseline()
    followup: FollowUp = FollowUp()


class Response(_Strict):
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


class LabelDose(_Strict):
    """Which label dose the dose analysis compares against (``myositis.codes.label_dose``)."""

    indication: str = "RA"
    region: str = "US"


class Myositis(_Strict):
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


class Analysis(_Strict):
    """Analysis options."""

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


class StudyInfo(_Strict):
    """Who and what: identifier, version, title and the design's published source."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$")]
    version: str
    title: str
    description: str = ""
    design_source: str = ""


class StudySpec(_Strict):
    """A complete, validated study specification."""

    spec_version: Literal[1]
    study: StudyInfo
    cohort: Cohort = Cohort()
    analysis: Analysis = Analysis()

    @model_validator(mode="after")
    def _windows_do_not_overlap(self) -> StudySpec:
        base, follow = self.cohort.baseline.window_days, self.cohort.followup.window_days
        if follow.start <= base.end:
            raise ValueError(
                f"impossible windows: follow-up starts on day {follow.start}, not after the "
                f"baseline window's end (day {base.end})"
            )
        return self

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


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith("function-") or item in ("function-after", "function-before"):
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(top level)"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; docs/study-spec.md lists every field)"
    if kind == "missing":
        return "required field is missing"
    text = str(error["msg"])
    return text.removeprefix("Value error, ")


def spec_from_mapping(data: Any, *, source: str = "specification") -> StudySpec:
    """Validate a parsed specification; raise :class:`SpecError` listing every problem."""
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a study specification is a YAML mapping (key: value lines), "
            f"got {type(data).__name__}"
        )
    version = data.get("spec_version")
    if version is not None and version != SPEC_FORMAT_VERSION:
        raise SpecError(
            f"{source}: spec_version {version!r} is not supported; this software reads "
            f"spec_version {SPEC_FORMAT_VERSION}"
        )
    try:
        return StudySpec.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = _location(tuple(error["loc"]))
            value = error.get("input")
            shown = "" if error["type"] == "missing" or isinstance(value, dict) else f" {value!r}"
            lines.append(f"  - {where}:{shown} {_message(error)}")
        raise SpecError(
            f"{source}: the study specification is not valid ({len(lines)} problem(s)):\n"
            + "\n".join(lines)
            + "\nFix these fields and run again; docs/study-spec.md documents every field."
        ) from None


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a YAML study specification file.

    A bare name without a suffix that is not a file (``jak-refractory-dm``) names a study
    bundled with the package, so an installed copy runs it from any directory.
    """
    source = Path(path)
    if not source.exists() and not source.suffix and source.name == str(path):
        with contextlib.suppress(SpecError):  # not bundled either: the error below says so
            source = bundled_spec_path(source.name)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            f"{source}: no such study specification file; give the path of a YAML file, or "
            f"the name of a bundled study: {', '.join(bundled_spec_names())}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{source}: cannot be read as UTF-8 text ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{source}: not valid YAML{where}: {problem}") from None
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
    "DAYS_PER_MONTH_DEFAULT",
    "DM_SYSTEMIC_THERAPIES",
    "SPEC_FORMAT_VERSION",
    "StudySpec",
    "bundled_spec_names",
    "bundled_spec_path",
    "load_spec",
    "spec_from_mapping",
]

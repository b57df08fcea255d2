"""The trial specification: a versioned YAML file, validated strictly and hashed.

A trial specification states the design (arms and allocation ratio, randomisation strata and
method), the visit schedule with its windows, the protocol prednisone taper as data, the
endpoints, the intercurrent-event strategies with the estimand in words, the planned analysis
and the assumptions used to simulate the trial. ``docs/trial.md`` documents every field; the
bundled example ``data/bird.yaml`` states the BIRD trial (NCT04972760).

Validation follows the study specification (:mod:`myositis.study.spec`): an unknown field, a
value of the wrong type or out of range, a taper that never reaches zero, a visit window that
overlaps the next visit or an endpoint at a visit that is not in the schedule raises
:class:`myositis.errors.SpecError` listing every problem with its field path
(``prednisone_taper.steps[3].dose_mg``), the value and what is allowed, in plain words.

The allocation seed is deliberately **not** part of the specification: the specification is
shared with blinded staff, and anyone holding the seed could regenerate the allocation list.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from myositis.errors import SpecError

#: Version of the trial specification format this software reads.
TRIAL_SPEC_VERSION: Final = 1

#: Default half-width of a visit window, in days (the issue: +/- 7 days).
DEFAULT_WINDOW_DAYS: Final = 7

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TrialInfo(_Strict):
    """Identity of the trial and where its design comes from."""

    id: Name
    version: str
    title: str
    registration: str = ""
    design_source: str = ""
    synthetic_assumptions: str = ""


class Arm(_Strict):
    """One arm: a short name used in data and allocation lists, and a label for reports."""

    name: Name
    label: str
    control: bool = False


class Allocation(_Strict):
    """How patients are allocated: stratified permuted blocks (random block sizes) or
    Pocock-Simon minimisation over the stratification factors."""

    method: Literal["permuted_blocks", "minimisation"] = "permuted_blocks"
    ratio: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1, 1])
    block_sizes: list[Annotated[int, Field(ge=2)]] = Field(default_factory=lambda: [4, 6])
    minimisation_p: Annotated[float, Field(gt=0.5, le=1)] = 0.8


class Strata(_Strict):
    """Stratification factors and their levels; the strata are every combination, named
    ``level/level`` in the order of the factors."""

    factors: dict[Name, list[Name]]

    @field_validator("factors")
    @classmethod
    def _levels(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not value:
            raise ValueError("give at least one stratification factor")
        for factor, levels in value.items():
            if len(levels) < 2 or len(set(levels)) != len(levels):
                raise ValueError(f"factor {factor!r}: give two or more distinct levels")
        return value

    def names(self) -> list[str]:
        """Every stratum, as ``level/level`` in factor order."""
        return ["/".join(c) for c in itertools.product(*self.factors.values())]


class Visit(_Strict):
    """A scheduled visit: day after randomisation (day 0) and its window in days."""

    name: Name
    day: Annotated[int, Field(ge=0)]
    window_before: Annotated[int, Field(ge=0)] = DEFAULT_WINDOW_DAYS
    window_after: Annotated[int, Field(ge=0)] = DEFAULT_WINDOW_DAYS

    def contains(self, day: int) -> bool:
        return self.day - self.window_before <= day <= self.day + self.window_after


class TaperStep(_Strict):
    """From ``from_day`` (days after randomisation) on, the protocol daily prednisone dose."""

    from_day: Annotated[int, Field(ge=0)]
    dose_mg: Annotated[float, Field(ge=0)]


class Taper(_Strict):
    """The protocol prednisone taper: steps of a daily dose that falls to zero."""

    ingredient: str = "prednisone"
    steps: list[TaperStep]
    tolerance_mg: Annotated[float, Field(ge=0)] = 0.0

    @model_validator(mode="after")
    def _reaches_zero(self) -> Taper:
        if not self.steps:
            raise ValueError("give the taper's steps (from_day, dose_mg), ending at 0 mg")
        if self.steps[0].from_day != 0:
            raise ValueError(
                f"the first step starts on day {self.steps[0].from_day}; the taper must start "
                "on day 0 (randomisation)"
            )
        for before, after in itertools.pairwise(self.steps):
            if after.from_day <= before.from_day:
                raise ValueError(
                    f"step days must increase: day {after.from_day} follows day {before.from_day}"
                )
            if after.dose_mg > before.dose_mg:
                raise ValueError(
                    f"a taper cannot rise: {after.dose_mg} mg from day {after.from_day} is more "
                    f"than {before.dose_mg} mg before it"
                )
        if self.steps[-1].dose_mg != 0:
            raise ValueError(
                f"the taper does not reach zero: its last step gives {self.steps[-1].dose_mg} mg "
                f"from day {self.steps[-1].from_day}; add a final step with dose_mg: 0"
            )
        return self

    @property
    def zero_day(self) -> int:
        """First day of the protocol on which the scheduled dose is 0 mg."""
        return next(s.from_day for s in self.steps if s.dose_mg == 0)

    def dose_on(self, day: int) -> float:
        """Scheduled daily dose on ``day`` after randomisation (the last step before it)."""
        dose = self.steps[0].dose_mg
        for step in self.steps:
            if step.from_day <= day:
                dose = step.dose_mg
        return dose


class Endpoint(_Strict):
    """An endpoint at a visit: a TIS threshold (optionally prednisone-free) or the IMACS DOI."""

    name: Name
    kind: Literal["tis", "doi"]
    visit: Name
    primary: bool = False
    tis_at_least: Annotated[float, Field(ge=0, le=100)] | None = None
    prednisone_free_days: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _fields(self) -> Endpoint:
        if self.kind == "tis" and self.tis_at_least is None:
            raise ValueError("a TIS endpoint needs tis_at_least (40 for moderate improvement)")
        if self.kind == "doi" and self.tis_at_least is not None:
            raise ValueError("tis_at_least belongs to kind: tis, not to the DOI")
        return self


Strategy = Literal["non_responder", "treatment_policy"]


class IntercurrentEvents(_Strict):
    """How each intercurrent event is handled (ICH E9(R1)); non-responder by default, the
    composite strategy. ``treatment_policy`` uses the observed outcome whatever happened."""

    dropout: Literal["non_responder"] = "non_responder"
    rescue_therapy: Strategy = "non_responder"
    prednisone_restarted: Strategy = "non_responder"
    missing_visit: Literal["non_responder"] = "non_responder"
    rescue_ingredients: list[str] = Field(default_factory=list)
    estimand: str

    @field_validator("rescue_ingredients")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]

    @field_validator("estimand")
    @classmethod
    def _stated(cls, value: str) -> str:
        if len(value.split()) < 8:
            raise ValueError(
                "state the estimand in words (population, variable, intercurrent events, "
                "summary measure); reports print it"
            )
        return " ".join(value.split())


class Analysis(_Strict):
    """The planned analysis of the primary endpoint (all randomised patients)."""

    population: Literal["all_randomised"] = "all_randomised"
    primary_test: Literal["cmh", "fisher", "logistic"] = "cmh"
    cmh_correct: bool = True
    interval: Literal["newcombe"] = "newcombe"
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    conf_level: Annotated[float, Field(gt=0, lt=1)] = 0.95


class Simulation(_Strict):
    """Assumptions for simulating the trial's operating characteristics."""

    patients: Annotated[int, Field(ge=4)]
    response_rates: dict[Name, Annotated[float, Field(ge=0, le=1)]]
    level_shares: dict[Name, dict[Name, Annotated[float, Field(gt=0)]]] = Field(
        default_factory=dict
    )
    dropout_rate: Annotated[float, Field(ge=0, lt=1)] = 0.0
    trials: Annotated[int, Field(ge=100)] = 10_000
    seed: int = 1


class DataChecks(_Strict):
    """What a data problem does to the endpoint derivation: ``error`` stops it (exit status 2,
    nothing written), ``flag`` lists it among the problems and carries on (the visit counts as
    missing). Checked: an assessment outside every visit window, and a visit that has some but
    not all of the core set measures (a visit with no assessment at all is a missed visit,
    handled by the ``missing_visit`` strategy, not an error)."""

    outside_window: Literal["error", "flag"] = "flag"
    missing_measure: Literal["error", "flag"] = "flag"


class TrialSpec(_Strict):
    """A complete, validated trial specification."""

    spec_version: Literal[1]
    trial: TrialInfo
    population: Literal["adult", "juvenile"] = "adult"
    arms: list[Arm]
    allocation: Allocation = Allocation()
    strata: Strata | None = None
    visits: list[Visit]
    mmt8_max: Literal[80, 150] = 150
    prednisone_taper: Taper | None = None
    endpoints: list[Endpoint]
    intercurrent_events: IntercurrentEvents
    analysis: Analysis = Analysis()
    data_checks: DataChecks = DataChecks()
    simulation: Simulation | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TrialSpec:
        problems: list[str] = []
        names = [a.name for a in self.arms]
        if len(names) not in (1, 2) or len(set(names)) != len(names):
            problems.append(
                f"arms {names}: give one arm (a single-arm study) or two arms with different names"
            )
        elif len(names) == 2 and sum(a.control for a in self.arms) != 1:
            problems.append("arms: mark exactly one arm as the control (control: true)")
        elif len(names) == 1 and self.arms[0].control:
            problems.append("arms: a single-arm study has no control arm (remove control: true)")
        if len(self.arms) == 2 and len(self.allocation.ratio) != 2:
            problems.append(
                f"allocation.ratio {self.allocation.ratio}: give one number per arm "
                f"({len(self.arms)})"
            )
        unit = sum(self.allocation.ratio)
        bad = [b for b in self.allocation.block_sizes if b % unit]
        if bad:
            problems.append(
                f"allocation.block_sizes {bad}: each must be a multiple of {unit} so that every "
                "block keeps the ratio"
            )
        visits = sorted(self.visits, key=lambda v: v.day)
        if [v.name for v in visits] != [v.name for v in self.visits]:
            problems.append("visits: list them in the order of their day")
        if len({v.name for v in self.visits}) != len(self.visits):
            problems.append("visits: two visits have the same name")
        if not self.visits or self.visits[0].day != 0:
            problems.append("visits: the first visit is the baseline, on day 0")
        for before, after in itertools.pairwise(visits):
            if before.day + before.window_after >= after.day - after.window_before:
                problems.append(
                    f"visits {before.name!r} (day {before.day} + {before.window_after}) and "
                    f"{after.name!r} (day {after.day} - {after.window_before}): windows overlap; "
                    "an assessment must belong to one visit only"
                )
        known = {v.name for v in self.visits}
        for i, e in enumerate(self.endpoints):
            if e.visit not in known:
                problems.append(
                    f"endpoints[{i}].visit {e.visit!r}: not in the visit schedule "
                    f"({', '.join(sorted(known))})"
                )
            elif e.visit == self.visits[0].name:
                problems.append(f"endpoints[{i}].visit: an endpoint cannot be at the baseline")
        if sum(e.primary for e in self.endpoints) != 1:
            problems.append("endpoints: mark exactly one endpoint as primary (primary: true)")
        if len({e.name for e in self.endpoints}) != len(self.endpoints):
            problems.append("endpoints: two endpoints have the same name")
        if self.simulation is not None:
            sim = self.simulation
            if set(sim.response_rates) != set(names):
                problems.append(
                    f"simulation.response_rates: give one rate per arm ({', '.join(names)}), "
                    f"got {', '.join(sim.response_rates)}"
                )
            factors = self.strata.factors if self.strata else {}
            for factor, shares in sim.level_shares.items():
                levels = factors.get(factor)
                if levels is None:
                    problems.append(
                        f"simulation.level_shares.{factor}: not a stratification factor"
                    )
                elif set(shares) != set(levels):
                    problems.append(
                        f"simulation.level_shares.{factor}: give a share for each level "
                        f"({', '.join(levels)})"
                    )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # -- conveniences ----------------------------------------------------------------------

    @property
    def arm_names(self) -> list[str]:
        return [a.name for a in self.arms]

    @property
    def control_arm(self) -> str | None:
        """The control arm's name (None in a single-arm study)."""
        return next((a.name for a in self.arms if a.control), None)

    @property
    def treated_arm(self) -> str:
        return next(a.name for a in self.arms if not a.control)

    @property
    def stratum_names(self) -> list[str]:
        """The randomisation strata (one stratum, ``all``, when none are declared)."""
        return self.strata.names() if self.strata else ["all"]

    @property
    def primary(self) -> Endpoint:
        return next(e for e in self.endpoints if e.primary)

    def visit(self, name: str) -> Visit:
        return next(v for v in self.visits if v.name == name)

    def canonical(self) -> dict[str, Any]:
        """Every field with its value (defaults filled in), as plain JSON types."""
        return self.model_dump(mode="json")

    def sha256(self) -> str:
        """SHA-256 of the canonical JSON (sorted keys) of the validated specification; YAML
        formatting and comments do not change it, any value (or changed default) does."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- errors in plain words -------------------------------------------------------------------

_PLAIN: Final = {
    "extra_forbidden": "unknown field (check the spelling; docs/trial.md lists every field)",
    "missing": "required field is missing",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "list_type": "must be a list (one '- item' per line)",
    "dict_type": "must be a mapping (name: value lines)",
    "model_type": "must be a mapping (name: value lines)",
}


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith(("function-", "constrained-")) or "[" in item:
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(top level)"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind in _PLAIN:
        return _PLAIN[kind]
    context = error.get("ctx") or {}
    if kind == "literal_error":
        return f"must be one of {context.get('expected', '')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        bound = next(iter(context.values()), "")
        return f"must be {words} {bound}"
    if kind == "string_pattern_mismatch":
        return (
            "must be a short name: lower-case letters, digits, '_' or '-', starting with a "
            "letter or digit (at most 40 characters)"
        )
    return str(error["msg"]).removeprefix("Value error, ")


def spec_from_mapping(data: Any, *, source: str = "trial specification") -> TrialSpec:
    """Validate a parsed trial specification; raise :class:`SpecError` listing every problem."""
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a trial specification is a YAML mapping (key: value lines), "
            f"got {type(data).__name__}"
        )
    version = data.get("spec_version")
    if version is not None and version != TRIAL_SPEC_VERSION:
        raise SpecError(
            f"{source}: spec_version {version!r} is not supported; this software reads "
            f"spec_version {TRIAL_SPEC_VERSION}"
        )
    try:
        return TrialSpec.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = _location(tuple(error["loc"]))
            value = error.get("input")
            shown = (
                ""
                if error["type"] == "missing" or isinstance(value, dict | list)
                else f" {value!r}"
            )
            message = _message(error)
            if where == "(top level)":
                # checks across fields name their own fields, one problem per line
                lines += [f"  - {line}" for line in message.splitlines()]
            else:
                lines.append(f"  - {where}:{shown} {message}")
        raise SpecError(
            f"{source}: the trial specification is not valid ({len(lines)} problem(s)):\n"
            + "\n".join(lines)
            + "\nFix these fields and run again; docs/trial.md documents every field."
        ) from None


def load_trial_spec(path: str | Path) -> TrialSpec:
    """Read and validate a YAML trial specification (a bare name such as ``bird`` names a
    specification bundled in ``myositis/trial/data``)."""
    source = Path(path)
    if not source.is_file() and not source.suffix and source.name == str(path):
        bundled = bundled_trial_path(source.name)
        if bundled.exists():
            source = bundled
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            f"{source}: no such trial specification file; give the path of a YAML file or "
            f"the name of a bundled trial ({', '.join(bundled_trial_names())})"
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


def _data_folder() -> Path:
    return Path(__file__).resolve().parent / "data"


def bundled_trial_path(name: str = "bird") -> Path:
    """Path of a bundled trial specification (``myositis/trial/data/<name>.yaml``)."""
    return _data_folder() / f"{name}.yaml"


def bundled_trial_names() -> list[str]:
    return sorted(p.stem for p in _data_folder().glob("*.yaml"))


__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "DataChecks",
    "TRIAL_SPEC_VERSION",
    "Endpoint",
    "Taper",
    "TrialSpec",
    "Visit",
    "bundled_trial_names",
    "bundled_trial_path",
    "load_trial_spec",
    "spec_from_mapping",
]

"""Reading the trial's input tables: the registry's own tables as pyarrow Tables plus an
enrolment table, checked column by column with problems that name table, row and value.

Enrolment table (one row per randomised patient)::

    person_id            int64    the registry's person
    stratum              string   one of the specification's strata (level/level)
    randomisation_date   date     day 0 of the visit schedule and the taper
    arm                  string   the arm, or null while the trial is blinded (ignored here:
                                  endpoints are derived blind; analysis joins the arms later)
    withdrawal_date      date     null unless the patient withdrew
    withdrawal_reason    string   free text, null unless withdrawn
    first_dose_date      date     the first dose of the allocated intervention (optional)
    not_received_reason  string   why a patient received none of it (optional)

The last two record receipt of the allocated intervention (CONSORT 2010's "received
allocated intervention"): absent or blank in every row, it is not recorded; otherwise every
row gives exactly one of them.

Registry tables (``myositis.registry.schema``): ``assessment`` (long format), ``laboratory``
(muscle enzymes with their ULN) and ``drug_exposure`` (prednisone records with dose,
frequency, start and end). Rows are numbered from 1 in the order given (the "data row" of
every message).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from myositis.errors import InputProblem, InvalidInputError, MissingColumnError
from myositis.instruments.core_set import REGISTRY_SOURCES

ENROLMENT_COLUMNS = (
    "person_id",
    "stratum",
    "randomisation_date",
    "arm",
    "withdrawal_date",
    "withdrawal_reason",
    "first_dose_date",
    "not_received_reason",
)
#: Enrolment columns a table may leave out.
OPTIONAL_ENROLMENT_COLUMNS = ("arm", "withdrawal_reason", "first_dose_date", "not_received_reason")
ASSESSMENT_COLUMNS = ("assessment_id", "person_id", "assessment_date", "instrument", "measure",
                      "value")  # fmt: skip
LABORATORY_COLUMNS = ("person_id", "test", "result_date", "value", "uln")
EXPOSURE_COLUMNS = ("exposure_id", "person_id", "ingredient", "start_date", "end_date", "dose",
                    "dose_unit", "frequency")  # fmt: skip


@dataclass(frozen=True)
class Enrolment:
    row: int
    person_id: int
    stratum: str
    randomised: dt.date
    withdrawn: dt.date | None
    withdrawal_reason: str | None
    #: the first dose of the allocated intervention; None when none was given or receipt is
    #: not recorded (``not_received_reason`` tells which)
    first_dose: dt.date | None = None
    not_received_reason: str | None = None


@dataclass(frozen=True)
class Measurement:
    """One value of a core set measure (or CDASI score) as recorded, with where it came from."""

    measure: str  # pga, ptga, mmt8, haq, ema, or an enzyme (ck, aldolase, ...)
    date: dt.date
    value: float
    uln: float | None  # enzymes only
    source: str  # "assessment 101" or "laboratory row 7"
    row: int | None = None  # 1-based data row of its table


@dataclass(frozen=True)
class Exposure:
    row: int
    exposure_id: int
    ingredient: str
    start: dt.date
    end: dt.date | None
    daily_dose: float | None  # mg/day (dose x frequency per day); None for other units
    dose_unit: str | None

    @property
    def source(self) -> str:
        return f"drug_exposure {self.exposure_id}"


def require(table: pa.Table, columns: Sequence[str], name: str) -> None:
    """Raise :class:`MissingColumnError` naming every absent column of ``name``."""
    absent = [c for c in columns if c not in table.column_names]
    if absent:
        raise MissingColumnError(
            f"{name}: missing column(s) {', '.join(absent)}; the {name} table needs "
            f"{', '.join(columns)} (docs/trial.md, 'Input tables')"
        )


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def read_enrolment(
    table: pa.Table, strata: Sequence[str], source: str = "enrolment"
) -> list[Enrolment]:
    """The enrolment rows, checked: a known stratum, a randomisation date, one row per person,
    a withdrawal not before randomisation; where receipt of the allocated intervention is
    recorded (module docstring), a first dose or a reason for none in every row, and a first
    dose neither before randomisation nor after a withdrawal. Problems name ``source`` (the
    file, when there is one)."""
    require(table, [c for c in ENROLMENT_COLUMNS if c not in OPTIONAL_ENROLMENT_COLUMNS], source)
    problems: list[InputProblem] = []
    seen: dict[int, int] = {}
    out: list[Enrolment] = []
    rows = _rows(table)
    receipt = receipt_recorded(rows)
    for i, r in enumerate(rows, start=1):
        pid, stratum, day0 = r["person_id"], r["stratum"], r["randomisation_date"]
        withdrawn = r.get("withdrawal_date")
        dosed, undosed = r.get("first_dose_date"), r.get("not_received_reason")
        if pid is None:
            problems.append(InputProblem(i, "person_id", None, "is blank", source))
            continue
        if pid in seen:
            problems.append(InputProblem(i, "person_id", str(pid),
                                         f"is enrolled twice (also row {seen[pid]})",
                                         source))  # fmt: skip
            continue
        seen[pid] = i
        if stratum not in strata:
            problems.append(InputProblem(i, "stratum", stratum,
                                         f"is not a stratum of the plan; allowed: "
                                         f"{', '.join(strata)}", source))  # fmt: skip
        if day0 is None:
            problems.append(InputProblem(i, "randomisation_date", None,
                                         "is blank: every enrolled patient needs day 0",
                                         source))  # fmt: skip
        elif withdrawn is not None and withdrawn < day0:
            problems.append(InputProblem(i, "withdrawal_date", str(withdrawn),
                                         f"is before the randomisation date {day0}",
                                         source))  # fmt: skip
        problems += _receipt_problems(i, day0, withdrawn, dosed, undosed, receipt, source)
        if day0 is not None and stratum in strata:
            out.append(Enrolment(i, int(pid), stratum, day0, withdrawn,
                                 r.get("withdrawal_reason"), dosed, undosed))  # fmt: skip
    if problems:
        raise InvalidInputError(problems)
    return out


def receipt_recorded(rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether enrolment ``rows`` record receipt of the allocated intervention: some row gives
    a ``first_dose_date`` or a ``not_received_reason`` (module docstring)."""
    return any(r.get("first_dose_date") or r.get("not_received_reason") for r in rows)


def _receipt_problems(
    row: int,
    randomised: dt.date | None,
    withdrawn: dt.date | None,
    dosed: dt.date | None,
    undosed: str | None,
    recorded: bool,
    source: str,
) -> list[InputProblem]:
    """What is wrong with one row's receipt of the allocated intervention (module docstring):
    the diagram's received and not-received counts must add up to those allocated."""

    def problem(column: str, value: object, message: str) -> list[InputProblem]:
        return [InputProblem(row, column, None if value is None else str(value), message,
                             source)]  # fmt: skip

    if not recorded:
        return []
    if dosed is None and undosed is None:
        return problem("first_dose_date", None,
                       "is blank and so is not_received_reason: other rows record receipt of "
                       "the allocated intervention, so give this patient's first dose date "
                       "or why none was given")  # fmt: skip
    if dosed is not None and undosed is not None:
        return problem("not_received_reason", undosed,
                       f"is given, but first_dose_date {dosed} says the patient received the "
                       "intervention; clear one of the two")  # fmt: skip
    if dosed is not None and randomised is not None and dosed < randomised:
        return problem("first_dose_date", dosed,
                       f"is before the randomisation date {randomised}")  # fmt: skip
    if dosed is not None and withdrawn is not None and dosed > withdrawn:
        return problem("first_dose_date", dosed, f"is after the withdrawal date {withdrawn}")
    return []


#: Registry instrument and measure of each core set measure's recorded score (adults; the
#: one mapping, :data:`myositis.instruments.core_set.REGISTRY_SOURCES`).
CORE_SET_SOURCES = {key: REGISTRY_SOURCES[key] for key in ("pga", "ptga", "mmt8", "haq", "ema")}


def read_assessments(
    table: pa.Table, persons: set[int], wanted: dict[str, tuple[str, str]]
) -> dict[int, list[Measurement]]:
    """Recorded scores per person: ``wanted`` maps a measure key to (instrument, measure)."""
    require(table, ASSESSMENT_COLUMNS, "assessment")
    lookup = {(i.lower(), m.lower()): key for key, (i, m) in wanted.items()}
    out: dict[int, list[Measurement]] = defaultdict(list)
    problems: list[InputProblem] = []
    for i, r in enumerate(_rows(table), start=1):
        pid = r["person_id"]
        key = lookup.get((str(r["instrument"]).lower(), str(r["measure"]).lower()))
        if pid not in persons or key is None:
            continue
        if r["assessment_date"] is None:
            problems.append(InputProblem(i, "assessment_date", None, "is blank", "assessment"))
            continue
        if r["value"] is None:
            continue  # a blank value is a missing measure, reported at its visit
        out[pid].append(Measurement(key, r["assessment_date"], float(r["value"]), None,
                                    f"assessment {r['assessment_id']}", i))  # fmt: skip
    if problems:
        raise InvalidInputError(problems)
    return out


def read_enzymes(table: pa.Table, persons: set[int], enzymes: Sequence[str]
                 ) -> dict[int, list[Measurement]]:  # fmt: skip
    """Muscle enzyme results with their ULN per person (``laboratory.test`` in ``enzymes``)."""
    require(table, LABORATORY_COLUMNS, "laboratory")
    out: dict[int, list[Measurement]] = defaultdict(list)
    problems: list[InputProblem] = []
    for i, r in enumerate(_rows(table), start=1):
        test = str(r["test"]).lower()
        if r["person_id"] not in persons or test not in enzymes or r["value"] is None:
            continue
        if r["uln"] is None or r["uln"] <= 0:
            problems.append(InputProblem(i, "uln", None if r["uln"] is None else str(r["uln"]),
                                         f"{test} needs its upper limit of normal (a positive "
                                         "number) to choose the most abnormal enzyme",
                                         "laboratory"))  # fmt: skip
            continue
        if r["result_date"] is None:
            problems.append(InputProblem(i, "result_date", None, "is blank", "laboratory"))
            continue
        found = Measurement(test, r["result_date"], float(r["value"]), float(r["uln"]),
                            f"laboratory row {i}", i)  # fmt: skip
        out[r["person_id"]].append(found)
    if problems:
        raise InvalidInputError(problems)
    return out


def read_exposures(table: pa.Table, persons: set[int], ingredients: set[str]
                   ) -> dict[int, list[Exposure]]:  # fmt: skip
    """Drug exposure records per person for the named ingredients (lower case), with the
    daily dose in mg (``dose x frequency_per_day``; ``myositis.codes``)."""
    from myositis.codes import frequency_per_day

    require(table, EXPOSURE_COLUMNS, "drug_exposure")
    out: dict[int, list[Exposure]] = defaultdict(list)
    problems: list[InputProblem] = []
    for i, r in enumerate(_rows(table), start=1):
        ingredient = str(r["ingredient"] or "").strip().lower()
        if r["person_id"] not in persons or ingredient not in ingredients:
            continue
        if r["start_date"] is None:
            problems.append(InputProblem(i, "start_date", None, "is blank", "drug_exposure"))
            continue
        if r["end_date"] is not None and r["end_date"] < r["start_date"]:
            problems.append(InputProblem(i, "end_date", str(r["end_date"]),
                                         f"is before start_date {r['start_date']}",
                                         "drug_exposure"))  # fmt: skip
            continue
        daily: float | None = None
        unit = r["dose_unit"]
        if r["dose"] is not None and r["frequency"] is not None:
            try:
                daily = float(r["dose"]) * frequency_per_day(str(r["frequency"]))
            except InvalidInputError as exc:
                problems += [InputProblem(i, p.column, p.value, p.reason, "drug_exposure")
                             for p in exc.problems]  # fmt: skip
                continue
        out[r["person_id"]].append(Exposure(i, int(r["exposure_id"]), ingredient,
                                            r["start_date"], r["end_date"], daily,
                                            unit))  # fmt: skip
    if problems:
        raise InvalidInputError(problems)
    return out


__all__ = [
    "CORE_SET_SOURCES",
    "ENROLMENT_COLUMNS",
    "Enrolment",
    "Exposure",
    "Measurement",
    "read_assessments",
    "read_enrolment",
    "read_enzymes",
    "read_exposures",
    "require",
]

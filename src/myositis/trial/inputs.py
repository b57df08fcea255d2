"""The trial's inputs as a user gives them: a registry (any engine, through
:func:`myositis.registry.connect.connect`), the enrolment table and, optionally, the screening
log, each a CSV or Parquet file.

Enrolment file (one row per randomised patient; docs/trial.md, "Input tables")::

    person_id, stratum, randomisation_date, arm, withdrawal_date, withdrawal_reason,
    first_dose_date, not_received_reason

``arm`` may be absent or blank and is never read here: endpoints are derived blind, and the
unblinded report takes the arms from the concealed allocation store. ``first_dose_date`` and
``not_received_reason`` (optional) record receipt of the allocated intervention
(:mod:`myositis.trial.records`).

Screening log (optional; the CONSORT diagram's "assessed for eligibility")::

    screening_id      text     the log's own identifier (one row per person screened)
    screening_date    date
    person_id         int64    the registry person, for a patient who was randomised
    excluded_reason   text     blank for a randomised patient; otherwise why not
                               ("not meeting inclusion criteria: ...", "declined to
                               participate", "other: ...")

The two must agree: every randomised patient has one screening row without a reason, and a row
without a reason belongs to a randomised patient. Otherwise the flow diagram's numbers would
not add up, and nothing is written.

CSV values are parsed column by column; every bad value is reported with its file, data row
(1-based), column and value. Dates are ISO 8601 (``2022-09-01``); an empty cell is missing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from myositis.errors import InputProblem, InvalidInputError, MissingColumnError, MyositisError
from myositis.progress import Progress, silent
from myositis.trial.records import OPTIONAL_ENROLMENT_COLUMNS, read_enrolment
from myositis.trial.spec import TrialSpec

if TYPE_CHECKING:
    from myositis.trial.endpoints import TrialEndpoints

ENROLMENT_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("stratum", pa.string()),
        ("randomisation_date", pa.date32()),
        ("arm", pa.string()),
        ("withdrawal_date", pa.date32()),
        ("withdrawal_reason", pa.string()),
        ("first_dose_date", pa.date32()),
        ("not_received_reason", pa.string()),
    ]
)
#: A file may also leave out ``withdrawal_date`` (read as blank in every row).
ENROLMENT_OPTIONAL = (*OPTIONAL_ENROLMENT_COLUMNS, "withdrawal_date")

SCREENING_SCHEMA = pa.schema(
    [
        ("screening_id", pa.string()),
        ("screening_date", pa.date32()),
        ("person_id", pa.int64()),
        ("excluded_reason", pa.string()),
    ]
)
SCREENING_OPTIONAL = ("screening_date", "person_id")

#: Registry tables the trial reads, filtered to the enrolled patients, in this row order
#: (the derivation listing numbers laboratory rows in it).
ORDER = {
    "person": ("person_id",),
    "assessment": ("assessment_id", "instrument", "measure"),
    "laboratory": ("person_id", "result_date", "test", "value", "uln", "loinc", "unit"),
    "drug_exposure": ("exposure_id",),
    "adverse_event": ("person_id", "onset_date", "term", "grade"),
}
REGISTRY_TABLES = tuple(ORDER)


def _parse(value: str, kind: pa.DataType) -> Any:
    if pa.types.is_int64(kind):
        return int(value)
    if pa.types.is_date32(kind):
        return dt.date.fromisoformat(value)
    return value


_EXPECTED = {"int64": "a whole number", "date32[day]": "a date as YYYY-MM-DD"}


def read_table_file(
    path: Path, schema: pa.Schema, name: str, optional: tuple[str, ...] = ()
) -> pa.Table:
    """A CSV or Parquet file as an Arrow table of ``schema`` (extra columns dropped; absent
    ``optional`` columns blank). Raises with every bad value named."""
    if not path.exists():
        raise MyositisError(f"{path}: no such {name} file; give the path of a CSV or Parquet file")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            raw = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise MyositisError(f"{path}: cannot be read as Parquet ({exc})") from None
        columns, rows = raw.column_names, raw.num_rows
    else:
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                records = list(reader)
                columns = list(reader.fieldnames or [])
        except (OSError, UnicodeDecodeError) as exc:
            raise MyositisError(f"{path}: cannot be read as UTF-8 CSV ({exc})") from None
        rows = len(records)
    required = [f.name for f in schema if f.name not in optional]
    absent = [c for c in required if c not in columns]
    if absent:
        raise MissingColumnError(
            f"{path}: the {name} file has no column(s) {', '.join(absent)}; it needs "
            f"{', '.join(schema.names)} (docs/trial.md, 'Input tables'); found "
            f"{', '.join(columns) or 'no header'}"
        )
    if path.suffix.lower() == ".parquet":
        arrays = []
        for f in schema:
            if f.name not in columns:
                arrays.append(pa.nulls(rows, f.type))
                continue
            try:
                arrays.append(raw.column(f.name).cast(f.type, safe=True))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise MyositisError(
                    f"{path}: column '{f.name}' of type {raw.column(f.name).type} does not "
                    f"convert to {f.type}"
                ) from None
        return pa.Table.from_arrays(arrays, schema=schema)
    problems: list[InputProblem] = []
    values: dict[str, list[Any]] = {f.name: [] for f in schema}
    for number, record in enumerate(records, start=1):
        for f in schema:
            text = (record.get(f.name) or "").strip()
            parsed = None
            if text:
                try:
                    parsed = _parse(text, f.type)
                except ValueError:
                    problems.append(
                        InputProblem(
                            number,
                            f.name,
                            text,
                            f"must be {_EXPECTED.get(str(f.type), str(f.type))}",
                            str(path),
                        )
                    )
            values[f.name].append(parsed)
    if problems:
        raise InvalidInputError(problems)
    return pa.table(values, schema=schema)


@dataclass(frozen=True)
class ScreeningRow:
    row: int
    screening_id: str
    person_id: int | None
    excluded_reason: str | None


def check_screening(screening: pa.Table, enrolled: set[int], path: str) -> list[ScreeningRow]:
    """The screening rows, checked against the enrolment (see the module docstring)."""
    problems: list[InputProblem] = []
    out: list[ScreeningRow] = []
    seen: dict[str, int] = {}
    linked: dict[int, int] = {}
    for i, r in enumerate(screening.to_pylist(), start=1):
        sid, pid, reason = r["screening_id"], r["person_id"], r["excluded_reason"]
        if not sid:
            problems.append(InputProblem(i, "screening_id", None, "is blank", path))
            continue
        if sid in seen:
            problems.append(
                InputProblem(i, "screening_id", sid, f"appears twice (also row {seen[sid]})", path)
            )
            continue
        seen[sid] = i
        if reason is None:
            if pid is None or pid not in enrolled:
                problems.append(
                    InputProblem(
                        i,
                        "excluded_reason",
                        None,
                        f"is blank, so the person was randomised, but person "
                        f"{pid if pid is not None else '(blank)'} is not in the enrolment table; "
                        "give the reason for exclusion or the randomised person_id",
                        path,
                    )
                )
                continue
        elif pid is not None and pid in enrolled:
            problems.append(
                InputProblem(
                    i,
                    "excluded_reason",
                    reason,
                    f"person {pid} was randomised (enrolment table) but is listed as excluded; "
                    "clear the reason or correct person_id",
                    path,
                )
            )
            continue
        if reason is None and pid is not None:
            if pid in linked:
                problems.append(
                    InputProblem(
                        i,
                        "person_id",
                        str(pid),
                        f"is screened twice as randomised (also row {linked[pid]})",
                        path,
                    )
                )
                continue
            linked[pid] = i
        out.append(ScreeningRow(i, sid, pid, reason))
    missing = sorted(enrolled - set(linked))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        problems.append(
            InputProblem(
                None,
                "person_id",
                None,
                f"{len(missing)} randomised person(s) have no screening row ({shown}); every "
                "randomised patient is screened first",
                path,
            )
        )
    if problems:
        raise InvalidInputError(problems)
    return out


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class TrialInputs:
    """Everything a trial command reads, with its provenance; no arm."""

    enrolment: pa.Table
    tables: dict[str, pa.Table]
    cdasi: pa.Table  # CDASI activity per administration (recorded or scored from items)
    screening: list[ScreeningRow] | None
    registry: str  # the location, without a password
    data_fingerprint: str
    metadata: dict[str, str]
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> path, sha256
    notes: list[str] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        return self.metadata.get("synthetic", "").strip().lower() == "true"

    def derive(self, spec: TrialSpec) -> TrialEndpoints:
        """The specification's endpoints, derived blind (:func:`derive_endpoints`)."""
        from myositis.trial.endpoints import derive_endpoints

        t = self.tables
        return derive_endpoints(
            spec, self.enrolment, t["assessment"], t["laboratory"], t["drug_exposure"]
        )


def load_inputs(
    spec: TrialSpec,
    data: str | Path,
    enrolment: Path,
    screening: Path | None = None,
    *,
    progress: Progress = silent,
) -> TrialInputs:
    """Read the enrolment (and screening) file and the enrolled patients' registry rows."""
    from myositis.cohort.cdasi_activity import cdasi_activity
    from myositis.registry.connect import connect, parse_location
    from myositis.registry.fingerprint import data_fingerprint
    from myositis.registry.store import read_metadata

    progress("reading the enrolment table")
    table = read_table_file(enrolment, ENROLMENT_SCHEMA, "enrolment", ENROLMENT_OPTIONAL)
    notes: list[str] = []
    if len(spec.arms) > 1 and table.column("arm").null_count < table.num_rows:
        notes.append(
            f"{enrolment}: the arm column holds values; they are ignored (endpoints are "
            "derived blind and the unblinded report reads the arms from the allocation store)"
        )
    table = (
        table.drop_columns(["arm"])
        .append_column("arm", pa.nulls(table.num_rows, pa.string()))
        .select(ENROLMENT_SCHEMA.names)
    )
    # checked here too, so that every problem names the file (derive_endpoints checks again)
    read_enrolment(table, spec.stratum_names, str(enrolment))
    ids = sorted({p for p in table.column("person_id").to_pylist() if p is not None})
    files = {"enrolment": {"path": str(enrolment), "sha256": file_sha256(enrolment)}}
    screened = None
    if screening is not None:
        progress("reading the screening log")
        log = read_table_file(screening, SCREENING_SCHEMA, "screening", SCREENING_OPTIONAL)
        screened = check_screening(log, set(ids), str(screening))
        files["screening"] = {"path": str(screening), "sha256": file_sha256(screening)}
    progress("opening the registry")
    con = connect(data)
    try:
        metadata = read_metadata(con)
        progress("fingerprinting the registry data")
        fingerprint = data_fingerprint(con)
        progress("reading the enrolled patients' records")
        tables: dict[str, pa.Table] = {}
        for name in REGISTRY_TABLES:
            t = con.table(name)
            # a fixed order on every engine, so "laboratory row 7" names the same row
            order = [c for c in ORDER[name] if c in t.columns]
            tables[name] = t.filter(t.person_id.isin(ids)).order_by(order).to_pyarrow()
        a = con.table("assessment")
        cdasi = cdasi_activity(a.filter(a.person_id.isin(ids))).to_pyarrow()
    finally:
        con.disconnect()
    known = set(tables["person"].column("person_id").to_pylist())
    unknown = [p for p in ids if p not in known]
    if unknown:
        shown = ", ".join(map(str, unknown[:10]))
        raise InvalidInputError(
            [
                InputProblem(
                    None,
                    "person_id",
                    shown,
                    f"{len(unknown)} enrolled person(s) are not in the registry's person table; "
                    "check that the enrolment table and the registry belong together",
                    str(enrolment),
                )
            ]
        )
    return TrialInputs(
        table,
        tables,
        cdasi,
        screened,
        parse_location(data).describe(),
        fingerprint,
        metadata,
        files,
        notes,
    )


__all__ = [
    "ENROLMENT_SCHEMA",
    "SCREENING_SCHEMA",
    "ScreeningRow",
    "TrialInputs",
    "check_screening",
    "load_inputs",
    "read_table_file",
]

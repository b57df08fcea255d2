"""Read a study-level CSV file and check every cell before anything is pooled.

Columns by measure (one row per study; a column ``study`` names it):

- ``PR``, ``PLO``, ``PFT``: ``events``, ``n``;
- ``MN``: ``mean_change``, ``sd_change``, ``n`` (or, for a plain mean, ``mean``, ``sd``, ``n``);
- ``GEN``: ``yi``, ``vi``.

Optional columns are named on the command line (``--by subgroup``, ``--moderator ablat``).
Every problem found is reported at once (file, data row counted from 1 after the header,
column, value, reason) through :class:`myositis.errors.InvalidInputError`; too few studies is
an :class:`myositis.errors.EvidenceError`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from myositis.errors import EvidenceError, InputProblem, InvalidInputError
from myositis.evidence.effects import (
    PROPORTION_MEASURES,
    EffectSizes,
    Measure,
    generic,
    means,
    proportions,
)


def required_columns(measure: Measure, header: Sequence[str]) -> tuple[str, ...]:
    """The value columns ``measure`` needs (for MN: the change columns unless only mean/sd)."""
    if measure in PROPORTION_MEASURES:
        return ("events", "n")
    if measure == "MN":
        if "mean_change" not in header and "mean" in header:
            return ("mean", "sd", "n")
        return ("mean_change", "sd_change", "n")
    return ("yi", "vi")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_studies(
    path: str | Path,
    measure: Measure,
    *,
    subgroup: str | None = None,
    moderator: str | None = None,
    min_studies: int = 2,
) -> EffectSizes:
    """Read ``path`` and return validated effect sizes for ``measure``.

    The subgroup labels and moderator values, when asked for, are kept in ``extra`` under
    the column names.
    """
    source = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError as exc:
        raise EvidenceError(f"{source}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"{source}: not a UTF-8 text (CSV) file") from exc
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise EvidenceError(f"{source}: the file is empty; expected a header row and studies")
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    value_columns = required_columns(measure, header)
    wanted = ["study", *value_columns]
    if subgroup:
        wanted.append(subgroup)
    if moderator:
        wanted.append(moderator)
    missing = [name for name in wanted if name not in header]
    if missing:
        raise InvalidInputError(
            [
                InputProblem(
                    row=None,
                    column=name,
                    value=None,
                    reason=(
                        f"required column is missing for measure {measure}; "
                        f"the header has: {', '.join(header) or '(nothing)'}"
                    ),
                    source=source,
                )
                for name in missing
            ]
        )
    index = {name: header.index(name) for name in wanted}
    problems: list[InputProblem] = []
    studies: list[str] = []
    values: dict[str, list[float]] = {name: [] for name in value_columns}
    groups: list[str] = []
    moderators: list[float] = []
    first_row: dict[str, int] = {}

    def problem(row: int, column: str, value: str | None, reason: str) -> None:
        problems.append(
            InputProblem(row=row, column=column, value=value, reason=reason, source=source)
        )

    for number, row in enumerate(body, start=1):
        cells = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
        study = cells["study"]
        if not study:
            problem(number, "study", study, "every study needs a name")
        elif study in first_row:
            problem(number, "study", study, f"duplicated study id (also in row {first_row[study]})")
        else:
            first_row[study] = number
        studies.append(study)
        parsed: dict[str, float] = {}
        for name in value_columns:
            value = _number(cells[name])
            if value is None:
                problem(number, name, cells[name], "not a finite number")
            else:
                parsed[name] = value
            values[name].append(float("nan") if value is None else value)
        _check_row(measure, parsed, cells, number, problem)
        if subgroup:
            label = cells[subgroup]
            if not label:
                problem(number, subgroup, label, "empty subgroup label")
            groups.append(label)
        if moderator:
            value = _number(cells[moderator])
            if value is None:
                problem(number, moderator, cells[moderator], "moderator is not a finite number")
            moderators.append(float("nan") if value is None else value)

    if problems:
        raise InvalidInputError(problems)
    if len(studies) < min_studies:
        raise EvidenceError(
            f"{source}: pooling needs at least {min_studies} studies; the file has {len(studies)}"
        )
    effects = _effects(measure, studies, values, value_columns)
    extra: dict[str, tuple[object, ...]] = {}
    if subgroup:
        extra[subgroup] = tuple(groups)
    if moderator:
        extra[moderator] = tuple(moderators)
    return EffectSizes(
        measure=effects.measure,
        study=effects.study,
        yi=effects.yi,
        vi=effects.vi,
        n=effects.n,
        events=effects.events,
        extra=extra,
    )


Report = Callable[[int, str, "str | None", str], None]


def _check_row(
    measure: Measure, parsed: dict[str, float], cells: dict[str, str], row: int, report: Report
) -> None:
    """Range checks on one study's numbers (only those that parsed)."""
    if measure in PROPORTION_MEASURES:
        events, n = parsed.get("events"), parsed.get("n")
        if n is not None and (n <= 0 or n != int(n)):
            report(row, "n", cells["n"], "n must be a whole number of patients above 0")
        if events is not None and (events < 0 or events != int(events)):
            report(row, "events", cells["events"], "events must be a whole number, 0 or more")
        if events is not None and n is not None and n > 0 and events > n:
            report(row, "events", cells["events"], f"more events than patients (n = {cells['n']})")
    elif measure == "MN":
        n = parsed.get("n")
        if n is not None and (n <= 0 or n != int(n)):
            report(row, "n", cells["n"], "n must be a whole number of patients above 0")
        sd_name = "sd_change" if "sd_change" in cells else "sd"
        sd = parsed.get(sd_name)
        if sd is not None and sd <= 0:
            report(row, sd_name, cells[sd_name], "the SD must be above 0 (zero variance)")
    else:
        vi = parsed.get("vi")
        if vi is not None and vi <= 0:
            report(row, "vi", cells["vi"], "the sampling variance must be above 0 (zero variance)")


def _effects(
    measure: Measure, studies: list[str], values: dict[str, list[float]], columns: Sequence[str]
) -> EffectSizes:
    arrays = {name: np.asarray(values[name], dtype=np.float64) for name in columns}
    if measure in PROPORTION_MEASURES:
        return proportions(studies, arrays["events"], arrays["n"], measure)
    if measure == "MN":
        mean_col, sd_col = (columns[0], columns[1])
        return means(studies, arrays[mean_col], arrays[sd_col], arrays["n"])
    return generic(studies, arrays["yi"], arrays["vi"])

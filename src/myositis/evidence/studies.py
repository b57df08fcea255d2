"""Read a study-level CSV file and check every cell before anything is pooled.

Columns by measure (one row per study; a column ``study`` names it):

- ``PR``, ``PLO``, ``PFT``: ``events``, ``n``;
- ``MN``: ``mean_change``, ``sd_change``, ``n`` (or, for a plain mean, ``mean``, ``sd``, ``n``);
- ``GEN``: ``yi``, ``vi``.

Optional columns are named on the command line (``--by subgroup``, ``--moderator ablat``);
other columns are named in an :class:`myositis.errors.InputWarning` and ignored. The file is
read by :mod:`myositis.tables` (UTF-8, header checks, rows numbered from 1 after the header).
Every problem found is reported at once (file, data row counted from 1 after the header,
column, value, reason) through :class:`myositis.errors.InvalidInputError`; too few studies is
an :class:`myositis.errors.EvidenceError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from myositis.errors import ERRORS_REPORT_HINT, EvidenceError, InputProblem, InvalidInputError
from myositis.evidence.effects import (
    PROPORTION_MEASURES,
    EffectSizes,
    Measure,
    generic,
    means,
    proportions,
)
from myositis.tables import read_csv, warn_unused

#: The row-number column added to the table read (not a column of the file).
_ROW = "__row"


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
    table = read_csv(Path(path), row_column=_ROW, error=EvidenceError)
    header = [name for name in table.column_names if name != _ROW]
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
    warn_unused(
        source,
        header,
        wanted,
        f"not used by --measure {measure} (ignored; --by and --moderator name columns to use)",
    )
    cells_of = {name: table[name].to_pylist() for name in wanted}
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

    for i, number in enumerate(table[_ROW].to_pylist()):
        cells = {name: (column[i] or "").strip() for name, column in cells_of.items()}
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
        raise InvalidInputError(problems, hint=ERRORS_REPORT_HINT)
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

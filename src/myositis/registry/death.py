"""Deaths (data model version 4): records dated well after a person's death.

A person has at most one ``death`` row (``schema.KEYS``: a second one breaks the registry's
integrity and an import refuses it), and it may not come before the person's birth (the
integrity rule every dated row keeps; an import refuses it too). A record dated after the
death is not refused: claims, laboratory results and pharmacy fills are often dated a little
after it (a result reported after the sample, a bill closed later), which is why OHDSI's Data
Quality Dashboard counts only records dated **more than 60 days after the death**
(``plausibleBeforeDeath``, "allowing administrative records directly after death"; severity
"characterization", threshold 1%), and THEMIS convention #155 leaves it to the site to drop a
death that such records contradict. So :func:`records_after_death` counts them, per table and
date column, and names the first; ``myositis registry check`` and each import print them as
warnings, and nothing is changed or refused: the death date, or the records, may be the wrong
ones, and only the site can tell.

The dates compared are every recorded date the derived observation periods read
(``observation.RECORD_DATES``: starts and ends alike, as the DQD check reads "all date
fields") but the death's own. Counted inside the engine with portable Ibis expressions
(DuckDB, PostgreSQL, Spark), one query per table when the registry holds deaths, none but a
count when it holds none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.registry.observation import RECORD_DATES

#: Days after a death within which a record is expected (OHDSI DQD ``plausibleBeforeDeath``).
GRACE_DAYS: Final = 60

#: (table, date column) of the records compared with the death.
RECORDS: Final = tuple((table, column) for table, column in RECORD_DATES if table != "death")


@dataclass(frozen=True)
class AfterDeath:
    """Rows of one table whose date in ``column`` is more than :data:`GRACE_DAYS` after the
    person's death: how many, of how many persons, and the first (by person and date)."""

    table: str
    column: str
    rows: int
    persons: int
    first: dict[str, Any]

    def counted(self, what: str = "") -> str:
        """How many rows of how many persons (then ``what`` they are), and the first."""
        f = self.first
        where = f" at {f['source_location']}" if f.get("source_location") else ""
        return (
            f"{self.table}.{self.column}: {self.rows:,} row(s) of {self.persons:,} person(s)"
            f"{what} (first: person_id {f['person_id']}, {self.column} {_iso(f['day'])}{where}, "
            f"death_date {_iso(f['died'])})"
        )

    def describe(self) -> str:
        """One table's warning (``myositis registry check``, an import)."""
        return f"{self.counted(f' {_LATE}')}. {_ADVICE}"


#: What the rows counted are, and what to do about them.
_LATE: Final = f"dated more than {GRACE_DAYS} days after the person's death"
_ADVICE: Final = (
    "Records shortly after a death are usual (results reported, bills closed) and are not "
    "counted; these are later: check the death date (the right person and day?) and these "
    "records, and correct whichever is wrong (OHDSI DQD plausibleBeforeDeath; not refused)."
)


def described(found: list[AfterDeath]) -> list[str]:
    """Every table's rows of :func:`records_after_death` in one note (a study's notes), or
    none."""
    if not found:
        return []
    counts = "; ".join(late.counted() for late in found)
    return [f"Records {_LATE}: {counts}. {_ADVICE}"]


def _iso(value: Any) -> str:
    """A date as ``YYYY-MM-DD``, whichever engine returned it (Spark: a timestamp)."""
    return str(value.date() if isinstance(value, dt.datetime) else value.isoformat())


def records_after_death(con: BaseBackend, persons: ir.Table | None = None) -> list[AfterDeath]:
    """Every table with records dated more than :data:`GRACE_DAYS` after the person's death
    (see the module docstring), in ``RECORDS`` order. ``persons`` (a table with
    ``person_id``) restricts the persons compared (those of one import)."""
    death = con.table("death")
    if persons is not None:
        death = death.semi_join(persons, "person_id")
    if not int(death.count().to_pyarrow().as_py()):
        return []
    deaths = death.select(_pid=death.person_id, _died=death.death_date)
    found = []
    for table, column in RECORDS:
        t = con.table(table)
        joined = t.inner_join(deaths, t.person_id == deaths._pid)
        # the last day a record is expected, as a date (an engine makes a date plus an
        # interval a timestamp)
        last = (joined._died + ibis.interval(days=GRACE_DAYS)).cast("timestamp").cast("date")
        late = joined.filter(joined[column].notnull() & (joined[column] > last))
        counts = late.aggregate(_rows=late.count(), _persons=late.person_id.nunique())
        located = "source_location" in t.columns
        shown = late.select(
            person_id=late.person_id,
            day=late[column],
            died=late._died,
            source_location=late.source_location if located else ibis.null().cast("string"),
        )
        first = shown.order_by(["person_id", "day", "source_location"]).limit(1)
        # the counts beside the first row, in one query: no row when none is late
        rows = counts.cross_join(first).to_pyarrow().to_pylist()
        if not rows:
            continue
        row = rows[0]
        found.append(
            AfterDeath(
                table,
                column,
                int(row["_rows"]),
                int(row["_persons"]),
                {key: row[key] for key in shown.columns},
            )
        )
    return found


__all__ = ["GRACE_DAYS", "RECORDS", "AfterDeath", "described", "records_after_death"]

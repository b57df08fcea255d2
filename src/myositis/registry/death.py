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
(DuckDB, PostgreSQL, Spark): one query over every table's dates when the registry holds
deaths, none but a count when it holds none.
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
    # every table's dates as one relation, so the deaths are joined and the tables counted in
    # one query (a query per table: 0.24-0.31 s at 100,000 persons with 4,814 deaths; 0.08 s)
    dated = ibis.union(
        *(_dated(con.table(table), column, n) for n, (table, column) in enumerate(RECORDS))
    )
    joined = dated.inner_join(deaths, dated.person_id == deaths._pid)
    # the last day a record is expected, as a date (an engine makes a date plus an interval a
    # timestamp)
    last = (joined._died + ibis.interval(days=GRACE_DAYS)).cast("timestamp").cast("date")
    late = joined.filter(joined.day.notnull() & (joined.day > last)).select(
        "_n", "person_id", "day", died=joined._died, source_location=joined.source_location
    )
    counts = late.group_by("_n").aggregate(_rows=late.count(), _persons=late.person_id.nunique())
    ranked = late.mutate(
        _rank=ibis.row_number().over(
            group_by="_n", order_by=["person_id", "day", "source_location"]
        )
    )
    first = ranked.filter(ranked._rank == 0).drop("_rank")
    rows = counts.inner_join(first, "_n").to_pyarrow().to_pylist()
    return [
        AfterDeath(
            *RECORDS[int(r["_n"])],
            int(r["_rows"]),
            int(r["_persons"]),
            {key: r[key] for key in ("person_id", "day", "died", "source_location")},
        )
        for r in sorted(rows, key=lambda r: int(r["_n"]))
    ]


def _dated(t: ir.Table, column: str, n: int) -> ir.Table:
    """``t``'s rows as ``_n`` (its place in ``RECORDS``), ``person_id``, ``day`` (the date in
    ``column``) and where each was read (null where the table keeps no provenance)."""
    located = t.source_location if "source_location" in t.columns else ibis.null("string")
    return t.select(
        _n=ibis.literal(n, "int16"),
        person_id=t.person_id,
        day=t[column].cast("date"),
        source_location=located.cast("string"),
    )


__all__ = ["GRACE_DAYS", "RECORDS", "AfterDeath", "described", "records_after_death"]

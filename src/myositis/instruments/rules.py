"""Rule tables shipped as data files (``instruments/data/*.csv``) and the value checks built
from them.

The band tables, item ranges and category thresholds live only in these CSV files; the scoring
expressions and the validation read them from here, so there is one copy of every number.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files


@cache
def load_table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of the packaged rule table ``data/<name>.csv`` as dictionaries of strings."""
    text = files("myositis.instruments").joinpath(f"data/{name}.csv").read_text("utf-8")
    return tuple(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class Field:
    """One input column with the values it may hold.

    ``integer`` items take whole numbers only (CDASI, MMT-8 grades, HAQ answers); ``minimum``
    and ``maximum`` are inclusive; ``above`` is an exclusive lower bound (an upper limit of
    normal must be > 0).
    """

    column: str
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    integer: bool = False
    above: Decimal | None = None
    meaning: str = ""

    def allowed(self) -> str:
        """The allowed values in words, for error messages."""
        kind = "a whole number" if self.integer else "a number"
        if self.above is not None:
            text = f"{kind} greater than {_fmt(self.above)}"
        elif self.minimum is not None and self.maximum is not None:
            text = f"{kind} from {_fmt(self.minimum)} to {_fmt(self.maximum)}"
        elif self.minimum is not None:
            text = f"{kind} of at least {_fmt(self.minimum)}"
        else:
            text = kind
        return f"{text} ({self.meaning})" if self.meaning else text


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def dec(text: str | int | float) -> Decimal:
    """Exact decimal of a rule-table cell (never via binary floating point)."""
    return Decimal(str(text))

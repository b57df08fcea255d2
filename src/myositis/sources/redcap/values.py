"""A value of a REDCap raw export checked against its field in the data dictionary.

Rules (REDCap's own, for the raw export):

- dropdown, radio: one of the field's choice codes; checkbox columns ``<field>___<code>``:
  ``0`` or ``1``; yesno and truefalse: ``0`` or ``1``;
- text with a validation type: ``integer`` (whole numbers), ``number`` (also ``number_1dp``
  ... ``number_4dp``; the ``..._comma_decimal`` types with a decimal comma), ``date_ymd``,
  ``date_mdy``, ``date_dmy`` (a raw export writes every date as ``YYYY-MM-DD``, whatever the
  display format), ``datetime_*`` (``YYYY-MM-DD HH:MM``), ``datetime_seconds_*`` (with
  ``:SS``), ``time`` (``HH:MM``), ``email``; the date must exist; a value below Text
  Validation Min or above Text Validation Max is a problem (``today`` and ``now`` as a limit
  are the day of the import); other validation types (phone, zipcode, ...) are not checked;
- slider: a number from the validation min to max (default 0 to 100);
- calc: not checked (calculations are never imported: a value REDCap computed wrongly must
  not refuse an import of the fields that are read);
- notes, file, sql, text without validation: any text.

:func:`check` returns the parsed value or raises :class:`BadValue` with the reason in plain
words.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal, InvalidOperation
from typing import Final

from myositis.sources.redcap.dictionary import Field

Value = str | int | float | bool | _dt.date | _dt.datetime | _dt.time

_INTEGER: Final = re.compile(r"[-+]?\d+")
_NUMBER: Final = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
_DATETIME_SECONDS: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_TIME: Final = re.compile(r"\d{2}:\d{2}")
_TIME_MM_SS: Final = re.compile(r"\d{2}:\d{2}")
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class BadValue(ValueError):
    """A value its field does not allow: the reason in plain words."""


def _date(text: str) -> _dt.date:
    if not _DATE.fullmatch(text):
        raise BadValue(
            "expected a date as YYYY-MM-DD (REDCap's raw export writes every date so; export "
            "again with the default date format)"
        )
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise BadValue("this date does not exist (check the day and the month)") from None


def _datetime(text: str, seconds: bool) -> _dt.datetime:
    pattern, shape = (
        (_DATETIME_SECONDS, "YYYY-MM-DD HH:MM:SS") if seconds else (_DATETIME, "YYYY-MM-DD HH:MM")
    )
    if not pattern.fullmatch(text):
        raise BadValue(f"expected a date and time as {shape}")
    try:
        _dt.date.fromisoformat(text[:10])
    except ValueError:
        raise BadValue("this date does not exist (check the day and the month)") from None
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadValue("this time does not exist (hours 00-23, minutes 00-59)") from None


def _time(text: str, minutes_seconds: bool = False) -> _dt.time:
    if not (_TIME_MM_SS if minutes_seconds else _TIME).fullmatch(text):
        raise BadValue("expected a time as " + ("MM:SS" if minutes_seconds else "HH:MM"))
    first, second = int(text[:2]), int(text[3:])
    if (minutes_seconds and first > 59) or (not minutes_seconds and first > 23) or second > 59:
        raise BadValue("this time does not exist")
    return _dt.time(0, first, second) if minutes_seconds else _dt.time(first, second)


def _number(text: str, comma: bool = False) -> float:
    if comma:
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        raise BadValue("expected a number" + (" (with a decimal comma)" if comma else ""))
    return float(text)


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise BadValue("expected a whole number")
    return int(text)


def parse_typed(validation: str, text: str) -> Value:
    """``text`` parsed by a text field's validation type (``BadValue`` when it is not one)."""
    v = validation
    if v == "integer":
        return _integer(text)
    if v == "number" or re.fullmatch(r"number_\d+dp", v):
        return _number(text)
    if v.startswith("number") and v.endswith("comma_decimal"):
        return _number(text, comma=True)
    if v.startswith("date_"):
        return _date(text)
    if v.startswith("datetime_seconds"):
        return _datetime(text, seconds=True)
    if v.startswith("datetime"):
        return _datetime(text, seconds=False)
    if v == "time":
        return _time(text)
    if v == "time_mm_ss":
        return _time(text, minutes_seconds=True)
    if v == "email":
        if not _EMAIL.fullmatch(text):
            raise BadValue("expected an e-mail address")
        return text
    return text


def _limit(field: Field, text: str, today: _dt.date) -> Value | None:
    """A validation limit parsed like the field's values (None: no usable limit)."""
    text = text.strip()
    if not text:
        return None
    if text.lower() in ("today", "now"):
        if field.validation.startswith("datetime"):
            return _dt.datetime.combine(today, _dt.time(23, 59, 59))
        return today
    try:
        return parse_typed(field.validation, text)
    except BadValue:
        return None  # a limit REDCap computes (a piped [field]): REDCap checks it, not us


def _bounds(field: Field, value: Value, today: _dt.date) -> None:
    low = _limit(field, field.minimum, today)
    high = _limit(field, field.maximum, today)
    try:
        if low is not None and value < low:  # type: ignore[operator]
            raise BadValue(f"below the field's minimum {field.minimum} (Text Validation Min)")
        if high is not None and value > high:  # type: ignore[operator]
            raise BadValue(f"above the field's maximum {field.maximum} (Text Validation Max)")
    except TypeError:  # a limit of another kind than the value (a date limit of a number)
        return


def check(field: Field, text: str, today: _dt.date) -> Value:
    """The value of a non-empty cell of ``field`` (not a checkbox column), parsed; raise
    :class:`BadValue` when the field does not allow it."""
    t = field.type
    if t in ("dropdown", "radio"):
        if text not in field.choices:
            shown = ", ".join(list(field.choices)[:12])
            more = ", ..." if len(field.choices) > 12 else ""
            raise BadValue(f"not one of the field's choices ({shown}{more})")
        return text
    if t in ("yesno", "truefalse"):
        if text not in ("0", "1"):
            raise BadValue(f"a {t} field holds 0 or 1")
        return text == "1"
    if t == "slider":
        number = _number(text)
        low = float(field.minimum) if _is_number(field.minimum) else 0.0
        high = float(field.maximum) if _is_number(field.maximum) else 100.0
        if not low <= number <= high:
            raise BadValue(f"a slider value from {low:g} to {high:g}")
        return number
    if t == "text" and field.validation:
        value = parse_typed(field.validation, text)
        _bounds(field, value, today)
        return value
    return text


def check_checkbox(text: str) -> bool:
    """A checkbox column's cell: ``1`` ticked, ``0`` not (an empty cell is not ticked)."""
    if text in ("", "0"):
        return False
    if text == "1":
        return True
    raise BadValue("a checkbox column holds 0 or 1")


def _is_number(text: str) -> bool:
    try:
        Decimal(text.strip())
    except InvalidOperation:
        return False
    return bool(text.strip())


__all__ = ["BadValue", "Value", "check", "check_checkbox", "parse_typed"]

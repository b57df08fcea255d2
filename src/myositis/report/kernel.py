"""The one rendering kernel: a Jinja environment over ``report/templates`` with the display
filters every report uses (numbers: ``fmt``, ``pvalue``, ``percent``; words for codes:
``label``, ``criterion`` and ``measure`` from :mod:`myositis.report.labels`), and atomic
writing of the rendered page.

Reports are templates on this kernel (``study.html.j2``, ``evidence.html.j2``,
``multisite.html.j2`` extend ``base.html.j2``, which holds the one set of styles and the
footer; a template fills ``title``, ``body`` and, when it has one, ``methods``); what they
show comes from a results dictionary only (:func:`myositis.report.page.render_page`), so any
report can be rendered again from its ``results.json``.
"""

from __future__ import annotations

import math
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from myositis import __version__
from myositis.errors import MyositisError
from myositis.report import labels

if TYPE_CHECKING:
    from jinja2 import Environment


def fmt(value: Any, digits: int = 1) -> str:
    """A number rounded for display ('-' when missing or not finite; text as it is)."""
    if value is None or isinstance(value, str):
        return "-" if value is None else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    number = float(value)
    if not math.isfinite(number):
        return "-"
    if number.is_integer() and digits == 0:
        return f"{int(number)}"
    text = f"{number:.{digits}f}"
    # A value that rounds to zero is shown as 0, never as "-0.0".
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def pvalue(value: Any) -> str:
    """p-values as journals print them: three decimals, '< 0.001' below that."""
    if value is None:
        return "-"
    number = float(value)
    return "< 0.001" if number < 0.001 else f"{number:.3f}"


def percent(value: Any, digits: int = 1) -> str:
    """A proportion (0-1) as a percentage."""
    return "-" if value is None else f"{100 * float(value):.{digits}f}%"


@cache
def environment() -> Environment:
    """The Jinja environment of every report (created on first use: jinja2 loads lazily)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("myositis.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["pvalue"] = pvalue
    env.filters["percent"] = percent
    env.filters["label"] = labels.label
    env.filters["criterion"] = labels.criterion
    env.globals["measure"] = labels.measure
    env.globals["version"] = __version__
    return env


def render_html(template: str, **context: Any) -> str:
    """Render one report template with ``context``."""
    return environment().get_template(template).render(**context)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it, so a reader never sees
    half a file and a failure leaves the previous file in place."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise MyositisError(
            f"{path}: cannot write it ({exc.strerror}); check that the folder exists and is "
            "writable, or choose another --out"
        ) from None
    return path


__all__ = ["environment", "fmt", "percent", "pvalue", "render_html", "write_text_atomic"]

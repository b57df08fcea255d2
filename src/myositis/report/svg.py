"""One exporter of matplotlib figures: inline SVG for the HTML reports, SVG or PNG files.

Text stays text in the SVG (smaller, searchable, selectable) and nothing in the output depends
on the time or the machine, so the same figure gives the same bytes. Every ``id`` inside one
SVG is prefixed with the figure's own name: matplotlib numbers ids per figure (``axes_1``,
clip paths, markers), so two figures inlined in one page would otherwise share ids and a
browser could clip or mark one figure with the other's shapes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from myositis.errors import InputProblem, InvalidInputError, MyositisError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Keys typed loosely: matplotlib types rc_context keys as a Literal of every rcParam name.
EXPORT_STYLE: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "myositis-outcomes"}

_ID = re.compile(r'\bid="([^"]+)"')
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_REFERENCE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)(?=[")])')


@contextmanager
def export_style() -> Iterator[None]:
    """rcParams that make SVG output reproducible with text kept as text."""
    import matplotlib

    with matplotlib.rc_context(EXPORT_STYLE):
        yield


def to_svg(fig: Figure, name: str = "fig") -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog), every id prefixed with
    ``name-`` and every reference to it (``url(#...)``, ``href="#..."``) rewritten to match."""
    if not _NAME.match(name):
        raise MyositisError(f"figure name {name!r}: use letters, digits, '-' and '_'")
    buffer = io.StringIO()
    with export_style():
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    ids = set(_ID.findall(text))
    if not ids:
        return text

    # An id is followed by '"' or ')' and holds neither (matplotlib's ids are letters, digits,
    # '_' and '-'), so a reference is the whole run up to the first of them: one look-up per
    # reference instead of an alternation of every id (thousands in a 1,300-patient figure).
    def prefixed(m: re.Match[str]) -> str:
        return f"{m.group(1)}{name}-{m.group(2)}" if m.group(2) in ids else m.group(0)

    return _REFERENCE.sub(prefixed, text)


def to_png(fig: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes at ``dpi`` dots per inch (white background)."""
    if isinstance(dpi, bool) or not isinstance(dpi, int | float) or dpi <= 0:
        raise InvalidInputError(
            [InputProblem(None, None, repr(dpi), "dpi must be a positive number", "figure")]
        )
    buffer = io.BytesIO()
    with export_style():
        fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 300) -> Path:
    """Write ``fig`` as SVG or PNG according to the suffix of ``path``."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".svg":
        name = re.sub(r"[^A-Za-z0-9_-]", "-", target.stem)
        content: str | bytes = to_svg(fig, name if name[:1].isalpha() else f"fig-{name}")
    elif suffix == ".png":
        content = to_png(fig, dpi)
    else:
        raise MyositisError(f"{target}: figures are written as .svg or .png")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
    except OSError as exc:
        raise MyositisError(
            f"{target}: cannot write the figure ({exc.strerror}); check the folder exists and "
            "is writable"
        ) from None
    return target


__all__ = ["EXPORT_STYLE", "export_style", "save_figure", "to_png", "to_svg"]

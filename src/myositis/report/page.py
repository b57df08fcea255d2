"""A report page = ``base.html.j2`` + a template + figures + a results dictionary.

:func:`render_page` renders what ``results.json`` holds, not the in-memory dictionary a run
built: the results pass through the same JSON conversion first (NaN -> null, dates -> text,
tuples -> lists, keys -> text), and the figures are drawn from that plain copy. So the page a
run writes and the page rendered again from its ``results.json`` are the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from myositis.report.kernel import render_html
from myositis.report.results_json import encode, json_ready
from myositis.report.svg import to_svg

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Draws a page's figures from its (plain) results: name -> figure.
Figures = Callable[[dict[str, Any]], Mapping[str, "Figure"]]


def plain(results: Mapping[str, Any]) -> dict[str, Any]:
    """The results exactly as ``results.json`` holds them: the same conversion and JSON as
    :func:`myositis.report.results_json.dumps`, in one line (the file's line layout is for
    people reading it)."""
    data: dict[str, Any] = json.loads(encode(json_ready(results)))
    return data


def render_page(
    template: str,
    results: Mapping[str, Any],
    figures: Figures | None = None,
    *,
    is_plain: bool = False,
    **context: Any,
) -> str:
    """Render ``template`` with the plain results as ``r`` and each figure inlined as SVG as
    ``fig.<name>`` (every SVG id prefixed with the figure's name, so ids stay unique).
    ``is_plain``: ``results`` already is the output of :func:`plain` (not converted again)."""
    data = dict(results) if is_plain else plain(results)
    drawn = figures(data) if figures is not None else {}
    # The SVG comes from matplotlib (text escaped by it), not from user markup: safe to inline.
    fig = {name: Markup(to_svg(figure, name)) for name, figure in drawn.items()}
    return render_html(template, r=data, fig=fig, **context)


__all__ = ["Figures", "plain", "render_page"]

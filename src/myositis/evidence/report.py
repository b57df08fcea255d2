"""The evidence report: the bundled JAK-inhibitor response proportions pooled overall and by
drug, as a self-contained HTML page on the report kernel.

``write_jak_dm_report`` writes ``report.html`` (forest and funnel plots inlined as SVG, every
number with its source), ``forest.svg``/``.png``, ``funnel.svg``/``.png`` and ``results.json``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from myositis.errors import EvidenceError
from myositis.evidence.plots import forest_figure, funnel_figure
from myositis.evidence.pooling import PoolResult, pool, subgroups
from myositis.evidence.table import load_jak_dm_table, response_effects
from myositis.report.kernel import render_html, write_text_atomic
from myositis.report.results_json import write_json
from myositis.report.svg import save_figure, to_svg


def _row(label: str, result: PoolResult) -> dict[str, Any]:
    return {"label": label, "method": _method_label(result), **result.summary()}


def _method_label(result: PoolResult) -> str:
    if result.k == 1:
        return "single study (its own interval)"
    if result.method == "GLMM":
        return "binomial-normal GLMM (ML, 7-point adaptive quadrature)"
    test = {"z": "", "knha": ", HKSJ", "adhoc": ", modified HKSJ"}[result.test]
    scale = {"PLO": "logit", "PFT": "double arcsine", "PR": "raw"}.get(result.measure, "")
    return f"{scale} {result.method}{test}".strip()


def _out_dir(out: str | Path) -> Path:
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise EvidenceError(f"{target}: exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    return target


def write_jak_dm_report(out: str | Path) -> dict[str, Any]:
    """Pool the bundled JAK-inhibitor response rows and write the report into ``out``.

    Overall: the binomial-normal GLMM (preferred when proportions reach 1, as here), with the
    logit REML model (modified HKSJ) and the double-arcsine REML model as sensitivity analyses.
    By drug: logit REML with modified HKSJ; a drug with one study shows that study.
    Returns the results written to ``results.json``.
    """
    target = _out_dir(out)
    records = load_jak_dm_table()
    logit = response_effects(records, "PLO")
    overall = [
        ("Binomial-normal GLMM (primary)", pool(logit, "GLMM")),
        ("Logit, REML, modified HKSJ", pool(logit, "REML", "adhoc")),
        ("Double arcsine, REML", pool(response_effects(records, "PFT"), "REML")),
    ]
    by_drug = subgroups(logit, "drug", method="REML", test="adhoc")
    fig = forest_figure(
        by_drug,
        title="JAK inhibitors in dermatomyositis: reported response",
        also=[("Binomial-normal GLMM (primary)", overall[0][1])],
    )
    funnel = funnel_figure(logit, overall[1][1], title="Funnel plot (logit REML)")
    for figure, name in ((fig, "forest"), (funnel, "funnel")):
        save_figure(figure, target / f"{name}.svg")
        save_figure(figure, target / f"{name}.png")
    results: dict[str, Any] = {
        "overall": {label: _row(label, r) for label, r in overall},
        "by_drug": {label: _row(label, r) for label, r in by_drug.groups.items()},
        "subgroup_differences": {
            "q": by_drug.q_between,
            "df": by_drug.q_between_df,
            "p": by_drug.q_between_pvalue,
        },
        "studies": [asdict(r) for r in records],
    }
    html = render_html(
        "evidence.html.j2",
        title="JAK inhibitors in dermatomyositis: pooled response in published series",
        n_studies=len({r.study_id for r in records}),
        n_pooled=logit.k,
        overall=[_row(label, r) for label, r in overall],
        by_drug=[_row(label, r) for label, r in by_drug.groups.items()],
        q_between=by_drug.q_between,
        q_between_df=by_drug.q_between_df,
        q_between_p=by_drug.q_between_pvalue,
        forest_svg=to_svg(fig, "forest"),
        funnel_svg=to_svg(funnel, "funnel"),
        records=records,
    )
    write_text_atomic(target / "report.html", html)
    write_json({"kind": "evidence-jak-dm", **results}, target / "results.json")
    return results

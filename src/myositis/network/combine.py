"""Combine site packages of one study: verify them, pool every aggregate across sites with
common- and random-effects models (:mod:`myositis.evidence`), and report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from myositis.errors import EvidenceError, SitePackageError
from myositis.evidence.effects import EffectSizes, means, proportions, rates
from myositis.evidence.plots import forest_figure
from myositis.evidence.pooling import pool
from myositis.network.packages import SECTIONS, read_site_package
from myositis.report.kernel import render_html, write_text_atomic
from myositis.report.results_json import dumps
from myositis.report.svg import to_svg


def _site_effects(section: str, names: list[str], cells: list[dict[str, Any]]) -> EffectSizes:
    if section == "counts":
        return proportions(
            names, [c["count"] for c in cells], [c["denominator"] for c in cells], "PLO"
        )
    if section == "means":
        return means(
            names, [c["mean"] for c in cells], [c["sd"] for c in cells], [c["n"] for c in cells]
        )
    return rates(names, [c["events"] for c in cells], [c["person_time"] for c in cells])


_KIND_LABEL = {"counts": "Proportion", "means": "Mean", "rates": "Rate per unit person-time"}
_VALUE = {
    "counts": lambda c: f"{c['count']}/{c['denominator']}",
    "means": lambda c: f"{c['mean']:.4g} (SD {c['sd']:.4g}, n = {c['n']})",
    "rates": lambda c: f"{c['events']} events / {c['person_time']:.4g}",
}


def site_total(section: str, cells: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The aggregate of all sites together, exactly as one analysis of the pooled rows gives it.

    Counts and denominators, events, person-time and persons add up; means combine into the
    mean and SD of the union of the sites' patients (``n`` weighted mean; SD from the within-
    and between-site sums of squares, divisor ``N - 1``). ``cells`` must hold no suppressed
    value.
    """
    if any(c.get(f) is None for c in cells for f in SECTIONS[section]):
        raise SitePackageError("a total needs every site's value; one is suppressed")
    if section == "counts":
        count = sum(int(c["count"]) for c in cells)
        denominator = sum(int(c["denominator"]) for c in cells)
        return {
            "count": count,
            "denominator": denominator,
            "proportion": count / denominator if denominator else None,
        }
    if section == "means":
        n = [int(c["n"]) for c in cells]
        m = [float(c["mean"]) for c in cells]
        sd = [float(c["sd"]) for c in cells]
        total = sum(n)
        mean = math.fsum(k * x for k, x in zip(n, m, strict=True)) / total
        squares = math.fsum(
            (k - 1) * s**2 + k * (x - mean) ** 2 for k, x, s in zip(n, m, sd, strict=True)
        )
        return {
            "mean": mean,
            "sd": math.sqrt(squares / (total - 1)) if total > 1 else None,
            "n": total,
        }
    events = sum(int(c["events"]) for c in cells)
    person_time = math.fsum(float(c["person_time"]) for c in cells)
    out: dict[str, Any] = {
        "events": events,
        "person_time": person_time,
        "rate": events / person_time,
    }
    if all(c.get("persons") is not None for c in cells):
        out["persons"] = sum(int(c["persons"]) for c in cells)
    return out


def _shown(cell: dict[str, Any]) -> str:
    def text(value: Any) -> str:
        if value is None:
            return "suppressed"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{k} = {text(v)}" for k, v in cell.items() if k != "suppressed")


def combine_packages(
    paths: Sequence[str | Path], out: str | Path, *, method: str = "REML"
) -> dict[str, Any]:
    """Verify site packages, check they share one study, pool each aggregate and report.

    Every aggregate reported (not suppressed) by at least two sites is pooled with a common
    (equal) effect model and a random-effects model (``method``, REML by default): counts as
    logit proportions, means as means, rates as log incidence rates, each back-transformed.
    Sites whose value is suppressed are listed as not pooled. When every site reports an
    aggregate unsuppressed, its ``total`` is the all-sites value (:func:`site_total`: the sums
    of counts, denominators, events and person-time, the combined mean and SD), equal to what
    one analysis of all sites' rows gives; otherwise ``total`` is null. Writes ``combined.json`` and
    ``report.html`` (forest plots inlined) into ``out`` and returns the combined results.
    """
    if method not in ("DL", "REML", "PM"):
        raise EvidenceError(f"random-effects method must be DL, REML or PM; got {method!r}")
    if len(paths) < 2:
        raise SitePackageError(f"combining needs at least 2 site packages; got {len(paths)}")
    packages = [read_site_package(p) for p in paths]
    hashes = {p.spec_hash for p in packages}
    if len(hashes) > 1:
        listing = "; ".join(f"{p.path} ({p.site}): {p.spec_hash}" for p in packages)
        raise SitePackageError(
            "the site packages come from different study specifications (spec hashes differ): "
            + listing
        )
    seen: dict[str, Path] = {}
    for p in packages:
        if p.site in seen:
            raise SitePackageError(f"site {p.site!r} appears twice: {seen[p.site]} and {p.path}")
        seen[p.site] = p.path
    kinds: dict[str, str] = {}
    for p in packages:
        for section, entries in p.aggregates.items():
            for name in entries:
                if kinds.setdefault(name, section) != section:
                    raise SitePackageError(
                        f"{p.path}: {name!r} is a {section[:-1]} here but a "
                        f"{kinds[name][:-1]} in another package"
                    )
    analyses: dict[str, Any] = {}
    html_analyses: list[dict[str, Any]] = []
    for name in sorted(kinds):
        section = kinds[name]
        usable: list[tuple[str, dict[str, Any]]] = []
        complete: list[dict[str, Any]] = []  # every value shown: what a total needs
        excluded: list[str] = []
        site_rows = []
        for p in packages:
            cell = p.aggregates.get(section, {}).get(name)
            if cell is None:
                excluded.append(f"{p.site} (not reported)")
                continue
            if any(cell[f] is None for f in SECTIONS[section]):
                excluded.append(f"{p.site} (suppressed)")
                site_rows.append({"site": p.site, "value": _shown(cell), "estimate": "-"})
                continue
            complete.append(cell)
            if section == "means" and cell["sd"] == 0:
                # An inverse-variance weight needs a sampling variance above 0.
                excluded.append(f"{p.site} (SD 0: no sampling variance to weight by)")
                site_rows.append({"site": p.site, "value": _VALUE[section](cell), "estimate": "-"})
                continue
            usable.append((p.site, cell))
        entry: dict[str, Any] = {
            "kind": section,
            "sites": [
                {"site": s, **{k: v for k, v in c.items() if k != "partition"}} for s, c in usable
            ],
            "excluded": excluded,
            "total": site_total(section, complete) if len(complete) == len(packages) else None,
            "common": None,
            "random": None,
        }
        forest = None
        pooled_rows = []
        if usable:
            effects = _site_effects(section, [s for s, _ in usable], [c for _, c in usable])
            for (site_name, cell), est in zip(usable, _site_estimates(effects), strict=True):
                site_rows.append(
                    {"site": site_name, "value": _VALUE[section](cell), "estimate": est}
                )
            order = {p.site: i for i, p in enumerate(packages)}
            site_rows.sort(key=lambda row: order[row["site"]])
        if len(usable) >= 2:
            common = pool(effects, "EE")
            random = pool(effects, method)  # type: ignore[arg-type]
            entry["common"] = common.summary()
            entry["random"] = random.summary()
            pooled_rows = [
                {"label": "Common effect", **common.summary()},
                {"label": f"Random effects ({method})", **random.summary()},
            ]
            forest = to_svg(
                forest_figure(random, title=name, effect_label=_KIND_LABEL[section]),
                f"forest-{len(html_analyses) + 1}",
            )
        analyses[name] = entry
        html_analyses.append(
            {
                "name": name,
                "kind_label": _KIND_LABEL[section],
                "value_label": f"{_KIND_LABEL[section]} [95% CI]",
                "excluded": excluded,
                "site_rows": site_rows,
                "total": None if entry["total"] is None else _VALUE[section](entry["total"]),
                "pooled": pooled_rows,
                "forest_svg": forest,
            }
        )
    spec_hash = packages[0].spec_hash
    combined = {
        "format": "myositis-multisite-results",
        "spec_hash": spec_hash,
        "method": {"common": "EE", "random": method},
        "sites": [
            {
                "site": p.site,
                "file": str(p.path),
                "software_version": p.software_version,
                "small_cell_threshold": p.threshold,
                "checksum": p.checksum,
            }
            for p in packages
        ],
        "analyses": analyses,
    }
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise EvidenceError(f"{target}: exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target / "combined.json", dumps(combined))
    html = render_html(
        "multisite.html.j2",
        **{
            "title": "Multi-site results",
            "spec_hash": spec_hash,
            "sites": [
                {
                    "site": p.site,
                    "software_version": p.software_version,
                    "threshold": p.threshold,
                    "checksum": p.checksum,
                }
                for p in packages
            ],
            "analyses": html_analyses,
        },
    )
    write_text_atomic(target / "report.html", html)
    return combined


def _site_estimates(effects: EffectSizes) -> list[str]:
    from myositis.evidence.effects import to_natural

    out = []
    for i in range(effects.k):
        y, se = float(effects.yi[i]), float(np.sqrt(effects.vi[i]))
        n = None if effects.n is None else effects.n[i : i + 1]
        est, lo, hi = to_natural(effects.measure, np.array([y, y - 1.96 * se, y + 1.96 * se]), n)
        out.append(f"{est:.4g} [{lo:.4g}, {hi:.4g}]")
    return out


__all__ = ["combine_packages", "site_total"]

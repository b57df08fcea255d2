"""Multi-site aggregate packages: write one per site, verify and pool them centrally.

A site runs the same study specification on its own data and shares only aggregates: counts
with their denominators, means with SDs and sizes, event counts with person-time. Cells below
the small-cell threshold (default 5, as OHDSI network studies) are suppressed before anything
leaves the site, together with the complementary cells that would reveal them. The package is
one JSON file with a SHA-256 checksum over its canonical content; the format is documented in
``docs/evidence.md`` ("Site packages").

``write_site_package`` is the stable entry point the study runner calls; ``read_site_package``
verifies a file; ``combine_packages`` checks that all packages belong to the same study and
pools every aggregate across sites with common- and random-effects models.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from myositis import __version__
from myositis.errors import EvidenceError, SitePackageError
from myositis.evidence.effects import EffectSizes, means, proportions, rates
from myositis.evidence.plots import figure_svg, forest_figure
from myositis.evidence.pooling import pool

FORMAT = "myositis-site-package"
FORMAT_VERSION = 1
DEFAULT_THRESHOLD = 5
SECTIONS: dict[str, tuple[str, ...]] = {
    "counts": ("count", "denominator"),
    "means": ("mean", "sd", "n"),
    "rates": ("events", "person_time"),
}
OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "counts": ("partition",),
    "means": (),
    "rates": ("persons",),
}
#: Optional fields that are values (and so can be suppressed), not labels.
_OPTIONAL_VALUES: dict[str, tuple[str, ...]] = {"counts": (), "means": (), "rates": ("persons",)}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
_PER_PERSON = re.compile(r"(patient|subject|person|participant|record|mrn|pid)[_\-.]?\d", re.I)
_SPEC_HASH = re.compile(r"^(sha256:)?[0-9a-f]{64}$")


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """Canonical JSON (sorted keys, no whitespace, UTF-8) that the checksum covers."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def checksum(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a package without its ``checksum`` member."""
    body = {key: value for key, value in content.items() if key != "checksum"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def _whole(value: Any, where: str, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SitePackageError(f"{where}: expected a whole number, got {_kind(value)}")
    if not math.isfinite(float(value)) or float(value) != int(value):
        raise SitePackageError(f"{where}: expected a whole number, got {value!r}")
    number = int(value)
    if number < 0 or (positive and number == 0):
        raise SitePackageError(f"{where}: must be {'above' if positive else 'at least'} 0")
    return number


def _real(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SitePackageError(f"{where}: expected a number, got {_kind(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise SitePackageError(f"{where}: expected a finite number, got {value!r}")
    return number


def _kind(value: Any) -> str:
    if isinstance(value, list | tuple | set | np.ndarray) or hasattr(value, "__array__"):
        return "a sequence of values, which looks row-level; share aggregates only"
    if isinstance(value, Mapping):
        return "a nested mapping, which is not one of the aggregate forms"
    return f"{type(value).__name__} {value!r}"


def _check_structure(aggregates: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Validate the aggregate mapping (see :func:`write_site_package`) and copy it."""
    if not isinstance(aggregates, Mapping):
        raise SitePackageError(
            f"aggregates must be a mapping of {', '.join(SECTIONS)}; got "
            f"{type(aggregates).__name__} (row-level tables cannot be written to a site package)"
        )
    unknown = [key for key in aggregates if key not in SECTIONS]
    if unknown:
        raise SitePackageError(
            f"unknown aggregate section(s) {unknown}; allowed: {', '.join(SECTIONS)}"
        )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    names: set[str] = set()
    for section, entries in aggregates.items():
        if not isinstance(entries, Mapping):
            raise SitePackageError(f"aggregates[{section!r}]: {_kind(entries)}")
        out[section] = {}
        for name, entry in entries.items():
            where = f"aggregates[{section!r}][{name!r}]"
            if not isinstance(name, str) or not _NAME.match(name):
                raise SitePackageError(
                    f"{where}: names are 1-64 letters, digits, '_', '.', '-', starting with a "
                    "letter"
                )
            if _PER_PERSON.search(name):
                raise SitePackageError(
                    f"{where}: the name looks like one person's record; share aggregates only"
                )
            if name in names:
                raise SitePackageError(f"{where}: the name is used in two sections")
            names.add(name)
            if not isinstance(entry, Mapping):
                raise SitePackageError(f"{where}: {_kind(entry)}")
            allowed = set(SECTIONS[section]) | set(OPTIONAL_FIELDS[section]) | {"suppressed"}
            extra = sorted(set(entry) - allowed)
            if extra:
                raise SitePackageError(
                    f"{where}: unexpected field(s) {extra}; a {section[:-1]} has "
                    f"{', '.join(SECTIONS[section])}"
                )
            missing = [f for f in SECTIONS[section] if f not in entry]
            if missing:
                raise SitePackageError(f"{where}: missing field(s) {missing}")
            out[section][name] = dict(entry)
    if not names:
        raise SitePackageError("aggregates are empty; there is nothing to share")
    return out


def _validate_values(section: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    where = f"aggregates[{section!r}][{name!r}]"
    suppressed = set(entry.get("suppressed", []))
    clean: dict[str, Any] = {}
    for field in SECTIONS[section]:
        value = entry[field]
        if value is None:
            if field not in suppressed:
                raise SitePackageError(f"{where}: {field} is empty but not marked suppressed")
            clean[field] = None
            continue
        label = f"{where}.{field}"
        if field in ("count", "denominator", "events"):
            clean[field] = _whole(value, label)
        elif field == "n":
            clean[field] = _whole(value, label, positive=True)
        elif field == "person_time":
            clean[field] = _real(value, label)
            if clean[field] <= 0:
                raise SitePackageError(f"{label}: person-time must be above 0")
        else:
            clean[field] = _real(value, label)
            if field == "sd" and clean[field] < 0:
                raise SitePackageError(f"{label}: an SD cannot be negative")
    if section == "counts":
        c, d = clean["count"], clean["denominator"]
        if c is not None and d is not None and c > d:
            raise SitePackageError(f"{where}: count {c} is larger than its denominator {d}")
        if "partition" in entry:
            if not isinstance(entry["partition"], str) or not _NAME.match(entry["partition"]):
                raise SitePackageError(f"{where}.partition: expected a name")
            clean["partition"] = entry["partition"]
    if section == "rates" and "persons" in entry:
        if entry["persons"] is None:
            if "persons" not in suppressed:
                raise SitePackageError(f"{where}: persons is empty but not marked suppressed")
            clean["persons"] = None
        else:
            clean["persons"] = _whole(entry["persons"], f"{where}.persons", positive=True)
    return clean


def _small(value: int | None, threshold: int) -> bool:
    return value is not None and 0 < value < threshold


def suppress(
    aggregates: Mapping[str, Mapping[str, Mapping[str, Any]]], threshold: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """Apply small-cell suppression (rules in :func:`write_site_package`)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for section, entries in aggregates.items():
        out[section] = {}
        for name, entry in entries.items():
            cell = dict(entry)
            hidden: set[str] = set(cell.pop("suppressed", []))
            if section == "counts":
                c, d = cell["count"], cell["denominator"]
                if _small(d, threshold):
                    hidden |= {"count", "denominator"}
                elif _small(c, threshold) or (
                    c is not None and d is not None and _small(d - c, threshold)
                ):
                    hidden.add("count")
            elif section == "means":
                if _small(cell["n"], threshold):
                    hidden |= {"mean", "sd", "n"}
            elif _small(cell.get("persons"), threshold):
                # Person-time of fewer persons than the threshold is (nearly) one person's
                # time on treatment: hide it with the events and the number of persons.
                hidden |= {"events", "person_time", "persons"}
            elif _small(cell["events"], threshold):
                hidden.add("events")
            for field in hidden:
                cell[field] = None
            if hidden:
                cell["suppressed"] = sorted(hidden)
            out[section][name] = cell
    _suppress_complements(out.get("counts", {}))
    return out


def _suppress_complements(counts: dict[str, dict[str, Any]]) -> None:
    """Within a partition (counts of disjoint categories of one denominator), one hidden cell
    can be recovered from the others, so hide the next smallest too."""
    groups: dict[tuple[str, Any], list[str]] = {}
    for name, cell in counts.items():
        if "partition" in cell:
            groups.setdefault((cell["partition"], cell["denominator"]), []).append(name)
    for members in groups.values():
        hidden = [m for m in members if counts[m]["count"] is None]
        shown = sorted(
            (m for m in members if counts[m]["count"] is not None),
            key=lambda m: (counts[m]["count"], m),
        )
        if len(hidden) == 1 and shown:
            cell = counts[shown[0]]
            cell["count"] = None
            cell["suppressed"] = sorted(set(cell.get("suppressed", [])) | {"count"})


def write_site_package(
    aggregates: Mapping[str, Any],
    path: str | Path,
    *,
    spec_hash: str,
    site: str,
    threshold: int = DEFAULT_THRESHOLD,
) -> Path:
    """Write one site's aggregates as a checksummed JSON package, suppressing small cells.

    ``aggregates`` is a mapping with up to three sections, each mapping a name (1-64 letters,
    digits, ``_ . -``, starting with a letter) to one aggregate::

        {
          "counts": {"responders_w24": {"count": 12, "denominator": 30},
                     "subtype_amyopathic": {"count": 3, "denominator": 30,
                                            "partition": "subtype"}},
          "means":  {"cdasi_change_w24": {"mean": -10.2, "sd": 7.1, "n": 28}},
          "rates":  {"herpes_zoster": {"events": 3, "person_time": 41.5}},
        }

    Counts, denominators, ``n`` and events are whole numbers >= 0 (``n`` > 0); ``sd`` >= 0;
    ``person_time`` > 0 (in the unit the study specifies, e.g. years). ``partition`` (optional)
    names a set of counts of disjoint categories sharing one denominator. A rate's optional
    ``persons`` (whole number > 0) is the number of persons whose time ``person_time`` sums.

    Suppression with threshold ``t`` (cells of 1 to t-1 are hidden; 0 is shown):

    - a count is hidden if it or its complement ``denominator - count`` is below ``t``; a
      denominator below ``t`` hides both;
    - in a partition, if exactly one count is hidden, the next smallest is hidden too;
    - a mean with ``n`` below ``t`` hides mean, SD and n;
    - a rate's events below ``t`` are hidden (person-time stays); a rate whose ``persons`` are
      below ``t`` hides events, person-time and persons (the person-time of one or a few
      persons is their time on treatment).

    Hidden values are written as ``null`` and listed in the entry's ``suppressed`` list.
    Anything that is not one of these aggregate forms (lists of values, data frames, nested
    tables, per-person names such as ``patient_12``) is refused with
    :class:`myositis.errors.SitePackageError`. ``spec_hash`` is the study specification's
    SHA-256 (64 lowercase hex digits, optionally prefixed ``sha256:``).
    """
    if not isinstance(spec_hash, str) or not _SPEC_HASH.match(spec_hash):
        raise SitePackageError(
            f"spec_hash must be a SHA-256 in hex (64 characters); got {spec_hash!r}"
        )
    if not isinstance(site, str) or not site.strip() or len(site) > 100:
        raise SitePackageError("site must be a non-empty name of at most 100 characters")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise SitePackageError(f"threshold must be a whole number of at least 1; got {threshold!r}")
    structure = _check_structure(aggregates)
    if any("suppressed" in entry for entries in structure.values() for entry in entries.values()):
        raise SitePackageError("pass raw aggregates; suppression is applied when writing")
    values = {
        section: {name: _validate_values(section, name, entry) for name, entry in entries.items()}
        for section, entries in structure.items()
    }
    content: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec_hash": spec_hash,
        "site": site.strip(),
        "software": {"name": "myositis-outcomes", "version": __version__},
        "small_cell_threshold": threshold,
        "aggregates": suppress(values, threshold),
    }
    content["checksum"] = {"algorithm": "sha256", "value": checksum(content)}
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return target


@dataclass(frozen=True)
class SitePackage:
    """A verified site package."""

    path: Path
    site: str
    spec_hash: str
    software_version: str
    threshold: int
    checksum: str
    aggregates: dict[str, dict[str, dict[str, Any]]]


def read_site_package(path: str | Path) -> SitePackage:
    """Read ``path`` and verify its format, checksum and aggregate content."""
    source = Path(path)
    try:
        content = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SitePackageError(f"{source}: no such file") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SitePackageError(f"{source}: not a JSON site package ({exc})") from exc
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise SitePackageError(f"{source}: not a {FORMAT} file")
    if content.get("format_version") != FORMAT_VERSION:
        raise SitePackageError(
            f"{source}: format version {content.get('format_version')!r}; this software reads "
            f"version {FORMAT_VERSION}"
        )
    stored = content.get("checksum")
    if not isinstance(stored, dict) or stored.get("algorithm") != "sha256":
        raise SitePackageError(f"{source}: the package has no SHA-256 checksum")
    actual = checksum(content)
    if stored.get("value") != actual:
        raise SitePackageError(
            f"{source}: checksum mismatch (stored {stored.get('value')!r}, content gives "
            f"{actual!r}); the file was changed or damaged after it was written"
        )
    for key in ("spec_hash", "site", "software", "small_cell_threshold", "aggregates"):
        if key not in content:
            raise SitePackageError(f"{source}: missing member {key!r}")
    try:
        structure = _check_structure(content["aggregates"])
        values = {
            section: {n: _validate_values(section, n, e) for n, e in entries.items()}
            for section, entries in structure.items()
        }
    except SitePackageError as exc:
        raise SitePackageError(f"{source}: {exc}") from exc
    for section, entries in structure.items():
        for name, entry in entries.items():
            marked = entry.get("suppressed", [])
            if not isinstance(marked, list) or any(
                f not in SECTIONS[section] + _OPTIONAL_VALUES[section]
                or entry.get(f, 0) is not None
                for f in marked
            ):
                raise SitePackageError(
                    f"{source}: aggregates[{section!r}][{name!r}]: the 'suppressed' list must "
                    "name fields whose values are null"
                )
            if marked:
                values[section][name]["suppressed"] = list(marked)
    threshold = content["small_cell_threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise SitePackageError(f"{source}: small_cell_threshold must be a whole number >= 1")
    software = content["software"]
    return SitePackage(
        path=source,
        site=str(content["site"]),
        spec_hash=str(content["spec_hash"]),
        software_version=str(software.get("version", "")) if isinstance(software, dict) else "",
        threshold=threshold,
        checksum=actual,
        aggregates=values,
    )


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
    from myositis.evidence.report import json_ready, render_multisite_html

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
    html_analyses = []
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
            forest = figure_svg(
                forest_figure(random, title=name, effect_label=_KIND_LABEL[section])
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
    (target / "combined.json").write_text(
        json.dumps(json_ready(combined), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    html = render_multisite_html(
        {
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
        }
    )
    (target / "report.html").write_text(html, encoding="utf-8")
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

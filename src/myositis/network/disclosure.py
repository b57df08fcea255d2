"""Disclosure control: small-cell and complementary suppression of aggregates.

Every output meant to leave a site goes through :func:`suppress` (site packages of study runs
today; trial and capture outputs later). A cell of 1 to ``threshold - 1`` is hidden (0 is
shown, as OHDSI network studies do), together with the cells that would give it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Default small-cell threshold (counts below 5 are hidden).
DEFAULT_THRESHOLD = 5


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


__all__ = ["DEFAULT_THRESHOLD", "suppress"]

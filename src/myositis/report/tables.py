"""The report's tables as CSV files (``tables/<name>.csv``), built from ``results.json``.

Each table is a list of rows with the same columns; numbers are written unrounded so that the
CSV files hold the values the report rounds for display.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from myositis.report.results_json import json_ready

_SUMMARY = ("n", "mean", "sd", "median", "q1", "q3", "min", "max", "ci_low", "ci_high")


def _summary_row(label: str, summary: dict[str, Any]) -> dict[str, Any]:
    return {"measure": label, **{k: summary.get(k) for k in _SUMMARY}}


def _by_subtype_row(key: str, block: dict[str, Any]) -> dict[str, Any]:
    """One row of CDASI change by subtype or by subtype group."""
    return {
        key: block[key],
        "n": block["n"],
        "baseline_mean": block["baseline"].get("mean"),
        "improvement_mean": block["improvement"].get("mean"),
        "improvement_sd": block["improvement"].get("sd"),
        "improvement_min": block["improvement"].get("min"),
        "improvement_max": block["improvement"].get("max"),
    }


def table1_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Table 1 in long form: characteristic, category, count, percent or summary values."""
    b = results["baseline_characteristics"]
    rows: list[dict[str, Any]] = [{"characteristic": "Patients", "category": "", "value": b["n"]}]
    for key, title in (
        ("sex", "Sex"),
        ("race", "Race"),
        ("ethnicity", "Ethnicity"),
        ("site", "Site"),
        ("subtype", "Subtype"),
        ("subtype_group", "Subtype group"),
        ("jak_inhibitor", "JAK inhibitor"),
    ):
        for c in b[key]:
            rows.append(
                {
                    "characteristic": title,
                    "category": c["category"],
                    "value": c["count"],
                    "percent": c["percent"],
                }
            )
    for key, title in (
        ("age_at_index", "Age at index (years)"),
        ("disease_duration_years", "Disease duration (years)"),
        ("prior_systemic_therapies", "Prior systemic therapies"),
        ("baseline_cdasi_activity", "Baseline CDASI activity"),
    ):
        s = b[key]
        rows.append(
            {
                "characteristic": title,
                "category": "mean (SD); median; range",
                "value": s.get("mean"),
                "sd": s.get("sd"),
                "median": s.get("median"),
                "min": s.get("min"),
                "max": s.get("max"),
                "n": s.get("n"),
            }
        )
    return rows


def tables(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every table of the report by file name."""
    cdasi = results["cdasi"]
    overall = cdasi["overall"]
    ttr = results["response"]["time_to_response"]
    out: dict[str, list[dict[str, Any]]] = {
        "attrition": results["attrition"],
        "table1_baseline_characteristics": table1_rows(results),
        "cdasi_change": [
            _summary_row("baseline", overall["baseline"]),
            _summary_row("follow-up", overall["followup"]),
            _summary_row("improvement", overall["improvement"]),
        ],
        "cdasi_tests": [
            {"test": name, **{k: v for k, v in overall[name].items()}}
            for name in ("paired_t", "wilcoxon", "wilcoxon_exact")
        ],
        "cdasi_by_subtype": [_by_subtype_row("subtype", g) for g in cdasi["by_subtype"]],
        "cdasi_by_subtype_group": [_by_subtype_row("group", g) for g in cdasi["by_subtype_group"]],
        "time_to_response_windows": ttr["windows"],
        "kaplan_meier": ttr["table"],
        "dose_by_drug": [
            {
                "drug": g["drug"],
                "patients": g["patients"],
                **_summary_row("max_mg_per_day", g["max_mg_per_day"]),
            }
            for g in results["dosing"].get("by_drug", [])
        ],
        "dose_regimens": results["dosing"]["regimens"],
        "adverse_events": results["adverse_events"]["by_term"],
        # an earlier version's results have no deaths: an empty table, as with no deaths
        "deaths": results.get("deaths", {}).get("patients", []),
        "concomitant_therapies": results["concomitant_therapy"]["by_therapy"],
        "patients": results["patients"],
    }
    return out


def _cell(value: Any) -> Any:
    return ";".join(map(str, value)) if isinstance(value, list) else value


def write_tables(results: dict[str, Any], folder: Path) -> list[Path]:
    """Write every table as ``folder/<name>.csv``; returns the paths."""
    return write_named_tables(tables(results), folder)


def write_named_tables(named: dict[str, list[dict[str, Any]]], folder: Path) -> list[Path]:
    """Write each table of ``named`` (rows of one table share their columns, in order of
    first appearance) as ``folder/<name>.csv``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in named.items():
        path = folder / f"{name}.csv"
        clean = [json_ready(r) for r in rows]
        columns: list[str] = []
        for row in clean:
            columns += [k for k in row if k not in columns]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns or ["empty"])
            writer.writeheader()
            for row in clean:
                writer.writerow({k: _cell(v) for k, v in row.items()})
        written.append(path)
    return written


__all__ = ["table1_rows", "tables", "write_named_tables", "write_tables"]

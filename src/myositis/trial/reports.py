"""Trial reports on the report kernel, rendered from a results dictionary alone.

A report folder holds ``report.html`` (self-contained: tables, the CONSORT diagram and figures
inline), ``results.json`` (every number, with provenance; ``myositis trial render`` renders the
page again from it), ``consort.svg`` and ``consort.png`` (the flow diagram for a manuscript)
and the per-patient tables ``endpoints.csv``, ``visits.csv`` and ``listing.csv`` (the
derivation listing: every step with the registry rows it used). Files are written into a
``.partial`` folder and moved into place only when all of them were written.

Blinded results (``trial-blinded``) carry no arm, so neither does anything made from them.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from myositis.errors import MyositisError
from myositis.report.kernel import write_text_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TEMPLATES = {
    "trial-blinded": "trial_blinded.html.j2",
    "trial-unblinded": "trial_unblinded.html.j2",
    "trial-pilot": "trial_pilot.html.j2",
}

#: Columns of the per-patient tables (``arm`` only in unblinded and pilot results).
ENDPOINT_COLUMNS = (
    "person_id",
    "stratum",
    "arm",
    "endpoint",
    "visit",
    "observed",
    "responder",
    "basis",
    "reason",
    "events",
)
VISIT_COLUMNS = (
    "person_id",
    "stratum",
    "arm",
    "visit",
    "due",
    "date",
    "tis",
    "tis_category",
    "doi_met",
    "doi_improved",
    "doi_worsened",
    "not_computable",
)
LISTING_COLUMNS = ("person_id", "step", "detail", "sources")


def check_kind(results: dict[str, Any], source: str = "results") -> str:
    kind = str(results.get("kind"))
    if kind not in TEMPLATES:
        raise MyositisError(
            f"{source}: holds '{kind}' results, not a trial report's ("
            f"{', '.join(TEMPLATES)}); give the results.json that 'myositis trial report' wrote"
        )
    return kind


def figures(results: dict[str, Any]) -> dict[str, Figure]:
    """The report's figures, drawn from its plain results: the CONSORT diagram, and for a
    pilot the CDASI activity of each patient at baseline and at the primary visit."""
    from myositis.report.consort import consort_figure

    drawn = {"consort": consort_figure(results["consort"])}
    if results["kind"] == "trial-pilot":
        from myositis.report.figures import trajectories

        c = results["cdasi"]
        days = {v["name"]: v["day"] for v in results["design"]["visits"]}
        series = {
            str(p["person_id"]): [
                (days[name] / 7, p[name]["value"])
                for name in (c["baseline_visit"], c["visit"])
                if p[name] is not None
            ]
            for p in c["patients"]
            if p[c["baseline_visit"]] is not None or p[c["visit"]] is not None
        }
        if series:
            drawn["cdasi"] = trajectories(
                series, xlabel="Weeks since day 0", ylabel="CDASI activity"
            )
    return drawn


def render_trial_html(results: dict[str, Any]) -> str:
    """The report page of a trial results dictionary (blinded, unblinded or pilot), rendered
    from what its ``results.json`` holds (:func:`myositis.report.page.render_page`)."""
    from myositis.report.page import render_page

    kind = check_kind(results)
    groups = {g["key"]: g for g in results["groups"]}
    return render_page(TEMPLATES[kind], results, figures, groups=groups,
                       title=results["trial"]["title"])  # fmt: skip


def _csv(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def tables(results: dict[str, Any]) -> dict[str, str]:
    """The per-patient CSV tables (file name -> text), from the results alone."""
    patients = results["patients"]
    with_arm = any("arm" in p for p in patients)

    def keep(columns: Sequence[str]) -> list[str]:
        return [c for c in columns if c != "arm" or with_arm]

    endpoint_rows: list[list[Any]] = [keep(ENDPOINT_COLUMNS)]
    visit_rows: list[list[Any]] = [keep(VISIT_COLUMNS)]
    listing_rows: list[list[Any]] = [list(LISTING_COLUMNS)]
    for p in patients:
        base = {"person_id": p["person_id"], "stratum": p["stratum"], "arm": p.get("arm")}
        for e in p["endpoints"]:
            events = "; ".join(f"{ev['kind']} {ev['date'] or ''}".strip() for ev in e["events"])
            row = base | e | {"events": events}
            endpoint_rows.append([row[c] for c in endpoint_rows[0]])
        for v in p["visits"]:
            row = base | v
            visit_rows.append([row[c] for c in visit_rows[0]])
        for t in p["listing"]:
            listing_rows.append([p["person_id"], t["step"], t["detail"], "; ".join(t["sources"])])
    out = {
        "endpoints.csv": _csv(endpoint_rows),
        "visits.csv": _csv(visit_rows),
        "listing.csv": _csv(listing_rows),
    }
    if results["problems"]:
        out["problems.csv"] = _csv([["problem"], *([p] for p in results["problems"])])
    return out


def _publish(staging: Path, target: Path) -> None:
    """Move the finished files into ``target`` (same names replaced; other files stay)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(staging.iterdir()):
        destination = target / item.name
        if destination.is_dir():
            shutil.rmtree(destination)
        item.replace(destination)
    staging.rmdir()


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise MyositisError(f"--out {out}: exists and is not a folder; choose another --out")


def write_files(files: dict[str, str | bytes], out: Path) -> list[Path]:
    """Write ``files`` (name -> content) into ``out`` all together (staged, then moved)."""
    check_out(out)
    staging = out.with_name(f".{out.name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    try:
        staging.mkdir(parents=True)
        for name, content in files.items():
            if isinstance(content, bytes):
                (staging / name).write_bytes(content)
            else:
                write_text_atomic(staging / name, content)
        _publish(staging, out)
    except OSError as exc:
        raise MyositisError(
            f"--out {out}: cannot write the report ({exc.strerror}); check that the folder is "
            "writable; nothing was written"
        ) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return [out / name for name in files]


def write_trial_report(results: dict[str, Any], out: Path) -> list[Path]:
    """Write the report folder (see the module docstring); returns the files written."""
    from myositis.report.consort import consort_figure
    from myositis.report.page import plain
    from myositis.report.results_json import dumps
    from myositis.report.svg import to_png, to_svg

    check_kind(results)
    data = plain(results)  # what results.json holds, so a re-render gives the same bytes
    figure = consort_figure(data["consort"])
    files: dict[str, str | bytes] = {
        "report.html": render_trial_html(data),
        "results.json": dumps(data),
        "consort.svg": to_svg(figure, "consort"),
        "consort.png": to_png(figure, dpi=200),
        **tables(data),
    }
    return write_files(files, out)


__all__ = [
    "TEMPLATES",
    "check_kind",
    "figures",
    "render_trial_html",
    "tables",
    "write_files",
    "write_trial_report",
]

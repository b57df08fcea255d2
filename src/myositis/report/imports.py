"""The import report: the accounting of one import (``ImportResult.as_dict()``) as JSON and as
an HTML page on the report kernel, so that every record read is found stored or rejected with
its file, line or resource and reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Final

from myositis.report.kernel import render_html, write_text_atomic
from myositis.report.results_json import write_json

#: Problems listed one by one in the HTML page (the JSON lists all of them).
SHOWN: Final = 1000


def render_import_html(result: dict[str, Any]) -> str:
    """The HTML page of one import's accounting."""
    problems = result["problems"]
    counts = Counter((p["reason"], p["severity"]) for p in problems)
    reasons = [
        {"reason": reason, "severity": severity, "count": n}
        for (reason, severity), n in counts.most_common()
    ]
    verb = "stored" if result["status"] == "stored" else "refused"
    return render_html(
        "import.html.j2",
        title=f"Import report ({result['source_kind']}): {verb}",
        r=result,
        reasons=reasons,
        problems=problems[:SHOWN],
        hidden=max(len(problems) - SHOWN, 0),
    )


def write_import_report(result: dict[str, Any], folder: Path, stem: str) -> tuple[Path, Path]:
    """Write ``stem.json`` and ``stem.html`` into ``folder``; return their paths."""
    data = {"kind": "import", **result}
    json_path = write_json(data, folder / f"{stem}.json")
    html_path = write_text_atomic(folder / f"{stem}.html", render_import_html(data))
    return json_path, html_path


__all__ = ["SHOWN", "render_import_html", "write_import_report"]

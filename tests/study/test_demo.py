"""``myositis demo``: synthetic two-site registry + bundled study, end to end, in under a minute."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def test_demo_builds_a_synthetic_registry_and_reports_in_under_a_minute(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "myositis.cli", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    assert done.returncode == 0, done.stdout + done.stderr
    assert seconds < 60
    assert f"report: {(out / 'report.html').resolve()}" in done.stdout
    assert "SYNTHETIC data" in done.stdout

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["synthetic"] is True
    assert results["registry_metadata"]["sites"] == "2"
    assert results["study"]["id"] == "jak-refractory-dm"
    steps = [s["remaining"] for s in results["attrition"]]
    assert steps[0] == 60_000 and all(a >= b for a, b in zip(steps, steps[1:], strict=False))
    assert steps[-1] >= 30  # enough patients for every table and figure
    assert "SYNTHETIC DATA" in (out / "report.html").read_text(encoding="utf-8")
    assert (out / "registry.duckdb").exists()
    assert len(list((out / "shareable").glob("site-*.json"))) == 2

"""Lint (ruff) and type checks (mypy) run as part of the test suite, so the README's one test
command covers them and CI cannot forget them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint_is_clean() -> None:
    result = _run("ruff", "check", "src", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_on_the_package_is_clean() -> None:
    result = _run("mypy", "src/myositis")
    assert result.returncode == 0, result.stdout + result.stderr

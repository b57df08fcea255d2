"""The package's layers flow one way (../shared/design/architecture.md).

Data flows ``sources -> registry -> cohort -> analysis -> report``; ``errors``, ``progress``,
``tables`` (the one CSV/Parquet reader), ``codes``, ``instruments``, ``documents`` (YAML
specifications) and ``cache`` (the cache folder) are below everything; ``evidence``,
``network``, ``study`` and ``trial`` are above; ``cli`` is on top. Every import of the
package, at module level or inside a function, must go to a lower layer or stay inside its own
package. There is no list of exceptions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "myositis"

#: Layer of each top-level part of the package (``myositis`` is the package's own __init__).
LAYERS: dict[str, int] = {
    "errors": 0,
    "progress": 0,
    "myositis": 1,
    "tables": 1,
    "codes": 1,
    "cache": 2,
    "documents": 2,
    "instruments": 2,
    "registry": 3,
    "sources": 4,
    "cohort": 4,
    "analysis": 5,
    "report": 6,
    "evidence": 7,
    "network": 8,
    "study": 9,
    "trial": 9,
    "cli": 10,
    "__main__": 11,  # python -m myositis: the command line
}


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if relative == Path("__init__.py"):
        return "myositis"
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a myositis module in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "myositis" or n.startswith("myositis.")]
    return found


def _target(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "myositis"


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {_part(p) for p in PACKAGE.rglob("*.py")}
    assert parts <= set(LAYERS), f"give these parts a layer: {sorted(parts - set(LAYERS))}"


def test_no_import_runs_up_a_layer() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        for line, module in _imports(path):
            target = _target(module)
            if target != part and LAYERS[target] >= LAYERS[part]:
                where = f"{path.relative_to(PACKAGE.parent)}:{line}"
                upward.append(f"{where} ({part}, layer {LAYERS[part]}) imports {module} "
                              f"({target}, layer {LAYERS[target]})")  # fmt: skip
    assert not upward, "imports that run up or across a layer:\n" + "\n".join(upward)


def test_only_the_command_line_imports_typer_and_rich() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if _part(path) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.split(".")[0] in ("typer", "rich", "click"):
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}")
    assert not offenders, "typer/rich outside cli/:\n" + "\n".join(offenders)


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """``myositis --help`` must start at once: loading the program imports none of the engines,
    statistics or plotting libraries (they load when a command runs)."""
    heavy = ("ibis", "duckdb", "pyarrow", "scipy", "statsmodels", "matplotlib", "pyspark",
             "lifelines", "numpy", "pydantic", "jinja2")  # fmt: skip
    code = (
        "import sys\n"
        "from myositis.cli import app\n"
        "import typer.main\n"
        "typer.main.get_command(app)\n"
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_reading_a_specification_imports_no_analysis_or_report() -> None:
    """``myositis.study`` loads its parts when first used: reading or checking a study
    specification (``myositis study check``) imports neither the runner nor the statistics
    and plotting libraries of the analyses and the report; the public API still gives them."""
    heavy = ("myositis.study.runner", "scipy", "statsmodels", "matplotlib", "lifelines")
    code = (
        "import sys\n"
        "from myositis.study import load_spec\n"
        "load_spec('jak-refractory-dm')\n"
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))\n"
        "from myositis.study import run_study, StudyRun, run_demo\n"
        "print(run_study.__module__, StudyRun.__module__, run_demo.__module__)"
    )
    lines = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert lines == ["", "myositis.study.runner myositis.study.runner myositis.study.demo"]

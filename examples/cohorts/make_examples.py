"""Write the cohort language's worked examples (docs/cohort-language.md): the hand-made
SYNTHETIC registry of tests/cohort/language_cases.py as a folder registry
(examples/cohorts/registry/) and each case as a cohort file (examples/cohorts/<case>.yaml).

Run from the repository root: ``python examples/cohorts/make_examples.py``. The test
tests/cohort/test_language.py checks that the files are the cases.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.csv as pacsv
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from cohort.language_cases import CASES, ROWS  # noqa: E402
from registry.broken import tables  # noqa: E402

HERE = ROOT / "examples" / "cohorts"


def main() -> None:
    folder = HERE / "registry"
    folder.mkdir(exist_ok=True)
    for name, table in tables(**ROWS).items():
        if name in ("registry_metadata", "import_log"):
            continue
        pacsv.write_csv(table, folder / f"{name}.csv")
    (folder / "registry_metadata.csv").write_text(
        "key,value\nschema_version,5\nsynthetic,true\ngenerator,examples/cohorts/make_examples.py\n",
        encoding="utf-8",
    )
    for case, (mapping, _, _) in CASES.items():
        text = yaml.safe_dump(mapping, sort_keys=False, default_flow_style=None, width=96)
        (HERE / f"{case}.yaml").write_text(
            f"# Worked example '{case}' of docs/cohort-language.md (made by make_examples.py)\n"
            + text,
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()

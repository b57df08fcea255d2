"""The REDCap project template: the shipped files are what the builder makes from the
instruments' item tables, and every item of CDASI v2, MMT-8 and HAQ-DI is a field named like
the item with the item's range as its choices (read here from the instruments' CSV files
themselves, not through the code under test)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from myositis.sources.redcap.dictionary import HEADER, read_dictionary
from myositis.sources.redcap.mapping import compile_mapping, load_mapping
from myositis.sources.redcap.template import (
    DICTIONARY_FILE,
    FILES,
    TEMPLATE_DIR,
    TEMPLATE_MAPPING,
    build,
)
from myositis.sources.tabular import open_sheet

DATA = Path(__file__).resolve().parents[3] / "src" / "myositis" / "instruments" / "data"


def _table(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _dictionary() -> dict[str, dict[str, str]]:
    with (TEMPLATE_DIR / DICTIONARY_FILE).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == HEADER and len(HEADER) == 18
    return {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}


def _codes(choices: str) -> list[str]:
    return [part.split(",")[0].strip() for part in choices.split("|")]


def _choices(row: dict[str, str]) -> str:
    return row["Choices, Calculations, OR Slider Labels"]


def test_shipped_files_are_what_the_builder_makes() -> None:
    built = build()
    assert sorted(built) == sorted(FILES)
    for name, text in built.items():
        assert (TEMPLATE_DIR / name).read_text(encoding="utf-8") == text, name


def test_every_cdasi_item_is_a_radio_field_with_the_instruments_range() -> None:
    fields = _dictionary()
    items = _table("cdasi_items.csv")
    assert len(items) == 81
    for item in items:
        row = fields[item["column"]]
        expected = [str(v) for v in range(int(item["minimum"]), int(item["maximum"]) + 1)]
        assert (row["Form Name"], row["Field Type"]) == ("cdasi", "radio"), item["column"]
        assert _codes(_choices(row)) == expected, item["column"]
    on_form = [name for name, row in fields.items() if row["Form Name"] == "cdasi"]
    assert on_form == [item["column"] for item in items]  # nothing else, in the form's order
    # the 15 locations' items are radio matrices, one per kind of item
    groups = {fields[i["column"]]["Matrix Group Name"] for i in items}
    assert {
        "cdasi_erythema",
        "cdasi_scale",
        "cdasi_erosion",
        "cdasi_poikiloderma",
        "cdasi_calcinosis",
    } <= groups
    assert (
        len([i for i in items if fields[i["column"]]["Matrix Group Name"] == "cdasi_erythema"])
        == 15
    )


def test_mmt8_and_haq_items_are_fields_named_like_the_instruments_columns() -> None:
    fields = _dictionary()
    for group in _table("mmt8_groups.csv"):
        sides = [""] if group["sides"] == "axial" else ["_right", "_left"]
        for side in sides:
            row = fields[group["group"] + side]
            assert row["Form Name"] == "mmt8" and _codes(_choices(row)) == [
                str(v) for v in range(11)
            ]
    for item in (r for r in _table("haq_items.csv") if r["form"] == "haq-di"):
        row = fields[f"{item['category']}_{item['item']}"]
        assert row["Form Name"] == "haq" and _codes(_choices(row)) == ["0", "1", "2", "3"]
    for category in {r["category"] for r in _table("haq_categories.csv")}:
        assert fields[f"{category}_aid"]["Field Type"] == "yesno"
        assert fields[f"{category}_help"]["Field Type"] == "yesno"


def test_core_set_identifiers_and_no_calculations() -> None:
    fields = _dictionary()
    flagged = sorted(name for name, row in fields.items() if row["Identifier?"] == "y")
    assert flagged == ["email", "first_name", "last_name", "mrn"]
    assert not [name for name, row in fields.items() if row["Field Type"] == "calc"]
    for measure in ("pga", "ptga", "ema"):  # the 0-10 scales of tis_measures.csv
        row = fields[measure]
        assert (row["Form Name"], row["Text Validation Min"], row["Text Validation Max"]) == (
            "core_set",
            "0",
            "10",
        )
    for test in ("ck", "aldolase", "ldh", "alt", "ast"):
        assert {test, f"{test}_unit", f"{test}_uln"} <= set(fields)


def test_events_designations_and_repeating_instruments_fit_the_dictionary() -> None:
    forms = {row["Form Name"] for row in _dictionary().values()}

    def rows(name: str) -> list[dict[str, str]]:
        with (TEMPLATE_DIR / name).open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    events = [r["unique_event_name"] for r in rows("events.csv")]
    assert events == [
        "baseline_arm_1",
        "week_4_arm_1",
        "week_12_arm_1",
        "week_24_arm_1",
        "week_52_arm_1",
        "week_104_arm_1",
        "unscheduled_arm_1",
    ]
    designations = rows("instrument_event_mapping.csv")
    assert {r["unique_event_name"] for r in designations} == set(events)
    assert {r["form"] for r in designations} == forms
    repeating = {(r["event_name"], r["form_name"]) for r in rows("repeating_instruments.csv")}
    assert repeating == {
        ("baseline_arm_1", "medications"),
        ("baseline_arm_1", "adverse_events"),
        ("baseline_arm_1", "diagnosis_codes"),
        ("unscheduled_arm_1", ""),
    }


def test_the_templates_mapping_fits_its_dictionary() -> None:
    dictionary = read_dictionary(open_sheet(TEMPLATE_DIR / DICTIONARY_FILE))
    mapping = compile_mapping(load_mapping(TEMPLATE_MAPPING), dictionary, "template")
    assert mapping.project == "myositis-registry"
    measures = {a.instrument: len(a.measures) for a in mapping.assessments}
    assert measures == {
        "cdasi": 81,
        "pga": 1,
        "ptga": 1,
        "ema": 1,
        "pruritus_nrs": 1,
        "mmt8": 15,
        "haq": 36,
    }  # 20 HAQ-DI items + 8 aids + 8 helps


def test_cli_writes_the_template(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "myositis.cli", "template", "--redcap", str(tmp_path / "t")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / "t" / name).read_bytes() == (TEMPLATE_DIR / name).read_bytes()


def test_the_example_exports_are_what_their_generator_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/redcap/*/ are reproducible from make_exports.py (no hand edits drift)."""
    import importlib.util

    examples = Path(__file__).resolve().parents[3] / "examples" / "redcap"
    loader = importlib.util.spec_from_file_location("make_exports", examples / "make_exports.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    assert written == sorted(p.relative_to(examples) for p in examples.rglob("*.csv"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (examples / name).read_bytes(), name

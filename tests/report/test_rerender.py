"""``myositis report RESULTS -o DIR``: the report rendered again from results.json alone is the
page the run wrote, byte for byte (examples/min2022 and the demo); anything that is not a
study's results.json is refused with one clear message, exit status 2, nothing written."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from myositis.cli import main
from myositis.study.demo import run_demo
from myositis.study.runner import StudyRun, run_study

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
DATA = ROOT / "examples" / "min2022"


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    monkeypatch.setattr(sys, "argv", ["myositis", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture(scope="module")
def min2022(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    return run_study(SPEC, DATA, tmp_path_factory.mktemp("min2022"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    return run_demo(tmp_path_factory.mktemp("demo"))


@pytest.mark.parametrize("which", ["min2022", "demo"])
def test_the_report_rendered_again_is_the_page_the_run_wrote(
    which: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    run: StudyRun = request.getfixturevalue(which)
    code, out, err = _cli(monkeypatch, capsys, "report", str(run.results_json), "-o", str(tmp_path))
    assert code in (0, None), err
    assert out.strip() == f"report: {(tmp_path / 'report.html').resolve()}"
    assert (tmp_path / "report.html").read_bytes() == run.report.read_bytes()
    written = sorted(p.name for p in (run.out / "tables").iterdir())
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == written
    for name in written:
        assert (tmp_path / "tables" / name).read_bytes() == (run.out / "tables" / name).read_bytes()


def test_the_run_folder_may_be_given_instead_of_its_results_json(
    min2022: StudyRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    code, _, err = _cli(monkeypatch, capsys, "report", str(min2022.out), "--out", str(tmp_path))
    assert code in (0, None), err
    assert (tmp_path / "report.html").read_bytes() == min2022.report.read_bytes()


def _study_results(run: StudyRun, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run.results_json.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"kind": "evidence-jak-dm", "overall": {}},
            "holds 'evidence-jak-dm' results, written by 'myositis evidence jak-dm'",
        ),
        (
            {"format": "myositis-multisite-results", "analyses": {}},
            "is the combined.json of 'myositis evidence combine'",
        ),
        ('{"kind": "study", "study": ', "not valid JSON (line 1, column 28"),
        ("", "not valid JSON (line 1, column 1"),
        ([1, 2], "not a results file of myositis-outcomes (no 'kind' member)"),
        ("min2022-without-cdasi", "a study results.json without 'cdasi'"),
        ("min2022-patients-damaged", "cannot render this results.json ("),
    ],
)
def test_anything_but_a_study_results_json_is_refused_and_nothing_written(
    content: Any,
    message: str,
    min2022: StudyRun,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    source = tmp_path / "results.json"
    if content == "min2022-without-cdasi":
        content = _study_results(min2022, cdasi=None)
    elif content == "min2022-patients-damaged":
        content = _study_results(min2022, patients=[{"person_id": 1}])
    source.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    out = tmp_path / "again"
    code, _, err = _cli(monkeypatch, capsys, "report", str(source), "-o", str(out))
    assert code == 2
    assert err.startswith(f"error: {source}: ") and message in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert not out.exists()


def test_a_missing_file_or_a_folder_without_results_json_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _cli(monkeypatch, capsys, "report", str(tmp_path / "none.json"), "-o", "x")
    assert code == 2 and "none.json: no such file; give the results.json that a run wrote" in err
    code, _, err = _cli(monkeypatch, capsys, "report", str(tmp_path), "-o", "x")
    assert code == 2 and f"{tmp_path}: is a folder without results.json" in err
    assert not Path("x").exists()


def test_an_out_that_is_a_file_is_refused(
    min2022: StudyRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    taken = tmp_path / "taken"
    taken.write_text("mine", "utf-8")
    code, _, err = _cli(monkeypatch, capsys, "report", str(min2022.results_json), "-o", str(taken))
    assert code == 2 and "exists and is not a folder" in err
    assert taken.read_text("utf-8") == "mine"


def test_the_demo_counts_prednisone_tapers_and_keeps_children_from_the_adult_label(
    demo: StudyRun,
) -> None:
    """The demo's registry tapers every prednisone course taken at the JAK start in steps
    (20 -> 15 -> ... -> 2.5 mg) and then stops it (sources/synthetic/dermatomyositis.py
    ``_prednisone``): all 7 are tapered, and the 5 whose taper ended inside the treatment
    period are tapered and stopped; before the fix every 'tapered' count of the demo was 0.
    Its 12 patients under 18 are not compared with the adult label dose."""
    results = json.loads(demo.results_json.read_text(encoding="utf-8"))
    therapy = {t["therapy"]: t for t in results["concomitant_therapy"]["by_therapy"]}
    assert therapy["prednisone"] == {
        "therapy": "prednisone", "at_index": 7, "stopped": 5, "tapered": 7,
        "tapered_and_stopped": 5, "continued": 0,
    }  # fmt: skip
    dosing = results["dosing"]
    children = [p for p in results["patients"] if p["age_at_index"] < 18]
    assert len(children) == dosing["children_not_compared"] == 12
    assert {p["dose_vs_label"] for p in children} == {"no adult label dose comparison (child)"}
    partition = ("at_or_below_label", "no_label_dose", "children_not_compared", "not_evaluable")
    assert dosing["above_label"]["count"] + sum(dosing[k] for k in partition) == len(
        results["patients"]
    )
    assert [d["drug"] for d in dosing["by_drug"]] == [
        "baricitinib", "ruxolitinib", "tofacitinib", "upadacitinib",
    ]  # fmt: skip
    html = demo.report.read_text(encoding="utf-8")
    assert "patients under 18 at the\nindex are not compared with them" in html
    assert (
        '<td>Children: not compared with the adult label dose</td><td class="num">12</td>' in html
    )


def test_the_demo_trajectories_have_one_panel_per_subtype_group(demo: StudyRun) -> None:
    """75 patients: more than 12, so Figure 3 has one panel per subtype group of the bundled
    specification, each titled with its count (Table 1's subtype groups: 38, 25, 12)."""
    html = demo.report.read_text(encoding="utf-8")
    figure = html[html.index("<svg", html.index("</svg>", html.index('id="sec-cdasi"')) + 6) :]
    figure = figure[: figure.index("</svg>")]
    for title in ("Amyopathic or hypomyopathic (n = 38)", "Classic (n = 25)", "Juvenile (n = 12)"):
        assert title in figure
    assert "Figure 3. CDASI activity over time, one panel\nper subtype group." in html


def test_plain_is_the_results_json_read_back() -> None:
    """The page is drawn from ``plain(results)``: what results.json (``dumps``) holds read
    back, though made without the file's line layout. NaN and infinities -> None, dates ->
    ISO text, tuples -> lists, number keys -> text, a numpy float -> a float, unicode kept."""
    import datetime as dt

    import numpy as np

    from myositis.report.page import plain
    from myositis.report.results_json import dumps

    results = {
        "a": [1, 2.5, float("nan"), float("inf"), (3, 4.0)],
        "b": {1: dt.date(2024, 2, 29), "c": None, "d": True},
        "e": np.float64(0.1) + np.float64(0.2),
        "f": "\u2212 CDASI \u2265 5",
        "g": [],
        "h": {},
    }
    got = plain(results)
    assert got == json.loads(dumps(results))
    assert got == {
        "a": [1, 2.5, None, None, [3, 4.0]],
        "b": {"1": "2024-02-29", "c": None, "d": True},
        "e": 0.30000000000000004,
        "f": "\u2212 CDASI \u2265 5",
        "g": [],
        "h": {},
    }
    assert type(got["e"]) is float


def test_results_json_has_a_line_per_member_and_per_row_of_each() -> None:
    """results.json's layout (``dumps``): each top-level member on a line, each of its members
    or items (a patient, an attrition line) on a line of its own holding the rest; empty
    containers and plain values stay on their member's line. The same JSON that
    ``json.dumps`` writes, read back."""
    from myositis.report.results_json import dumps

    results = {
        "kind": "study",
        "attrition": [{"label": "DM", "remaining": 5}, {"label": "JAK", "remaining": 3}],
        "settings": {"mcid": 5.0, "windows": [[-90, 0], [60, 240]], "none": None},
        "notes": [],
        "empty": {},
        "\u2212": float("nan"),
    }
    text = dumps(results)
    assert text == (
        "{\n"
        '  "kind": "study",\n'
        '  "attrition": [\n'
        '    {"label": "DM", "remaining": 5},\n'
        '    {"label": "JAK", "remaining": 3}\n'
        "  ],\n"
        '  "settings": {\n'
        '    "mcid": 5.0,\n'
        '    "windows": [[-90, 0], [60, 240]],\n'
        '    "none": null\n'
        "  },\n"
        '  "notes": [],\n'
        '  "empty": {},\n'
        '  "\u2212": null\n'
        "}\n"
    )
    assert json.loads(text) == json.loads(json.dumps({**results, "\u2212": None}))

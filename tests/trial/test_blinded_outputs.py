"""Blinded outputs never carry arm information (issue 12, "Done when").

Every output a blinded user sees of the session's synthetic trial is generated here: what
``trial synth``, ``trial endpoints``, the blinded ``trial report``, ``trial render``,
``trial randomise-next`` and ``trial log verify/show`` print, every file they write (reports,
results.json, listings, CSV tables, the CONSORT figure), the blinded allocation store (plan
and audit log, also after an emergency unblinding), the enrolment table, the screening log
and the registry itself. Each is scanned for:

- every arm name and arm label (case-insensitive), after removing the specification's own
  fixed texts that every report prints as they are (the trial's title and the estimand name
  the arms, identically for every patient, so they cannot tell one patient's arm);
- any arm-revealing field: a JSON key or CSV column ``arm``, ``treated``, ``control``,
  ``allocation``, ``analyses``, ``block_sizes``, ``seed`` or ``key``; text such as ``arm:``;
- the secrets of the unblinded store: its key and the list's seed (either would let a reader
  rebuild the pack-to-arm mapping); and the unblinded store's own files (``allocation.json``,
  ``unblinding.jsonl``).

The control: the same scan finds the arms in the unblinded report and store.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from myositis.registry.connect import connect
from myositis.registry.schema import TABLES
from myositis.trial.spec import TrialSpec, load_trial_spec

from .conftest import ALLOCATION_SEED, Demo, cli

ARM_FIELDS = {
    "arm",
    "arm_list",
    "treated",
    "control",
    "allocation",
    "analyses",
    "block_sizes",
    "seed",
    "arms_by_person",
}


def _public(spec: TrialSpec) -> list[str]:
    """The specification's fixed texts, in every form an output may hold them."""
    texts = [
        spec.trial.title,
        spec.intercurrent_events.estimand,
        spec.trial.design_source,
        spec.trial.synthetic_assumptions,
    ]
    forms = set()
    for t in texts:
        if t:
            forms |= {t, html.escape(t), json.dumps(t)[1:-1]}
    return sorted(forms, key=len, reverse=True)


def _problems(name: str, text: str, spec: TrialSpec, secrets: list[str]) -> list[str]:
    found = []
    masked = text
    for fixed in _public(spec):
        masked = masked.replace(fixed, " ")
    lowered = masked.lower()
    for arm in spec.arms:
        for word in (arm.name, arm.label):
            if word.lower() in lowered:
                found.append(f"{name}: names the arm {word!r}")
    if re.search(r"""(["']arm["']|\barm\s*[:=]|\btreatment_arm\b)""", masked, re.IGNORECASE):
        found.append(f"{name}: has an arm field")
    for secret in secrets:
        if re.search(rf"(?<![0-9a-fA-F]){re.escape(secret)}(?![0-9a-fA-F])", masked):
            found.append(f"{name}: holds the unblinded store's secret {secret[:8]}...")
    return found


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def _scan_file(path: Path, spec: TrialSpec, secrets: list[str]) -> list[str]:
    text = path.read_bytes().decode("utf-8", errors="ignore")
    found = _problems(str(path), text, spec, secrets)
    if path.suffix == ".json":
        bad = _keys(json.loads(text)) & ARM_FIELDS
        found += [f"{path}: JSON field {k!r}" for k in sorted(bad)]
    if path.suffix == ".jsonl":
        for line in text.splitlines():
            bad = _keys(json.loads(line)) & ARM_FIELDS
            found += [f"{path}: log field {k!r}" for k in sorted(bad)]
    if path.suffix == ".csv":
        header = text.splitlines()[0].split(",") if text else []
        found += [f"{path}: column {c!r}" for c in header if c.strip() in ARM_FIELDS]
    return found


def _files(*folders: Path) -> list[Path]:
    return sorted(p for f in folders for p in f.rglob("*") if p.is_file())


def test_no_blinded_output_carries_arm_information(demo: Demo, tmp_path: Path) -> None:
    spec = load_trial_spec("bird")
    unblinded = demo.trial / "allocation" / "unblinded"
    blinded = demo.trial / "allocation" / "blinded"
    listing = json.loads((unblinded / "allocation.json").read_text())
    secrets = [listing["key"], str(ALLOCATION_SEED)]
    assert listing["seed"] == ALLOCATION_SEED
    outputs: dict[str, str] = {
        f"{k} (stdout, stderr)": demo.runs[k].text for k in ("synth", "endpoints", "blinded")
    }
    # a site randomises three more patients into a second store, one is unblinded in an
    # emergency (that command is unblinded; the blinded log it leaves is scanned)
    store = tmp_path / "store"
    made = cli(
        "trial",
        "allocation",
        "create",
        "bird",
        "--unblinded-dir",
        store / "u",
        "--blinded-dir",
        store / "b",
        "--seed",
        ALLOCATION_SEED,
        "--user",
        "stat",
    )
    assert made.code == 0, made.text
    for k, stratum in enumerate(
        ["naive/methotrexate", "relapsing/azathioprine", "naive/methotrexate"]
    ):
        run = cli(
            "trial",
            "randomise-next",
            "--blinded-dir",
            store / "b",
            "--patient",
            5000 + k,
            "--stratum",
            stratum,
            "--user",
            "site2.investigator",
        )
        assert run.code == 0, run.text
        outputs[f"randomise-next {k}"] = run.text
    opened = cli(
        "trial",
        "unblind",
        "--blinded-dir",
        store / "b",
        "--unblinded-dir",
        store / "u",
        "--patient",
        5001,
        "--reason",
        "anaphylaxis in clinic",
        "--user",
        "dr.oncall",
    )
    assert opened.code == 0 and "arm " in opened.out  # the unblinded answer, not scanned
    secrets.append(json.loads((store / "u" / "allocation.json").read_text())["key"])
    for folder in (blinded, store / "b"):
        for command in (["log", "verify"], ["log", "show"]):
            run = cli("trial", *command, "--blinded-dir", folder)
            assert run.code == 0, run.text
            outputs[f"{' '.join(command)} {folder}"] = run.text
    rendered = tmp_path / "rendered"
    run = cli("trial", "render", demo.blinded / "results.json", "-o", rendered)
    assert run.code == 0
    outputs["render"] = run.text
    con = connect(demo.trial / "registry.duckdb")
    for name in TABLES:
        outputs[f"registry table {name}"] = repr(con.table(name).to_pyarrow().to_pylist())
    assert "seed" not in outputs["registry table registry_metadata"]

    files = _files(demo.endpoints, demo.blinded, rendered, blinded, store / "b")
    files += [demo.trial / n for n in ("README.txt", "enrolment.csv", "screening.csv")]
    names = {p.name for p in files}
    assert {
        "report.html",
        "results.json",
        "consort.svg",
        "listing.csv",
        "endpoints.csv",
        "visits.csv",
        "plan.json",
        "log.jsonl",
    } <= names
    assert not names & {"allocation.json", "unblinding.jsonl", "synthetic.json"}
    problems = [p for path in files for p in _scan_file(path, spec, secrets)]
    problems += [p for name, text in outputs.items() for p in _problems(name, text, spec, secrets)]
    assert problems == [], "\n".join(problems)
    # the blinded log recorded the unblinding without the arm
    log = [json.loads(line) for line in (store / "b" / "log.jsonl").read_text().splitlines()]
    assert [e["event"] for e in log][-1] == "unblinded" and "arm" not in log[-1]


def test_the_scan_finds_the_arms_where_they_are(demo: Demo) -> None:
    """The control: the unblinded report and store name the arms, and the scan says so."""
    spec = load_trial_spec("bird")
    unblinded = demo.trial / "allocation" / "unblinded"
    key = json.loads((unblinded / "allocation.json").read_text())["key"]
    for path in (
        demo.unblinded / "report.html",
        demo.unblinded / "results.json",
        demo.unblinded / "endpoints.csv",
        unblinded / "allocation.json",
    ):
        assert _scan_file(path, spec, [key]), path
    assert _problems("unblinded stdout", demo.runs["unblinded"].text, spec, [])

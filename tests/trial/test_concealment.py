"""Concealed allocation: reproducible balanced lists, one pack at a time, refusals with
nothing written, logged emergency unblinding, tamper detection, and no arm in anything
blinded."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections import Counter
from pathlib import Path

import pytest

from myositis.errors import TrialDesignError
from myositis.trial.concealment import (
    Stores,
    allocation_by_person,
    create_allocation,
    randomise_next,
    read_blinded_log,
    unblind,
    verify_commitments,
)
from myositis.trial.randomisation import permuted_blocks
from myositis.trial.spec import TrialSpec, load_trial_spec

SEED = 20220501
WHEN = dt.datetime(2022, 9, 1, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def spec() -> TrialSpec:
    return load_trial_spec("bird")


@pytest.fixture
def stores(tmp_path: Path, spec: TrialSpec) -> Stores:
    stores = Stores.under(tmp_path / "bird")
    create_allocation(stores, spec, per_stratum=20, seed=SEED, user="stat.unblinded", now=WHEN)
    return stores


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _forbidden(spec: TrialSpec) -> list[str]:
    words = [a.name for a in spec.arms] + [a.label for a in spec.arms]
    return [w.lower() for w in words] + ['"arm"', "'arm'", "arm:", "treatment_arm"]


def _assert_blind(text: str, spec: TrialSpec) -> None:
    lowered = text.lower()
    for word in _forbidden(spec):
        assert word not in lowered, f"blinded output reveals {word!r}"


def test_list_is_reproducible_balanced_and_owner_only(stores: Stores, spec: TrialSpec) -> None:
    listing = json.loads((stores.unblinded / "allocation.json").read_text())
    again = permuted_blocks(20, arms=spec.arm_names, ratio=spec.allocation.ratio,
                            block_sizes=spec.allocation.block_sizes,
                            strata=spec.stratum_names, seed=SEED)  # fmt: skip
    assert [r["arm"] for r in listing["allocations"]] == [a.arm for a in again]
    for stratum in spec.stratum_names:
        arms = [r["arm"] for r in listing["allocations"] if r["stratum"] == stratum]
        running = 0
        for arm in arms:
            running += 1 if arm == "baricitinib" else -1
            assert abs(running) <= 3  # blocks of 4 and 6
    assert stat.S_IMODE(os.stat(stores.unblinded).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(stores.unblinded / "allocation.json").st_mode) == 0o600
    assert verify_commitments(stores) == len(listing["allocations"])


def test_randomise_next_hands_out_one_pack_at_a_time(stores: Stores, spec: TrialSpec) -> None:
    first = randomise_next(stores, person_id=1001, stratum="naive/methotrexate",
                           user="site3.investigator", now=WHEN)  # fmt: skip
    second = randomise_next(stores, person_id=1002, stratum="naive/methotrexate",
                            user="site3.investigator", now=WHEN)  # fmt: skip
    other = randomise_next(stores, person_id=1003, stratum="relapsing/azathioprine",
                           user="site1.investigator", now=WHEN)  # fmt: skip
    assert (first.sequence, second.sequence, other.sequence) == (1, 2, 1)
    assert len({first.pack, second.pack, other.pack}) == 3
    log = read_blinded_log(stores)
    assert [e["event"] for e in log] == ["list_created", "randomised", "randomised", "randomised"]
    assert log[1] | {} == log[1] and log[1]["user"] == "site3.investigator"
    assert (log[1]["person_id"], log[1]["stratum"], log[1]["time"]) == (
        1001, "naive/methotrexate", "2022-09-01T09:30:00+00:00")  # fmt: skip
    assert first.log_hash == log[1]["hash"]
    # what a randomiser can see reveals nothing of the rest of the list
    _assert_blind(repr(first) + repr(second) + repr(other), spec)


def test_refusals_write_nothing(stores: Stores) -> None:
    randomise_next(stores, person_id=1001, stratum="naive/methotrexate", user="inv", now=WHEN)
    before = _files(stores.blinded.parent)
    unknown = "'naive/mmf' is not in the randomisation plan of bird; the strata are naive/methotr"
    with pytest.raises(TrialDesignError, match=unknown):
        randomise_next(stores, person_id=1002, stratum="naive/mmf", user="inv")
    with pytest.raises(TrialDesignError, match=r"person 1001 was randomised already, on "
                                                r"2022-09-01T09:30:00\+00:00 by inv"):  # fmt: skip
        randomise_next(stores, person_id=1001, stratum="relapsing/methotrexate", user="inv")
    with pytest.raises(TrialDesignError, match="nothing to unblind"):
        unblind(stores, person_id=4242, user="oncall", reason="severe infection, needs care")
    assert _files(stores.blinded.parent) == before


def test_a_used_up_stratum_is_refused(tmp_path: Path, spec: TrialSpec) -> None:
    stores = Stores.under(tmp_path / "small")
    slots = create_allocation(stores, spec, per_stratum=1, seed=1, user="stat")
    size = slots["naive/azathioprine"]
    for k in range(size):
        randomise_next(stores, person_id=k, stratum="naive/azathioprine", user="inv")
    with pytest.raises(TrialDesignError, match=f"no allocation left \\({size} used\\)"):
        randomise_next(stores, person_id=99, stratum="naive/azathioprine", user="inv")
    with pytest.raises(TrialDesignError, match="exists already"):
        create_allocation(stores, spec, per_stratum=1, seed=1, user="stat")


def test_emergency_unblinding_opens_one_patient_and_is_logged(stores: Stores,
                                                              spec: TrialSpec) -> None:  # fmt: skip
    for pid in (1001, 1002):
        randomise_next(stores, person_id=pid, stratum="naive/methotrexate", user="inv")
    opened = unblind(stores, person_id=1002, user="dr.oncall", reason="suspected sepsis, ICU")
    listing = json.loads((stores.unblinded / "allocation.json").read_text())
    expected = next(r for r in listing["allocations"]
                    if r["stratum"] == "naive/methotrexate" and r["sequence"] == 2)  # fmt: skip
    assert opened.arm == expected["arm"] and opened.pack == expected["pack"]
    blinded = read_blinded_log(stores)[-1]
    assert (blinded["event"], blinded["person_id"], blinded["user"]) == (
        "unblinded", 1002, "dr.oncall")  # fmt: skip
    assert "arm" not in blinded and "pack" not in blinded
    private = (stores.unblinded / "unblinding.jsonl").read_text()
    assert json.loads(private)["arm"] == expected["arm"]
    with pytest.raises(TrialDesignError, match="reason"):
        unblind(stores, person_id=1001, user="dr.oncall", reason="")


def test_edits_outside_the_tool_are_detected(stores: Stores) -> None:
    for pid in (1001, 1002, 1003):
        randomise_next(stores, person_id=pid, stratum="naive/methotrexate", user="inv")
    log = stores.blinded / "log.jsonl"
    lines = log.read_text().splitlines()
    # change who randomised patient 1002
    lines[2] = lines[2].replace('"user":"inv"', '"user":"someone"')
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(TrialDesignError, match="line 3: the audit log's hash chain is broken"):
        randomise_next(stores, person_id=1004, stratum="naive/methotrexate", user="inv")
    # removing a line is caught too
    original = lines[:2] + lines[3:]
    log.write_text("\n".join(original) + "\n")
    with pytest.raises(TrialDesignError, match="hash chain is broken"):
        read_blinded_log(stores)


def test_changing_the_list_breaks_the_commitments(stores: Stores) -> None:
    path = stores.unblinded / "allocation.json"
    data = json.loads(path.read_text())
    first = data["allocations"][0]
    first["arm"] = "placebo" if first["arm"] == "baricitinib" else "baricitinib"
    os.chmod(path, 0o600)
    path.write_text(json.dumps(data))
    with pytest.raises(TrialDesignError, match="does not match the commitment"):
        verify_commitments(stores)


def test_an_unblinded_store_open_to_others_is_refused(stores: Stores) -> None:
    randomise_next(stores, person_id=1001, stratum="naive/methotrexate", user="inv")
    os.chmod(stores.unblinded, 0o755)
    with pytest.raises(TrialDesignError, match="can be read by other accounts"):
        unblind(stores, person_id=1001, user="dr", reason="anaphylaxis in clinic")


def test_no_blinded_file_log_or_receipt_carries_arm_information(
    stores: Stores, spec: TrialSpec
) -> None:
    receipts = [
        randomise_next(
            stores, person_id=2000 + k, stratum=spec.stratum_names[k % 4], user="inv"
        )  # fmt: skip
        for k in range(24)
    ]
    unblind(stores, person_id=2003, user="dr.oncall", reason="pregnancy, needs counselling")
    arms = allocation_by_person(stores, user="stat.unblinded")
    assert Counter(arms.values()).keys() <= set(spec.arm_names)
    for path, content in _files(stores.blinded).items():
        _assert_blind(content.decode("utf-8"), spec)
        plan = json.loads(content) if path.name == "plan.json" else None
        if plan is not None:
            for slots in plan["strata"].values():
                assert all(set(s) == {"sequence", "pack", "commitment"} for s in slots)
    _assert_blind(repr(receipts), spec)
    # the control: the unblinded store does name the arms
    assert "baricitinib" in (stores.unblinded / "allocation.json").read_text()


def test_end_to_end_randomise_derive_blind_then_analyse(tmp_path: Path, spec: TrialSpec) -> None:
    """Randomise 62 synthetic patients through the concealed list, derive the endpoints
    blind, and only then read the allocation (logged) for the unblinded analysis."""
    from myositis.trial.analysis import analyse_binary
    from myositis.trial.endpoints import derive_endpoints
    from myositis.trial.synthetic import generate_trial

    trial = generate_trial(spec, seed=3)
    stores = Stores.under(tmp_path / "bird")
    create_allocation(stores, spec, per_stratum=31, seed=SEED, user="stat.unblinded")
    for row in trial.enrolment.to_pylist():
        randomise_next(stores, person_id=row["person_id"], stratum=row["stratum"], user="inv")
    t = trial.tables
    endpoints = derive_endpoints(spec, trial.enrolment, t["assessment"], t["laboratory"],
                                 t["drug_exposure"])  # fmt: skip
    _assert_blind(repr(endpoints.rows()), spec)
    allocation = allocation_by_person(stores, user="stat.unblinded")
    assert len(allocation) == 62
    result = analyse_binary(spec, endpoints, allocation)
    assert result.treated.patients + result.control.patients == 62
    assert abs(result.treated.patients - result.control.patients) <= 4 * 3
    assert read_blinded_log(stores)[-1]["event"] == "allocation_read"


def test_the_list_balance_audit_follows_the_ratio(tmp_path: Path, spec: TrialSpec) -> None:
    """A 2:1 list in blocks of 3 and 6: every block holds two treated per control, and the
    running imbalance (each arm's count over its share) never exceeds a block's worth."""
    from myositis.trial.concealment import list_balance
    from myositis.trial.spec import spec_from_mapping

    data = spec.canonical()
    data["allocation"] |= {"ratio": [2, 1], "block_sizes": [3, 6]}
    stores = Stores.under(tmp_path / "two-to-one")
    create_allocation(stores, spec_from_mapping(data), per_stratum=30, seed=SEED, user="stat")
    audit = list_balance(stores)
    assert [b.stratum for b in audit] == spec.stratum_names
    assert all(b.blocks_keep_ratio and b.slots >= 30 for b in audit)
    assert all(0 < b.largest_running_imbalance <= 3 for b in audit)
    listing = json.loads((stores.unblinded / "allocation.json").read_text())
    counts = Counter(r["arm"] for r in listing["allocations"])
    assert counts["baricitinib"] == 2 * counts["placebo"]

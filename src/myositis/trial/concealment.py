"""Concealed allocation: an allocation list kept where blinded staff cannot read it, handed
out one patient at a time as treatment-pack codes, with a hash-chained audit log.

Design (docs/trial.md, "Concealed allocation", states its limits):

- **Two stores.** The *unblinded store* (a directory created with owner-only permissions,
  0700, files 0600) holds the allocation list (stratum, sequence, block, arm, pack code), the
  seed and a random secret key; only the unblinded statistician's account can read it. The
  *blinded store* holds, per stratum and slot, the pack code and a keyed commitment
  ``HMAC-SHA256(key, stratum|sequence|pack|arm)``; and the audit log. Nothing in the blinded
  store names an arm: a pack code is random, and without the key a commitment cannot be
  matched to an arm (there are only two arms, so an unkeyed hash could be).
- **Randomising** (:func:`randomise_next`) reads only the blinded store: the patient gets the
  next unused slot of their stratum, i.e. a pack code, and the log records who, when, which
  patient, stratum, slot and pack. A stratum not in the plan, a patient already randomised
  and a stratum whose list is used up are refused, and nothing is written.
- **Emergency unblinding** (:func:`unblind`) opens one patient at a time, needs a reason, and
  is logged in the blinded log (who, when, patient, reason; no arm) and, with the arm, in the
  unblinded store's own log.
- **The log** cannot be edited through the tool (there is no such function) and is verified
  on every read: an edit made outside it breaks the hash chain and stops every operation.
- **Audit** (:func:`verify_commitments`, unblinded): recomputes every commitment, showing that
  the list behind the packs is the one committed to when the store was created.

Roles are OS accounts: the tool records the ``user`` and ``role`` it is given, and the file
permissions decide who can read what. A person with read access to the unblinded directory
(an administrator, say) can read the list; the tool cannot stop that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from myositis.errors import TrialDesignError
from myositis.trial.audit import append, locked, read_log
from myositis.trial.randomisation import permuted_blocks
from myositis.trial.spec import TrialSpec

PLAN = "plan.json"
LOG = "log.jsonl"
LIST = "allocation.json"
UNBLINDING_LOG = "unblinding.jsonl"
PACK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


@dataclass(frozen=True)
class Stores:
    """Where the two stores live: ``blinded`` (shared with the trial team) and ``unblinded``
    (the unblinded statistician's, owner-only)."""

    blinded: Path
    unblinded: Path

    @classmethod
    def under(cls, folder: str | Path) -> Stores:
        root = Path(folder)
        return cls(root / "blinded", root / "unblinded")


@dataclass(frozen=True)
class Receipt:
    """What the randomiser sees: the pack to dispense. Carries no arm."""

    person_id: int
    stratum: str
    sequence: int
    pack: str
    time: str
    user: str
    log_hash: str


@dataclass(frozen=True)
class Unblinding:
    """One patient's arm, opened in an emergency (unblinded output)."""

    person_id: int
    arm: str
    pack: str
    time: str
    user: str
    reason: str


def _now(now: dt.datetime | None) -> str:
    return (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")


def _pack(used: set[str]) -> str:
    while True:
        code = "P-" + "".join(secrets.choice(PACK_ALPHABET) for _ in range(6))
        if code not in used:
            used.add(code)
            return code


def _commit(key: bytes, stratum: str, sequence: int, pack: str, arm: str) -> str:
    message = f"{stratum}|{sequence}|{pack}|{arm}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _write_json(path: Path, data: Any, mode: int) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True)


def create_allocation(
    stores: Stores,
    spec: TrialSpec,
    *,
    per_stratum: int,
    seed: int,
    user: str,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Generate the allocation list (stratified permuted blocks, the spec's ratio and block
    sizes, numpy seed ``seed``) and create both stores; returns slots per stratum.

    Run by the unblinded statistician. Refuses to overwrite existing stores. Both stores are
    built in ``.partial`` directories and renamed into place only when complete.
    """
    if spec.control_arm is None:
        raise TrialDesignError("a single-arm study has nothing to conceal")
    if spec.allocation.method != "permuted_blocks":
        raise TrialDesignError(
            "concealed lists are made for permuted blocks; minimisation decides each "
            "allocation from the earlier ones and needs an unblinded service at every "
            "randomisation (not provided)"
        )
    for folder in (stores.blinded, stores.unblinded):
        if folder.exists():
            raise TrialDesignError(
                f"{folder} exists already: an allocation store is created once; nothing was written"
            )
    allocations = permuted_blocks(per_stratum, arms=spec.arm_names, ratio=spec.allocation.ratio,
                                  block_sizes=spec.allocation.block_sizes,
                                  strata=spec.stratum_names, seed=seed)  # fmt: skip
    key = secrets.token_bytes(32)
    used: set[str] = set()
    rows = []
    slots: dict[str, list[dict[str, Any]]] = {s: [] for s in spec.stratum_names}
    for a in allocations:
        pack = _pack(used)
        rows.append({"stratum": a.stratum, "sequence": a.sequence, "block": a.block,
                     "block_size": a.block_size, "arm": a.arm, "pack": pack})  # fmt: skip
        slots[a.stratum].append({"sequence": a.sequence, "pack": pack,
                                 "commitment": _commit(key, a.stratum, a.sequence, pack,
                                                       a.arm)})  # fmt: skip
    time = _now(now)
    staged_blinded = stores.blinded.with_name(stores.blinded.name + ".partial")
    staged_unblinded = stores.unblinded.with_name(stores.unblinded.name + ".partial")
    for staged in (staged_blinded, staged_unblinded):
        if staged.exists():
            shutil.rmtree(staged)
    try:
        staged_unblinded.mkdir(mode=0o700, parents=True)
        os.chmod(staged_unblinded, 0o700)
        _write_json(staged_unblinded / LIST, {"trial": spec.trial.id, "spec_sha256":
                                              spec.sha256(), "seed": seed, "key": key.hex(),
                                              "arms": spec.arm_names,
                                              "ratio": spec.allocation.ratio,
                                              "created": time, "created_by": user,
                                              "allocations": rows}, 0o600)  # fmt: skip
        staged_blinded.mkdir(mode=0o750, parents=True)
        _write_json(staged_blinded / PLAN, {"trial": spec.trial.id, "spec_sha256":
                                            spec.sha256(), "created": time,
                                            "order": spec.stratum_names,
                                            "strata": slots}, 0o640)  # fmt: skip
        log = staged_blinded / LOG
        append(log, {"event": "list_created", "time": time, "user": user,
                     "role": "unblinded_statistician",
                     "slots": {s: len(v) for s, v in slots.items()}}, [])  # fmt: skip
        staged_unblinded.rename(stores.unblinded)
        staged_blinded.rename(stores.blinded)
    except BaseException:
        for staged in (staged_blinded, staged_unblinded):
            shutil.rmtree(staged, ignore_errors=True)
        raise
    return {s: len(v) for s, v in slots.items()}


def _plan(stores: Stores) -> dict[str, Any]:
    path = stores.blinded / PLAN
    if not path.exists():
        raise TrialDesignError(
            f"{path}: no allocation plan; the unblinded statistician creates it first"
        )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def read_blinded_log(stores: Stores) -> list[dict[str, Any]]:
    """The blinded audit log, verified (no arm in it)."""
    return read_log(stores.blinded / LOG)


def randomise_next(
    stores: Stores,
    *,
    person_id: int,
    stratum: str,
    user: str,
    now: dt.datetime | None = None,
) -> Receipt:
    """Hand out the next pack of ``stratum`` to ``person_id`` and log it (blinded store only).

    Refused, with nothing written: a stratum not in the plan, a patient randomised before,
    a stratum whose list is used up, or a log that fails verification.
    """
    plan = _plan(stores)
    strata: dict[str, list[dict[str, Any]]] = plan["strata"]
    if stratum not in strata:
        raise TrialDesignError(
            f"stratum {stratum!r} is not in the randomisation plan of {plan['trial']}; the "
            f"strata are {', '.join(plan.get('order', strata))}. Nothing was allocated."
        )
    log = stores.blinded / LOG
    with locked(log):
        entries = read_log(log)
        done = [e for e in entries if e["event"] == "randomised"]
        earlier = next((e for e in done if e["person_id"] == person_id), None)
        if earlier is not None:
            raise TrialDesignError(
                f"person {person_id} was randomised already, on {earlier['time']} by "
                f"{earlier['user']} (stratum {earlier['stratum']}, pack {earlier['pack']}); a "
                "patient is randomised once. Nothing was allocated."
            )
        used = sum(1 for e in done if e["stratum"] == stratum)
        if used >= len(strata[stratum]):
            raise TrialDesignError(
                f"stratum {stratum!r} has no allocation left ({used} used); the unblinded "
                "statistician must extend the list. Nothing was allocated."
            )
        slot = strata[stratum][used]
        entry = append(log, {"event": "randomised", "time": _now(now), "user": user,
                             "role": "randomiser", "person_id": person_id, "stratum": stratum,
                             "sequence": slot["sequence"], "pack": slot["pack"]},
                       entries)  # fmt: skip
    return Receipt(person_id, stratum, slot["sequence"], slot["pack"], entry["time"], user,
                   entry["hash"])  # fmt: skip


def _unblinded_list(stores: Stores) -> dict[str, Any]:
    path = stores.unblinded / LIST
    try:
        mode = stat.S_IMODE(os.stat(stores.unblinded).st_mode)
    except FileNotFoundError:
        raise TrialDesignError(f"{stores.unblinded}: no unblinded store here") from None
    if mode & 0o077:
        raise TrialDesignError(
            f"{stores.unblinded} can be read by other accounts (mode {mode:o}); restore "
            "owner-only access (chmod 700) before using it"
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except PermissionError:
        raise TrialDesignError(
            f"{path}: not readable by this account; only the unblinded statistician's "
            "account can open the allocation list"
        ) from None
    return data


def unblind(
    stores: Stores,
    *,
    person_id: int,
    user: str,
    reason: str,
    now: dt.datetime | None = None,
) -> Unblinding:
    """Emergency unblinding of one patient: their arm, logged in both stores."""
    if len(reason.split()) < 2:
        raise TrialDesignError("give the clinical reason for unblinding (a few words)")
    log = stores.blinded / LOG
    with locked(log):
        entries = read_log(log)
        given = next((e for e in entries if e["event"] == "randomised"
                      and e["person_id"] == person_id), None)  # fmt: skip
        if given is None:
            raise TrialDesignError(
                f"person {person_id} has not been randomised; there is nothing to unblind"
            )
        listing = _unblinded_list(stores)
        slot = (given["stratum"], given["sequence"])
        row = next(r for r in listing["allocations"] if (r["stratum"], r["sequence"]) == slot)
        time = _now(now)
        append(log, {"event": "unblinded", "time": time, "user": user,
                     "role": "emergency_unblinder", "person_id": person_id,
                     "reason": reason}, entries)  # fmt: skip
    private = stores.unblinded / UNBLINDING_LOG
    with locked(private, 0o600):
        append(private, {"event": "unblinded", "time": time, "user": user,
                         "person_id": person_id, "pack": row["pack"], "arm": row["arm"],
                         "reason": reason}, read_log(private), 0o600)  # fmt: skip
    return Unblinding(person_id, row["arm"], row["pack"], time, user, reason)


def allocation_by_person(stores: Stores, *, user: str, now: dt.datetime | None = None
                         ) -> dict[int, str]:  # fmt: skip
    """Every randomised patient's arm, for the unblinded analysis (logged as an event)."""
    log = stores.blinded / LOG
    with locked(log):
        entries = read_log(log)
        listing = _unblinded_list(stores)
        arms = {(r["stratum"], r["sequence"]): r["arm"] for r in listing["allocations"]}
        out = {e["person_id"]: arms[(e["stratum"], e["sequence"])]
               for e in entries if e["event"] == "randomised"}  # fmt: skip
        append(log, {"event": "allocation_read", "time": _now(now), "user": user,
                     "role": "unblinded_statistician", "patients": len(out)}, entries)  # fmt: skip
    return out


def slot_arms(stores: Stores) -> dict[tuple[str, int], str]:
    """The arm behind every slot (stratum, sequence), read from the unblinded store by the
    account that owns it. Not logged: it reads the list as the file system lets its owner
    (for audits and for synthetic trials, whose generator plays every role)."""
    listing = _unblinded_list(stores)
    return {(r["stratum"], r["sequence"]): r["arm"] for r in listing["allocations"]}


@dataclass(frozen=True)
class StratumBalance:
    """How a stratum's list keeps the ratio (unblinded audit; no patient named)."""

    stratum: str
    slots: int
    blocks: int
    blocks_keep_ratio: bool
    largest_running_imbalance: float  # in patients, scaled by the ratio


def list_balance(stores: Stores) -> list[StratumBalance]:
    """Per stratum: slots, blocks, whether every block holds the arms in the list's ratio
    (recorded with the list; equal for lists made before it was) and the largest running
    imbalance along the list, each arm's count divided by its share of the ratio."""
    listing = _unblinded_list(stores)
    order = listing.get("arms") or sorted({r["arm"] for r in listing["allocations"]})
    share = dict(zip(order, listing.get("ratio") or [1] * len(order), strict=True))
    out = []
    strata = dict.fromkeys(r["stratum"] for r in listing["allocations"])
    for stratum in strata:
        rows = [r for r in listing["allocations"] if r["stratum"] == stratum]
        blocks: dict[int, list[str]] = {}
        counts = dict.fromkeys(order, 0)
        worst = 0.0
        for r in rows:
            blocks.setdefault(r["block"], []).append(r["arm"])
            counts[r["arm"]] += 1
            scaled = [counts[a] / share[a] for a in order]
            worst = max(worst, max(scaled) - min(scaled))
        keep = all(len({b.count(a) / share.get(a, 1) for a in order}) == 1 for b in blocks.values())
        out.append(StratumBalance(stratum, len(rows), len(blocks), keep, worst))
    return out


def verify_commitments(stores: Stores) -> int:
    """Recompute every slot's commitment from the unblinded list; returns the slots checked.
    A mismatch means the list or the plan was changed after creation."""
    listing = _unblinded_list(stores)
    key = bytes.fromhex(listing["key"])
    plan = _plan(stores)
    rows = {(r["stratum"], r["sequence"]): r for r in listing["allocations"]}
    checked = 0
    for stratum, slots in plan["strata"].items():
        for slot in slots:
            row = rows.get((stratum, slot["sequence"]))
            if (
                row is None
                or row["pack"] != slot["pack"]
                or not hmac.compare_digest(
                    slot["commitment"],
                    _commit(key, stratum, slot["sequence"], slot["pack"], row["arm"]),
                )
            ):
                raise TrialDesignError(
                    f"stratum {stratum!r}, slot {slot['sequence']}: the allocation list does "
                    "not match the commitment made when it was created; the list or the plan "
                    "was changed. Stop and investigate."
                )
            checked += 1
    return checked


__all__ = [
    "Receipt",
    "StratumBalance",
    "Stores",
    "Unblinding",
    "allocation_by_person",
    "create_allocation",
    "list_balance",
    "randomise_next",
    "read_blinded_log",
    "slot_arms",
    "unblind",
    "verify_commitments",
]

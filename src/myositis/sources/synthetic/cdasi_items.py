"""Item-level CDASI v2 visits drawn from a target activity and damage.

The item names and ranges come from the instruments package's rule table
(``myositis/instruments/data/cdasi_items.csv``); this module does not score anything. A target
number of activity "points" is spread over the activity items within their ranges, the damage
target over the damage items. Derived scores are computed by ``myositis.instruments`` only: the
derived activity may exceed the target (Gottron's erythema counts twice when papules are
present), which is intended, since the generator must not re-implement the sum rule.

Allocation: each item of maximum m contributes m "slots"; a visit takes the top-k slots by a
per-patient random key (Gumbel top-k, i.e. sampling without replacement with weights), plus a
small per-visit jitter, so lesions persist across visits and shrink as activity falls.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Final

import numpy as np

#: Relative weight of locations often involved in DM (face, V-neck, upper back, hands).
_LOCATION_WEIGHT: Final = {
    "scalp": 1.6,
    "malar": 1.8,
    "periorbital": 2.0,
    "face_other": 1.4,
    "neck_v": 1.8,
    "neck_posterior": 1.3,
    "upper_back": 1.6,
    "arm": 1.2,
    "hands_dorsum": 1.5,
    "gottron": 2.0,
    "periungual": 1.8,
}
#: Relative weight by kind of finding: erythema dominates, erosion/ulceration and calcinosis
#: are uncommon.
_KIND_WEIGHT: Final = {
    "erythema": 1.0,
    "scale": 0.45,
    "erosion": 0.12,
    "ulceration": 0.12,
    "alopecia": 0.5,
    "poikiloderma": 1.0,
    "calcinosis": 0.12,
}
PAPULES: Final = "gottron_hands_papules"
GOTTRON_ERYTHEMA: Final = "gottron_hands_erythema"


@dataclass(frozen=True)
class _Domain:
    names: tuple[str, ...]
    slot_item: np.ndarray  # item index of each slot
    slot_logw: np.ndarray  # log weight of each slot (later grades less likely)

    @property
    def capacity(self) -> int:
        return len(self.slot_item)


@dataclass(frozen=True)
class CdasiItems:
    """The CDASI item columns and their slot layout for activity and damage."""

    activity: _Domain
    damage: _Domain
    all_items: tuple[str, ...]

    def patient_keys(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Per-patient slot keys (which lesions this patient tends to have)."""
        return (
            self.activity.slot_logw + rng.gumbel(size=self.activity.capacity),
            self.damage.slot_logw + rng.gumbel(size=self.damage.capacity),
        )

    def visit(
        self,
        rng: np.random.Generator,
        keys: tuple[np.ndarray, np.ndarray],
        activity_target: int,
        damage_target: int,
        papules: bool,
    ) -> dict[str, int]:
        """Item values of one visit (every item column of the instrument, papules included)."""
        values = dict.fromkeys(self.all_items, 0)
        for domain, key, target in (
            (self.activity, keys[0], activity_target),
            (self.damage, keys[1], damage_target),
        ):
            k = int(min(max(target, 0), domain.capacity))
            if k == 0:
                continue
            jittered = key + 0.35 * rng.gumbel(size=domain.capacity)
            top = np.argpartition(-jittered, k - 1)[:k]
            counts = np.bincount(domain.slot_item[top], minlength=len(domain.names))
            for name, count in zip(domain.names, counts, strict=True):
                values[name] = int(count)
        values[PAPULES] = int(papules and values[GOTTRON_ERYTHEMA] > 0)
        return values


def _weight(column: str) -> float:
    location = next((w for p, w in _LOCATION_WEIGHT.items() if column.startswith(p)), 1.0)
    kind = next((w for k, w in _KIND_WEIGHT.items() if column.endswith(k)), 1.0)
    return location * kind


def _domain(rows: list[dict[str, str]], domain: str) -> _Domain:
    chosen = [r for r in rows if r["domain"] == domain]
    slot_item, slot_logw = [], []
    for index, row in enumerate(chosen):
        maximum = int(row["maximum"])
        for grade in range(maximum):
            slot_item.append(index)
            # a higher grade of the same item is less likely than a first grade elsewhere
            slot_logw.append(np.log(_weight(row["column"])) - 0.8 * grade)
    return _Domain(
        names=tuple(r["column"] for r in chosen),
        slot_item=np.array(slot_item, dtype=np.int64),
        slot_logw=np.array(slot_logw, dtype=np.float64),
    )


@cache
def cdasi_items() -> CdasiItems:
    """Load the item table shipped with ``myositis.instruments``."""
    text = files("myositis.instruments").joinpath("data/cdasi_items.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return CdasiItems(
        activity=_domain(rows, "activity"),
        damage=_domain(rows, "damage"),
        all_items=tuple(r["column"] for r in rows),
    )


def item_ranges() -> dict[str, tuple[int, int]]:
    """(minimum, maximum) of every CDASI item column, from the instruments rule table."""
    text = files("myositis.instruments").joinpath("data/cdasi_items.csv").read_text("utf-8")
    return {
        r["column"]: (int(r["minimum"]), int(r["maximum"]))
        for r in csv.DictReader(text.splitlines())
    }

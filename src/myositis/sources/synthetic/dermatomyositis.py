"""Dermatomyositis patients: diagnosis codes over time, subtype, conventional therapies, and for
the refractory share a JAK inhibitor course with dose changes, CDASI items, pruritus, MMT-8,
CK, concomitant therapy tapering and adverse events.

Rules of the model (see docs/synthetic.md for the numbers and their status):

- codes: ICD-9-CM 710.3 before 2015-10-01, then ICD-10-CM M33.0x (juvenile) / M33.1x or M33.9x;
  the 5th character ``3`` (without myopathy) only from 2022-10-01 on, for the amyopathic and
  hypomyopathic subtypes; earlier such patients carry ``0`` or ``9``;
- refractory patients have had 4-9 conventional systemic therapies before the JAK start (seed);
- JAK dose changes are successive exposure rows (escalation 4-13 weeks after the start);
- CDASI activity follows an exponential approach to a residual level for responders and stays
  near baseline for non-responders; items are drawn from the target by ``cdasi_items``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from myositis.codes import load_codeset
from myositis.instruments.core_set import REGISTRY_SOURCES
from myositis.registry.schema import DM_SUBTYPES
from myositis.sources.synthetic.catalogue import (
    ADVERSE_EVENTS,
    ALDOLASE_ULN,
    CK_ULN_BY_SITE,
    DM_THERAPIES,
    DM_THERAPY_WEIGHTS,
    JAK_REGIMENS,
)
from myositis.sources.synthetic.cdasi_items import cdasi_items
from myositis.sources.synthetic.context import Batch
from myositis.sources.synthetic.params import (
    AMYOPATHIC_CODES_START,
    DATA_END,
    DATA_START,
    ICD10_START,
    JAK_START_MIN,
    day,
)

_YEAR: Final = 365.25
_MONTH: Final = 30.44
_LAB_LOINC: Final = {
    test: next(c.code for c in load_codeset(f"lab_{test}") if c.system == "LOINC")
    for test in ("ck", "aldolase")
}
_MYOSITIS_ACTIVE: Final = ("classic_active_myositis", "juvenile")
#: The other IMACS core set measures the ``core_set`` option records (MMT-8 is recorded
#: anyway; each under its registry instrument and measure, ``REGISTRY_SOURCES``): stem ->
#: (lowest, highest, recorded step). HAQ and CHAQ in steps of 0.125 (the HAQ disability
#: index's), the global VAS scores in 0.1 cm.
_CORE_SET: Final = {
    "pga": (0.0, 10.0, 0.1),
    "ptga": (0.0, 10.0, 0.1),
    "ema": (0.0, 10.0, 0.1),
    "haq": (0.0, 3.0, 0.125),
    "chaq": (0.0, 3.0, 0.125),
    "cmas": (0.0, 52.0, 1.0),
}
_LATEST_REFRACTORY_DIAGNOSIS: Final = day(2021, 6, 30)


@dataclass
class _Segment:
    start: int
    end: int | None
    dose: float
    frequency: str
    formulation: str


def add_dm_patient(batch: Batch, pid: int, site: int) -> tuple[str, int]:
    """Generate one DM patient's records; return the (sex, birth day) to store for them."""
    rng, p = batch.rng, batch.params
    shares = np.array(p.subtype_shares)
    subtype = str(DM_SUBTYPES[rng.choice(len(DM_SUBTYPES), p=shares / shares.sum())])
    juvenile = subtype.startswith("juvenile")
    refractory = rng.random() < p.jak_fraction
    latest = _LATEST_REFRACTORY_DIAGNOSIS if refractory else DATA_END - 90
    onset = int(rng.integers(DATA_START, latest))
    age = rng.uniform(4, 16) if juvenile else rng.uniform(25, 75)
    birth = int(onset - age * _YEAR)
    sex = "F" if rng.random() < 2 / 3 else "M"  # female predominance (assumption: about 2:1)

    _diagnosis_codes(batch, pid, subtype, onset)
    batch.rows["dm_subtype"].add(
        person_id=pid,
        subtype=subtype,
        classified_date=min(onset + int(rng.integers(0, 180)), DATA_END),
    )
    n_prior = int(rng.integers(4, 10)) if refractory else int(rng.integers(1, 4))
    therapies = _pick_therapies(rng, n_prior)
    start = None
    if refractory:
        start = max(onset + 365 + n_prior * int(rng.integers(45, 120)), JAK_START_MIN)
        start += int(rng.integers(0, 90))
        if start > DATA_END - 60:
            start = None  # would start after the data cut-off: no JAK in this registry
    if start is None:
        _conventional(batch, pid, therapies, onset, DATA_END, concomitant=())
        _untreated_assessments(batch, pid, site, subtype, onset)
        return sex, birth
    n_conc = int(rng.choice(4, p=[0.3, 0.3, 0.25, 0.15]))
    concomitant = tuple(therapies[-n_conc:]) if n_conc else ()
    segments, ingredient = _jak_course(batch, start)
    jak_end = _adverse_events(batch, pid, ingredient, start, segments)
    _truncate(segments, jak_end)
    _conventional(batch, pid, therapies, onset, start, concomitant=concomitant)
    for seg in segments:
        system, code = batch.jak_code(ingredient, site, seg.start)
        batch.rows["drug_exposure"].add(
            exposure_id=batch.exposure_id(), person_id=pid, ingredient=ingredient,
            code_system=system, code=code, start_date=seg.start, end_date=seg.end,
            dose=seg.dose, dose_unit="mg", frequency=seg.frequency,
            formulation=seg.formulation, route="oral",
        )  # fmt: skip
    last = segments[-1].end if segments[-1].end is not None else DATA_END
    _treated_assessments(batch, pid, site, subtype, start, min(last, DATA_END))
    return sex, birth


def _diagnosis_codes(batch: Batch, pid: int, subtype: str, onset: int) -> None:
    rng = batch.rng
    n = int(rng.integers(2, 9))
    days = np.minimum(onset + np.cumsum(np.r_[0, rng.integers(20, 400, n - 1)]), DATA_END)
    fourth = "0" if subtype.startswith("juvenile") else ("1" if rng.random() < 0.8 else "9")
    for d in np.unique(days):
        when = int(d)
        if when < ICD10_START:
            code, system = "710.3", "ICD9CM"
        else:
            code, system = f"M33.{fourth}{_fifth(rng, subtype, when)}", "ICD10CM"
        batch.rows["diagnosis"].add(
            person_id=pid, code_system=system, code=batch.icd(code), diagnosis_date=when
        )
    if rng.random() < batch.params.neoplastic_fraction and days[-1] >= ICD10_START:
        batch.rows["diagnosis"].add(
            person_id=pid, code_system="ICD10CM", code=batch.icd("M36.0"),
            diagnosis_date=int(days[-1]),
        )  # fmt: skip


def _fifth(rng: np.random.Generator, subtype: str, when: int) -> str:
    if subtype in ("amyopathic", "hypomyopathic"):
        if when >= AMYOPATHIC_CODES_START and rng.random() < 0.8:
            return "3"
        return str(rng.choice(["0", "9"]))
    if subtype in _MYOSITIS_ACTIVE:
        return str(rng.choice(["2", "2", "2", "1", "0"]))
    return str(rng.choice(["0", "2", "9"]))


def _pick_therapies(rng: np.random.Generator, n: int) -> list[str]:
    names = list(DM_THERAPY_WEIGHTS)
    weights = np.array([DM_THERAPY_WEIGHTS[x] for x in names])
    order = rng.choice(len(names), size=n, replace=False, p=weights / weights.sum())
    return [names[i] for i in order]


def _conventional(
    batch: Batch, pid: int, therapies: list[str], onset: int, jak_start: int,
    concomitant: tuple[str, ...],
) -> None:  # fmt: skip
    """Conventional therapies in sequence from onset; the concomitant ones continue past the
    JAK start, prednisone tapering in steps, the others stopped (or kept) later."""
    rng = batch.rng
    span = max(jak_start - onset, 60)
    for i, name in enumerate(therapies):
        doses, unit, frequency, formulation, route = DM_THERAPIES[name]
        dose = float(rng.choice(doses))
        start = int(onset + span * i / max(len(therapies), 1) + rng.integers(0, 30))
        if name in concomitant:
            end = jak_start
        else:
            end = min(start + int(rng.integers(60, 400)), jak_start - 1, DATA_END)
        end = max(end, start)
        row = dict(ingredient=name, code_system="LOCAL", code=name, dose_unit=unit,
                   frequency=frequency, formulation=formulation, route=route)  # fmt: skip
        if name == "rituximab":  # two single infusions two weeks apart
            for offset in (0, 14):
                when = min(start + offset, DATA_END)
                _exposure(batch, pid, row, when, when, dose)
            continue
        if name == "prednisone":
            _prednisone(batch, pid, row, start, end, dose, name in concomitant)
            continue
        if name in concomitant:
            stop = jak_start + int(rng.integers(60, 400)) if rng.random() < 0.8 else None
            end_after = None if stop is None or stop > DATA_END else stop
            _exposure(batch, pid, row, start, end_after, dose)
        else:
            _exposure(batch, pid, row, start, end, dose)


def _prednisone(
    batch: Batch, pid: int, row: dict[str, str], start: int, end: int, dose: float,
    concomitant: bool,
) -> None:  # fmt: skip
    """Prednisone as successive rows of falling daily doses; with a JAK inhibitor it is
    tapered over the months after the start (sometimes held at 5 mg)."""
    rng = batch.rng
    if not concomitant:
        middle = (start + end) // 2
        _exposure(batch, pid, row, start, middle, dose)
        _exposure(batch, pid, row, middle + 1, end, dose / 2)
        return
    current = float(rng.choice([10.0, 15.0, 20.0]))
    _exposure(batch, pid, row, start, end, current)
    day_ = end + 1
    steps = [d for d in (15.0, 10.0, 7.5, 5.0, 2.5) if d < current]
    hold_at_five = rng.random() < 0.1
    for step in steps:
        if day_ > DATA_END:
            return
        if hold_at_five and step == 5.0:
            _exposure(batch, pid, row, day_, None, step)
            return
        length = int(rng.integers(28, 57))
        _exposure(batch, pid, row, day_, min(day_ + length - 1, DATA_END), step)
        day_ += length


def _exposure(
    batch: Batch, pid: int, row: dict[str, str], start: int, end: int | None, dose: float
) -> None:
    if start > DATA_END:
        return
    batch.rows["drug_exposure"].add(
        exposure_id=batch.exposure_id(), person_id=pid, start_date=start, end_date=end,
        dose=dose, **row,
    )  # fmt: skip


def _jak_course(batch: Batch, start: int) -> tuple[list[_Segment], str]:
    rng = batch.rng
    names = list(batch.params.jak_shares)
    shares = np.array([batch.params.jak_shares[n] for n in names])
    ingredient = names[int(rng.choice(len(names), p=shares / shares.sum()))]
    (dose, frequency, formulation), p_escalate, escalations = JAK_REGIMENS[ingredient]
    end = start + int(rng.integers(180, 1220))  # 6-40 months (seed: 11-40)
    segments = [_Segment(start, end, dose, frequency, formulation)]
    if rng.random() < p_escalate:
        switch = start + int(rng.integers(28, 92))
        if switch < end:
            weights = np.array([e[3] for e in escalations])
            new = escalations[int(rng.choice(len(escalations), p=weights / weights.sum()))]
            segments[0].end = switch - 1
            segments.append(_Segment(switch, end, new[0], new[1], new[2]))
    return segments, ingredient


def _truncate(segments: list[_Segment], end: int) -> None:
    """Cut the course at ``end``; a course still running at the data cut-off has no end."""
    while len(segments) > 1 and segments[-1].start > min(end, DATA_END):
        segments.pop()
    last = segments[-1]
    last.end = min(last.end if last.end is not None else end, end)
    if last.end > DATA_END:
        last.end = None


def _adverse_events(
    batch: Batch, pid: int, ingredient: str, start: int, segments: list[_Segment]
) -> int:
    """Adverse events during treatment; returns the (possibly earlier) end of the course."""
    rng = batch.rng
    planned = segments[-1].end if segments[-1].end is not None else DATA_END
    end = planned
    for term, probability, grades, p_serious, p_stop in ADVERSE_EVENTS:
        if rng.random() >= probability:
            continue
        last = min(end, DATA_END)
        if last - start < 15:
            continue
        onset = int(start + rng.integers(14, last - start))
        stop = bool(rng.random() < p_stop)
        outcome = str(rng.choice(["recovered", "recovered", "recovered", "recovering"]))
        batch.rows["adverse_event"].add(
            person_id=pid, term=term, onset_date=onset, grade=int(rng.choice(grades)),
            serious=bool(rng.random() < p_serious), outcome=outcome,
            suspected_drug=ingredient, led_to_discontinuation=stop,
        )  # fmt: skip
        if stop:
            end = min(end, onset + int(rng.integers(0, 15)))
    return end


def _cdasi_visit(
    batch: Batch, pid: int, when: int, keys: tuple[np.ndarray, np.ndarray], activity: int,
    damage: int, papules: bool,
) -> None:  # fmt: skip
    aid = batch.assessment_id()
    items = cdasi_items().visit(batch.rng, keys, activity, damage, papules)
    add = batch.rows["assessment"].add
    for measure, value in items.items():
        add(assessment_id=aid, person_id=pid, assessment_date=when, instrument="cdasi",
            measure=measure, value=float(value))  # fmt: skip


def _score(batch: Batch, pid: int, when: int, instrument: str, measure: str, value: float) -> None:
    batch.rows["assessment"].add(
        assessment_id=batch.assessment_id(), person_id=pid, assessment_date=when,
        instrument=instrument, measure=measure, value=value,
    )  # fmt: skip


def _lab(batch: Batch, pid: int, when: int, test: str, ratio: float, uln: float) -> None:
    value = float(round(ratio * uln, 1))
    batch.rows["laboratory"].add(
        person_id=pid, test=test, loinc=_LAB_LOINC[test], result_date=when, value=value,
        unit="U/L", uln=uln, uln_unit="U/L", source_value=value, source_unit="U/L",
    )  # fmt: skip


def _treated_assessments(
    batch: Batch, pid: int, site: int, subtype: str, start: int, last: int
) -> None:
    """Visits around a JAK course: a baseline (usually within 30 days before the start) and
    follow-ups at irregular intervals, with activity falling for responders."""
    rng, p = batch.rng, batch.params
    responder = rng.random() < p.responder_fraction
    a0 = int(np.clip(round(rng.normal(28, 8)), 12, 60))
    d0 = int(np.clip(round(rng.normal(5, 3)), 0, 20))
    residual, tau = rng.uniform(0.15, 0.45), rng.uniform(0.5, 1.5)
    drift = rng.uniform(0.0, 0.12)
    pruritus0 = int(rng.integers(5, 10))
    myositis = subtype != "amyopathic"
    mmt0 = _mmt_baseline(rng, subtype)
    ck0 = _ck_ratio(rng, subtype)
    uln = CK_ULN_BY_SITE[site % len(CK_ULN_BY_SITE)]
    keys = cdasi_items().patient_keys(rng)
    papules = bool(rng.random() < 0.5)
    # drawn from a generator of their own, so the registry is otherwise the same
    core = batch.core_rng
    core_base = _core_set_baseline(core, subtype) if core is not None else {}

    visits: list[int] = []
    u = rng.random()
    if u < p.baseline_within_window:
        visits.append(start - int(rng.integers(1, 31)))
    elif u < p.baseline_within_window + p.baseline_outside_window:
        visits.append(start - int(rng.integers(35, 120)))
    if rng.random() >= p.no_followup_fraction:
        when = start + int(rng.integers(21, 75))
        while when <= min(last, start + 1100):
            if rng.random() < 0.85:
                visits.append(when)
            when += int(rng.integers(30, 130))
    for when in visits:
        months = max(when - start, 0) / _MONTH
        if responder:
            level = residual + (1 - residual) * math.exp(-months / tau)
        else:
            level = 1 - drift * min(months / 3, 1)
        activity = int(np.clip(round(a0 * level + rng.normal(0, 1.5)), 0, 97))
        _cdasi_visit(batch, pid, when, keys, activity, d0 + int(months > 12), papules)
        if rng.random() < 0.85:
            itch = np.clip(round(pruritus0 * activity / a0 + rng.normal(0, 0.7)), 0, 10)
            _score(batch, pid, when, "pruritus_nrs", "score", float(itch))
        recovery = 1 - math.exp(-months / 2.0) if responder else 0.1 * min(months / 3, 1)
        strength = mmt0 + (80 - mmt0) * recovery
        mmt_done = myositis and rng.random() < 0.7
        if mmt_done:
            mmt = int(np.clip(round(strength + rng.normal(0, 1)), 0, 80))
            _score(batch, pid, when, "mmt8", "total", float(mmt))
        ratio = max(0.2, 1 + (ck0 - 1) * (1 - recovery)) if ck0 > 1 else ck0
        ck_done = rng.random() < 0.7
        if ck_done:
            _lab(batch, pid, when, "ck", ratio * rng.uniform(0.9, 1.1), uln)
            if rng.random() < 0.2:
                _lab(batch, pid, when, "aldolase", max(ratio * 0.8, 0.3), ALDOLASE_ULN)
        if core is not None and core.random() < 0.9:
            # a core set visit: every measure, so MMT-8 and CK too where not recorded above
            _core_set_visit(batch, core, pid, when, core_base, recovery)
            if not mmt_done:
                mmt = int(np.clip(round(strength + core.normal(0, 1)), 0, 80))
                _score(batch, pid, when, "mmt8", "total", float(mmt))
            if not ck_done:
                _lab(batch, pid, when, "ck", ratio * core.uniform(0.9, 1.1), uln)


def _untreated_assessments(batch: Batch, pid: int, site: int, subtype: str, onset: int) -> None:
    """DM patients never on a JAK inhibitor: none to three routine visits."""
    rng = batch.rng
    if rng.random() < 0.3:
        return
    keys = cdasi_items().patient_keys(rng)
    uln = CK_ULN_BY_SITE[site % len(CK_ULN_BY_SITE)]
    for _ in range(int(rng.integers(1, 4))):
        when = int(rng.integers(onset, DATA_END + 1))
        activity = int(np.clip(round(rng.normal(15, 8)), 0, 60))
        _cdasi_visit(batch, pid, when, keys, activity, int(rng.integers(0, 8)), False)
        if subtype != "amyopathic" and rng.random() < 0.5:
            _score(batch, pid, when, "mmt8", "total", float(_mmt_baseline(rng, subtype)))
        if rng.random() < 0.5:
            _lab(batch, pid, when, "ck", _ck_ratio(rng, subtype), uln)


def _core_set_baseline(rng: np.random.Generator, subtype: str) -> dict[str, float]:
    """A treated patient's core set measures before the JAK start (assumptions: globals of
    3 to 8 cm, extramuscular 2 to 7 cm; HAQ 0.6 to 2 with myositis, 0.1 to 0.8 without;
    children CHAQ and CMAS instead of HAQ, CMAS 20 to 45 of 52)."""
    myositis = subtype != "amyopathic"
    base = {"pga": rng.uniform(3, 8), "ptga": rng.uniform(3, 8), "ema": rng.uniform(2, 7)}
    disability = rng.uniform(0.6, 2.0) if myositis else rng.uniform(0.1, 0.8)
    if subtype.startswith("juvenile"):
        return base | {"chaq": disability, "cmas": rng.uniform(20, 45)}
    return base | {"haq": disability}


def _core_set_visit(
    batch: Batch, rng: np.random.Generator, pid: int, when: int, base: dict[str, float],
    recovery: float,
) -> None:  # fmt: skip
    """The core set measures at one visit: each moves from its baseline toward normal by the
    visit's ``recovery`` (the MMT-8's: a responder's approaches 1), the lower-is-better ones
    to 15 % of their baseline, CMAS to its maximum, with noise of 4 % of the scale."""
    for stem, start in base.items():
        low, high, step = _CORE_SET[stem]
        target = (
            start + (high - start) * recovery if stem == "cmas" else start * (1 - 0.85 * recovery)
        )
        noisy = target + rng.normal(0, 0.04 * (high - low))
        value = float(np.clip(round(noisy / step) * step, low, high))
        _score(batch, pid, when, *REGISTRY_SOURCES[stem], round(value, 3))


def _mmt_baseline(rng: np.random.Generator, subtype: str) -> int:
    if subtype in _MYOSITIS_ACTIVE:
        return int(rng.integers(50, 73))
    if subtype == "hypomyopathic":
        return int(rng.integers(70, 79))
    return int(rng.integers(72, 81))


def _ck_ratio(rng: np.random.Generator, subtype: str) -> float:
    if subtype in _MYOSITIS_ACTIVE:
        return float(rng.uniform(3, 15))
    if subtype == "hypomyopathic":
        return float(rng.uniform(0.8, 1.8))
    return float(rng.uniform(0.3, 0.9))

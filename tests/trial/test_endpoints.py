"""Endpoints derived from registry-shaped visit data (a seeded synthetic BIRD-like trial and
hand-made bad input): values, traceability, intercurrent events, clear errors."""

from __future__ import annotations

import copy
import datetime as dt
from functools import cache
from typing import Any

import pyarrow as pa
import pytest

from myositis.errors import InvalidInputError
from myositis.instruments import doi, tis
from myositis.trial.endpoints import TrialEndpoints, derive_endpoints
from myositis.trial.spec import TrialSpec, load_trial_spec, spec_from_mapping
from myositis.trial.synthetic import SyntheticTrial, generate_trial

PRIMARY = "pf_moderate_w24"


@cache
def _trial() -> tuple[TrialSpec, SyntheticTrial, TrialEndpoints]:
    spec = load_trial_spec("bird")
    trial = generate_trial(spec, seed=7, rescue_rate=0.05, restart_rate=0.05)
    endpoints = _derive(spec, trial)
    return spec, trial, endpoints


def _derive(spec: TrialSpec, trial: SyntheticTrial, strict: bool = False,
            **tables: pa.Table) -> TrialEndpoints:  # fmt: skip
    t = trial.tables | tables
    enrolment = tables.get("enrolment", trial.enrolment)
    return derive_endpoints(spec, enrolment, t["assessment"], t["laboratory"],
                            t["drug_exposure"], strict=strict)  # fmt: skip


def _replace_rows(table: pa.Table, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=table.schema)


def test_primary_endpoint_follows_the_generated_truth_unless_an_event_intervened() -> None:
    _, trial, endpoints = _trial()
    assert endpoints.problems == ()
    assert len(endpoints.patients) == 62
    events = 0
    for patient in endpoints.patients:
        value = patient.endpoint(PRIMARY)
        if value.events:
            events += 1
            assert not value.responder
            assert value.reason.startswith(f"non-responder ({value.events[0].kind}")
        else:
            assert value.responder == trial.truth[patient.person_id], value.reason
    assert events >= 2  # the seed gives a withdrawal and a rescue therapy at least


def test_batch_scores_equal_the_single_visit_instrument_scores() -> None:
    """Each visit's TIS and DOI equal myositis.instruments' score_one on the listed values."""
    spec, _, endpoints = _trial()
    checked = 0
    for patient in endpoints.patients[:6]:
        base = {m.measure: m for m in _baseline(endpoints, patient.person_id)}
        for visit in patient.visits:
            if visit.not_computable:
                continue
            pair: dict[str, Any] = {"mmt8_max": spec.mmt8_max}
            for key in ("pga", "ptga", "mmt8", "haq", "ema", "ck"):
                pair[f"{key}_baseline"] = base[key].value
                pair[f"{key}_followup"] = visit.values[key].value
            pair["ck_uln"] = base["ck"].uln
            single = tis.score_one(pair)
            assert visit.tis == single.total
            assert visit.tis_category == single.category
            assert visit.doi_met == doi.score_one(pair).met
            checked += 1
    assert checked >= 25


def _baseline(endpoints: TrialEndpoints, person_id: int) -> list[Any]:
    patient = next(p for p in endpoints.patients if p.person_id == person_id)
    line = next(t for t in patient.listing if t.step == "visit baseline")
    assert line.sources
    spec, trial, _ = _trial()
    from myositis.trial.endpoints import _Deriver
    from myositis.trial.records import (
        CORE_SET_SOURCES,
        read_assessments,
        read_enrolment,
        read_enzymes,
    )

    enrolled = {e.person_id: e for e in read_enrolment(trial.enrolment, spec.stratum_names)}
    ms = read_assessments(trial.tables["assessment"], {person_id}, CORE_SET_SOURCES)[person_id]
    ms += read_enzymes(trial.tables["laboratory"], {person_id}, ("ck",))[person_id]
    _, chosen = _Deriver(spec).visit_values(enrolled[person_id], ms, spec.visits[0])
    return list(chosen.values())


def test_every_endpoint_is_traced_to_rows_that_exist() -> None:
    _, trial, endpoints = _trial()
    assessment_ids = set(trial.tables["assessment"].column("assessment_id").to_pylist())
    exposure_ids = set(trial.tables["drug_exposure"].column("exposure_id").to_pylist())
    lab_rows = trial.tables["laboratory"].num_rows
    for patient in endpoints.patients:
        steps = [t.step for t in patient.listing]
        assert steps[0] == "enrolment"
        assert f"endpoint {PRIMARY}" in steps
        for trace in patient.listing:
            for source in trace.sources:
                kind, _, number = source.rpartition(" ")
                if kind == "assessment":
                    assert int(number) in assessment_ids
                elif kind == "drug_exposure":
                    assert int(number) in exposure_ids
                elif kind == "laboratory row":
                    assert 1 <= int(number) <= lab_rows
                else:
                    assert kind == "enrolment row"
        primary = next(t for t in patient.listing if t.step == f"endpoint {PRIMARY}")
        if patient.endpoint(PRIMARY).observed is not None:
            assert any(s.startswith("assessment") for s in primary.sources)
    responder = next(p for p in endpoints.patients if p.endpoint(PRIMARY).responder)
    reason = responder.endpoint(PRIMARY).reason
    assert "prednisone-free: 0 mg on each of the 28 days" in reason
    assert "last dose 2.5 mg on" in reason and "drug_exposure" in reason


def test_taper_adherence_counts_days_on_above_and_below_the_protocol() -> None:
    spec, _, endpoints = _trial()
    rows = {p.person_id: p.adherence for p in endpoints.patients}
    perfect = [a for a in rows.values() if a is not None and a.above == 0 and a.below == 0]
    assert perfect and all(a.share == 1.0 for a in perfect)
    stuck = [a for a in rows.values() if a is not None and a.above > 0]
    assert stuck, "the seed has patients who stop tapering at 5 mg"
    for a in stuck:
        assert a.first_day_above is not None
        assert a.on_schedule + a.above + a.below == a.days


def _tweak(rows: list[dict[str, Any]], match: dict[str, Any], **changes: Any
           ) -> list[dict[str, Any]]:  # fmt: skip
    out = copy.deepcopy(rows)
    hits = [r for r in out if all(r[k] == v for k, v in match.items())]
    assert hits, match
    for r in hits:
        r.update(changes)
    return out


def _visit_date(trial: SyntheticTrial, person: int, day: int) -> dt.date:
    enrol = {r["person_id"]: r for r in trial.enrolment.to_pylist()}
    return enrol[person]["randomisation_date"] + dt.timedelta(days=day)


def test_a_missing_core_set_measure_is_not_computable_never_zero() -> None:
    spec, trial, _ = _trial()
    person = 1001
    rows = trial.tables["assessment"].to_pylist()
    week24 = [r for r in rows if r["person_id"] == person and r["instrument"] == "haq"][-1]
    rows = [r for r in rows if r is not week24 and r != week24]
    endpoints = _derive(spec, trial, assessment=_replace_rows(trial.tables["assessment"], rows))
    patient = next(p for p in endpoints.patients if p.person_id == person)
    visit = patient.visit("week24")
    assert visit.tis is None and visit.doi_met is None
    assert visit.not_computable == "not computable: no haq at week24 within the visit window"
    value = patient.endpoint(PRIMARY)
    assert value.observed is None and not value.responder
    assert value.events[-1].kind == "missing_visit"
    [problem] = endpoints.problems
    assert "person 1001, week24" in problem.describe()
    assert "a missing core set measure" in problem.describe()
    with pytest.raises(InvalidInputError, match="no haq at week24"):
        _derive(spec, trial, strict=True,
                assessment=_replace_rows(trial.tables["assessment"], rows))  # fmt: skip


def test_an_assessment_outside_every_window_is_flagged_and_strict_stops() -> None:
    spec, trial, _ = _trial()
    person = 1002
    late = _visit_date(trial, person, 140)  # between week16 (105-119) and week24 (161-175)
    rows = trial.tables["assessment"].to_pylist()
    rows.append(dict(assessment_id=99999, person_id=person, assessment_date=late,
                     instrument="pga", measure="score", value=2.0))  # fmt: skip
    table = _replace_rows(trial.tables["assessment"], rows)
    endpoints = _derive(spec, trial, assessment=table)
    [problem] = endpoints.problems
    text = problem.describe()
    row = len(rows)
    assert text.startswith(f"assessment, row {row}, column 'assessment_date': value '{late}'")
    assert "person 1002: pga (assessment 99999) on day 140 after randomisation is outside" in text
    assert "week16: day 105 to 119; week24: day 161 to 175" in text
    with pytest.raises(InvalidInputError, match="outside every visit window"):
        _derive(spec, trial, strict=True, assessment=table)


def test_overlapping_dose_records_are_an_error_naming_both() -> None:
    spec, trial, _ = _trial()
    rows = trial.tables["drug_exposure"].to_pylist()
    first, second = [r for r in rows if r["person_id"] == 1003][:2]
    rows = _tweak(rows, {"exposure_id": second["exposure_id"]},
                  start_date=first["end_date"] - dt.timedelta(days=2))  # fmt: skip
    with pytest.raises(InvalidInputError) as info:
        _derive(spec, trial, drug_exposure=_replace_rows(trial.tables["drug_exposure"], rows))
    text = str(info.value)
    assert f"drug_exposure {second['exposure_id']}" in text
    assert f"overlaps drug_exposure {first['exposure_id']}" in text
    assert "end one regimen the day before the next starts" in text


def test_an_unknown_stratum_and_a_dose_in_grams_are_refused() -> None:
    spec, trial, _ = _trial()
    enrol = _tweak(trial.enrolment.to_pylist(), {"person_id": 1004}, stratum="naive/mmf")
    with pytest.raises(InvalidInputError, match="is not a stratum of the plan; allowed: "
                                                "naive/methotrexate"):  # fmt: skip
        _derive(spec, trial, enrolment=_replace_rows(trial.enrolment, enrol))
    rows = trial.tables["drug_exposure"].to_pylist()
    target = next(r for r in rows if r["person_id"] == 1004)
    rows = _tweak(rows, {"exposure_id": target["exposure_id"]}, dose_unit="g")
    with pytest.raises(InvalidInputError, match="needs a dose in mg"):
        _derive(spec, trial, drug_exposure=_replace_rows(trial.tables["drug_exposure"], rows))


def test_strategy_treatment_policy_uses_the_observed_outcome() -> None:
    spec, trial, endpoints = _trial()
    rescued = [
        p
        for p in endpoints.patients
        if any(e.kind == "rescue_therapy" for e in p.endpoint("moderate_w24").events)
    ]
    assert rescued
    data = spec.canonical()
    data["intercurrent_events"]["rescue_therapy"] = "treatment_policy"
    data["intercurrent_events"]["prednisone_restarted"] = "treatment_policy"
    policy = _derive(spec_from_mapping(data), trial)
    for patient in rescued:
        again = next(p for p in policy.patients if p.person_id == patient.person_id)
        value = again.endpoint("moderate_w24")
        if not any(e.kind in ("dropout", "missing_visit") for e in value.events):
            assert value.responder == value.observed
            assert "handled by treatment policy" in value.reason


def test_blinded_endpoint_rows_carry_no_arm() -> None:
    _, trial, endpoints = _trial()
    rows = endpoints.rows()
    assert rows and "arm" not in rows[0]
    arms = set(trial.allocation.values())
    text = repr(endpoints)
    assert not any(arm in text for arm in arms)

"""Shared fixtures for instrument tests: complete, valid records to vary one value at a time."""

from __future__ import annotations

from typing import Any

import pytest

from myositis.instruments.cdasi import ITEMS


def tis_pair(**overrides: Any) -> dict[str, Any]:
    """A valid adult baseline/follow-up pair with no change in any measure (TIS 0)."""
    record: dict[str, Any] = {
        "pga_baseline": 5,
        "pga_followup": 5,
        "ptga_baseline": 5,
        "ptga_followup": 5,
        "mmt8_baseline": 60,
        "mmt8_followup": 60,
        "mmt8_max": 80,
        "haq_baseline": 1.5,
        "haq_followup": 1.5,
        "ema_baseline": 5,
        "ema_followup": 5,
        "ck_baseline": 1000,
        "ck_followup": 1000,
        "ck_uln": 200,
    }
    record.update(overrides)
    return record


def cdasi_visit(**overrides: Any) -> dict[str, Any]:
    """A CDASI visit with every item 0, then the given items."""
    record: dict[str, Any] = {f.column: 0 for f in ITEMS}
    record.update(overrides)
    return record


@pytest.fixture
def pair() -> dict[str, Any]:
    return tis_pair()

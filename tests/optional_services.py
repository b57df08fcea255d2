"""Test policy for optional services: a service (PostgreSQL, Spark) that is missing fails the
run in CI (``CI=true``) and is skipped elsewhere, with the reason shown in pytest's summary."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(service: str, reason: str) -> NoReturn:
    """Fail in CI, skip (visibly, with ``reason``) on a developer's machine."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{service} is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"{service} unavailable: {reason}")

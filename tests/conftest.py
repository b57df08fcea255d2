"""Settings for every test: compiled cohort plans (myositis.cohort.plans) go to a folder of the
test session, never into the user's cache folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _plan_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("plan-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MYOSITIS_CACHE_DIR", str(folder))
        yield

"""The trial package's public names exist, and importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import myositis.trial


def test_every_public_name_loads() -> None:
    for name in myositis.trial.__all__:
        assert getattr(myositis.trial, name) is not None, name


def test_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, myositis.trial; "
        "print(sorted(m for m in ('scipy', 'statsmodels', 'pyarrow', 'numpy', 'pydantic') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "[]", out.stdout


def test_sample_size_stays_the_function_after_its_module_is_imported() -> None:
    import importlib

    module = importlib.import_module("myositis.trial.sample_size")
    from myositis.trial import sample_size

    assert callable(sample_size)
    assert myositis.trial.sample_size is module.sample_size

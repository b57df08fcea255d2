"""``python -m myositis.cli``: the same program as ``myositis``."""

from myositis.cli import run

run()

"""The public API is small and explicit (as httpx checks its ``__all__``)."""

from __future__ import annotations

import myositis


def test_every_name_in_all_exists() -> None:
    for name in myositis.__all__:
        assert hasattr(myositis, name), name


def test_every_error_derives_from_the_one_base() -> None:
    for name in myositis.__all__:
        obj = getattr(myositis, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, myositis.MyositisError), name

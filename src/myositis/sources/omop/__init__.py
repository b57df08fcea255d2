"""OMOP CDM 5.3 / 5.4: imported into a registry (``myositis import omop omop+URL --into
REGISTRY``, :mod:`~myositis.sources.omop.reader`) and written from one
(``myositis export REGISTRY --format omop``, :mod:`~myositis.sources.omop.export`). Reading a
CDM live needs neither: ``--data omop+URL`` (:mod:`myositis.registry.omop`)."""

from myositis.sources.omop.reader import Reader

__all__ = ["Reader"]

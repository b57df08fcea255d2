"""FHIR R4: Synthea-style Bundles and bulk-data NDJSON in (:class:`Reader`), collection Bundles
and NDJSON out (:mod:`.export`). Rules and a worked example: ``docs/fhir.md``."""

from myositis.sources.fhir.reader import Reader

__all__ = ["Reader"]

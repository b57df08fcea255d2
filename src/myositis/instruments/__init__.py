"""Validated outcome instruments for the inflammatory myopathies.

Each instrument is defined once, as Ibis expressions (``scores``), and runs in-process for one
visit (``score_one``) or inside the query engine for millions of rows (``myositis score``).
Rule tables live in ``data/``; the documentation of every rule and its source is in
``docs/instruments/``.
"""

"""Ibis's select-merging score, computed once per node: the same SQL, compiled in half the time.

Why. When Ibis compiles an expression it merges each SELECT over a SELECT into one
(``ibis.backends.sql.rewrites.merge_select_select``) when the merged node's *complexity* is no
larger than the unmerged one's. Ibis 12.0.0 computes that score with ``Node.map_nodes``, which
walks the whole graph below the node on every call, relations included, so each of a large
query's merges scores again every node below it. The bundled study's cohort query makes 53
merges: scoring took about half of its compile (0.3 of 0.6 to 0.7 s on this project's 2-core
machines, first compile of a process, DuckDB). :func:`complexity` computes the same score by the
same rule and remembers each node's score while the node lives, so every node is scored once.
Compiles that have no plan to reuse gain: a process's first study or cohort run, and the
registry checks, on every engine.

The rule (``ibis/backends/sql/rewrites.py``, ``complexity``): a ``Field`` scores 1 (a
reference, not the relation it reads), an impure function ``sys.maxsize``, any other node 1 plus
the sum of its children's scores (``Node.__children__``, in order, repeats included). Nodes are
immutable and compare by value, so a remembered score stays right.

:func:`install` puts it in place of Ibis's own for the Ibis versions in :data:`CHECKED` only;
tests/registry/test_ibis_complexity.py compares it with Ibis's function on every relation (and
every seventh value node) of the study's, R1's and R2's expressions and requires the same SQL
with and without it. Any other version keeps Ibis's function. This belongs upstream, in Ibis;
until then it lives here.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any, Final

import ibis
import ibis.expr.operations as ops

#: Ibis versions whose ``complexity`` this module reproduces (checked by the tests).
CHECKED: Final = frozenset({"12.0.0"})

_scores: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
#: Ibis's own function, once :func:`install` has replaced it (the tests compare the two).
replaced: Any = None


def complexity(node: Any) -> int:
    """Ibis's complexity score of ``node`` (module docstring), each node scored once.

    Nodes compare by value, so the node a remembered score is keyed by may be another object
    than the one looked up, and the garbage collector may take it (and its entry) at any
    moment: each score this call reads or computes is held in ``local`` until it returns."""
    scores = _scores
    local: dict[Any, int] = {}
    pending = [node]
    while pending:
        current = pending[-1]
        if current in local:
            pending.pop()
            continue
        remembered = scores.get(current)
        if remembered is not None:
            local[current] = remembered
            pending.pop()
            continue
        if isinstance(current, ops.Field):
            score = 1
        elif isinstance(current, ops.Impure):
            score = sys.maxsize
        else:
            children = current.__children__
            unscored = [child for child in children if child not in local]
            if unscored:
                pending.extend(unscored)
                continue
            score = 1 + sum(local[child] for child in children)
        local[current] = scores[current] = score
        pending.pop()
    return local[node]


def install() -> bool:
    """Use :func:`complexity` in Ibis's SQL rewrites when Ibis's version is one of
    :data:`CHECKED`; whether it is in use."""
    global replaced
    if ibis.__version__ not in CHECKED:
        return False  # before importing the rewrites: other versions may lay them out otherwise
    from ibis.backends.sql import rewrites

    if rewrites.complexity is not complexity:
        replaced = rewrites.complexity
        rewrites.complexity = complexity
    return True


__all__ = ["CHECKED", "complexity", "install"]

"""myositis.registry.ibis_complexity: the same score as Ibis's own ``complexity`` on every node,
and the same SQL with and without it, for the study's cohort query, R1 and R2 (the peer here
is Ibis's function itself, ``ibis/backends/sql/rewrites.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pytest
from ibis import BaseBackend
from ibis.backends.sql import rewrites

from myositis.cohort.build import ResponseRule, _cohort_query
from myositis.cohort.compile import compile_cohort
from myositis.cohort.run import load_cohort
from myositis.registry import create_registry
from myositis.registry import ibis_complexity as fast
from myositis.study.runner import _format_1
from myositis.study.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    ibis.__version__ not in fast.CHECKED,
    reason=f"ibis {ibis.__version__} keeps its own complexity (checked: {sorted(fast.CHECKED)})",
)


def _ibis_own() -> object:
    """Ibis's own function, whether or not a registry opened earlier installed the module's."""
    return fast.replaced if rewrites.complexity is fast.complexity else rewrites.complexity


@pytest.fixture
def ibis_own(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Ibis's own function in place for the test."""
    monkeypatch.setattr(rewrites, "complexity", _ibis_own())
    yield


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> BaseBackend:
    return create_registry(tmp_path_factory.mktemp("cx") / "empty.duckdb")


def _expressions(con: BaseBackend) -> dict[str, ir.Table]:
    spec = load_spec(ROOT / "studies" / "jak-refractory-dm.yaml")
    study = _cohort_query(con, _format_1(spec), ResponseRule(), [], ("pruritus_nrs", "score"))
    found = {"study": study.one}
    for name in ("r1_observed_new_users", "r2_dm_events_collapsed"):
        cohort = load_cohort(ROOT / "benchmarks" / "cohorts" / f"{name}.yaml")
        found[name] = compile_cohort(con, cohort).result
    return found


def test_the_same_score_as_ibis_on_every_relation(con: BaseBackend, ibis_own: None) -> None:
    # every relation (each scores the graph below it: the case the module is for) and every
    # 7th value node; all nodes would take Ibis's function 16 s
    for name, expr in _expressions(con).items():
        nodes = list(expr.op().find(ops.Node, ordered=True))
        assert len(nodes) > 500, name
        chosen = [n for k, n in enumerate(nodes) if isinstance(n, ops.Relation) or k % 7 == 0]
        for node in chosen:
            assert fast.complexity(node) == rewrites.complexity(node), (name, node)


def test_the_same_sql_with_and_without_it(con: BaseBackend, ibis_own: None) -> None:
    own = {name: str(con.compile(e)) for name, e in _expressions(con).items()}
    assert fast.install()
    assert rewrites.complexity is fast.complexity
    faster = {name: str(con.compile(e)) for name, e in _expressions(con).items()}
    assert faster == own


def test_an_impure_node_scores_as_ibis_scores_it(ibis_own: None) -> None:
    t = ibis.table({"a": "int64"}, name="t")
    expr = t.mutate(r=ibis.random() + t.a).op()
    assert fast.complexity(expr) == rewrites.complexity(expr) > 2**62


def test_another_ibis_version_keeps_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    original = _ibis_own()
    monkeypatch.setattr(rewrites, "complexity", original)
    monkeypatch.setattr(ibis, "__version__", "99.0.0")
    assert fast.install() is False
    assert rewrites.complexity is original


class _Vanishing(dict):  # type: ignore[type-arg]
    """Remembered scores whose entries vanish once found, as an entry keyed by another node
    of equal value does when the garbage collector takes that node (a WeakKeyDictionary)."""

    def get(self, key: object, default: object = None) -> object:
        return self.pop(key, default)

    def __contains__(self, key: object) -> bool:
        found = super().__contains__(key)
        self.pop(key, None)
        return found


def test_a_remembered_score_collected_meanwhile_is_no_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each score a call reads is held until it returns: a test run failed with an 'internal
    error (KeyError: <weakref ... to 'Field'>)' on a second OMOP import in one process when an
    equal node's remembered score was collected between finding and reading it."""
    t = ibis.table({"a": "int64", "b": "int64"}, name="t")
    node = t.select(c=t.a + t.b, d=t.a + t.b).op()
    expected = fast.complexity(node)
    remembered = _Vanishing()
    monkeypatch.setattr(fast, "_scores", remembered)
    fast.complexity(node)  # every score remembered
    assert fast.complexity(node) == expected  # each entry vanishes as it is read

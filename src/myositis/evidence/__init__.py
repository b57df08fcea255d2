"""Evidence synthesis: pool study-level results as R metafor does, report them, and combine
aggregate packages from the sites of a network study.

Modules, one job each: ``effects`` (escalc-like effect sizes), ``models`` (rma-like EE/DL/
REML/PM with HKSJ), ``glmm`` (binomial-normal model), ``studies`` (CSV input and its checks),
``pooling`` (natural-scale results, subgroups, leave-one-out, meta-regression), ``plots``
(forest and funnel plots), ``table`` (the bundled JAK-inhibitor evidence table), ``report``
(HTML reports), ``sites`` (site packages) and ``cli``. See docs/evidence.md.
"""

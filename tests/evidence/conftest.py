"""Public reference data sets from R metafor (metadat), written out as fixtures.

- ``dat.bcg``: 13 BCG vaccine trials (Colditz et al. 1994), columns tpos, tneg, cpos, cneg,
  ablat, alloc as printed by ``print(dat.bcg)`` in R 4 / metafor 3.8-1.
- ``dat.pritz1997``: 14 single-arm studies (Pritz 1997), ``xi`` events of ``ni``.

Log risk ratios are computed as ``escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg)``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from myositis.evidence.effects import EffectSizes, generic, proportions

BCG_TPOS = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
BCG_TNEG = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
BCG_CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
BCG_CNEG = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]
BCG_ABLAT = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
BCG_ALLOC = [
    *["random"] * 4,
    *["alternate"] * 2,
    *["random"] * 3,
    *["systematic"] * 4,
]

PRITZ_X = [16, 10, 4, 43, 10, 25, 13, 12, 22, 4, 5, 18, 58, 6]
PRITZ_N = [17, 12, 8, 58, 10, 42, 14, 12, 41, 5, 6, 23, 68, 10]

# Synthetic single-arm mean changes (labelled synthetic; not from any study).
MN_ROWS = [
    ("A", -12.5, 8.1, 10),
    ("B", -9.8, 7.0, 24),
    ("C", -15.2, 10.3, 8),
    ("D", -7.4, 6.2, 31),
    ("E", -11.0, 9.5, 15),
]


def bcg_log_rr() -> tuple[np.ndarray, np.ndarray]:
    tpos, tneg = np.array(BCG_TPOS, float), np.array(BCG_TNEG, float)
    cpos, cneg = np.array(BCG_CPOS, float), np.array(BCG_CNEG, float)
    yi = np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg))
    vi = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
    return yi, vi


@pytest.fixture
def bcg() -> EffectSizes:
    yi, vi = bcg_log_rr()
    base = generic([str(i) for i in range(1, 14)], yi, vi)
    return EffectSizes(
        measure="GEN",
        study=base.study,
        yi=base.yi,
        vi=base.vi,
        extra={"alloc": tuple(BCG_ALLOC), "ablat": tuple(float(a) for a in BCG_ABLAT)},
    )


def pritz(measure: str) -> EffectSizes:
    return proportions([str(i) for i in range(1, 15)], PRITZ_X, PRITZ_N, measure)  # type: ignore[arg-type]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    yi, vi = bcg_log_rr()
    rows: list[list[object]] = [
        [f"trial{i + 1}", repr(float(yi[i])), repr(float(vi[i])), BCG_ALLOC[i], BCG_ABLAT[i]]
        for i in range(13)
    ]
    return write_csv(tmp_path / "bcg.csv", ["study", "yi", "vi", "alloc", "ablat"], rows)


@pytest.fixture
def pritz_csv(tmp_path: Path) -> Path:
    rows: list[list[object]] = [
        [f"s{i + 1}", x, n] for i, (x, n) in enumerate(zip(PRITZ_X, PRITZ_N, strict=True))
    ]
    return write_csv(tmp_path / "pritz.csv", ["study", "events", "n"], rows)


@pytest.fixture
def mn_csv(tmp_path: Path) -> Path:
    rows: list[list[object]] = [list(r) for r in MN_ROWS]
    return write_csv(tmp_path / "mn.csv", ["study", "mean_change", "sd_change", "n"], rows)

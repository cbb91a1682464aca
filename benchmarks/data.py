"""Deterministic benchmark data: well-conditioned and ill-conditioned least-squares problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEED = 20240917
NOISE = 1.0
ILL_CONDITION = 1e4  # condition number of the standardized design


@dataclass(frozen=True)
class Case:
    n: int
    d: int
    kind: str  # "well" or "ill"

    @property
    def name(self) -> str:
        return f"n={self.n:.0e} d={self.d} {self.kind}"

    @property
    def nbytes(self) -> int:
        return self.n * self.d * 8


def make(case: Case, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The design and target of ``case``, generated in blocks to bound temporary memory.

    Ill-conditioned data are correlated (eigenvalues of the correlation spread over
    ``ILL_CONDITION``), on scales from 1 to 1e3 and offset from zero, as raw features often are.
    """
    rng = np.random.default_rng([SEED, case.n, case.d, case.kind == "ill"])
    d = case.d
    mixing = np.eye(d)
    scales = np.ones(d)
    offsets = np.zeros(d)
    if case.kind == "ill" and d > 1:
        basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
        mixing = (basis * np.logspace(0, -np.log10(ILL_CONDITION), d)) @ basis.T
        scales = np.logspace(0, 3, d)
        offsets = rng.normal(0, 10, d) * scales
    coef = rng.standard_normal(d)
    X = np.empty((case.n, d), dtype=dtype)
    y = np.empty(case.n, dtype=np.float64)
    block = 1_000_000
    for start in range(0, case.n, block):
        stop = min(case.n, start + block)
        rows = rng.standard_normal((stop - start, d)) @ mixing
        X[start:stop] = rows * scales + offsets
        y[start:stop] = rows @ coef + 3.0 + NOISE * rng.standard_normal(stop - start)
    return X, y


def save(case: Case, folder: Path) -> tuple[Path, Path]:
    X, y = make(case)
    stem = f"{case.n}_{case.d}_{case.kind}"
    x_path, y_path = folder / f"{stem}_X.npy", folder / f"{stem}_y.npy"
    np.save(x_path, X)
    np.save(y_path, y)
    return x_path, y_path

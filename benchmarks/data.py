"""Deterministic benchmark data: well-conditioned and ill-conditioned least-squares problems."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

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
    Each block has its own random stream spawned from the seed, so two threads can fill
    blocks at once and the data do not depend on the order.
    """
    d = case.d
    ill = case.kind == "ill" and d > 1
    block = max(1, 2**21 // d)  # 16 MB of float64 per block: temporaries stay small
    spans = [(start, min(case.n, start + block)) for start in range(0, case.n, block)]
    setup, *streams = np.random.SeedSequence([SEED, case.n, d, ill]).spawn(len(spans) + 1)
    rng = np.random.default_rng(setup)
    if ill:
        basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
        mixing = (basis * np.logspace(0, -np.log10(ILL_CONDITION), d)) @ basis.T
        scales = np.logspace(0, 3, d)
        offsets = rng.normal(0, 10, d) * scales
    coef = rng.standard_normal(d)
    X = np.empty((case.n, d), dtype=dtype)
    y = np.empty(case.n, dtype=np.float64)

    def fill(span: tuple[int, int], stream: np.random.SeedSequence) -> None:
        start, stop = span
        block_rng = np.random.default_rng(stream)
        rows = block_rng.standard_normal((stop - start, d))
        if ill:
            rows = rows @ mixing
            np.multiply(rows, scales, out=X[start:stop])
            X[start:stop] += offsets
        else:  # no mixing, unit scales and zero offsets
            X[start:stop] = rows
        y[start:stop] = rows @ coef + 3.0 + NOISE * block_rng.standard_normal(stop - start)

    # numpy's generators and BLAS release the GIL; one BLAS thread each keeps to two cores.
    with threadpool_limits(1), ThreadPoolExecutor(2) as pool:
        list(pool.map(fill, spans, streams))
    return X, y


def save(case: Case, X: np.ndarray, y: np.ndarray, folder: Path) -> tuple[Path, Path]:
    stem = f"{case.n}_{case.d}_{case.kind}"
    x_path, y_path = folder / f"{stem}_X.npy", folder / f"{stem}_y.npy"
    np.save(x_path, X)
    np.save(y_path, y)
    return x_path, y_path


def oracle(X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The exact least-squares solution, by the textbook method and none of gradreg's code.

    Two passes in float64: the column means (summed block by block), then the cross-products
    of the centred blocks. The normal equations are solved in correlation scaling with an SVD,
    and the optimal loss comes from the residuals themselves (a third pass), so that it does
    not suffer from cancellation when the fit is close.
    """
    n, d = X.shape
    block = max(1, 2**22 // d)
    spans = [(start, min(n, start + block)) for start in range(0, n, block)]
    mean = sum(X[a:b].sum(axis=0, dtype=np.float64) for a, b in spans) / n
    y_mean = sum(float(y[a:b].sum()) for a, b in spans) / n
    gram, xty = np.zeros((d, d)), np.zeros(d)
    for a, b in spans:
        centred = X[a:b] - mean
        gram += centred.T @ centred
        xty += centred.T @ (y[a:b] - y_mean)
    cov = gram / n
    scale = np.sqrt(np.diag(cov))
    scale[scale == 0] = 1.0
    corr = cov / np.outer(scale, scale)
    coef = np.linalg.lstsq(corr, xty / n / scale, rcond=1e-15)[0] / scale
    intercept = y_mean - mean @ coef
    squares = sum(float(r @ r) for r in (y[a:b] - X[a:b] @ coef - intercept for a, b in spans))
    return {"mean_x": mean, "cov": cov, "coef": coef, "intercept": np.float64(intercept),
            "f_star": np.float64(0.5 * squares / n)}

"""The pass over the rows for heteroscedasticity-robust covariances, and what is computed
from its sum (the Wald test of the slopes, the rounding of the robust variances).

The middle of the sandwich ``sum_i w_i^2 e_i^2 / (1 - h_i)^k z_i z_i^T`` is summed in whitened
coordinates ``q_i = z_i H`` (:class:`~gradreg._inference_design.Design`), where the design's
rows are orthonormal: summed over the raw rows ``z_i`` it would carry the design's condition
number squared into every robust variance; whitened, only the spread of the residuals.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._chunks import blas_for_small_products, chunk_rows_for
from ._inference_design import Design

__all__ = ["HC_POWER", "RobustPart", "meat_rounding", "robust_meat", "wald_slopes"]

HC_POWER = {"HC0": 0, "HC1": 0, "HC2": 1, "HC3": 2}
_EPS = float(np.finfo(np.float64).eps)
# Rows per block of the robust pass on a data source (its batches are cut to chunks anyway).
_PASS_BATCH = 131_072


@dataclass(frozen=True)
class RobustPart:
    """Rows, weight sum and ``sum_i w_i^2 e_i^2 / (1 - h_i)^k q_i q_i^T`` of some rows.

    ``q_i = z_i H`` are the design's rows in whitened coordinates (``z_i`` centred, ``H`` of
    :class:`~gradreg._inference_design.Design`). Parts of any split of the rows add up with
    ``+`` (merged like the statistics, on threads, files or Dask workers).
    """

    n_rows: int
    weight_sum: float
    meat: np.ndarray

    def __add__(self, other: RobustPart) -> RobustPart:
        return RobustPart(
            self.n_rows + other.n_rows, self.weight_sum + other.weight_sum, self.meat + other.meat
        )


def _robust_rows(X, y, w, *, whitening: np.ndarray, centre: np.ndarray, fit_intercept: bool,
                 coef, offset: float, power: int) -> RobustPart:
    """The robust part of a block of rows (float64 work, in chunks of a few MB).

    Each chunk is copied once into a buffer of design rows ``z`` and whitened into a second,
    ``q = z H``; those are scaled in place by ``|e| w / (1 - h)^(k/2)``, with the leverage
    ``h = w |q|^2``, so that the meat is one symmetric product ``Q^T Q``.
    """
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64).ravel()
    weights = None if w is None else np.asarray(w, dtype=np.float64).ravel()
    p, rank = whitening.shape
    first = int(fit_intercept)
    meat = np.zeros((rank, rank))
    rows = chunk_rows_for(p)
    buffer = np.empty((min(rows, len(y)), p))
    whitened = np.empty((buffer.shape[0], rank))
    if first:
        buffer[:, 0] = 1.0
    for start in range(0, len(y), rows):
        block = slice(start, start + rows)
        Z = buffer[: len(y[block])]
        Q = whitened[: Z.shape[0]]
        np.subtract(X[block], centre, out=Z[:, first:], casting="unsafe")
        root = np.abs(y[block] - Z[:, first:] @ coef - offset)
        if weights is not None:
            root *= weights[block]
        np.matmul(Z, whitening, out=Q)
        if power:
            leverage = np.einsum("ij,ij->i", Q, Q)
            if weights is not None:
                leverage *= weights[block]
            root /= (1.0 - leverage) ** (power / 2)
        Q *= root[:, None]
        meat += Q.T @ Q
    weight_sum = float(len(y)) if weights is None else float(weights.sum())
    return RobustPart(len(y), weight_sum, meat)


def _add_parts(parts: Sequence[RobustPart]) -> RobustPart:
    return functools.reduce(lambda a, b: a + b, parts)


def robust_meat(source: Any, design: Design, coef: np.ndarray, intercept: float,
                cov_type: str) -> RobustPart:
    """One pass over ``source`` for the middle of the sandwich of ``cov_type`` (HC0-HC3).

    A source with ``reduce(summarise, combine)`` (Dask) runs the pass where its partitions
    live; any other is read through ``source.batches``.
    """
    offset = float(intercept) + (float(design.centre @ coef) if design.fit_intercept else 0.0)
    summarise = functools.partial(
        _robust_rows, whitening=design.whitening, centre=design.centre,
        fit_intercept=design.fit_intercept, coef=np.asarray(coef, float), offset=offset,
        power=HC_POWER[cov_type])
    # Products of a few columns gain nothing from BLAS threads (as in the statistics pass).
    small = blas_for_small_products("stats", design.n_params - 1)
    with small, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if hasattr(source, "reduce"):
            return source.reduce(summarise, _add_parts)
        total = RobustPart(0, 0.0, np.zeros((design.rank, design.rank)))
        for X, y, w in source.batches(_PASS_BATCH):
            total = total + summarise(X, y, w)
        return total


def wald_slopes(params: np.ndarray, meat: np.ndarray, design: Design) -> float:
    """``b^T V_ss^+ b`` for the slopes ``b`` and the robust covariance ``V = H M H^T``.

    ``V``'s inverse is ``G^T G`` with ``G = M^{-1/2} S_k V_k^T E`` (the inverse of ``H`` over
    the directions the design resolves), and the inverse of its slope block is the Schur
    complement of the intercept: ``b^T V_ss^{-1} b`` is ``min_c |G [c, b]|^2``, the part of
    ``G [0, b]`` away from ``G e_0``. No inverse of ``V`` (which squares the design's
    condition number twice over) or of the meat in raw coordinates is formed. The slopes are
    the same in centred and user coordinates.
    """
    first = int(design.fit_intercept)
    slopes = np.zeros(design.n_params)
    slopes[first:] = params[first:]
    size = np.sqrt(np.clip(np.diag(meat), 0, None))
    size = np.where(size > 0, size, 1.0)
    values, vectors = np.linalg.eigh(meat / np.outer(size, size))
    top = max(float(values[-1]), 0.0) if values.size else 0.0
    keep = values > meat.shape[0] * _EPS * top
    root = vectors[:, keep] / np.sqrt(values[keep])  # M_eq^{-1/2}, up to a rotation

    def mapped(phi: np.ndarray) -> np.ndarray:
        return root.T @ (design.whitened(phi) / size)

    g = mapped(slopes)
    if first:
        intercept = np.zeros(design.n_params)
        intercept[0] = 1.0
        g0 = mapped(intercept)
        norm = float(g0 @ g0)
        if norm > 0:
            g = g - g0 * (float(g0 @ g) / norm)
    return float(g @ g)


def meat_rounding(meat: np.ndarray, n_rows: int) -> float:
    """Relative error bound of the robust variances from the meat's sum over ``n`` rows:
    ``(r + sqrt(n)) eps`` of its equilibrated entries, amplified by the condition number of
    the equilibrated meat (whitened coordinates: the residuals' spread, not the design's)."""
    size = np.sqrt(np.clip(np.diag(meat), 0, None))
    if not np.all(size > 0):
        return math.inf
    values = np.linalg.eigvalsh(meat / np.outer(size, size))
    if values[0] <= 0:
        return math.inf
    return (meat.shape[0] + math.sqrt(n_rows)) * _EPS * float(values[-1] / values[0])

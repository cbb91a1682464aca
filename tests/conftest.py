"""Shared fixtures and data makers."""

from __future__ import annotations

import numpy as np
import pytest


def make_regression(
    n: int = 500,
    d: int = 5,
    condition: float = 1.0,
    seed: int = 0,
    noise: float = 1.0,
    intercept: float = 3.0,
    scales: bool = True,
):
    """Rows whose standardized design has roughly the given condition number.

    Features get different scales and offsets (as real data do) so that the internal
    standardization has work to do.
    """
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((n, d)))
    right, _ = np.linalg.qr(rng.standard_normal((d, d)))
    singular = np.logspace(0, -np.log10(condition), d)
    X = (left * singular) @ right.T * np.sqrt(n)
    if scales:
        X = X * np.logspace(0, 2, d) + rng.normal(0, 5, d)
    coef = rng.standard_normal(d)
    y = X @ coef + intercept + noise * rng.standard_normal(n)
    return X, y


def lstsq_fit(X, y, sample_weight=None, fit_intercept=True):
    """Reference coefficients and intercept from numpy.linalg.lstsq."""
    A = np.c_[X, np.ones(len(y))] if fit_intercept else np.asarray(X, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if sample_weight is not None:
        root = np.sqrt(sample_weight)
        A, b = A * root[:, None], b * root
    solution = np.linalg.lstsq(A, b, rcond=None)[0]
    if fit_intercept:
        return solution[:-1], solution[-1]
    return solution, 0.0


def relative_error(actual, expected) -> float:
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    return float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)

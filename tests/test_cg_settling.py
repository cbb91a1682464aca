"""Conjugate gradient past tol: it goes on for the optimum's digits, and stops once it no
longer comes closer.

Once the bound meets tol, each epoch either halves the distance to the optimum within two
restart cycles (``2 (p + 1)`` epochs, so that one whole cycle from a restart, a round of
refinement from the true residual, lies within them) or the fit stops. The distance starts
at most at tol and the continuation ends at ``16 eps`` at the latest, so it takes at most
``(log2(tol / (16 eps)) + 1) * 2 (p + 1)`` epochs. Raw coordinates of offset columns
(``standardize=False``) are far worse conditioned than the optimum's: there the iterates
stop coming closer well above the optimum's own rounding, and a fit that waited for it ran to
``max_iter``.
"""

import math
import warnings

import numpy as np
import pytest

from gradreg import GDRegressor

EPS = float(np.finfo(np.float64).eps)


def offset_design(offset, d, n=5000, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + offset
    y = (X - offset) @ rng.normal(size=d) + rng.normal(size=n) + offset
    return X, y


RAW_COORDINATES = [(10.0, 10), (100.0, 10), (1e3, 3)]


@pytest.mark.parametrize(("offset", "d"), RAW_COORDINATES)
def test_cg_past_tol_stops_once_it_no_longer_comes_closer(offset, d):
    X, y = offset_design(offset, d)
    tol = 1e-8
    model = GDRegressor(standardize=False, tol=tol).fit(X, y)
    assert model.converged_
    # The first epoch at which the bound meets tol: a fit stopped there reports converged.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fits stopped short of it warn
        first = next(k for k in range(1, model.n_iter_ + 1) if GDRegressor(
            standardize=False, tol=tol, max_iter=k).fit(X, y).converged_)
    window = 2 * (d + 2)  # p = d + 1 parameters with the intercept
    continuation = (math.log2(tol / (16 * EPS)) + 1) * window
    assert model.n_iter_ - first <= continuation

"""The certificate never claims more than it can: hostile inputs against 50-digit references.

``coef_error_bound_`` bounds the slopes' relative error in column-equilibrated coordinates and
the relative error of the centred intercept ``intercept_ + mean . coef_`` of the *reported*
numbers. References are weighted least squares solved by mpmath at 50 digits from the exact
rows (the centred normal equations, resolved for condition numbers up to 1e20).
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import mpmath
import numpy as np
import pytest

from conftest import rounding_bound
from gradreg import GDRegressor


def reference(X, y, weights=None):
    """Slopes, centred intercept, column spreads, means and target spread at 50 digits."""
    with mpmath.workdps(50):
        n, d = X.shape
        w = [mpmath.mpf(1.0 if weights is None else float(v))
             for v in (np.ones(n) if weights is None else weights)]
        rows = [[mpmath.mpf(float(v)) for v in X[i]] for i in range(n)]
        target = [mpmath.mpf(float(v)) for v in y]
        total = mpmath.fsum(w)
        mean = [mpmath.fsum(w[i] * rows[i][j] for i in range(n)) / total for j in range(d)]
        centre = mpmath.fsum(w[i] * target[i] for i in range(n)) / total
        Z = [[rows[i][j] - mean[j] for j in range(d)] for i in range(n)]
        r = [target[i] - centre for i in range(n)]
        gram = mpmath.matrix(d, d)
        rhs = mpmath.matrix(d, 1)
        for a in range(d):
            rhs[a] = mpmath.fsum(w[i] * Z[i][a] * r[i] for i in range(n))
            for b in range(d):
                gram[a, b] = mpmath.fsum(w[i] * Z[i][a] * Z[i][b] for i in range(n))
        slopes = mpmath.lu_solve(gram, rhs)
        spread = [mpmath.sqrt(gram[j, j] / total) for j in range(d)]
        target_spread = mpmath.sqrt(mpmath.fsum(w[i] * r[i] ** 2 for i in range(n)) / total)
        return [slopes[j] for j in range(d)], centre, spread, mean, target_spread


def true_error(model, X, y, weights=None):
    """The error the certificate bounds, of the reported ``coef_`` and ``intercept_``."""
    slopes, centre, spread, mean, target_spread = reference(X, y, weights)
    with mpmath.workdps(50):
        coef = [mpmath.mpf(float(v)) for v in model.coef_]
        d = len(coef)
        slope_error = mpmath.sqrt(mpmath.fsum((spread[j] * (coef[j] - slopes[j])) ** 2
                                              for j in range(d)))
        slope_size = mpmath.sqrt(mpmath.fsum((spread[j] * slopes[j]) ** 2 for j in range(d)))
        if slope_size == 0:  # no slopes: relative to the target's spread, else its level
            slope_size = target_spread if target_spread > 0 else abs(centre)
        implied = mpmath.mpf(float(model.intercept_)) + mpmath.fsum(
            mean[j] * coef[j] for j in range(d))
        centre_error = abs(implied - centre) / max(abs(centre), target_spread)
        return max(float(slope_error / slope_size), float(centre_error))


def fit(X, y, weights=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GDRegressor(**params).fit(X, y, sample_weight=weights)


def assert_honest(model, error):
    assert error <= model.coef_error_bound_
    if model.converged_:
        assert np.all(np.isfinite(model.coef_)) and math.isfinite(model.intercept_)
        assert error <= model.tol


@pytest.mark.parametrize("offset", [1e9, 1e12])
@pytest.mark.parametrize("standardize", [True, False])
def test_intercept_far_from_the_data_is_within_the_bound(offset, standardize):
    # Columns far from zero in units of their spread: the reported intercept
    # b = centre - mean . coef cannot hold the centred intercept's digits in float64.
    rng = np.random.default_rng(0)
    X = offset + rng.normal(size=(40, 2))
    y = (X - offset) @ rng.normal(size=2) + 3.0 + 0.1 * rng.normal(size=40)
    model = fit(X, y, standardize=standardize)
    assert_honest(model, true_error(model, X, y))


def test_int64_millisecond_timestamps():
    rng = np.random.default_rng(1)
    t = (1_700_000_000_000 + np.arange(30)).astype(np.int64).reshape(-1, 1)
    y = 0.5 * (t[:, 0] - t[0, 0]) + rng.normal(size=30)
    model = fit(t, y)
    assert_honest(model, true_error(model, t.astype(float), y))


@pytest.mark.parametrize("standardize", [True, False])
def test_column_varying_below_the_constant_threshold_is_not_certified(standardize):
    # Spread 1e-16 of the mean: taken as constant (coefficient 0), yet the rows vary and the
    # exact optimum's coefficient is not 0.
    rng = np.random.default_rng(2)
    X = 1e9 + 1e-7 * rng.normal(size=(40, 1))
    y = 1e7 * (X[:, 0] - 1e9) + 3.0 + 0.1 * rng.normal(size=40)
    model = fit(X, y, standardize=standardize)
    assert_honest(model, true_error(model, X, y))
    assert not model.converged_


def test_truly_constant_column_is_still_certified():
    rng = np.random.default_rng(3)
    X = np.column_stack([np.full(40, 1e9 + 0.3), rng.normal(size=40)])
    weights = rng.uniform(0.5, 2.0, 40)
    y = 2.0 * X[:, 1] + 1.0 + 0.1 * rng.normal(size=40)
    model = fit(X, y, weights)
    assert model.converged_
    # The constant column's share of the centred model goes to the intercept.
    reported = SimpleNamespace(coef_=model.coef_[1:],
                               intercept_=model.intercept_ + model.coef_[0] * X[0, 0])
    assert_honest(model, true_error(reported, X[:, 1:], y, weights))


def test_bound_far_from_the_optimum_uses_the_refined_size():
    # Nearly collinear columns on an offset: the factor's first solution is off in its 6th
    # digit and refinement fixes it. Fits stopped far from the optimum are measured relative
    # to the optimum's size, which must be the refined one (and allow for its own error).
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.normal(size=(40, 2)))
    V, _ = np.linalg.qr(rng.normal(size=(2, 2)))
    X = (U * [1.0, 2.5e-5]) @ V.T * [1.6e-7, 2.5e-7] + [130.0, 750.0]
    signal = X @ (rng.normal(size=2) / X.std(axis=0))
    y = signal + 3.0 + signal.std() * rng.normal(size=40)
    for params in ({"solver": "gd"}, {"standardize": False}):
        model = fit(X, y, **params)
        assert not model.converged_
        assert_honest(model, true_error(model, X, y))


@pytest.mark.parametrize("params", [{"standardize": False}, {"solver": "gd", "standardize": False}])
def test_constant_target_error_is_relative_to_its_level(params):
    # No slopes and no spread: the slopes' error had been measured in absolute units of the
    # (internally rescaled) target; for a target of 1e-3 that claimed 1000x too much.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)) * [20.0, 3e-4, 4e-6] + [1238.0, 85.0, 1000.0]
    y = np.full(20, 1e-3)
    model = fit(X, y, **params)
    assert_honest(model, true_error(model, X, y))


def test_partial_fit_merged_statistics_far_from_zero():
    # Each call's statistics are merged (Chan et al.) with the means rounded to eps |mean|:
    # with the feature at -8.7e6 (spread 1e-3) and the target near 2e10 (spread 100) the
    # merged Gram matrix is good to about 1e-7 only, not to eps.
    rng = np.random.default_rng(6)
    X = -8.7e6 + 1e-3 * rng.normal(size=(400, 1))
    y = -2197.5 * X[:, 0] + 100.0 * rng.normal(size=400)
    model = GDRegressor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rows in np.array_split(np.arange(400), 2):
            model.partial_fit(X[rows], y[rows])
    assert_honest(model, true_error(model, X, y))


def test_dask_arrays_that_need_the_factor_are_fitted_and_certified():
    # The QR pass took a Dask source for arrays in memory (NumPy ufuncs with out= on Dask
    # arrays: TypeError); it must take the Dask source's batches.
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(7)
    x = rng.normal(size=200)
    X = np.column_stack([x, x + 1e-6 * rng.normal(size=200)]) + 1e3
    y = X @ [1.0, 2.0] + 0.01 * rng.normal(size=200)
    model = fit(da.from_array(X, chunks=(50, 2)), da.from_array(y, chunks=50))
    assert_honest(model, true_error(model, X, y))


@pytest.mark.parametrize("solver", ["auto", "gd", "cg"])
@pytest.mark.parametrize(("X", "y", "w"), [
    (np.ones((3, 1)), np.array([3.0, 4.0, 5.0]), None),  # every feature constant
    (np.c_[np.ones(4), np.full(4, -2.5)], np.array([1.0, 2.0, 4.0, 9.0]),
     np.array([1.0, 2.0, 0.5, 1.0])),
    (np.array([[7.0, 1.0]]), np.array([3.0]), None),  # one row: every column constant
    # constant among the rows that weigh: the zero-weight row differs
    (np.array([[1.0], [1.0], [1.0], [50.0]]), np.array([2.0, 3.0, 7.0, -100.0]),
     np.array([1.0, 1.0, 2.0, 0.0])),
])
def test_constant_features_give_the_mean_as_intercept(solver, X, y, w):
    """With no feature that varies there is nothing to resolve but the level: the slopes are
    zero (the minimum-norm answer) and the intercept is the weighted mean of y, certified,
    as scikit-learn's LinearRegression gives; not the starting point with an infinite bound."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant columns are warned about
        model = GDRegressor(solver=solver).fit(X, y, sample_weight=w)
    mean = np.average(y, weights=w)
    assert np.all(model.coef_ == 0.0)
    assert model.converged_
    assert abs(model.intercept_ - mean) <= rounding_bound(1, 4, len(y)) * np.max(np.abs(y))
    assert model.coef_error_bound_ <= model.tol

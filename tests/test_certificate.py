"""``converged_`` is a certified bound: the kinds of input that used to converge with wrong answers.

References come from numpy's SVD-based ``lstsq`` on centred data (an independent, more accurate
computation), and bounds from the certificate gradreg reports.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from conftest import rounding_bound, standardized_condition
from gradreg import GDRegressor
from gradreg.errors import ConvergenceWarning


def centred_lstsq(X, y):
    """Slopes and intercept of least squares at 50 digits (mpmath): more accurate than any
    float64 solve, whose own error (condition x eps, and condition^2 x eps x the residual's
    share at low R^2) can exceed the certified bound of a refined fit."""
    import mpmath

    with mpmath.workdps(50):
        rows = [[mpmath.mpf(float(v)) for v in row] for row in np.asarray(X, dtype=float)]
        target = [mpmath.mpf(float(v)) for v in y]
        n, d = len(rows), len(rows[0])
        mean_x = [mpmath.fsum(r[j] for r in rows) / n for j in range(d)]
        mean_y = mpmath.fsum(target) / n
        centred = [[r[j] - mean_x[j] for j in range(d)] for r in rows]
        gram = mpmath.matrix(d, d)
        rhs = mpmath.matrix(d, 1)
        for row, value in zip(centred, target, strict=True):
            for a in range(d):
                rhs[a] += row[a] * (value - mean_y)
                for b in range(d):
                    gram[a, b] += row[a] * row[b]
        coef = mpmath.lu_solve(gram, rhs)
        intercept = mean_y - mpmath.fsum(mean_x[j] * coef[j] for j in range(d))
        return np.array([float(coef[j]) for j in range(d)]), float(intercept)


def equilibrated_error(coef, reference, X):
    D = X.std(axis=0)
    return float(np.linalg.norm(D * (coef - reference)) / np.linalg.norm(D * reference))


def test_raw_coordinates_with_offset_do_not_claim_convergence():
    # Case 1: int64 timestamps near 4.16e9, 190 apart, plain GD on raw coordinates.
    rng = np.random.default_rng(1)
    t = (4_160_000_000 + 190 * np.arange(40)).astype(np.int64).reshape(-1, 1)
    y = 0.5296 * (t[:, 0] - t[0, 0]) + rng.normal(0.0, 700.0, 40)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = GDRegressor(solver="gd", optimizer="plain", standardize=False,
                            max_iter=20_000).fit(t, y)
    reference, _ = centred_lstsq(t.astype(float), y)
    assert not model.converged_
    # The optimum is computed in canonical coordinates: full rank, exact slope.
    assert model.rank_ == 2
    error = equilibrated_error(model.coef_, reference, t.astype(float))
    assert error <= model.coef_error_bound_
    default = GDRegressor().fit(t, y)
    assert default.converged_
    assert equilibrated_error(default.coef_, reference, t.astype(float)) <= default.tol


def test_feature_in_millions_raw_coordinates():
    rng = np.random.default_rng(2)
    X = rng.uniform(1e6, 1e7, size=(50, 1))
    y = 2e-6 * X[:, 0] + 5.0 + rng.normal(0.0, 1.0, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(solver="gd", optimizer="plain", standardize=False).fit(X, y)
    reference, intercept = centred_lstsq(X, y)
    assert model.rank_ == 2
    if model.converged_:
        assert equilibrated_error(model.coef_, reference, X) <= model.tol
    assert equilibrated_error(model.coef_, reference, X) <= model.coef_error_bound_


@pytest.mark.parametrize("solver, optimizer", [("gd", "nesterov"), ("cg", "auto")])
def test_data_route_does_not_claim_convergence(solver, optimizer):
    # Case 2: 2000 x 20, singular values spread over 1e0..1e-4.
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.normal(size=(2000, 20)))
    V, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    X = (U * np.logspace(0, -4, 20)) @ V.T
    y = X @ rng.normal(size=20) + 0.01 * rng.normal(size=2000)
    with pytest.warns(ConvergenceWarning, match="route='data'"):
        model = GDRegressor(route="data", solver=solver, optimizer=optimizer).fit(X, y)
    assert not model.converged_
    assert math.isinf(model.coef_error_bound_)
    assert model.stop_reason_ != "converged"


def test_low_r2_converged_only_within_bound():
    # Case 3: y = 1 + x + ... + x^5 + noise, x = 0..20, R^2 about 0.002.
    rng = np.random.default_rng(4)
    x = np.arange(21.0)
    X = np.column_stack([x**k for k in range(1, 6)])
    y = 1.0 + X.sum(axis=1) + rng.normal(0.0, 3.5e8, 21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor().fit(X, y)
    assert model.metrics_["r2"] < 0.3  # almost all noise (5 of 20 degrees of freedom)
    reference, _ = centred_lstsq(X, y)
    error = equilibrated_error(model.coef_, reference, X)
    assert error <= model.coef_error_bound_
    lstsq_error = equilibrated_error(
        np.linalg.lstsq(np.column_stack([X, np.ones(21)]), y, rcond=None)[0][:5], reference, X
    )
    # At least as accurate as lstsq, or within the rounding of a solve from cross-products.
    condition = standardized_condition(X)
    assert error <= max(lstsq_error, rounding_bound(condition**2, 10, len(y)))
    if model.converged_:
        assert error <= model.tol


def test_beyond_the_gram_precision_is_not_rank_deficient():
    # Case 4: degree-10 polynomial on an interval away from zero (30 rows); the standardized
    # design has condition number ~3e9, its Gram matrix ~1e19 > 1/eps.
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(0.5, 1.5, 30))
    X = np.column_stack([x**k for k in range(1, 11)])
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    assert np.linalg.cond(Z) > 1e9
    y = X @ rng.normal(size=10) + 1e-3 * rng.normal(size=30)
    with pytest.warns(ConvergenceWarning, match="condition number"):
        model = GDRegressor().fit(X, y)
    assert model.rank_ == 11
    assert not model.converged_
    assert math.isfinite(model.coef_error_bound_)
    # The fit's objective is not claimed optimal; the optimum's is exact from the factor.
    reference, intercept = centred_lstsq(X, y)
    residual = y - X @ reference - intercept
    # The reference's coefficients carry cond x eps (an SVD, 10 roundings a row); at the
    # optimum the MSE moves only by the square of that, times the largest curvature. The
    # optimal MSE itself cancels terms of the size of the centred y's (n rows, 8 roundings).
    singular = np.linalg.svd(Z / np.sqrt(len(y)), compute_uv=False)
    condition = singular[0] / singular[-1]
    standardized = np.linalg.norm(reference * X.std(axis=0))
    moved = (singular[0] * rounding_bound(condition, 10, len(y)) * standardized) ** 2
    rounding = rounding_bound(1.0, 8, len(y)) * float(np.mean((y - y.mean()) ** 2))
    assert abs(model.optimal_loss_ - np.mean(residual**2)) <= moved + rounding  # the MSE


def test_elastic_net_precision_limit_names_it_and_advice_works():
    # Case 7: elastic net on scikit-learn's diabetes data, alpha 0.1, tol far below float64.
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import ElasticNet

    X, y = load_diabetes(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match=r"Use tol >= (\S+)\.") as caught:
        model = GDRegressor(penalty="elasticnet", alpha=0.1, tol=1e-20).fit(X, y)
    assert not model.converged_
    assert "limit of float64 precision" in model.stop_reason_
    advice = [str(w.message) for w in caught if "Use tol" in str(w.message)][0]
    suggested = float(advice.split("Use tol >= ")[1].rstrip("."))
    reference = ElasticNet(alpha=0.1, l1_ratio=0.15, tol=1e-14, max_iter=100_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        followed = GDRegressor(penalty="elasticnet", alpha=0.1, tol=suggested).fit(X, y)
    assert followed.converged_
    D = X.std(axis=0)
    error = np.linalg.norm(D * (followed.coef_ - reference.coef_)) / np.linalg.norm(
        D * reference.coef_
    )
    # scikit-learn stops at a duality gap (its dual_gap_, taken as the unnormalised one: an
    # overestimate), known only to the rounding of its objective (n rows, 8 roundings); on a
    # lambda_min-strongly convex objective that pins the coefficients to sqrt(2 gap /
    # lambda_min) in standardized units. The bound: gradreg's certificate plus that.
    Z = (X - X.mean(axis=0)) / (D * np.sqrt(len(y)))
    lambda_min = np.linalg.svd(Z, compute_uv=False)[-1] ** 2
    objective = float(np.mean((y - reference.predict(X)) ** 2)) / 2 + 0.1 * (
        0.15 * np.abs(reference.coef_).sum() + 0.85 / 2 * reference.coef_ @ reference.coef_)
    gap = max(float(reference.dual_gap_), 0.0) + rounding_bound(1.0, 8, len(y)) * objective
    pinned = math.sqrt(2 * gap / lambda_min) / np.linalg.norm(D * reference.coef_)
    assert error <= followed.coef_error_bound_ + pinned


@pytest.mark.parametrize("alpha", [1e6, 1e12])
def test_extreme_penalty_certified(alpha):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(100, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=100)
    model = GDRegressor(penalty="l2", alpha=alpha).fit(X, y)
    mean_x = X.mean(axis=0)
    Xc, yc = X - mean_x, y - y.mean()
    exact = np.linalg.solve(Xc.T @ Xc / 100 + alpha * np.eye(3), Xc.T @ yc / 100)
    assert model.converged_
    assert math.isfinite(model.coef_error_bound_)
    assert np.linalg.norm(model.coef_ - exact) <= model.coef_error_bound_ * np.linalg.norm(
        exact * X.std(axis=0)
    ) / X.std(axis=0).min()


@pytest.mark.parametrize("value", [1e-200, 1e9, -3e150])
def test_constant_target_of_extreme_magnitude(value):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(50, 2))
    y = np.full(50, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor().fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    assert not (model.converged_ and not math.isfinite(model.coef_error_bound_))
    # The centred target is zero but for the rounding of its mean (n eps |value|), which the
    # solve carries to the slopes times the condition squared, per unit of each spread.
    within = rounding_bound(standardized_condition(X) ** 2, 10, len(y)) * abs(value)
    spread, mean = X.std(axis=0), X.mean(axis=0)
    assert np.all(np.abs(model.coef_) <= within / spread)
    assert abs(model.intercept_ - value) <= within * (1 + np.abs(mean / spread).sum())

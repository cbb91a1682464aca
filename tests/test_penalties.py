"""Penalised fits against scikit-learn's Ridge, Lasso and ElasticNet (the same objective)."""

import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, Lasso, Ridge

from conftest import make_regression, relative_error, rounding_bound, standardized_condition
from gradreg import GDRegressor, ParameterError

X_RAW, Y_RAW = make_regression(300, 8, condition=10, seed=1)
X_STD = (X_RAW - X_RAW.mean(axis=0)) / X_RAW.std(axis=0)
CASES = {"raw": (X_RAW, Y_RAW), "standardized": (X_STD, Y_RAW)}
# scikit-learn's coordinate descent stops at a duality gap below tol x |y - mean(y)|^2 on its
# objective times n: this tol, and that gap over n on the mean objective compared here.
REFERENCE_TOL = 1e-14


def assert_near_reference(model, reference, X, y, reference_tol=0.0):
    """Coefficients within what both fits guarantee, in standardized units ``v = coef x
    spread`` (2-norm): gradreg's certified ``coef_error_bound_`` (relative) and its rounding as
    a solve from cross-products; the reference's rounding (Ridge solves the normal equations:
    the same bound); and, for a reference that stops at a duality gap ``g`` on a
    ``lambda_min``-strongly convex objective, ``sqrt(2 g / lambda_min)``. The intercept
    ``mean(y) - mean(x) @ coef`` then within ``|mean(x) / spread|_2`` times that, plus the
    certificate's bound on gradreg's own intercept (relative to ``max(|mean(y)|, std(y))``)."""
    mean, spread = X.mean(axis=0), X.std(axis=0)
    ours, theirs = model.coef_ * spread, reference.coef_ * spread
    condition = standardized_condition(X)
    singular = np.linalg.svd((X - mean) / (spread * np.sqrt(len(y))), compute_uv=False)
    gap = reference_tol * float(np.sum((y - y.mean()) ** 2)) / len(y)
    size = np.linalg.norm(theirs)
    bound = (model.coef_error_bound_ + 2 * rounding_bound(condition**2, 10, len(y))) * size
    bound += np.sqrt(2 * gap) / singular[-1]
    assert np.linalg.norm(ours - theirs) <= bound
    lever = np.linalg.norm(mean / spread)
    offset = rounding_bound(1.0, 10, X.shape[1]) * (abs(y.mean()) + np.abs(mean) @ np.abs(
        reference.coef_))
    offset += model.coef_error_bound_ * max(abs(y.mean()), y.std())
    assert abs(model.intercept_ - reference.intercept_) <= lever * bound + offset


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("alpha", [0.01, 1.0])
def test_l2_equals_ridge_with_alpha_times_n(kind, alpha):
    X, y = CASES[kind]
    reference = Ridge(alpha=alpha * len(y)).fit(X, y)
    model = GDRegressor(penalty="l2", alpha=alpha).fit(X, y)
    assert_near_reference(model, reference, X, y)


SPARSE_SETTINGS = [
    {},
    {"solver": "gd", "optimizer": "plain", "max_iter": 50_000},
    {"solver": "gd", "optimizer": "nesterov", "line_search": True},
]


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("alpha", [0.05, 1.0])
@pytest.mark.parametrize("settings", SPARSE_SETTINGS)
def test_l1_equals_lasso_with_the_same_zeros(kind, alpha, settings):
    X, y = CASES[kind]
    reference = Lasso(alpha=alpha, tol=REFERENCE_TOL, max_iter=100_000).fit(X, y)
    model = GDRegressor(penalty="l1", alpha=alpha, **settings).fit(X, y)
    assert model.converged_, model.stop_reason_
    assert_near_reference(model, reference, X, y, REFERENCE_TOL)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("l1_ratio", [0.2, 0.7])
def test_elastic_net_equals_sklearn(kind, l1_ratio):
    X, y = CASES[kind]
    reference = ElasticNet(alpha=0.5, l1_ratio=l1_ratio, tol=REFERENCE_TOL,
                           max_iter=100_000).fit(X, y)
    model = GDRegressor(penalty="elasticnet", alpha=0.5, l1_ratio=l1_ratio).fit(X, y)
    assert_near_reference(model, reference, X, y, REFERENCE_TOL)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)


def test_strong_l1_zeroes_everything_but_the_intercept():
    X, y = CASES["raw"]
    model = GDRegressor(penalty="l1", alpha=1e6).fit(X, y)
    assert np.all(model.coef_ == 0)
    # The certificate bounds the intercept's error relative to max(|mean|, spread) of y.
    assert model.converged_
    bound = model.coef_error_bound_ * max(abs(y.mean()), y.std())
    assert abs(model.intercept_ - y.mean()) <= bound


def test_l1_with_sgd_runs_the_proximal_step():
    X, y = CASES["standardized"]
    model = GDRegressor(solver="sgd", penalty="l1", alpha=1.0, max_iter=200, random_state=0,
                        learning_rate=0.05, schedule="invscaling", average=False)
    with pytest.warns(Warning, match="did not converge"):
        model.fit(X, y)
    reference = Lasso(alpha=1.0).fit(X, y)
    # Not rounding: 200 epochs of SGD with a decaying rate, stopped before convergence, come
    # within 2% of the lasso and a relative gap of 1e-3 (the noise of its steps).
    assert relative_error(model.coef_, reference.coef_) < 0.02
    assert 0 < model.optimality_gap_ < 1e-3


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"solver": "cg", "penalty": "l1"}, "solver='cg' cannot handle the L1 part"),
        ({"solver": "gd", "optimizer": "adam", "penalty": "l1"},
         "needs optimizer='plain' or 'nesterov'"),
        ({"solver": "sgd", "optimizer": "momentum", "penalty": "elasticnet"}, "needs optimizer"),
    ],
)
def test_l1_combinations_that_would_be_wrong_are_refused(settings, match):
    X, y = CASES["raw"]
    with pytest.raises(ParameterError, match=match):
        GDRegressor(**settings).fit(X, y)

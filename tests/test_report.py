"""The fit report: losses never print negative; R^2 follows scikit-learn's convention; the
certified bound is shown with what it bounds."""

import re
import warnings

import numpy as np
import pytest
from sklearn.metrics import r2_score

from gradreg import ConvergenceWarning, GDRegressor


def test_exact_fits_never_print_a_negative_loss():
    rng = np.random.default_rng(8)
    negative_histories = 0
    for _ in range(60):
        X = rng.normal(size=(20, 2))
        y = X @ rng.normal(size=2) + rng.normal()
        model = GDRegressor().fit(X, y)
        negative_histories += model.history_["loss"][-1] < 0
        printed = re.search(r"final cost\s+(\S+)", model.report()).group(1)
        assert float(printed) >= 0, model.report()
    # Rounding below an exact fit does happen, so the clamp is exercised.
    assert negative_histories > 0


def test_constant_target_r2_as_scikit_learn():
    X = np.random.default_rng(9).normal(size=(30, 2))
    y = np.full(30, 2.5)
    model = GDRegressor().fit(X, y)
    expected = r2_score(y, model.predict(X))  # force_finite=True: 1.0 for a perfect fit
    assert model.metrics_["r2"] == expected == model.score(X, y) == 1.0
    assert "R^2 (training)    1.000000" in model.report()


def test_report_shows_the_bound_or_says_there_is_none():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(50, 2))
    y = X @ [1.0, -2.0] + rng.normal(size=50)
    model = GDRegressor().fit(X, y)
    assert (f"error bound       {model.coef_error_bound_:.3g} (certified relative error of the "
            f"coefficients; tol {model.tol:.3g})") in model.report().splitlines()
    # Gradients from the data have no exact optimum to certify against: the bound is infinite.
    with pytest.warns(ConvergenceWarning, match="cannot certify its coefficients"):
        model = GDRegressor(route="data", solver="gd").fit(X, y)
    assert model.coef_error_bound_ == np.inf and not model.converged_
    assert ("error bound       none certified (no exact optimum to measure the coefficients "
            "against)") in model.report().splitlines()


def test_the_report_names_where_the_gradients_come_from():
    """SGD steps on mini-batches of rows (the statistics only certify them); full-batch
    solvers take their gradients from the statistics."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgd = GDRegressor(solver="sgd", max_iter=3).fit(X, y)
    assert "sgd (plain), gradients from the mini-batches of rows" in sgd.report()
    assert "gradients from the sufficient statistics" in GDRegressor().fit(X, y).report()

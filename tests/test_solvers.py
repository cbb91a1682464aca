"""Solvers against each other and against scikit-learn's SGDRegressor."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import SGDRegressor

from conftest import (
    assert_within,
    descent_bound,
    make_regression,
    relative_error,
    rounding_bound,
    standardized_condition,
)
from gradreg import GDRegressor
from gradreg.errors import ConvergenceWarning
from gradreg.solvers import SOLVERS


def quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sgd_matches_sklearn_with_the_same_constant_rate(fit_intercept):
    # scikit-learn's squared loss is (y - p)^2 / 2; gradreg's learning rate is a step on the
    # squared error (y - p)^2, twice as steep, so eta0=0.01 is gradreg's 0.005, and one row at
    # a time then gives the same iterates.
    X, y = make_regression(200, 3, seed=1, scales=False)
    reference = SGDRegressor(
        learning_rate="constant", eta0=0.01, penalty=None, alpha=0.0, shuffle=False,
        max_iter=5, tol=None, fit_intercept=fit_intercept,
    ).fit(X, y)
    model = quiet_fit(GDRegressor(
        solver="sgd", optimizer="plain", learning_rate=0.005, batch_size=1, shuffle=False,
        standardize=False, max_iter=5, fit_intercept=fit_intercept, average=False,
    ), X, y)
    # Two codes of the same 1000 steps. Each step rounds the residual (d + 1 terms) and the
    # update (2): d + 3 roundings per route, of terms the size of the coefficients and of one
    # step. At eta |x|^2 <= 2 a step does not amplify an earlier difference: they add up.
    eta, steps = 0.01, 5 * len(y)
    assert eta * np.max(np.sum(X**2, axis=1) + 1) <= 2
    intercept = float(np.atleast_1d(reference.intercept_)[0])
    size = np.abs(reference.coef_).sum() + abs(intercept) + eta * np.abs(X).max() * np.abs(y).max()
    bound = rounding_bound(1.0, 2 * (X.shape[1] + 3), n_terms=steps) * size
    assert_within(model.coef_, reference.coef_, bound)
    assert_within(model.intercept_, intercept, bound)


@pytest.mark.parametrize("optimizer", ["plain", "momentum", "adam", "adagrad"])
def test_full_batch_minibatch_of_n_and_partial_fit_take_the_same_steps(optimizer):
    X, y = make_regression(120, 3, seed=2)
    n = len(y)
    common = {"optimizer": optimizer, "learning_rate": 0.025, "max_iter": 7,
              "schedule": "constant"}
    full = quiet_fit(GDRegressor(solver="gd", **common), X, y)
    mini = quiet_fit(GDRegressor(solver="sgd", batch_size=n, average=False, **common), X, y)
    stream = GDRegressor(solver="sgd", batch_size=n, average=False, **common)
    for _ in range(7):
        stream.partial_fit(X, y)
    # Gradients from the statistics (gd) and from passes over the rows (sgd): 7 steps apart.
    bound = descent_bound(standardized_condition(X), 7, n + X.shape[1] + 1)
    spread, mean = X.std(axis=0), X.mean(axis=0)
    for model in (mini, stream):
        assert relative_error(model.coef_ * spread, full.coef_ * spread) <= bound
        # intercept = centred intercept - mean @ coef: the same relative error of its terms.
        size = abs(full.intercept_) + np.abs(mean) @ np.abs(full.coef_) + np.abs(full.coef_
                                                                               * spread).max()
        assert_within(model.intercept_, full.intercept_, bound * size)


def test_partial_fit_on_chunks_approaches_the_optimum_of_all_data():
    X, y = make_regression(4000, 4, seed=3)
    model = GDRegressor(solver="sgd", random_state=0, learning_rate=0.01, average=False)
    gaps = []
    for _ in range(5):
        for start in range(0, 4000, 500):
            model.partial_fit(X[start : start + 500], y[start : start + 500])
        gaps.append(model.optimality_gap_)
    assert model.stats_.n_rows == 5 * 4000
    # Not rounding: where constant-rate SGD on 20,000 rows settles (its noise floor at this
    # rate), and that it moved toward the optimum.
    assert gaps[-1] < 5e-3 and gaps[-1] < gaps[0]
    assert model.n_features_in_ == 4
    with pytest.raises(ValueError, match="X has 2 features, but GDRegressor is expecting 4"):
        model.partial_fit(X[:10, :2], y[:10])


def test_sgd_is_reproducible_with_random_state():
    X, y = make_regression(300, 3, seed=4)
    a = quiet_fit(GDRegressor(solver="sgd", random_state=7, max_iter=5), X, y)
    b = quiet_fit(GDRegressor(solver="sgd", random_state=7, max_iter=5), X, y)
    c = quiet_fit(GDRegressor(solver="sgd", random_state=8, max_iter=5), X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


@pytest.mark.parametrize("schedule", ["invscaling", "exponential", "step", "cosine"])
def test_sgd_schedules_decay_and_fit(schedule):
    X, y = make_regression(500, 3, seed=5)
    model = quiet_fit(GDRegressor(solver="sgd", schedule=schedule, max_iter=40, random_state=0),
                      X, y)
    # Not rounding: 40 epochs of decaying-rate SGD reach a 1% gap on these well-conditioned
    # rows (a statistical target for the schedule, not a precision).
    assert model.optimality_gap_ < 1e-2
    assert model.history_["loss"][-1] < model.history_["loss"][0]


def test_a_callable_learning_rate_is_a_schedule():
    X, y = make_regression(200, 2, seed=6)
    used = []

    def schedule(step):
        return 0.1 / (1 + step)

    quiet_fit(GDRegressor(solver="gd", optimizer="plain", learning_rate=schedule, max_iter=3,
                          callbacks=lambda info: used.append(info.learning_rate)), X, y)
    # The rates are the callable's own values, passed on unchanged.
    np.testing.assert_array_equal(used, [0.1, 0.05, 0.1 / 3])


def test_early_stopping_on_validation_loss():
    X, y = make_regression(2000, 5, seed=7, noise=5.0)
    model = quiet_fit(GDRegressor(solver="sgd", early_stopping=True, n_iter_no_change=3,
                                  max_iter=500, random_state=0, learning_rate=0.01,
                                  average=False), X, y)
    assert model.n_iter_ < 500
    assert model.stop_reason_.startswith("early stopping: no validation improvement in 3")
    assert not model.converged_


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_data_route_equals_statistics_route(solver):
    X, y = make_regression(300, 4, seed=8)
    settings = {"solver": solver, "max_iter": 15, "random_state": 0}
    if solver != "cg":
        # A fixed rate: the automatic one comes from a power-iteration estimate of L on the
        # data route and from the exact eigenvalue on the statistics route.
        settings.update(optimizer="plain", learning_rate=0.1)
    stats = quiet_fit(GDRegressor(route="stats", **settings), X, y)
    data = quiet_fit(GDRegressor(route="data", **settings), X, y)
    assert data.route_ == "data" and stats.route_ == "stats"
    condition = standardized_condition(X)
    bound = descent_bound(condition, 15, len(y) + X.shape[1] + 1)
    spread = X.std(axis=0)
    assert relative_error(data.coef_ * spread, stats.coef_ * spread) <= bound
    # The loss responds to a coefficient error through the Hessian: at most condition^2 times
    # it, relative to the loss, besides the loss's own sum of n rows.
    loss_bound = descent_bound(condition**3, 15, len(y) + X.shape[1] + 1)
    # The statistics route evaluates the loss as (t^T A t - 2 b^T t + g) / 2, whose terms cancel:
    # along a descent from zero (loss below its start g / 2) t^T A t <= 4 g, so |t|^T |A| |t| <=
    # 4 p condition g in standardized coordinates; (p + 2)^2 products are summed.
    p = X.shape[1] + 1
    cancelled = rounding_bound(condition, 4 * p, (p + 2) ** 2) * float(np.var(y))
    # Conjugate gradient on the statistics goes on past tol to the optimum's rounding, which
    # the data route (no optimum) cannot measure: the routes agree on the epochs both ran.
    both = min(len(data.history_["loss"]), len(stats.history_["loss"]))
    if solver != "cg":
        assert len(data.history_["loss"]) == len(stats.history_["loss"])
    for got, want in zip(data.history_["loss"][:both], stats.history_["loss"][:both], strict=True):
        assert_within(got, want, loss_bound * want + cancelled)


def test_data_route_without_statistics_reports_an_unknown_gap():
    X, y = make_regression(300, 4, seed=9)
    with pytest.warns(ConvergenceWarning, match="cannot certify its coefficients on route='data'"):
        model = GDRegressor(route="data", max_iter=200).fit(X, y)
    assert np.isnan(model.optimality_gap_)
    # Without the exact optimum nothing is certified: never converged, the bound is infinite.
    assert not model.converged_ and np.isinf(model.coef_error_bound_)
    assert "unknown" in model.report()


def test_ill_conditioned_problems_reach_a_tiny_gap_by_default():
    X, y = make_regression(2000, 10, condition=1e4, seed=10)
    model = GDRegressor().fit(X, y)
    assert model.condition_number_ > 1e7
    # Not rounding: the default tol (1e-8 on the coefficients) asks for a relative gap far
    # below 1e-10, which the descent reaches by the certificate's margin.
    assert model.converged_ and model.optimality_gap_ < 1e-10
    assert model.coef_error_bound_ <= model.tol
    # The descent goes on to a hundredth of tol from the optimum (a margin for the bound).
    assert model.n_iter_ < 300


def test_conjugate_gradient_stays_fast_with_many_ill_conditioned_features():
    # Without re-orthogonalization CG needed thousands of steps here; in exact arithmetic it
    # needs at most d + 1 = 61.
    X, y = make_regression(3000, 60, condition=1e4, seed=11)
    model = GDRegressor().fit(X, y)
    # Not rounding: the default tol's target, as above.
    assert model.converged_ and model.optimality_gap_ <= 1e-10
    # One more restart cycle than before: the descent goes on to a hundredth of tol, so that
    # the certified bound (distance plus the optimum's rounding) meets tol.
    assert model.n_iter_ <= 4 * 61

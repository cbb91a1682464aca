"""GDRegressor against numpy.linalg.lstsq, and its fitted attributes."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import (
    assert_fit_within_rounding,
    assert_within,
    descent_bound,
    lstsq_fit,
    make_regression,
    relative_error,
    rounding_bound,
    standardized_condition,
)
from gradreg import ConvergenceWarning, DivergenceError, GDRegressor, GradregWarning


def assert_matches_reference(model, X, coef, intercept, sample_weight=None):
    if not model.fit_intercept:  # the design as the solvers see it: not centred
        X = np.asarray(X, dtype=np.float64)
        condition = standardized_condition(X, sample_weight, fit_intercept=False)
        bound = rounding_bound(condition**2, factor=10, n_terms=len(X))
        bound += model.coef_error_bound_ * np.sqrt(X.shape[1])  # where the descent stopped
        spread = X.std(axis=0)
        assert relative_error(model.coef_ * spread, coef * spread) <= bound
        assert model.intercept_ == intercept == 0.0
        return
    assert_fit_within_rounding(model.coef_, model.intercept_, X, coef, intercept,
                               sample_weight, certified=model.coef_error_bound_)


@pytest.mark.parametrize("shape", [(40, 1), (200, 3), (1000, 10), (300, 40)])
@pytest.mark.parametrize("condition", [1.0, 1e2, 1e3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_default_fit_matches_lstsq(shape, condition, fit_intercept):
    n, d = shape
    X, y = make_regression(n, d, condition=condition, seed=n + d)
    model = GDRegressor(fit_intercept=fit_intercept).fit(X, y)
    coef, intercept = lstsq_fit(X, y, fit_intercept=fit_intercept)
    assert model.converged_
    assert_matches_reference(model, X, coef, intercept)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32])
def test_other_dtypes_match_lstsq_on_the_same_values(dtype):
    X, y = make_regression(300, 4, seed=3)
    X = (X * 10).astype(dtype)
    model = GDRegressor().fit(X, y)
    coef, intercept = lstsq_fit(X.astype(np.float64), y)
    assert_matches_reference(model, X, coef, intercept)


@pytest.mark.parametrize(
    "settings",
    [
        {"solver": "gd", "optimizer": "plain", "max_iter": 100_000},
        {"solver": "gd", "optimizer": "nesterov", "max_iter": 20_000},
        {"solver": "gd", "optimizer": "momentum", "max_iter": 20_000},
        {"solver": "gd", "line_search": True, "max_iter": 20_000},
        {"solver": "gd", "optimizer": "plain", "line_search": True, "max_iter": 20_000},
        {"solver": "cg"},
    ],
)
def test_full_batch_methods_reach_lstsq(settings):
    X, y = make_regression(500, 6, condition=30, seed=11)
    model = GDRegressor(**settings).fit(X, y)
    coef, intercept = lstsq_fit(X, y)
    assert model.converged_, model.stop_reason_
    assert_matches_reference(model, X, coef, intercept)


def test_fitted_attributes():
    X, y = make_regression(100, 3, seed=5)
    model = GDRegressor(solver="gd", optimizer="plain").fit(X, y)
    assert model.n_features_in_ == 3
    assert model.n_iter_ == len(model.history_["loss"]) - 1
    assert model.solver_ == "gd" and model.optimizer_ == "plain" and model.route_ == "stats"
    loss = model.history_["loss"]
    # Plain GD at 1/L never raises the loss, but for the rounding of two losses from the
    # statistics, which cancel terms of the size of mean(y^2) (a few: 4) summed over n rows.
    slack = 2 * rounding_bound(1.0, 8, len(y)) * 4 * float(np.mean(y**2))
    assert np.all(np.diff(loss) <= slack)
    assert model.learning_rate_ == 1.0 / model.lipschitz_
    assert model.optimality_gap_ <= model.tol
    assert model.rank_ == 4
    assert 0.0 < model.metrics_["r2"] <= 1.0
    assert "converged         yes" in model.report()


def test_feature_names_from_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = make_regression(60, 2, seed=1)
    frame = pd.DataFrame(X, columns=["hours", "sleep"])
    model = GDRegressor().fit(frame, y)
    assert list(model.feature_names_in_) == ["hours", "sleep"]
    # The same products in another memory order: d + 1 terms a row, summed in any order.
    bound = rounding_bound(1.0, 2, X.shape[1] + 1) * (np.abs(X) @ np.abs(model.coef_)
                                                      + abs(model.intercept_))
    assert_within(model.predict(frame), model.predict(X.copy()), bound)


def test_not_converged_is_honest_and_warns():
    X, y = make_regression(200, 5, condition=1e3, seed=2)
    with pytest.warns(ConvergenceWarning, match="did not converge: max_iter=10 reached"):
        model = GDRegressor(solver="gd", optimizer="plain", max_iter=10).fit(X, y)
    assert not model.converged_
    assert model.optimality_gap_ > model.tol
    assert model.stop_reason_ == "max_iter=10 reached"


def test_slow_plain_descent_is_predicted_in_a_warning():
    X, y = make_regression(200, 5, condition=1e3, seed=2)
    with pytest.warns(GradregWarning, match=r"badly conditioned \(condition number .*\): plain"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            GDRegressor(solver="gd", optimizer="plain", max_iter=50).fit(X, y)


def test_learning_rate_above_the_limit_is_refused_with_both_numbers():
    X, y = make_regression(100, 2, seed=4)
    limit = 2.0 / GDRegressor().fit(X, y).lipschitz_
    with pytest.raises(DivergenceError, match=r"largest stable learning rate .* \d.*\(2/L\)"):
        GDRegressor(solver="gd", optimizer="plain", learning_rate=1.01 * limit).fit(X, y)
    fitted = GDRegressor(solver="gd", optimizer="plain", learning_rate=0.99 * limit,
                         max_iter=100_000).fit(X, y)
    assert fitted.converged_


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_divergence_of_momentum_is_caught_before_nan(solver):
    X, y = make_regression(100, 2, seed=4)
    model = GDRegressor(solver=solver, optimizer="momentum", learning_rate=1e3, max_iter=500)
    with pytest.raises(DivergenceError, match="diverged at epoch"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize("optimizer", ["adam", "adagrad"])
def test_adaptive_rules_with_huge_rates_stay_finite(optimizer):
    # Adam and AdaGrad move each parameter by at most about the learning rate per step, so
    # they oscillate instead of overflowing; converged_ must agree with the gap either way.
    X, y = make_regression(100, 2, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GDRegressor(solver="gd", optimizer=optimizer, learning_rate=1e3, max_iter=50)
        model.fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    assert model.converged_ == (model.optimality_gap_ <= model.tol)


def test_warm_start_continues_from_the_previous_solution():
    X, y = make_regression(300, 4, condition=100, seed=8)
    settings = {"solver": "gd", "optimizer": "plain", "max_iter": 30}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cold = GDRegressor(**settings).fit(X, y)
        warm = GDRegressor(warm_start=True, **settings).fit(X, y)
        warm.fit(X, y)
        longer = GDRegressor(**{**settings, "max_iter": 60}).fit(X, y)
    assert warm.optimality_gap_ < cold.optimality_gap_
    # The same 60 steps, 30 of them after a trip to user units and back (a few roundings).
    spread = X.std(axis=0)
    bound = descent_bound(standardized_condition(X), 60, len(y) + X.shape[1] + 1)
    assert relative_error(warm.coef_ * spread, longer.coef_ * spread) <= bound


def test_callbacks_see_each_epoch_and_can_stop():
    X, y = make_regression(100, 2, seed=3)
    seen = []

    def record(info):
        seen.append((info.epoch, info.loss, info.grad_norm, info.coef.copy()))
        return info.epoch == 3

    model = GDRegressor(solver="gd", optimizer="plain", callbacks=record).fit(X, y)
    assert [s[0] for s in seen] == [1, 2, 3]
    assert model.n_iter_ == 3 and model.stop_reason_ == "stopped by a callback"
    assert not model.converged_
    np.testing.assert_array_equal(seen[-1][3], model.coef_)  # the same numbers, handed on


def test_pipeline_grid_search_and_pickle():
    X, y = make_regression(120, 3, seed=9)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), GDRegressor(penalty="l2")),
        {"gdregressor__alpha": [0.001, 0.1]},
        cv=3,
    ).fit(X, y)
    assert search.best_score_ > 0.5
    model = GDRegressor().fit(X, y)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))


def test_sample_weight_equals_repeated_rows():
    X, y = make_regression(80, 3, seed=6)
    weights = np.random.default_rng(0).integers(0, 4, size=80)
    weighted = GDRegressor().fit(X, y, sample_weight=weights)
    repeated = GDRegressor().fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    coef, intercept = lstsq_fit(X, y, sample_weight=weights.astype(float))
    assert_matches_reference(weighted, X, coef, intercept, weights)
    assert_matches_reference(repeated, X, coef, intercept, weights)


def test_large_offsets_do_not_lose_precision():
    X, y = make_regression(500, 3, seed=7, scales=False)
    shifted = X + 1e8
    model = GDRegressor().fit(shifted, y)
    coef, _ = lstsq_fit(X, y)  # the slopes do not depend on the offset
    # Storing X + 1e8 rounds each value by up to 1e8 x eps: relative to the narrowest
    # column's spread, that input error is amplified by the condition number.
    relative_input_error = 1e8 / X.std(axis=0).min()
    bound = rounding_bound(standardized_condition(X), factor=10) * relative_input_error
    assert relative_error(model.coef_, coef) <= bound

"""Rows of weight zero contribute nothing: a chunk of them is a no-op for partial_fit, and a
mini-batch of them takes no data step, on both routes and in both SGD loops."""

import warnings

import numpy as np
import pytest

from conftest import make_regression
from gradreg import ConvergenceWarning, DataError, GDRegressor, NotFittedError
from gradreg._sgd_steps import Averager, compiled_rows, run_compiled, step_rates
from gradreg.penalties import Penalty
from gradreg.problem import build_problem
from gradreg.solvers import FitConfig, SgdStream, sgd_epoch
from gradreg.sources import ArraySource

SETTINGS = [{}, {"solver": "sgd", "random_state": 0}]


def _chunks(seed=0):
    X, y = make_regression(300, 3, seed=seed)
    return (X[:150], y[:150]), (X[150:], y[150:])


def _state(model):
    return model.coef_.copy(), float(model.intercept_), model.stats_.weight_sum


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return function(*args, **kwargs)


@pytest.mark.parametrize("settings", SETTINGS)
def test_a_chunk_of_zero_weights_changes_nothing(settings):
    (X1, y1), (X2, y2) = _chunks()
    plain, skipped = GDRegressor(**settings), GDRegressor(**settings)
    _quiet(plain.partial_fit, X1, y1)
    _quiet(skipped.partial_fit, X1, y1)
    before = _state(skipped)
    _quiet(skipped.partial_fit, X2[:20], y2[:20], sample_weight=np.zeros(20))
    after = _state(skipped)
    np.testing.assert_array_equal(after[0], before[0])
    assert after[1:] == before[1:]
    _quiet(plain.partial_fit, X2, y2)
    _quiet(skipped.partial_fit, X2, y2)
    np.testing.assert_array_equal(skipped.coef_, plain.coef_)
    assert skipped.intercept_ == plain.intercept_


@pytest.mark.parametrize("settings", SETTINGS)
def test_a_first_chunk_of_zero_weights_leaves_the_model_unfitted_and_breaks_nothing(settings):
    (X1, y1), (X2, y2) = _chunks(seed=1)
    model, reference = GDRegressor(**settings), GDRegressor(**settings)
    model.partial_fit(X1[:5], y1[:5], sample_weight=np.zeros(5))
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        model.predict(X1)
    for chunk in ((X1, y1), (X2, y2)):
        _quiet(model.partial_fit, *chunk)
        _quiet(reference.partial_fit, *chunk)
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    assert model.intercept_ == reference.intercept_


def test_a_zero_weight_chunk_is_still_checked():
    (X1, y1), _ = _chunks()
    model = GDRegressor()
    with pytest.raises(DataError, match="sample_weight must be non-negative"):
        model.partial_fit(X1[:2], y1[:2], sample_weight=[0.0, -1.0])
    with pytest.raises(DataError, match="sample_weight must be 1-D with 2 values"):
        model.partial_fit(X1[:2], y1[:2], sample_weight=np.zeros(3))
    # fit has no earlier rows to fall back on: weights summing to zero stay an error there.
    with pytest.raises(DataError, match="sample_weight sums to zero"):
        model.fit(X1[:2], y1[:2], sample_weight=np.zeros(2))


@pytest.mark.parametrize("rule", ["plain", "momentum", "adam"])
def test_mini_batches_of_zero_weights_take_the_same_steps_in_both_loops(rule):
    # Whole mini-batches of weight zero have no mean loss: both loops take them as a step with
    # no data term (the penalty and the optimizer's momentum still act), without dividing by 0.
    X, y = make_regression(64, 3, seed=3)
    weights = np.ones(len(y))
    weights[8:24] = 0.0
    source = ArraySource(X, y, weights)
    problem = build_problem(source, Penalty(alpha=0.05), fit_intercept=True)
    config = FitConfig(solver="sgd", optimizer=rule, learning_rate=0.02, average=True)
    stream = SgdStream.start(problem, config)
    theta = np.zeros(problem.n_params)
    state = stream.optimizer.init(theta)
    for step, batch in enumerate(source.batches(8)):
        theta, state, _ = sgd_epoch(problem, theta, stream.optimizer, state, [batch], step,
                                    stream.schedule)
    rates = step_rates(stream.schedule, None, 0, 8)
    compiled, _ = run_compiled(
        compiled_rows(source), np.arange(len(y)), 8, problem.precond, problem.objective.penalty,
        np.zeros(problem.n_params), rule, stream.optimizer.init(theta), stream.hyper, rates,
        Averager.from_setting(True),
    )
    assert np.all(np.isfinite(compiled))
    np.testing.assert_allclose(compiled, theta, rtol=1e-12, atol=0)

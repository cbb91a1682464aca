"""Objective and penalty gradients by finite differences; statistics and data passes agree."""

import numpy as np
import pytest

from conftest import make_regression
from gradreg.objective import DataObjective, Preconditioner, Quadratic, batch_loss_and_grad
from gradreg.penalties import L1, L2, ElasticNet, Penalty
from gradreg.sources import ArraySource
from gradreg.stats import stats_from_arrays

PENALTIES = [Penalty(), L2(0.3), L1(0.2), ElasticNet(0.5, 0.4)]


def build(penalty, fit_intercept=True, standardize=True, weights=None):
    X, y = make_regression(150, 4, seed=21)
    stats = stats_from_arrays(X, y, weights)
    precond = Preconditioner.from_stats(stats, fit_intercept, standardize)
    scaled = penalty.scaled(precond.scale, precond.n_params)
    quadratic = Quadratic(stats, precond, scaled)
    source = ArraySource(X, y, weights)
    data = DataObjective(lambda: source.batches(37), precond, scaled, quadratic.reference)
    return quadratic, data, precond


def directions(p, seed=0):
    rng = np.random.default_rng(seed)
    yield from np.eye(p)
    for _ in range(3):
        v = rng.standard_normal(p)
        yield v / np.linalg.norm(v)


@pytest.mark.parametrize("penalty", PENALTIES[:2])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [True, False])
def test_smooth_gradient_matches_central_differences(penalty, fit_intercept, standardize):
    quadratic, data, precond = build(penalty, fit_intercept, standardize)
    theta = np.random.default_rng(1).standard_normal(precond.n_params)
    for objective in (quadratic, data):
        _, grad = objective.smooth_value_and_grad(theta)
        for direction in directions(precond.n_params):
            h = 1e-5
            plus, _ = objective.smooth_value_and_grad(theta + h * direction)
            minus, _ = objective.smooth_value_and_grad(theta - h * direction)
            numeric = (plus - minus) / (2 * h)
            assert numeric == pytest.approx(grad @ direction, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("penalty", PENALTIES)
def test_statistics_and_data_passes_give_the_same_objective(penalty):
    weights = np.random.default_rng(2).uniform(0, 2, 150)
    quadratic, data, precond = build(penalty, weights=weights)
    theta = np.random.default_rng(3).standard_normal(precond.n_params)
    v1, g1 = quadratic.smooth_value_and_grad(theta)
    v2, g2 = data.smooth_value_and_grad(theta)
    assert v1 == pytest.approx(v2, rel=1e-10)
    np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(quadratic.hvp(theta), data.hvp(theta), rtol=1e-9, atol=1e-9)
    assert quadratic.value(theta) == pytest.approx(data.value(theta), rel=1e-10)


def test_penalty_acts_on_user_unit_coefficients():
    penalty = ElasticNet(0.7, 0.3)
    quadratic, _, precond = build(penalty)
    theta = np.random.default_rng(4).standard_normal(precond.n_params)
    coef, _ = precond.to_user(theta)
    scaled = penalty.scaled(precond.scale, precond.n_params)
    in_scaled = scaled.smooth_value(theta) + scaled.l1_value(theta)
    assert in_scaled == pytest.approx(penalty.value(coef), rel=1e-12)


def test_intercept_is_never_penalised():
    scaled = L1(1.0).scaled(np.array([2.0, 3.0]), 3)
    assert scaled.l1_weights[-1] == 0 and scaled.l2_weights[-1] == 0
    theta = np.array([0.1, -5.0, 0.05])
    np.testing.assert_allclose(scaled.prox(theta, 1.0), [0.0, -5.0 + 1 / 3, 0.05])


@pytest.mark.parametrize("step", [0.1, 1.0])
def test_prox_is_the_minimiser_of_its_definition(step):
    scaled = ElasticNet(0.8, 0.6).scaled(np.array([1.0, 0.5, 2.0]), 4)
    rng = np.random.default_rng(5)
    theta = rng.standard_normal(4)
    result = scaled.prox(theta, step)

    def objective(t):
        return scaled.l1_value(t) + np.sum((t - theta) ** 2) / (2 * step)

    for _ in range(200):
        other = result + 1e-3 * rng.standard_normal(4)
        assert objective(result) <= objective(other) + 1e-15


def test_batch_sums_add_up_to_the_full_gradient():
    X, y = make_regression(90, 3, seed=6)
    stats = stats_from_arrays(X, y)
    precond = Preconditioner.from_stats(stats, True)
    theta = np.ones(4)
    total = [batch_loss_and_grad(theta, X[i : i + 30], y[i : i + 30], None, precond)
             for i in range(0, 90, 30)]
    whole = batch_loss_and_grad(theta, X, y, None, precond)
    assert sum(t[0] for t in total) == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(sum(t[1] for t in total), whole[1], rtol=1e-12)


def test_preconditioner_round_trip_and_constant_columns():
    X = np.c_[np.arange(10.0), np.full(10, 7.0)]
    stats = stats_from_arrays(X, np.arange(10.0))
    precond = Preconditioner.from_stats(stats, True)
    assert precond.constant.tolist() == [False, True]
    assert precond.scale[1] == 1.0
    theta = precond.from_user(np.array([2.0, -1.0]), 0.5)
    coef, intercept = precond.to_user(theta)
    np.testing.assert_allclose(coef, [2.0, -1.0])
    assert intercept == pytest.approx(0.5)

"""Objective and penalty gradients by finite differences; statistics and data passes agree."""

import numpy as np
import pytest

from conftest import assert_within, make_regression, rounding_bound
from gradreg.objective import DataObjective, Preconditioner, Quadratic, batch_loss_and_grad
from gradreg.penalties import L1, L2, ElasticNet, Penalty
from gradreg.sources import ArraySource
from gradreg.stats import stats_from_arrays

PENALTIES = [Penalty(), L2(0.3), L1(0.2), ElasticNet(0.5, 0.4)]


def build(penalty, fit_intercept=True, standardize=True, weights=None, rows=False):
    X, y = make_regression(150, 4, seed=21)
    stats = stats_from_arrays(X, y, weights)
    precond = Preconditioner.from_stats(stats, fit_intercept, standardize)
    scaled = penalty.scaled(precond.scale, precond.n_params)
    quadratic = Quadratic(stats, precond, scaled)
    source = ArraySource(X, y, weights)
    data = DataObjective(lambda: source.batches(37), precond, scaled, quadratic.reference)
    return (quadratic, data, precond) + ((X, y, scaled) if rows else ())


def sizes(theta, X, y, weights, precond, scaled):
    """Sizes of the terms the objective's value, gradient and Hessian product add up, from the
    rows: ``|z| |theta| + |y|`` bounds each residual's terms (the statistics' entries are sums
    of the same products, so these sizes bound both routes' terms)."""
    w = np.ones(len(y)) if weights is None else weights
    z = np.abs(precond.transform(X))
    if precond.fit_intercept:
        z = np.c_[z, np.ones(len(y))]
    residual = z @ np.abs(theta) + np.abs(y)
    value = 0.5 * np.average(residual**2, weights=w) + abs(scaled.smooth_value(theta))
    grad = np.average(z * residual[:, None], axis=0, weights=w) + np.abs(scaled.smooth_grad(theta))
    hvp = np.average(z * (z @ np.abs(theta))[:, None], axis=0, weights=w)
    return value, grad, hvp + np.abs(scaled.smooth_grad(theta))


def relative_rounding(precond, n_rows=150):
    """Each route sums ``n_rows`` rows of residuals of ``n_params`` terms, with a few roundings
    per term (the shift, the scale, the product, the sum: 4), and two routes may differ by twice
    that: ``rounding_bound(1, 8, n_rows + n_params)`` of the sizes above."""
    return rounding_bound(1.0, 8, n_terms=n_rows + precond.n_params)


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
    quadratic, data, precond, X, y, scaled = build(penalty, fit_intercept, standardize, rows=True)
    theta = np.random.default_rng(1).standard_normal(precond.n_params)
    # Both penalties here leave the objective quadratic: a central difference has no truncation
    # error (the third derivative vanishes), only the rounding of the two values over 2h, and
    # the rounding of the gradient it is compared with.
    h = 1e-5
    value_size, grad_size, _ = sizes(theta, X, y, None, precond, scaled)
    for objective in (quadratic, data):
        _, grad = objective.smooth_value_and_grad(theta)
        for direction in directions(precond.n_params):
            plus, _ = objective.smooth_value_and_grad(theta + h * direction)
            minus, _ = objective.smooth_value_and_grad(theta - h * direction)
            numeric = (plus - minus) / (2 * h)
            bound = relative_rounding(precond) * (value_size / h + grad_size @ np.abs(direction))
            assert_within(numeric, grad @ direction, bound)


@pytest.mark.parametrize("penalty", PENALTIES)
def test_statistics_and_data_passes_give_the_same_objective(penalty):
    weights = np.random.default_rng(2).uniform(0, 2, 150)
    quadratic, data, precond, X, y, scaled = build(penalty, weights=weights, rows=True)
    theta = np.random.default_rng(3).standard_normal(precond.n_params)
    v1, g1 = quadratic.smooth_value_and_grad(theta)
    v2, g2 = data.smooth_value_and_grad(theta)
    value_size, grad_size, hvp_size = sizes(theta, X, y, weights, precond, scaled)
    within = relative_rounding(precond)
    assert_within(v1, v2, within * value_size)
    assert_within(g1, g2, within * grad_size)
    assert_within(quadratic.hvp(theta), data.hvp(theta), within * hvp_size)
    # The L1 part is the same sum on both routes: d + 1 positive terms, a few roundings each.
    l1_size = scaled.l1_value(theta) + value_size
    assert_within(quadratic.value(theta), data.value(theta), within * l1_size)


def test_penalty_acts_on_user_unit_coefficients():
    penalty = ElasticNet(0.7, 0.3)
    quadratic, _, precond = build(penalty)
    theta = np.random.default_rng(4).standard_normal(precond.n_params)
    coef, _ = precond.to_user(theta)
    scaled = penalty.scaled(precond.scale, precond.n_params)
    in_scaled = scaled.smooth_value(theta) + scaled.l1_value(theta)
    # Two formulas for a sum of 2 x 4 positive terms: each term rounded a few times (to user
    # units, squared, weighted: 4) on either side.
    assert_within(in_scaled, penalty.value(coef), rounding_bound(1.0, 2 * 4, 8) * in_scaled)


def test_intercept_is_never_penalised():
    scaled = L1(1.0).scaled(np.array([2.0, 3.0]), 3)
    assert scaled.l1_weights[-1] == 0 and scaled.l2_weights[-1] == 0
    theta = np.array([0.1, -5.0, 0.05])
    expected = np.array([0.0, -5.0 + 1 / 3, 0.05])
    # A threshold of alpha / scale = 1/3 subtracted from -5: two roundings on each side.
    assert_within(scaled.prox(theta, 1.0), expected, rounding_bound(1.0, 4) * np.abs(expected))


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
        # Each value is a sum of 8 positive terms, rounded a few times (4) each.
        slack = rounding_bound(1.0, 4, n_terms=8) * (objective(result) + objective(other))
        assert objective(result) <= objective(other) + slack


def test_batch_sums_add_up_to_the_full_gradient():
    X, y = make_regression(90, 3, seed=6)
    stats = stats_from_arrays(X, y)
    precond = Preconditioner.from_stats(stats, True)
    theta = np.ones(4)
    total = [batch_loss_and_grad(theta, X[i : i + 30], y[i : i + 30], None, precond)
             for i in range(0, 90, 30)]
    whole = batch_loss_and_grad(theta, X, y, None, precond)
    # Sums over the rows, not means: the sizes times the 90 rows.
    value_size, grad_size, _ = sizes(theta, X, y, None, precond, Penalty().scaled(
        precond.scale, precond.n_params))
    within = relative_rounding(precond, n_rows=90) * len(y)
    assert_within(sum(t[0] for t in total), whole[0], within * value_size)
    assert_within(sum(t[1] for t in total), whole[1], within * grad_size)


def test_preconditioner_round_trip_and_constant_columns():
    X = np.c_[np.arange(10.0), np.full(10, 7.0)]
    stats = stats_from_arrays(X, np.arange(10.0))
    precond = Preconditioner.from_stats(stats, True)
    assert precond.constant.tolist() == [False, True]
    assert precond.scale[1] == 1.0
    theta = precond.from_user(np.array([2.0, -1.0]), 0.5)
    coef, intercept = precond.to_user(theta)
    # There and back: a scale multiplies and divides (2 roundings); the intercept adds and
    # subtracts shift @ coef (2 terms, 2 roundings each way), the shift within the data's range.
    assert_within(coef, [2.0, -1.0], rounding_bound(1.0, 2) * np.array([2.0, 1.0]))
    size = 0.5 + np.abs(X).max(axis=0) @ np.array([2.0, 1.0])
    assert_within(intercept, 0.5, rounding_bound(1.0, 4, n_terms=2) * size)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("level", [0.0, 1e6, 1e12])
def test_the_value_is_formed_around_the_target_level(fit_intercept, level):
    """A target far from zero (1e12, spread 1): the value at the optimum is the small mean
    squared residual, not the rounding left of ``theta' A theta / 2 - beta' theta + gamma / 2``
    (terms of 5e23, whose difference was 0 or +-7e7)."""
    import mpmath

    X, y = make_regression(150, 3, seed=4)
    y = y + level
    stats = stats_from_arrays(X, y)
    precond = Preconditioner.from_stats(stats, fit_intercept, True)
    quadratic = Quadratic(stats, precond, Penalty().scaled(precond.scale, precond.n_params))
    A = precond.transform(X)
    if fit_intercept:
        A = np.c_[A, np.ones(len(y))]
    theta = np.linalg.lstsq(A, y, rcond=None)[0]  # near the optimum: the loss is small there
    with mpmath.workdps(50):
        total = mpmath.mpf(0)
        for x_row, target in zip(X, y, strict=True):
            r = mpmath.mpf(float(target))
            for j, x in enumerate(x_row):
                z = (mpmath.mpf(float(x)) - mpmath.mpf(float(precond.shift[j]))) / mpmath.mpf(
                    float(precond.scale[j]))
                r -= z * mpmath.mpf(float(theta[j]))
            if fit_intercept:
                r -= mpmath.mpf(float(theta[-1]))
            total += r * r
        exact = float(total / (2 * len(y)))
    # Without an intercept the terms are those of the uncentred rows; with one, the centred
    # model's: each residual's terms less the level, which the centred form leaves out.
    centre = float(np.mean(y)) if fit_intercept else 0.0
    z = np.abs(precond.transform(X))
    sizes = z @ np.abs(theta[:3]) + np.abs(y - centre) + abs(theta[-1] - centre) * fit_intercept
    bound = relative_rounding(precond) * 0.5 * float(np.mean(sizes**2))
    value, _ = quadratic.smooth_value_and_grad(theta)
    assert abs(value - exact) <= bound
    assert abs(0.5 * quadratic.mean_squared_error(theta) - exact) <= bound

"""The error bound of a refined optimum, measured from the rows (gradreg.posterior)."""

import warnings

import mpmath
import numpy as np
import pytest
from benchmarks.accuracy import (
    CASES,
    describe_case,
    equilibration,
    make_case,
    mp_reference,
    relative_error,
    standardized_condition,
)

from gradreg import GDRegressor
from gradreg.objective import Preconditioner
from gradreg.posterior import posterior_bound


def _canonical(X, w, fit_intercept):
    weights = np.ones(len(X)) if w is None else w
    mean = np.average(X, axis=0, weights=weights) if fit_intercept else np.zeros(X.shape[1])
    spread = equilibration(X, w, fit_intercept)
    return Preconditioner(mean, spread, fit_intercept, np.zeros(X.shape[1], bool))


def _reference_theta(X, y, w, canon):
    """The 50-digit solution in canonical coordinates (the intercept by mpmath too)."""
    coef = mp_reference(X, y, w, canon.fit_intercept)
    slopes = coef * canon.scale
    if not canon.fit_intercept:
        return slopes
    weights = np.ones(len(y)) if w is None else w
    with mpmath.workdps(50):
        total = mpmath.fsum(mpmath.mpf(float(v)) for v in weights)
        mean_y = mpmath.fsum(mpmath.mpf(float(a)) * mpmath.mpf(float(b))
                             for a, b in zip(weights, y, strict=True)) / total
    return np.append(slopes, float(mean_y))


def _bound(X, y, w, canon, point):
    """posterior_bound with the factor of the canonical design, ``M^T M = Z^T W Z / W``."""
    weights = np.ones(len(y)) if w is None else w
    Z = (X - canon.shift) / canon.scale
    if canon.fit_intercept:
        Z = np.column_stack([Z, np.ones(len(y))])
    M = np.linalg.qr(Z * np.sqrt(weights / weights.sum())[:, None], mode="r")
    return posterior_bound([(X[:17], y[:17], None if w is None else w[:17]),
                            (X[17:], y[17:], None if w is None else w[17:])], canon, point, M)


WELL_RESOLVED = [(3, 1e2, 0, 0.001, False, False), (6, 0.5, 1, 0.9999, True, False),
                 (5, 3.0, 6, 0.9, False, True), (8, 0.0, 0, 0.9999, True, False)]


@pytest.mark.parametrize("case", WELL_RESOLVED, ids=describe_case)
@pytest.mark.parametrize("size", [1e-12, 1e-6])
def test_the_bound_holds_and_is_at_most_three_times_the_error(case, size):
    X, y, w = make_case(*case)
    canon = _canonical(X, w, case[4])
    exact = _reference_theta(X, y, w, canon)
    rng = np.random.default_rng(0)
    step = rng.normal(size=exact.shape) * size * np.linalg.norm(exact)
    point = exact + step
    error = float(np.linalg.norm(point - exact))
    bound = _bound(X, y, w, canon, point)
    assert bound is not None
    # The exact optimum's own float64 rounding (eps |theta| per entry) is part of the error.
    rounding = np.finfo(float).eps * float(np.linalg.norm(exact))
    assert bound >= error - rounding
    # (|c| + slack) / (1 - eta) with |c| <= (1 + eta) |error| and eta <= 1/2 (the module).
    assert bound <= 3 * (error + rounding) + 1e-3 * error


def test_no_bound_where_the_factor_cannot_resolve_the_correction():
    X, y, w = make_case(10, 0.5, 0, 0.9999, True, False)  # condition 2.9e9: eta >> 1
    canon = _canonical(X, w, True)
    assert _bound(X, y, w, canon, _reference_theta(X, y, w, canon)) is None


@pytest.mark.parametrize("case", CASES, ids=describe_case)
def test_fits_below_condition_1e6_are_certified(case):
    """Refined against the rows, the optimum is known to near eps: the descent reaches tol
    and says so, with a bound that holds."""
    X, y, w = make_case(*case)
    if standardized_condition(X, w, case[4]) >= 1e6:
        pytest.skip("condition 1e6 or more")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: tol is certified
        model = GDRegressor(fit_intercept=case[4]).fit(X, y, sample_weight=w)
    error = relative_error(model.coef_, mp_reference(X, y, w, case[4]),
                           equilibration(X, w, case[4]))
    assert model.converged_
    assert error <= model.coef_error_bound_ <= model.tol


def test_a_recentred_objective_has_its_minimum_there_with_the_same_value():
    from gradreg.objective import FactoredQuadratic
    from gradreg.penalties import Penalty

    rng = np.random.default_rng(3)
    M = np.triu(rng.normal(size=(4, 4))) + 3 * np.eye(4)
    penalty = Penalty().scaled(np.ones(3), 4)
    objective = FactoredQuadratic(M, rng.normal(size=4), 0.5, penalty, 1.0)
    target = np.linalg.solve(M, objective.q) + 1e-7 * rng.normal(size=4)
    moved = objective.recentred(target)
    value, grad = moved.smooth_value_and_grad(target)
    # M^T (M t - q') with q' = fl(M t): each entry of the residual is one rounding of M t.
    size = np.abs(M).T @ (np.abs(M) @ np.abs(target))
    assert np.all(np.abs(grad) <= 8 * np.finfo(float).eps * size)
    before = objective.smooth_value_and_grad(target)[0]
    assert value == pytest.approx(before, rel=8 * np.finfo(float).eps)
    np.testing.assert_array_equal(moved.A, objective.A)


def test_a_large_ill_conditioned_fit_in_memory_is_certified():
    """The benchmarks' correlated design (condition 1e4, offsets): the a priori bound of the
    factor grows with sqrt(n) and the residual; the bound measured from the rows does not."""
    from benchmarks.data import Case, make

    from conftest import lstsq_fit, rounding_bound, standardized_condition

    X, y = make(Case(200_000, 10, "ill"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GDRegressor().fit(X, y)
    assert model.converged_ and model.coef_error_bound_ <= model.tol
    coef, _ = lstsq_fit(X, y)
    D = X.std(axis=0)
    error = float(np.linalg.norm(D * (model.coef_ - coef)) / np.linalg.norm(D * coef))
    # The SVD reference's own error: condition x eps, with a factor 10 for the centring and
    # the solve (the rule of conftest.rounding_bound).
    assert error <= model.coef_error_bound_ + rounding_bound(standardized_condition(X), 10)


@pytest.mark.parametrize("weighted", [False, True])
def test_one_column_without_intercept_is_measured(weighted):
    """One parameter (a feature, no intercept): the measured pass keeps the loss's two parts
    apart from the gradient's one entry (they shared a row of length one, and the loss's low
    part was written past it)."""
    rng = np.random.default_rng(5)
    X = 3.0 + rng.normal(size=(40, 1))
    y = 0.7 * X[:, 0] + 0.1 * rng.normal(size=40)
    w = rng.uniform(0.5, 2.0, size=40) if weighted else None
    canon = _canonical(X, w, False)
    exact = _reference_theta(X, y, w, canon)
    for size in (1e-12, 1e-6):
        point = exact * (1.0 + size)
        error = float(np.linalg.norm(point - exact))
        bound = _bound(X, y, w, canon, point)
        rounding = np.finfo(float).eps * float(np.linalg.norm(exact))
        assert bound is not None
        assert error - rounding <= bound <= 3 * (error + rounding) + 1e-3 * error


@pytest.mark.parametrize("offset", [0.0, 1e8])
def test_a_one_feature_fit_without_intercept_at_a_small_tol_is_certified(offset):
    """tol=1e-14 sends the fit to the factor and the measured pass, with one parameter."""
    rng = np.random.default_rng(7)
    X = offset + rng.normal(size=(4095, 1))
    y = 0.5 * X[:, 0] + rng.normal(size=4095)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol may be beyond what float64 certifies here
        model = GDRegressor(fit_intercept=False, tol=1e-14).fit(X, y)
    error = relative_error(model.coef_, mp_reference(X, y, None, False),
                           equilibration(X, None, False))
    assert error <= model.coef_error_bound_
    assert not model.converged_ or error <= model.tol


def test_a_target_far_from_zero_is_measured_at_the_size_of_its_residuals():
    """Columns and target near 1e15: the measured bound is the correction's and its
    uncertainty, of the size of the residuals. The residual's rounding was taken relative to
    |y| + |intercept| (2e15) although their difference is exact (a TwoSum), and the bound
    (8e-10) came out looser than the a priori one of the Gram matrix (6e-14)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=4097)
    X = (x + 1e15).reshape(-1, 1)
    y = 0.7 * (X[:, 0] - X[:, 0].mean()) + 0.1 * rng.normal(size=4097) + 1e15
    gram = GDRegressor().fit(X, y)  # certified from the Gram matrix: tol=1e-8 is met
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=1e-14 is not always certified
        measured = GDRegressor(tol=1e-14).fit(X, y)
    with mpmath.workdps(50):  # centred at 50 digits: the raw normal equations need 60
        xs = [mpmath.mpf(float(v)) for v in X[:, 0]]
        ys = [mpmath.mpf(float(v)) for v in y]
        mean_x, mean_y = mpmath.fsum(xs) / len(xs), mpmath.fsum(ys) / len(ys)
        slope = mpmath.fsum((a - mean_x) * (b - mean_y) for a, b in zip(xs, ys, strict=True)) \
            / mpmath.fsum((a - mean_x) ** 2 for a in xs)
    error = relative_error(measured.coef_, np.array([float(slope)]), np.ones(1))
    assert error <= measured.coef_error_bound_ <= gram.coef_error_bound_

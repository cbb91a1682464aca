"""partial_fit: after every chunk, the least-squares fit of all rows seen, in any order."""

import warnings

import numpy as np
import pytest

from conftest import assert_fit_within_rounding, lstsq_fit, rounding_bound
from gradreg import DivergenceError, GDRegressor
from gradreg.optimum import RANK_RTOL


def svd_fitted_values(X, y, w):
    """Fitted values of weighted least squares with an intercept, from the SVD of the centred,
    column-scaled design: unique even when the coefficients are not (one row, constant
    columns). Returns them with the condition number of the design's nonzero part."""
    root = np.sqrt(w)
    mean_x, mean_y = w @ X / w.sum(), w @ y / w.sum()
    centred = (X - mean_x) * root[:, None]
    norms = np.linalg.norm(centred, axis=0)
    norms[norms == 0] = 1.0
    U, s, _ = np.linalg.svd(centred / norms, full_matrices=False)
    # The rank decision defines which minimum-norm problem is solved (not a computed answer):
    # gradreg's, eigenvalues of the equilibrated Gram matrix above RANK_RTOL of the largest.
    keep = s > np.sqrt(RANK_RTOL) * max(s.max(initial=0.0), 1e-300)
    projection = U[:, keep] @ (U[:, keep].T @ ((y - mean_y) * root))
    fitted = mean_y + projection / root
    condition = s[keep].max() / s[keep].min() if keep.any() else 1.0
    return fitted, condition


def year_data(seed=0):
    """Rows sorted by year, 100 a year: the year column is constant within each chunk."""
    rng = np.random.default_rng(seed)
    years = np.repeat(np.arange(1950.0, 1990.0), 100)
    other = rng.normal(size=years.size)
    X = np.c_[years, other, rng.uniform(0, 10, years.size)]
    y = 2.99 * years - 5976.0 + 0.5 * other + rng.normal(size=years.size)
    return X, y


def chunked(order):
    """Chunk boundaries for each ordering the tests use."""
    return {
        "sorted": [100] * 40,
        "shuffled": [100] * 40,
        "one_row_first": [1, 1, 1, 2, 95] + [100] * 39,
        "constant_first": [100] * 40,
    }[order]


@pytest.mark.parametrize("order", ["sorted", "shuffled", "one_row_first", "constant_first"])
@pytest.mark.parametrize("weighted", [False, True])
def test_every_call_equals_the_least_squares_fit_of_the_rows_seen(order, weighted):
    X, y = year_data()
    rng = np.random.default_rng(1)
    if order in ("shuffled", "one_row_first"):
        permutation = rng.permutation(len(y))
        X, y = X[permutation], y[permutation]
    if order == "constant_first":  # the first chunk is one year, the rest shuffled
        permutation = np.r_[np.arange(100), 100 + rng.permutation(len(y) - 100)]
        X, y = X[permutation], y[permutation]
    w = rng.uniform(0.5, 2.0, len(y)) if weighted else np.ones(len(y))
    model = GDRegressor()
    seen = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rank-deficient first chunks are reported
        for size in chunked(order)[:12]:
            rows = slice(seen, seen + size)
            model.partial_fit(X[rows], y[rows], sample_weight=w[rows] if weighted else None)
            seen += size
            fitted, condition = svd_fitted_values(X[:seen], y[:seen], w[:seen])
            # With fewer rows than parameters the fit is exact (f* = 0) and the relative gap
            # is at rounding level, where conjugate gradient may stop short of certifying it.
            assert model.converged_ or seen < X.shape[1] + 1, model.stop_reason_
            assert model.stats_.n_rows == seen
            # For least squares f(theta) - f* = mean_w (prediction - fitted*)^2 / 2, so the
            # certified relative gap bounds the distance of the predictions from the optimum's.
            optimum = 0.5 * float(w[:seen] @ (y[:seen] - fitted) ** 2) / w[:seen].sum()
            # The relative gap's definition floors its denominator at 1e-12 of the best
            # constant model's loss (a perfect fit still has a finite relative gap).
            size = float(np.mean(y[:seen] ** 2))
            allowed = np.sqrt(2.0 * model.optimality_gap_ * max(optimum, 1e-12 * y.var()))
            # Fitted values from a solve of cross-products: condition^2 x n eps of |y|.
            allowed += rounding_bound(condition**2, 10, seen) * np.sqrt(size)
            prediction = model.predict(X[:seen])
            distance = np.sqrt(float(w[:seen] @ (prediction - fitted) ** 2) / w[:seen].sum())
            assert distance <= allowed


def test_the_sorted_by_year_example_gives_the_batch_coefficients():
    X, y = year_data(seed=2)
    model = GDRegressor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start in range(0, len(y), 100):
            model.partial_fit(X[start:start + 100], y[start:start + 100])
    coef, intercept = lstsq_fit(X, y)
    assert_fit_within_rounding(model.coef_, model.intercept_, X, coef, intercept,
                               certified=model.coef_error_bound_)
    assert model.converged_ and model.solver_ == "cg"


# Far from the fit after the first chunks, as warned (tests/test_partial_fit_sgd.py).
@pytest.mark.filterwarnings("ignore:partial_fit with solver='sgd' ended far")
def test_sgd_partial_fit_on_sorted_chunks_does_not_diverge():
    # One pass of stochastic steps per chunk cannot fit rows sorted by year well, but the
    # learning rate follows each chunk's curvature, so the model never gets worse than the
    # all-zero model it starts from (the loss used to reach 1e23 times the optimum's).
    X, y = year_data(seed=3)
    model = GDRegressor(solver="sgd", random_state=0)
    for start in range(0, len(y), 100):
        model.partial_fit(X[start:start + 100], y[start:start + 100])
        assert np.all(np.isfinite(model.coef_))
    residual = y - model.predict(X)
    assert np.mean(residual**2) < np.mean(y**2)


def test_sgd_partial_fit_raises_when_halving_the_rate_cannot_stop_a_rising_loss():
    X, y = year_data(seed=4)
    model = GDRegressor(solver="sgd", learning_rate=1e15, random_state=0, average=False)
    with pytest.raises(DivergenceError, match="partial_fit diverged on this chunk: the loss rose"):
        for start in range(0, 400, 100):
            model.partial_fit(X[start:start + 100], y[start:start + 100])


# Far from the fit after the first chunks, as warned (tests/test_partial_fit_sgd.py).
@pytest.mark.filterwarnings("ignore:partial_fit with solver='sgd' ended far")
def test_sgd_partial_fit_halves_a_rate_that_makes_the_loss_rise():
    X, y = year_data(seed=5)
    model = GDRegressor(solver="sgd", learning_rate=50.0, random_state=0, average=False)
    for start in range(0, 400, 100):
        model.partial_fit(X[start:start + 100], y[start:start + 100])
    assert "learning rate halved after a rising loss" in model.stop_reason_
    assert model.learning_rate_ < 50.0
    assert np.all(np.isfinite(model.coef_))

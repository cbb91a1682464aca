"""Ridge penalties that spread the canonical curvature's diagonal over many orders (columns
of very different spreads): the optimum is solved to the data's rounding and its bound holds,
against a 50-digit reference."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from benchmarks.accuracy import relative_error

from gradreg import GDRegressor
from gradreg.penalties import Penalty
from gradreg.problem import build_problem
from gradreg.sources import ArraySource


def mp_spreads(X):
    """The columns' root mean squared deviations at 50 digits (float64's two-pass value is
    off by about (rounding of the mean / spread)^2, 1e-13 for a spread of 4e-4 at 1e6)."""
    with mpmath.workdps(50):
        columns = [[mpmath.mpf(float(v)) for v in column] for column in X.T]
        return np.array([float(mpmath.sqrt(sum((v - sum(c) / len(c)) ** 2 for v in c) / len(c)))
                         for c in columns])


def mp_ridge(X, y, alpha):
    """argmin |y - X w - b|^2 / (2 n) + alpha |w|^2 / 2 at 50 digits (centred normal
    equations: the intercept is not penalised)."""
    with mpmath.workdps(50):
        n, d = X.shape
        rows = [[mpmath.mpf(float(v)) for v in row] for row in X]
        target = [mpmath.mpf(float(v)) for v in y]
        mean_x = [sum(row[j] for row in rows) / n for j in range(d)]
        mean_y = sum(target) / n
        gram, rhs = mpmath.matrix(d, d), mpmath.matrix(d, 1)
        for row, t in zip(rows, target, strict=True):
            z = [row[j] - mean_x[j] for j in range(d)]
            for a in range(d):
                rhs[a] += z[a] * (t - mean_y) / n
                for b in range(d):
                    gram[a, b] += z[a] * z[b] / n
        for a in range(d):
            gram[a, a] += mpmath.mpf(alpha)
        solution = mpmath.lu_solve(gram, rhs)
        return np.array([float(solution[j]) for j in range(d)])


def spread_columns(seed):
    """200 rows of three correlated columns on scales 1e-3..1e3, offsets up to 1e6, and an
    alpha between 0.01 and 100: the l2 weights ``alpha / s_j^2`` spread over many orders."""
    rng = np.random.default_rng(seed)
    n, d = 200, 3
    U, _ = np.linalg.qr(rng.normal(size=(n, d)))
    V, _ = np.linalg.qr(rng.normal(size=(d, d)))
    s = np.logspace(0, -float(rng.uniform(0, 6)), d)
    X = (U * s) @ V * 10.0 ** rng.uniform(-3, 3, size=d) + rng.choice([0, 1e3, 1e6], size=d)
    y = X @ (rng.normal(size=d) / X.std(0)) + rng.normal(size=n) * 10 ** rng.uniform(-3, 1)
    return X, y, float(10 ** rng.uniform(-2, 2))


# Seeds where an eigendecomposition solve of H missed its stated rounding (by up to 1e5 times:
# 1.4e-5 against 1e-10 at seed 32) before the solve's own error was measured.
@pytest.mark.parametrize("seed", [0, 13, 20, 31, 32, 40])
def test_the_optimum_is_solved_to_its_stated_rounding(seed):
    X, y, alpha = spread_columns(seed)
    reference = mp_ridge(X, y, alpha)
    D = mp_spreads(X)
    optimum = build_problem(ArraySource(X, y), Penalty(alpha, 0.0), True, tol=1e-8).optimum
    error = np.linalg.norm(optimum.canonical[:3] - reference * D) / np.linalg.norm(reference * D)
    assert error <= optimum.rounding


@pytest.mark.parametrize("max_iter", [1, 3, 1000])
def test_the_bound_holds_near_and_far(max_iter):
    X, y, alpha = spread_columns(13)
    reference = mp_ridge(X, y, alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stopped early on purpose
        model = GDRegressor(penalty="l2", alpha=alpha, max_iter=max_iter).fit(X, y)
    error = relative_error(model.coef_, reference, mp_spreads(X))
    assert error <= model.coef_error_bound_
    assert model.converged_ == (max_iter == 1000)


def test_an_array_ridge_fit_is_certified_as_tightly_as_the_same_rows_in_a_file(tmp_path):
    """Refined with float64 residuals, a ridge optimum already solved to its measured error
    moved by their rounding (1e-12 at a target near 1e6) and was bounded by that move: the
    array fit got 2e-12 where the file fit got 4e-16. Arrays now keep the measured solve."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gradreg import scan

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) * np.logspace(-4, 4, 4)
    y = X @ (1 / np.logspace(-4, 4, 4)) + 1e6 + rng.normal(size=300)
    pq.write_table(pa.table({**{f"x{j}": X[:, j] for j in range(4)}, "y": y}),
                   tmp_path / "rows.parquet")
    reference, D = mp_ridge(X, y, 1e6), mp_spreads(X)
    array = GDRegressor(penalty="l2", alpha=1e6).fit(X, y)
    file = GDRegressor(penalty="l2", alpha=1e6).fit(scan(tmp_path / "rows.parquet", target="y"))
    for model in (array, file):
        assert relative_error(model.coef_, reference, D) <= model.coef_error_bound_
    # The same optimum and the same measured solve on both routes: bounds of one size.
    assert array.coef_error_bound_ <= 2 * file.coef_error_bound_


def constant_column_rows(n=200, seed=0):
    """A varying column beside a constant one: the factor of the centred design has a zero
    row, the ridge curvature (alpha on the diagonal) none."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), np.full(n, 5.0), 1e3 + rng.normal(size=n)])
    y = X[:, 0] - 2.0 * X[:, 2] + rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("alpha", [1e-9, 0.3])
def test_a_constant_column_with_a_ridge_on_the_factor(alpha):
    """tol=1e-14 takes the QR factor, whose minimiser is moved to the refined optimum by
    solving with the factor's transpose: singular with a constant column (LinAlgError)."""
    X, y = constant_column_rows()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol may be beyond what float64 certifies
        model = GDRegressor(penalty="l2", alpha=alpha, tol=1e-14).fit(X, y)
    error = relative_error(model.coef_, mp_ridge(X, y, alpha), mp_spreads(X))
    assert model.coef_[1] == 0.0
    assert error <= model.coef_error_bound_
    assert not model.converged_ or error <= model.tol


def test_a_constant_column_with_a_ridge_on_dask(client):
    da = pytest.importorskip("dask.array")
    X, y = constant_column_rows()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(penalty="l2", alpha=0.3, tol=1e-14).fit(
            da.from_array(X, chunks=(64, 3)), da.from_array(y, chunks=64))
    error = relative_error(model.coef_, mp_ridge(X, y, 0.3), mp_spreads(X))
    assert error <= model.coef_error_bound_

"""The triangular factor of the shifted, equilibrated rows (gradreg.qr_stats).

References: the singular values of the same rows by numpy's SVD (backward stable: their
relative error is about ``cond x eps``), against which the factor must be as good as a
Householder one and far better than the Cholesky factor of the Gram matrix.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradreg.qr_stats as qr_stats
from conftest import make_regression, rounding_bound
from gradreg.optimum import canonical_preconditioner
from gradreg.problem import _scaled_gram, gather_qr
from gradreg.sources import ArraySource


def factor_and_rows(X, y, w=None, arrays=True):
    source = ArraySource(X, y, w)
    stats = source.stats()
    canon = canonical_preconditioner(stats, True)
    if not arrays:  # a source without X: the pass over its batches
        source = _Batches(source)
    qr = gather_qr(source, stats, canon)
    rows = qr_stats.scaled_rows(np.asarray(X, dtype=np.float64), y, w, qr.shift, qr.scale, True)
    return qr, rows, stats


class _Batches:
    def __init__(self, source):
        self.inner = source
        self.n_rows = source.n_rows

    def batches(self, size, rng=None):
        return self.inner.batches(1000, rng)


def singular_values(matrix):
    return np.linalg.svd(matrix, compute_uv=False)


def design_error(R, rows):
    """Largest relative error of the singular values of the design block (with the ones)."""
    exact = singular_values(rows[:, :-1])
    ours = singular_values(R[:-1, :-1])
    return float(np.max(np.abs(ours - exact) / exact)), float(exact[0] / exact[-1])


@pytest.mark.parametrize("arrays", [True, False])
def test_factor_resolves_what_the_gram_cannot(arrays):
    X, y = make_regression(n=3000, d=6, condition=1e7, seed=4)
    qr, rows, stats = factor_and_rows(X, y, arrays=arrays)
    error, condition = design_error(qr.R, rows)
    bound = rounding_bound(condition, 10, len(y))
    assert error <= bound
    # The Cholesky factor of the Gram matrix misses the same bound: the case needs the pass.
    gram = _scaled_gram(stats, qr.shift, qr.scale, True)
    cholesky = np.linalg.cholesky(gram).T
    assert design_error(cholesky, rows)[0] > bound


def test_threads_and_batches_give_the_same_factor(monkeypatch):
    X, y = make_regression(n=4000, d=5, condition=1e5, seed=5)
    whole, rows, _ = factor_and_rows(X, y, arrays=False)
    monkeypatch.setattr(qr_stats, "_THREADED_ENTRIES", 0)
    split, _, _ = factor_and_rows(X, y, arrays=True)
    condition = float(np.linalg.cond(rows[:, :-1]))
    assert split.n_rows == whole.n_rows == len(y)
    assert split.weight_sum == whole.weight_sum
    difference = np.abs(singular_values(split.R) - singular_values(whole.R))
    assert np.all(difference <= rounding_bound(condition, 10, len(y)) * singular_values(whole.R))


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_weighted_rows_of_other_types(dtype):
    rng = np.random.default_rng(6)
    X = np.round(rng.normal(size=(2000, 4)) * 1000 + 5e4).astype(dtype)
    X = np.column_stack([X, X[:, 0].astype(np.float64) ** 2 / 1e4]).astype(dtype)
    y = X.astype(np.float64) @ rng.normal(size=5) + rng.normal(size=2000)
    w = rng.uniform(0.0, 2.0, 2000)
    w[::5] = 0.0
    qr, rows, _ = factor_and_rows(X, y, w)
    assert qr.weight_sum == pytest.approx(w.sum(), rel=1e-14)
    error, condition = design_error(qr.R, rows)
    assert error <= rounding_bound(condition, 10, len(y))


def test_constant_columns_keep_exact_zeros_and_deficient_designs_stay_finite():
    X, y = make_regression(n=500, d=3, seed=7)
    design = np.column_stack([X, np.full(500, 5.0), X[:, 0] * 2.0])
    qr, _, _ = factor_and_rows(design, y)
    assert np.all(qr.R[:, 3] == 0.0) and np.all(qr.R[3] == 0.0)
    assert np.all(np.isfinite(qr.R))
    zero = np.zeros((40, 2))
    source = ArraySource(zero, np.zeros(40))
    stats = source.stats()
    empty = gather_qr(source, stats, canonical_preconditioner(stats, False))
    assert empty.n_rows == 40 and empty.weight_sum == 40.0
    assert np.all(empty.R == 0.0)


def test_values_near_the_bottom_of_the_range():
    # Their squares are subnormal: the statistics' Gram matrix has lost its digits (its
    # shifted Cholesky factorisation fails), and only the passes over the scaled rows, which
    # are of normal size, give the factor. These rows are rank deficient once centred.
    X = np.vstack([[0.0, 1.0], np.full((8, 2), 1.80620672e-159)])
    y = np.zeros(9)
    qr, rows, _ = factor_and_rows(X, y)
    assert np.all(np.isfinite(qr.R))
    # A normwise backward error: R^T R is the rows' Gram matrix up to the shift that shifted
    # CholeskyQR adds for a singular Gram matrix, 11 (m n + m (m + 1)) eps |G| on the m kept
    # columns' preconditioned Gram matrix (trace about m), mapped back (Fukaya et al. 2020);
    # a factor 2 for the rounding besides.
    gram = rows.T @ rows
    m, n = 3, len(y)
    bound = rounding_bound(1.0, 2 * 11 * m, m * n + m * (m + 1)) * np.linalg.norm(gram, 2)
    assert np.linalg.norm(qr.R.T @ qr.R - gram, 2) <= bound


@pytest.mark.parametrize("exponent", [-3, 2, 5])
def test_weights_scaled_by_a_power_of_two(exponent):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=300)
    w = rng.uniform(0.5, 2.0, 300)
    shift, scale = np.zeros(4), np.ones(4)
    factor = qr_stats.qr_from_batches([(X, y, w)], shift, scale, True)
    scaled = factor.with_weights_scaled(exponent)
    direct = qr_stats.qr_from_batches([(X, y, np.ldexp(w, exponent))], shift, scale, True)
    assert scaled.weight_sum == direct.weight_sum
    assert factor.with_weights_scaled(0) is factor
    if exponent % 2 == 0:
        # sqrt(2^e w) = 2^(e/2) sqrt(w) exactly: the same rows up to a power of two, the
        # same operations, the same factor scaled.
        np.testing.assert_array_equal(scaled.R, direct.R)
    else:
        # The rows differ by one rounding of sqrt(2) (eps relative): R^T R, their Gram
        # matrix, within that of each entry's sum over the rows.
        gram = direct.R.T @ direct.R
        size = np.sqrt(np.outer(np.diag(gram), np.diag(gram)))
        bound = rounding_bound(1.0, 4, X.shape[0]) * size
        assert np.all(np.abs(scaled.R.T @ scaled.R - gram) <= bound)


@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_a_gram_matrix_that_is_not_finite_is_refused_not_shifted_forever(value):
    gram = np.array([[value, 1.0], [1.0, 2.0]])
    with pytest.raises(np.linalg.LinAlgError, match="not finite"):
        qr_stats._cholesky(gram, shifted=True, rows=10)


def two_rows_of_weight(seed, n=1023, offset=1e15):
    """Rows near ``offset`` of which two have weight: the line through them fits the target
    exactly, and ``[z, 1, y]`` is singular (its factor's last diagonal entry is zero)."""
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=n) + offset).reshape(-1, 1)
    y = 0.7 * (X[:, 0] - offset) + offset + 0.1 * rng.normal(size=n)
    w = rng.uniform(0.2, 2.0, size=n)
    w[: n - 2] = 0.0
    return X, y, w


@pytest.mark.parametrize("seed", [4, 8, 9])
def test_the_factor_of_an_exactly_fitted_target(seed):
    """The pass's Gram matrix is singular when the features fit the target exactly; its
    shifted Cholesky factor put up to 7e-4 of the diagonal into R^T R, which the measured
    certificate took for rounding (it certified 5e-15 for an error of 2e-6)."""
    X, y, w = two_rows_of_weight(seed)
    qr, rows, _ = factor_and_rows(X, y, w)
    gram = rows.T @ rows
    # Householder QR's normwise backward error (Higham 2002, Thm 19.4): a few eps per row
    # summed, relative to |G|; a factor 10 for the merges and the shifts (conftest's rule).
    bound = rounding_bound(1.0, 10, len(y)) * np.linalg.norm(gram, 2)
    assert np.linalg.norm(qr.R.T @ qr.R - gram, 2) <= bound


@pytest.mark.parametrize("seed", [4, 8, 9])
def test_an_exactly_fitted_target_is_certified_as_it_is(seed):
    import warnings

    import mpmath

    from gradreg import GDRegressor

    X, y, w = two_rows_of_weight(seed)
    (a, b) = np.flatnonzero(w)
    with mpmath.workdps(50):
        slope = (mpmath.mpf(float(y[b])) - mpmath.mpf(float(y[a]))) / (
            mpmath.mpf(float(X[b, 0])) - mpmath.mpf(float(X[a, 0])))
    for tol in (1e-8, 1e-14):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tol=1e-14 may be beyond float64 here
            model = GDRegressor(tol=tol).fit(X, y, sample_weight=w)
        error = abs(model.coef_[0] - float(slope)) / abs(float(slope))
        assert error <= model.coef_error_bound_
        assert not model.converged_ or error <= tol

"""Shared fixtures and data makers."""

from __future__ import annotations

import contextlib
import itertools
import resource
import warnings

import numpy as np
import pytest

EPS = float(np.finfo(np.float64).eps)


def make_regression(
    n: int = 500,
    d: int = 5,
    condition: float = 1.0,
    seed: int = 0,
    noise: float = 1.0,
    intercept: float = 3.0,
    scales: bool = True,
):
    """Rows whose standardized design has roughly the given condition number.

    Features get different scales and offsets (as real data do) so that the internal
    standardization has work to do.
    """
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((n, d)))
    right, _ = np.linalg.qr(rng.standard_normal((d, d)))
    singular = np.logspace(0, -np.log10(condition), d)
    X = (left * singular) @ right.T * np.sqrt(n)
    if scales:
        X = X * np.logspace(0, 2, d) + rng.normal(0, 5, d)
    coef = rng.standard_normal(d)
    y = X @ coef + intercept + noise * rng.standard_normal(n)
    return X, y


def lstsq_fit(X, y, sample_weight=None, fit_intercept=True):
    """Reference coefficients and intercept, more accurate than any fit from cross-products.

    Two-pass (weighted) centring, columns scaled to unit length, then an SVD of the design
    itself: the error is about ``condition x eps``, where a solution of the normal equations (as
    gradreg's, from its statistics) has ``condition**2 x eps``. Directions whose singular value
    is below ``n x eps`` of the largest are dropped (a minimum-norm solution).
    """
    A, b, x_mean, y_mean, scale = _centred_scaled(X, y, sample_weight, fit_intercept)
    left, singular, right = np.linalg.svd(A, full_matrices=False)
    keep = singular > singular[0] * len(b) * EPS
    coef = right[keep].T @ ((left[:, keep].T @ b) / singular[keep]) / scale
    intercept = y_mean - float(x_mean @ coef) if fit_intercept else 0.0
    return coef, intercept


def standardized_condition(X, sample_weight=None, fit_intercept=True) -> float:
    """2-norm condition number of the design as the solvers see it, by an SVD.

    The columns are centred (weighted, when ``fit_intercept``) and scaled to unit length: the
    problem gradreg solves, whose sensitivity to rounding is what a test bound must allow for.
    """
    A = _centred_scaled(X, np.zeros(len(X)), sample_weight, fit_intercept)[0]
    singular = np.linalg.svd(A, compute_uv=False)
    return float(singular[0] / singular[-1]) if singular[-1] > 0 else np.inf  # inf: singular


def rounding_bound(condition: float, factor: float, n_terms: int = 1) -> float:
    """The largest relative difference that rounding alone explains: the rule for every test.

    ``bound = factor x condition x n_terms x eps`` (eps: float64 machine epsilon), where

    - ``condition`` is the condition number of the problem compared, from an SVD in the test:
      ``standardized_condition(X)`` for a product or a solution by SVD, its square for a
      solution from cross-products (normal equations, gradreg's statistics), 1 for a sum of
      positive terms;
    - ``n_terms`` is the number of rows summed where a sum over rows is involved (the
      worst-case growth of rounding in a sum), 1 otherwise;
    - ``factor`` is a stated safety factor, a small integer counting the operations in
      between (a factor of 10 or 100 is a choice, never tuned until a test passes).

    No bound depends on the BLAS kernel: kernels differ in the order of their sums, which this
    bound covers whatever the order.
    """
    return factor * condition * max(n_terms, 1) * EPS


def descent_bound(condition: float, steps: int, n_terms: int, factor: float = 8) -> float:
    """Relative difference (standardized units) of two routes through the same descent steps.

    Each step's gradient carries its route's rounding, ``rounding_bound(1, factor, n_terms)``
    of its terms (sums of ``n_terms`` rows, a few roundings per term on each of two routes: 8);
    the condition number carries a gradient's relative error to the coefficients, and a step at
    a rate below ``2/L`` does not amplify an earlier difference, so the differences add up.
    """
    return steps * rounding_bound(condition, factor, n_terms)


def classic_descent_bound(x, y, learning_rate, epochs, factor: float = 8):
    """How far two codes of the tutorial's descent (``m, b`` from zero, a rate below ``2/L``
    on the mean squared error) may drift apart by rounding: ``(line, cost)`` bounds, ``line``
    in the 2-norm of ``(m, b)``.

    At a rate below 2/L a step is non-expansive, so each epoch's rounding adds up: the
    gradient's sums of n terms (``factor`` roundings between the two codes, of terms at most
    ``|x| (|y| + R |x| + R)``) times the rate, and the update's. The iterates stay within
    ``R = 2 |(m*, b*)|`` of zero (non-expansive steps from zero towards the least-squares line,
    taken here from an SVD). The cost adds its own sum's rounding to the effect of ``line``.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    (slope, intercept), *_ = np.linalg.lstsq(np.c_[x, np.ones_like(x)], y, rcond=None)
    radius = 2 * float(np.hypot(slope, intercept))
    residual = np.abs(y) + radius * (np.abs(x) + 1)  # each residual's terms
    within = rounding_bound(1.0, factor, n)
    grad = within * (2 / n) * float(np.hypot(np.abs(x) @ residual, residual.sum()))
    line = epochs * (learning_rate * grad + rounding_bound(1.0, factor) * radius)
    slope_of_cost = (2 / n) * float(residual @ (np.abs(x) + 1))
    cost = within * float(np.mean(residual**2)) + line * slope_of_cost
    return line, cost + line**2 * float(np.mean((np.abs(x) + 1) ** 2))


def sum_bound(terms, factor: float = 1.0, axis=None):
    """Absolute rounding bound of a computed sum: ``factor x n x eps x sum |terms|``.

    ``n`` is the number of terms added (along ``axis``): the worst-case growth of rounding in a
    recursive sum (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., eq. 4.4),
    whatever order the kernel adds in; pairwise and blocked sums only do better.
    """
    terms = np.abs(np.asarray(terms, dtype=np.float64))
    n_terms = terms.size if axis is None else terms.shape[axis]
    return rounding_bound(1.0, factor, n_terms) * terms.sum(axis=axis)


def cross_bound(cross, n_terms: int, factor: float = 1.0):
    """Entrywise absolute rounding bound of (centred) cross-products over ``n_terms`` rows.

    Entry ``(j, k)`` is a sum of ``n_terms`` products ``a_ij a_ik``, so its rounding is at most
    ``n_terms x eps x sum |a_ij a_ik|`` (see ``sum_bound``), and ``sum |a_ij a_ik| <=
    sqrt(C_jj C_kk)`` by Cauchy-Schwarz: the diagonal of the reference ``cross`` gives the sizes.
    """
    root = np.sqrt(np.abs(np.diag(np.asarray(cross, dtype=np.float64))))
    return rounding_bound(1.0, factor, n_terms) * np.outer(root, root)


def assert_within(actual, expected, bound):
    """``|actual - expected| <= bound`` entrywise (``bound`` broadcasts; NaN fails)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    difference = np.abs(actual - expected)
    within = difference <= bound
    ratio = float(np.max(difference / np.maximum(bound, 1e-300)))
    assert np.all(within), f"difference {float(np.max(difference)):.3g} is {ratio:.3g} x the bound"


def assert_fit_within_rounding(coef, intercept, X, ref_coef, ref_intercept,
                               sample_weight=None, fits=1, certified=0.0):
    """Coefficients and intercept within the rounding bound of a fit from cross-products.

    The bound is ``rounding_bound(condition**2, 10, n)`` per fit (``fits=2`` when comparing two
    fits, each within the bound of the optimum), plus ``certified``: the distance at which a
    descent stopped, as the fit certifies it (``coef_error_bound_``, a 2-norm relative error,
    times sqrt(d) for the largest-entry norm compared here). Coefficients are compared in
    standardized units (times each column's spread), where the bound holds; the intercept
    ``mean_y - mean_x @ coef`` within the same relative bound of the sizes of its terms.
    """
    X = np.asarray(X, dtype=np.float64)
    condition = standardized_condition(X, sample_weight)
    bound = fits * rounding_bound(condition**2, factor=10, n_terms=len(X))
    bound += certified * np.sqrt(X.shape[1])
    spread = X.std(axis=0)
    standardized = np.asarray(ref_coef) * spread
    assert relative_error(np.asarray(coef) * spread, standardized) <= bound
    # intercept = centred intercept - mean_x @ coef: each slope's error (at most bound x the
    # largest standardized coefficient, divided by its spread) is multiplied by its mean.
    mean = X.mean(axis=0)
    centred = abs(ref_intercept + mean @ np.asarray(ref_coef))
    slopes = np.abs(mean / np.where(spread > 0, spread, 1.0)).sum() * np.abs(standardized).max()
    size = abs(ref_intercept) + np.abs(mean) @ np.abs(ref_coef) + centred + slopes
    assert abs(intercept - ref_intercept) <= bound * size


def fit_rounding_bounds(X, ref_coef, ref_intercept, sample_weight=None, fits=1,
                        certified=0.0, fit_intercept=True):
    """Entrywise absolute bounds ``(coef, intercept)`` of ``assert_fit_within_rounding``: the
    same bound, for quantities computed from the coefficients (t values, intervals). Without
    an intercept the columns are not centred (spreads about zero)."""
    X = np.asarray(X, dtype=np.float64)
    condition = standardized_condition(X, sample_weight, fit_intercept)
    bound = fits * rounding_bound(condition**2, factor=10, n_terms=len(X))
    bound += float(np.sum(certified)) * np.sqrt(X.shape[1])
    mean = X.mean(axis=0) if fit_intercept else np.zeros(X.shape[1])
    spread = np.sqrt(np.mean((X - mean) ** 2, axis=0))
    standardized = np.abs(np.asarray(ref_coef) * spread).max()
    centred = abs(ref_intercept + mean @ np.asarray(ref_coef))
    slopes = np.abs(mean / np.where(spread > 0, spread, 1.0)).sum() * standardized
    size = abs(ref_intercept) + np.abs(mean) @ np.abs(ref_coef) + centred + slopes
    return bound * standardized / np.where(spread > 0, spread, 1.0), bound * size


def loss_pinned_bound(X, sample_weight, loss: float, factor: float = 10) -> float:
    """How far (in standardized units) coefficients may be from the optimum when a fit stops
    at the precision of its loss rather than on an exact solve (penalised fits).

    A loss ``f`` known to a relative ``g = rounding_bound(1, factor, n)`` (a sum of n positive
    terms) pins the coefficients only to ``f - f* <= g f``, that is
    ``|delta|_2 <= sqrt(2 g f / lambda_min)``, ``lambda_min`` the smallest eigenvalue of the
    standardized Hessian (the weighted correlation matrix, from the SVD of the design).
    """
    A = _centred_scaled(X, np.zeros(len(X)), sample_weight, True)[0]
    lambda_min = np.linalg.svd(A, compute_uv=False)[-1] ** 2
    gap = rounding_bound(1.0, factor, n_terms=len(X))
    return float(np.sqrt(2 * gap * loss / lambda_min))


def _centred_scaled(X, y, sample_weight, fit_intercept):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    x_mean, y_mean = np.zeros(X.shape[1]), 0.0
    if fit_intercept:
        for _ in range(2):  # two passes: the second corrects the first's rounding
            x_mean = x_mean + w @ (X - x_mean) / w.sum()
            y_mean = y_mean + float(w @ (y - y_mean)) / w.sum()
    root = np.sqrt(w)
    A = (X - x_mean) * root[:, None]
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    return A / scale, (y - y_mean) * root, x_mean, y_mean, scale


def relative_error(actual, expected) -> float:
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    return float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def client():
    """A Dask cluster for the whole run: one worker of two threads in this process, reached over
    tcp on 127.0.0.1 (so the command line's --scheduler can use it). Modules that need worker
    processes (tests/test_dask.py, tests/test_inference.py) start their own."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
            host="127.0.0.1", dashboard_address=None,
        )
        with cluster, distributed.Client(cluster) as connected:
            yield connected


@contextlib.contextmanager
def file_size_limit(nbytes):
    """RLIMIT_FSIZE for this process: Python ignores SIGXFSZ, so a write beyond it fails with
    EFBIG, as on a file-size limit set by ``ulimit -f``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@pytest.fixture(scope="session")
def process_client():
    """A Dask cluster of two worker processes on 127.0.0.1, for the tests that must cross a
    process boundary (pickling, data living on other workers)."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        )
        with cluster, distributed.Client(cluster) as connected:
            yield connected


def mp_elastic_net(X, y, alpha, l1_ratio, fit_intercept):
    """The unique minimiser of scikit-learn's elastic-net objective at 50 digits: the signs
    (+, -, 0) of every coefficient are tried, and the one whose solution satisfies the
    optimality conditions at 50 digits is kept (a strictly convex problem has one)."""
    import mpmath

    with mpmath.workdps(50):
        n, d = X.shape
        rows = [[mpmath.mpf(float(v)) for v in row] for row in X]
        target = [mpmath.mpf(float(v)) for v in y]
        mean_x = [mpmath.fsum(row[j] for row in rows) / n if fit_intercept else 0
                  for j in range(d)]
        mean_y = mpmath.fsum(target) / n if fit_intercept else 0
        z = [[row[j] - mean_x[j] for j in range(d)] for row in rows]
        gram = [[mpmath.fsum(r[a] * r[b] for r in z) / n for b in range(d)] for a in range(d)]
        rhs = [mpmath.fsum(r[a] * (t - mean_y) for r, t in zip(z, target, strict=True)) / n
               for a in range(d)]
        l1 = mpmath.mpf(float(alpha)) * mpmath.mpf(float(l1_ratio))
        l2 = mpmath.mpf(float(alpha)) * (1 - mpmath.mpf(float(l1_ratio)))
        for signs in itertools.product((1, -1, 0), repeat=d):
            active = [j for j in range(d) if signs[j]]
            w = [mpmath.mpf(0)] * d
            if active:
                system = mpmath.matrix([[gram[a][b] + (l2 if a == b else 0) for b in active]
                                        for a in active])
                solved = mpmath.lu_solve(
                    system, mpmath.matrix([rhs[a] - l1 * signs[a] for a in active]))
                for k, j in enumerate(active):
                    w[j] = solved[k]
            if any(mpmath.sign(w[j]) != signs[j] for j in active):
                continue
            slack = [rhs[j] - mpmath.fsum(gram[j][k] * w[k] for k in range(d)) for j in range(d)]
            if all(abs(slack[j]) <= l1 for j in range(d) if not signs[j]):
                return np.array([float(v) for v in w])
    raise AssertionError("no sign pattern satisfies the optimality conditions")

"""The statistics pass against a more accurate reference on inputs that defeat its origin guess.

The pass shifts each column by a point guessed from the first rows, then corrects by the mean
it finds. The rounding error of the centred cross-products then grows with the distance of the
guess from the weighted mean, in units of the spread: by ``1 + (mean - origin)^2 / var``. When
the guess is the mean of rows holding a fraction ``p`` of the weight, that distance is at most
``(1 - p) / p``; unweighted, ``p >= 1024 / n`` and the growth stays below ``n / 1024``, within
``rounding_bound(1, factor, n)``. Rows of little or no weight at the head must not be the guess.
"""

import warnings

import numpy as np
import pytest

from conftest import rounding_bound
from gradreg import GDRegressor
from gradreg.stats import _origin, stats_from_arrays, stats_from_batches


def _reference(X, y, w=None):
    """Weighted means and centred cross-products in extended precision, by two-pass centring.

    """
    A = np.c_[np.asarray(X, dtype=np.longdouble), np.asarray(y, dtype=np.longdouble)]
    w = np.ones(len(A), np.longdouble) if w is None else np.asarray(w, np.longdouble)
    mean = (w @ A) / w.sum()
    mean = mean + (w @ (A - mean)) / w.sum()
    centred = A - mean
    return mean, (centred * w[:, None]).T @ centred


def _worst_relative(cross, reference):
    """Largest entry error relative to the geometric mean of the diagonal entries it couples."""
    diagonal = np.abs(np.diag(reference)).astype(float)
    scale = np.sqrt(np.outer(diagonal, diagonal))
    return float(np.max(np.abs(cross - reference).astype(float) / scale))


def _drifting(n, seed, step=1e8, head=1024):
    """Centred columns in the first ``head`` rows, then the first column far off (spread 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[head:, 0] += step
    y = X[:, 1] - X[:, 2] + rng.normal(size=n)
    return X, y


def test_an_unweighted_drift_after_the_head_stays_within_the_rounding_bound():
    """The worst unweighted case: a step right after the head. The growth is below n / 1024."""
    n = 8192
    X, y = _drifting(n, 0)
    stats = stats_from_arrays(X, y, threads=1)
    _, reference = _reference(X, y)
    assert _worst_relative(stats.cross, reference) <= rounding_bound(1.0, 4, n)


@pytest.mark.parametrize("head_weight", [0.0, 1e-12])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_light_head_does_not_choose_the_origin(head_weight, threads):
    """Rows of no (or negligible) weight at the head say nothing of the weighted mean."""
    n = 8192
    X, y = _drifting(n, 1)
    w = np.ones(n)
    w[:1024] = head_weight
    stats = stats_from_arrays(X, y, w, threads=threads)
    _, reference = _reference(X, y, w)
    assert _worst_relative(stats.cross, reference) <= rounding_bound(1.0, 4, n)


@pytest.mark.parametrize("head_weight", [0.0, 1e-12])
def test_a_light_first_batch_does_not_choose_the_origin_of_a_stream(head_weight):
    n = 8192
    X, y = _drifting(n, 2)
    w = np.ones(n)
    w[:1024] = head_weight
    batches = [(X[i:i + 1024], y[i:i + 1024], w[i:i + 1024]) for i in range(0, n, 1024)]
    stats = stats_from_batches(batches, 3)
    _, reference = _reference(X, y, w)
    assert _worst_relative(stats.cross, reference) <= rounding_bound(1.0, 4, n)


def test_a_fit_with_a_weightless_head_matches_the_weighted_reference():
    """The coefficients of the drifting column survive: fit within the certified bound."""
    n = 4096
    rng = np.random.default_rng(3)
    X, _ = _drifting(n, 3)
    y = 2.0 * X[:, 0] + X[:, 1] + rng.normal(size=n)
    w = np.ones(n)
    w[:1024] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no column may look constant, the fit must converge
        model = GDRegressor(max_iter=2000).fit(X, y, sample_weight=w)
    keep = w > 0
    reference = np.linalg.lstsq(np.c_[X[keep] - X[keep].mean(axis=0), np.ones(keep.sum())],
                                y[keep] - y[keep].mean(), rcond=None)[0][:3]
    spread = X[keep].std(axis=0)
    error = np.max(np.abs((model.coef_ - reference) * spread))
    # Condition of the kept design is about 1 (independent normal columns): the bound of a
    # fit from cross-products plus the distance the descent certifies.
    allowed = rounding_bound(1.0, 10, n) + model.coef_error_bound_ * np.sqrt(3)
    assert error <= allowed * np.max(np.abs(reference * spread))


@pytest.mark.parametrize(("dtype", "base"), [(np.uint64, 2**64 - 4096), (np.uint64, 2**63),
                                             (np.int64, 2**62), (np.int64, -(2**63) + 2048)])
def test_64_bit_integers_far_from_zero_are_shifted_exactly(dtype, base):
    """Integers beyond 2^53 lose their low digits in float64 unless shifted before the cast;
    their differences from an origin near the mean are exact in the integer type. Reference:
    the same rows less ``base`` (exact in Python integers), which have the same cross-products."""
    rng = np.random.default_rng(4)
    n = 3000
    offsets = rng.integers(0, 1024, size=(n, 2))
    X = np.array([[base + v for v in row] for row in offsets.tolist()], dtype=dtype)
    y = offsets @ [1.0, -1.0] + rng.normal(size=n)
    stats = stats_from_arrays(X, y, threads=1)
    _, reference = _reference(offsets, y)
    assert _worst_relative(stats.cross, reference) <= rounding_bound(1.0, 4, n)


def test_64_bit_integers_on_both_sides_of_the_origin_far_beyond_2_63():
    """Differences of 2^63 or more wrap in 64-bit arithmetic; they must come out right."""
    X = np.array([[2**62], [2**62 + 2], [2**62 + 4]] * 400 + [[-(2**63)], [2**63 - 1]],
                 dtype=np.int64)
    y = np.zeros(len(X))
    stats = stats_from_arrays(X, y, threads=1)
    exact = np.array([float(v) for v in X[:, 0].tolist()])
    _, reference = _reference(exact[:, None], y)
    assert _worst_relative(stats.cross[:1, :1], reference[:1, :1]) <= rounding_bound(1.0, 4, len(X))


def test_the_origin_of_integers_near_the_top_of_their_range_is_in_range():
    X = np.full((10, 1), np.iinfo(np.uint64).max, dtype=np.uint64)
    X[::2] -= np.uint64(100)
    origin = _origin(X, np.zeros(10))
    assert 2.0**63 < origin[0] < 2.0**64


@pytest.mark.parametrize("threads", [2, 3])
def test_parts_of_offset_columns_merge_without_losing_the_spread(threads):
    """Threads share one origin: merged around it, a 1e12 offset costs no digits; merged as
    absolute means (each known to eps x 1e12 only), the spread lost about 1e-11 x n."""
    rng = np.random.default_rng(5)
    n = 6000
    X = rng.normal(size=(n, 2))
    X[:, 0] += 1e12
    y = X[:, 1] + rng.normal(size=n) + 1e6
    stats = stats_from_arrays(X, y, threads=threads)
    _, reference = _reference(X, y)
    assert _worst_relative(stats.cross, reference) <= rounding_bound(1.0, 4, n)


def test_groups_of_a_stream_merge_around_their_origin(monkeypatch):
    import gradreg.stats as stats_module

    monkeypatch.setattr(stats_module, "_GROUP_ROWS", 700)
    rng = np.random.default_rng(6)
    n = 5000
    X = rng.normal(size=(n, 2)) + [1e12, -3e11]
    y = rng.normal(size=n)
    batches = [(X[i:i + 500], y[i:i + 500], None) for i in range(0, n, 500)]
    for stats in (stats_from_batches(batches, 2), stats_from_arrays(X, y, threads=1)):
        _, reference = _reference(X, y)
        assert _worst_relative(stats.cross, reference) <= rounding_bound(1.0, 4, n)


def test_dask_partitions_of_offset_columns_merge_without_losing_the_spread():
    """Each partition has its own origin; merged as absolute means (known to eps x 1e12 only),
    the spread lost about 1e-10 of itself."""
    da = pytest.importorskip("dask.array")
    from gradreg.sources.dask import DaskSource

    rng = np.random.default_rng(7)
    n = 6000
    X = rng.normal(size=(n, 2)) + [1e12, 0.0]
    y = X[:, 1] + rng.normal(size=n) + 1e6
    w = rng.uniform(0.0, 2.0, size=n)
    w[:500] = 0.0  # the first partition weighs nothing: its origin says nothing
    source = DaskSource(da.from_array(X, chunks=(500, 2)), da.from_array(y, chunks=500),
                        da.from_array(w, chunks=500))
    stats = source.stats()
    _, reference = _reference(X, y, w)
    assert _worst_relative(stats.cross, reference) <= rounding_bound(1.0, 4, n)


def test_constant_means_rounding_not_a_small_relative_spread():
    """Values of 1e12 spread by 1 (8000 ulps) vary; a constant column at 1e12 + 0.5 (whose
    head mean may round away from it) is constant; one value an ulp off in 1000 rows varies."""
    from gradreg.objective import Preconditioner

    rng = np.random.default_rng(0)
    n = 100_000
    X = np.c_[rng.normal(size=n) + 1e12, np.full(n, 1e12 + 0.5), np.full(n, 3.0)]
    X[500, 2] = np.nextafter(3.0, 4.0)
    y = X[:, 0] - 1e12 + rng.normal(size=n)
    stats = stats_from_arrays(X, y)
    constant = Preconditioner.from_stats(stats, fit_intercept=True).constant
    assert constant.tolist() == [False, True, False]


def test_a_large_offset_with_unit_spread_is_fitted_not_zeroed():
    """Columns at 1e12 with unit spread were called constant (spread below 1e-12 of the mean)
    and every coefficient came back 0; they are the least-squares slopes."""
    rng = np.random.default_rng(1)
    n = 500
    X = rng.normal(size=(n, 3)) + 1e12
    y = (X - 1e12) @ [1.0, 2.0, 3.0] + rng.normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the raw intercept near -6e12 cannot meet tol
        model = GDRegressor().fit(X, y)
    centred = X - X.mean(axis=0)  # differences of 1e12-sized values: exact (Sterbenz)
    reference = np.linalg.lstsq(centred, y - y.mean(), rcond=None)[0]
    D = centred.std(axis=0)
    error = np.linalg.norm(D * (model.coef_ - reference)) / np.linalg.norm(D * reference)
    # The certificate covers the raw intercept too (near -6e12, its rounding alone is some
    # 1e-3 of the target's spread), so the fit stops there; the slopes are within it.
    assert error <= model.coef_error_bound_ < 0.1

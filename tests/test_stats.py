"""Sufficient statistics: exact merging, precision and memory behaviour."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_within, cross_bound, rounding_bound, sum_bound
from gradreg.stats import (
    SufficientStats,
    moments_from_batches,
    stats_from_arrays,
    stats_from_batches,
)


def direct_stats(X, y, w=None):
    A = np.c_[X, y].astype(np.float64)
    w = np.ones(len(y)) if w is None else w
    mean = (w @ A) / w.sum()
    centred = A - mean
    return mean, centred.T @ (centred * w[:, None])


# Two routes to the same statistics (or a route and the direct formula above), each rounding
# every term a few times (shift, product, sum, merge): 2 x 4 roundings per term.
ROUTES = 8


def mean_bound(X, y, factor=2 * ROUTES):
    """Rounding of column means computed from values shifted by a point near the mean, then
    shifted back: a sum of the shifted values (each at most twice the mean spread from the
    origin: the factor's 2) and one rounding of the mean itself."""
    A = np.c_[X, y].astype(np.float64)
    mean = A.mean(axis=0)
    return sum_bound(A - mean, factor, axis=0) / len(A) + rounding_bound(1.0, factor) * np.abs(mean)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 60),
    d=st.integers(1, 5),
    cuts=st.lists(st.integers(1, 59), max_size=5),
    seed=st.integers(0, 2**31),
)
def test_any_split_merges_to_the_same_statistics(n, d, cuts, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 10 + 3
    y = rng.normal(size=n)
    bounds = sorted({c for c in cuts if c < n})
    pieces = np.split(np.arange(n), bounds)
    merged = SufficientStats.empty(d)
    for rows in pieces:
        merged = merged + stats_from_arrays(X[rows], y[rows])
    whole = stats_from_arrays(X, y)
    mean, cross = direct_stats(X, y)
    assert merged.n_rows == n and merged.weight_sum == n
    assert_within(merged.mean, whole.mean, mean_bound(X, y))
    assert_within(merged.cross, whole.cross, cross_bound(cross, n, ROUTES))
    assert_within(whole.cross, cross, cross_bound(cross, n, ROUTES))
    assert_within(whole.mean, mean, mean_bound(X, y))


def test_merging_is_associative():
    rng = np.random.default_rng(0)
    rows = [(rng.normal(size=(k, 3)), rng.normal(size=k)) for k in (5, 9, 14)]
    parts = [stats_from_arrays(X, y) for X, y in rows]
    left = (parts[0] + parts[1]) + parts[2]
    right = parts[0] + (parts[1] + parts[2])
    X, y = np.concatenate([X for X, _ in rows]), np.concatenate([y for _, y in rows])
    _, cross = direct_stats(X, y)
    assert_within(left.cross, right.cross, cross_bound(cross, len(y), ROUTES))
    assert_within(left.mean, right.mean, mean_bound(X, y))


def test_weights_equal_repetition():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    w = rng.integers(0, 3, size=30)
    weighted = stats_from_arrays(X, y, w.astype(float))
    repeated = stats_from_arrays(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert weighted.weight_sum == repeated.weight_sum
    # The repeated rows are the longer sum: its row count bounds both routes' rounding.
    _, cross = direct_stats(X, y, w.astype(float))
    bound = cross_bound(cross, max(len(y), int(w.sum())), ROUTES)
    assert_within(weighted.cross, repeated.cross, bound)


def test_precise_when_means_dwarf_the_spread():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100_000, 2)) + 1e9
    y = rng.normal(size=100_000)
    stats = stats_from_arrays(X, y, chunk_rows=1000)
    # X - 1e9 is exact (Sterbenz), so the reference sums values of the size of the spread.
    exact = np.cov(np.c_[X - 1e9, y].T, bias=True) * len(y)
    assert_within(stats.cross, exact, cross_bound(exact, len(y), ROUTES))


def test_float32_input_accumulates_in_float64():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 3)).astype(np.float32)
    y = rng.normal(size=5000).astype(np.float32)
    stats = stats_from_arrays(X, y, chunk_rows=512)
    assert stats.cross.dtype == np.float64
    _, cross = direct_stats(X.astype(np.float64), y.astype(np.float64))
    assert_within(stats.cross, cross, cross_bound(cross, len(y), ROUTES))


@pytest.mark.parametrize("d", [3, 40])  # both routes of the conversion: few and many columns
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_other_dtypes_equal_their_float64_values(d, dtype, order):
    """Any input type gives the statistics of its exact values, with a large offset too."""
    rng = np.random.default_rng(6)
    X = np.asarray(rng.normal(size=(3001, d)) * 100 + 5e4, dtype=dtype, order=order)
    y = rng.normal(size=3001)
    stats = stats_from_arrays(X, y, chunk_rows=700)
    as_float64 = stats_from_arrays(X.astype(np.float64), y, chunk_rows=700)
    assert_within(stats.mean, as_float64.mean, mean_bound(X, y))
    # Rounding differs with the origin (rounded to the input's type or not): each within the
    # rounding of its sums of 3001 rows, on the sizes the diagonal gives.
    _, cross = direct_stats(X.astype(np.float64), y)
    assert_within(stats.cross, as_float64.cross, cross_bound(cross, len(y), ROUTES))
    assert_within(stats.cross, cross, cross_bound(cross, len(y), ROUTES))


def test_batches_and_arrays_agree_and_moments_match_the_diagonal():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(1000, 4)), rng.normal(size=1000)
    batches = [(X[i : i + 77], y[i : i + 77], None) for i in range(0, 1000, 77)]
    from_batches = stats_from_batches(batches, 4)
    _, cross = direct_stats(X, y)
    bound = cross_bound(cross, len(y), ROUTES)
    assert_within(from_batches.cross, stats_from_arrays(X, y).cross, bound)
    moments = moments_from_batches(batches, 4)
    assert_within(moments.squares, np.diag(from_batches.cross), np.diag(bound))
    assert_within(moments.mean, from_batches.mean, mean_bound(X, y))


def test_round_trip_through_a_dict():
    rng = np.random.default_rng(5)
    stats = stats_from_arrays(rng.normal(size=(10, 2)), rng.normal(size=10))
    again = SufficientStats.from_dict(stats.to_dict())
    np.testing.assert_array_equal(again.cross, stats.cross)
    assert again.n_rows == stats.n_rows


def test_merging_different_widths_is_refused():
    a = SufficientStats.empty(2)
    b = SufficientStats.empty(3)
    with pytest.raises(ValueError, match="Cannot merge statistics of 2 and 3 features"):
        _ = a + stats_from_arrays(np.ones((2, 3)), np.ones(2)) + b


def test_threaded_pass_equals_one_thread_for_wide_data():
    """30,000 rows x 100 features is split between threads (it is wide enough to gain)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30_000, 100)) * np.logspace(0, 3, 100) + 50.0
    y = rng.normal(size=30_000)
    threaded = stats_from_arrays(X, y)
    single = stats_from_arrays(X, y, threads=1)
    _, cross = direct_stats(X, y)
    assert_within(threaded.cross, single.cross, cross_bound(cross, len(y), ROUTES))
    assert_within(threaded.mean, single.mean, mean_bound(X, y))


def test_a_fit_leaves_the_blas_thread_count_as_it_was():
    from threadpoolctl import threadpool_info

    from gradreg import GDRegressor

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas_threads()
    rng = np.random.default_rng(8)
    GDRegressor().fit(rng.normal(size=(300_000, 3)), rng.normal(size=300_000))
    assert blas_threads() == before


def test_reused_buffers_do_not_carry_over_between_passes():
    """Each thread keeps its chunk buffers: later passes of other shapes must not see old rows."""
    rng = np.random.default_rng(9)
    for n, d in [(5000, 3), (700, 8), (5000, 1), (40, 3)]:
        X = rng.normal(size=(n, d)) * 7 + 2
        y = rng.normal(size=n)
        _, cross = direct_stats(X, y)
        stats = stats_from_arrays(X, y, chunk_rows=512)
        assert_within(stats.cross, cross, cross_bound(cross, n, ROUTES))


def test_chunks_follow_the_reported_cache():
    from gradreg._chunks import _chunk_bytes, _level2_cache_bytes, chunk_rows_for

    assert _level2_cache_bytes() >= 0
    assert _chunk_bytes(0) == 1 << 20  # nothing reported: 1 MB
    assert _chunk_bytes(512 << 10) == 512 << 10
    assert _chunk_bytes(32 << 10) == 256 << 10  # too small for the fixed cost of a chunk
    assert _chunk_bytes(64 << 20) == 4 << 20
    assert chunk_rows_for(10_000) == 256  # at least a few hundred rows per chunk


def test_the_cache_size_is_read_from_sysfs_without_sysconf(monkeypatch):
    import os
    from pathlib import Path

    from gradreg._chunks import _level2_cache_bytes

    def no_sysconf(name):
        raise ValueError(name)

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    folder = Path("/sys/devices/system/cpu/cpu0/cache")
    level2 = [index for index in folder.glob("index*")
              if (index / "level").read_text().strip() == "2"] if folder.is_dir() else []
    if level2:
        text = (level2[0] / "size").read_text().strip()
        units = {"K": 1024, "M": 1024**2}
        expected = int(text.rstrip("KM")) * units.get(text[-1], 1)
        assert _level2_cache_bytes() == expected
    else:
        assert _level2_cache_bytes() == 0

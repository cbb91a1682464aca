"""The statistics pass reads centred float64 columns in place and shifts the others."""

import numpy as np
import pytest

from conftest import rounding_bound
from gradreg.stats import _origin, stats_from_arrays


def _exact_cross(X, y):
    """Centred cross-products by two-pass centring in float64 (an independent computation)."""
    A = np.c_[X, y]
    centred = A - A.mean(axis=0)
    return centred.T @ centred


def test_the_origin_shifts_offset_columns_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    X[:, 1] += 50.0
    y = rng.normal(size=2000) + 7.0
    origin = _origin(X, y)
    assert origin[0] == 0.0 and origin[2] == 0.0
    assert origin[1] == pytest.approx(50.0, abs=0.2)  # the head mean: 1024 rows, spread 1
    assert origin[3] == pytest.approx(7.0, abs=0.2)


@pytest.mark.parametrize("offset", [0.0, 0.1, 1e6])
def test_reading_in_place_equals_the_shifted_copy(offset):
    """C-ordered float64 (read in place where centred) and Fortran-ordered (always copied)
    give the same statistics to the rounding of a sum over the rows."""
    rng = np.random.default_rng(1)
    n = 30_000
    X = rng.normal(size=(n, 4)) + offset
    y = X @ [1.0, -2.0, 0.5, 3.0] + rng.normal(size=n)
    in_place = stats_from_arrays(X, y, chunk_rows=4096, threads=1)
    copied = stats_from_arrays(np.asfortranarray(X), y, chunk_rows=4096, threads=1)
    exact = _exact_cross(X, y)
    scale = np.sqrt(np.outer(np.diag(exact), np.diag(exact)))
    # Each entry is a sum of n products, shifted by an origin within 1/8 of the spread from
    # the mean (growth (1 + 1/8)^2 < 2), then corrected by a rank-one term: factor 4.
    bound = rounding_bound(1.0, 4, n)
    for stats in (in_place, copied):
        assert np.all(np.abs(stats.cross - exact) <= bound * scale)
    np.testing.assert_allclose(in_place.mean, copied.mean, rtol=0,
                               atol=rounding_bound(1.0, 4, n) * (abs(offset) + 5))


def test_parts_run_on_kept_threads_nested_and_after_a_fork():
    """Threads are kept between passes; a part asking for parts runs them itself (no thread
    waits for one its caller holds); a forked child, which has no threads, starts its own."""
    import os
    import threading

    from gradreg import _chunks
    from gradreg._chunks import map_parts

    names = map_parts(lambda i: threading.current_thread().name, 2)
    pool = _chunks._POOL
    again = map_parts(lambda i: threading.current_thread().name, 2)
    assert all(name.startswith("gradreg") for name in names + again)
    assert _chunks._POOL is pool  # the same threads, not new ones
    nested = map_parts(lambda i: map_parts(lambda j: (i, j), 3), 2)
    assert nested == [[(0, 0), (0, 1), (0, 2)], [(1, 0), (1, 1), (1, 2)]]
    if not hasattr(os, "fork"):
        return
    pid = os.fork()
    if pid == 0:  # the child: a pass on threads of its own, then out without cleanup
        ok = map_parts(lambda i: i * i, 3) == [0, 1, 4]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

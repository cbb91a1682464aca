"""The compiled statistics pass for few columns: exact where float64 is exact, within its
stated rounding bound otherwise, and taken only where it is meant to be."""

import numpy as np
import pytest

import gradreg
from conftest import assert_within, cross_bound, relative_error, rounding_bound, sum_bound
from gradreg import GDRegressor, stats
from gradreg._cross_kernel import BLOCK_ROWS, shifted_cross_products
from gradreg.stats import _compiled_route, stats_from_arrays, stats_from_batches

# Row counts that end mid-way through a group of eight and through a block.
ROWS = [stats._COMPILED_MIN_ROWS + 13, 2 * BLOCK_ROWS + 1, 3 * BLOCK_ROWS + 8]


def _integer_rows(n, d, seed, weighted):
    """Integer values (|x| <= 1000, an integer offset) and small integer weights (zeros
    included): every product and sum of the pass is an integer below 2^53, exact in float64."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-1000, 1001, size=(n, d)) + rng.integers(-10**6, 10**6, size=d)
    y = rng.integers(-1000, 1001, size=n) + 12345
    w = rng.integers(0, 4, size=n) if weighted else None
    return X, y, w


def _exact(X, y, w, origin):
    """Weight sum, sums and cross-products in Python integers (exact)."""
    Z = np.c_[X, y].astype(object) - np.array([int(o) for o in origin], dtype=object)
    weights = np.ones(len(y), dtype=object) if w is None else w.astype(object)
    weighted = Z * weights[:, None]
    return int(weights.sum()), weighted.sum(axis=0), weighted.T @ Z


@pytest.mark.parametrize("d", [1, 2, 7, 23, 63])
@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_exact_where_float64_is_exact(d, n, dtype, weighted):
    X, y, w = _integer_rows(n, d, seed=d + n, weighted=weighted)
    origin = np.append(X[0], y[0]).astype(np.float64)
    weight, sums, cross = shifted_cross_products(
        np.ascontiguousarray(X, dtype), y.astype(np.float64),
        None if w is None else w.astype(np.float64), origin)
    exact_weight, exact_sums, exact_cross = _exact(X, y, w, origin)
    assert weight == exact_weight
    assert sums.tolist() == [float(s) for s in exact_sums]
    assert cross.tolist() == [[float(v) for v in row] for row in exact_cross]


def _longdouble_reference(Z, w):
    """Sums and cross-products of the float64 rows ``Z`` in extended precision."""
    Zl = Z.astype(np.longdouble)
    weighted = Zl * w.astype(np.longdouble)[:, None]
    return weighted.sum(axis=0), weighted.T @ Zl


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18,
                    reason="needs an extended-precision long double for its reference")
@pytest.mark.parametrize("d", [1, 5, 23, 63])
@pytest.mark.parametrize("weighted", [False, True])
def test_rounding_within_the_stated_bound(d, weighted):
    """Products of random reals: within ``(additions + 1) eps sum |terms|``, with the number
    of additions in any one sum that the module states."""
    rng = np.random.default_rng(d)
    n = 3 * BLOCK_ROWS + 5
    X = rng.normal(size=(n, d)) * np.logspace(-3, 3, d) + 1e6
    y = rng.normal(size=n) - 3e5
    w = rng.uniform(0, 5, size=n) if weighted else np.ones(n)
    origin = np.append(X[0], y[0])
    Z = np.c_[X, y] - origin  # the shifted rows, each difference rounded once, as the kernel
    weight, sums, cross = shifted_cross_products(X, y, w if weighted else None, origin)
    ref_sums, ref_cross = _longdouble_reference(Z, w)
    within_block = 8 + BLOCK_ROWS // 8
    additions = within_block + -(-n // BLOCK_ROWS)
    assert_within(weight, w.sum(), sum_bound(w, factor=additions / n))
    assert_within(sums, ref_sums.astype(np.float64),
                  sum_bound(Z * w[:, None], factor=(additions + 1) / n, axis=0))
    bound = cross_bound((Z * w[:, None]).T @ Z, n_terms=additions + 1)
    assert_within(cross, ref_cross.astype(np.float64), bound)


def test_the_pass_takes_the_compiled_route_and_agrees_with_the_blas_route(monkeypatch):
    """The same statistics through both routes, to the rounding of a sum over the rows."""
    rng = np.random.default_rng(3)
    n, d = 50_000, 9
    X = rng.normal(size=(n, d)) * 3 + 40.0
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    calls = []
    original = stats._ShiftedSums._add_compiled

    def counted(self, *args):
        calls.append(len(args[0]))
        return original(self, *args)

    monkeypatch.setattr(stats._ShiftedSums, "_add_compiled", counted)
    compiled = stats_from_arrays(X, y, w, threads=2)
    assert sum(calls) == n  # every row went through the compiled pass
    monkeypatch.setattr(stats, "_COMPILED_MIN_ROWS", n + 1)
    blas = stats_from_arrays(X, y, w, threads=2)
    assert sum(calls) == n  # and none the second time
    assert compiled.weight_sum == pytest.approx(blas.weight_sum, rel=rounding_bound(1, 2, n))
    assert_within(compiled.mean, blas.mean,
                  rounding_bound(1, 2, n) * (np.abs(blas.mean) + np.sqrt(np.diag(blas.cross)
                                                                         / blas.weight_sum)))
    assert_within(compiled.cross, blas.cross, cross_bound(blas.cross, n_terms=n, factor=4))


def test_batches_of_a_stream_take_the_compiled_route_exactly():
    """Files are read in batches: the compiled pass gives their exact statistics too."""
    X, y, w = _integer_rows(3 * BLOCK_ROWS + 3, 4, seed=7, weighted=True)
    X, y, w = (a.astype(np.float64) for a in (X, y, w))
    batches = [(X[a:b], y[a:b], w[a:b]) for a, b in
               [(0, 5000), (5000, 5000), (5000, len(y))]]
    streamed = stats_from_batches(iter(batches), 4)
    mean = np.append(X.T @ w, y @ w) / w.sum()
    exact_weight, _, _ = _exact(X.astype(np.int64), y.astype(np.int64),
                                w.astype(np.int64), np.zeros(5))
    assert streamed.weight_sum == exact_weight
    Z = np.c_[X, y] - mean
    centred = (Z * w[:, None]).T @ Z  # two-pass centring: an independent computation
    assert_within(streamed.cross, centred, cross_bound(centred, n_terms=len(y), factor=4))


@pytest.mark.parametrize(("X", "y", "w", "taken"), [
    (np.zeros((5000, 3)), np.zeros(5000), None, True),
    (np.zeros((5000, 3), np.float32), np.zeros(5000), np.ones(5000), True),
    (np.zeros((5000, 63)), np.zeros(5000), None, True),
    (np.zeros((5000, 64)), np.zeros(5000), None, False),  # the BLAS products are faster
    (np.zeros((100, 3)), np.zeros(100), None, False),  # small: no compilation waited for
    (np.zeros((5000, 3), np.int64), np.zeros(5000), None, False),  # other types: shifted copy
    (np.zeros((5000, 3), order="F"), np.zeros(5000), None, False),
    (np.zeros((5000, 3)), np.zeros(5000, np.float32), None, False),
    (np.zeros((5000, 3)), np.zeros(5000), np.ones(10000)[::2], False),
])
def test_which_rows_take_the_compiled_route(X, y, w, taken):
    assert _compiled_route(X, y, w) is taken


def test_rows_read_from_a_file_take_the_compiled_route(tmp_path, monkeypatch):
    """A file's batches arrive as contiguous X and y, which the compiled pass reads in place;
    the fit equals that of the same rows in memory, within the certified bounds."""
    rng = np.random.default_rng(11)
    n, d = 3 * BLOCK_ROWS + 17, 5
    X = rng.normal(size=(n, d)) * 2.0 + 7.0
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    path = tmp_path / "rows.csv"
    header = ",".join([f"x{j}" for j in range(d)] + ["y"])
    np.savetxt(path, np.c_[X, y], delimiter=",", header=header, comments="", fmt="%.17g")
    batches, compiled = [], []
    add, add_compiled = stats._ShiftedSums.add, stats._ShiftedSums._add_compiled

    def counted_add(self, X, y, w):
        batches.append(len(y))
        return add(self, X, y, w)

    def counted_compiled(self, X, y, w):
        compiled.append(len(y))
        return add_compiled(self, X, y, w)

    monkeypatch.setattr(stats._ShiftedSums, "add", counted_add)
    monkeypatch.setattr(stats._ShiftedSums, "_add_compiled", counted_compiled)
    from_file = GDRegressor().fit(gradreg.scan(path, target="y"))
    # Every batch long enough for the compiled pass took it (shorter ones take BLAS).
    long_batches = [m for m in batches if m >= stats._COMPILED_MIN_ROWS]
    assert long_batches and compiled[: len(long_batches)] == long_batches
    in_memory = GDRegressor().fit(X, y)
    spread = X.std(axis=0)
    bound = from_file.coef_error_bound_ + in_memory.coef_error_bound_
    assert relative_error(from_file.coef_ * spread, in_memory.coef_ * spread) <= bound

"""Sufficient statistics of least squares, gathered in one pass and merged exactly.

For ``y ~ X w + b`` the whole objective, its gradient and its exact optimum depend on the data
only through the weight sum, the column means and the centred cross-products of ``[X, y]``.
:class:`SufficientStats` holds those, in float64 whatever the input dtype. Rows are read in
cache-sized chunks and shifted by a point near the mean before their cross-products are formed
(so the products are of the size of the spread, not of the mean); groups of about a million
rows, parts handled by different threads, files and workers are then merged exactly
(:mod:`gradreg._summaries`, the pairwise update of Chan, Golub and LeVeque, 1979), which keeps
full precision when the means are large compared with the spread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from ._chunks import (
    _MAX_THREADS,
    _SCRATCH,
    _ones,
    _Shift,
    _spans,
    chunk_rows_for,
    map_parts,
    one_blas_thread,
)
from ._summaries import (
    ColumnMoments,
    SufficientStats,
    merge,
    merge_shifted,
    shifted_back,
)

__all__ = [
    "ColumnMoments",
    "SufficientStats",
    "merge",
    "merge_shifted",
    "moments_from_batches",
    "shifted_back",
    "shifted_stats_from_arrays",
    "stats_from_arrays",
    "stats_from_batches",
]


class _ShiftedSums:
    """Sums of ``a - origin`` and of their outer products, for rows added chunk by chunk.

    Shifting by an origin near the mean before multiplying keeps the cross-products precise
    (the shifted values are of the size of the spread, not of the mean). Each chunk is copied
    once, as float64, into a buffer that stays in cache while the BLAS products read it.
    (Matrix-vector products: with one BLAS thread they are 1.5-3 times faster here than one
    product with a two-row matrix.)
    """

    def __init__(self, n_features: int, origin: np.ndarray, chunk_rows: int) -> None:
        d = n_features
        self.origin = origin
        self.chunk_rows = chunk_rows
        self.rows = 0
        self.weight_sum = 0.0
        self.sum_x = np.zeros(d)
        self.sum_y = 0.0
        self.xx = np.zeros((d, d))
        self.xy = np.zeros(d)
        self.yy = 0.0
        # The BLAS route's buffers, taken when it first needs them: the compiled route (most
        # long arrays) needs none, and at one feature taking them cost a tenth of its pass.
        self._bx: np.ndarray | None = None
        self._by: np.ndarray | None = None

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        if self._bx is None:
            d = self.origin.shape[0] - 1
            self._bx = _SCRATCH.take(self.chunk_rows * d).reshape(self.chunk_rows, d)
            self._by = _SCRATCH.take(self.chunk_rows)
            self._ones = _ones(self.chunk_rows)
            self._shift = _Shift(self.origin[:d])
            self._raw = not self.origin[:d].any()
        return self._bx, self._by

    def add(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> None:
        d = self.origin.shape[0] - 1
        if _compiled_route(X, y, w):
            self._add_compiled(X, y, w)
            return
        buffer_x, buffer_y = self._buffers()
        for start, stop in _spans(X.shape[0], self.chunk_rows):
            m = stop - start
            bx, by = buffer_x[:m], buffer_y[:m]
            if self._raw and X.dtype == np.float64 and X.flags.c_contiguous:
                bx = X[start:stop]  # centred float64 columns: read in place, no copy
            else:
                self._shift.copy(X[start:stop], bx)  # the one float64 copy
            np.subtract(y[start:stop], self.origin[d], out=by, dtype=np.float64,
                        casting="unsafe")
            if w is None:
                self.weight_sum += m
                self.sum_x += self._ones[:m] @ bx
                self.sum_y += float(by.sum())
                self.xx += bx.T @ bx
                self.xy += by @ bx
                self.yy += float(by @ by)
            else:
                weights = w[start:stop]
                weighted_y = by * weights
                self.weight_sum += float(weights.sum())
                self.sum_x += weights @ bx
                self.sum_y += float(weighted_y.sum())
                self.xx += bx.T @ (bx * weights[:, None])
                self.xy += weighted_y @ bx
                self.yy += float(weighted_y @ by)
            self.rows += m

    def _add_compiled(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> None:
        from ._cross_kernel import shifted_cross_products  # numba, imported when first needed

        d = self.origin.shape[0] - 1
        weight, sums, cross = shifted_cross_products(X, y, w, self.origin)
        self.weight_sum += weight
        self.sum_x += sums[:d]
        self.sum_y += float(sums[d])
        self.xx += cross[:d, :d]
        self.xy += cross[:d, d]
        self.yy += float(cross[d, d])
        self.rows += X.shape[0]

    def stats(self) -> SufficientStats:
        """The statistics of the rows added, less the origin (see :func:`_shifted_back`); the
        buffers go back to this thread's scratch."""
        if self._bx is not None:
            _SCRATCH.give(self._bx)
            _SCRATCH.give(self._by)
            self._bx = self._by = None
        d = self.origin.shape[0] - 1
        if self.weight_sum == 0:
            return SufficientStats(self.rows, 0.0, np.zeros(d + 1), np.zeros((d + 1, d + 1)))
        sums = np.append(self.sum_x, self.sum_y)
        cross = np.empty((d + 1, d + 1))
        cross[:d, :d] = self.xx
        cross[:d, d] = cross[d, :d] = self.xy
        cross[d, d] = self.yy
        shifted_mean = sums / self.weight_sum
        cross -= self.weight_sum * np.outer(shifted_mean, shifted_mean)
        return SufficientStats(self.rows, self.weight_sum, shifted_mean, cross)


# The compiled pass (gradreg._cross_kernel) reads each row once and forms the products from it;
# beside the BLAS route, which copies each chunk and reads it again with five small products,
# it took (2-core AMD EPYC, 1e7 rows, two threads) a quarter of the time at 10 features, 0.3 at
# 20, 0.65 at 50 and about the same at 80; at 100 BLAS is faster. It serves calls with at least
# _COMPILED_MIN_ROWS rows, so that small fits never wait for its compilation (once per
# machine; it is cached on disk).
_COMPILED_MAX_COLUMNS = 64  # features + 1
_COMPILED_MIN_ROWS = 4096


def _compiled_route(X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> bool:
    """Whether the compiled pass takes these rows: few columns, enough rows, and the array
    types it is compiled for (float32 or float64 rows, float64 targets and weights, native
    byte order, C-contiguous and aligned: numba would compile again for other layouts)."""
    return (
        X.shape[1] + 1 <= _COMPILED_MAX_COLUMNS
        and X.shape[0] >= _COMPILED_MIN_ROWS
        and X.dtype in (np.float32, np.float64)
        and X.flags.c_contiguous
        and X.flags.aligned
        and y.dtype == np.float64
        and y.flags.c_contiguous
        and y.flags.aligned
        and (w is None or (w.dtype == np.float64 and w.flags.c_contiguous and w.flags.aligned))
        and _jit_enabled()
    )


def _jit_enabled() -> bool:
    """Whether numba compiles: with ``NUMBA_DISABLE_JIT=1`` the kernel's loop would run in the
    interpreter, some 200 times slower than the BLAS route (14 s against 0.08 s at 1e5 x 23)."""
    import numba  # the compiled route imports it anyway

    return not numba.config.DISABLE_JIT


# Rows summed into one group before it joins the pairwise tree: bounds the length of any
# sequential float64 sum while keeping per-group overhead negligible.
_GROUP_ROWS = 1 << 20
# Arrays this long, or this long and this wide, are split between threads (numpy and BLAS
# release the GIL). Measured on 2 cores: threads halve the time at 1e5 x 100 and save a
# quarter at 1e5 x 30, but cost more than they save at 1e5 x 10 or 1e4 x 100, where a
# thread's start is a large part of the work.
_THREADED_ROWS = 200_000
_THREADED_MIN_ROWS = 20_000
# One feature (the compiled pass reads x and y at the speed of memory): a second thread
# saved a fifth at 2e6 rows and cost a third more at 1e6.
_THREADED_ROWS_ONE = 2_000_000
_THREADED_PRODUCTS = 20_000_000  # rows x (features + 1)^2


# A column whose mean lies within this fraction of its spread from zero is not shifted: its
# raw cross-products are then at most (1 + 1/8)^2 = 1.27 times the shifted ones in size, so
# their rounding error grows by at most that factor, and a design whose columns are all
# centred (standardized features, as most pipelines pass them) is read without any copy.
_CENTRED = 0.125


def _origin(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """A point near the column means: the (weighted) mean of the first rows, or zero for a
    column whose mean there is within ``_CENTRED`` of its spread from zero.

    Each part is rounded to a value of its column's type (float32, integer), so that the shift
    is exact in any type: only its closeness to the mean matters for precision. The rounding
    error of the cross-products grows by ``1 + (mean - origin)^2 / variance``, at most
    ``(1 - p) / p`` when the origin is the mean of rows holding a fraction ``p`` of the weight.
    Unweighted, the head's ``p >= 1024 / n`` keeps that below ``n / 1024``; a head whose rows
    weigh less than ``1 / _LIGHT`` of the average row (zero weights, say) would leave it
    unbounded, and the mean of all rows is taken instead.
    """
    n = len(y)
    head = min(n, _HEAD_ROWS)
    with np.errstate(**_QUIET):
        if w is not None and _LIGHT * float(np.sum(w[:head])) * n < float(np.sum(w)) * head:
            head = n
        parts = _head_means(X, y, w, head)
        dtypes = (np.asarray(X[:0]).dtype, np.asarray(y[:0]).dtype)
        for i, dtype in enumerate(dtypes):
            if dtype != np.float64:
                mean = parts[i]
                if dtype.kind in "iu":
                    info = np.iinfo(dtype)
                    top = float(info.max)
                    if int(top) > info.max:  # 2^63 or 2^64: the next float64 below is in range
                        top = float(np.nextafter(top, 0.0))
                    mean = np.clip(np.round(mean), float(info.min), top)
                parts[i] = mean.astype(dtype).astype(np.float64)
    return np.concatenate(parts)


# Rows of the head that guesses the origin; a head weighing less than 1/_LIGHT of its share
# of the rows is not trusted (see _origin).
_HEAD_ROWS = 1024
_LIGHT = 8


def _head_means(X, y, w, head: int) -> list[np.ndarray]:
    """Means of the first ``head`` rows of X and of y (zero where centred or not finite)."""
    step = 1 << 16
    moments = moments_from_batches(
        ((X[a:b], y[a:b], None if w is None else w[a:b]) for a, b in _spans(head, step)),
        X.shape[1],
    ) if head > step else _moments(X[:head], y[:head], None if w is None else w[:head])
    if moments.weight_sum > 0:
        mean = np.where(np.isfinite(moments.mean), moments.mean, 0.0)
        spread = np.sqrt(moments.squares / moments.weight_sum)
        mean = np.where(np.abs(mean) <= _CENTRED * spread, 0.0, mean)
    else:  # no weight at all: any origin gives the same (empty) statistics
        mean = np.zeros(X.shape[1] + 1)
    return [mean[:-1], mean[-1:]]


def _stats_of_rows(X, y, w, origin, chunk_rows) -> SufficientStats:
    """Statistics of the rows less ``origin``."""
    total = _PairwiseSum(X.shape[1])
    for start, stop in _spans(X.shape[0], _GROUP_ROWS):
        # Buffers no longer than the rows they will hold: small fits allocate little.
        sums = _ShiftedSums(X.shape[1], origin, min(chunk_rows, stop - start))
        sums.add(X[start:stop], y[start:stop], None if w is None else w[start:stop])
        total.add(sums.stats())
    return total.total()


class _PairwiseSum:
    """Adds summaries in a balanced tree (like a binary counter) to limit rounding growth."""

    def __init__(self, n_features: int) -> None:
        self._n_features = n_features
        self._stack: list[tuple[int, SufficientStats]] = []

    def add(self, stats: SufficientStats) -> None:
        level = 0
        while self._stack and self._stack[-1][0] == level:
            _, previous = self._stack.pop()
            stats = previous + stats
            level += 1
        self._stack.append((level, stats))

    def total(self) -> SufficientStats:
        result = SufficientStats.empty(self._n_features)
        for _, stats in reversed(self._stack):
            result = stats + result
        return result


# Non-finite input or overflow turns the statistics non-finite, which the caller checks once at
# the end (and then locates the culprit); no warning is wanted on the way.
_QUIET = {"over": "ignore", "invalid": "ignore"}


def stats_from_arrays(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    chunk_rows: int | None = None,
    threads: int | None = None,
) -> SufficientStats:
    """Statistics of in-memory arrays, read once in chunks without copying ``X`` whole.

    ``X`` may be float32, float64 or integer; only one chunk at a time is converted to float64.
    Long arrays are split between ``threads`` threads (default: the number of cores, at most
    4), whose statistics are merged exactly.
    """
    origin, stats = shifted_stats_from_arrays(X, y, sample_weight, chunk_rows, threads)
    return shifted_back(stats, origin)


def shifted_stats_from_arrays(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    chunk_rows: int | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, SufficientStats]:
    """The origin the pass chose and the statistics of the rows less it.

    For parts summarised apart (Dask partitions): merged with :func:`merge_shifted`, their
    means stay of the size of the spread, where absolute means of the size of an offset
    (1e12) would carry their rounding into the merged cross-products.
    """
    n, d = X.shape
    rows = chunk_rows or chunk_rows_for(d)
    if n == 0:
        return np.zeros(d + 1), SufficientStats.empty(d)
    origin = _origin(X, y, sample_weight)
    if threads is None:
        if d == 1:
            large = n >= _THREADED_ROWS_ONE
        else:
            large = n >= _THREADED_ROWS or (
                n >= _THREADED_MIN_ROWS and n * (d + 1) ** 2 >= _THREADED_PRODUCTS
            )
        threads = min(os.cpu_count() or 1, _MAX_THREADS) if large else 1
    if threads <= 1:
        with np.errstate(**_QUIET):
            return origin, _stats_of_rows(X, y, sample_weight, origin, rows)
    bounds = np.linspace(0, n, threads + 1).astype(int)

    def part(i: int) -> SufficientStats:
        lo, hi = bounds[i], bounds[i + 1]
        weights = None if sample_weight is None else sample_weight[lo:hi]
        with np.errstate(**_QUIET):
            return _stats_of_rows(X[lo:hi], y[lo:hi], weights, origin, rows)

    # One BLAS thread per worker: the workers already use the cores.
    with one_blas_thread():
        parts = map_parts(part, threads)
    return origin, merge(parts)


def stats_from_batches(
    batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    n_features: int,
    chunk_rows: int | None = None,
) -> SufficientStats:
    """Statistics of a stream of ``(X, y, weights)`` batches; ``weights`` may be ``None``.

    Rows are summed in groups of about a million, and the groups merged pairwise.
    """
    rows = chunk_rows or chunk_rows_for(n_features)
    total = _PairwiseSum(n_features)
    group = _PairwiseSum(n_features)  # rows less the current origin
    sums: _ShiftedSums | None = None
    rate = 0.0  # weight per row of the batch the origin was taken from
    with np.errstate(**_QUIET):
        for X, y, w in batches:
            if not len(y):
                continue
            weight = len(y) if w is None else float(np.sum(w))
            if sums is not None and (
                _LIGHT * rate * (sums.rows + len(y)) < sums.weight_sum + weight
            ):
                # The rows the origin came from weigh too little beside those that follow
                # (see _origin): the rows so far are done, the next ones take a new origin.
                group.add(sums.stats())
                total.add(shifted_back(group.total(), sums.origin))
                group = _PairwiseSum(n_features)
                sums = None
            if sums is None:
                sums = _ShiftedSums(n_features, _origin(X, y, w), rows)
                rate = weight / len(y)
            sums.add(X, y, w)
            if sums.rows >= _GROUP_ROWS:
                group.add(sums.stats())
                sums = _ShiftedSums(n_features, sums.origin, rows)
        if sums is not None:
            group.add(sums.stats())
            total.add(shifted_back(group.total(), sums.origin))
        return total.total()


def moments_from_batches(
    batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | None]], n_features: int
) -> ColumnMoments:
    """Column means and sums of squares of a stream of batches, in one pass."""
    p = n_features + 1
    with np.errstate(**_QUIET):
        total = ColumnMoments(0, 0.0, np.zeros(p), np.zeros(p))
        for X, y, w in batches:
            total = total + _moments(X, y, w)
        return total


def _moments(X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> ColumnMoments:
    """The moments of one batch, in two passes over it (means, then squares about them)."""
    with np.errstate(**_QUIET):
        block = np.column_stack([np.asarray(X, dtype=np.float64), y])
        # Sums as products with the weights (numpy's column sums of a narrow block are slower).
        weights = _ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
        weight_sum = float(len(y)) if w is None else float(weights.sum())
        mean = (weights @ block) / weight_sum
        deviations = block - mean
        squares = weights @ (deviations * deviations)
        if not len(y) or weight_sum == 0:
            return ColumnMoments(len(y), 0.0, np.zeros(block.shape[1]), np.zeros(block.shape[1]))
        return ColumnMoments(len(y), weight_sum, mean, squares)

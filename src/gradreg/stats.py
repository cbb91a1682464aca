"""Sufficient statistics of least squares, gathered in one pass and merged exactly.

For ``y ~ X w + b`` the whole objective, its gradient and its exact optimum depend on the data
only through the weight sum, the column means and the centred cross-products of ``[X, y]``.
:class:`SufficientStats` holds those, in float64 whatever the input dtype, accumulated chunk by
chunk with the pairwise update of Chan, Golub and LeVeque (1979): each chunk is centred on its
own mean before its cross-product is formed, and two summaries combine as

.. math::

    M = M_a + M_b + \\frac{W_a W_b}{W_a + W_b}\\,\\delta\\delta^T, \\qquad
    \\delta = \\bar a_b - \\bar a_a,

which keeps full precision when the means are large compared with the spread. Summaries of any
split of the rows merge with ``+`` into the same statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ColumnMoments",
    "SufficientStats",
    "moments_from_batches",
    "stats_from_arrays",
    "stats_from_batches",
]

# Rows per chunk: a chunk of [X, y] in float64 stays within about 2 MB, the size of a typical
# L2 cache, so centring it and forming its cross-product read it from cache, not from memory.
_CHUNK_BYTES = 2 * 1024 * 1024
_MIN_CHUNK_ROWS = 256


def chunk_rows_for(n_features: int) -> int:
    """Rows per chunk for ``n_features`` columns (plus the target)."""
    return max(_MIN_CHUNK_ROWS, _CHUNK_BYTES // (8 * (n_features + 1)))


@dataclass(frozen=True)
class SufficientStats:
    """Weight sum, means and centred cross-products of the augmented matrix ``[X, y]``.

    Attributes
    ----------
    n_rows : int
        Number of rows seen (rows with weight zero included).
    weight_sum : float
        Sum of the sample weights (``n_rows`` when unweighted).
    mean : ndarray of shape (d + 1,)
        Weighted column means of ``[X, y]``.
    cross : ndarray of shape (d + 1, d + 1)
        Weighted centred cross-products ``sum_i w_i (a_i - mean)(a_i - mean)^T``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(6.0).reshape(3, 2); y = np.array([1.0, 2.0, 4.0])
    >>> s = stats_from_arrays(X[:2], y[:2]) + stats_from_arrays(X[2:], y[2:])
    >>> np.allclose(s.cross, stats_from_arrays(X, y).cross)
    True
    """

    n_rows: int
    weight_sum: float
    mean: np.ndarray
    cross: np.ndarray

    @property
    def n_features(self) -> int:
        return self.mean.shape[0] - 1

    @property
    def mean_x(self) -> np.ndarray:
        return self.mean[:-1]

    @property
    def mean_y(self) -> float:
        return float(self.mean[-1])

    @property
    def sxx(self) -> np.ndarray:
        """Centred ``X^T W X`` (d, d)."""
        return self.cross[:-1, :-1]

    @property
    def sxx_diag(self) -> np.ndarray:
        """Centred weighted sums of squares of each feature (d,)."""
        return np.diag(self.cross)[:-1]

    @property
    def sxy(self) -> np.ndarray:
        """Centred ``X^T W y`` (d,)."""
        return self.cross[:-1, -1]

    @property
    def syy(self) -> float:
        """Centred ``y^T W y``."""
        return float(self.cross[-1, -1])

    def second_moments(self, centred: bool) -> np.ndarray:
        """``(1/W) sum w a a^T`` of ``[X, y]``, centred on the means or not."""
        moments = self.cross / self.weight_sum
        if not centred:
            moments = moments + np.outer(self.mean, self.mean)
        return moments

    def __add__(self, other: SufficientStats) -> SufficientStats:
        if not isinstance(other, SufficientStats):
            return NotImplemented
        if other.mean.shape != self.mean.shape:
            raise ValueError(
                f"Cannot merge statistics of {self.n_features} and {other.n_features} features."
            )
        if other.weight_sum == 0:
            return SufficientStats(
                self.n_rows + other.n_rows, self.weight_sum, self.mean, self.cross
            )
        if self.weight_sum == 0:
            return SufficientStats(
                self.n_rows + other.n_rows, other.weight_sum, other.mean, other.cross
            )
        total = self.weight_sum + other.weight_sum
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.weight_sum / total)
        factor = self.weight_sum * other.weight_sum / total
        cross = self.cross + other.cross + factor * np.outer(delta, delta)
        return SufficientStats(self.n_rows + other.n_rows, total, mean, cross)

    @classmethod
    def empty(cls, n_features: int) -> SufficientStats:
        """Statistics of no rows: the neutral element of ``+``."""
        p = n_features + 1
        return cls(0, 0.0, np.zeros(p), np.zeros((p, p)))

    # JSON-friendly form, for model files and for sending over a network.
    def to_dict(self) -> dict:
        return {
            "n_rows": int(self.n_rows),
            "weight_sum": float(self.weight_sum),
            "mean": self.mean.tolist(),
            "cross": self.cross.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SufficientStats:
        return cls(
            int(data["n_rows"]),
            float(data["weight_sum"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["cross"], dtype=np.float64),
        )


def _chunk_stats(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, buffer: np.ndarray, origin: np.ndarray
) -> SufficientStats:
    """Statistics of one chunk relative to ``origin``, formed in ``buffer`` (float64)."""
    rows, d = X.shape
    block = buffer[:rows]
    block[:, :d] = X  # the one float64 copy, of this chunk only
    block[:, d] = y
    block -= origin
    if w is None:
        weight_sum = float(rows)
        mean = block.mean(axis=0)
        block -= mean
        cross = block.T @ block
    else:
        weight_sum = float(w.sum())
        if weight_sum == 0.0:
            return SufficientStats(rows, 0.0, np.zeros(d + 1), np.zeros((d + 1, d + 1)))
        mean = (w @ block) / weight_sum
        block -= mean
        cross = block.T @ (block * w[:, None])
    return SufficientStats(rows, weight_sum, mean, cross)


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


def stats_from_arrays(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    chunk_rows: int | None = None,
) -> SufficientStats:
    """Statistics of in-memory arrays, read once in chunks without copying ``X`` whole.

    ``X`` may be float32, float64 or integer; only one chunk at a time is converted to float64.
    """
    n, d = X.shape
    rows = chunk_rows or chunk_rows_for(d)
    return stats_from_batches(
        (
            (X[i : i + rows], y[i : i + rows], None if sample_weight is None else
             sample_weight[i : i + rows])
            for i in range(0, n, rows)
        ),
        n_features=d,
        chunk_rows=rows,
    )


def stats_from_batches(
    batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    n_features: int,
    chunk_rows: int | None = None,
) -> SufficientStats:
    """Statistics of a stream of ``(X, y, weights)`` batches, merged pairwise.

    Large batches are cut into cache-sized chunks; ``weights`` may be ``None``.
    """
    rows = chunk_rows or chunk_rows_for(n_features)
    buffer = np.empty((rows, n_features + 1), dtype=np.float64)
    total = _PairwiseSum(n_features)
    # Chunk means are taken relative to the first row, so that merging works on small,
    # precise differences even when the columns sit far from zero.
    origin: np.ndarray | None = None
    for X, y, w in batches:
        if origin is None and len(y):
            origin = np.append(np.asarray(X[0], dtype=np.float64), float(y[0]))
            if not np.all(np.isfinite(origin)):
                origin = np.zeros(n_features + 1)
        for start, stop in _spans(X.shape[0], rows):
            chunk_w = None if w is None else w[start:stop]
            total.add(_chunk_stats(X[start:stop], y[start:stop], chunk_w, buffer, origin))
    result = total.total()
    if origin is None:
        return result
    return SufficientStats(result.n_rows, result.weight_sum, result.mean + origin, result.cross)


def _spans(n: int, step: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, step):
        yield start, min(n, start + step)


@dataclass(frozen=True)
class ColumnMoments:
    """Weight sum, means and centred sums of squares of each column of ``[X, y]``: O(d) memory.

    What the scaling needs when the d x d statistics are too large to keep.
    """

    n_rows: int
    weight_sum: float
    mean: np.ndarray
    squares: np.ndarray

    n_features = SufficientStats.n_features
    mean_x = SufficientStats.mean_x
    mean_y = SufficientStats.mean_y

    @property
    def sxx_diag(self) -> np.ndarray:
        return self.squares[:-1]

    @property
    def syy(self) -> float:
        return float(self.squares[-1])

    def __add__(self, other: ColumnMoments) -> ColumnMoments:
        if other.weight_sum == 0:
            return self
        if self.weight_sum == 0:
            return other
        total = self.weight_sum + other.weight_sum
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.weight_sum / total)
        squares = self.squares + other.squares + delta**2 * (
            self.weight_sum * other.weight_sum / total
        )
        return ColumnMoments(self.n_rows + other.n_rows, total, mean, squares)


def moments_from_batches(
    batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | None]], n_features: int
) -> ColumnMoments:
    """Column means and sums of squares of a stream of batches, in one pass."""
    p = n_features + 1
    total = ColumnMoments(0, 0.0, np.zeros(p), np.zeros(p))
    for X, y, w in batches:
        block = np.column_stack([np.asarray(X, dtype=np.float64), y])
        weights = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
        weight_sum = float(weights.sum())
        if weight_sum == 0:
            continue
        mean = (weights @ block) / weight_sum
        squares = weights @ (block - mean) ** 2
        total = total + ColumnMoments(len(y), weight_sum, mean, squares)
    return total

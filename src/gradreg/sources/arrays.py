"""In-memory arrays as a source of rows."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._validation import check_finite
from ..stats import SufficientStats, stats_from_arrays

__all__ = ["ArraySource", "minibatches"]

Batch = tuple[np.ndarray, np.ndarray, np.ndarray | None]


class ArraySource:
    """Rows of ``X`` (n, d), targets ``y`` (n,) and optional weights, without copying ``X``."""

    def __init__(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> None:
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    def locate_non_finite(self) -> None:
        """Raise a DataError naming the first NaN or infinity, if there is one."""
        check_finite(self.X, "X")
        check_finite(self.y, "y")
        if self.sample_weight is not None:
            check_finite(self.sample_weight, "sample_weight")

    def stats(self) -> SufficientStats:
        return stats_from_arrays(self.X, self.y, self.sample_weight)

    def batches(self, batch_size: int, rng: np.random.Generator | None = None) -> Iterator[Batch]:
        n = self.n_rows
        if rng is None:
            for start in range(0, n, batch_size):
                rows = slice(start, start + batch_size)
                yield self.X[rows], self.y[rows], self._weights(rows)
            return
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            yield self.X[rows], self.y[rows], self._weights(rows)

    def split(self, fraction: float, rng: np.random.Generator) -> tuple[ArraySource, ArraySource]:
        """A random ``(train, validation)`` split with ``fraction`` of the rows held out."""
        n = self.n_rows
        n_valid = max(1, int(round(fraction * n)))
        order = rng.permutation(n)
        valid, train = np.sort(order[:n_valid]), np.sort(order[n_valid:])
        return self._subset(train), self._subset(valid)

    def _subset(self, rows: np.ndarray) -> ArraySource:
        return ArraySource(self.X[rows], self.y[rows], self._weights(rows))

    def _weights(self, rows) -> np.ndarray | None:
        return None if self.sample_weight is None else self.sample_weight[rows]


def minibatches(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, batch_size: int,
    rng: np.random.Generator | None = None,
) -> Iterator[Batch]:
    """``(X, y, w)`` rows in slices of ``batch_size``, shuffled first when ``rng`` is given:
    how sources that read a block at a time (frames, Dask partitions) make mini-batches."""
    if rng is not None:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
        w = None if w is None else w[order]
    for start in range(0, len(y), batch_size):
        rows = slice(start, start + batch_size)
        yield X[rows], y[rows], None if w is None else w[rows]

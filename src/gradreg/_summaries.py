"""Summaries of rows that merge exactly: :class:`SufficientStats` (weight sum, means and
centred cross-products of ``[X, y]``) and :class:`ColumnMoments` (their O(d) diagonal).

Summaries of any split of the rows merge with ``+`` into the summary of all of them, by the
pairwise update of Chan, Golub and LeVeque (1979):

.. math::

    M = M_a + M_b + \\frac{W_a W_b}{W_a + W_b}\\,\\delta\\delta^T, \\qquad
    \\delta = \\bar a_b - \\bar a_a,

which keeps full precision when the means are large compared with the spread.
:mod:`gradreg.stats` gathers them from rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ColumnMoments", "SufficientStats", "merge", "merge_shifted", "shifted_back"]

# Overflow or invalid values turn the summaries non-finite, which the callers check once.
_QUIET = {"over": "ignore", "invalid": "ignore"}


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
    >>> from gradreg.stats import stats_from_arrays
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

    @property
    def magnitudes(self) -> np.ndarray:
        """The size of each column of ``[X, y]``: the larger of its |mean| and its spread."""
        squares = np.append(self.sxx_diag, self.syy)
        spread = np.sqrt(np.maximum(squares, 0.0) / self.weight_sum)
        return np.maximum(np.abs(self.mean), spread)

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
        # W_a W_b / W, formed without the product W_a W_b, which leaves float64's range for
        # weight sums beyond about 1e154 or below 1e-154 where the factor itself does not.
        factor = self.weight_sum * (other.weight_sum / total)
        cross = self.cross + other.cross + factor * np.outer(delta, delta)
        return SufficientStats(self.n_rows + other.n_rows, total, mean, cross)

    def with_weights_scaled(self, exponent: int) -> SufficientStats:
        """The statistics of the same rows with every weight times ``2**exponent`` (exact)."""
        if not exponent:
            return self
        return SufficientStats(self.n_rows, float(np.ldexp(self.weight_sum, exponent)),
                               self.mean, np.ldexp(self.cross, exponent))

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
    magnitudes = SufficientStats.magnitudes

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
            self.weight_sum * (other.weight_sum / total)  # see SufficientStats.__add__
        )
        return ColumnMoments(self.n_rows + other.n_rows, total, mean, squares)


def merge(parts: list[SufficientStats]) -> SufficientStats:
    """The statistics of the rows of all ``parts``, merged with ``+`` in order."""
    total = parts[0]
    with np.errstate(**_QUIET):
        for other in parts[1:]:
            total = total + other
    return total


def merge_shifted(
    parts: list[tuple[np.ndarray, SufficientStats]],
) -> tuple[np.ndarray, SufficientStats]:
    """Merge ``(origin, statistics less origin)`` pairs around the origin of the first part
    with weight: each part's means move by the difference of the origins (exact when they are
    within a factor of 2 of each other, as origins of one column's parts are)."""
    reference = next((o for o, s in parts if s.weight_sum > 0), parts[0][0])
    moved = [s if s.weight_sum == 0 else
             SufficientStats(s.n_rows, s.weight_sum, (o - reference) + s.mean, s.cross)
             for o, s in parts]
    return reference, merge(moved)


def shifted_back(stats: SufficientStats, origin: np.ndarray) -> SufficientStats:
    """The statistics of rows from those of the rows less ``origin``.

    Parts that share an origin are merged before it is added back: merged as they are, their
    means (of the size of the offset, 1e12 say) would be known only to ``eps`` times the offset,
    and the merge's term ``delta delta^T`` would carry that error into the cross-products.
    """
    if stats.weight_sum == 0:
        return stats
    return SufficientStats(stats.n_rows, stats.weight_sum, origin + stats.mean, stats.cross)

"""The triangular factor R of the shifted, equilibrated ``[X 1 y]``: statistics that keep precision.

The cross-products of :class:`~gradreg.stats.SufficientStats` square the condition number of
the design: when the equilibrated design has condition number ``k``, their Gram matrix resolves
the coefficients only to about ``k^2 eps``. The triangular factor ``R`` of a QR factorisation
of the design has the condition number of the design itself, and it merges just as well: each
chunk of rows is factorised (Householder QR, LAPACK's ``dgeqrf``), and two factors are merged by
factorising them stacked, since ``[A_1; A_2] = Q diag(Q_1, Q_2) [R_1; R_2]``. This is the
tall-skinny QR of Demmel, Grigori, Hoemmen and Langou (2012), the same reduction R's ``biglm``
performs row by row with Givens rotations (Miller 1992, algorithm AS274).

Rows are taken as ``sqrt(w_i) [(x_i - shift) / scale, 1, (y_i - shift_y) / scale_y]``, the
shift and scale coming from a first pass (the column means and spreads), so that the factor is
that of the centred, equilibrated problem; the column of ones is left out without an intercept.
Then ``R^T R / W`` is the Gram matrix of the scaled problem, and for ``R = [[S, s], [0, rho]]``
(``S`` the block of the features and intercept) the least-squares loss at ``t`` is exactly
``(|S t - s|^2 + rho^2) / (2W)``.

When the Gram matrix is already at hand (the statistics' pass), :func:`qr_by_cholesky` finds the
same factor with level-3 products instead: shifted CholeskyQR, one pass over the rows for most
designs, each chunk multiplied by a balanced preconditioner (see there). Householder QR per chunk
does level-2 work on a few columns and costs tens of ``X.T @ X``; the pass costs two to three
(``python -m benchmarks.qr_pass``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._chunks import _MAX_THREADS, _SCRATCH, _spans, chunk_rows_for, map_parts, one_blas_thread

__all__ = ["QRStats", "qr_from_batches", "qr_by_cholesky"]

# Rows per chunk factorised at once: [X 1 y] of 16 features in float64 stays within ~4 MB.
_CHUNK_ROWS = 32_768


@dataclass(frozen=True)
class QRStats:
    """Triangular factor of the weighted, shifted and scaled ``[X 1 y]`` (or ``[X y]``).

    Attributes
    ----------
    n_rows : int
    weight_sum : float
    shift, scale : ndarray of shape (d + 1,)
        Subtracted from and divided into each column of ``[X, y]`` before the factorisation.
    fit_intercept : bool
        Whether a column of ones sits between the features and the target.
    R : ndarray of shape (m, m)
        Upper triangular, ``m = d + 2`` with the intercept column, ``d + 1`` without; not
        divided by ``sqrt(weight_sum)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = X @ [1.0, 2.0] + 3.0
    >>> shift, scale = np.zeros(3), np.ones(3)
    >>> whole = qr_from_batches([(X, y, None)], shift, scale, True)
    >>> halves = (qr_from_batches([(X[:50], y[:50], None)], shift, scale, True)
    ...           + qr_from_batches([(X[50:], y[50:], None)], shift, scale, True))
    >>> bool(np.allclose(np.abs(whole.R), np.abs(halves.R)))
    True
    """

    n_rows: int
    weight_sum: float
    shift: np.ndarray
    scale: np.ndarray
    fit_intercept: bool
    R: np.ndarray

    @property
    def n_features(self) -> int:
        return self.shift.shape[0] - 1

    def with_weights_scaled(self, exponent: int) -> QRStats:
        """The factor of the same rows with every weight times ``2**exponent``: ``R`` times
        ``2**(exponent/2)`` (exact for an even exponent, one rounding of each entry for an odd
        one)."""
        if not exponent:
            return self
        R = np.ldexp(self.R, exponent // 2)
        if exponent % 2:
            R = R * np.sqrt(2.0)
        return QRStats(self.n_rows, float(np.ldexp(self.weight_sum, exponent)), self.shift,
                       self.scale, self.fit_intercept, R)

    def normalized(self) -> np.ndarray:
        """``R / sqrt(W)``: its ``R^T R`` is the mean cross-product of the scaled rows."""
        return self.R / np.sqrt(self.weight_sum)

    def __add__(self, other: QRStats) -> QRStats:
        if not isinstance(other, QRStats):
            return NotImplemented
        if (
            self.fit_intercept != other.fit_intercept
            or not np.array_equal(self.shift, other.shift)
            or not np.array_equal(self.scale, other.scale)
        ):
            raise ValueError(
                "Cannot merge QR statistics taken with different shifts, scales or intercepts."
            )
        return QRStats(
            self.n_rows + other.n_rows,
            self.weight_sum + other.weight_sum,
            self.shift,
            self.scale,
            self.fit_intercept,
            _merge(self.R, other.R),
        )

    def to_dict(self) -> dict:
        return {
            "n_rows": int(self.n_rows),
            "weight_sum": float(self.weight_sum),
            "shift": self.shift.tolist(),
            "scale": self.scale.tolist(),
            "fit_intercept": bool(self.fit_intercept),
            "R": self.R.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> QRStats:
        return cls(
            int(data["n_rows"]),
            float(data["weight_sum"]),
            np.asarray(data["shift"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            bool(data["fit_intercept"]),
            np.asarray(data["R"], dtype=np.float64),
        )


def _merge(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return _triangle(np.vstack([top, bottom]))


def _triangle(block: np.ndarray) -> np.ndarray:
    """The square upper-triangular factor of ``block`` (zero rows added when it is short)."""
    m = block.shape[1]
    r = scipy.linalg.qr(block, mode="r", overwrite_a=True, check_finite=False)[0]
    square = np.zeros((m, m))
    rows = min(m, r.shape[0])
    square[:rows] = r[:rows]
    return square


def scaled_rows(X, y, w, shift, scale, fit_intercept: bool) -> np.ndarray:
    """``sqrt(w) [(x - shift)/scale, 1, (y - shift_y)/scale_y]`` of a batch, in float64."""
    d = shift.shape[0] - 1
    n = len(y)
    width = d + 1 + int(fit_intercept)
    block = np.empty((n, width))
    np.subtract(X, shift[:d], out=block[:, :d], casting="unsafe")
    block[:, :d] /= scale[:d]
    if fit_intercept:
        block[:, d] = 1.0
    block[:, -1] = (np.asarray(y, dtype=np.float64) - shift[d]) / scale[d]
    if w is not None:
        block *= np.sqrt(np.asarray(w, dtype=np.float64))[:, None]
    return block


def qr_from_batches(
    batches: Iterable, shift: np.ndarray, scale: np.ndarray, fit_intercept: bool
) -> QRStats:
    """Tall-skinny QR of the scaled rows of ``(X, y, weights)`` batches.

    Each chunk of up to ``_CHUNK_ROWS`` rows is factorised and merged into the running factor,
    so memory stays at one chunk whatever the number of rows.
    """
    shift = np.asarray(shift, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    m = shift.shape[0] + int(fit_intercept)
    R = np.zeros((m, m))
    n_rows, weight_sum = 0, 0.0
    for X, y, w in batches:
        for start in range(0, len(y), _CHUNK_ROWS):
            rows = slice(start, start + _CHUNK_ROWS)
            wr = None if w is None else w[rows]
            block = scaled_rows(X[rows], y[rows], wr, shift, scale, fit_intercept)
            R = _merge(R, _triangle(block)) if n_rows else _triangle(block)
            n_rows += block.shape[0]
            weight_sum += float(block.shape[0]) if wr is None else float(np.sum(wr))
    return QRStats(n_rows, weight_sum, shift, scale, fit_intercept, R)


# Shifted CholeskyQR: the passes stop once the preconditioned rows have a Gram matrix this well
# conditioned (then their Cholesky factor is as accurate as a Householder one), or after the
# passes needed to bring a condition number near 1/eps down to it.
_WELL_CONDITIONED = 1e4
_MAX_PASSES = 3
_EPS = float(np.finfo(float).eps)


def qr_by_cholesky(
    gram: np.ndarray,
    batches,
    shift: np.ndarray,
    scale: np.ndarray,
    fit_intercept: bool,
    rows: int = 1,
    arrays: tuple | None = None,
    run_pass: Callable | None = None,
) -> QRStats:
    """The factor R by shifted CholeskyQR (Fukaya, Kannan, Nakatsukasa, Yamamoto and Yanagisawa
    2020), started from the Gram matrix already at hand.

    ``R_1`` is the Cholesky factor of the Gram matrix ``gram`` of the scaled rows ``A`` (shifted
    by ``11 (m n + m (m + 1)) eps |G|`` so that it exists). Each pass over the rows forms the
    Gram matrix of ``W = A P`` with ``P = V S^{-1}`` from the SVD ``R = U S V^T`` (so that
    ``W = A R^{-1} U`` has the condition number of CholeskyQR's ``A R^{-1}``), and then
    ``R <- triangle(chol(W^T W) S V^T)``. One product with the dense, balanced ``P`` is
    backward stable row by row, as a triangular solve with ``R`` is: the rounding of column
    ``j`` of ``a P`` is ``eps |a| / s_j``, a relative perturbation of ``a`` of about
    ``sqrt(m) eps`` once mapped back by ``P^{-1} = S V^T``. The product with the explicit
    inverse ``R^{-1}`` would perturb ``a`` by ``eps |a| |R^{-1}| |R|``, up to ``eps cond(R)``,
    which leaves the factor no better than the Gram matrix's (Higham 2002, chapter 14, on
    the residuals of triangular inverses). A gemm costs twice the flops of a triangular solve
    but runs at the speed of ``X.T @ X``, where OpenBLAS's triangular solve with a dozen
    columns runs at a third of it.
    One pass suffices up to condition numbers near ``1/sqrt(eps)`` of the design, and at most
    three up to ``1/eps``.

    ``batches`` is a callable returning a fresh iterable of ``(X, y, weights)`` batches;
    ``arrays`` (``(X, y, weights)`` in memory) takes their place when given, and long arrays
    are then split between threads; ``run_pass`` (a pass object to ``(G, n_rows,
    weight_sum)``) takes their place for sources that run the pass where their rows are (Dask
    partitions on their workers: G is a sum over rows, merged like the statistics).
    """
    shift = np.asarray(shift, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    # Columns that are exactly zero (constant ones, shifted by their value) keep exact zeros
    # in R: they are left out of the passes.
    keep = np.diag(gram) > 0
    R = _cholesky(gram[np.ix_(keep, keep)], shifted=True, rows=rows) if keep.any() \
        else np.zeros((0, 0))
    # The scales are folded into P: the rows are [x - shift, 1, y - shift_y] / row_scale.
    row_scale = np.insert(scale, scale.shape[0] - 1, 1.0) if fit_intercept else scale
    n_rows, weight_sum = 0, 0.0
    for _ in range(_MAX_PASSES):
        _, sigma, Vt = np.linalg.svd(R) if R.size else (None, np.zeros(0), R)
        # Directions below eps of the largest are rounding noise (a numerically deficient
        # design): scaled as if at eps, they stay finite, and the shifted Cholesky factor of
        # the next Gram matrix keeps them apart.
        sigma = np.maximum(sigma, _EPS * sigma[0]) if sigma.size else sigma
        P = np.zeros((keep.shape[0], R.shape[0]))
        P[keep] = Vt.T / sigma / row_scale[keep, None]
        pass_ = _Pass(P, shift, fit_intercept)
        if run_pass is not None:
            G, n_rows, weight_sum = run_pass(pass_)
        elif arrays is not None:
            G, n_rows, weight_sum = pass_.over_arrays(*arrays)
        else:
            G, n_rows, weight_sum = pass_.over_batches(batches())
        if not sigma.size:  # nothing but zero columns: the pass only counted the rows
            break
        try:
            step = scipy.linalg.cholesky(0.5 * (G + G.T), lower=False, check_finite=False)
        except np.linalg.LinAlgError:
            # A numerically singular design: the features fit the target exactly (two rows
            # of weight, or a target computed from them), or fewer rows than columns. A
            # shifted factor is off by its shift (7e-4 of the diagonal was seen), which the
            # certificate would take for the factor's rounding; Householder QR of the rows is
            # backward stable whatever the rank.
            return _householder(arrays, batches, shift, scale, fit_intercept, keep)
        R = _triangle(step * sigma @ Vt)
        R *= np.where(np.diag(R) < 0, -1.0, 1.0)[:, None]
        diagonal = np.abs(np.diag(step))
        if diagonal.size and diagonal.max() <= _WELL_CONDITIONED * max(diagonal.min(), 1e-300):
            break
    full = np.zeros((keep.shape[0], keep.shape[0]))
    full[np.ix_(keep, keep)] = np.triu(R)
    return QRStats(n_rows, weight_sum, shift, scale, fit_intercept, full)


def _householder(arrays, batches, shift, scale, fit_intercept: bool, keep) -> QRStats:
    """The factor by tall-skinny Householder QR of the scaled rows, the columns outside
    ``keep`` (exact zeros) left as zeros, as :func:`qr_by_cholesky` leaves them."""
    rows = [arrays] if arrays is not None else batches()
    m = keep.shape[0]
    R = np.zeros((int(keep.sum()), int(keep.sum())))
    n_rows, weight_sum = 0, 0.0
    for X, y, w in rows:
        for start in range(0, len(y), _CHUNK_ROWS):
            part = slice(start, start + _CHUNK_ROWS)
            wr = None if w is None else w[part]
            block = scaled_rows(X[part], y[part], wr, shift, scale, fit_intercept)[:, keep]
            R = _merge(R, _triangle(block)) if n_rows else _triangle(block)
            n_rows += block.shape[0]
            weight_sum += float(block.shape[0]) if wr is None else float(np.sum(wr))
    R *= np.where(np.diag(R) < 0, -1.0, 1.0)[:, None]
    full = np.zeros((m, m))
    full[np.ix_(keep, keep)] = R
    return QRStats(n_rows, weight_sum, shift, scale, fit_intercept, full)


class _Pass:
    """``sum_i w_i p_i^T p_i`` for the rows ``p_i = [x_i - shift, 1, y_i - shift_y] P``.

    Each chunk of rows is shifted into a buffer that stays in cache (the one float64 copy; the
    column of ones is written once), multiplied by ``P`` into a second buffer, and its Gram
    matrix added; buffers come from each thread's scratch, as in :mod:`gradreg.stats`.
    """

    def __init__(self, P: np.ndarray, shift: np.ndarray, fit_intercept: bool) -> None:
        self.P = P
        self.shift = shift
        self.fit_intercept = fit_intercept

    def over_batches(self, batches: Iterable):
        m, kept = self.P.shape
        G, n_rows, weight_sum = np.zeros((kept, kept)), 0, 0.0
        chunk = chunk_rows_for(m)
        block = _SCRATCH.take(chunk * m).reshape(chunk, m)
        product = _SCRATCH.take(chunk * kept).reshape(chunk, kept)
        try:
            if self.fit_intercept:
                block[:, -2] = 1.0
            for X, y, w in batches:
                for start, stop in _spans(len(y), chunk):
                    wr = None if w is None else np.asarray(w[start:stop], dtype=np.float64)
                    k = stop - start
                    self._add(X[start:stop], y[start:stop], wr, block[:k], product[:k], G)
                    n_rows += k
                    weight_sum += float(k) if wr is None else float(wr.sum())
        finally:
            _SCRATCH.give(product)
            _SCRATCH.give(block)
        return G, n_rows, weight_sum

    def _add(self, X, y, w, block, product, G) -> None:
        d = X.shape[1]
        np.subtract(X, self.shift[:d], out=block[:, :d], casting="unsafe")
        np.subtract(y, self.shift[d], out=block[:, -1], casting="unsafe")
        np.matmul(block, self.P, out=product)
        if w is not None:
            product *= np.sqrt(w)[:, None]
        G += product.T @ product

    def over_arrays(self, X, y, w):
        n = X.shape[0]
        m = self.P.shape[0]
        threads = min(os.cpu_count() or 1, _MAX_THREADS) if n * m >= _THREADED_ENTRIES else 1
        if threads <= 1:
            return self.over_batches([(X, y, w)])
        bounds = np.linspace(0, n, threads + 1).astype(int)

        def part(i: int):
            rows = slice(bounds[i], bounds[i + 1])
            return self.over_batches([(X[rows], y[rows], None if w is None else w[rows])])

        # One BLAS thread per worker: the workers already use the cores.
        with one_blas_thread():
            parts = map_parts(part, threads)
        return (sum(p[0] for p in parts), sum(p[1] for p in parts),
                float(sum(p[2] for p in parts)))


# Arrays with this many entries (rows x columns of the factor) are split between threads.
_THREADED_ENTRIES = 2_000_000


def _cholesky(gram: np.ndarray, shifted: bool, rows: int) -> np.ndarray:
    """Upper Cholesky factor; with a shift of ``11 (m n + m (m + 1)) eps |G|`` when ``shifted``
    or when the unshifted factorisation fails (a numerically singular Gram matrix).

    A Gram matrix whose errors exceed that shift (sums of squares of values near the bottom of
    float64's range, which lose digits as subnormals) gets a hundred times the shift, and so on:
    the factor is only the first preconditioner, which the passes over the rows correct.
    """
    gram = 0.5 * (gram + gram.T)
    m = gram.shape[0]
    if not shifted:
        try:
            return scipy.linalg.cholesky(gram, lower=False, check_finite=False)
        except np.linalg.LinAlgError:
            pass
    size = max(float(np.trace(gram)), 1e-300)
    if not np.isfinite(size):  # no shift would ever make it factorisable
        raise np.linalg.LinAlgError("The Gram matrix is not finite.")
    shift = 11.0 * (m * max(rows, 1) + m * (m + 1)) * np.finfo(float).eps * size
    while True:
        try:
            return scipy.linalg.cholesky(gram + shift * np.eye(m), lower=False,
                                         check_finite=False)
        except np.linalg.LinAlgError:
            if shift > size:
                raise
            shift *= 100.0

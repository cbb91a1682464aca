"""The statistics of a few columns in one compiled read of the rows.

With few columns the BLAS route of :mod:`gradreg.stats` spends more time around the products
than in them: each chunk is copied (shifted) into a buffer, then read again by five small
products, each with its own call. Here each row is read once, shifted into a buffer of a
sub-block's columns, and the sums and the upper triangle of the cross-products of
``[x - origin, y - origin_y]`` are formed from it by vectorized loops compiled with numba.
Measured on a 2-core AMD EPYC at 1e7 rows, two threads: 0.08 s at 10 columns, 0.17 s at 20 and
0.76 s at 50, where one ``X.T @ X`` takes 0.12, 0.27 and 0.95 s and the BLAS route 0.35, 0.62
and 1.18 s; at 100 columns BLAS is faster (2.8 s against 3.5 s). With one feature the loop
reads ``x`` and ``y`` directly: at 1e7 rows, 8 ms on one thread (6 ms on two) for their 160 MB,
where ``X.sum(0)`` reads the 80 MB of ``x`` in 5 ms.

Rounding. Each sum is formed over sub-blocks of ``BLOCK_ROWS / 8`` rows in vector registers,
in an order the compiler chooses (numba's ``fastmath={"reassoc"}``: any order of ``m`` terms
takes at most ``m - 1`` additions); each sub-block's sum is added to its block's (at most eight
additions) and each block's to the pass's totals. The number of additions in any one sum is
therefore at most ``8 + BLOCK_ROWS / 8 + n / BLOCK_ROWS``, below the ``n`` of plain recursive
summation; the usual bound ``(additions + 1) * u * sum |terms|``, ``u = eps / 2`` (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., sections 4.2 and 4.6: it holds for
any order), is within ``(8 + BLOCK_ROWS / 8 + n / BLOCK_ROWS + 1) * eps * sum |terms|``, as it
is for BLAS. Fused multiply-adds may be used (``fastmath={"contract"}``): one rounding in place
of two, never more. Vector widths differ between CPUs, and so may the last bits of the sums;
the bound is the same on all of them. The shift itself is not reassociated: each difference
``x - origin`` is formed before any sum (the tests' offset columns check it).

Each kernel is compiled at most twice (float32 and float64 rows, whatever their flags: it is
given read-only views) and cached on disk where a folder allows it (:mod:`gradreg._jit`).
"""

from __future__ import annotations

import numpy as np

from ._jit import compiled

__all__ = ["BLOCK_ROWS", "shifted_cross_products"]

# Rows whose products are summed apart before they join the running totals.
BLOCK_ROWS = 4096
# Rows of a sub-block, whose sums are formed in vector registers in any order.
_SUB_ROWS = BLOCK_ROWS // 8
# A sub-block's shifted columns are rows of a buffer this much longer than _SUB_ROWS: at a
# stride of exactly 4 KB the writes of one row of X to its columns would all fall in the same
# cache sets (measured: 8 times slower).
_PAD = 8


@compiled(nogil=True, fastmath={"contract", "reassoc"})
def _dot(a, b, m):  # pragma: no cover - compiled
    """``sum_r a[r] b[r]`` over ``r < m``, in any order."""
    total = 0.0
    for r in range(m):
        total += a[r] * b[r]
    return total


@compiled(nogil=True, fastmath={"contract", "reassoc"})
def _dot4(a, b0, b1, b2, b3, m):  # pragma: no cover - compiled
    """``a . b_k`` over ``r < m``, in any order, for k = 0..3: one read of ``a`` for four
    products. (The caller adds them up: an addition compiled with ``reassoc`` could fold its
    running total into the start of these sums, and lengthen them.)"""
    s0 = s1 = s2 = s3 = 0.0
    for r in range(m):
        v = a[r]
        s0 += v * b0[r]
        s1 += v * b1[r]
        s2 += v * b2[r]
        s3 += v * b3[r]
    return s0, s1, s2, s3


@compiled(nogil=True, fastmath={"contract", "reassoc"})
def _sum(a, m):  # pragma: no cover - compiled
    total = 0.0
    for r in range(m):
        total += a[r]
    return total


@compiled(nogil=True)
def _add_rows(X, y, w, weighted, origin, sums, cross):  # pragma: no cover - compiled
    """Each sub-block's shifted rows written as columns (``Z``, and ``A = Z w`` when
    weighted), their sums and the upper triangle of ``A Z^T`` by vectorized dot products,
    added to the block's sums, whose sums are added to the pass's."""
    n, d = X.shape
    p = d + 1
    Z = np.empty((p, _SUB_ROWS + _PAD))  # [x - origin, y - origin_y], a column per row
    A = np.empty((p, _SUB_ROWS + _PAD)) if weighted else Z
    block_cross = np.empty((p, p))
    block_sums = np.empty(p)
    total = 0.0
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        block_cross[:] = 0.0
        block_sums[:] = 0.0
        block_weight = 0.0
        for lo in range(start, stop, _SUB_ROWS):
            # The sub-block's rows indexed from 0 (see _sub_block_one).
            Xs, ys, ws = X[lo:stop], y[lo:stop], w[lo:stop]
            m = min(_SUB_ROWS, stop - lo)
            for r in range(m):
                for j in range(d):
                    Z[j, r] = np.float64(Xs[r, j]) - origin[j]
                Z[d, r] = ys[r] - origin[d]
            if weighted:
                for j in range(p):
                    for r in range(m):
                        A[j, r] = Z[j, r] * ws[r]
                block_weight += _sum(ws, m)
            else:
                block_weight += m
            for i in range(p):
                block_sums[i] += _sum(A[i], m)
                j = i
                while j + 4 <= p:
                    s0, s1, s2, s3 = _dot4(A[i], Z[j], Z[j + 1], Z[j + 2], Z[j + 3], m)
                    block_cross[i, j] += s0
                    block_cross[i, j + 1] += s1
                    block_cross[i, j + 2] += s2
                    block_cross[i, j + 3] += s3
                    j += 4
                while j < p:
                    block_cross[i, j] += _dot(A[i], Z[j], m)
                    j += 1
        total += block_weight
        for i in range(p):
            sums[i] += block_sums[i]
            for j in range(i, p):
                cross[i, j] += block_cross[i, j]
    return total


@compiled(nogil=True, fastmath={"contract", "reassoc"})
def _sub_block_one(x, y, w, weighted, lo, hi, ox, oy):  # pragma: no cover - compiled
    """The six sums of rows ``lo:hi`` (at most ``_SUB_ROWS``), in whatever order the compiler
    vectorizes them (``reassoc``); the caller adds them up (see :func:`_dot4`)."""
    # Slices indexed from 0: indices the compiler knows are not negative, so it reads them as
    # vectors (from lo, numba's wraparound of negative indices turns each read into a select).
    xs, ys, ws = x[lo:hi], y[lo:hi], w[lo:hi]
    m = xs.shape[0]
    sw = sx = sy = sxx = sxy = syy = 0.0
    if weighted:
        for r in range(m):
            c = ws[r]
            u = np.float64(xs[r]) - ox
            s = ys[r] - oy
            cu = c * u
            cs = c * s
            sw += c
            sx += cu
            sy += cs
            sxx += cu * u
            sxy += cu * s
            syy += cs * s
    else:
        for r in range(m):
            u = np.float64(xs[r]) - ox
            s = ys[r] - oy
            sx += u
            sy += s
            sxx += u * u
            sxy += u * s
            syy += s * s
        sw = float(m)
    return sw, sx, sy, sxx, sxy, syy


@compiled(nogil=True)
def _add_rows_one(x, y, w, weighted, origin, sums, cross):  # pragma: no cover - compiled
    """:func:`_add_rows` for one feature (``x`` the column, 1-d): the six sums (weight, x, y,
    xx, xy, yy) of each sub-block of ``_SUB_ROWS`` rows in vector registers, added to the
    block's, whose sums are added to the pass's."""
    n = x.shape[0]
    ox, oy = origin[0], origin[1]
    block = np.empty(6)
    total = 0.0
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        block[:] = 0.0
        for lo in range(start, stop, _SUB_ROWS):
            part = _sub_block_one(x, y, w, weighted, lo, min(lo + _SUB_ROWS, stop), ox, oy)
            for k in range(6):
                block[k] += part[k]
        total += block[0]
        sums[0] += block[1]
        sums[1] += block[2]
        cross[0, 0] += block[3]
        cross[0, 1] += block[4]
        cross[1, 1] += block[5]
    return total


def shifted_cross_products(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, origin: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Weight sum, sums and cross-products of ``[X - origin[:-1], y - origin[-1]]``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float32 or float64, C-contiguous
    y : ndarray of shape (n_rows,), float64
    w : ndarray of shape (n_rows,), float64, or None for unit weights
    origin : ndarray of shape (n_features + 1,), float64
        Each entry a value of its column's type, so that every difference is exact before its
        one rounding to float64.

    Returns
    -------
    weight_sum : float
    sums : ndarray of shape (n_features + 1,)
        ``sum_i w_i z_i`` with ``z_i`` the shifted row ``i``.
    cross : ndarray of shape (n_features + 1, n_features + 1)
        ``sum_i w_i z_i z_i^T``, symmetric.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [2.0], [4.0]]); y = np.array([0.0, 1.0, 1.0])
    >>> weight, sums, cross = shifted_cross_products(X, y, None, np.array([2.0, 0.0]))
    >>> weight, sums.tolist(), cross.tolist()
    (3.0, [1.0, 2.0], [[5.0, 2.0], [2.0, 2.0]])
    """
    p = X.shape[1] + 1
    sums = np.zeros(p)
    cross = np.zeros((p, p))
    weights = y if w is None else w  # not read when unweighted
    # numba compiles apart for writable and read-only arrays (and for memory maps' views):
    # read-only views of all three keep to one compilation per dtype of X.
    X, y, weights = (_read_only(a) for a in (X, y, weights))
    if p == 2:  # one feature: its column as a vector, which the compiler reads in vectors
        weight = _add_rows_one(X.reshape(-1), y, weights, w is not None, origin, sums, cross)
    else:
        weight = _add_rows(X, y, weights, w is not None, origin, sums, cross)
    # The kernels fill the upper triangle only (the lower one is still zero).
    return float(weight), sums, cross + np.triu(cross, 1).T


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view(np.ndarray)
    view.flags.writeable = False
    return view

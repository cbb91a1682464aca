"""Iterative refinement of the least-squares optimum with residuals in double-double precision.

Refinement that forms its residuals in float64 cannot get below about ``cond * eps``: the
residual of a good solution is computed with an error of ``eps`` times the size of the
products it cancels. And corrections from the semi-normal equations (``R^{-1} R^{-T} Z^T r``)
converge only while ``cond^2 eps < 1``. For rows held in memory this module refines the
*augmented* system of the weighted problem (Bjorck 1967),

.. math::

    \\begin{bmatrix} I & A \\\\ A^T W & 0 \\end{bmatrix}
    \\begin{bmatrix} r \\\\ x \\end{bmatrix} = \\begin{bmatrix} y \\\\ 0 \\end{bmatrix},

with ``A = [X 1]`` the raw rows (so the data enter exactly, with no shift or scale rounded
into them), ``x`` the raw coefficients and intercept, and ``r`` the unweighted residual. Both
residuals of that system, ``f = y - r - A x`` and ``g = -A^T W r``, are formed in
double-double arithmetic (Dekker 1971: error-free sums and products by Knuth's TwoSum and
Veltkamp's splitting, summed as in Ogita, Rump and Oishi 2005, "Accurate sum and dot
product"), so they are accurate to about ``eps^2`` of the terms. The correction solves the
same system with the Householder QR ``W^{1/2} Z = Q R`` of the equilibrated design ``Z``
(Bjorck 1967; Higham 2002, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., section
20.5): with ``h = R^{-T} g``, ``dx = R^{-1} (Q^T W^{1/2} f - h)`` and ``dr = f - A dx``. Each
step contracts the error by about ``c cond eps`` (not ``cond^2``), and the limit is the
accuracy of the residuals, so the refined coefficients are correct to near working precision
for condition numbers well below ``1/eps`` (Higham 2002, Theorem 20.6 and the discussion of
mixed-precision refinement that follows it).

The Householder factorisation keeps ``n x p`` numbers and the double-double residuals cost
some thirty float64 operations per entry of ``X``: this is a fallback for designs in memory of
moderate size, taken only when the condition of the problem asks for it.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ._chunks import one_blas_thread
from .objective import Preconditioner

__all__ = ["AUGMENTED_MAX_ENTRIES", "refine_augmented", "dd_dot"]

# Largest design (rows x parameters) refined by the augmented system: its Householder factor
# and the double-double temporaries take some ten times 8 bytes per entry (about 300 MB here),
# and the pass about 0.1 s per million entries.
AUGMENTED_MAX_ENTRIES = 1 << 22
_STEPS = 6
_EPS = float(np.finfo(float).eps)
_SPLITTER = 134217729.0  # 2^27 + 1: Veltkamp's splitting of a float64 into two halves


def _two_sum(a, b):
    """``s + e == a + b`` exactly, ``s = fl(a + b)`` (Knuth's TwoSum)."""
    s = a + b
    v = s - a
    e = (a - (s - v)) + (b - v)
    return s, e


def _split(a):
    c = _SPLITTER * a
    high = c - (c - a)
    return high, a - high


def _two_product(a, b, a_parts=None, b_parts=None):
    """``p + e == a * b`` exactly, ``p = fl(a * b)`` (Dekker's TwoProduct); the halves of
    ``a`` and ``b`` may be passed when already split."""
    p = a * b
    a1, a2 = _split(a) if a_parts is None else a_parts
    b1, b2 = _split(b) if b_parts is None else b_parts
    e = a2 * b2 - (((p - a1 * b1) - a2 * b1) - a1 * b2)
    return p, e


def _column_sums(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Sums down the columns of ``high + low`` as if in twice the working precision.

    Pairwise TwoSum: each level adds the two halves and keeps the rounding errors, which
    (with ``low``) are summed plainly: their own error is of order ``eps^2`` of the terms.
    """
    errors = low.sum(axis=0)
    while high.shape[0] > 1:
        half = high.shape[0] // 2
        s, e = _two_sum(high[:half], high[half : 2 * half])
        errors = errors + e.sum(axis=0)
        high = np.concatenate([s, high[2 * half :]]) if high.shape[0] % 2 else s
    total = high[0] if high.shape[0] else np.zeros(high.shape[1:])
    return total + errors


def dd_dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a . b`` as if computed in double-double and rounded once."""
    p, e = _two_product(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return float(_column_sums(p[:, None], e[:, None])[0])


class _Rows:
    """The raw design in float64, by columns, with its Veltkamp halves split once."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = np.asfortranarray(X, dtype=np.float64)
        self.parts = _split(self.X)

    def residual(self, y, r, coef, intercept, rounded: bool = True):
        """``y - r - X coef - intercept``, each entry as if in double-double, rounded once
        (or, with ``rounded=False``, as the unevaluated sum of two float64 arrays)."""
        s, e = _two_sum(y, -r)
        high, low = self.parts
        for j in range(self.X.shape[1]):
            p, pe = _two_product(self.X[:, j], -coef[j], (high[:, j], low[:, j]))
            s, t = _two_sum(s, p)
            e += t + pe
        if intercept:
            s, t = _two_sum(s, -intercept)
            e += t
        return s + e if rounded else _two_sum(s, e)

    def normal_residual(self, weights, r, fit_intercept) -> np.ndarray:
        """``-[X 1]^T W r`` (the ones only with an intercept), accurate to about ``eps^2``."""
        if weights is None:
            wr, wr_low = r, np.zeros_like(r)
        else:
            wr, wr_low = _two_product(weights, r)
        parts = _split(wr)
        high, low = _two_product(self.X, wr[:, None], self.parts,
                                 (parts[0][:, None], parts[1][:, None]))
        low += self.X * wr_low[:, None]
        sums = _column_sums(high, low)
        if fit_intercept:
            sums = np.append(sums, _column_sums(wr[:, None], wr_low[:, None]))
        return -sums


def refine_augmented(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    canon: Preconditioner,
    theta: np.ndarray,
) -> np.ndarray:
    """Refine the unpenalised canonical minimiser ``theta`` on the rows in memory.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The raw design (any real dtype; converted to float64, which is exact for float32 and
        for integers below 2^53).
    y : ndarray of shape (n,)
    weights : ndarray of shape (n,) or None
    canon : Preconditioner
        The canonical (centred, equilibrated) coordinates ``theta`` is given in.
    theta : ndarray of shape (p,)
        Starting point, ``p = d + 1`` with an intercept, ``d`` without.

    Returns
    -------
    ndarray of shape (p,)
        The refined minimiser in canonical coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> from gradreg.objective import Preconditioner
    >>> x = np.linspace(0.5, 1.5, 30); X = np.column_stack([x, x**2])
    >>> y = 1.0 + 2.0 * x - 3.0 * x**2
    >>> canon = Preconditioner(X.mean(0), X.std(0), True, np.zeros(2, bool))
    >>> theta = refine_augmented(X, y, None, canon, np.zeros(3))
    >>> coef, intercept = canon.to_user(theta)
    >>> bool(np.allclose(coef, [2.0, -3.0], rtol=1e-13)), round(intercept, 12)
    (True, 1.0)
    """
    if len(y) < len(theta):
        # Fewer rows than parameters: no square factor R, and no unique minimiser to refine
        # towards (the design is rank deficient whatever its factor's rounding suggests).
        return theta
    rows = _Rows(X)
    X = rows.X
    y = np.asarray(y, dtype=np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    fit_intercept = canon.fit_intercept
    d = X.shape[1]
    Z = canon.transform(X)
    if fit_intercept:
        Z = np.column_stack([Z, np.ones(len(y))])
    root = np.ones(len(y)) if w is None else np.sqrt(w)
    # Householder QR of a few columns is level-2 work: BLAS threads only wait on each other.
    with one_blas_thread():
        Q, R = scipy.linalg.qr(np.asfortranarray(Z * root[:, None]), mode="economic",
                               overwrite_a=True, check_finite=False)
    coef, intercept = canon.to_user(theta)
    coef = coef.copy()
    r = rows.residual(y, np.zeros_like(y), coef, intercept)
    previous = np.inf
    for _ in range(_STEPS):
        f = rows.residual(y, r, coef, intercept)
        g_raw = rows.normal_residual(w, r, fit_intercept)
        # The correction in canonical coordinates: x = T theta, so the system's second
        # residual maps by T^T (dc for the intercept, (g_j - shift_j g_b) / scale_j).
        g = g_raw.copy()
        if fit_intercept:
            g[:d] = (g_raw[:d] - canon.shift * g_raw[d]) / canon.scale
        else:
            g = g_raw / canon.scale
        h = scipy.linalg.solve_triangular(R, g, trans="T", check_finite=False)
        step = scipy.linalg.solve_triangular(R, Q.T @ (root * f) - h, check_finite=False)
        size = float(np.linalg.norm(step))
        if not size < previous:  # no longer contracting: the last step was at the limit
            break
        d_coef = step[:d] / canon.scale
        d_intercept = float(step[d] - canon.shift @ d_coef) if fit_intercept else 0.0
        coef += d_coef
        intercept += d_intercept
        r += f - Z @ step
        if size <= _EPS * float(np.linalg.norm(coef * canon.scale)):
            break
        previous = 0.5 * size
    slopes = coef * canon.scale
    if not fit_intercept:
        return slopes
    return np.append(slopes, dd_dot(np.append(canon.shift, 1.0), np.append(coef, intercept)))

"""A bound on the error of a refined optimum, measured from the rows themselves.

The optimum's a priori rounding bound (:mod:`gradreg.optimum`) holds for any data of its
condition number and is pessimistic by orders of magnitude once the optimum has been refined
against the rows (:mod:`gradreg.refine`). For rows in memory the error of a point ``t`` can be
measured instead. The least-squares objective is quadratic, so in canonical coordinates
(centred, equilibrated columns ``Z``; weights ``W``)

.. math::

    t - t^* = H^{-1} g, \\qquad H = Z^T W Z, \\qquad g = -Z^T W (y - Z t),

exactly. The gradient ``g`` is formed in double-double arithmetic from the raw rows, one
compiled pass over batches of them (Dekker 1971: error-free products by Veltkamp's splitting
and sums by Knuth's TwoSum; the running sums of Ogita, Rump and Oishi 2005, "Accurate sum and
dot product", whose error bound gives the stated ``|dg|``), and the correction
``c = H^{-1} g`` is solved with the triangular factor ``M`` of the problem
(``M^T M = H / W``, from :mod:`gradreg.qr_stats`). By the perturbation bound of a symmetric
positive definite system (Higham 2002, *Accuracy and Stability of Numerical Algorithms*,
Thm 7.2), with the factor's backward error
``F eps |Z|`` (``F = 2 (p + sqrt(n))``, the accumulation factor of :mod:`gradreg.optimum`),

.. math::

    |t - t^*| \\le \\frac{|c| + |dg| / \\lambda}{1 - \\eta}, \\qquad
    \\eta = F \\epsilon \\kappa^2 + 2 p \\epsilon \\kappa,

where ``lambda`` and ``kappa`` are the smallest curvature and the condition number of ``Z``
less the factor's rounding (Weyl's inequality). The bound is used only where ``eta <= 1/2``;
then it is about twice the size of the correction. The correction also refines: ``t - c`` is
closer to ``t*`` by the factor ``eta`` (iterative refinement with residuals in twice the
working precision, Higham 2002, section 12.1), so :func:`refine_and_bound` steps until the
corrections reach the rounding of ``t`` and reports the bound of the point it returns.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .objective import Preconditioner

__all__ = ["posterior_bound", "refine_and_bound"]

_EPS = float(np.finfo(float).eps)
_ETA_MAX = 0.5
_BLOCK = 1024  # rows summed apart before their sum joins the total
_SPLITTER = 134217729.0  # 2^27 + 1: Veltkamp's splitting of a float64 into two halves


def refine_and_bound(
    batches, canon: Preconditioner, theta: np.ndarray, factor: np.ndarray, steps: int = 3,
    enough: float = 0.0,
) -> tuple[np.ndarray, float | None]:
    """``theta`` refined by up to ``steps - 1`` corrections, and the bound of the point
    returned (see :func:`posterior_bound`); ``batches()`` gives the rows afresh each time.
    A point whose bound is at most ``enough`` is returned as it is."""
    for step in range(steps):
        measured = _measure(batches(), canon, theta, factor)
        if measured is None:
            return theta, None
        correction, bound = measured
        size = float(np.linalg.norm(correction))
        if (step == steps - 1 or bound <= enough
                or size <= 4 * _EPS * float(np.linalg.norm(theta))):
            return theta, bound
        theta = theta - correction
    return theta, None  # pragma: no cover (the loop returns)


def posterior_bound(
    batches,
    canon: Preconditioner,
    theta: np.ndarray,
    factor: np.ndarray,
) -> float | None:
    """Bound on ``|theta - theta*|_2`` in canonical coordinates, or None where the factor
    cannot resolve the correction (``eta > 1/2``, see the module).

    Parameters
    ----------
    batches : iterable of (X, y, weights)
        The rows, once (``weights`` None for unit weights); any real dtype, taken as float64.
    canon : Preconditioner
        The canonical coordinates of ``theta`` (the plain least-squares problem, no penalty).
    theta : ndarray of shape (p,)
        The point, ``p = d + 1`` with an intercept, ``d`` without.
    factor : ndarray of shape (p, p)
        ``M`` with ``M^T M`` the mean curvature ``Z^T W Z / W`` in canonical coordinates.

    Returns
    -------
    float or None

    Examples
    --------
    >>> import numpy as np
    >>> from gradreg.objective import Preconditioner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)); y = X @ [1.0, 2.0] + 3.0 + rng.normal(size=50)
    >>> canon = Preconditioner(X.mean(0), X.std(0), True, np.zeros(2, bool))
    >>> Z = np.column_stack([(X - X.mean(0)) / X.std(0), np.ones(50)])
    >>> best = np.linalg.lstsq(Z, y, rcond=None)[0]
    >>> M = np.linalg.qr(Z / np.sqrt(50), mode="r")
    >>> bound = posterior_bound([(X, y, None)], canon, best + [1e-6, 0.0, 0.0], M)
    >>> bool(1e-6 <= bound < 1.1e-6)
    True
    """
    measured = _measure(batches, canon, theta, factor)
    return None if measured is None else measured[1]


def _measure(batches, canon, theta, factor):
    """The correction ``c`` at ``theta`` and the bound on ``|theta - theta*|``, or None."""
    fit_intercept = canon.fit_intercept
    p = canon.n_params
    d = p - int(fit_intercept)
    coef, intercept = canon.to_user(theta)
    coef = np.ascontiguousarray(coef, dtype=np.float64)
    high, low, size = np.zeros(p), np.zeros(p), np.zeros(p)
    n_rows, weight_sum, blocks = 0, 0.0, 0
    for X, y, w in batches:
        X = np.asarray(X)
        if X.dtype != np.float64:
            X = X.astype(np.float64)
        y = np.asarray(y, dtype=np.float64)
        weights = np.ones(0) if w is None else np.asarray(w, dtype=np.float64)
        blocks += _dd_gradient(X, y, weights, coef, float(intercept), fit_intercept, high, low,
                               size)
        n_rows += len(y)
        weight_sum += float(len(y)) if w is None else float(np.sum(weights))
    if n_rows == 0 or not weight_sum > 0:
        return None
    g_raw = high + low
    # Sum2's error (Ogita, Rump and Oishi 2005, Prop. 4.5), eps |g| + gamma_m^2 sum |terms|
    # with gamma_m = m eps / (1 - m eps), for the sums within blocks and that of the blocks;
    # twice, for the low parts of the products and of the residuals.
    terms = max(_BLOCK, blocks) + d + 2
    gamma = terms * _EPS / max(1.0 - terms * _EPS, 0.5)
    slack_raw = _EPS * np.abs(g_raw) + 4.0 * gamma**2 * size
    g, slack = _canonical(g_raw, slack_raw, canon, d)
    g, slack = g / weight_sum, slack / weight_sum
    singular = np.linalg.svd(factor, compute_uv=False)
    if singular.size == 0 or not np.all(np.isfinite(singular)):
        return None
    accumulation = 2.0 * (p + math.sqrt(n_rows))
    smallest = singular[-1] - accumulation * _EPS * singular[0]
    if smallest <= 0:
        return None
    kappa = singular[0] / smallest
    eta = accumulation * _EPS * kappa**2 + 2 * p * _EPS * kappa
    if not eta <= _ETA_MAX:
        return None
    correction = np.linalg.solve(factor, np.linalg.solve(factor.T, g))
    total = float(np.linalg.norm(correction)) + float(np.linalg.norm(slack)) / smallest**2
    bound = total / (1.0 - eta)
    return (correction, bound) if math.isfinite(bound) else None


@numba.njit(cache=True, nogil=True, inline="always")
def _two_sum(a, b):
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


@numba.njit(cache=True, nogil=True, inline="always")
def _two_product(a, b):
    p = a * b
    c = _SPLITTER * a
    a1 = c - (c - a)
    a2 = a - a1
    c = _SPLITTER * b
    b1 = c - (c - b)
    b2 = b - b1
    return p, a2 * b2 - (((p - a1 * b1) - a2 * b1) - a1 * b2)


@numba.njit(cache=True, nogil=True)
def _dd_gradient(X, y, weights, coef, intercept, fit_intercept, high, low, size):
    """Add ``-[X 1]^T W r`` (``r = y - X coef - intercept``) of a batch to ``high + low``,
    both the residual and the sums in double-double; ``size`` gathers ``|[X 1]|^T W
    (|X| |coef| + |intercept| + |y|)``, the sizes the rounding is relative to.

    Rows are summed in blocks of ``_BLOCK``, each block's sum then added to the total, so that
    the error of the sums grows with the square of the longer of a block and the number of
    blocks, not of the rows (Ogita, Rump and Oishi 2005, Prop. 4.5, applied twice). Returns
    the number of blocks added."""
    n, d = X.shape
    p = high.shape[0]
    weighted = weights.shape[0] > 0
    block_high = np.zeros(p)
    block_low = np.zeros(p)
    blocks = 0
    for start in range(0, n, _BLOCK):
        block_high[:] = 0.0
        block_low[:] = 0.0
        for i in range(start, min(start + _BLOCK, n)):
            s, e = _two_sum(y[i], -intercept)
            magnitude = abs(y[i]) + abs(intercept)
            for j in range(d):
                product, product_error = _two_product(X[i, j], -coef[j])
                s, t = _two_sum(s, product)
                e += t + product_error
                magnitude += abs(product)
            r_high, r_low = _two_sum(s, e)
            w = weights[i] if weighted else 1.0
            wr_high, wr_error = _two_product(w, r_high)
            wr_low = wr_error + w * r_low
            magnitude *= abs(w)
            for j in range(d):
                product, product_error = _two_product(X[i, j], -wr_high)
                block_high[j], t = _two_sum(block_high[j], product)
                block_low[j] += t + product_error - X[i, j] * wr_low
                size[j] += abs(X[i, j]) * magnitude
            if fit_intercept:
                block_high[d], t = _two_sum(block_high[d], -wr_high)
                block_low[d] += t - wr_low
                size[d] += magnitude
        for j in range(p):
            high[j], t = _two_sum(high[j], block_high[j])
            low[j] += t + block_low[j]
        blocks += 1
    return blocks


def _canonical(g_raw, slack_raw, canon: Preconditioner, d: int):
    """The gradient in canonical coordinates (``Z = (X - shift) / scale``) and a bound on
    its error: that of the raw gradient mapped, plus the rounding of the map itself."""
    if not canon.fit_intercept:
        return g_raw / canon.scale, slack_raw / canon.scale
    g = g_raw.copy()
    shifted = canon.shift * g_raw[d]
    g[:d] = (g_raw[:d] - shifted) / canon.scale
    slack = slack_raw.copy()
    slack[:d] = (slack_raw[:d] + np.abs(canon.shift) * slack_raw[d]
                 + 2 * _EPS * (np.abs(g_raw[:d]) + np.abs(shifted))) / canon.scale
    return g, slack

"""A bound on the error of a refined optimum, measured from the rows themselves.

The optimum's a priori rounding bound (:mod:`gradreg.optimum`) holds for any data of its
condition number and is pessimistic by orders of magnitude once the optimum has been refined
against the rows (:mod:`gradreg.refine`). For rows in memory the error of a point ``t`` can be
measured instead. The least-squares objective is quadratic, so in canonical coordinates
(centred, equilibrated columns ``Z``; weights ``W``)

.. math::

    t - t^* = H^{-1} g, \\qquad H = Z^T W Z, \\qquad g = -Z^T W (y - Z t),

exactly. The gradient ``g`` is formed in double-double arithmetic from the raw rows, one
compiled pass over batches of them (error-free products by a fused multiply-add, sums by
Knuth's TwoSum (Dekker 1971); the running sums of Ogita, Rump and Oishi 2005, "Accurate sum and
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
import os

import numpy as np

from ._chunks import map_parts
from ._jit import compiled, fma
from .objective import Preconditioner

__all__ = ["dd_loss", "measure", "posterior_bound", "refine_and_bound"]

_EPS = float(np.finfo(float).eps)
_ETA_MAX = 0.5
_BLOCK = 1024  # rows summed apart before their sum joins the total
_MAX_WORKERS = 4  # threads sharing each batch (the compiled pass releases the GIL)


def refine_and_bound(
    batches, canon: Preconditioner, theta: np.ndarray, factor: np.ndarray, steps: int = 3,
    enough: float = 0.0, first: tuple | None = None,
) -> tuple[np.ndarray, tuple | None]:
    """``theta`` refined by up to ``steps - 1`` corrections, and the measurement of the point
    returned (:func:`measure`); ``batches()`` gives the rows afresh each time. A point whose
    bound is at most ``enough`` is returned as it is; ``first`` is the measurement of
    ``theta`` when already taken."""
    for step in range(steps):
        if step == 0 and first is not None:
            measured = first
        else:
            measured = measure(batches(), canon, theta, factor)
        if measured is None:
            return theta, None
        correction, bound = measured
        # Corrections within the rounding of each coordinate cannot move the point.
        if (step == steps - 1 or bound <= enough
                or np.all(np.abs(correction) <= 4 * _EPS * np.abs(theta))):
            return theta, measured
        theta = theta - correction
        # The corrected point is as far from t* as the correction is uncertain, ``bound - |c|``
        # (see measure), plus its own rounding: where that is enough, no pass measures it again.
        after = max(bound - float(np.linalg.norm(correction)), 0.0) + 2 * _EPS * float(
            np.linalg.norm(theta))
        if after <= enough:
            return theta, (np.zeros_like(correction), after)
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
    measured = measure(batches, canon, theta, factor)
    return None if measured is None else measured[1]


def measure(batches, canon: Preconditioner, theta: np.ndarray, factor: np.ndarray):
    """The correction ``c`` (``theta - c`` is the better point) and the bound on
    ``|theta - theta*|_2``, or None where the factor cannot resolve ``c``; the bound exceeds
    ``|c|`` by at most ``(eta |c| + |dg| / lambda) / (1 - eta)``, the uncertainty of ``c``
    (see the module)."""
    gathered = _gather(batches, canon, theta)
    if gathered is None:
        return None
    g, slack, n_rows, _ = gathered
    p = canon.n_params
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


def dd_loss(batches, canon: Preconditioner, theta: np.ndarray) -> tuple[float, float] | None:
    """``sum w r^2 / 2`` at ``theta`` (canonical coordinates) as a double-double pair, the
    residuals formed around the shift (no raw intercept is rounded into them)."""
    gathered = _gather(batches, canon, theta)
    return None if gathered is None else gathered[3]


def _gather(batches, canon, theta):
    """Mean gradient in canonical coordinates, a bound on its rounding, the rows, and the
    loss as a double-double pair; None without rows or weight."""
    fit_intercept = canon.fit_intercept
    p = canon.n_params
    d = p - int(fit_intercept)
    shift = np.ascontiguousarray(canon.shift if fit_intercept else np.zeros(d), dtype=np.float64)
    scale = np.ascontiguousarray(canon.scale, dtype=np.float64)
    slopes = np.ascontiguousarray(theta[:d], dtype=np.float64)
    centre = float(theta[d]) if fit_intercept else 0.0
    workers = min(os.cpu_count() or 1, _MAX_WORKERS)
    parts = np.zeros((workers, 3, p))  # per worker: gradient high, low; sizes
    # The loss's high and low parts apart: with one parameter a row of ``parts`` holds one.
    losses = np.zeros((workers, 2))
    n_rows, weight_sum, blocks = 0, 0.0, 0

    for X, y, w in batches:
        X = np.asarray(X)
        if X.dtype != np.float64:
            X = X.astype(np.float64)
        y = np.asarray(y, dtype=np.float64)
        weights = np.ones(0) if w is None else np.asarray(w, dtype=np.float64)
        cuts = np.linspace(0, len(y), workers + 1).astype(int)
        jobs = [(k, X[a:b], y[a:b], weights[a:b] if weights.size else weights)
                for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)) if b > a]

        def run(i, jobs=jobs):  # the kernel releases the GIL
            part, X, y, weights = jobs[i]
            return _dd_gradient(X, y, weights, shift, scale, slopes, centre, fit_intercept,
                                parts[part], losses[part])

        blocks += sum(map_parts(run, len(jobs)))
        n_rows += len(y)
        weight_sum += float(len(y)) if w is None else float(np.sum(weights))
    if n_rows == 0 or not weight_sum > 0:
        return None
    sums, loss_sum = _fold(parts, losses)
    # Sum2's error (Ogita, Rump and Oishi 2005, Prop. 4.5), eps |g| + gamma_m^2 sum |terms|
    # with gamma_m = m eps / (1 - m eps), for the sums within blocks and that of the blocks;
    # twice, for the low parts of the products and of the residuals.
    g = sums[0] + sums[1]
    terms = max(_BLOCK, blocks) + d + 4 + workers
    gamma = terms * _EPS / max(1.0 - terms * _EPS, 0.5)
    slack = _EPS * np.abs(g) + 4.0 * gamma**2 * sums[2]
    loss = (0.5 * float(loss_sum[0]), 0.5 * float(loss_sum[1]))
    return g / weight_sum, slack / weight_sum, n_rows, loss


def _fold(parts: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The workers' double-double sums and losses added into one (TwoSum of the high
    parts)."""
    total, loss = parts[0].copy(), losses[0].copy()
    for part, part_loss in zip(parts[1:], losses[1:], strict=True):
        total[0], error = _pair_sum(total[0], part[0])
        total[1] += part[1] + error
        loss[0], error = _pair_sum(loss[0], part_loss[0])
        loss[1] += part_loss[1] + error
        total[2] += part[2]
    return total, loss


def _pair_sum(a, b):
    """Knuth's TwoSum on arrays or scalars: ``s + e == a + b`` exactly."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


@compiled(nogil=True, inline="always")
def _two_sum(a, b):
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


@compiled(nogil=True, inline="always")
def _two_product(a, b):
    """``p + e == a * b`` exactly, ``p = fl(a * b)``: the error is one fused multiply-add
    (exact whenever no underflow occurs; Muller et al., *Handbook of Floating-Point
    Arithmetic*, 2nd ed., section 4.4.2)."""
    p = a * b
    return p, fma(a, b, -p)


@compiled(nogil=True, inline="always")
def _scaled(x, shift, scale, inverse):
    """``(x - shift) / scale`` as a double-double pair: the quotient ``q`` from the
    reciprocal ``inverse = fl(1 / scale)``, within 2 ulps, then its remainder
    ``a - q scale`` (one fused multiply-add, exact or within eps of itself) divided by the
    same reciprocal: the pair is within a few eps^2 of the quotient, without a division."""
    a_high, a_low = _two_sum(x, -shift)
    q = a_high * inverse
    remainder = fma(-q, scale, a_high)
    return q, (remainder + a_low) * inverse


@compiled(nogil=True)
def _dd_gradient(X, y, weights, shift, scale, slopes, centre, fit_intercept, sums, loss_sum):
    """Add a batch's ``-Z^T W r`` (``z = (x - shift) / scale``, ones for the intercept) with
    ``r = y - centre - z . slopes`` to ``sums[0] + sums[1]``, the differences, quotients,
    residuals and sums in double-double; ``sums[2]`` gathers the sizes the rounding is
    relative to, ``loss_sum`` the loss ``sum w r^2`` as a high and a low part.

    Rows are summed in blocks of ``_BLOCK``, each block's sum then added to the total, so that
    the error of the sums grows with the square of the longer of a block and the number of
    blocks, not of the rows (Ogita, Rump and Oishi 2005, Prop. 4.5, applied twice). Returns
    the number of blocks added."""
    n, d = X.shape
    p = sums.shape[1]
    weighted = weights.shape[0] > 0
    inverse = 1.0 / scale
    z_highs = np.empty(d)  # the row's scaled values, formed once for both loops
    z_lows = np.empty(d)
    block = np.zeros((2, p))
    loss = np.zeros(2)
    blocks = 0
    for start in range(0, n, _BLOCK):
        block[:] = 0.0
        loss[:] = 0.0
        for i in range(start, min(start + _BLOCK, n)):
            s, e = _two_sum(y[i], -centre)
            # The rounding that follows is relative to the residual's terms: y - centre is
            # exact as s + e (a target near 1e15 less an intercept near it is of the size of
            # the residuals, not of 2e15).
            magnitude = abs(s) + abs(e)
            for j in range(d):
                z_high, z_low = _scaled(X[i, j], shift[j], scale[j], inverse[j])
                z_highs[j] = z_high
                z_lows[j] = z_low
                product, product_error = _two_product(z_high, -slopes[j])
                s, t = _two_sum(s, product)
                e += t + product_error - z_low * slopes[j]
                magnitude += abs(product)
            r_high, r_low = _two_sum(s, e)
            w = weights[i] if weighted else 1.0
            wr_high, wr_error = _two_product(w, r_high)
            wr_low = wr_error + w * r_low
            magnitude *= abs(w)
            square, square_error = _two_product(wr_high, r_high)
            loss[0], t = _two_sum(loss[0], square)
            loss[1] += t + square_error + wr_high * r_low + wr_low * r_high
            for j in range(d):
                z_high, z_low = z_highs[j], z_lows[j]
                product, product_error = _two_product(z_high, -wr_high)
                block[0, j], t = _two_sum(block[0, j], product)
                block[1, j] += t + product_error - z_high * wr_low - z_low * wr_high
                sums[2, j] += abs(z_high) * magnitude
            if fit_intercept:
                block[0, d], t = _two_sum(block[0, d], -wr_high)
                block[1, d] += t - wr_low
                sums[2, d] += magnitude
        for j in range(p):
            sums[0, j], t = _two_sum(sums[0, j], block[0, j])
            sums[1, j] += t + block[1, j]
        loss_sum[0], t = _two_sum(loss_sum[0], loss[0])
        loss_sum[1] += t + loss[1]
        blocks += 1
    return blocks



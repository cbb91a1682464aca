"""A bound on the error of a refined optimum, measured from the rows themselves.

The optimum's a priori rounding bound (:mod:`gradreg.optimum`) holds for any data of its
condition number and is pessimistic by orders of magnitude once the optimum has been refined
against the rows (:mod:`gradreg.refine`). For rows in memory the error of a point ``t`` can be
measured instead. The least-squares objective is quadratic, so in canonical coordinates
(centred, equilibrated columns ``Z``; weights ``W``)

.. math::

    t - t^* = H^{-1} g, \\qquad H = Z^T W Z, \\qquad g = -Z^T W (y - Z t),

exactly. The gradient ``g`` is formed in double-double arithmetic from the raw rows (Dekker
1971; the sums of Ogita, Rump and Oishi 2005), with a stated bound ``|dg|`` on what remains of
its rounding, and the correction ``c = H^{-1} g`` is solved with the Householder factor of
``W^{1/2} Z``. By the perturbation bound of a symmetric positive definite system (Higham 2002,
*Accuracy and Stability of Numerical Algorithms*, Thm 7.2), with the factor's backward error
``F eps |Z|`` (``F = 2 (p + sqrt(n))``, the accumulation factor of :mod:`gradreg.optimum`),

.. math::

    |t - t^*| \\le \\frac{|c| + |dg| / \\lambda}{1 - \\eta}, \\qquad
    \\eta = F \\epsilon \\kappa^2 + 2 p \\epsilon \\kappa,

where ``lambda`` and ``kappa`` are the smallest curvature and the condition number of ``Z``
less the factor's rounding (Weyl's inequality). The bound is used only where ``eta <= 1/2``;
then it is about twice the size of the last correction, which after refinement is of the
order of ``eps |t|``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from .objective import Preconditioner
from .refine import _Rows

__all__ = ["posterior_bound"]

_EPS = float(np.finfo(float).eps)
_UNIT = _EPS / 2  # unit roundoff of float64
_ETA_MAX = 0.5


def posterior_bound(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    canon: Preconditioner,
    theta: np.ndarray,
) -> float | None:
    """Bound on ``|theta - theta*|_2`` in canonical coordinates, or None where the
    factor cannot resolve the correction (``eta > 1/2``, see the module).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The raw rows (converted to float64: exact for float32 and integers below 2^53).
    y : ndarray of shape (n,)
    weights : ndarray of shape (n,) or None
    canon : Preconditioner
        The canonical coordinates of ``theta`` (no penalty: the plain least-squares problem).
    theta : ndarray of shape (p,)
        The point, ``p = d + 1`` with an intercept, ``d`` without.

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
    >>> bound = posterior_bound(X, y, None, canon, best + [1e-6, 0.0, 0.0])
    >>> bool(1e-6 <= bound < 1.1e-6)
    True
    """
    rows = _Rows(X)
    y = np.asarray(y, dtype=np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    n, d = rows.X.shape
    fit_intercept = canon.fit_intercept
    p = d + int(fit_intercept)
    coef, intercept = canon.to_user(theta)
    high, low = rows.residual(y, np.zeros_like(y), coef, intercept, rounded=False)
    g_raw = rows.normal_residual(w, high, fit_intercept) + rows.normal_residual(
        w, low, fit_intercept)
    slack_raw = _gradient_slack(rows.X, y, w, coef, intercept, fit_intercept, n + p)
    slack_raw = slack_raw + _UNIT * np.abs(g_raw)  # the sums rounded to float64
    g, slack = _canonical(g_raw, slack_raw, canon, d)
    Z = canon.transform(rows.X)
    if fit_intercept:
        Z = np.column_stack([Z, np.ones(n)])
    if w is not None:
        Z *= np.sqrt(w)[:, None]
    R = scipy.linalg.qr(np.asfortranarray(Z), mode="r", overwrite_a=True,
                        check_finite=False)[0][:p]
    singular = np.linalg.svd(R, compute_uv=False)
    if singular.size == 0 or not np.all(np.isfinite(singular)):
        return None
    factor = 2.0 * (p + math.sqrt(n))
    smallest = singular[-1] - factor * _EPS * singular[0]
    if smallest <= 0:
        return None
    kappa = singular[0] / smallest
    eta = factor * _EPS * kappa**2 + 2 * p * _EPS * kappa
    if not eta <= _ETA_MAX:
        return None
    h = scipy.linalg.solve_triangular(R, g, trans="T", check_finite=False)
    correction = scipy.linalg.solve_triangular(R, h, check_finite=False)
    size = float(np.linalg.norm(correction)) + float(np.linalg.norm(slack)) / smallest**2
    bound = size / (1.0 - eta)
    return bound if math.isfinite(bound) else None


def _gradient_slack(X, y, w, coef, intercept, fit_intercept, terms) -> np.ndarray:
    """Bound on the rounding left in the double-double gradient ``-[X 1]^T W r``:
    ``terms`` operations of relative error ``eps^2`` on the sizes of the products summed."""
    size = np.abs(X) @ np.abs(coef) + abs(intercept) + np.abs(y)
    if w is not None:
        size = size * np.abs(w)
    slack = np.abs(X).T @ size
    if fit_intercept:
        slack = np.append(slack, size.sum())
    return 4.0 * terms * _EPS**2 * slack


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

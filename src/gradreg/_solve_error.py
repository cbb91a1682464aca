"""The error of solving a penalized problem's own equations, measured and reduced.

A ridge penalty on coefficients of very different sizes gives the canonical curvature
``H = A + diag(l2)`` a diagonal spread over many orders of magnitude (``l2_j = alpha / s_j^2``
for a column of spread ``s_j``), hence a large condition number ``kappa(H)``, although a
diagonal scaling makes ``H`` well conditioned. The normwise bound ``eps kappa(H)`` of a
backward-stable solve is then far too large for the data's rounding and, worse, the
eigendecomposition's error can reach it in fact (1.8e-9 was seen where the data's rounding
allowed 1e-13).

Here the residual of the equations at the computed minimiser is formed as if in
double-double (:func:`gradreg.refine.dd_dot`, one rounding), one correction step is taken
when it lowers that residual, and the remaining distance to the exact solution of the
float64 equations is bounded componentwise: ``|theta - theta*| <= |H^-1| (|r| + slack)``
to first order, doubled for the error of the computed ``H^-1`` (Higham 2002, sections 7.2
and 12.1: the componentwise, Skeel-type bound of iterative refinement). The rounding of the
data themselves is bounded apart, in :mod:`gradreg.optimum`.
"""

from __future__ import annotations

import numpy as np

from .objective import FactoredQuadratic
from .refine import dd_dot

__all__ = ["refined_penalized_solve"]

_EPS = float(np.finfo(float).eps)


def _residual(canonical, theta: np.ndarray, centred: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``beta - H theta`` (the negative gradient) with each entry rounded once, and a bound
    on the error of each entry; ``theta`` is the step from the objective's centre when
    ``centred``."""
    p = theta.shape[0]
    if isinstance(canonical, FactoredQuadratic):
        M, q = canonical.M, canonical.q
        if centred:
            # -(M step + (M centre - q)): no term of the size of the centre's intercept.
            at_centre = canonical.residual_at_centre
            u = np.array([-dd_dot(np.append(M[k], 1.0), np.append(theta, at_centre[k]))
                          for k in range(M.shape[0])])
            centre = canonical.centre
        else:
            u = np.array([-dd_dot(np.append(M[k], -1.0), np.append(theta, q[k]))
                          for k in range(M.shape[0])])  # q - M theta
            centre = np.zeros(p)
        l2 = canonical.penalty.l2_weights
        r = np.array([dd_dot(np.append(M[:, j], [-l2[j], -l2[j]]),
                             np.append(u, [theta[j], centre[j]])) for j in range(p)])
        # u rounded once: its error eps |u| reaches r through M^T.
        slack = _EPS * (np.abs(r) + np.abs(M).T @ np.abs(u))
        return r, 2.0 * slack
    H, beta = canonical.hessian, canonical.beta
    r = np.array([-dd_dot(np.append(H[i], -1.0), np.append(theta, beta[i])) for i in range(p)])
    return r, 2.0 * _EPS * np.abs(r)


def refined_penalized_solve(
    canonical, theta: np.ndarray, eigenvalues: np.ndarray, vectors: np.ndarray, keep: np.ndarray,
    step: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The minimiser refined once against its double-double residual, and an entrywise bound
    on its distance to the exact minimiser of the float64 equations.

    Parameters
    ----------
    canonical : Quadratic or FactoredQuadratic
        The penalized objective in canonical coordinates.
    theta : ndarray of shape (p,)
        Its computed minimiser.
    eigenvalues, vectors, keep : ndarray
        The curvatures (ascending) and their vectors from which ``theta`` was solved, and the
        mask of those kept by the rank cut.
    step : ndarray of shape (p,), optional
        ``theta`` less the factored objective's centre, unrounded: refined and bounded in its
        place, since ``theta`` holds an intercept of 4e11 only to 6e-5, a residual the
        bound would otherwise count against the slopes.

    Returns
    -------
    theta : ndarray of shape (p,)
    bound : ndarray of shape (p,)
        Entrywise bound on ``|theta - theta*|``.
    """
    inverse = np.where(keep, 1.0 / np.where(keep, eigenvalues, 1.0), 0.0)
    H_inverse = (vectors * inverse) @ vectors.T
    centred = step is not None and isinstance(canonical, FactoredQuadratic) \
        and canonical.centre is not None
    point = step if centred else theta
    r, slack = _residual(canonical, point, centred)
    candidate = point + H_inverse @ r
    r_new, slack_new = _residual(canonical, candidate, centred)
    if np.linalg.norm(r_new) < np.linalg.norm(r):
        point, r, slack = candidate, r_new, slack_new
    theta = canonical.centre + point if centred else point
    return theta, 2.0 * (np.abs(H_inverse) @ (np.abs(r) + slack))

"""The exact optimum gradient descent is heading for, and the gap to it.

From the statistics the optimum costs one eigendecomposition of a (d+1) x (d+1) matrix (least
squares and ridge) or a few hundred O(d^2) coordinate-descent sweeps on the Gram matrix,
polished by an exact solve on the active set (lasso and elastic net). Rank-deficient problems
get the minimum-norm solution in the scaled coordinates, the point that gradient descent started
from zero converges to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objective import Quadratic

__all__ = ["Optimum", "exact_optimum"]

# Eigenvalues below this fraction of the largest are numerically zero: the Gram matrix of
# standardized data is formed in float64, whose rounding is about 1e-16 of its largest entry.
RANK_RTOL = 1e-13
# Floor of the relative-gap denominator, as a fraction of the best constant model's loss, so
# that a perfect fit (optimum zero) still gets a finite relative gap.
_GAP_FLOOR = 1e-12
# Safety factor on the rounding of one gradient evaluation (a few operations per entry).
_ROUNDING = 1.0
_CD_MAX_SWEEPS = 1_000
_FISTA_MAX_STEPS = 200_000
_CD_TOL = 1e-15


@dataclass(frozen=True)
class Optimum:
    """The minimiser ``theta``, its objective ``value``, the numerical rank and the curvature."""

    theta: np.ndarray
    value: float
    rank: int
    eigenvalues: np.ndarray
    grad: np.ndarray  # gradient of the smooth part at the optimum
    reference: float

    @property
    def condition_number(self) -> float:
        top = self.eigenvalues[-1]
        kept = self.eigenvalues[self.eigenvalues > RANK_RTOL * top]
        return float(top / kept[0]) if kept.size and top > 0 else float("inf")

    @property
    def precision_floor(self) -> float:
        """Smallest relative gap float64 can certify for this problem.

        Rounding perturbs the gradient by about ``eps * |H| |theta*|``; near the optimum that
        is a gap of ``|delta g|^2 / (2 lambda_min)``, which grows with the condition number.
        """
        eigenvalues = self.eigenvalues
        top = eigenvalues[-1]
        kept = eigenvalues[eigenvalues > RANK_RTOL * top]
        if not kept.size or top <= 0:
            return 0.0
        p = eigenvalues.shape[0]
        noise = _ROUNDING * np.finfo(float).eps * top * np.linalg.norm(self.theta)
        return 0.5 * noise**2 / (p * kept[0]) / self._denominator()

    def _denominator(self) -> float:
        return max(self.value, _GAP_FLOOR * self.reference, np.finfo(float).tiny)

    def absolute_gap(self, problem: Quadratic, theta: np.ndarray) -> float:
        """``f(theta) - f*``, formed from the difference to avoid cancellation."""
        delta = theta - self.theta
        smooth = float(self.grad @ delta) + 0.5 * float(delta @ (problem.hessian @ delta))
        l1 = problem.penalty.l1_value(theta) - problem.penalty.l1_value(self.theta)
        return max(smooth + l1, 0.0)

    def relative_gap(self, problem: Quadratic, theta: np.ndarray) -> float:
        """``(f(theta) - f*) / f*`` (with a floor for perfect fits)."""
        return self.absolute_gap(problem, theta) / self._denominator()


def exact_optimum(problem: Quadratic) -> Optimum:
    """Minimiser of least squares plus penalty, from the problem's statistics."""
    hessian = problem.hessian
    eigenvalues, vectors = problem.eigen()
    top = max(eigenvalues[-1], 0.0)
    keep = eigenvalues > RANK_RTOL * top
    rank = int(keep.sum())
    if problem.penalty.has_l1:
        theta = _elastic_net_gram(hessian, problem.beta, problem.penalty.l1_weights, top)
    else:
        inverse = np.where(keep, 1.0 / np.where(keep, eigenvalues, 1.0), 0.0)
        theta = vectors @ (inverse * (vectors.T @ problem.beta))
    value = problem.value(theta)
    grad = hessian @ theta - problem.beta
    return Optimum(theta, value, rank, eigenvalues, grad, problem.reference)


def _elastic_net_gram(
    hessian: np.ndarray, beta: np.ndarray, l1: np.ndarray, lipschitz: float
) -> np.ndarray:
    """Minimiser of ``t^T H t / 2 - beta^T t + sum l1_j |t_j|`` on the Gram matrix.

    Accelerated proximal gradient (vectorised, so fast even when many steps are needed) finds
    the support; coordinate descent then settles exact zeros, and an exact solve on the active
    set polishes the result to machine precision.
    """
    theta = _fista_gram(hessian, beta, l1, lipschitz)
    return _coordinate_descent(hessian, beta, l1, theta)


def _fista_gram(hessian: np.ndarray, beta: np.ndarray, l1: np.ndarray, lipschitz: float):
    if lipschitz <= 0:
        return np.zeros_like(beta)
    step = 1.0 / lipschitz
    x = np.zeros_like(beta)
    y = x.copy()
    t = 1.0
    scale = max(float(np.abs(beta).max()), 1e-300)
    for _ in range(_FISTA_MAX_STEPS):
        moved = y - step * (hessian @ y - beta)
        x_new = np.sign(moved) * np.maximum(np.abs(moved) - step * l1, 0.0)
        if float((y - x_new) @ (x_new - x)) > 0:
            t = 1.0
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        change = float(np.abs(x_new - x).max()) * lipschitz
        x, t = x_new, t_new
        if change <= _CD_TOL * scale:
            break
    return x


def _coordinate_descent(
    hessian: np.ndarray, beta: np.ndarray, l1: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    p = beta.shape[0]
    theta = theta.copy()
    h_theta = hessian @ theta
    diagonal = np.diag(hessian).copy()
    scale = max(float(np.abs(beta).max()), 1e-300)
    for _ in range(_CD_MAX_SWEEPS):
        largest_change = 0.0
        for j in range(p):
            if diagonal[j] <= 0:
                continue
            old = theta[j]
            rho = beta[j] - h_theta[j] + diagonal[j] * old
            new = np.sign(rho) * max(abs(rho) - l1[j], 0.0) / diagonal[j]
            if new != old:
                h_theta += hessian[:, j] * (new - old)
                theta[j] = new
                largest_change = max(largest_change, abs(new - old) * diagonal[j])
        if largest_change <= _CD_TOL * scale:
            break
    return _polish(hessian, beta, l1, theta)


def _polish(hessian: np.ndarray, beta: np.ndarray, l1: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Solve exactly on the active set; keep the result only if it satisfies the KKT rules."""
    active = theta != 0
    if not active.any():
        return theta
    signs = np.sign(theta[active])
    sub = hessian[np.ix_(active, active)]
    try:
        solved = np.linalg.solve(sub, beta[active] - l1[active] * signs)
    except np.linalg.LinAlgError:
        return theta
    if np.any(np.sign(solved) != signs):
        return theta
    candidate = np.zeros_like(theta)
    candidate[active] = solved
    grad = hessian @ candidate - beta
    inactive = ~active
    slack = 1e-9 * max(1.0, float(np.abs(beta).max()))
    if np.any(np.abs(grad[inactive]) > l1[inactive] + slack):
        return theta
    return candidate

"""Least squares plus a penalty, in the scaled coordinates gradient descent works in.

The model ``y = X w + b`` is fitted in coordinates ``z = (x - shift) / scale``: with the default
standardisation ``shift`` is the column mean and ``scale`` the standard deviation, which makes
the intercept independent of the slopes and the curvature of the problem close to one in every
direction. This is a preconditioner only: :class:`Preconditioner` maps the parameters
``theta = [v, c]`` back to coefficients in the user's units, ``w = v / scale`` and
``b = c - shift . w``.

The smooth part of the objective is

.. math::  f(\\theta) = \\frac{1}{2W}\\sum_i w_i (y_i - \\tilde z_i^T\\theta)^2
           = \\tfrac12 \\theta^T A \\theta - \\beta^T\\theta + \\tfrac12 \\gamma,

with ``z~ = [z, 1]``. :class:`Quadratic` evaluates it from :class:`SufficientStats` in O(d^2)
whatever the number of rows; :func:`batch_loss_and_grad` evaluates it on a batch of raw rows,
the route of stochastic methods and of very many features. Both give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .penalties import ScaledPenalty
from .stats import ColumnMoments, SufficientStats

__all__ = [
    "CoordinateMap",
    "DataObjective",
    "FactoredQuadratic",
    "Preconditioner",
    "Quadratic",
    "batch_loss_and_grad",
    "constant_columns",
    "reference_loss",
]

_EPS_CONSTANT = float(np.finfo(float).eps)


def constant_columns(spread: np.ndarray, mean: np.ndarray, n_rows: int) -> np.ndarray:
    """Columns whose spread is what rounding leaves of a constant column, no more.

    The statistics pass subtracts an origin of the column's own type (exactly), so a constant
    column leaves the same difference ``delta`` (at most an ulp of the mean, ``2 eps |mean|``)
    in every row, and only the rounding of its cross-products, about ``sqrt(n eps) delta`` in
    spread. Four times that is the cut. A column that differs by one ulp in a single row of
    ``n`` has a spread of about ``ulp / sqrt(n)``, above the cut up to some 3e7 rows; values
    of 1e12 spread by 1 (8000 ulps) are far above it, where a cut relative to the mean alone
    (1e-12) called them constant.
    """
    cut = 8.0 * math.sqrt(max(n_rows, 1) * _EPS_CONSTANT) * _EPS_CONSTANT * np.abs(mean)
    return (spread <= cut) | (spread == 0)


@dataclass(frozen=True)
class Preconditioner:
    """Shift and scale of each feature; the link between ``theta`` and user coefficients."""

    shift: np.ndarray
    scale: np.ndarray
    fit_intercept: bool
    constant: np.ndarray  # bool mask of columns with no spread

    @property
    def n_features(self) -> int:
        return self.shift.shape[0]

    @property
    def n_params(self) -> int:
        return self.n_features + int(self.fit_intercept)

    @classmethod
    def from_stats(
        cls, stats: SufficientStats | ColumnMoments, fit_intercept: bool, standardize: bool = True
    ) -> Preconditioner:
        d = stats.n_features
        mean = stats.mean_x
        variance = np.clip(stats.sxx_diag / max(stats.weight_sum, 1e-300), 0.0, None)
        spread = np.sqrt(variance)
        constant = constant_columns(spread, mean, int(stats.n_rows))
        if not standardize:
            return cls(np.zeros(d), np.ones(d), fit_intercept, constant)
        if fit_intercept:
            scale = np.where(constant, 1.0, spread)
            return cls(mean.copy(), scale, True, constant)
        rms = np.sqrt(variance + mean**2)
        scale = np.where(rms > 0, rms, 1.0)
        return cls(np.zeros(d), scale, False, rms == 0)

    def to_user(self, theta: np.ndarray) -> tuple[np.ndarray, float]:
        """Coefficients and intercept in the user's units."""
        coef = theta[: self.n_features] / self.scale
        intercept = float(theta[-1] - self.shift @ coef) if self.fit_intercept else 0.0
        return coef, intercept

    def from_user(self, coef: np.ndarray, intercept: float) -> np.ndarray:
        """``theta`` for given user coefficients (for warm starts)."""
        v = np.asarray(coef, dtype=np.float64) * self.scale
        if not self.fit_intercept:
            return v.copy()
        return np.append(v, intercept + self.shift @ np.asarray(coef, dtype=np.float64))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scaled features ``z`` of a batch of raw rows (float64)."""
        return (np.asarray(X, dtype=np.float64) - self.shift) / self.scale

    def to_dict(self) -> dict:
        return {
            "shift": self.shift.tolist(),
            "scale": self.scale.tolist(),
            "fit_intercept": self.fit_intercept,
            "constant": self.constant.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Preconditioner:
        return cls(
            np.asarray(data["shift"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            bool(data["fit_intercept"]),
            np.asarray(data["constant"], dtype=bool),
        )


class Quadratic:
    """``f(theta) = theta^T A theta / 2 - beta^T theta + gamma / 2 + penalty``, from statistics.

    Each evaluation costs O(d^2), independent of the number of rows.
    """

    def __init__(
        self, stats: SufficientStats, precond: Preconditioner, penalty: ScaledPenalty
    ) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            self._build(stats, precond, penalty)

    @property
    def finite(self) -> bool:
        return bool(np.all(np.isfinite(self._hessian)) and np.all(np.isfinite(self.beta))
                    and np.isfinite(self.gamma))

    def _build(
        self, stats: SufficientStats, precond: Preconditioner, penalty: ScaledPenalty
    ) -> None:
        d = stats.n_features
        W = stats.weight_sum
        offset = (stats.mean_x - precond.shift) / precond.scale
        scale = precond.scale
        p = precond.n_params
        A = np.empty((p, p))
        beta = np.empty(p)
        A[:d, :d] = stats.sxx / W / np.outer(scale, scale) + np.outer(offset, offset)
        beta[:d] = stats.sxy / W / scale + offset * stats.mean_y
        if precond.fit_intercept:
            A[:d, d] = A[d, :d] = offset
            A[d, d] = 1.0
            beta[d] = stats.mean_y
        self.A = A
        self.beta = beta
        self.gamma = float(np.float64(stats.syy) / W + np.float64(stats.mean_y) ** 2)
        # The value's centred parts (see _value): gamma, beta's intercept and A's offsets hold
        # the target's level squared, and their difference would round it away.
        self._offset = offset
        self._mean_y = float(stats.mean_y)
        self._sxy = stats.sxy / W / scale
        self._syy = float(np.float64(stats.syy) / W)
        # The objective of the best constant model: the natural scale of the loss.
        self.reference = reference_loss(stats, precond.fit_intercept)
        self.penalty = penalty
        self.n_params = p
        self._hessian = A + np.diag(penalty.l2_weights)
        self._eigen: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def hessian(self) -> np.ndarray:
        """Hessian of the smooth part (least squares plus the L2 penalty)."""
        return self._hessian

    def eigen(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues and eigenvectors of the Hessian, computed once (O(d^3))."""
        if self._eigen is None:
            self._eigen = np.linalg.eigh(self._hessian)
        return self._eigen

    def lipschitz(self) -> float:
        return float(self.eigen()[0][-1])

    def smooth_value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        Ht = self._hessian @ theta
        l2 = self.penalty.l2_weights
        return self._value(theta, Ht, l2), Ht - self.beta

    def _value(self, theta: np.ndarray, product: np.ndarray, l2: np.ndarray) -> float:
        """``theta^T H theta / 2 - beta^T theta + gamma / 2`` from its centred parts, with
        ``product = H theta`` and ``H = A + diag(l2)``.

        With ``v`` the slopes, ``c`` the intercept (0 without one), ``o`` the columns' offsets
        and ``S``, ``s``, ``g`` the centred cross-products of ``[z, y]``, the value is
        ``v^T (S + diag(l2)) v / 2 - s^T v + g / 2 + (c + o^T v - mean_y)^2 / 2 + l2_c c^2 /
        2``: the level of the target enters only through the intercept's own residual
        ``c + o^T v - mean_y``. Formed as the identity's left side, terms of the size of
        ``mean_y^2`` (5e23 for a target near 1e12) left the value, often a hundredth of a
        unit, as their rounding (0, or +-7e7).
        """
        d = self._offset.shape[0]
        v = theta[:d]
        along = float(self._offset @ v)
        c = float(theta[d]) if theta.shape[0] > d else 0.0
        # v^T (S + diag(l2)) v: the product's slope part less what the offsets add to it.
        curvature = float(v @ (product[:d] - self._offset * (along + c)))
        residual = c + along - self._mean_y
        intercept_l2 = float(l2[d]) * c * c if theta.shape[0] > d else 0.0
        return (0.5 * curvature - float(self._sxy @ v) + 0.5 * self._syy
                + 0.5 * residual * residual + 0.5 * intercept_l2)

    def hvp(self, vector: np.ndarray) -> np.ndarray:
        return self._hessian @ vector

    def value(self, theta: np.ndarray) -> float:
        smooth, _ = self.smooth_value_and_grad(theta)
        return smooth + self.penalty.l1_value(theta)

    def mean_squared_error(self, theta: np.ndarray) -> float:
        """``(1/W) sum w (y - prediction)^2``: the least-squares part alone, unhalved."""
        return max(2.0 * self._value(theta, self.A @ theta, np.zeros(self.n_params)), 0.0)


def reference_loss(stats: SufficientStats | ColumnMoments, fit_intercept: bool) -> float:
    """The loss of the best constant model (zero without an intercept): the loss's scale."""
    with np.errstate(over="ignore"):
        centred = np.float64(stats.syy) / stats.weight_sum
        return float(0.5 * (centred if fit_intercept else centred + np.float64(stats.mean_y) ** 2))


def batch_loss_and_grad(
    theta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    precond: Preconditioner,
) -> tuple[float, np.ndarray, float]:
    """Sum of weighted half squared residuals over one batch, its gradient, and the weight sum.

    The sums are not divided by the weight sum so that batches add up; divide both by the
    total weight for the mean objective.
    """
    d = precond.n_features
    z = precond.transform(X)
    residual = z @ theta[:d] - y
    if precond.fit_intercept:
        residual += theta[d]
    weighted = residual if weights is None else residual * weights
    grad = np.empty_like(theta)
    grad[:d] = z.T @ weighted
    if precond.fit_intercept:
        grad[d] = weighted.sum()
    loss = 0.5 * float(residual @ weighted)
    total = float(len(y)) if weights is None else float(weights.sum())
    return loss, grad, total


class DataObjective:
    """The same objective evaluated by passes over the data, for when d^2 is too large.

    ``batches`` is a callable returning a fresh iterable of ``(X, y, weights)`` batches.
    """

    def __init__(
        self,
        batches: Callable[[], Iterable[tuple[np.ndarray, np.ndarray, np.ndarray | None]]],
        precond: Preconditioner,
        penalty: ScaledPenalty,
        reference: float,
    ) -> None:
        self._batches = batches
        self.precond = precond
        self.penalty = penalty
        self.n_params = precond.n_params
        self.reference = reference
        self._lipschitz: float | None = None

    def smooth_value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad, total = 0.0, np.zeros_like(theta), 0.0
        for X, y, w in self._batches():
            batch_loss, batch_grad, batch_total = batch_loss_and_grad(theta, X, y, w, self.precond)
            loss += batch_loss
            grad += batch_grad
            total += batch_total
        value = loss / total + self.penalty.smooth_value(theta)
        return value, grad / total + self.penalty.smooth_grad(theta)

    def hvp(self, vector: np.ndarray) -> np.ndarray:
        # The gradient at ``vector`` with all targets zero is exactly the Hessian product.
        product, total = np.zeros_like(vector), 0.0
        for X, y, w in self._batches():
            _, grad, batch_total = batch_loss_and_grad(vector, X, np.zeros_like(y), w, self.precond)
            product += grad
            total += batch_total
        return product / total + self.penalty.smooth_grad(vector)

    def lipschitz(self, iterations: int = 30, seed: int = 0) -> float:
        """Largest curvature by power iteration (each step is a pass over the data)."""
        if self._lipschitz is None:
            vector = np.random.default_rng(seed).standard_normal(self.n_params)
            estimate = 1.0
            for _ in range(iterations):
                vector /= np.linalg.norm(vector)
                image = self.hvp(vector)
                estimate = float(np.linalg.norm(image))
                vector = image
            # Power iteration approaches from below; a small margin keeps 1/L steps stable.
            self._lipschitz = 1.05 * estimate
        return self._lipschitz

    def value(self, theta: np.ndarray) -> float:
        smooth, _ = self.smooth_value_and_grad(theta)
        return smooth + self.penalty.l1_value(theta)


@dataclass(frozen=True)
class CoordinateMap:
    """The linear map from one set of coordinates to another of the same model.

    For preconditioners ``source`` and ``target`` it sends ``theta`` to the parameters that
    describe the same coefficients and intercept in ``target``'s coordinates:
    ``T = [[diag(a), 0], [b^T, 1]]`` with ``a = target.scale / source.scale`` and
    ``b = (target.shift - source.shift) / source.scale`` (``T = diag(a)`` without an intercept).
    """

    a: np.ndarray
    b: np.ndarray
    fit_intercept: bool

    @classmethod
    def between(cls, source: Preconditioner, target: Preconditioner) -> CoordinateMap:
        a = target.scale / source.scale
        b = (target.shift - source.shift) / source.scale
        return cls(a, b, source.fit_intercept)

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        d = self.a.shape[0]
        out = np.empty_like(theta)
        out[:d] = self.a * theta[:d]
        if self.fit_intercept:
            out[d] = theta[d] + float(self.b @ theta[:d])
        return out

    def inverse(self, theta: np.ndarray) -> np.ndarray:
        d = self.a.shape[0]
        out = np.empty_like(theta)
        out[:d] = theta[:d] / self.a
        if self.fit_intercept:
            out[d] = theta[d] - float(self.b @ out[:d])
        return out

    def adjoint(self, vector: np.ndarray) -> np.ndarray:
        d = self.a.shape[0]
        out = np.empty_like(vector)
        out[:d] = self.a * vector[:d]
        if self.fit_intercept:
            out[:d] += self.b * vector[d]
            out[d] = vector[d]
        return out

    def matrix(self) -> np.ndarray:
        d = self.a.shape[0]
        p = d + int(self.fit_intercept)
        T = np.zeros((p, p))
        T[np.arange(d), np.arange(d)] = self.a
        if self.fit_intercept:
            T[d, :d] = self.b
            T[d, d] = 1.0
        return T


class FactoredQuadratic(Quadratic):
    """The objective of :class:`Quadratic` from a triangular factor instead of the Gram matrix.

    The least-squares part is ``(|M theta - q|^2 + rho^2) / 2``, ``M`` (p, p) being the factor
    ``R`` of :mod:`gradreg.qr_stats` carried into the descent coordinates. Values and gradients
    are formed from the residual ``M theta - q`` (``g = M^T (M theta - q)``), never from
    ``M^T M``, so their rounding follows the condition number of the design, not its square.
    ``A``, ``beta`` and ``gamma`` are still formed, for the curvature estimates only.
    """

    def __init__(
        self, M: np.ndarray, q: np.ndarray, rho: float, penalty: ScaledPenalty, reference: float,
        centre: np.ndarray | None = None, residual_at_centre: np.ndarray | None = None,
    ) -> None:
        self.M = M
        self.q = q
        # Residuals are formed around ``centre`` where one is given (see recentred):
        # ``M (theta - centre) + (M centre - q)``, the second part kept from construction
        # (or given exactly, where the caller knows it: see gradreg.optimum.factored_objective).
        self.centre = centre
        if centre is None:
            self._offset = None
        else:
            self._offset = M @ centre - q if residual_at_centre is None else residual_at_centre
        self.rho = float(rho)
        self.A = M.T @ M
        self.beta = M.T @ q
        self.gamma = float(q @ q + self.rho**2)
        self.reference = reference
        self.penalty = penalty
        self.n_params = M.shape[1]
        self._hessian = self.A + np.diag(penalty.l2_weights)
        self._eigen = None

    def _residual(self, theta: np.ndarray) -> np.ndarray:
        if self.centre is None:
            return self.M @ theta - self.q
        return self.M @ (theta - self.centre) + self._offset

    def smooth_value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        residual = self._residual(theta)
        value = 0.5 * (float(residual @ residual) + self.rho**2)
        grad = self.M.T @ residual
        return value + self.penalty.smooth_value(theta), grad + self.penalty.smooth_grad(theta)

    def hvp(self, vector: np.ndarray) -> np.ndarray:
        return self.M.T @ (self.M @ vector) + self.penalty.l2_weights * vector

    def mean_squared_error(self, theta: np.ndarray) -> float:
        residual = self._residual(theta)
        return float(residual @ residual) + self.rho**2

    def recentred(self, theta: np.ndarray) -> FactoredQuadratic:
        """The same curvature with its minimiser moved to ``theta`` and the same value there.

        For an optimum refined against the rows themselves (:mod:`gradreg.refine`), which is
        more accurate than the factor's own minimiser: ``q`` becomes ``M theta + M^{-T} (l2
        theta)``, so that the gradient vanishes at ``theta``, and ``rho^2`` takes up the
        change of ``|M theta - q|^2``. The two objectives differ by the factor's rounding.
        Residuals are then formed from ``theta' - theta`` (exact near ``theta``), not from
        ``M theta'`` less ``q``: a coordinate far larger than the others (an intercept of
        1e15 against slopes of 1) would round the others' residuals away.
        """
        l2 = self.penalty.l2_weights * theta
        shift = np.zeros(self.M.shape[0])
        if np.any(l2):
            try:
                shift = np.linalg.solve(self.M.T, l2)
            except np.linalg.LinAlgError:
                # A factor with a zero pivot (a constant column, whose centred values are all
                # zero): its slope, and so its share of ``l2``, is zero, and the system is
                # consistent; the least-squares solution solves it.
                shift = np.linalg.lstsq(self.M.T, l2, rcond=None)[0]
        q = self.M @ theta + shift
        before = self._residual(theta)
        rho2 = self.rho**2 + float(before @ before) - float(shift @ shift)
        return FactoredQuadratic(self.M, q, np.sqrt(max(rho2, 0.0)), self.penalty,
                                 self.reference, centre=np.array(theta, dtype=np.float64),
                                 residual_at_centre=-shift)

    @property
    def residual_at_centre(self) -> np.ndarray | None:
        """``M centre - q`` (None without a centre)."""
        return self._offset

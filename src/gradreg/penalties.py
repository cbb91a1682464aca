"""Penalties on the coefficients: L2 (ridge), L1 (lasso) and the elastic net.

All three are the elastic-net penalty of scikit-learn's ``ElasticNet`` / ``SGDRegressor``,

.. math::

    P(w) = \\alpha \\Big(\\rho \\lVert w \\rVert_1
           + \\frac{1 - \\rho}{2} \\lVert w \\rVert_2^2\\Big),

with ``alpha`` the strength and ``rho = l1_ratio``. The penalty always acts on the coefficients
in the user's units. gradreg descends in scaled coordinates ``v = w * scale``, so
:meth:`Penalty.scaled` turns it into per-coordinate weights there; the intercept is never
penalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["L1", "L2", "ElasticNet", "Penalty", "ScaledPenalty", "make_penalty"]


@dataclass(frozen=True)
class Penalty:
    """Elastic-net penalty ``alpha * (l1_ratio*|w|_1 + (1 - l1_ratio)/2*|w|^2)``."""

    alpha: float = 0.0
    l1_ratio: float = 0.0

    @property
    def has_l1(self) -> bool:
        return self.alpha > 0 and self.l1_ratio > 0

    @property
    def l2_strength(self) -> float:
        return self.alpha * (1.0 - self.l1_ratio)

    @property
    def l1_strength(self) -> float:
        return self.alpha * self.l1_ratio

    def value(self, coef: np.ndarray) -> float:
        """The penalty of user-unit coefficients."""
        return float(
            self.l1_strength * np.abs(coef).sum() + 0.5 * self.l2_strength * np.dot(coef, coef)
        )

    def scaled(self, scale: np.ndarray, n_params: int) -> ScaledPenalty:
        """This penalty in the coordinates ``v = coef * scale`` (then an unpenalised intercept).

        ``n_params`` is ``len(scale)`` plus one when an intercept is fitted.
        """
        d = scale.shape[0]
        l1 = np.zeros(n_params)
        l2 = np.zeros(n_params)
        l1[:d] = self.l1_strength / scale
        l2[:d] = self.l2_strength / scale**2
        return ScaledPenalty(l1_weights=l1, l2_weights=l2)


def L2(alpha: float) -> Penalty:  # noqa: N802 - the usual name of the penalty
    """Ridge: ``alpha/2 * |w|^2``, scikit-learn's ``Ridge(alpha=alpha * n_samples)``."""
    return Penalty(alpha=alpha, l1_ratio=0.0)


def L1(alpha: float) -> Penalty:  # noqa: N802
    """Lasso: ``alpha * |w|_1``, scikit-learn's ``Lasso(alpha=alpha)``."""
    return Penalty(alpha=alpha, l1_ratio=1.0)


def ElasticNet(alpha: float, l1_ratio: float) -> Penalty:  # noqa: N802
    """Elastic net, scikit-learn's ``ElasticNet(alpha=alpha, l1_ratio=l1_ratio)``."""
    return Penalty(alpha=alpha, l1_ratio=l1_ratio)


def make_penalty(name: str | None, alpha: float, l1_ratio: float) -> Penalty:
    """The penalty an estimator's ``penalty``, ``alpha`` and ``l1_ratio`` describe."""
    if name is None or alpha == 0:
        return Penalty()
    if name == "l2":
        return L2(alpha)
    if name == "l1":
        return L1(alpha)
    return ElasticNet(alpha, l1_ratio)


@dataclass(frozen=True)
class ScaledPenalty:
    """A penalty with per-coordinate weights: ``sum l1_j |t_j| + sum l2_j t_j^2 / 2``.

    The smooth L2 part joins the gradient; the L1 part is handled by its proximal operator,
    soft thresholding.
    """

    l1_weights: np.ndarray
    l2_weights: np.ndarray

    @property
    def has_l1(self) -> bool:
        return bool(self.l1_weights.any())

    def smooth_value(self, theta: np.ndarray) -> float:
        return 0.5 * float(np.dot(self.l2_weights * theta, theta))

    def smooth_grad(self, theta: np.ndarray) -> np.ndarray:
        return self.l2_weights * theta

    def l1_value(self, theta: np.ndarray) -> float:
        return float(np.dot(self.l1_weights, np.abs(theta)))

    def prox(self, theta: np.ndarray, step: float | np.ndarray) -> np.ndarray:
        """``argmin_t  l1(t) + |t - theta|^2 / (2 step)``: soft thresholding."""
        if not self.has_l1:
            return theta
        threshold = step * self.l1_weights
        return np.sign(theta) * np.maximum(np.abs(theta) - threshold, 0.0)

"""Learning-rate guidance: the stability limit 2/L, the recommended 1/L, and epochs to converge.

For a quadratic cost with Hessian ``H``, gradient descent with a constant rate ``eta`` is stable
exactly when ``eta < 2/L`` (``L`` the largest eigenvalue of ``H``); at ``eta = 1/L`` plain descent
shrinks the gap by at least ``1 - 1/kappa`` per epoch and Nesterov's accelerated method by
``1 - 1/sqrt(kappa)``, ``kappa`` being the condition number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._units import COST_FACTOR
from ._validation import check_finite, check_X, check_y
from .objective import Preconditioner, Quadratic
from .penalties import Penalty
from .stats import stats_from_arrays

__all__ = ["LearningRateLimits", "learning_rate_limits"]

_RANK_RTOL = 1e-13


@dataclass(frozen=True)
class LearningRateLimits:
    """Step-size facts of a least-squares problem.

    All are for gradient descent on the mean squared error, with the learning rate a step on
    it (the tutorial's convention, which GDRegressor follows too). The first group is for the
    raw data, as :func:`gradreg.gradient_descent` and ``GDRegressor(standardize=False)`` run
    it; the ``scaled_`` group is for GDRegressor's internally standardized problem.
    """

    lipschitz: float
    max_stable: float
    recommended: float
    condition_number: float
    scaled_lipschitz: float
    scaled_max_stable: float
    scaled_recommended: float
    scaled_condition_number: float

    def epochs_to(self, tol: float = 1e-10, scaled: bool = True) -> dict[str, float]:
        """Epochs that shrink the optimality gap by ``tol`` at worst, plain and accelerated.

        Plain descent at ``1/L`` multiplies the error along each curvature ``l`` by
        ``1 - l/L``, at most ``rho = 1 - 1/kappa``, so the gap (quadratic in the error) by
        ``rho^2`` per epoch: ``log(1/tol) / (-2 log rho)`` epochs, one where ``kappa = 1``.
        Nesterov's method shrinks the gap by ``1 - 1/sqrt(kappa)`` per epoch (Nesterov,
        *Introductory Lectures on Convex Optimization*, 2004, theorem 2.2.3).
        """
        kappa = self.scaled_condition_number if scaled else self.condition_number
        if not math.isfinite(kappa):
            return {"plain": math.inf, "accelerated": math.inf}
        log = math.log(1.0 / tol)

        def epochs(rho: float, per_epoch: float) -> float:
            if rho <= 0.0 or log <= 0:  # one step lands on the optimum
                return 1.0
            return float(max(1, math.ceil(log / (-per_epoch * math.log(rho)))))

        return {"plain": epochs((kappa - 1.0) / kappa, 2.0),
                "accelerated": epochs(1.0 - 1.0 / math.sqrt(kappa), 1.0)}

    def explain(self, tol: float = 1e-10) -> str:
        """The figures as a short text for people choosing a learning rate."""
        raw, scaled = self.epochs_to(tol, scaled=False), self.epochs_to(tol, scaled=True)
        return "\n".join([
            "Learning rates for plain gradient descent on the raw data (mean squared error):",
            f"  L = {self.lipschitz:.6g}; stable below 2/L = {self.max_stable:.6g}; "
            f"recommended 1/L = {self.recommended:.6g}",
            f"  condition number {self.condition_number:.3g}: at most {_epochs(raw['plain'])} "
            f"(plain) or {raw['accelerated']:.3g} (accelerated) to a gap of {tol:g}",
            "With gradreg's internal standardization (GDRegressor's default; rates are steps "
            "on the standardized problem):",
            f"  L = {self.scaled_lipschitz:.6g}; stable below {self.scaled_max_stable:.6g}; "
            f"learning_rate='auto' uses {self.scaled_recommended:.6g}",
            f"  condition number {self.scaled_condition_number:.3g}: at most "
            f"{_epochs(scaled['plain'])} (plain) or {scaled['accelerated']:.3g} (accelerated)",
        ])


def _epochs(count: float) -> str:
    return "1 epoch" if count == 1 else f"{count:.3g} epochs"


def _extremes(matrix: np.ndarray) -> tuple[float, float]:
    eigenvalues = np.linalg.eigvalsh(matrix)
    top = float(eigenvalues[-1])
    kept = eigenvalues[eigenvalues > _RANK_RTOL * top]
    return top, (top / float(kept[0]) if kept.size and top > 0 else math.inf)


def learning_rate_limits(X: ArrayLike, y: ArrayLike, fit_intercept: bool = True):
    """Lipschitz constant, stability limit, recommended rate and conditioning of ``X``, ``y``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or of shape (n_samples,) for one feature
    y : array-like of shape (n_samples,)
    fit_intercept : bool, default=True

    Returns
    -------
    LearningRateLimits

    Examples
    --------
    >>> from gradreg import learning_rate_limits, load_study_time
    >>> data = load_study_time()
    >>> limits = learning_rate_limits(data.hours, data.score)
    >>> round(limits.max_stable, 6)  # the classic loop diverges at or above this rate
    0.029727
    >>> limits.scaled_recommended  # one standardized feature: L = 2, 1/L = 0.5
    0.5
    """
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    features = check_X(array)
    target = check_y(y, features.shape[0])
    check_finite(target, "y")
    stats = stats_from_arrays(features, target)
    raw = stats.second_moments(centred=False)[:-1, :-1]
    if fit_intercept:
        d = raw.shape[0]
        augmented = np.empty((d + 1, d + 1))
        augmented[:d, :d] = raw
        augmented[:d, d] = augmented[d, :d] = stats.mean_x
        augmented[d, d] = 1.0
        raw = augmented
    # The classic cost is the mean squared error, whose Hessian is twice the second moments.
    top, kappa = _extremes(2.0 * raw)
    precond = Preconditioner.from_stats(stats, fit_intercept)
    quadratic = Quadratic(stats, precond, Penalty().scaled(precond.scale, precond.n_params))
    # GDRegressor's objective is half the MSE: the MSE's curvature is twice its Hessian's.
    scaled_top, scaled_kappa = _extremes(COST_FACTOR * quadratic.hessian)
    return LearningRateLimits(
        lipschitz=top,
        max_stable=2.0 / top,
        recommended=1.0 / top,
        condition_number=kappa,
        scaled_lipschitz=scaled_top,
        scaled_max_stable=2.0 / scaled_top,
        scaled_recommended=1.0 / scaled_top,
        scaled_condition_number=scaled_kappa,
    )

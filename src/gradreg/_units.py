"""The one conversion between what users see and what the solvers work on.

Users see the tutorial's convention: the cost is the mean squared error (MSE) and a learning
rate ``eta`` is the step ``theta <- theta - eta * grad(MSE)``. The solvers minimise half the MSE
(scikit-learn's objective, which keeps the meaning of ``alpha``), whose gradient is half as
large, so the same move is the internal step ``2 * eta``. Every face converts here:

- a learning rate ``eta`` (or a schedule) becomes the internal step ``RATE_FACTOR * eta`` for the
  update rules whose move is proportional to the gradient; Adam and AdaGrad divide the gradient
  by its own size, so their rate is the same on both costs;
- a loss ``f`` becomes the cost ``2 * f`` (with a penalty: ``MSE + 2 * alpha * penalty``), a
  gradient norm doubles, and the curvature ``L`` doubles, so ``2/L`` is in learning-rate units;
- relative gaps ``(f - f*)/f*`` are the same in both.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .errors import DivergenceError

__all__ = [
    "COST_FACTOR",
    "cost_label",
    "internal_rate",
    "rate_factor",
    "user_divergence",
    "user_history",
]

# The shown cost is COST_FACTOR times the internal objective (the MSE is twice half of it).
COST_FACTOR = 2.0
_SCALE_FREE = ("adam", "adagrad")


def rate_factor(optimizer: str) -> float:
    """Internal step per unit of the user's learning rate for ``optimizer``."""
    return 1.0 if optimizer in _SCALE_FREE else COST_FACTOR


def internal_rate(learning_rate, factor: float):
    """The solver's step for the user's ``learning_rate`` (a float, "auto" or a schedule)."""
    if isinstance(learning_rate, str) or factor == 1.0:
        return learning_rate
    if callable(learning_rate):
        return _ScaledSchedule(learning_rate, factor)
    return factor * float(learning_rate)


class _ScaledSchedule:
    """A user's schedule ``t -> eta_t`` as the solver's ``t -> factor * eta_t``."""

    def __init__(self, schedule, factor: float) -> None:
        self.schedule, self.factor = schedule, factor

    def __call__(self, count):
        return self.factor * self.schedule(count)


def cost_label(penalized: bool) -> str:
    """What the shown cost is."""
    return "MSE + 2 x alpha x penalty" if penalized else "mean squared error"


def user_history(history: dict) -> dict:
    """The solver's history in the user's units (cost = 2 x loss, gradient of the cost)."""
    shown = dict(history)
    for key in ("loss", "grad_norm"):
        if key in shown:
            shown[key] = COST_FACTOR * shown[key]
    return shown


def user_epoch_info(info, factor: float):
    """A callback's :class:`~gradreg._solver_base.EpochInfo` in the user's units."""
    return replace(info, loss=COST_FACTOR * info.loss, grad_norm=COST_FACTOR * info.grad_norm,
                   learning_rate=info.learning_rate / factor)


class UserCallback:
    """Calls ``callback`` with epoch information in the user's units."""

    def __init__(self, callback, factor: float) -> None:
        self.callback, self.factor = callback, factor

    def __call__(self, info):
        return self.callback(user_epoch_info(info, self.factor))


_EPOCH = re.compile(r"diverged at epoch (\d+)")


def user_divergence(error: DivergenceError, learning_rate: float, lipschitz: float,
                    factor: float, scaled: bool) -> DivergenceError:
    """The solver's divergence error restated in the user's units.

    ``learning_rate`` is the user's base rate, ``lipschitz`` the solver's curvature of half the
    MSE; the limit ``2/L`` is given for the MSE, the cost the learning rate is a step on.
    """
    limit = 2.0 / (COST_FACTOR * lipschitz) if lipschitz > 0 else float("nan")
    where = " of the standardized problem" if scaled else ""
    found = _EPOCH.search(str(error))
    what = (f"Gradient descent diverged at epoch {found.group(1)}" if found else
            "Plain gradient descent would diverge")
    return DivergenceError(
        f"{what} with learning_rate={learning_rate:.6g}: the largest stable learning rate of "
        f"plain gradient descent on the mean squared error{where} is {limit:.6g} "
        f"(2/L). Use learning_rate='auto' ({limit / 2:.6g}, 1/L) or a value below "
        f"{limit:.6g}."
    )

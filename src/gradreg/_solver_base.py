"""What every solver shares: the fit's settings (:class:`FitConfig`), its result, the per-epoch
bookkeeping that certifies convergence and stops divergence (:class:`_Tracker`), and the
automatic learning rates and schedules."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DivergenceError
from .optim import Schedule, as_schedule
from .optim import schedules as sched
from .problem import Problem

__all__ = ["EpochInfo", "FitConfig", "FitResult", "auto_learning_rate", "make_schedule"]

# A loss this many times above its starting value (or non-finite) is divergence.
_BLOW_UP = 1e6
# Plain gradient descent below 2/L never raises the loss; this many rises in a row is divergence.
_RISES_TO_DIVERGE = 3
# Adam and AdaGrad move each parameter by about the learning rate per step, so their automatic
# learning rate is a fraction of the target's spread (the scale of the standardized parameters).
_ADAPTIVE_AUTO = {"adam": 0.01, "adagrad": 0.5}
# SGD's Adam starts larger, as its default schedule decays it (see make_schedule).
_SGD_ADAM_AUTO = 0.1
# Residuals kept for re-orthogonalization in conjugate gradient (memory: this many x d).
_BASIS_MAX = 2048
# Fraction of the mini-batch stability bound that SGD's automatic learning rate takes.
_SGD_FRACTION = 0.1
# With iterate averaging the noise of the iterates averages out, so the step can be the full
# inverse of the mini-batch curvature bound: averaged SGD with a constant step below 1/R^2
# converges on least squares (Bach & Moulines 2013), and a larger step shortens the transient.
_SGD_AVERAGED_FRACTION = 1.0
# Backtracking line search: shrink factor, and growth allowed at the start of each epoch.
_BACKTRACK = 0.5
_GROWTH = 2.0
_MAX_STEPS = 1e3
# Where tol cannot be certified, the descent stops once its distance to the optimum is this
# fraction of the optimum's own rounding bound (a bound, usually far above the actual rounding),
# or once within the bound it has not halved the distance in this many epochs (at least 3p).
# A distance of this many eps is as close as float64 iterates get to the optimum (a few ulps
# of each coefficient), whatever the rounding bound says.
_SETTLED = 1e-2
_ULPS = 16
_STALE_EPOCHS = 50
# The descent goes on until its distance to the optimum is this fraction of tol (a margin that
# costs a few epochs), or until it stalls; it is converged when the bound meets tol. Conjugate
# gradient, whose steps cost O(d^2) on the statistics, goes on once tol is met to the optimum's
# own rounding, or until two restart cycles bring it no closer (_Tracker._cg_window), so its
# coefficients carry every digit the optimum has rather than those tol asks for.
_MARGIN = 1e-2
# AdaGrad's offset under the square root (that of gradreg.optim.adagrad).
_ADAGRAD_EPS = 1e-7
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class FitConfig:
    """Settings of one fit (the estimator's parameters, validated)."""

    solver: str = "gd"
    optimizer: str = "plain"
    learning_rate: float | Schedule | str = "auto"
    schedule: str = "auto"
    power_t: float = 0.25
    momentum: float = 0.9
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    line_search: bool = False
    batch_size: int = 32
    shuffle: bool = True
    max_iter: int = 1000
    tol: float = 1e-8
    early_stopping: bool = False
    n_iter_no_change: int = 5
    average: bool | int = False  # SGD's iterate averaging (scikit-learn's ``average``)
    callbacks: Sequence[Callable[[EpochInfo], Any]] = ()
    rng: np.random.Generator | None = None  # SGD's shuffling; None for full-batch solvers
    # Saving and resuming: a CheckpointWriter, and the state read from a checkpoint.
    checkpoint: Any = None
    resume: dict | None = None


@dataclass(frozen=True)
class EpochInfo:
    """What a callback receives after each epoch; return ``True`` from it to stop the fit."""

    epoch: int
    loss: float
    grad_norm: float
    gap: float
    learning_rate: float
    coef: np.ndarray
    intercept: float


@dataclass
class FitResult:
    """Final parameters and the record of the descent."""

    theta: np.ndarray
    n_iter: int
    converged: bool
    stop_reason: str
    history: dict[str, list[float]]
    learning_rate: float
    lipschitz: float
    gap: float
    solver: str
    optimizer: str
    error_bound: float = math.inf


class _Tracker:
    """Per-epoch bookkeeping shared by every solver."""

    def __init__(self, problem: Problem, config: FitConfig, lipschitz: float, lr: float) -> None:
        self.problem = problem
        self.config = config
        self.lipschitz = lipschitz
        self.learning_rate = lr
        self.history: dict[str, list[float]] = {"loss": [], "grad_norm": [], "gap": []}
        self.rises = 0
        self.first_grad_norm = float("nan")
        # tol=None: never converged, run max_iter epochs.
        self.tol = config.tol if config.tol is not None else -math.inf
        self.at_floor = False
        self.error_bound = math.inf
        self.certified = False
        self.best_distance, self.best_epoch = math.inf, 0
        optimum = problem.optimum
        if optimum is not None and optimum.precision_floor >= self.tol > -math.inf:
            # float64 cannot certify tol here: stop once the iterate is as close to the
            # optimum as the optimum's own rounding, and say so in the stop reason.
            self.at_floor = True

    def start(self, theta: np.ndarray, loss: float, grad_norm: float) -> bool:
        """Record the starting point; ``True`` when it is already optimal."""
        self.first_grad_norm = grad_norm
        return self._append(theta, loss, grad_norm)

    def resume(self) -> tuple[dict | None, int]:
        """The saved solver state and the first epoch to run (1 when not resuming)."""
        saved = self.config.resume
        if saved is None:
            return None, 1
        self.history = {k: list(v) for k, v in saved["history"].items()}
        self.rises = int(saved["rises"])
        self.best_distance = float(saved["best_distance"])
        self.best_epoch = int(saved["best_epoch"])
        self.first_grad_norm = self.history["grad_norm"][0]
        return saved, int(saved["epoch"]) + 1

    def checkpoint(self, epoch: int, **state: Any) -> None:
        """Hand the full state to the checkpoint writer when one is due."""
        writer = self.config.checkpoint
        if writer is not None and writer.due(epoch):
            # The closest distance so far and its epoch decide when a descent has settled:
            # a resumed fit must stop where the uninterrupted one does.
            writer({"epoch": epoch, "history": self.history, "rises": self.rises,
                    "best_distance": self.best_distance, "best_epoch": self.best_epoch, **state})

    def _append(self, theta: np.ndarray, loss: float, grad_norm: float) -> bool:
        self.certified = self._check(theta, loss, grad_norm)
        return self.certified

    def _check(self, theta: np.ndarray, loss: float, grad_norm: float) -> bool:
        gap = self.problem.relative_gap(theta)
        self.history["loss"].append(loss)
        self.history["grad_norm"].append(grad_norm)
        self.history["gap"].append(gap)
        optimum = self.problem.optimum
        if optimum is not None:
            distance = optimum.distance(theta)
            self.error_bound = optimum.bound_at(distance)
            # A starting point already within tol's margin (a warm start from a fit that went
            # on for the digits) is kept: from there CG would take its whole window only to
            # find that it comes no closer.
            started = len(self.history["loss"]) > 1
            if self.error_bound <= self.tol and self.config.solver == "cg" and started:
                return self._settled(distance, optimum.rounding, self._cg_window())
            if self.error_bound <= self.tol and distance <= _MARGIN * self.tol:
                return True
            return self.at_floor and self._settled(distance, optimum.rounding)
        # Without the optimum (very many features) only the gradient can be checked: a relative
        # decrease, which certifies nothing; the fit then stops without claiming convergence.
        if self.config.tol is None:
            return False
        return grad_norm <= _MARGIN * self.config.tol * max(self.first_grad_norm, 1e-300)

    def _settled(self, distance: float, rounding: float, window: int | None = None) -> bool:
        """Close to the optimum (within ``rounding``) and no longer getting closer; with a
        ``window`` (tol met), no longer getting closer in that many epochs, at any distance."""
        if distance <= max(_SETTLED * rounding, _ULPS * _EPS):
            return True
        if distance < 0.5 * self.best_distance:
            self.best_distance, self.best_epoch = distance, len(self.history["loss"])
        stale = len(self.history["loss"]) - self.best_epoch
        if window is not None:
            return stale >= window
        return distance <= rounding and stale > max(_STALE_EPOCHS, 3 * self.problem.n_params)

    def _cg_window(self) -> int:
        """Epochs in which conjugate gradient, once tol is met, must halve its distance to the
        optimum to go on: two restart cycles, so that one whole cycle from a restart (a round
        of refinement from the true residual, which in exact arithmetic ends at the optimum)
        lies within it. A cycle that does not halve the distance shows the floor of the
        descent's own coordinates (raw ones with ``standardize=False`` may be far worse
        conditioned than the optimum's), which more cycles do not pass."""
        return 2 * min(self.problem.n_params + 1, _BASIS_MAX)

    def end_epoch(
        self, epoch: int, theta: np.ndarray, loss: float, grad_norm: float, lr: float,
        monotone: bool = False,
    ) -> str | None:
        """Record an epoch; return why to stop, or ``None`` to go on."""
        previous = self.history["loss"][-1]
        if not (np.isfinite(loss) and np.all(np.isfinite(theta))):
            self._diverged(epoch, previous, loss, lr)
        start = self.history["loss"][0]
        if loss > _BLOW_UP * max(start, self.problem.objective.reference, 1e-300):
            self._diverged(epoch, start, loss, lr)
        if monotone:
            # Rises within rounding of the loss's scale are noise, not divergence.
            noise = 1e-12 * max(abs(previous), self.problem.objective.reference)
            self.rises = self.rises + 1 if loss - previous > noise else 0
            if self.rises >= _RISES_TO_DIVERGE:
                self._diverged(epoch, previous, loss, lr)
        converged = self._append(theta, loss, grad_norm)
        if self.config.callbacks:
            coef, intercept = self.problem.precond.to_user(theta)
            info = EpochInfo(epoch, loss, grad_norm, self.history["gap"][-1], lr, coef, intercept)
            if any(callback(info) is True for callback in self.config.callbacks):
                return "stopped by a callback"
        if converged:
            return "converged"
        return None

    def _diverged(self, epoch: int, before: float, after: float, lr: float) -> None:
        limit = 2.0 / self.lipschitz if self.lipschitz > 0 else float("nan")
        advice = ""
        if np.isfinite(limit):
            advice = (
                f" The largest stable constant learning rate for plain gradient descent on this "
                f"problem is {limit:.6g} (2/L); use learning_rate='auto' ({limit / 2:.6g}, 1/L) "
                "or a smaller value."
            )
        raise DivergenceError(
            f"Gradient descent diverged at epoch {epoch} with learning_rate={lr:.6g}: the loss "
            f"went from {before:.6g} to {after:.6g}.{advice}"
        )

    def result(self, theta: np.ndarray, n_iter: int, reason: str | None) -> FitResult:
        gap = self.history["gap"][-1]
        optimum = self.problem.optimum
        if reason == "converged" and optimum is None:
            reason = (
                "stopped: the gradient norm fell by a factor tol (route='data' has no exact "
                "optimum, so the coefficients' error is not certified)"
            )
        elif reason in ("converged", None) and self.error_bound <= self.tol:
            reason = "converged"
        elif reason == "converged":
            reason = (
                f"stopped at the limit of float64 precision: coefficient error bound "
                f"{self.error_bound:.3g} > tol={self.config.tol:g} at condition number "
                f"{optimum.slope_condition:.3g}"
            )
        converged = reason == "converged"
        if reason is None:
            reason = f"max_iter={self.config.max_iter} reached"
        return FitResult(
            theta=theta,
            n_iter=n_iter,
            converged=converged,
            stop_reason=reason,
            history=self.history,
            learning_rate=self.learning_rate,
            lipschitz=self.lipschitz,
            gap=gap,
            solver=self.config.solver,
            optimizer=self.config.optimizer,
            error_bound=self.error_bound,
        )


def auto_learning_rate(problem: Problem, config: FitConfig, lipschitz: float) -> float:
    """The step size of ``learning_rate='auto'``: 1/L for gradient steps on the full batch."""
    if config.optimizer in _ADAPTIVE_AUTO:
        spread = math.sqrt(2.0 * max(problem.objective.reference, 1e-300))
        if config.solver == "sgd" and config.optimizer == "adam" and config.schedule == "auto":
            return _SGD_ADAM_AUTO * spread
        return _ADAPTIVE_AUTO[config.optimizer] * spread
    if config.solver != "sgd":
        return 1.0 / lipschitz
    # A mini-batch gradient has curvature up to L + E|z|^2 / batch_size; a step of 1/that is
    # stable but noisy, so SGD without averaging takes a tenth of it (its noise floor shrinks
    # with the step); averaged SGD takes all of it (the average removes the noise).
    curvature = lipschitz + problem.mean_square_norm() / config.batch_size
    rate = (_SGD_AVERAGED_FRACTION if config.average else _SGD_FRACTION) / curvature
    if config.optimizer in ("momentum", "nesterov"):
        rate *= 1.0 - config.momentum
    return rate


def make_schedule(config: FitConfig, base: float, steps_per_epoch: int) -> Schedule:
    """The learning-rate schedule; decays are given per epoch and applied per step.

    ``"auto"`` is constant, except for SGD with Adam, whose steps keep a size of about the
    learning rate near the optimum: there it decays as ``1/sqrt(1 + epochs)``, the rate under
    which Adam's iterates (and their average) converge (Reddi, Kale & Kumar 2018). Plain,
    momentum and AdaGrad steps converge with a constant rate once averaged (AdaGrad decays its
    own steps).
    """
    if callable(config.learning_rate):
        return config.learning_rate
    name = config.schedule
    if name == "auto" and config.solver == "sgd" and config.optimizer == "adam":
        return _inverse_sqrt_epochs(base, steps_per_epoch)
    if name in ("constant", "auto"):
        return as_schedule(base)
    if name == "invscaling":
        return sched.inverse_scaling(base, config.power_t)
    if name == "exponential":
        return sched.exponential_decay(base, 0.99 ** (1.0 / steps_per_epoch))
    if name == "step":
        return sched.step_decay(base, step_size=10 * steps_per_epoch, factor=0.5)
    return sched.cosine_decay(base, decay_steps=config.max_iter * steps_per_epoch)


def _constant_schedule(config: FitConfig) -> bool:
    """Whether a float or automatic learning rate stays constant (see make_schedule)."""
    if config.schedule == "auto":
        return not (config.solver == "sgd" and config.optimizer == "adam")
    return config.schedule == "constant"


def _inverse_sqrt_epochs(base: float, steps_per_epoch: int) -> Schedule:
    def schedule(count: int) -> float:
        return base / math.sqrt(1.0 + count / steps_per_epoch)

    return schedule


def _base_rate(problem: Problem, config: FitConfig, lipschitz: float) -> float:
    if isinstance(config.learning_rate, str):
        return auto_learning_rate(problem, config, lipschitz)
    if callable(config.learning_rate):
        return float(config.learning_rate(0))
    return float(config.learning_rate)


def _gradient_mapping_norm(problem: Problem, theta: np.ndarray, grad: np.ndarray, L: float):
    """``|g|``, or with an L1 penalty the norm of the proximal gradient mapping at step 1/L."""
    penalty = problem.objective.penalty
    if not penalty.has_l1:
        return float(np.linalg.norm(grad))
    step = 1.0 / L
    moved = penalty.prox(theta - step * grad, step)
    return float(np.linalg.norm(theta - moved) / step)


# ---------------------------------------------------------------------------------------------
# Full-batch gradient descent
# ---------------------------------------------------------------------------------------------


def _optimizer_kwargs(config: FitConfig) -> dict:
    if config.optimizer in ("momentum", "nesterov"):
        return {"momentum": config.momentum}
    if config.optimizer == "adam":
        return {"b1": config.b1, "b2": config.b2, "eps": config.eps}
    return {}


# ---------------------------------------------------------------------------------------------
# Conjugate gradient
# ---------------------------------------------------------------------------------------------

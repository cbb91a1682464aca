"""The solvers: full-batch gradient descent, mini-batch SGD and conjugate gradient.

Each solver is a plain function ``solve(problem, config, theta0) -> FitResult``
registered in :data:`SOLVERS`, the only list of solver names. All of them report each epoch to
one :class:`_Tracker`, which keeps the history, certifies convergence against the exact
optimum, calls the user's callbacks and stops divergence before it produces NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._sgd_steps import COMPILED_RULES, Averager, compiled_rows, n_steps, run_compiled, step_rates
from .errors import DivergenceError, FitInterrupted
from .optim import OPTIMIZERS, Schedule, as_schedule
from .optim import schedules as sched
from .problem import Problem, batch_gradient

__all__ = ["SOLVERS", "EpochInfo", "FitConfig", "FitResult", "solve"]

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
_SETTLED = 1e-2
_STALE_EPOCHS = 50
# The descent goes on until its distance to the optimum is this fraction of tol (a margin that
# costs a few epochs), or until it stalls; it is converged when the bound meets tol.
_MARGIN = 1e-2
# AdaGrad's offset under the square root (that of gradreg.optim.adagrad).
_ADAGRAD_EPS = 1e-7


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
        self.first_grad_norm = self.history["grad_norm"][0]
        return saved, int(saved["epoch"]) + 1

    def checkpoint(self, epoch: int, **state: Any) -> None:
        """Hand the full state to the checkpoint writer when one is due."""
        writer = self.config.checkpoint
        if writer is not None and writer.due(epoch):
            writer({"epoch": epoch, "history": self.history, "rises": self.rises, **state})

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
            self.error_bound = distance + optimum.rounding
            if self.error_bound <= self.tol and distance <= _MARGIN * self.tol:
                return True
            return self.at_floor and self._settled(distance, optimum.rounding)
        # Without the optimum (very many features) only the gradient can be checked: a relative
        # decrease, which certifies nothing; the fit then stops without claiming convergence.
        if self.config.tol is None:
            return False
        return grad_norm <= _MARGIN * self.config.tol * max(self.first_grad_norm, 1e-300)

    def _settled(self, distance: float, rounding: float) -> bool:
        """Close to the optimum (within ``rounding``) and no longer getting closer."""
        if distance <= _SETTLED * rounding:
            return True
        if distance < 0.5 * self.best_distance:
            self.best_distance, self.best_epoch = distance, len(self.history["loss"])
        stale = len(self.history["loss"]) - self.best_epoch
        return distance <= rounding and stale > max(_STALE_EPOCHS, 3 * self.problem.n_params)

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


def solve_gd(problem: Problem, config: FitConfig, theta0: np.ndarray) -> FitResult:
    """Full-batch gradient descent; with an L1 penalty, the proximal gradient method.

    ``optimizer='nesterov'`` is the accelerated proximal gradient method (FISTA, Beck &
    Teboulle 2009) with gradient-based adaptive restart (O'Donoghue & Candes 2015); the other
    update rules come from :mod:`gradreg.optim`.
    """
    lipschitz = problem.lipschitz()
    base = _base_rate(problem, config, lipschitz)
    schedule = make_schedule(config, base, 1)
    tracker = _Tracker(problem, config, lipschitz, base)
    objective, penalty = problem.objective, problem.objective.penalty
    if (
        config.optimizer == "plain"
        and not config.line_search
        and not callable(config.learning_rate)
        and _constant_schedule(config)
        and base >= 2.0 / lipschitz
    ):
        raise DivergenceError(
            f"learning_rate={base:.6g} is at or above the largest stable learning rate of plain "
            f"gradient descent on this problem, {2.0 / lipschitz:.6g} (2/L): the descent would "
            f"diverge. Use learning_rate='auto' ({1.0 / lipschitz:.6g}, 1/L) or a value below "
            f"{2.0 / lipschitz:.6g}."
        )
    saved, first = tracker.resume()
    theta = theta0.copy() if saved is None else saved["theta"]
    value, grad = objective.smooth_value_and_grad(theta)
    loss = value + penalty.l1_value(theta)
    if saved is None and tracker.start(
        theta, loss, _gradient_mapping_norm(problem, theta, grad, lipschitz)
    ):
        return tracker.result(theta, 0, "converged")
    if config.optimizer == "nesterov":
        return _fista(problem, config, tracker, theta, schedule, saved, first)
    optimizer = OPTIMIZERS[config.optimizer](schedule, **_optimizer_kwargs(config))
    state = optimizer.init(theta)
    step = base
    if saved is not None:
        state, step = saved["optimizer_state"], saved["step"]
    reason = None
    epoch = first - 1
    for epoch in range(first, config.max_iter + 1):
        if config.line_search:
            theta, value, grad, step = _backtrack(problem, theta, value, grad, step, lipschitz)
        else:
            step = schedule(epoch - 1)
            updates, state = optimizer.update(grad, state)
            theta = theta + updates
            if penalty.has_l1:
                theta = penalty.prox(theta, step)
            value, grad = objective.smooth_value_and_grad(theta)
        loss = value + penalty.l1_value(theta)
        grad_norm = _gradient_mapping_norm(problem, theta, grad, lipschitz)
        monotone = config.optimizer == "plain" and _constant_schedule(config)
        reason = tracker.end_epoch(epoch, theta, loss, grad_norm, step, monotone)
        if reason:
            break
        tracker.checkpoint(epoch, theta=theta, optimizer_state=state, step=step)
    return tracker.result(theta, epoch, reason)


def _backtrack(problem: Problem, theta, value, grad, step, lipschitz):
    """One proximal gradient step whose size is halved until it decreases the objective enough.

    The trial size starts at twice the last accepted one (capped at ``_MAX_STEPS / L``), so the
    step can grow again after the search had to shrink it.

    Accepts ``t`` when ``f(x+) <= f(x) + g.(x+ - x) + |x+ - x|^2 / (2t)`` (Beck & Teboulle).
    The objective is quadratic, so the test is exactly ``d.H d <= |d|^2 / t`` for the step
    ``d``: a curvature comparison free of the cancellation in differences of loss values.
    """
    objective, penalty = problem.objective, problem.objective.penalty
    step = min(step * _GROWTH, _MAX_STEPS / lipschitz)
    while True:
        candidate = penalty.prox(theta - step * grad, step)
        delta = candidate - theta
        squared = float(delta @ delta)
        if squared == 0.0 or float(delta @ objective.hvp(delta)) * step <= squared:
            new_value, new_grad = objective.smooth_value_and_grad(candidate)
            return candidate, new_value, new_grad, step
        step *= _BACKTRACK


def _fista(problem, config, tracker, theta, schedule, saved, first) -> FitResult:
    objective, penalty = problem.objective, problem.objective.penalty
    lipschitz = tracker.lipschitz
    x = theta
    y = theta.copy()
    t = 1.0
    step = schedule(0)
    if saved is not None:
        y, t, step = saved["extrapolated"], float(saved["t"]), float(saved["step"])
    reason = None
    epoch = first - 1
    value_y, grad_y = objective.smooth_value_and_grad(y)
    for epoch in range(first, config.max_iter + 1):
        if config.line_search:
            x_new, value_x, grad_x, step = _backtrack(problem, y, value_y, grad_y, step, lipschitz)
        else:
            step = schedule(epoch - 1)
            x_new = penalty.prox(y - step * grad_y, step)
            value_x, grad_x = objective.smooth_value_and_grad(x_new)
        if float((y - x_new) @ (x_new - x)) > 0:
            t = 1.0  # momentum points uphill: restart
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        x, t = x_new, t_new
        loss = value_x + penalty.l1_value(x)
        grad_norm = _gradient_mapping_norm(problem, x, grad_x, lipschitz)
        reason = tracker.end_epoch(epoch, x, loss, grad_norm, step)
        if reason:
            break
        tracker.checkpoint(epoch, theta=x, extrapolated=y, t=t, step=step)
        value_y, grad_y = objective.smooth_value_and_grad(y)
    return tracker.result(x, epoch, reason)


def _optimizer_kwargs(config: FitConfig) -> dict:
    if config.optimizer in ("momentum", "nesterov"):
        return {"momentum": config.momentum}
    if config.optimizer == "adam":
        return {"b1": config.b1, "b2": config.b2, "eps": config.eps}
    return {}


# ---------------------------------------------------------------------------------------------
# Conjugate gradient
# ---------------------------------------------------------------------------------------------


def solve_cg(problem: Problem, config: FitConfig, theta0: np.ndarray) -> FitResult:
    """Linear conjugate gradient on the normal equations ``H theta = beta``.

    The optimal gradient method on a quadratic (Hestenes & Stiefel 1952): each epoch takes one
    Hessian-vector product and the error shrinks like ``((sqrt(k) - 1)/(sqrt(k) + 1))^t``
    with ``k`` the condition number, and exactly after ``d + 1`` steps in exact arithmetic.
    It restarts from the true residual every ``d + 1`` steps, which keeps rounding from
    stalling it on ill-conditioned data.
    """
    objective = problem.objective
    lipschitz = problem.lipschitz()
    tracker = _Tracker(problem, config, lipschitz, float("nan"))
    saved, first = tracker.resume()
    theta = theta0.copy() if saved is None else saved["theta"]
    value, grad = objective.smooth_value_and_grad(theta)
    if saved is None and tracker.start(theta, value, float(np.linalg.norm(grad))):
        return tracker.result(theta, 0, "converged")
    basis = _ResidualBasis(problem.n_params, saved)
    residual = basis.orthogonalize(-grad) if saved is None else saved["residual"]
    direction = residual.copy() if saved is None else saved["direction"]
    reason = None
    epoch = first - 1
    # Curvatures below the optimum's rank cut (relative to the largest) are rounding noise: a
    # step by them would be unbounded.
    cut = problem.optimum.rank_cut * lipschitz if problem.optimum is not None else 0.0
    for epoch in range(first, config.max_iter + 1):
        product = objective.hvp(direction)
        curvature = float(direction @ product)
        rr = float(residual @ residual)
        if curvature <= cut * float(direction @ direction) or rr == 0:
            reason = "converged" if tracker.error_bound <= tracker.tol else (
                "stalled: no direction of descent left"
            )
            epoch -= 1
            break
        step = rr / curvature
        theta = theta + step * direction
        value, grad = objective.smooth_value_and_grad(theta)
        residual = basis.orthogonalize(residual - step * product)
        if basis.full:
            # The Krylov space is exhausted: start again from the true residual (a round of
            # iterative refinement against the rounding accumulated so far).
            basis.clear()
            residual = basis.orthogonalize(-grad)
            direction = residual.copy()
        else:
            direction = residual + (float(residual @ residual) / rr) * direction
        reason = tracker.end_epoch(epoch, theta, value, float(np.linalg.norm(grad)), step)
        if reason:
            break
        tracker.checkpoint(epoch, theta=theta, residual=residual, direction=direction,
                           basis=basis.vectors())
    return tracker.result(theta, epoch, reason)


class _ResidualBasis:
    """The normalized residuals so far, against which each new residual is re-orthogonalized.

    In exact arithmetic CG's residuals are mutually orthogonal and CG ends after d + 1 steps;
    in floating point they drift and, on ill-conditioned data, convergence slows by orders of
    magnitude. Projecting the drift out (twice, as classical Gram-Schmidt needs) keeps CG
    close to its exact-arithmetic behaviour for O(k d) extra work per step.
    """

    def __init__(self, size: int, saved: dict | None) -> None:
        # The residuals of one cycle: the first and one after each of the size steps (the
        # last one rounding noise in exact arithmetic's zero), then a restart.
        self.capacity = min(size + 1, _BASIS_MAX)
        self._store = np.empty((self.capacity, size))
        self._count = 0
        if saved is not None and "basis" in saved:
            vectors = np.asarray(saved["basis"], dtype=np.float64).reshape(-1, size)
            self._store[: len(vectors)] = vectors
            self._count = len(vectors)

    @property
    def full(self) -> bool:
        return self._count >= self.capacity

    def clear(self) -> None:
        self._count = 0

    def vectors(self) -> np.ndarray:
        return self._store[: self._count].copy()

    def orthogonalize(self, residual: np.ndarray) -> np.ndarray:
        kept = self._store[: self._count]
        for _ in range(2):
            residual = residual - kept.T @ (kept @ residual)
        norm = float(np.linalg.norm(residual))
        if norm > 0 and self._count < self.capacity:
            self._store[self._count] = residual / norm
            self._count += 1
        return residual


# ---------------------------------------------------------------------------------------------
# Mini-batch stochastic gradient descent
# ---------------------------------------------------------------------------------------------


def sgd_epoch(problem: Problem, theta, optimizer, state, batches, schedule_offset, schedule):
    """One pass of mini-batch steps: the training step shared by ``fit`` and ``partial_fit``."""
    penalty = problem.objective.penalty
    count = schedule_offset
    for batch in batches:
        _, grad = batch_gradient(problem, theta, batch)
        updates, state = optimizer.update(grad, state)
        theta = theta + updates
        if penalty.has_l1:
            theta = penalty.prox(theta, schedule(count))
        count += 1
    return theta, state, count


@dataclass
class SgdStream:
    """Optimizer, schedule, step count and iterate average of SGD, carried across epochs of
    ``fit`` and across ``partial_fit`` calls: the one mini-batch training step both use.

    In-memory rows go through the compiled loop (:mod:`gradreg._sgd_steps`); sources read in
    batches go through :func:`sgd_epoch`. Both take the same steps.
    """

    base: float
    schedule: Schedule
    optimizer: Any
    state: Any = None
    count: int = 0
    rule: str = "plain"
    hyper: tuple = (0.9, 0.9, 0.999, 1e-8)
    constant: float | None = None  # the rate when the schedule is constant
    averager: Averager = field(default_factory=lambda: Averager.from_setting(False))
    factor: float = 1.0  # learning-rate multiplier (partial_fit shrinks it on a rising loss)
    chunk_factor: float = 1.0  # the part of ``factor`` that adapts the rate to a chunk's rows

    @classmethod
    def start(cls, problem: Problem, config: FitConfig, steps_per_epoch: int = 1) -> SgdStream:
        base = _base_rate(problem, config, problem.lipschitz())
        schedule = make_schedule(config, base, steps_per_epoch)
        optimizer = OPTIMIZERS[config.optimizer](schedule, **_optimizer_kwargs(config))
        constant = None
        if not callable(config.learning_rate) and _constant_schedule(config):
            constant = base
        eps = config.eps if config.optimizer == "adam" else _ADAGRAD_EPS
        return cls(base, schedule, optimizer, rule=config.optimizer,
                   hyper=(config.momentum, config.b1, config.b2, eps), constant=constant,
                   averager=Averager.from_setting(config.average))

    def epoch(self, problem: Problem, theta: np.ndarray, batches) -> np.ndarray:
        """Steps over ``batches`` with the Python loop; returns the last iterate."""
        if self.state is None:
            self.state = self.optimizer.init(theta)
        for batch in batches:
            theta, self.state, self.count = sgd_epoch(
                problem, theta, self.optimizer, self.state, [batch], self.count, self.schedule
            )
            self.averager.update(theta, len(batch[1]))
        return theta

    def compiled_epoch(self, problem: Problem, theta: np.ndarray, rows, order, batch_size: int):
        """Steps over ``rows[order]`` with the compiled loop; returns the last iterate."""
        if self.state is None:
            self.state = self.optimizer.init(theta)
        steps = n_steps(len(order), batch_size)
        rates = step_rates(self.schedule, self.constant, self.count, steps, self.factor)
        theta, self.state = run_compiled(
            rows, order, batch_size, problem.precond, problem.objective.penalty, theta,
            self.rule, self.state, self.hyper, rates, self.averager,
        )
        self.count += steps
        return theta

    def run(self, problem: Problem, theta: np.ndarray, rows, batch_size: int, rng) -> np.ndarray:
        """One pass over the source: compiled when its rows are in memory."""
        if rows is None or self.rule not in COMPILED_RULES:
            return self.epoch(problem, theta, problem.source.batches(batch_size, rng))
        order = rng.permutation(rows.n_rows) if rng is not None else np.arange(rows.n_rows)
        return self.compiled_epoch(problem, theta, rows, order, batch_size)

    def model(self, theta: np.ndarray) -> np.ndarray:
        """The parameters the model reports: the iterate average, or the last iterate."""
        return self.averager.current(theta)


def solve_sgd(problem: Problem, config: FitConfig, theta0: np.ndarray) -> FitResult:
    """Mini-batch SGD with any update rule, rows reshuffled every epoch.

    The loss, gap and gradient norm recorded after each epoch are those of the full objective,
    computed from the statistics when available. With averaging (``config.average``, the
    default of the estimator) they are those of the Polyak-Ruppert average of the iterates,
    which is also the result. With ``early_stopping`` the fit stops when the validation loss
    has not improved for ``n_iter_no_change`` epochs.
    """
    lipschitz = problem.lipschitz()
    steps_per_epoch = max(1, math.ceil(problem.source.n_rows / config.batch_size))
    stream = SgdStream.start(problem, config, steps_per_epoch)
    tracker = _Tracker(problem, config, lipschitz, stream.base)
    objective = problem.objective
    saved, first = tracker.resume()
    theta = theta0.copy() if saved is None else saved["theta"]
    value, grad = objective.smooth_value_and_grad(theta)
    loss = value + objective.penalty.l1_value(theta)
    if saved is None and tracker.start(
        theta, loss, _gradient_mapping_norm(problem, theta, grad, lipschitz)
    ):
        return tracker.result(theta, 0, "converged")
    best_validation, stale = float("inf"), 0
    if saved is not None:
        stream.state, stream.count = saved["optimizer_state"], int(saved["count"])
        best_validation, stale = float(saved["best_validation"]), int(saved["stale"])
        config.rng.bit_generator.state = saved["rng"]
        stream.averager.restore(saved)
    rows = compiled_rows(problem.source)
    reason = None
    epoch = first - 1
    model = stream.model(theta)
    for epoch in range(first, config.max_iter + 1):
        theta = stream.run(problem, theta, rows, config.batch_size,
                           config.rng if config.shuffle else None)
        model = stream.model(theta)
        value, grad = objective.smooth_value_and_grad(model)
        loss = value + objective.penalty.l1_value(model)
        grad_norm = _gradient_mapping_norm(problem, model, grad, lipschitz)
        step = stream.schedule(max(stream.count - 1, 0))
        reason = tracker.end_epoch(epoch, model, loss, grad_norm, step)
        if reason:
            break
        if config.early_stopping and problem.validation is not None:
            validation_loss = problem.validation.value(model)
            if validation_loss < best_validation * (1 - 1e-12):
                best_validation, stale = validation_loss, 0
            else:
                stale += 1
                if stale >= config.n_iter_no_change:
                    reason = (
                        f"early stopping: no validation improvement in "
                        f"{config.n_iter_no_change} epochs"
                    )
                    break
        tracker.checkpoint(
            epoch, theta=theta, optimizer_state=stream.state, count=stream.count,
            best_validation=best_validation, stale=stale, rng=config.rng.bit_generator.state,
            **stream.averager.to_state(),
        )
    return tracker.result(model, epoch, reason)


# The only list of solver names.
SOLVERS: dict[str, Callable[..., FitResult]] = {
    "gd": solve_gd,
    "sgd": solve_sgd,
    "cg": solve_cg,
}


class _EpochCounter:
    def __init__(self) -> None:
        self.epochs = 0

    def __call__(self, info: EpochInfo) -> None:
        self.epochs = info.epoch


def solve(problem: Problem, config: FitConfig, theta0=None) -> FitResult:
    """Run ``config.solver`` on ``problem`` from ``theta0`` (zeros by default).

    Ctrl-C becomes :class:`~gradreg.errors.FitInterrupted`, which says how many epochs ran.
    """
    if theta0 is None:
        theta0 = np.zeros(problem.n_params)
    counter = _EpochCounter()
    config = replace(config, callbacks=(counter, *config.callbacks))
    try:
        return SOLVERS[config.solver](problem, config, theta0)
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, FitInterrupted):
            raise
        raise FitInterrupted(counter.epochs) from None

"""The solvers: full-batch gradient descent, mini-batch SGD and conjugate gradient.

Each solver is a plain function ``solve(problem, config, theta0) -> FitResult``
registered in :data:`SOLVERS`, the only registry of solvers. All of them report each epoch to
one tracker (:mod:`gradreg._solver_base`), which keeps the history, certifies convergence
against the exact optimum, calls the user's callbacks and stops divergence before it produces
NaN. Gradient descent and conjugate gradient live here, SGD in :mod:`gradreg.sgd_solver`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ._solver_base import (
    _BACKTRACK,
    _BASIS_MAX,
    _GROWTH,
    _MAX_STEPS,
    EpochInfo,
    FitConfig,
    FitResult,
    _base_rate,
    _constant_schedule,
    _gradient_mapping_norm,
    _optimizer_kwargs,
    _Tracker,
    make_schedule,
)
from .errors import DivergenceError, FitInterrupted
from .optim import OPTIMIZERS
from .problem import Problem
from .sgd_solver import SgdStream, sgd_epoch, solve_sgd

__all__ = ["SOLVERS", "EpochInfo", "FitConfig", "FitResult", "SgdStream", "sgd_epoch", "solve"]

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
    # Whether ``residual`` is the true one (-grad), not the recurrence's; and the value at the
    # last restart for want of a direction (a restart that lowered nothing is not repeated).
    true_residual = saved is None
    restarted_at = math.inf
    reason = None
    epoch = first - 1
    # Curvatures below the optimum's rank cut (relative to the largest) are rounding noise: a
    # step by them would be unbounded.
    cut = problem.optimum.rank_cut * lipschitz if problem.optimum is not None else 0.0
    for epoch in range(first, config.max_iter + 1):
        product = objective.hvp(direction)
        curvature = float(direction @ product)
        rr = float(residual @ residual)
        stalled = curvature <= cut * float(direction @ direction) or rr == 0
        if stalled and not true_residual and value < restarted_at:
            # The recurrence's residual can round to nothing far from the optimum: after a
            # first step of an intercept of 1e15, slopes of 1 coupled to it keep only eps
            # times 1e15 of theirs. The true residual says whether a direction is left
            # (once more only where the steps since the last such restart lowered the value:
            # at the optimum of a rank-deficient design it is rounding noise).
            restarted_at = value
            basis.clear()
            residual = basis.orthogonalize(-grad)
            direction = residual.copy()
            true_residual = True
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
        true_residual = basis.full
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


# The only registry of solvers; the command line reads its names from _choices.SOLVER_NAMES
# (a test keeps the two equal), so that its start-up does not import the solvers.
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

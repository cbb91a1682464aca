"""Mini-batch stochastic gradient descent: the epochs of ``fit`` and the steps of
``partial_fit``, compiled for rows in memory (:mod:`gradreg._sgd_steps`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._sgd_steps import COMPILED_RULES, Averager, compiled_rows, n_steps, run_compiled, step_rates
from ._solver_base import (
    _ADAGRAD_EPS,
    FitConfig,
    FitResult,
    _base_rate,
    _constant_schedule,
    _gradient_mapping_norm,
    _optimizer_kwargs,
    _Tracker,
    make_schedule,
)
from .optim import OPTIMIZERS, Schedule
from .problem import Problem, batch_gradient

__all__ = ["SgdStream", "sgd_epoch", "solve_sgd"]


def _schedule_and_optimizer(config: FitConfig, base: float, steps_per_epoch: int):
    schedule = make_schedule(config, base, steps_per_epoch)
    return schedule, OPTIMIZERS[config.optimizer](schedule, **_optimizer_kwargs(config))


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
    # The settings the schedule and the optimizer were made from, and the steps per epoch.
    recipe: tuple | None = None

    @classmethod
    def start(cls, problem: Problem, config: FitConfig, steps_per_epoch: int = 1) -> SgdStream:
        base = _base_rate(problem, config, problem.lipschitz())
        # Only what the schedule and the optimizer read (not the callbacks, the shuffling's
        # generator or a checkpoint).
        settings = replace(config, callbacks=(), rng=None, checkpoint=None, resume=None)
        schedule, optimizer = _schedule_and_optimizer(settings, base, steps_per_epoch)
        constant = None
        if not callable(config.learning_rate) and _constant_schedule(config):
            constant = base
        eps = config.eps if config.optimizer == "adam" else _ADAGRAD_EPS
        return cls(base, schedule, optimizer, rule=config.optimizer,
                   hyper=(config.momentum, config.b1, config.b2, eps), constant=constant,
                   averager=Averager.from_setting(config.average),
                   recipe=(settings, steps_per_epoch))

    def __getstate__(self) -> dict:
        # The schedule and the optimizer are closures, which pickle cannot hold (a model that
        # has seen partial_fit keeps its stream): they are made again from their settings.
        state = dict(self.__dict__)
        if self.recipe is not None:
            del state["schedule"], state["optimizer"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "schedule" not in state:
            settings, steps_per_epoch = self.recipe
            self.schedule, self.optimizer = _schedule_and_optimizer(
                settings, self.base, steps_per_epoch)

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

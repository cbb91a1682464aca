"""The steps of SGD over in-memory rows, run by the compiled loop of :mod:`gradreg.optim._kernels`.

This module translates between the optimizer states of :mod:`gradreg.optim` (named tuples, as
checkpoints store them) and the flat arrays the compiled loop updates, and computes the
learning rate of every step from the schedule. The Python loop
:func:`gradreg.sgd_solver.sgd_epoch` takes the same steps one batch at a time; it remains the path
of sources that are read in batches (files, Dask) and the reference the compiled loop is
tested against.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .optim import (
    EmptyState,
    ScaleByAdamState,
    ScaleByLearningRateState,
    ScaleByRssState,
    TraceState,
)

__all__ = ["COMPILED_RULES", "Averager", "compiled_rows", "run_compiled", "step_rates"]

# The update rules the compiled loop runs (those of gradreg.optim._kernels.RULES). The loop is
# imported on first use, so that importing gradreg does not import numba.
COMPILED_RULES = ("plain", "momentum", "nesterov", "adam", "adagrad")

# Never reached: averaging that does not start.
_NEVER = np.iinfo(np.int64).max // 2


@dataclass
class Averager:
    """Polyak-Ruppert averaging of the iterates, started once ``start`` rows have been seen.

    ``start`` is scikit-learn's ``average``: ``True`` is 1 (from the first step), ``False``
    never, an integer the number of rows seen before averaging begins.
    """

    start: int
    theta: np.ndarray | None = None
    count: int = 0
    rows_seen: int = 0

    @classmethod
    def from_setting(cls, average: bool | int) -> Averager:
        if isinstance(average, bool | np.bool_):
            return cls(1 if average else _NEVER)
        return cls(int(average))

    @property
    def enabled(self) -> bool:
        return self.start < _NEVER

    def update(self, theta: np.ndarray, rows: int) -> None:
        """Account for one step (of ``rows`` rows) that reached ``theta``; the Python path."""
        self.rows_seen += rows
        if self.rows_seen >= self.start:
            self.count += 1
            if self.count == 1:
                self.theta = theta.copy()
            else:
                self.theta = self.theta + (theta - self.theta) * (1.0 / self.count)
        else:
            self.theta = theta.copy()

    def current(self, theta: np.ndarray) -> np.ndarray:
        """The model's parameters: the average when averaging has begun, else ``theta``."""
        if not self.enabled or self.theta is None:
            return theta
        return self.theta

    def to_state(self) -> dict:
        return {"average": self.theta, "average_count": self.count, "rows_seen": self.rows_seen}

    def restore(self, saved: dict) -> None:
        if saved.get("average") is not None:
            self.theta = np.asarray(saved["average"], dtype=np.float64)
        self.count = int(saved.get("average_count", 0))
        self.rows_seen = int(saved.get("rows_seen", 0))


@dataclass
class CompiledRows:
    """In-memory rows ready for the compiled loop (contiguous, float32 or float64)."""

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray = field(repr=False)

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]


def compiled_rows(source) -> CompiledRows | None:
    """The rows of an in-memory source, converted once; ``None`` for sources read in batches."""
    X = getattr(source, "X", None)
    if not isinstance(X, np.ndarray) or not isinstance(getattr(source, "y", None), np.ndarray):
        return None
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    weights = source.sample_weight
    return CompiledRows(
        np.ascontiguousarray(X),
        np.ascontiguousarray(source.y, dtype=np.float64),
        np.ones(X.shape[0]) if weights is None else np.ascontiguousarray(weights, np.float64),
    )


def step_rates(
    schedule: Callable[[int], float], constant: float | None, first: int, n_steps: int,
    factor: float = 1.0,
) -> np.ndarray:
    """The learning rate of steps ``first, ..., first + n_steps - 1`` (times ``factor``)."""
    if constant is not None:
        rates = np.full(n_steps, float(constant))
    else:
        rates = np.fromiter((schedule(k) for k in range(first, first + n_steps)), np.float64,
                            count=n_steps)
    return rates if factor == 1.0 else rates * factor


def _moments(rule: str, inner, p: int) -> tuple[np.ndarray, np.ndarray, int]:
    zeros = np.zeros(p)
    if rule in ("momentum", "nesterov"):
        return inner.trace, zeros, 0
    if rule == "adam":
        return inner.mu, inner.nu, int(inner.count)
    if rule == "adagrad":
        return zeros, inner.sum_of_squares, 0
    return zeros, zeros, 0


def _inner_state(rule: str, first: np.ndarray, second: np.ndarray, adam_count: int):
    if rule in ("momentum", "nesterov"):
        return TraceState(trace=first)
    if rule == "adam":
        return ScaleByAdamState(count=adam_count, mu=first, nu=second)
    if rule == "adagrad":
        return ScaleByRssState(sum_of_squares=second)
    return EmptyState()


def run_compiled(
    rows: CompiledRows,
    order: np.ndarray,
    batch_size: int,
    precond,
    penalty,
    theta: np.ndarray,
    rule: str,
    state: tuple,
    hyper: tuple[float, float, float, float],
    rates: np.ndarray,
    averager: Averager,
) -> tuple[np.ndarray, tuple]:
    """Run ``len(rates)`` steps over ``rows[order]``; return ``theta`` and the optimizer state.

    ``state`` is the optimizer's chain state ``(inner, ScaleByLearningRateState)``; the
    averager is updated in place.
    """
    from .optim._kernels import sgd_steps

    inner, lr_state = state
    first, second, adam_count = _moments(rule, inner, theta.shape[0])
    average = theta if averager.theta is None else averager.theta
    counters = np.array([adam_count, averager.count, averager.rows_seen, averager.start])
    theta, (first, second), average, counters = sgd_steps(
        rows.X, rows.y, rows.weights, order, batch_size, precond.shift, precond.scale,
        precond.fit_intercept, theta, rule, (first, second), hyper, rates,
        penalty.l2_weights, penalty.l1_weights, average, counters,
    )
    averager.theta, averager.count, averager.rows_seen = average, int(counters[1]), int(counters[2])
    new_state = (
        _inner_state(rule, first, second, int(counters[0])),
        ScaleByLearningRateState(count=lr_state.count + len(rates)),
    )
    return theta, new_state


def n_steps(n_rows: int, batch_size: int) -> int:
    return max(0, math.ceil(n_rows / batch_size))

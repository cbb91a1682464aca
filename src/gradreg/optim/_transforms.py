"""The building blocks: learning rate, momentum trace, Adam and AdaGrad rescaling."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import GradientTransformation
from .schedules import Schedule, as_schedule

__all__ = [
    "ScaleByAdamState",
    "ScaleByLearningRateState",
    "ScaleByRssState",
    "TraceState",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rss",
    "trace",
]


class ScaleByLearningRateState(NamedTuple):
    count: int


def scale_by_learning_rate(learning_rate: float | Schedule) -> GradientTransformation:
    """``u = -eta_t * g``: the step size and the descent sign, in one place."""
    schedule = as_schedule(learning_rate)

    def init(params: np.ndarray) -> ScaleByLearningRateState:
        return ScaleByLearningRateState(count=0)

    def update(grads, state):
        step = schedule(state.count)
        return -step * grads, ScaleByLearningRateState(count=state.count + 1)

    return GradientTransformation(init, update)


class TraceState(NamedTuple):
    trace: np.ndarray


def trace(momentum: float = 0.9, nesterov: bool = False) -> GradientTransformation:
    """Momentum: ``m = momentum * m + g``; passes on ``m`` or, with Nesterov, ``g + momentum*m``.

    The Nesterov form is Sutskever et al. (2013)'s rewriting of Nesterov's look-ahead gradient,
    evaluated at the current parameters.
    """

    def init(params: np.ndarray) -> TraceState:
        return TraceState(trace=np.zeros_like(params, dtype=np.float64))

    def update(grads, state):
        new_trace = momentum * state.trace + grads
        updates = grads + momentum * new_trace if nesterov else new_trace
        return updates, TraceState(trace=new_trace)

    return GradientTransformation(init, update)


class ScaleByAdamState(NamedTuple):
    count: int
    mu: np.ndarray
    nu: np.ndarray


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """Adam's rescaling (Kingma & Ba, 2015): ``m_hat / (sqrt(v_hat) + eps)``."""

    def init(params: np.ndarray) -> ScaleByAdamState:
        zeros = np.zeros_like(params, dtype=np.float64)
        return ScaleByAdamState(count=0, mu=zeros, nu=zeros.copy())

    def update(grads, state):
        count = state.count + 1
        mu = b1 * state.mu + (1 - b1) * grads
        nu = b2 * state.nu + (1 - b2) * grads**2
        mu_hat = mu / (1 - b1**count)
        nu_hat = nu / (1 - b2**count)
        return mu_hat / (np.sqrt(nu_hat) + eps), ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


class ScaleByRssState(NamedTuple):
    sum_of_squares: np.ndarray


def scale_by_rss(initial_accumulator_value: float = 0.1, eps: float = 1e-7):
    """AdaGrad's rescaling (Duchi et al., 2011): ``g / sqrt(sum of past g^2 + eps)``."""

    def init(params: np.ndarray) -> ScaleByRssState:
        return ScaleByRssState(np.full_like(params, initial_accumulator_value, dtype=np.float64))

    def update(grads, state):
        total = state.sum_of_squares + grads**2
        return grads / np.sqrt(total + eps), ScaleByRssState(total)

    return GradientTransformation(init, update)

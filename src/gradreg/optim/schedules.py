"""Learning-rate schedules: functions of the step count returning a step size.

A float or a schedule is accepted wherever a learning rate is; :func:`as_schedule` is the one
place where a float becomes a (constant) schedule.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = [
    "Schedule",
    "as_schedule",
    "constant",
    "cosine_decay",
    "exponential_decay",
    "inverse_scaling",
    "step_decay",
]

Schedule = Callable[[int], float]


def constant(value: float) -> Schedule:
    """``eta_t = value``.

    Examples
    --------
    >>> constant(0.1)(100)
    0.1
    """

    def schedule(count: int) -> float:
        return value

    return schedule


def inverse_scaling(init_value: float, power: float = 0.25) -> Schedule:
    """``eta_t = init_value / (t + 1)^power`` (scikit-learn's ``invscaling``).

    Examples
    --------
    >>> inverse_scaling(1.0, power=0.5)(3)
    0.5
    """

    def schedule(count: int) -> float:
        try:
            return init_value / (count + 1) ** power
        except OverflowError:  # a huge power: the rate is below init_value / 1e308
            return 0.0

    return schedule


def exponential_decay(init_value: float, decay_rate: float = 0.99) -> Schedule:
    """``eta_t = init_value * decay_rate^t``.

    Examples
    --------
    >>> exponential_decay(1.0, 0.5)(2)
    0.25
    """

    def schedule(count: int) -> float:
        return init_value * decay_rate**count

    return schedule


def step_decay(init_value: float, step_size: int = 10, factor: float = 0.5) -> Schedule:
    """``eta_t = init_value * factor^floor(t / step_size)``.

    Examples
    --------
    >>> step_decay(1.0, step_size=10, factor=0.5)(25)
    0.25
    """

    def schedule(count: int) -> float:
        return init_value * factor ** (count // step_size)

    return schedule


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Cosine from ``init_value`` down to ``alpha * init_value`` over ``decay_steps`` steps.

    Examples
    --------
    >>> cosine_decay(1.0, decay_steps=10)(5)
    0.5
    """

    def schedule(count: int) -> float:
        progress = min(count, decay_steps) / decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return init_value * ((1.0 - alpha) * cosine + alpha)

    return schedule


def as_schedule(learning_rate: float | Schedule) -> Schedule:
    """A schedule from a float (constant) or a schedule (returned as is)."""
    if callable(learning_rate):
        return learning_rate
    return constant(float(learning_rate))

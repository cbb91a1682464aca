"""Optimizers as small composable ``init``/``update`` pairs."""

from ._aliases import adagrad, adam, momentum, nesterov, plain
from ._base import EmptyState, GradientTransformation, chain, identity
from ._transforms import (
    ScaleByAdamState,
    ScaleByLearningRateState,
    ScaleByRssState,
    TraceState,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rss,
    trace,
)
from .schedules import (
    Schedule,
    as_schedule,
    constant,
    cosine_decay,
    exponential_decay,
    inverse_scaling,
    step_decay,
)

# The one registry of update rules; the estimator reads it from here, the command line its names
# from gradreg._choices.OPTIMIZER_NAMES (a test keeps the two equal).
OPTIMIZERS = {
    "plain": plain,
    "momentum": momentum,
    "nesterov": nesterov,
    "adam": adam,
    "adagrad": adagrad,
}

__all__ = [
    "OPTIMIZERS",
    "EmptyState",
    "GradientTransformation",
    "ScaleByAdamState",
    "ScaleByLearningRateState",
    "ScaleByRssState",
    "Schedule",
    "TraceState",
    "adagrad",
    "adam",
    "as_schedule",
    "chain",
    "constant",
    "cosine_decay",
    "exponential_decay",
    "identity",
    "inverse_scaling",
    "momentum",
    "nesterov",
    "plain",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rss",
    "step_decay",
    "trace",
]

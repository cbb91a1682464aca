"""The optimizer interface: a pair of pure functions ``init(params)`` and ``update(grads, state)``.

``update`` returns the *updates* to add to the parameters and the new state; nothing is changed
in place. Transformations compose with :func:`chain`, so a named optimizer is a short chain of
small pieces (a momentum trace, a rescaling, the learning rate and its sign).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["EmptyState", "GradientTransformation", "chain", "identity"]

State = Any


class GradientTransformation(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state) -> (updates, state)``."""

    init: Callable[[np.ndarray], State]
    update: Callable[[np.ndarray, State], tuple[np.ndarray, State]]


class EmptyState(NamedTuple):
    """State of a stateless transformation."""


def identity() -> GradientTransformation:
    """Passes the gradient through unchanged."""

    def init(params: np.ndarray) -> EmptyState:
        return EmptyState()

    def update(grads: np.ndarray, state: EmptyState) -> tuple[np.ndarray, EmptyState]:
        return grads, state

    return GradientTransformation(init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Applies ``transforms`` in order; the state is the tuple of their states.

    Examples
    --------
    >>> import numpy as np
    >>> from gradreg.optim import scale_by_learning_rate, trace
    >>> opt = chain(trace(momentum=0.5), scale_by_learning_rate(0.1))
    >>> state = opt.init(np.zeros(1))
    >>> updates, state = opt.update(np.array([1.0]), state)
    >>> updates, state = opt.update(np.array([1.0]), state)
    >>> updates
    array([-0.15])
    """

    def init(params: np.ndarray) -> tuple:
        return tuple(t.init(params) for t in transforms)

    def update(grads: np.ndarray, state: tuple) -> tuple[np.ndarray, tuple]:
        new_states = []
        for transform, inner in zip(transforms, state, strict=True):
            grads, inner = transform.update(grads, inner)
            new_states.append(inner)
        return grads, tuple(new_states)

    return GradientTransformation(init, update)

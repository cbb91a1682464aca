"""Named optimizers, each a short chain of transformations.

Every alias takes the learning rate as a float or a schedule and returns a
:class:`~gradreg.optim.GradientTransformation`.
"""

from __future__ import annotations

from ._base import GradientTransformation, chain, identity
from ._transforms import scale_by_adam, scale_by_learning_rate, scale_by_rss, trace
from .schedules import Schedule

__all__ = ["adagrad", "adam", "momentum", "nesterov", "plain"]


def plain(learning_rate: float | Schedule) -> GradientTransformation:
    """Gradient descent: ``theta <- theta - eta_t * g``.

    Reference: Cauchy (1847).

    Examples
    --------
    >>> import numpy as np
    >>> opt = plain(0.1)
    >>> updates, _ = opt.update(np.array([2.0]), opt.init(np.zeros(1)))
    >>> updates
    array([-0.2])
    """
    return chain(identity(), scale_by_learning_rate(learning_rate))


def momentum(learning_rate: float | Schedule, momentum: float = 0.9) -> GradientTransformation:
    """Heavy ball: ``m <- mu*m + g``, ``theta <- theta - eta_t*m``.

    Reference: Polyak (1964). Stable for constant ``eta < 2(1 + mu)/L`` on a quadratic.

    Examples
    --------
    >>> import numpy as np
    >>> opt = momentum(0.1, momentum=0.5)
    >>> state = opt.init(np.zeros(1))
    >>> _, state = opt.update(np.array([1.0]), state)
    >>> updates, _ = opt.update(np.array([1.0]), state)
    >>> updates
    array([-0.15])
    """
    return chain(trace(momentum=momentum), scale_by_learning_rate(learning_rate))


def nesterov(learning_rate: float | Schedule, momentum: float = 0.9) -> GradientTransformation:
    """Nesterov momentum: ``m <- mu*m + g``, ``theta <- theta - eta_t*(g + mu*m)``.

    Reference: Nesterov (1983), in the form of Sutskever et al. (2013). The full-batch solver
    uses the accelerated proximal gradient method (FISTA) instead, see :mod:`gradreg.solvers`.

    Examples
    --------
    >>> import numpy as np
    >>> opt = nesterov(0.1, momentum=0.5)
    >>> updates, _ = opt.update(np.array([1.0]), opt.init(np.zeros(1)))
    >>> updates
    array([-0.15])
    """
    return chain(trace(momentum=momentum, nesterov=True), scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """Adam: ``theta <- theta - eta_t * m_hat / (sqrt(v_hat) + eps)``.

    Reference: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization".

    Examples
    --------
    >>> import numpy as np
    >>> opt = adam(0.1)
    >>> updates, _ = opt.update(np.array([3.0]), opt.init(np.zeros(1)))
    >>> np.round(updates, 6)
    array([-0.1])
    """
    return chain(scale_by_adam(b1=b1, b2=b2, eps=eps), scale_by_learning_rate(learning_rate))


def adagrad(
    learning_rate: float | Schedule, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    """AdaGrad: ``s <- s + g^2``, ``theta <- theta - eta_t * g / sqrt(s + eps)``.

    Reference: Duchi, Hazan & Singer (2011).

    Examples
    --------
    >>> import numpy as np
    >>> opt = adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
    >>> updates, _ = opt.update(np.array([2.0]), opt.init(np.zeros(1)))
    >>> updates
    array([-1.])
    """
    return chain(
        scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
        scale_by_learning_rate(learning_rate),
    )

"""The classic algorithm: batch gradient descent for ``y = m*x + b``, exactly as taught."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import NoReturn

import numpy as np
from numpy.typing import ArrayLike

from ._messages import shown
from ._trace import DescentTrace, classic_cost, warn_if_far
from ._validation import as_numeric, check_finite
from .errors import DataError, DivergenceError, ParameterError

__all__ = [
    "DescentPath",
    "DescentTrace",
    "classic_max_stable_learning_rate",
    "descent_path",
    "gradient_descent",
]


def classic_max_stable_learning_rate(x: ArrayLike) -> float:
    """Largest constant learning rate at which :func:`gradient_descent` does not diverge.

    The cost is the mean squared error, whose Hessian in ``(m, b)`` is
    ``(2/N) * [[sum x^2, sum x], [sum x, N]]``. Gradient descent on a quadratic is stable for
    rates below ``2/L``, where ``L`` is the Hessian's largest eigenvalue.

    Examples
    --------
    >>> round(classic_max_stable_learning_rate([1.0, 2.0, 3.0]), 6)
    0.180295
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    n = xs.size
    hessian = (2.0 / n) * np.array([[np.dot(xs, xs), xs.sum()], [xs.sum(), n]])
    return float(2.0 / np.linalg.eigvalsh(hessian)[-1])


def gradient_descent(
    x: ArrayLike,
    y: ArrayLike,
    learning_rate: float = 0.0001,
    epochs: int = 1000,
    *,
    trace: bool = False,
):
    r"""Fit ``y = m*x + b`` by batch gradient descent on the mean squared error.

    Starting from :math:`m = b = 0`, each of the ``epochs`` epochs computes

    .. math::

        \hat y_i = m x_i + b, \qquad
        J = \frac{1}{N}\sum_i (y_i - \hat y_i)^2,

        \frac{\partial J}{\partial m} = -\frac{2}{N}\sum_i x_i (y_i - \hat y_i), \qquad
        \frac{\partial J}{\partial b} = -\frac{2}{N}\sum_i (y_i - \hat y_i),

    then takes the step :math:`m \leftarrow m - \eta\,\partial J/\partial m`,
    :math:`b \leftarrow b - \eta\,\partial J/\partial b` with the constant learning rate
    :math:`\eta`. This is the ten-line loop of the classic tutorial, vectorised with numpy; it
    returns the same numbers.

    Parameters
    ----------
    x, y : array-like of shape (N,)
        One feature and the target.
    learning_rate : float, default=0.0001
        The constant step :math:`\eta`, > 0 and below the stability limit 2/L
        (:func:`classic_max_stable_learning_rate`), which is known from the data before the
        first epoch.
    epochs : int, default=1000
        Number of full passes over the data, >= 1.
    trace : bool, default=False
        Return every epoch (a :class:`DescentTrace`) instead of the last values.

    Returns
    -------
    m, b : float
        Slope and intercept after the last update.
    cost : float
        The cost :math:`J` at the returned ``m`` and ``b``: their mean squared error, in
        ``y``'s units squared. (The classic loop's own ``cost`` variable holds the cost before
        its last update, of other ``m`` and ``b``; every cost gradreg shows is the cost of the
        parameters shown with it, the warning's included.)

    or, with ``trace=True``, a :class:`DescentTrace` of every epoch's ``m``, ``b``, cost and
    gradients; its ``result`` is the ``(m, b, cost)`` above.

    Raises
    ------
    DivergenceError
        Before the first epoch, when ``learning_rate`` is at or above 2/L; the message names
        2/L and a rate that works.

    Warns
    -----
    ConvergenceWarning
        When ``m`` and ``b`` end further than 1e-3 (relative) from the least-squares line: the
        message gives the returned ``m``, ``b`` and cost, the gap, the optimum and the epochs
        this rate would need.

    Examples
    --------
    The bundled study-time data (hours studied, test score):

    >>> from gradreg.datasets import load_study_time
    >>> data = load_study_time()
    >>> m, b, cost = gradient_descent(data.hours, data.score, learning_rate=0.01, epochs=5000)
    >>> print(f"score = {m:.2f} * hours + {b:.2f}  (mean squared error {cost:.1f})")
    score = 5.44 * hours + 37.58  (mean squared error 18.9)

    Every epoch, as numbers a learner can check by hand:

    >>> steps = gradient_descent(data.hours, data.score, learning_rate=0.01, epochs=5000,
    ...                          trace=True)
    >>> print(steps.table(rows=3, last=False))
     epoch            m            b   cost (MSE)        dJ/dm        dJ/db
         1            0            0      4508.28     -743.936     -131.148
         2      7.43936      1.31148      720.865     -241.983     -52.0186
         3       9.8592      1.83167      313.699     -77.7485     -26.0927
       ...
    >>> steps.result == (m, b, cost)
    True
    """
    if (isinstance(learning_rate, bool) or not isinstance(learning_rate, Real)
            or not np.isfinite(learning_rate) or learning_rate <= 0):
        raise ParameterError(
            "The 'learning_rate' parameter of gradient_descent must be a float in the range "
            f"(0.0, inf). Got {shown(learning_rate)} instead."
        )
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ParameterError(
            "The 'epochs' parameter of gradient_descent must be an int in the range [1, inf). "
            f"Got {shown(epochs)} instead."
        )
    xs = as_numeric(x, "x").astype(np.float64).ravel()
    ys = as_numeric(y, "y").astype(np.float64).ravel()
    if xs.size != ys.size:
        raise DataError(f"x and y have different lengths: x has {xs.size}, y has {ys.size}.")
    if xs.size == 0:
        raise DataError("x and y are empty: gradient descent needs at least one point.")
    check_finite(xs, "x")
    check_finite(ys, "y")
    limit = classic_max_stable_learning_rate(xs)
    if learning_rate >= limit:
        raise DivergenceError(
            f"gradient_descent would diverge with learning_rate={learning_rate:g}: the largest "
            f"stable learning rate for these data is {limit:.6g} (2/L), known before the first "
            f"epoch. Use a smaller one, e.g. {limit / 2:.6g} (1/L)."
        )

    n = float(xs.size)
    m = b = 0.0
    cost = float("nan")
    record = np.empty((epochs, 5)) if trace else None
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            residuals = ys - (m * xs + b)
            cost = float(np.mean(residuals**2))  # classic_cost(xs, ys, m, b), residuals kept
            dm = -(2.0 / n) * float(np.dot(xs, residuals))
            db = -(2.0 / n) * float(residuals.sum())
            if record is not None:
                record[epoch] = m, b, cost, dm, db
            m -= learning_rate * dm
            b -= learning_rate * db
            if not np.isfinite(cost + m + b):
                _overflowed(learning_rate, limit)
        # The cost returned and quoted is that of the m and b returned, by the same function
        # as every epoch's.
        cost = classic_cost(xs, ys, m, b)
    if not np.isfinite(cost):
        _overflowed(learning_rate, limit)
    warn_if_far(xs, ys, m, b, cost, learning_rate, epochs)
    if record is None:
        return m, b, cost
    return DescentTrace(
        epoch=np.arange(1, epochs + 1), m=record[:, 0], b=record[:, 1], cost=record[:, 2],
        grad_m=record[:, 3], grad_b=record[:, 4], learning_rate=float(learning_rate),
        final_m=m, final_b=b, final_cost=cost,
    )


def _overflowed(learning_rate: float, limit: float) -> NoReturn:
    raise DivergenceError(
        f"gradient_descent overflowed float64 with learning_rate={learning_rate:g}, below the "
        f"stable limit {limit:.6g} (2/L): the data's squares are too large. Rescale x and y, "
        "e.g. divide each by its largest absolute value."
    )


@dataclass(frozen=True)
class DescentPath:
    """Every epoch of a classic descent: ``coef`` (epochs + 1, d), ``intercept`` and ``cost``.

    ``cost[k]`` is the mean squared error at ``coef[k]``, ``intercept[k]``; a descent that blew up
    stops early and ``diverged`` is true.
    """

    coef: np.ndarray
    intercept: np.ndarray
    cost: np.ndarray
    diverged: bool


def descent_path(
    X: ArrayLike, y: ArrayLike, learning_rate: float, epochs: int, fit_intercept: bool = True
) -> DescentPath:
    """The classic algorithm for several features, from zero, recording every epoch.

    Plain gradient descent on the mean squared error of ``y = X w + b`` in the data's own units,
    as :func:`gradient_descent` does for one feature; for plots and teaching. A descent that
    overflows stops there (no error), so that divergence can be shown.

    Examples
    --------
    >>> from gradreg.datasets import load_study_time
    >>> data = load_study_time()
    >>> path = descent_path(data.X, data.score, learning_rate=0.01, epochs=5000)
    >>> round(float(path.coef[-1, 0]), 2), round(float(path.intercept[-1]), 2)
    (5.44, 37.58)
    """
    features = np.asarray(X, dtype=np.float64)
    if features.ndim == 1:
        features = features.reshape(-1, 1)
    target = np.asarray(y, dtype=np.float64)
    n, d = features.shape
    coef = np.zeros(d)
    intercept = 0.0
    coefs, intercepts, costs = [coef.copy()], [0.0], []
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs + 1):
            residuals = target - features @ coef - intercept
            cost = float(np.mean(residuals**2))
            costs.append(cost)
            if not np.isfinite(cost):
                diverged = True
                break
            if len(costs) > epochs:
                break
            coef = coef + learning_rate * (2.0 / n) * (features.T @ residuals)
            if fit_intercept:
                intercept += learning_rate * (2.0 / n) * float(residuals.sum())
            coefs.append(coef.copy())
            intercepts.append(intercept)
    size = len(costs)
    return DescentPath(
        np.asarray(coefs[:size]), np.asarray(intercepts[:size]), np.asarray(costs), diverged
    )

"""What the classic descent shows a learner: every epoch, and how far it stopped from the line.

The cost is the mean squared error ``J(m, b)``; its Hessian ``H = (2/N) [[sum x^2, sum x],
[sum x, N]]`` is constant, so the error ``e_k = (m_k - m*, b_k - b*)`` of the descent at rate
``eta`` evolves exactly as ``e_{k+1} = (I - eta H) e_k``. In the eigenbasis of ``H`` each
component shrinks by ``|1 - eta lambda_i|`` per epoch, which gives the epochs still needed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .errors import ConvergenceWarning

__all__ = ["DescentTrace", "classic_cost", "classic_optimum", "epochs_needed", "warn_if_far"]

# gradient_descent warns when m and b are further than this from the optimum (relative).
FAR = 1e-3
# ... and says how many epochs would bring them within this.
CLOSE = 1e-6
_COLUMNS = ("epoch", "m", "b", "cost (MSE)", "dJ/dm", "dJ/db")


@dataclass(frozen=True)
class DescentTrace:
    """Every epoch of :func:`gradreg.gradient_descent`, as arrays of shape (epochs,).

    Row ``k`` is epoch ``epoch[k]`` (1-based): the ``m`` and ``b`` it starts from, the cost
    (mean squared error) there and the two partial derivatives ``grad_m = dJ/dm`` and
    ``grad_b = dJ/db``; the epoch then steps to ``m - learning_rate * grad_m`` and
    ``b - learning_rate * grad_b``, the next row's values. ``final_m`` and ``final_b`` are the
    values after the last step and ``final_cost`` the mean squared error there
    (:func:`classic_cost`): every cost here is that one function of the ``m`` and ``b`` beside
    it.
    """

    epoch: np.ndarray
    m: np.ndarray
    b: np.ndarray
    cost: np.ndarray
    grad_m: np.ndarray
    grad_b: np.ndarray
    learning_rate: float
    final_m: float
    final_b: float
    final_cost: float

    @property
    def result(self) -> tuple[float, float, float]:
        """``(m, b, cost)`` as :func:`gradreg.gradient_descent` returns them without a trace:
        the values after the last step and the mean squared error at them."""
        return self.final_m, self.final_b, self.final_cost

    def rows(self) -> list[tuple]:
        """One tuple per epoch: ``(epoch, m, b, cost, dJ/dm, dJ/db)``."""
        columns = (self.epoch, self.m, self.b, self.cost, self.grad_m, self.grad_b)
        return [(int(row[0]), *map(float, row[1:])) for row in zip(*columns, strict=True)]

    def table(self, rows: int | None = 10, last: bool = True) -> str:
        """The epochs as a text table: the first ``rows`` (all with ``None``), then the last.

        Where the last epoch is shown, a row ``after`` follows it: the ``m``, ``b`` and cost
        that :attr:`result` returns (no gradient is computed there).
        """
        every = self.rows()
        shown = every if rows is None or rows + 1 >= len(every) else every[:rows]
        lines = [f"{_COLUMNS[0]:>6}" + "".join(f"{name:>13}" for name in _COLUMNS[1:])]
        lines += [_format_row(row) for row in shown]
        if len(shown) < len(every):
            lines += [f"{'...':>6}"] + ([_format_row(every[-1])] if last else [])
        if len(shown) == len(every) or last:
            lines.append(_format_row(("after", *self.result)))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __len__(self) -> int:
        return int(self.epoch.size)


def _format_row(row: tuple) -> str:
    return f"{row[0]:>6}" + "".join(f"{value:>13.6g}" for value in row[1:])


def classic_cost(x: np.ndarray, y: np.ndarray, m: float, b: float) -> float:
    """The tutorial's cost at ``(m, b)``: the mean squared error ``mean((y - (m x + b))^2)``,
    in ``y``'s units squared, computed as the descent's epochs compute it."""
    residuals = y - (m * x + b)
    return float(np.mean(residuals**2))


def classic_optimum(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float] | None:
    """The least-squares ``(m*, b*, J*)`` from centred sums; None when ``x`` is constant."""
    dx = x - x.mean()
    sxx = float(dx @ dx)
    if not sxx > 0:
        return None
    slope = float(dx @ (y - y.mean())) / sxx
    intercept = float(y.mean() - slope * x.mean())
    residuals = y - slope * x - intercept
    return slope, intercept, float(np.mean(residuals**2))


def epochs_needed(x: np.ndarray, error: np.ndarray, learning_rate: float, target: float) -> float:
    """Further epochs at ``learning_rate`` until ``|e| <= target``, from the error ``e`` now.

    Exact for the quadratic cost: the smallest ``k`` with ``|(I - eta H)^k e| <= target``
    (``inf`` when the rate makes no progress along a direction of ``e``).
    """
    n = x.size
    hessian = (2.0 / n) * np.array([[x @ x, x.sum()], [x.sum(), n]])
    eigenvalues, vectors = np.linalg.eigh(hessian)
    parts = np.abs(vectors.T @ error)
    factors = np.abs(1.0 - learning_rate * eigenvalues)

    def norm_after(k: float) -> float:
        with np.errstate(under="ignore"):
            return float(np.sqrt(np.sum((parts * factors**k) ** 2)))

    if norm_after(0) <= target:
        return 0.0
    moving = parts > 0
    if np.any(factors[moving] >= 1.0):
        return math.inf
    # |e_k| <= |e| * max(factor)^k bounds the answer; then bisect the monotone norm.
    high = math.ceil(math.log(target / np.linalg.norm(error)) / math.log(factors[moving].max()))
    low = 0
    while high - low > 1:
        middle = (low + high) // 2
        if norm_after(middle) <= target:
            high = middle
        else:
            low = middle
    return float(high)


def warn_if_far(
    x, y, m: float, b: float, cost: float, learning_rate: float, epochs: int
) -> None:
    """Warn when ``(m, b)`` is further than :data:`FAR` (relative) from the optimum.

    ``cost`` is the one returned with ``(m, b)`` (:func:`classic_cost` there): the warning
    quotes that figure, not one of its own.
    """
    optimum = classic_optimum(x, y)
    if optimum is None:
        return
    best_m, best_b, best_cost = optimum
    error = np.array([m - best_m, b - best_b])
    size = max(math.hypot(best_m, best_b), np.finfo(np.float64).tiny)
    distance = float(np.linalg.norm(error)) / size
    if not distance > FAR:
        return
    gap = (cost - best_cost) / best_cost if best_cost > 0 else math.inf
    more = epochs_needed(x, error, learning_rate, CLOSE * size)
    need = ("no number of epochs reaches it" if math.isinf(more) else
            f"it would need about {epochs + more:,.0f} epochs in all to come within {CLOSE:g}")
    warnings.warn(
        f"gradient_descent stopped far from the least-squares line after {epochs} epochs: "
        f"m = {m:.6g}, b = {b:.6g}, relative distance {distance:.3g}, against the optimum "
        f"m* = {best_m:.6g}, b* = {best_b:.6g}; cost {cost:.6g} against {best_cost:.6g} "
        f"(relative gap {gap:.3g}). At learning_rate={learning_rate:g} {need}; increase epochs "
        "or the learning rate (below 2/L).",
        ConvergenceWarning,
        stacklevel=3,
    )

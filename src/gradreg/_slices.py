"""Two-coefficient views of the mean squared error, for plots and the interactive page.

With many coefficients the cost cannot be drawn; a plane through the optimum along two of them
can, exactly: the other coefficients (and the intercept, unless it is one of the two) are held at
their optimal values, and the cost restricted to the plane is again a least-squares cost in two
parameters, ``J(a, c) = mean((z - a u - c v)^2)`` with ``u``, ``v`` the two columns and ``z`` the
target minus the held part. Gradient descent on that two-parameter problem stays in the plane,
so its path and the contours drawn are the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._messages import shown
from .errors import ParameterError

__all__ = ["Slice", "make_slice", "strongest_coupling", "least_squares"]


def least_squares(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of the least-squares fit (numpy's SVD solver)."""
    solution = np.linalg.lstsq(np.c_[X, np.ones(len(y))], y, rcond=None)[0]
    return solution[:-1], float(solution[-1])


def strongest_coupling(X: np.ndarray) -> tuple[int, int | None]:
    """The pair of parameters whose curvature is most coupled.

    The MSE's Hessian ``H = (2/N) A^T A`` for ``A = [X 1]``; the coupling of ``i`` and ``j`` is
    ``|H_ij| / sqrt(H_ii H_jj)``, the cosine between the two columns: at 1 the contours are a
    narrow valley along the diagonal. ``None`` stands for the intercept.
    """
    design = np.c_[X, np.ones(X.shape[0])]
    gram = design.T @ design
    diagonal = np.sqrt(np.maximum(np.diag(gram), np.finfo(np.float64).tiny))
    coupling = np.abs(gram) / np.outer(diagonal, diagonal)
    np.fill_diagonal(coupling, -1.0)
    i, j = np.unravel_index(int(np.argmax(coupling)), coupling.shape)
    i, j = sorted((int(i), int(j)))
    d = X.shape[1]
    return i, (None if j == d else j)


@dataclass(frozen=True)
class Slice:
    """The plane through the optimum along parameters ``pair`` (``None``: the intercept).

    ``columns`` (N, 2) and ``target`` (N,) define the two-parameter least-squares problem of the
    plane; ``optimum`` is the full problem's optimum in the plane's coordinates.
    """

    pair: tuple[int, int | None]
    columns: np.ndarray
    target: np.ndarray
    optimum: tuple[float, float]

    def cost(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Mean squared error at the points ``(first, second)`` of the plane (any shape)."""
        u, v, z = self.columns[:, 0], self.columns[:, 1], self.target
        n = z.size
        # mean((z - a u - c v)^2) expanded in the six sums, without an N x grid array.
        zz, zu, zv = z @ z, z @ u, z @ v
        uu, vv, uv = u @ u, v @ v, u @ v
        total = (zz - 2 * first * zu - 2 * second * zv + first**2 * uu + second**2 * vv
                 + 2 * first * second * uv)
        return np.maximum(total / n, 0.0)

    def hessian(self) -> np.ndarray:
        """The MSE's Hessian in the plane, ``(2/N) [u v]^T [u v]``."""
        return (2.0 / self.target.size) * (self.columns.T @ self.columns)


def make_slice(X: np.ndarray, y: np.ndarray, pair: tuple[int, int | None]) -> Slice:
    """The plane through the least-squares optimum of ``X``, ``y`` along ``pair``."""
    coef, intercept = least_squares(X, y)
    i, j = pair
    d = X.shape[1]
    if not 0 <= i < d or (j is not None and not (0 <= j < d and j != i)):
        raise ParameterError(
            f"The 'coefficients' parameter must be two different feature indices in [0, {d}), "
            f"the second may be None for the intercept. Got {shown(pair)} instead."
        )
    held = coef.copy()
    held[i] = 0.0
    second = np.ones(len(y)) if j is None else X[:, j]
    if j is not None:
        held[j] = 0.0
    target = y - X @ held - (0.0 if j is None else intercept)
    star = (float(coef[i]), intercept if j is None else float(coef[j]))
    return Slice(pair, np.c_[X[:, i], second], target, star)

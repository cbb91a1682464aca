"""The design as inference sees it: its generalized inverse, rank, condition number and the
coefficients it identifies, from the cross-products or from the triangular factor of the rows.

The model ``y = b + x^T w`` is written in centred coordinates, ``y = c + (x - xbar)^T w`` with
``c = b + xbar^T w``, whose Gram matrix is ``B = Z^T W Z`` for the rows ``z = [1, x - xbar]``:
with the centre at the means the intercept is decoupled from the slopes, and
``(X^T W X)^{-1}`` follows exactly from ``B^{-1}`` by the change of coordinates
``theta = T phi``. Without an intercept ``z = x`` and ``B`` is the uncentred Gram matrix.

``B`` comes from one of two places:

- the cross-products of :class:`~gradreg.stats.SufficientStats`: ``B = diag(W, S_xx)``, through
  the eigendecomposition of its equilibrated form (unit diagonal). Its entries carry rounding
  of ``eps`` relative to the columns' sizes, which moves ``B^{-1}`` by about
  ``p cond^2 eps``: eigenvalues below ``RANK_RTOL`` of the largest (a design condition number
  past ``RANK_RTOL^(-1/2)``, about 3e6) cannot be told from zero;
- the triangular factor ``R`` of the centred, column-scaled rows ``[x, 1, y]``
  (:mod:`gradreg.qr_stats`), which the fit gathers whenever cross-products cannot resolve its
  optimum: ``B = D R^T R D``, through the SVD of ``R`` with columns of unit size. ``R`` is the
  exact factor of rows perturbed by about ``(p + sqrt(n)) eps`` of each column (Higham 2002,
  Thm 19.4, with the probabilistic growth of Higham and Mary 2019), which moves each variance
  ``[B^{-1}]_jj`` by at most twice that times ``sqrt(p) cond`` relative to itself: ``cond``,
  not its square. Its rank cut is the fit's own (:func:`~gradreg.optimum.factor_rank_cut`).

Both give ``B^+ = H H^T`` with ``H = E^{-1} V_k S_k^{-1}`` (``E`` the column sizes, ``V_k`` and
``S_k`` the kept right singular vectors and values of the equilibrated design). The rows
``q = z H`` are the design in whitened coordinates, whose Gram matrix is the identity: the
leverages ``w |q|^2`` and the robust meats built from them do not square the design's
condition number (a product with the balanced ``H`` is backward stable row by row, see
:func:`gradreg.qr_stats.qr_by_cholesky`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .objective import constant_columns
from .optimum import RANK_RTOL, factor_rank_cut
from .qr_stats import QRStats
from .stats import SufficientStats

__all__ = ["GRAM_CONDITION_LIMIT", "Design", "consistent", "design_of", "gram_resolves"]

_EPS = float(np.finfo(np.float64).eps)
# A coefficient is not identifiable when the null space of the equilibrated design has a
# component of at least this size along it (rounding leaves components near eps * condition).
_IDENTIFIABLE_TOL = 1e-6
# The weight sums of the factor and of the statistics agree to within rounding of long sums.
_WEIGHT_RTOL = 1e-9
# Largest condition number of the standardized design that cross-products can tell from a
# rank deficiency: their eigenvalue cut is RANK_RTOL of the largest.
GRAM_CONDITION_LIMIT = RANK_RTOL**-0.5


@dataclass(frozen=True, eq=False)
class Design:
    """The design in centred coordinates (see the module); ``method`` is ``"gram"`` or
    ``"qr"``, where ``B`` came from."""

    fit_intercept: bool
    method: str
    centre: np.ndarray  # xbar with an intercept, zeros without
    transform: np.ndarray  # T: user parameters theta = T phi
    sizes: np.ndarray  # E: the column sizes the singular values refer to
    right: np.ndarray  # V_k, (p, rank)
    singular: np.ndarray  # S_k, (rank,)
    # Largest over smallest kept singular value of the equilibrated design; inf when
    # cross-products lost directions to rounding (they cannot bound it then).
    condition_number: float
    identifiable: np.ndarray  # bool (p,), in the user's order (intercept first)
    exact_zero: int  # columns that are exactly zero (constant ones, centred): true deficiency
    n_rows: int
    stats: SufficientStats
    qr: QRStats | None = None

    @property
    def n_params(self) -> int:
        return self.right.shape[0]

    @property
    def rank(self) -> int:
        return self.singular.shape[0]

    @property
    def whitening(self) -> np.ndarray:
        """``H = E^{-1} V_k S_k^{-1}``, ``(p, rank)``: ``B^+ = H H^T``."""
        return self.right / self.singular / self.sizes[:, None]

    @property
    def ambiguous(self) -> bool:
        """Whether cross-products found directions they cannot tell from rounding: a design
        that is rank deficient, or only too badly conditioned for them."""
        return self.method == "gram" and self.rank < self.n_params - self.exact_zero

    @property
    def user_whitening(self) -> np.ndarray:
        """``T H``: the generalized inverse in the user's coordinates is ``(T H) (T H)^T``."""
        return self.transform @ self.whitening

    def rows(self, X: np.ndarray) -> np.ndarray:
        """Rows of the design in centred coordinates: ``[1, x - xbar]`` or ``x`` (float64)."""
        Z = np.subtract(X, self.centre, dtype=np.float64)
        if not self.fit_intercept:
            return Z
        return np.column_stack([np.ones(Z.shape[0]), Z])

    def whitened(self, phi: np.ndarray) -> np.ndarray:
        """``S_k V_k^T E phi``: centred coordinates mapped so that ``|.|^2 = phi^T B phi``."""
        return self.singular * (self.right.T @ (self.sizes * phi))

    def ssr(self, coef: np.ndarray, intercept: float) -> float:
        """``sum w (y - X coef - intercept)^2``, for any coefficients."""
        if self.qr is not None:
            return _factor_ssr(self.qr, coef, intercept)
        return _gram_ssr(self.stats, coef, intercept)

    def ssr_rounding(self, coef: np.ndarray, intercept: float, ssr: float) -> float:
        """Relative error bound of :meth:`ssr` from the factor's rounding (0 for the
        cross-products: their figure counts the inverse's rounding alone).

        The factor is exact for rows ``[A + dA, b + db]`` with columns perturbed by
        ``g = (p + sqrt(n)) eps`` of their size (the target's is ``sqrt(W)``): the residual
        moves by ``|dA u| + |db| <= g sqrt(W) (sqrt(p) |u| + 1)``, ``u`` the coefficients in
        the factor's units, and its square by twice that relative to ``sqrt(ssr)``.
        """
        if self.qr is None:
            return 0.0
        d = self.stats.n_features
        u = _factor_coefficients(self.qr, coef, intercept)
        k = float(self.qr.scale[d])
        size = math.sqrt(self.qr.weight_sum) * k
        growth = (u.shape[0] + math.sqrt(self.n_rows)) * _EPS
        move = growth * size * (math.sqrt(u.shape[0]) * float(np.linalg.norm(u)) + 1.0)
        if ssr <= 0:
            return math.inf if move > 0 else 0.0
        root = math.sqrt(ssr)
        return (2.0 * move * root + move**2) / ssr

    def inverse_rounding(self) -> float:
        """Relative error bound of each variance ``[B^+]_jj`` (see the module)."""
        p = self.n_params
        if self.method == "qr":
            return 2.0 * (p + math.sqrt(self.n_rows)) * math.sqrt(p) * self.condition_number * _EPS
        return p * self.condition_number**2 * _EPS


def design_of(stats: SufficientStats, fit_intercept: bool, qr: QRStats | None = None) -> Design:
    """The design of ``stats``, from the factor ``qr`` when given (it must hold the same rows,
    taken as the fit takes them, :func:`gradreg.problem.gather_qr`)."""
    d = stats.n_features
    W = stats.weight_sum
    mean_x = stats.mean_x
    sxx = stats.sxx.copy()
    constant = np.zeros(d, dtype=bool)
    if fit_intercept:
        spread = np.sqrt(np.clip(np.diag(sxx), 0.0, None) / W)
        constant = constant_columns(spread, mean_x, int(stats.n_rows))
        transform = np.eye(d + 1)
        transform[0, 1:] = -mean_x if qr is None else -qr.shift[:d]
        centre = mean_x.copy() if qr is None else qr.shift[:d].copy()
        # Root mean square of each user column (the intercept's column is ones).
        column_rms = np.append(1.0, np.sqrt(np.clip(np.diag(sxx), 0, None) / W + mean_x**2))
    else:
        transform = np.eye(d)
        centre = np.zeros(d)
        column_rms = np.sqrt(np.clip(np.diag(sxx) / W + mean_x**2, 0, None))
    if qr is None:
        sizes, right, singular, null, zero = _from_gram(stats, fit_intercept, constant)
    else:
        sizes, right, singular, null, zero = _from_factor(qr, fit_intercept, constant)
    condition = float(singular.max() / singular.min()) if singular.size else math.inf
    if qr is None and singular.size < d + int(fit_intercept) - zero:
        # Directions lost in the cross-products' rounding: the design may be rank deficient,
        # or have any condition number past GRAM_CONDITION_LIMIT; no finite figure is vouched.
        condition = math.inf
    # The null space in the user's coordinates, each column equilibrated by its size.
    null = (transform @ (null / sizes[:, None])) * column_rms[:, None]
    identifiable = np.ones(d + int(fit_intercept), dtype=bool)
    if null.shape[1]:
        basis, _ = np.linalg.qr(null)
        identifiable = np.linalg.norm(basis, axis=1) <= _IDENTIFIABLE_TOL
    return Design(fit_intercept, "gram" if qr is None else "qr", centre, transform, sizes,
                  right, singular, condition, identifiable, zero, int(stats.n_rows), stats, qr)


def gram_resolves(design: Design, wanted: float) -> bool:
    """Whether cross-products vouch for the relative accuracy ``wanted`` of the variances."""
    return not design.ambiguous and design.inverse_rounding() <= wanted


def consistent(stats: SufficientStats, qr: QRStats, fit_intercept: bool) -> bool:
    """Whether the factor holds the rows of the statistics (counted and weighed alike)."""
    return (qr.fit_intercept == fit_intercept and qr.n_features == stats.n_features
            and qr.n_rows == stats.n_rows
            and math.isclose(qr.weight_sum, stats.weight_sum, rel_tol=_WEIGHT_RTOL))


def _from_gram(stats, fit_intercept, constant):
    """``B`` from the cross-products: ``diag(W, S_xx)`` (constant columns zeroed) or the
    uncentred Gram matrix, by the eigendecomposition of its unit-diagonal form."""
    d = stats.n_features
    W = stats.weight_sum
    sxx = stats.sxx.copy()
    if fit_intercept:
        sxx[constant, :] = 0.0
        sxx[:, constant] = 0.0
        gram = np.zeros((d + 1, d + 1))
        gram[0, 0] = W
        gram[1:, 1:] = sxx
    else:
        gram = sxx + W * np.outer(stats.mean_x, stats.mean_x)
    diagonal = np.diag(gram)
    sizes = np.sqrt(np.where(diagonal > 0, diagonal, 1.0))
    eigenvalues, vectors = np.linalg.eigh(gram / np.outer(sizes, sizes))
    top = max(float(eigenvalues[-1]), 0.0)
    keep = eigenvalues > RANK_RTOL * top
    # Descending, as singular values.
    order = np.flatnonzero(keep)[::-1]
    singular = np.sqrt(eigenvalues[order])
    return sizes, vectors[:, order], singular, vectors[:, ~keep], int(np.sum(diagonal <= 0))


def _from_factor(qr: QRStats, fit_intercept: bool, constant: np.ndarray):
    """``B = D R^T R D`` from the factor's block of the features (and intercept), reordered
    intercept first, by the SVD of its columns scaled to unit size."""
    d = qr.n_features
    p = d + int(fit_intercept)
    F = qr.R[:p, :p].copy()
    F[:, np.flatnonzero(constant)] = 0.0  # as the cross-products do: no spread, no column
    if fit_intercept:
        order = np.r_[d, 0:d]
        F = F[:, order]
        scale = np.append(1.0, qr.scale[:d])
    else:
        scale = qr.scale[:d].copy()
    norms = np.linalg.norm(F, axis=0)
    zero = int(np.sum(norms == 0))
    norms = np.where(norms > 0, norms, 1.0)
    _, sigma, Vt = np.linalg.svd(F / norms)
    top = float(sigma[0]) if sigma.size else 0.0
    keep = sigma > factor_rank_cut(p) * top if top > 0 else np.zeros(p, dtype=bool)
    # Z = A D: the factor's columns are the centred ones divided by the scales.
    sizes = scale * norms
    return sizes, Vt[keep].T, sigma[keep], Vt[~keep].T, zero


def _gram_ssr(stats: SufficientStats, coef: np.ndarray, intercept: float) -> float:
    """``sum w (y - X coef - intercept)^2`` from the statistics, for any coefficients."""
    sxy, sxx = stats.sxy, stats.sxx
    centred = stats.syy - 2.0 * float(coef @ sxy) + float(coef @ (sxx @ coef))
    offset = stats.mean_y - float(stats.mean_x @ coef) - intercept
    return max(centred, 0.0) + stats.weight_sum * offset**2


def _factor_coefficients(qr: QRStats, coef: np.ndarray, intercept: float) -> np.ndarray:
    """The coefficients in the factor's units: slopes times the scales over the target's,
    then the intercept at the shift less the target's shift (with an intercept)."""
    d = qr.n_features
    k = float(qr.scale[d])
    u = np.asarray(coef, dtype=np.float64) * qr.scale[:d] / k
    if not qr.fit_intercept:
        return u
    centred = intercept + float(qr.shift[:d] @ coef)
    return np.append(u, (centred - float(qr.shift[d])) / k)


def _factor_ssr(qr: QRStats, coef: np.ndarray, intercept: float) -> float:
    """``k^2 (|F u - f|^2 + rho^2)`` for ``R = [[F, f], [0, rho]]``: sums of squares only, where
    the cross-products' form cancels terms of the size of ``|u|^2``."""
    u = _factor_coefficients(qr, coef, intercept)
    p = u.shape[0]
    R = qr.R
    k = float(qr.scale[qr.n_features])
    top = R[:p, :p] @ u - R[:p, p]
    return k**2 * (float(top @ top) + float(R[p, p]) ** 2)

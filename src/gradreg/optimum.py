"""The exact optimum gradient descent is heading for, and a certified bound on the distance to it.

The optimum is computed once, in canonical coordinates whatever coordinates the descent uses:
the features centred on their means (with an intercept) and each divided by its spread, so that
every column has unit size and the intercept is decoupled from the slopes. The descent's
coordinates (raw with ``standardize=False``) only map to and from it by :class:`CoordinateMap`.
Rank decisions, the condition number and the rounding bound all come from this form, so an
offset or a unit never makes a full-rank design look rank deficient.

Two sources of curvature: the Gram matrix of :class:`~gradreg.stats.SufficientStats`
(eigendecomposition of a p x p matrix), or, when the Gram matrix cannot resolve the
coefficients to the requested accuracy, the triangular factor of :mod:`gradreg.qr_stats`
(a least-squares solve by the SVD of the p x p factor). Lasso and elastic net are solved by
accelerated proximal gradient and coordinate descent on the Gram matrix, polished by an exact
solve on the active set. Rank-deficient problems get the minimum-norm solution in the
equilibrated coordinates.

**The certificate.** :meth:`Optimum.error_bound` bounds the normwise relative error of the
slopes in equilibrated coordinates, ``|D (w - w_true)| / |D w_true|`` (``D`` the columns'
spreads; invariant to the units of each column), by the distance of the iterate to the
computed optimum plus the optimum's own rounding error:

* from the Gram matrix, whose entries carry errors of about ``F eps`` relative to the
  columns' sizes, ``F eps kappa (1 + |y| / (|Z| |u|))`` (the normwise perturbation bound of a
  symmetric positive definite system, Higham 2002, Thm 7.2, with ``kappa = cond(Gram)``);
* from the factor R, the least-squares perturbation bound (Higham 2002, Thm 20.1; Wedin 1973)
  ``F eps (k (2 + |y| / (|Z| |u|)) + k^2 |r| / (|Z| |u|))`` with ``k = cond(Z) = sqrt(kappa)``,

where ``|y|``, ``|r|`` are the root mean squares of the (centred) target and of the optimal
residual, and ``F = 2 (p + sqrt(n))`` covers the accumulation over ``n`` rows (the
probabilistic estimate of Higham and Mary 2019, with a factor 2 for the solve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._solve_error import refined_penalized_solve
from .objective import CoordinateMap, FactoredQuadratic, Preconditioner, Quadratic

__all__ = ["Optimum", "exact_optimum", "factor_rank_cut"]

# Eigenvalues of the equilibrated Gram matrix below this fraction of the largest are rounding
# noise: its entries carry errors of a few eps times the columns' sizes (which are one).
RANK_RTOL = 1e-13
_EPS = float(np.finfo(float).eps)
# Floor of the relative-gap denominator, as a fraction of the best constant model's loss, so
# that a perfect fit (optimum zero) still gets a finite relative gap.
_GAP_FLOOR = 1e-12
_CD_MAX_SWEEPS = 1_000
_FISTA_MAX_STEPS = 200_000
_CD_TOL = 1e-15


@dataclass(frozen=True)
class Optimum:
    """The minimiser, in descent (``theta``) and canonical coordinates, and its certificate.

    Attributes
    ----------
    theta : ndarray (p,)
        The minimiser in the descent's coordinates.
    value : float
        ``f*``.
    rank : int
        Numerical rank of the canonical problem (features plus intercept).
    eigenvalues : ndarray (p,)
        Curvatures of the canonical problem, ascending.
    canonical : ndarray (p,)
        The minimiser in canonical coordinates.
    rounding : float
        Bound on the relative error of the canonical slopes of the minimiser itself.
    method : str
        ``"gram"`` or ``"qr"``: where the curvature came from.
    deficient_columns : tuple of int
        Feature columns involved in a numerical rank deficiency.
    representation : float
        The rounding of the reported ``intercept_`` itself (relative, as ``rounding``): a
        float64 intercept of 1e12 holds the prediction at the features' means only to about
        1e-4, which no descent removes. Part of the certificate, not of the descent's target.
    """

    theta: np.ndarray
    value: float
    rank: int
    eigenvalues: np.ndarray
    grad: np.ndarray  # canonical gradient of the smooth part at the optimum
    reference: float
    canonical: np.ndarray
    mapping: CoordinateMap
    curvature: Quadratic  # the canonical objective
    rounding: float
    scale: float  # denominator of the relative error: |u*|, or the target's natural scale or level
    n_slopes: int
    method: str = "gram"
    deficient_columns: tuple = ()
    rank_cut: float = RANK_RTOL  # relative to the largest eigenvalue
    slope_condition: float = 1.0  # condition number of the slopes' curvature
    representation: float = 0.0  # rounding of the reported intercept_ (see above)

    @property
    def condition_number(self) -> float:
        top = self.eigenvalues[-1]
        kept = self.eigenvalues[self.eigenvalues > self.rank_cut * top]
        return float(top / kept[0]) if kept.size and top > 0 else float("inf")

    @property
    def precision_floor(self) -> float:
        """Smallest relative coefficient error float64 can certify for this problem."""
        return self.rounding + self.representation

    def distance(self, theta: np.ndarray) -> float:
        """Relative distance of ``theta`` (descent coordinates) to the optimum (see the module).

        The larger of the slopes' normwise relative distance in canonical coordinates and the
        intercept's (the prediction at the features' means) relative to the larger of its size
        and the target's spread.
        """
        mapped = self.mapping(theta)
        d = self.n_slopes
        delta = float(np.linalg.norm(mapped[:d] - self.canonical[:d]))
        # The map itself rounds each coordinate by about eps.
        slopes = (delta + 4 * _EPS * float(np.linalg.norm(mapped[:d]))) / self.scale
        if mapped.shape[0] == d:
            return slopes
        centre = abs(float(mapped[d] - self.canonical[d])) + 4 * _EPS * abs(float(mapped[d]))
        size = max(abs(float(self.canonical[d])), math.sqrt(max(2.0 * self.reference, 0.0)))
        return max(slopes, centre / size if size > 0 else centre)

    def error_bound(self, theta: np.ndarray) -> float:
        """Certified bound on the relative error of ``theta``'s coefficients (see the module)."""
        return self.bound_at(self.distance(theta))

    def bound_at(self, distance: float) -> float:
        """The bound for a relative ``distance`` to the computed optimum: the distances are
        relative to the computed optimum's size, the error to the exact one's, at least
        ``1 - rounding`` of it."""
        floor = self.precision_floor
        if not floor < 1:
            return math.inf
        return (distance + floor) / (1.0 - floor)

    def _denominator(self) -> float:
        return max(self.value, _GAP_FLOOR * self.reference, np.finfo(float).tiny)

    def absolute_gap(self, problem: Quadratic, theta: np.ndarray) -> float:
        """``f(theta) - f*``, formed from the difference to avoid cancellation."""
        canonical = self.curvature
        delta = self.mapping(theta) - self.canonical
        smooth = float(self.grad @ delta) + 0.5 * float(delta @ canonical.hvp(delta))
        l1 = canonical.penalty.l1_value(self.canonical + delta) - canonical.penalty.l1_value(
            self.canonical
        )
        return max(smooth + l1, 0.0)

    def relative_gap(self, problem: Quadratic, theta: np.ndarray) -> float:
        """``(f(theta) - f*) / f*`` (with a floor for perfect fits); ``inf`` past the largest
        float (a far-off ``theta`` on rows that a line fits exactly)."""
        with np.errstate(over="ignore"):
            return float(self.absolute_gap(problem, theta) / self._denominator())


def canonical_preconditioner(stats, fit_intercept: bool) -> Preconditioner:
    """Centred (with an intercept) and column-equilibrated coordinates: the stable form."""
    return Preconditioner.from_stats(stats, fit_intercept, standardize=True)


def factored_objective(qr, target: Preconditioner, penalty, reference: float) -> FactoredQuadratic:
    """The objective of the factor ``qr`` (:class:`~gradreg.qr_stats.QRStats`) in the
    coordinates of ``target``.

    With ``S`` the feature-and-intercept block of ``R / sqrt(W)``, ``s`` its target column and
    ``rho`` its last entry, the loss is ``|S (T theta - o) / k - s|^2 k^2 / 2 + (k rho)^2 / 2``
    where ``T`` maps ``theta`` to the factor's coordinates, ``o`` shifts the intercept by the
    target's shift and ``k`` is the target's scale.
    """
    d = qr.n_features
    R = qr.normalized()
    S, s, rho = R[:-1, :-1], R[:-1, -1], R[-1, -1]
    own = Preconditioner(qr.shift[:d], qr.scale[:d], qr.fit_intercept, target.constant)
    to_own = CoordinateMap.between(target, own)
    T = to_own.matrix()
    offset = np.zeros(S.shape[1])
    if qr.fit_intercept:
        offset[d] = qr.shift[d]
    k = qr.scale[d]
    M = S @ T
    q = S @ offset + k * s
    if not qr.fit_intercept or offset[d] == 0:
        return FactoredQuadratic(M, q, k * rho, penalty, reference)
    # Residuals and the minimiser are formed around the point ``T^{-1} o`` (slopes 0, the
    # intercept at the target's shift), where the residual is exactly ``-k s``: from ``M theta
    # - q`` a shift of 4e11 would round the slopes' terms to eps times 4e11 (errors of 1e-4 in
    # slopes of size 1, for columns near 1e12).
    return FactoredQuadratic(M, q, k * rho, penalty, reference,
                             centre=to_own.inverse(offset), residual_at_centre=-k * s)


def exact_optimum(
    canonical: Quadratic,
    fit_intercept: bool = False,
    mapping: CoordinateMap | None = None,
    n_rows: int = 1,
    constant: np.ndarray | None = None,
) -> Optimum:
    """Minimiser of least squares plus penalty, computed in canonical coordinates.

    ``canonical`` is the objective in canonical coordinates (a :class:`Quadratic` from the
    statistics or a :class:`FactoredQuadratic` from the QR factor); ``mapping`` sends the
    descent's coordinates to them (the identity when omitted). ``constant`` marks feature
    columns with no spread, whose zero curvature is no rank deficiency of the others.
    """
    method = "qr" if isinstance(canonical, FactoredQuadratic) else "gram"
    p = canonical.n_params
    d = p - int(fit_intercept)
    penalty = canonical.penalty
    n_constant = int(np.sum(constant)) if constant is not None and fit_intercept else 0
    step = None
    if method == "qr":
        step, eigenvalues, vectors, rank_cut = _least_squares_factor(canonical)
        theta = step if canonical.centre is None else canonical.centre + step
    else:
        eigenvalues, vectors = canonical.eigen()
        rank_cut = RANK_RTOL
        theta = None
    top = max(float(eigenvalues[-1]), 0.0)
    keep = eigenvalues > rank_cut * top
    rank = int(keep.sum())
    if penalty.has_l1:
        theta = _elastic_net(canonical, penalty.l1_weights, top)
    elif theta is None:
        inverse = np.where(keep, 1.0 / np.where(keep, eigenvalues, 1.0), 0.0)
        theta = vectors @ (inverse * (vectors.T @ canonical.beta))
    solve_error = 0.0
    l1_error = 0.0
    if penalty.has_l1 and rank == p:
        # Proximal gradient and coordinate descent stop where their steps do, which on an
        # ill-conditioned curvature (uncentred columns, condition 1e14) is far from the
        # minimiser; its optimality conditions say how far (see _l1_solve_error).
        l1_error = _l1_solve_error(canonical, theta, eigenvalues)
    if not penalty.has_l1 and np.any(penalty.l2_weights > 0) and rank == p:
        # A penalty can spread H's diagonal far beyond the data's condition: the solve's own
        # error is measured and reduced (gradreg._solve_error), not bounded by eps kappa(H).
        theta, bounds = refined_penalized_solve(canonical, theta, eigenvalues, vectors, keep,
                                                step)
        solve_error = float(np.linalg.norm(bounds[:d]))
    value = canonical.value(theta)
    _, grad = canonical.smooth_value_and_grad(theta)
    if mapping is None:
        mapping = CoordinateMap(np.ones(d), np.zeros(d), fit_intercept)
    deficient = _deficient_columns(eigenvalues, vectors, keep, d, constant)
    slopes = float(np.linalg.norm(theta[:d]))
    natural = math.sqrt(2.0 * max(canonical.reference, 0.0) / max(top, 1e-300))
    # Without slopes or spread (a constant target) the slopes' error is relative to the
    # target's level, the centred intercept; 1 only where that is zero too.
    level = abs(float(theta[d])) if fit_intercept else 0.0
    scale = slopes if slopes > 0 else (natural if natural > 0 else (level if level > 0 else 1.0))
    varying = None
    if constant is not None and fit_intercept:
        varying = ~np.asarray(constant, dtype=bool)[:d]
    kappa = _slope_condition(canonical, method, d, rank_cut, varying)
    if method == "gram" and rank < p - n_constant:
        # Eigenvalues below the cut are rounding noise of the Gram matrix: it cannot tell a
        # deficient design from an ill-conditioned one, and its solution is not certified.
        kappa = math.inf
    # |Z|^2 <= min(|H|, trace(A)): the penalty only adds to the curvature.
    data_top = min(top, float(np.trace(canonical.A)))
    residual = math.sqrt(canonical.mean_squared_error(theta) + 2 * penalty.smooth_value(theta))
    rounding = _rounding(
        method, kappa, top, data_top, scale, canonical.reference, residual, p, n_rows
    ) + solve_error / scale
    if l1_error > 0:
        # |theta - theta*| bounds the slopes' distance and the intercept's: each relative to
        # its own size (Optimum.distance).
        size = scale
        if fit_intercept:
            size = min(size, max(abs(float(theta[d])),
                                 math.sqrt(max(2.0 * canonical.reference, 0.0))))
        rounding += l1_error / size if size > 0 else math.inf
    return Optimum(
        mapping.inverse(theta), value, rank, eigenvalues, grad, canonical.reference, theta,
        mapping, canonical, rounding, scale, d, method, deficient, rank_cut, kappa,
    )


def _l1_solve_error(canonical, theta: np.ndarray, eigenvalues) -> float:
    """Bound on ``|theta - theta*|`` (2-norm) for the lasso or elastic-net minimiser
    ``theta*`` of ``canonical`` (as formed in float64), from the optimality conditions at
    ``theta``.

    The smooth part is ``mu``-strongly convex with ``mu`` its smallest curvature, so for any
    subgradient ``s`` of the objective at ``theta``, ``mu |theta - theta*| <= |s|``; the
    smallest is ``g + l1 sign(theta)`` on the nonzero coordinates and the soft-threshold
    ``max(|g| - l1, 0)`` on the zero ones (``g`` the smooth gradient). ``g`` carries the
    rounding of its products, bounded entrywise and added; ``mu`` is the smallest computed
    curvature less the rounding of its computation (Weyl's inequality), infinite bound when
    that leaves none.
    """
    p = theta.shape[0]
    l1 = canonical.penalty.l1_weights
    l2 = canonical.penalty.l2_weights
    _, grad = canonical.smooth_value_and_grad(theta)
    stationarity = np.where(theta != 0, grad + l1 * np.sign(theta),
                            np.maximum(np.abs(grad) - l1, 0.0))
    terms = p + 2  # products of p terms, a difference and the penalty's term
    if isinstance(canonical, FactoredQuadratic):
        M = np.abs(canonical.M)
        residual = canonical._residual(theta)
        if canonical.centre is None:
            residual_slack = terms * _EPS * (M @ np.abs(theta) + np.abs(canonical.q))
        else:
            residual_slack = terms * _EPS * (M @ np.abs(theta - canonical.centre)
                                             + np.abs(canonical.residual_at_centre))
        slack = M.T @ (residual_slack + terms * _EPS * np.abs(residual))
        sigma = np.sqrt(np.maximum(eigenvalues, 0.0))
        smallest = float(sigma[0] - 2 * p * _EPS * sigma[-1]) ** 2 \
            if sigma[0] > 2 * p * _EPS * sigma[-1] else 0.0
    else:
        slack = terms * _EPS * (np.abs(canonical.hessian) @ np.abs(theta)
                                + np.abs(canonical.beta))
        smallest = float(eigenvalues[0] - 2 * p * _EPS * eigenvalues[-1])
    slack = slack + 2 * _EPS * np.abs(l2 * theta)
    if not smallest > 0:
        return math.inf
    return (float(np.linalg.norm(stationarity)) + float(np.linalg.norm(slack))) / smallest


def _slope_condition(canonical, method: str, d: int, rank_cut: float,
                     varying: np.ndarray | None = None) -> float:
    """Condition number of the curvature of the slopes (the intercept is decoupled from them
    in canonical coordinates), over the directions the rank cut keeps and the columns that
    vary (``varying``; constant columns have no curvature and a zero slope). Without any
    varying column there is nothing to resolve: 1."""
    columns = np.arange(d) if varying is None else np.flatnonzero(varying)
    if columns.size == 0:
        return 1.0
    if method == "gram":
        curvatures = np.linalg.eigvalsh(canonical.hessian[np.ix_(columns, columns)])
    else:
        block = canonical.M[:d, columns]
        l2 = canonical.penalty.l2_weights[columns]
        if np.any(l2 > 0):
            block = np.vstack([block, np.diag(np.sqrt(l2))])
        curvatures = np.linalg.svd(block, compute_uv=False) ** 2
    top = float(np.max(curvatures))
    kept = curvatures[curvatures > rank_cut * top]
    return float(top / kept.min()) if kept.size and top > 0 else math.inf


def factor_rank_cut(n_params: int) -> float:
    """Singular values of a backward-stable triangular factor (of ``n_params`` columns of unit
    size) below this fraction of the largest are rounding noise: they are resolved to about
    ``n_params eps`` of it (a factor 10 to spare)."""
    return 10.0 * n_params * _EPS


def _least_squares_factor(objective: FactoredQuadratic):
    """Minimiser of ``|M t - q|^2 + sum l2 t^2`` by the SVD of the stacked factor: the step of
    minimum norm from the objective's centre (zero slopes; a null direction of a design whose
    columns are centred has no share in the intercept, so this is the minimum-norm minimiser).

    Returns the minimiser's step from the centre (the minimiser itself without one), the
    curvatures (squared singular values, ascending), the right singular vectors in the same
    order and the relative cut on the curvatures.
    """
    M = objective.M
    p = M.shape[1]
    # Solved for the step from the objective's centre where it has one (see
    # factored_objective): the minimiser is then centre + u, u of the size of the slopes.
    centre = objective.centre if objective.centre is not None else np.zeros(p)
    q = objective.q if objective.centre is None else -objective.residual_at_centre
    l2 = objective.penalty.l2_weights
    if np.any(l2 > 0):
        M = np.vstack([M, np.diag(np.sqrt(l2))])
        q = np.concatenate([q, -np.sqrt(l2) * centre])
    U, sigma, Vt = np.linalg.svd(M, full_matrices=False)
    cut = factor_rank_cut(p)
    keep = sigma > cut * sigma[0] if sigma.size and sigma[0] > 0 else np.zeros(p, bool)
    coeffs = np.where(keep, (U.T @ q) / np.where(keep, sigma, 1.0), 0.0)
    order = np.argsort(sigma**2)
    return Vt.T @ coeffs, (sigma**2)[order], Vt.T[:, order], cut**2


def _deficient_columns(eigenvalues, vectors, keep, d, constant) -> tuple:
    """Feature columns with a sizeable share in the directions the rank cut dropped."""
    null = vectors[:d, ~keep]
    if not null.size:
        return ()
    share = np.sqrt(np.sum(null**2, axis=1))
    involved = share > 1e-3
    if constant is not None:
        involved &= ~np.asarray(constant, dtype=bool)
    return tuple(int(j) for j in np.flatnonzero(involved))


def _rounding(method, kappa, top, data_top, scale, reference, residual, p, n_rows) -> float:
    """The optimum's own relative error bound (see the module's docstring).

    ``top`` is the largest curvature ``|H|``, ``data_top`` a bound on ``|Z|^2`` (the data's
    part of it: a penalty adds curvature but no rounding), ``scale`` is ``|u*|``.
    """
    if not math.isfinite(kappa):
        return math.inf
    if top <= 0 or data_top <= 0:
        return 0.0
    eps_f = 2.0 * (p + math.sqrt(max(n_rows, 1))) * _EPS
    y_norm = math.sqrt(max(2.0 * reference, 0.0))
    if method == "gram":
        x = eps_f * kappa
        if x >= 1:
            return math.inf
        z = math.sqrt(data_top)
        return x * (data_top / top + z * y_norm / (top * scale)) / (1.0 - x)
    k = math.sqrt(kappa)
    # Relative size of the rounding in the stacked factor [Z; sqrt(l2)]: only Z is rounded.
    x = eps_f * math.sqrt(data_top / top) * k
    if x >= 1:
        return math.inf
    size = math.sqrt(top) * scale
    return (x * (2.0 + y_norm / size) + x * k * residual / size) / (1.0 - x)


def _elastic_net(canonical: Quadratic, l1: np.ndarray, lipschitz: float) -> np.ndarray:
    """The lasso or elastic-net minimiser of ``canonical``; for a factored objective with a
    centre (see :func:`factored_objective`), as the step from it.

    The factor's linear term ``M^T q`` holds the target's level (an intercept of 1e12) and
    rounds the slopes' terms by eps times it; around the centre the linear term is the
    gradient there, ``M^T (M c - q)``, formed from the residual at the centre, which is known
    exactly. The centre's penalised coordinates are zero (its slopes), so the L1 term of the
    step is that of the point.
    """
    centre = getattr(canonical, "centre", None)
    if centre is None or np.any(centre[l1 > 0] != 0):
        return _elastic_net_gram(canonical.hessian, canonical.beta, l1, lipschitz)
    _, gradient = canonical.smooth_value_and_grad(centre)
    return centre + _elastic_net_gram(canonical.hessian, -gradient, l1, lipschitz)


def _elastic_net_gram(
    hessian: np.ndarray, beta: np.ndarray, l1: np.ndarray, lipschitz: float
) -> np.ndarray:
    """Minimiser of ``t^T H t / 2 - beta^T t + sum l1_j |t_j|`` on the Gram matrix.

    Accelerated proximal gradient (vectorised, so fast even when many steps are needed) finds
    the support; coordinate descent then settles exact zeros, and an exact solve on the active
    set polishes the result to machine precision.
    """
    theta = _fista_gram(hessian, beta, l1, lipschitz)
    return _coordinate_descent(hessian, beta, l1, theta)


def _fista_gram(hessian: np.ndarray, beta: np.ndarray, l1: np.ndarray, lipschitz: float):
    if lipschitz <= 0:
        return np.zeros_like(beta)
    step = 1.0 / lipschitz
    x = np.zeros_like(beta)
    y = x.copy()
    t = 1.0
    scale = max(float(np.abs(beta).max()), 1e-300)
    for _ in range(_FISTA_MAX_STEPS):
        moved = y - step * (hessian @ y - beta)
        x_new = np.sign(moved) * np.maximum(np.abs(moved) - step * l1, 0.0)
        if float((y - x_new) @ (x_new - x)) > 0:
            t = 1.0
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        change = float(np.abs(x_new - x).max()) * lipschitz
        x, t = x_new, t_new
        if change <= _CD_TOL * scale:
            break
    return x


def _coordinate_descent(
    hessian: np.ndarray, beta: np.ndarray, l1: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    p = beta.shape[0]
    theta = theta.copy()
    h_theta = hessian @ theta
    diagonal = np.diag(hessian).copy()
    scale = max(float(np.abs(beta).max()), 1e-300)
    for _ in range(_CD_MAX_SWEEPS):
        largest_change = 0.0
        for j in range(p):
            if diagonal[j] <= 0:
                continue
            old = theta[j]
            rho = beta[j] - h_theta[j] + diagonal[j] * old
            new = np.sign(rho) * max(abs(rho) - l1[j], 0.0) / diagonal[j]
            if new != old:
                h_theta += hessian[:, j] * (new - old)
                theta[j] = new
                largest_change = max(largest_change, abs(new - old) * diagonal[j])
        if largest_change <= _CD_TOL * scale:
            break
    return _polish(hessian, beta, l1, theta)


def _polish(hessian: np.ndarray, beta: np.ndarray, l1: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Solve exactly on the active set; keep the result only if it satisfies the KKT rules."""
    active = theta != 0
    if not active.any():
        return theta
    signs = np.sign(theta[active])
    sub = hessian[np.ix_(active, active)]
    try:
        solved = np.linalg.solve(sub, beta[active] - l1[active] * signs)
    except np.linalg.LinAlgError:
        return theta
    if np.any(np.sign(solved) != signs):
        return theta
    candidate = np.zeros_like(theta)
    candidate[active] = solved
    grad = hessian @ candidate - beta
    inactive = ~active
    slack = 1e-9 * max(1.0, float(np.abs(beta).max()))
    if np.any(np.abs(grad[inactive]) > l1[inactive] + slack):
        return theta
    return candidate

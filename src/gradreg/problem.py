"""A fitting problem: the objective in scaled coordinates, its source of rows and its optimum."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import DataRangeError
from .objective import (
    CoordinateMap,
    DataObjective,
    FactoredQuadratic,
    Preconditioner,
    Quadratic,
    batch_loss_and_grad,
    reference_loss,
)
from .optimum import Optimum, canonical_preconditioner, exact_optimum, factored_objective
from .penalties import Penalty
from .posterior import dd_loss, measure, refine_and_bound
from .qr_stats import QRStats, qr_by_cholesky
from .refine import AUGMENTED_MAX_ENTRIES, refine_augmented
from .stats import ColumnMoments, SufficientStats, moments_from_batches

__all__ = ["Problem", "STATS_MAX_FEATURES", "build_problem"]

# Above this many features the d x d statistics (8*d^2 bytes: 32 MB at 2048) no longer pay
# for themselves and full-batch gradients are taken by passes over the data instead.
STATS_MAX_FEATURES = 2048
# Rows per batch when the data route evaluates a full-batch gradient.
_DATA_PASS_BATCH = 8192
_EPS = float(np.finfo(float).eps)
# The descent stops this fraction of tol from the optimum (the solvers' margin): a bound on the
# optimum's own error below it leaves tol within reach.
_DESCENT_MARGIN = 1e-2
# The accuracy the optimum is computed to when a fit has no target (tol=None): the default tol.
_UNTARGETED = 1e-8


@dataclass
class Problem:
    """Everything a solver needs, whatever the rows came from."""

    objective: Quadratic | DataObjective
    precond: Preconditioner
    source: object  # has .batches(batch_size, rng) and .n_rows
    route: str  # "stats" or "data"
    optimum: Optimum | None = None
    validation: Quadratic | DataObjective | None = None
    stats: SufficientStats | ColumnMoments | None = field(default=None, repr=False)
    # The QR factor of all the rows, when the optimum was computed from it (inference uses it).
    qr: QRStats | None = field(default=None, repr=False)

    @property
    def n_params(self) -> int:
        return self.precond.n_params

    def lipschitz(self) -> float:
        return self.objective.lipschitz()

    def relative_gap(self, theta: np.ndarray) -> float:
        if self.optimum is None or not isinstance(self.objective, Quadratic):
            return float("nan")
        return self.optimum.relative_gap(self.objective, theta)

    def mean_square_norm(self) -> float:
        """``E |z~|^2``: the trace of the curvature, for stochastic step sizes."""
        if isinstance(self.objective, Quadratic):
            return float(np.trace(self.objective.A))
        return float(self.n_params)  # standardized features have unit second moment


def choose_route(route: str, n_features: int) -> str:
    if route != "auto":
        return route
    return "stats" if n_features <= STATS_MAX_FEATURES else "data"


def build_problem(
    source,
    penalty: Penalty,
    fit_intercept: bool,
    standardize: bool = True,
    route: str = "auto",
    precond: Preconditioner | None = None,
    stats: SufficientStats | ColumnMoments | None = None,
    validation_source=None,
    tol: float | None = None,
    qr: QRStats | None = None,
    rows_complete: bool = True,
) -> Problem:
    """Gather statistics (one pass) and build the objective for ``source``.

    ``precond`` fixes the scaling (for ``partial_fit``, which keeps the scaling of its first
    call); ``stats`` may be passed when already gathered. With ``tol`` (the target relative
    error of the coefficients), when the Gram matrix of the statistics cannot resolve the
    optimum to ``tol`` a second pass gathers the QR factor (:mod:`gradreg.qr_stats`) and the
    objective and optimum come from it; ``qr`` may be passed when already gathered.
    ``rows_complete=False`` says that ``stats`` cover more rows than ``source`` holds (a chunk
    of ``partial_fit``): no second pass over ``source`` then stands for all the rows.
    """
    route = choose_route(route, source.n_features)
    if stats is None:
        if route == "stats":
            stats = source.stats()
        else:
            stats = moments_from_batches(source.batches(_DATA_PASS_BATCH), source.n_features)
    _require_finite(stats, source)
    if precond is None:
        precond = Preconditioner.from_stats(stats, fit_intercept, standardize)
    scaled_penalty = penalty.scaled(precond.scale, precond.n_params)
    validation = None
    factor = None
    if route == "stats":
        objective = Quadratic(stats, precond, scaled_penalty)
        if not objective.finite:
            raise _overflow(1e154)
        rows = source if rows_complete else None
        objective, optimum, factor = _optimum(rows, stats, precond, penalty, objective, tol,
                                              qr)
        if validation_source is not None:
            validation = Quadratic(validation_source.stats(), precond, scaled_penalty)
    else:
        _require_squarable(stats)
        reference = reference_loss(stats, fit_intercept)
        objective = DataObjective(
            lambda: source.batches(_DATA_PASS_BATCH), precond, scaled_penalty, reference
        )
        optimum = None
        if validation_source is not None:
            validation = DataObjective(
                lambda: validation_source.batches(_DATA_PASS_BATCH),
                precond,
                scaled_penalty,
                reference,
            )
    return Problem(objective, precond, source, route, optimum, validation, stats, factor)


def _optimum(source, stats, precond, penalty, objective, tol, qr):
    """The descent's objective, the optimum, escalated to the QR factor when needed, and that
    factor (``None`` when the statistics sufficed)."""
    canon = canonical_preconditioner(stats, precond.fit_intercept)
    canon_penalty = penalty.scaled(canon.scale, canon.n_params)
    mapping = CoordinateMap.between(precond, canon)
    n_rows = int(stats.n_rows)
    # Without a target (tol=None: run the epochs whatever the bound) the optimum the descent
    # heads for is computed as for the default tol, never less accurately.
    target = _UNTARGETED if tol is None else tol
    if qr is None:
        canonical = Quadratic(stats, canon, canon_penalty)
        optimum = exact_optimum(canonical, precond.fit_intercept, mapping, n_rows, canon.constant)
        if not _in_memory(source) or int(stats.n_rows) != getattr(source, "n_rows", -1):
            # Statistics merged from parts (files, Dask, partial_fit's earlier calls).
            optimum = _with_merge_rounding(optimum, stats, canon)
        if optimum.rounding <= target or not _rereadable(source):
            return objective, _with_intercept_rounding(optimum, canon, source, stats), None
        qr = gather_qr(source, stats, canon)
    canonical = factored_objective(qr, canon, canon_penalty, objective.reference)
    optimum = exact_optimum(canonical, precond.fit_intercept, mapping, n_rows, canon.constant)
    descent = factored_objective(qr, precond, objective.penalty, objective.reference)
    in_memory = _in_memory(source)
    full = not canon_penalty.has_l1 and optimum.rank == canon.n_params
    if full and not (in_memory or _files(source)):
        # Rows not read again (Dask): the descent still heads for the factor's minimiser with
        # residuals formed from the distance to it; in the factor's raw residuals an intercept
        # far larger than the slopes (columns near 1e12) rounds the slopes' terms away.
        descent = descent.recentred(optimum.theta)
    elif full:
        if in_memory and _needs_augmented(optimum, n_rows, canon_penalty, target):
            refined = _refined(optimum, refine_augmented(
                source.X, source.y, source.sample_weight, canon, optimum.canonical))
            optimum, measured = _lower_loss(optimum, refined, source, canon, canon_penalty)
            optimum = _measured(optimum, source, canon, canon_penalty, target, measured)
        elif _measurable(optimum, canon_penalty, target):
            optimum = _measured(optimum, source, canon, canon_penalty, target, None,
                                unresolved=lambda o: refine(o, source, canon))
        elif in_memory and not (tol is not None and np.any(canon_penalty.l2_weights > 0)):
            # A ridge optimum's solve is measured already (gradreg._solve_error); refined with
            # float64 residuals it would move by their rounding and be bounded by that move,
            # never better: only a fit without a target (tol=None) takes the refinement.
            optimum = refine(optimum, source, canon)
        # The descent heads for the refined optimum, not for the factor's own minimiser.
        descent = descent.recentred(optimum.theta)
    return descent, _with_intercept_rounding(optimum, canon, source, stats), qr


def _with_intercept_rounding(optimum: Optimum, canon: Preconditioner, source, stats) -> Optimum:
    """``optimum`` with the rounding of the reported intercept as its ``representation``:
    part of the certificate, while the descent still heads for the optimum to its own rounding
    (the slopes then carry every digit the optimum has).

    The certificate bounds the centred intercept ``b + shift . w`` implied by the reported
    ``intercept_`` ``b`` and ``coef_`` ``w``. Both ways between it and them (``to_user``'s
    ``b = t_c - shift . w``, and the map from raw descent coordinates) round a sum of
    ``d + 1`` terms, with an error up to ``(d + 2) eps (|b| + sum |shift_j w_j|)``; with
    columns far from zero in units of their spread (``|shift_j| / scale_j`` large) that error
    can exceed any target, and no descent removes it (a float64 ``intercept_`` cannot hold
    more digits).
    """
    if not canon.fit_intercept:
        return optimum
    if _flat_columns_vary(source, stats, canon):
        return replace(optimum, rounding=math.inf)
    d = optimum.n_slopes
    theta = optimum.canonical
    offsets = float(np.sum(np.abs(canon.shift) / canon.scale * np.abs(theta[:d])))
    size = max(abs(float(theta[d])), math.sqrt(max(2.0 * optimum.reference, 0.0)))
    terms = abs(float(theta[d])) + 2.0 * offsets
    if terms == 0:
        return optimum
    extra = 2.0 * (d + 2) * _EPS * terms / size if size > 0 else math.inf
    return replace(optimum, representation=extra)


def _with_merge_rounding(optimum: Optimum, stats, canon: Preconditioner) -> Optimum:
    """The Gram optimum's own error with that of statistics merged from parts (chunks of a
    file, Dask partitions, ``partial_fit`` calls) added.

    Merging adds ``w_a w_b / W (m_b - m_a)^2`` (Chan, Golub and LeVeque 1979) with each part's
    mean ``m`` rounded to ``eps |m|``: relative to a column's centred sum of squares the error
    is up to ``2 eps |m| / spread`` per level of merging (``log2 n`` levels for a tree, taken
    for a stream too). The a priori bound of :mod:`gradreg.optimum` is linear in the relative
    error ``F eps`` of the Gram entries, so it grows by the ratio of the two.
    """
    if not canon.fit_intercept or not math.isfinite(optimum.rounding):
        return optimum
    n_rows = max(int(stats.n_rows), 1)
    spread = np.sqrt(np.clip(np.diag(stats.cross) / max(stats.weight_sum, 1e-300), 0.0, None))
    far = np.abs(stats.mean) / np.where(spread > 0, spread, np.inf)
    merge = 2.0 * _EPS * math.log2(n_rows + 1) * float(np.max(far, initial=0.0))
    accumulation = 2.0 * (canon.n_params + math.sqrt(n_rows)) * _EPS
    if merge * optimum.slope_condition >= 1:
        return replace(optimum, rounding=math.inf)
    return replace(optimum, rounding=optimum.rounding * (1.0 + merge / accumulation))


def _flat_columns_vary(source, stats, canon: Preconditioner) -> bool:
    """Whether a column taken as constant (its spread below ``1e-12`` of its mean, where the
    statistics cannot tell a spread from the rounding of the mean) does vary in the rows.

    Its coefficient is then set to 0 while the exact optimum's is not, so the certificate
    cannot cover it. Rows in memory are looked at (rows of weight zero left out); elsewhere a
    nonzero computed spread is taken to be one.
    """
    flat = np.flatnonzero(canon.constant)
    if not flat.size:
        return False
    X = getattr(source, "X", None)
    weights = getattr(source, "sample_weight", None)
    if not isinstance(X, np.ndarray) or not isinstance(weights, (np.ndarray, type(None))):
        return bool(np.any(stats.sxx_diag[flat] > 0))
    columns = X[:, flat]
    if weights is not None:
        columns = columns[weights > 0]
    return bool(columns.size and np.any(columns.max(axis=0) > columns.min(axis=0)))


def _lower_loss(optimum: Optimum, refined: Optimum, source, canon, penalty):
    """The refined optimum unless it is measured to be worse than before, with its measurement
    (None where there is none): by the bound measured from the rows where the factor resolves
    it (:func:`~gradreg.posterior.measure`), else by the loss in double-double
    (:func:`~gradreg.posterior.dd_loss`). Refinement in the raw coordinates can lose where
    they cannot hold the point (a large offset)."""
    if np.any(penalty.l2_weights > 0):
        return refined, None
    factor = getattr(optimum.curvature, "M", None)
    if factor is not None:
        measured = [measure(source.batches(_QR_BATCH), canon, o.canonical, factor)
                    for o in (optimum, refined)]
        if None not in measured:
            errors = [_relative(optimum, canon, *m) for m in measured]
            return (optimum, measured[0]) if errors[1] > errors[0] else (refined, measured[1])
    before = dd_loss(source.batches(_QR_BATCH), canon, optimum.canonical)
    after = dd_loss(source.batches(_QR_BATCH), canon, refined.canonical)
    if before is None or after is None:
        return refined, None
    lower = (after[0] - before[0]) + (after[1] - before[1]) <= 0
    return (refined if lower else optimum), None


def _relative(optimum: Optimum, canon, correction: np.ndarray, bound: float) -> float:
    """A measured bound in the certificate's terms (:meth:`Optimum.distance`): the slopes'
    error relative to their size, the centred intercept's to its own. ``bound - |c|`` bounds
    the error of the correction ``c`` in every coordinate."""
    d = optimum.n_slopes
    extra = max(bound - float(np.linalg.norm(correction)), 0.0)
    slopes = (float(np.linalg.norm(correction[:d])) + extra) / optimum.scale \
        if optimum.scale > 0 else math.inf
    if not canon.fit_intercept:
        return slopes
    size = max(abs(float(optimum.canonical[d])), math.sqrt(max(2.0 * optimum.reference, 0.0)))
    centre = (abs(float(correction[d])) + extra) / size if size > 0 else math.inf
    return max(slopes, centre)


def _measurable(optimum: Optimum, penalty, tol) -> bool:
    """Whether the optimum's error is measured from the rows (:func:`_measured`), which also
    refines it: the plain least-squares problem from the factor, with a target."""
    return (tol is not None and not np.any(penalty.l2_weights > 0)
            and isinstance(optimum.curvature, FactoredQuadratic))


def _measured(optimum: Optimum, source, canon: Preconditioner, penalty, tol,
              first: tuple | None = None, unresolved=lambda optimum: optimum) -> Optimum:
    """The refined optimum with its error bound measured from the rows
    (:mod:`gradreg.posterior`), further refined while the measurement allows; where the factor
    cannot resolve a correction, ``unresolved(optimum)`` (another refinement, or none)."""
    # Whenever the factor was needed, even where its a priori bound meets tol: that bound
    # assumes the rounding of the factor's pass is all there is.
    if not _measurable(optimum, penalty, tol):
        return optimum
    d = optimum.n_slopes
    denominator = optimum.scale
    if canon.fit_intercept:  # the intercept's, as in Optimum.distance
        size = max(abs(float(optimum.canonical[d])), math.sqrt(max(2.0 * optimum.reference, 0.0)))
        denominator = min(denominator, size)
    if not denominator > 0:
        return unresolved(optimum)
    theta, measured = refine_and_bound(lambda: source.batches(_QR_BATCH), canon,
                                       optimum.canonical, optimum.curvature.M,
                                       enough=_DESCENT_MARGIN * tol * denominator,
                                       first=first)
    if measured is None:
        return unresolved(optimum)
    if theta is not optimum.canonical:
        optimum = _refined(optimum, theta)
    # Measured from the rows, the bound replaces the a priori one, which assumes the rounding
    # of the factor's pass is all there is.
    return replace(optimum, rounding=_relative(optimum, canon, *measured))


def refine(optimum: Optimum, source, canon: Preconditioner) -> Optimum:
    """Iterative refinement with the residuals recomputed from the rows in memory.

    The gradient of the canonical objective is formed from the data (``Z^T W r`` with
    ``r = y - Z t``), not from the factor, and the correction solves ``H delta = -g`` by the
    factor's SVD: the corrected semi-normal equations of Bjorck (1987). Up to
    ``_REFINE_STEPS`` steps, while the corrections shrink.
    """
    canonical = optimum.curvature
    M = canonical.M
    l2 = canonical.penalty.l2_weights
    if np.any(l2 > 0):
        M = np.vstack([M, np.diag(np.sqrt(l2))])
    _, sigma, Vt = np.linalg.svd(M, full_matrices=False)
    if not sigma.size or sigma[-1] <= 0:
        return optimum
    theta = optimum.canonical
    previous = np.inf
    for _ in range(_REFINE_STEPS):
        grad = np.zeros_like(theta)
        total = 0.0
        for X, y, w in source.batches(_QR_BATCH):
            _, batch_grad, batch_total = batch_loss_and_grad(theta, X, y, w, canon)
            grad += batch_grad
            total += batch_total
        grad = grad / total + canonical.penalty.smooth_grad(theta)
        delta = -(Vt.T @ ((Vt @ grad) / sigma**2))
        size = float(np.linalg.norm(delta))
        if not size < previous:
            break
        theta, previous = theta + delta, 0.5 * size
    return _with_movement(_refined(optimum, theta), optimum, canon)


def _with_movement(refined: Optimum, optimum: Optimum, canon: Preconditioner) -> Optimum:
    """``refined`` with its rounding bounded by that of ``optimum`` plus the distance between
    them (the triangle inequality), in the certificate's relative terms: residuals rounded in
    float64 limit the refinement (to about ``F eps cond`` of the target's level, Higham 2002,
    section 12.1), which can leave the point farther from the exact optimum than the
    optimum it started from was (a target far from zero, a ridge penalty whose solve was
    already refined in double-double)."""
    d = optimum.n_slopes
    moved = refined.canonical - optimum.canonical
    if not np.any(moved):
        return refined
    rounding = optimum.rounding
    slopes = float(np.linalg.norm(moved[:d])) / optimum.scale if optimum.scale > 0 else math.inf
    step = slopes
    if canon.fit_intercept:
        size = max(abs(float(optimum.canonical[d])), math.sqrt(max(2.0 * optimum.reference, 0.0)))
        step = max(step, abs(float(moved[d])) / size if size > 0 else math.inf)
    # Relative to the refined point's size (Optimum.distance), which is within the
    # rounding of the original's.
    ratio = optimum.scale / refined.scale if refined.scale > 0 else math.inf
    total = (rounding + (1.0 + rounding) * step) * max(ratio, 1.0) * (1.0 + 4.0 * _EPS)
    return replace(refined, rounding=total if math.isfinite(total) else math.inf)


def _refined(optimum: Optimum, theta: np.ndarray) -> Optimum:
    """``optimum`` moved to the refined canonical minimiser ``theta``, its objective recentred
    there (:meth:`~gradreg.objective.FactoredQuadratic.recentred`)."""
    canonical = optimum.curvature
    if isinstance(canonical, FactoredQuadratic):
        canonical = canonical.recentred(theta)
    slopes = float(np.linalg.norm(theta[: optimum.n_slopes]))
    return replace(
        optimum,
        curvature=canonical,
        canonical=theta,
        # The relative distances are taken to the refined optimum's size.
        scale=slopes if slopes > 0 else optimum.scale,
        theta=optimum.mapping.inverse(theta),
        value=canonical.value(theta),
        grad=canonical.smooth_value_and_grad(theta)[1],
    )


def _needs_augmented(optimum: Optimum, n_rows: int, penalty, tol) -> bool:
    """Whether to refine the augmented system with double-double residuals
    (:mod:`gradreg.refine`) rather than with float64 residuals.

    The rounding of float64 residuals limits refinement to a relative error of about
    ``F eps cond`` (``F`` the accumulation factor of :mod:`gradreg.optimum`; Higham 2002,
    section 20.5), with the digits beyond it left to chance. The augmented refinement is taken
    when that limit misses ``tol``, and on small designs (up to ``_SMALL_ENTRIES`` numbers,
    where it costs milliseconds) always; for unpenalised designs in memory of moderate size.
    """
    p = optimum.curvature.n_params
    reach = 2.0 * (p + math.sqrt(max(n_rows, 1))) * _EPS * math.sqrt(optimum.slope_condition)
    size = n_rows * p
    return (
        tol is not None
        and (reach > tol or size <= _SMALL_ENTRIES)
        and not np.any(penalty.l2_weights > 0)
        and size <= AUGMENTED_MAX_ENTRIES
    )


# Designs this small (rows x parameters) get the augmented refinement whenever the factor is
# used: about 20 ms at the limit.
_SMALL_ENTRIES = 1 << 16


# Steps of iterative refinement for rows in memory (each a pass of two products).
_REFINE_STEPS = 3


def _in_memory(source) -> bool:
    """Whether the rows are NumPy arrays in memory (a Dask source also has ``X``, lazily)."""
    return all(isinstance(getattr(source, name, None), np.ndarray) for name in ("X", "y")) and (
        isinstance(getattr(source, "sample_weight", None), (np.ndarray, type(None))))


def _files(source) -> bool:
    """Whether the rows are files read on this machine: measuring the optimum's error from
    them costs a further read of each. (Dask collections are not measured: all their rows
    would travel to the client; the factor's passes run on their workers.)"""
    return bool(getattr(source, "local_files", False))


def _rereadable(source) -> bool:
    return source is not None and hasattr(source, "batches") and getattr(source, "n_rows", 0) > 0


def gather_qr(source, stats, canon) -> QRStats:
    """The second pass: the QR factor of the rows centred and scaled as the statistics say."""
    spread = math.sqrt(max(2.0 * reference_loss(stats, canon.fit_intercept), 0.0))
    shift = np.append(canon.shift, stats.mean_y if canon.fit_intercept else 0.0)
    scale = np.append(canon.scale, spread if spread > 0 else 1.0)
    own = getattr(source, "qr_stats", None)
    if own is not None:
        return own(shift, scale, canon.fit_intercept)
    return qr_by_cholesky(
        _scaled_gram(stats, shift, scale, canon.fit_intercept),
        lambda: source.batches(_QR_BATCH),
        shift,
        scale,
        canon.fit_intercept,
        rows=int(stats.n_rows),
        arrays=(source.X, source.y, source.sample_weight) if _in_memory(source) else None,
        run_pass=getattr(source, "gram_pass", None),
    )


def _scaled_gram(stats, shift, scale, fit_intercept: bool) -> np.ndarray:
    """``A^T W A`` of the rows ``[(x - shift)/scale, 1, (y - shift_y)/scale_y]`` from the
    statistics (with the shift at the means the column of ones is orthogonal to the rest)."""
    W = stats.weight_sum
    moments = stats.cross if fit_intercept else stats.cross + W * np.outer(stats.mean, stats.mean)
    scaled = moments / np.outer(scale, scale)
    if not fit_intercept:
        return scaled
    d = stats.n_features
    gram = np.zeros((d + 2, d + 2))
    keep = np.r_[0:d, d + 1]
    gram[np.ix_(keep, keep)] = scaled
    gram[d, d] = W
    return gram


# Rows per batch of the QR pass over a source that has no pass of its own.
_QR_BATCH = 65_536


def _require_finite(stats, source) -> None:
    """Non-finite statistics mean non-finite input (located and named) or overflow."""
    values = [stats.mean, stats.cross if hasattr(stats, "cross") else stats.squares]
    if all(np.all(np.isfinite(v)) for v in values):
        return
    locate = getattr(source, "locate_non_finite", None)
    if locate is not None:
        locate()
    raise _overflow(1e154)


# Columns beyond this size overflow float64 once squared and summed over a batch.
_HUGE = 1e150


def _require_squarable(stats) -> None:
    """The data route squares raw values in every pass: refuse sizes that overflow there."""
    if np.any(stats.magnitudes > _HUGE):
        raise _overflow(_HUGE)


def _overflow(limit: float) -> DataRangeError:
    return DataRangeError(
        f"The data overflow float64 when squared (values above about 1e{math.log10(limit):.0f} in "
        "magnitude). Rescale the features and target, e.g. divide each column by its largest "
        "absolute value."
    )


def batch_gradient(problem: Problem, theta: np.ndarray, batch) -> tuple[float, np.ndarray]:
    """Mean loss and gradient of the smooth objective on one batch: the stochastic step's input."""
    X, y, w = batch
    loss, grad, total = batch_loss_and_grad(theta, X, y, w, problem.precond)
    penalty = problem.objective.penalty
    if total == 0:  # rows of weight zero only: they contribute nothing, the penalty still acts
        loss, grad, total = 0.0, np.zeros_like(grad), 1.0
    return loss / total + penalty.smooth_value(theta), grad / total + penalty.smooth_grad(theta)

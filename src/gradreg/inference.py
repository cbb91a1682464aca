"""Standard errors, tests and intervals of a least-squares fit, from its sufficient statistics.

Everything classical inference needs is a function of the weight sum ``W``, the means and the
centred cross-products of ``[X, y]`` that the fit gathered anyway (:class:`SufficientStats`).
The model ``y = b + x^T w`` is written in centred coordinates, ``y = c + (x - xbar)^T w`` with
``c = b + xbar^T w``, whose Gram matrix is ``B = diag(W, S_xx)``: no cancellation between the
intercept and the slopes, and ``(X^T W X)^{-1}`` follows exactly from ``B^{-1}`` by the change of
coordinates ``theta = T phi``. Without an intercept ``B`` is the uncentred Gram matrix.
``B`` is inverted through the eigendecomposition of its equilibrated form (unit diagonal), whose
numerically zero eigenvalues (below ``RANK_RTOL`` of the largest, as for the fit's optimum)
mark a rank-deficient design; a pseudo-inverse then serves the identifiable coefficients.

Formulas are those of statsmodels' ``OLS``/``WLS`` results (Greene, *Econometric Analysis*,
ch. 4 and 9; White 1980; MacKinnon and White 1985):

- ``scale = ssr / df_resid`` with ``ssr = sum w_i e_i^2`` and ``df_resid = nobs - rank``;
- ``nonrobust``: ``cov = scale (X^T W X)^+``;
- ``HC0``-``HC3``: ``cov = (X^T W X)^+ (sum_i w_i^2 e_i^2 / (1 - h_i)^k x_i x_i^T)
  (X^T W X)^+`` with ``k = 0, 0, 1, 2``, the leverage ``h_i = w_i x_i^T (X^T W X)^+ x_i``,
  and ``HC1`` multiplied by ``nobs / df_resid``. These need every residual: one more pass over
  a source that can be read again (:func:`robust_meat`).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as distributions

from ._choices import COV_TYPES
from ._chunks import blas_for_small_products, chunk_rows_for
from .errors import DataError, GradregWarning, ParameterError
from .objective import constant_columns
from .optimum import RANK_RTOL
from .stats import SufficientStats

__all__ = [
    "COV_TYPES",
    "RobustPart",
    "Summary",
    "check_unpenalized",
    "model_statistics",
    "prediction_interval",
    "robust_meat",
    "summarize",
    "term_names",
]

_HC_POWER = {"HC0": 0, "HC1": 0, "HC2": 1, "HC3": 2}
_EPS = float(np.finfo(np.float64).eps)
# A coefficient is not identifiable when the null space of the equilibrated design has a
# component of at least this size along it (rounding leaves components near eps * condition).
_IDENTIFIABLE_TOL = 1e-6
# Rows per block of the robust pass on a data source (its batches are cut to chunks anyway).
_PASS_BATCH = 131_072
# The two samples must agree on their weight sum to within rounding of a long float64 sum.
_WEIGHT_RTOL = 1e-9
# Digits the table vouches for are computed from the condition number; no more than float64 has.
_MAX_DIGITS = 15


# ---------------------------------------------------------------------------------------------
# The design: Gram matrix in centred coordinates, its pseudo-inverse, rank and identifiability
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Design:
    fit_intercept: bool
    gram: np.ndarray  # B: diag(W, S_xx) with an intercept, the uncentred X^T W X without
    centre: np.ndarray  # xbar with an intercept, zeros without
    inverse: np.ndarray  # B^+ in centred coordinates, (p, p)
    transform: np.ndarray  # T: user parameters theta = T phi
    rank: int
    condition_number: float  # largest over smallest singular value of the equilibrated design
    identifiable: np.ndarray  # bool (p,), in the user's order (intercept first)

    @property
    def n_params(self) -> int:
        return self.inverse.shape[0]

    def user_cov(self, cov_centred: np.ndarray) -> np.ndarray:
        return self.transform @ cov_centred @ self.transform.T

    def rows(self, X: np.ndarray) -> np.ndarray:
        """Rows of the design in centred coordinates: ``[1, x - xbar]`` or ``x`` (float64)."""
        Z = np.subtract(X, self.centre, dtype=np.float64)
        if not self.fit_intercept:
            return Z
        return np.column_stack([np.ones(Z.shape[0]), Z])


def _design(stats: SufficientStats, fit_intercept: bool) -> _Design:
    d = stats.n_features
    W = stats.weight_sum
    mean_x = stats.mean_x
    sxx = stats.sxx.copy()
    if fit_intercept:
        spread = np.sqrt(np.clip(np.diag(sxx), 0.0, None) / W)
        constant = constant_columns(spread, mean_x, int(stats.n_rows))
        sxx[constant, :] = 0.0
        sxx[:, constant] = 0.0
        gram = np.zeros((d + 1, d + 1))
        gram[0, 0] = W
        gram[1:, 1:] = sxx
        transform = np.eye(d + 1)
        transform[0, 1:] = -mean_x
        centre = mean_x.copy()
        # Root mean square of each user column (the intercept's column is ones).
        column_rms = np.append(1.0, np.sqrt(np.clip(np.diag(sxx), 0, None) / W + mean_x**2))
    else:
        gram = sxx + W * np.outer(mean_x, mean_x)
        transform = np.eye(d)
        centre = np.zeros(d)
        column_rms = np.sqrt(np.clip(np.diag(gram), 0, None) / W)
    diagonal = np.diag(gram)
    scale = np.sqrt(np.where(diagonal > 0, diagonal, 1.0))
    eigenvalues, vectors = np.linalg.eigh(gram / np.outer(scale, scale))
    top = max(float(eigenvalues[-1]), 0.0)
    keep = eigenvalues > RANK_RTOL * top
    rank = int(keep.sum())
    kept = vectors[:, keep]
    inverse = (kept / eigenvalues[keep]) @ kept.T / np.outer(scale, scale)
    condition = math.sqrt(top / eigenvalues[keep][0]) if rank else math.inf
    # The null space in the user's coordinates, each column equilibrated by its size.
    null = (transform @ (vectors[:, ~keep] / scale[:, None])) * column_rms[:, None]
    identifiable = np.ones(gram.shape[0], dtype=bool)
    if null.shape[1]:
        basis, _ = np.linalg.qr(null)
        identifiable = np.linalg.norm(basis, axis=1) <= _IDENTIFIABLE_TOL
    return _Design(fit_intercept, gram, centre, inverse, transform, rank, condition,
                   identifiable)


def _ssr(stats: SufficientStats, coef: np.ndarray, intercept: float) -> float:
    """``sum w (y - X coef - intercept)^2`` from the statistics, for any coefficients."""
    sxy, sxx = stats.sxy, stats.sxx
    centred = stats.syy - 2.0 * float(coef @ sxy) + float(coef @ (sxx @ coef))
    offset = stats.mean_y - float(stats.mean_x @ coef) - intercept
    return max(centred, 0.0) + stats.weight_sum * offset**2


# ---------------------------------------------------------------------------------------------
# The pass for heteroscedasticity-robust covariances
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RobustPart:
    """Rows, weight sum and ``sum_i w_i^2 e_i^2 / (1 - h_i)^k z_i z_i^T`` of some rows.

    ``z_i`` are the design's rows in centred coordinates. Parts of any split of the rows add
    up with ``+`` (merged like the statistics, on threads, files or Dask workers).
    """

    n_rows: int
    weight_sum: float
    meat: np.ndarray

    def __add__(self, other: RobustPart) -> RobustPart:
        return RobustPart(
            self.n_rows + other.n_rows, self.weight_sum + other.weight_sum, self.meat + other.meat
        )


def _robust_rows(X, y, w, *, design: _Design, coef, offset: float, power: int) -> RobustPart:
    """The robust part of a block of rows (float64 work, in chunks of a few MB).

    Each chunk is copied once into a buffer of design rows ``z``, which are then scaled in
    place by ``|e| w / (1 - h)^(k/2)`` so that the meat is one symmetric product ``Z^T Z``.
    """
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64).ravel()
    weights = None if w is None else np.asarray(w, dtype=np.float64).ravel()
    p = design.n_params
    first = int(design.fit_intercept)
    meat = np.zeros((p, p))
    rows = chunk_rows_for(p)
    buffer = np.empty((min(rows, len(y)), p))
    if first:
        buffer[:, 0] = 1.0
    for start in range(0, len(y), rows):
        block = slice(start, start + rows)
        Z = buffer[: len(y[block])]
        np.subtract(X[block], design.centre, out=Z[:, first:], casting="unsafe")
        root = np.abs(y[block] - Z[:, first:] @ coef - offset)
        if weights is not None:
            root *= weights[block]
        if power:
            leverage = np.einsum("ij,ij->i", Z @ design.inverse, Z)
            if weights is not None:
                leverage *= weights[block]
            root /= (1.0 - leverage) ** (power / 2)
        Z *= root[:, None]
        meat += Z.T @ Z
        if first:
            Z[:, 0] = 1.0
    weight_sum = float(len(y)) if weights is None else float(weights.sum())
    return RobustPart(len(y), weight_sum, meat)


def _add_parts(parts: Sequence[RobustPart]) -> RobustPart:
    return functools.reduce(lambda a, b: a + b, parts)


def robust_meat(source: Any, design: _Design, coef: np.ndarray, intercept: float,
                cov_type: str) -> RobustPart:
    """One pass over ``source`` for the middle of the sandwich of ``cov_type`` (HC0-HC3).

    A source with ``reduce(summarise, combine)`` (Dask) runs the pass where its partitions
    live; any other is read through ``source.batches``.
    """
    offset = float(intercept) + (float(design.centre @ coef) if design.fit_intercept else 0.0)
    summarise = functools.partial(_robust_rows, design=design, coef=np.asarray(coef, float),
                                  offset=offset, power=_HC_POWER[cov_type])
    # Products of a few columns gain nothing from BLAS threads (as in the statistics pass).
    small = blas_for_small_products("stats", design.n_params - 1)
    with small, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if hasattr(source, "reduce"):
            return source.reduce(summarise, _add_parts)
        p = design.n_params
        total = RobustPart(0, 0.0, np.zeros((p, p)))
        for X, y, w in source.batches(_PASS_BATCH):
            total = total + summarise(X, y, w)
        return total


# ---------------------------------------------------------------------------------------------
# The summary
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Summary:
    """Inference for a least-squares fit, with statsmodels' names.

    Attributes
    ----------
    names : list of str
        ``"Intercept"`` (when fitted) first, then the features.
    params, bse, tvalues, pvalues : ndarray of shape (k,)
        Coefficients, standard errors, t (or z) statistics and two-sided p-values. Coefficients
        that are not identifiable (rank-deficient design) have NaN standard errors.
    rsquared, rsquared_adj : float
        R^2, centred with an intercept, uncentred without one (as statsmodels and R).
    fvalue, f_pvalue : float
        F test that all coefficients but the intercept are zero (a Wald test with the robust
        covariance for the HC types, as statsmodels).
    df_model, df_resid, nobs : float
        ``rank - k_constant``, ``nobs - rank`` and the number of rows (weight-zero rows included).
    ssr : float
        Weighted sum of squared residuals.
    scale : float
        ``ssr / df_resid``.
    covariance : ndarray of shape (k, k)
        The covariance of ``params`` (also ``cov_params()``).
    condition_number : float
        Largest over smallest singular value of the *standardized* design (each column scaled
        to unit size): the figure that limits the accuracy, independent of the data's units.
        statsmodels' figure is of the raw design and so also measures the units.
    digits : int
        Significant digits the standard errors can be vouched for: ``-log10`` of
        ``k cond^2 eps`` (rounding) plus, for the HC types, ``2 sqrt(gap)`` (the fit's own
        distance from the optimum moves the residuals).
    cov_type, use_t, alpha, rank, weighted, converged, coef_error_bound, target
        How the table was made, and the fit's own account (``None`` where unknown).
    """

    names: list[str]
    params: np.ndarray
    bse: np.ndarray
    tvalues: np.ndarray
    pvalues: np.ndarray
    covariance: np.ndarray
    rsquared: float
    rsquared_adj: float
    fvalue: float
    f_pvalue: float
    df_model: float
    df_resid: float
    nobs: float
    ssr: float
    scale: float
    condition_number: float
    digits: int
    cov_type: str
    use_t: bool
    alpha: float
    rank: int
    identifiable: np.ndarray
    weighted: bool
    fit_intercept: bool
    converged: bool | None = None
    coef_error_bound: Any = None
    target: str | None = None

    def cov_params(self) -> np.ndarray:
        """The (k, k) covariance matrix of ``params``."""
        return self.covariance.copy()

    def conf_int(self, alpha: float | None = None) -> np.ndarray:
        """``(k, 2)`` confidence intervals, lower and upper, at level ``1 - alpha``."""
        alpha = self.alpha if alpha is None else _check_alpha(alpha)
        quantile = _quantile(1.0 - alpha / 2.0, self.use_t, self.df_resid)
        half = quantile * self.bse
        return np.column_stack([self.params - half, self.params + half])

    def __rich__(self):
        from ._summary_table import render

        return render(self)

    def __str__(self) -> str:
        from ._summary_table import to_text

        return to_text(self)


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < alpha < 1.0:
        raise ParameterError(
            f"The 'alpha' parameter must be a float in the range (0.0, 1.0). Got {alpha!r} "
            "instead."
        )
    return float(alpha)


def _check_cov_type(cov_type: str) -> None:
    if cov_type not in COV_TYPES:
        raise ParameterError(
            f"The 'cov_type' parameter must be a str among {set(COV_TYPES)}. Got {cov_type!r} "
            "instead."
        )


def _quantile(level: float, use_t: bool, df_resid: float) -> float:
    if use_t:
        return float(distributions.t.ppf(level, df_resid))
    return float(distributions.norm.ppf(level))


def check_unpenalized(penalty: str | None, alpha: float) -> None:
    """Refuse inference for penalized fits, which have no classical standard errors."""
    if penalty is None or alpha == 0:
        return
    if penalty == "l2":
        why = ("ridge coefficients are biased towards zero, so the least-squares standard errors, "
               "t and p values would not describe them")
    else:
        why = ("the L1 part sets coefficients exactly to zero, and such estimates have no "
               "classical standard errors")
    raise ParameterError(
        f"Inference needs an unpenalized fit, but this model has penalty={penalty!r} with "
        f"alpha={alpha!r}: {why}. Refit with penalty=None (for example on the features the "
        "penalized fit selected) to get standard errors, tests and intervals."
    )


def model_statistics(model: Any) -> SufficientStats:
    """The statistics a fitted model keeps, after checking that inference applies to it."""
    check_unpenalized(model.penalty, model.alpha)
    stats = getattr(model, "stats_", None)
    if not isinstance(stats, SufficientStats):
        raise DataError(
            "This model keeps no sufficient statistics, which inference needs: it was fitted on "
            "the data route (more than 2048 features, or route='data'), with columns rescaled "
            "because their squares leave float64's range, or read from a model file saved "
            "without them (over 512 features). Refit with route='stats'."
        )
    return stats


def term_names(model: Any) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(model.n_features_in_)]
    # The fitted intercept (a formula's "- 1" overrides fit_intercept).
    fitted = model.preconditioner_.fit_intercept
    return (["Intercept"] if fitted else []) + [str(n) for n in names]


def summarize(
    stats: SufficientStats,
    coef: np.ndarray,
    intercept: float,
    *,
    fit_intercept: bool,
    names: Sequence[str],
    cov_type: str = "nonrobust",
    alpha: float = 0.05,
    use_t: bool | None = None,
    source: Any = None,
    converged: bool | None = None,
    optimality_gap: float | None = None,
    coef_error_bound: Any = None,
    target: str | None = None,
) -> Summary:
    """The :class:`Summary` of coefficients ``coef``, ``intercept`` fitted to ``stats``.

    ``source`` (re-readable rows of the same data) is needed for the HC covariance types.
    ``optimality_gap``, the fit's relative gap, enters the digits the table vouches for.

    Raises
    ------
    ParameterError
        For an unknown ``cov_type`` or ``alpha`` outside (0, 1).
    DataError
        When there are no more rows than parameters, when an HC type has no ``source``, or when
        the ``source`` holds other rows than the statistics.
    """
    _check_cov_type(cov_type)
    alpha = _check_alpha(alpha)
    use_t = (cov_type == "nonrobust") if use_t is None else bool(use_t)
    coef = np.asarray(coef, dtype=np.float64)
    design = _design(stats, fit_intercept)
    k = design.n_params
    nobs = stats.n_rows
    if nobs <= k:
        raise DataError(
            f"No inference is possible with {nobs} rows for {k} parameters (features plus "
            "intercept): standard errors, tests and intervals need more rows than parameters."
        )
    params = np.append(intercept, coef) if fit_intercept else coef.copy()
    df_resid = float(nobs - design.rank)
    ssr = _ssr(stats, coef, intercept)
    scale = ssr / df_resid
    meat = None
    if cov_type == "nonrobust":
        cov_centred = scale * design.inverse
    else:
        meat = _robust_part(source, stats, design, coef, intercept, cov_type).meat
        if cov_type == "HC1":
            meat = meat * (nobs / df_resid)
        cov_centred = design.inverse @ meat @ design.inverse
    covariance = design.user_cov(cov_centred)
    with np.errstate(divide="ignore", invalid="ignore"):
        bse = np.where(design.identifiable, np.sqrt(np.clip(np.diag(covariance), 0, None)),
                       np.nan)
        tvalues = params / bse
    if use_t:
        pvalues = 2.0 * distributions.t.sf(np.abs(tvalues), df_resid)
    else:
        pvalues = 2.0 * distributions.norm.sf(np.abs(tvalues))
    k_constant = int(fit_intercept)
    tss = stats.syy if fit_intercept else stats.syy + stats.weight_sum * stats.mean_y**2
    rsquared = 1.0 - ssr / tss if tss > 0 else math.nan
    rsquared_adj = 1.0 - (nobs - k_constant) / df_resid * (1.0 - rsquared)
    df_model = float(design.rank - k_constant)
    fvalue, f_pvalue = _f_test(params, meat, design, tss - ssr, scale, df_model, df_resid,
                               cov_type)
    _warn_unidentifiable(names, design)
    digits = _digits(design, cov_type, optimality_gap)
    return Summary(
        names=list(names), params=params, bse=bse, tvalues=tvalues, pvalues=pvalues,
        covariance=covariance, rsquared=rsquared, rsquared_adj=rsquared_adj, fvalue=fvalue,
        f_pvalue=f_pvalue, df_model=df_model, df_resid=df_resid, nobs=float(nobs), ssr=ssr,
        scale=scale, condition_number=design.condition_number, digits=digits,
        cov_type=cov_type, use_t=use_t, alpha=alpha, rank=design.rank,
        identifiable=design.identifiable, weighted=stats.weight_sum != stats.n_rows,
        fit_intercept=fit_intercept, converged=converged, coef_error_bound=coef_error_bound,
        target=target,
    )


def _robust_part(source, stats, design, coef, intercept, cov_type) -> RobustPart:
    if source is None:
        raise DataError(
            f"cov_type={cov_type!r} needs the residual of every row, which the statistics do "
            "not hold: pass the training data again, summary(cov_type=..., X=X, y=y) (or "
            "X=gradreg.scan(...) or Dask collections). Streams seen only once (partial_fit) "
            "support cov_type='nonrobust' alone."
        )
    part = robust_meat(source, design, coef, intercept, cov_type)
    if part.n_rows != stats.n_rows or not math.isclose(
        part.weight_sum, stats.weight_sum, rel_tol=_WEIGHT_RTOL
    ):
        raise DataError(
            f"The data passed for cov_type={cov_type!r} hold {part.n_rows} rows of weight sum "
            f"{part.weight_sum:.10g}, but the model was fitted on {stats.n_rows} rows of weight "
            f"sum {stats.weight_sum:.10g}. Pass the same rows (and sample_weight) as the fit."
        )
    if not np.all(np.isfinite(part.meat)):
        locate = getattr(source, "locate_non_finite", None)
        if locate is not None:
            locate()
        raise DataError(
            f"The residuals of the data passed for cov_type={cov_type!r} overflow float64 (or a "
            "leverage is 1). Rescale the features and target first."
        )
    return part


def _f_test(params, meat, design, ess, scale, df_model, df_resid, cov_type):
    if df_model <= 0:
        return math.nan, math.nan
    if cov_type == "nonrobust":
        fvalue = (ess / df_model) / scale if scale > 0 else math.inf
        return fvalue, float(distributions.f.sf(fvalue, df_model, df_resid))
    # Wald test of the slopes with the robust covariance V. Its slope block is
    # S^-1 M_ss S^-1 (B is block diagonal in centred coordinates), so the quadratic form
    # b^T V_ss^-1 b is g^T M_ss^-1 g with g = S b: no inverse of the far worse conditioned V.
    slopes = slice(1, None) if design.fit_intercept else slice(None)
    g = design.gram[slopes, slopes] @ params[slopes]
    block = meat[slopes, slopes]
    size = np.sqrt(np.clip(np.diag(block), 0, None))
    size = np.where(size > 0, size, 1.0)
    inverse = np.linalg.pinv(block / np.outer(size, size), hermitian=True)
    count = g.shape[0]
    fvalue = float((g / size) @ inverse @ (g / size)) / count
    return fvalue, float(distributions.f.sf(fvalue, count, df_resid))


def _warn_unidentifiable(names: Sequence[str], design: _Design) -> None:
    missing = [str(names[i]) for i in np.flatnonzero(~design.identifiable)]
    if missing:
        warnings.warn(
            f"The design is rank deficient (rank {design.rank} of {design.n_params}): the "
            f"coefficient(s) of {', '.join(missing)} are not identifiable, and their standard "
            "errors, tests and intervals are NaN. Drop constant or collinear columns.",
            GradregWarning,
            stacklevel=4,
        )


def _digits(design: _Design, cov_type: str, optimality_gap: float | None) -> int:
    """Digits of the standard errors that survive rounding and the fit's own error.

    Forming ``X^T X`` perturbs it by about ``k eps`` relative (k entries summed per product);
    its inverse, and so the squared standard errors, move by that times its condition number
    ``cond^2``. Coefficients at relative gap ``g`` from the optimum change the residuals by
    ``sqrt(g)`` of their norm: the robust meat, quadratic in them, by about ``2 sqrt(g)``; the
    sum of squares only by ``g``.
    """
    error = design.n_params * design.condition_number**2 * _EPS
    if optimality_gap is not None and math.isfinite(optimality_gap) and optimality_gap > 0:
        error += 2.0 * math.sqrt(optimality_gap) if cov_type != "nonrobust" else optimality_gap
    if not math.isfinite(error) or error >= 1.0:
        return 0
    return int(min(_MAX_DIGITS, math.floor(-math.log10(error))))


# ---------------------------------------------------------------------------------------------
# Intervals for predictions
# ---------------------------------------------------------------------------------------------


def prediction_interval(
    stats: SufficientStats,
    coef: np.ndarray,
    intercept: float,
    X: np.ndarray,
    *,
    fit_intercept: bool,
    alpha: float = 0.05,
    kind: str = "prediction",
) -> np.ndarray:
    """``(n, 2)`` intervals for the mean (``"confidence"``) or a new observation (``"prediction"``).

    ``se_mean^2 = scale x^T (X^T W X)^+ x``; a new observation of weight one adds ``scale``
    (statsmodels' ``get_prediction(...).conf_int(obs=...)``). Student's t with ``df_resid``.
    """
    alpha = _check_alpha(alpha)
    if kind not in ("prediction", "confidence"):
        raise ParameterError(
            "The 'kind' parameter must be a str among {'prediction', 'confidence'}. Got "
            f"{kind!r} instead."
        )
    coef = np.asarray(coef, dtype=np.float64)
    design = _design(stats, fit_intercept)
    if stats.n_rows <= design.n_params:
        raise DataError(
            f"No prediction interval is possible with {stats.n_rows} rows for "
            f"{design.n_params} parameters: intervals need more rows than parameters."
        )
    df_resid = float(stats.n_rows - design.rank)
    scale = _ssr(stats, coef, intercept) / df_resid
    quantile = _quantile(1.0 - alpha / 2.0, True, df_resid)
    n = X.shape[0]
    out = np.empty((n, 2))
    step = chunk_rows_for(design.n_params)
    for start in range(0, n, step):
        block = slice(start, start + step)
        Z = design.rows(X[block])
        prediction = np.asarray(X[block], dtype=np.float64) @ coef + intercept
        variance = scale * np.einsum("ij,ij->i", Z @ design.inverse, Z)
        if kind == "prediction":
            variance = variance + scale
        half = quantile * np.sqrt(np.clip(variance, 0, None))
        out[block, 0] = prediction - half
        out[block, 1] = prediction + half
    return out

"""Standard errors, tests and intervals of a least-squares fit, from its sufficient statistics.

Everything classical inference needs is a function of the weight sum ``W``, the means and the
centred cross-products of ``[X, y]`` that the fit gathered anyway (:class:`SufficientStats`),
and, where those cannot resolve the design, of the triangular factor of the rows that the fit
then gathers too (:mod:`gradreg.qr_stats`): cross-products square the design's condition
number, the factor does not. :mod:`gradreg._inference_design` turns either into the
generalized inverse, rank and condition number used here (rank-deficient designs get a
pseudo-inverse that serves the identifiable coefficients).

Formulas are those of statsmodels' ``OLS``/``WLS`` results (Greene, *Econometric Analysis*,
ch. 4 and 9; White 1980; MacKinnon and White 1985):

- ``scale = ssr / df_resid`` with ``ssr = sum w_i e_i^2`` and ``df_resid = nobs - rank``;
- ``nonrobust``: ``cov = scale (X^T W X)^+``;
- ``HC0``-``HC3``: ``cov = (X^T W X)^+ (sum_i w_i^2 e_i^2 / (1 - h_i)^k x_i x_i^T)
  (X^T W X)^+`` with ``k = 0, 0, 1, 2``, the leverage ``h_i = w_i x_i^T (X^T W X)^+ x_i``,
  and ``HC1`` multiplied by ``nobs / df_resid``. These need every residual: one more pass over
  a source that can be read again (:func:`robust_meat`). The middle is summed over the rows
  in whitened coordinates ``q_i = z_i H`` (``H H^T = (X^T W X)^+``), where the design's rows
  are orthonormal: summed over the raw rows it would square the design's condition number.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as distributions

from ._choices import COV_TYPES
from ._chunks import chunk_rows_for
from ._inference_design import (
    GRAM_CONDITION_LIMIT,
    Design,
    consistent,
    design_of,
    gram_resolves,
)
from ._messages import shown
from ._robust_pass import RobustPart, meat_rounding, robust_meat, wald_slopes
from .errors import DataError, GradregWarning, ParameterError
from .qr_stats import QRStats
from .stats import SufficientStats

__all__ = [
    "COV_TYPES",
    "RobustPart",
    "Summary",
    "WANTED_DIGITS",
    "check_unpenalized",
    "model_statistics",
    "prediction_interval",
    "robust_meat",
    "summarize",
    "term_names",
]

# The two samples must agree on their weight sum to within rounding of a long float64 sum.
_WEIGHT_RTOL = 1e-9
# Digits the table vouches for are computed from the condition number; no more than float64 has.
_MAX_DIGITS = 15
# Digits the table wants: below them it says so, and a summary given the training data
# gathers the QR factor rather than take the design from the cross-products.
WANTED_DIGITS = 6


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
        Largest over smallest (nonzero) singular value of the *standardized* design: each
        feature centred and scaled to unit root mean square, next to the column of ones (with
        an intercept; without one the features are only scaled), rows weighted by
        ``sqrt(sample_weight)``. It is the figure that limits the accuracy of the table and
        does not depend on the units or offsets of the columns. statsmodels'
        ``condition_number`` is the same ratio for the raw design with its constant
        (``sqrt`` of the eigenvalue ratio of ``X^T X``, from an SVD of ``X``), which also
        measures units and offsets: columns of very different sizes, or far from zero in
        units of their spread, raise it without making the coefficients any harder to
        resolve.
    digits : int
        Significant digits the standard errors can be vouched for: ``-log10`` of the
        rounding of the variances, ``p cond^2 eps`` from the cross-products, or
        ``(p + sqrt(n)) sqrt(p) cond eps`` plus that of the residual sum of squares from the
        QR factor (``method``), plus the fit's own distance from the optimum (its relative gap
        ``g``, or ``2 sqrt(g)`` for the HC types, whose residuals it moves). For the HC types
        the meat's sum, ``(p + sqrt(n)) eps`` times the condition number of the whitened meat,
        is added too.
    method : str
        ``"qr"`` when the design came from the QR factor of the rows (gathered by the fit, or
        from the data passed to ``summary``), ``"gram"`` when from the cross-products, which
        cannot tell a design whose condition number is past about 3e6 from a rank-deficient
        one.
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
    method: str
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
            f"The 'alpha' parameter must be a float in the range (0.0, 1.0). Got {shown(alpha)} "
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
        f"alpha={shown(alpha)}: {why}. Refit with penalty=None (for example on the features the "
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
    qr: QRStats | None = None,
) -> Summary:
    """The :class:`Summary` of coefficients ``coef``, ``intercept`` fitted to ``stats``.

    ``qr``, the QR factor of the same rows as the fit gathered it, gives the design; without
    one it comes from the cross-products of ``stats``, unless those cannot vouch for
    ``WANTED_DIGITS`` digits and ``source`` is given: the factor is then gathered from it.
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
    design = _design(stats, fit_intercept, qr, source)
    k = design.n_params
    nobs = stats.n_rows
    if nobs <= k:
        raise DataError(
            f"No inference is possible with {nobs} rows for {k} parameters (features plus "
            "intercept): standard errors, tests and intervals need more rows than parameters."
        )
    params = np.append(intercept, coef) if fit_intercept else coef.copy()
    df_resid = float(nobs - design.rank)
    ssr = design.ssr(coef, intercept)
    scale = ssr / df_resid
    meat = None
    # T H first: the intercept's row, H_0 - xbar^T H_w, is a prediction's at x = 0, whose
    # terms cancel; formed after H H^T it would cancel terms of the slopes' variances instead.
    user = design.user_whitening
    if cov_type == "nonrobust":
        root = math.sqrt(scale) * user
    else:
        meat = _robust_part(source, stats, design, coef, intercept, cov_type).meat
        if cov_type == "HC1":
            meat = meat * (nobs / df_resid)
        root = user @ _meat_root(meat)
    covariance = root @ root.T
    with np.errstate(divide="ignore", invalid="ignore"):
        bse = np.where(design.identifiable, np.linalg.norm(root, axis=1), np.nan)
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
    rounding = design.ssr_rounding(coef, intercept, ssr) if cov_type == "nonrobust" else \
        meat_rounding(meat, nobs)
    digits = _digits(design, cov_type, optimality_gap, rounding)
    return Summary(
        names=list(names), params=params, bse=bse, tvalues=tvalues, pvalues=pvalues,
        covariance=covariance, rsquared=rsquared, rsquared_adj=rsquared_adj, fvalue=fvalue,
        f_pvalue=f_pvalue, df_model=df_model, df_resid=df_resid, nobs=float(nobs), ssr=ssr,
        scale=scale, condition_number=design.condition_number, digits=digits,
        method=design.method, cov_type=cov_type, use_t=use_t, alpha=alpha, rank=design.rank,
        identifiable=design.identifiable, weighted=stats.weight_sum != stats.n_rows,
        fit_intercept=fit_intercept, converged=converged, coef_error_bound=coef_error_bound,
        target=target,
    )


def _design(stats: SufficientStats, fit_intercept: bool, qr: QRStats | None,
            source: Any) -> Design:
    """The design from the factor ``qr``; else from the cross-products, or from a factor
    gathered from ``source`` when those cannot vouch for the digits the table wants."""
    if qr is not None and consistent(stats, qr, fit_intercept):
        return design_of(stats, fit_intercept, qr)
    design = design_of(stats, fit_intercept)
    if source is None or gram_resolves(design, 10.0**-WANTED_DIGITS):
        return design
    from .optimum import canonical_preconditioner
    from .problem import gather_qr

    with np.errstate(over="ignore", invalid="ignore"):
        try:
            qr = gather_qr(source, stats, canonical_preconditioner(stats, fit_intercept))
        except np.linalg.LinAlgError:  # non-finite products: said below
            qr = None
    if qr is not None:
        _check_rows(qr.n_rows, qr.weight_sum, stats, "the QR factor")
    if qr is None or not np.all(np.isfinite(qr.R)):
        locate = getattr(source, "locate_non_finite", None)
        if locate is not None:
            locate()
        raise DataError(
            "The data passed for the QR factor overflow float64 once centred and scaled by "
            "the means and spreads of the rows the model was fitted on: pass those rows."
        )
    return design_of(stats, fit_intercept, qr)


def _meat_root(meat: np.ndarray) -> np.ndarray:
    """``L`` with ``L L^T`` the meat (symmetric, positive semidefinite): its eigenvectors
    times the square roots of its eigenvalues (those rounding left below zero taken as zero)."""
    values, vectors = np.linalg.eigh(0.5 * (meat + meat.T))
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def _check_rows(n_rows: int, weight_sum: float, stats: SufficientStats, purpose: str) -> None:
    if n_rows != stats.n_rows or not math.isclose(weight_sum, stats.weight_sum,
                                                  rel_tol=_WEIGHT_RTOL):
        raise DataError(
            f"The data passed for {purpose} hold {n_rows} rows of weight sum "
            f"{weight_sum:.10g}, but the model was fitted on {stats.n_rows} rows of weight "
            f"sum {stats.weight_sum:.10g}. Pass the same rows (and sample_weight) as the fit."
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
    _check_rows(part.n_rows, part.weight_sum, stats, f"cov_type={cov_type!r}")
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
    fvalue = wald_slopes(params, meat, design) / df_model
    return fvalue, float(distributions.f.sf(fvalue, df_model, df_resid))


def _warn_unidentifiable(names: Sequence[str], design: Design) -> None:
    missing = [str(names[i]) for i in np.flatnonzero(~design.identifiable)]
    if not missing:
        return
    if design.ambiguous:
        message = (
            f"The design is rank deficient at the precision of its cross-products (rank "
            f"{design.rank} of {design.n_params}): the coefficient(s) of {', '.join(missing)} "
            "are not identifiable there, and their standard errors, tests and intervals are "
            "NaN. Cross-products cannot tell collinear columns from a standardized condition "
            f"number above about {GRAM_CONDITION_LIMIT:.1g}: pass the training data again, "
            "summary(X=X, y=y), for the QR factor, which can; or drop collinear columns."
        )
    else:
        message = (
            f"The design is rank deficient (rank {design.rank} of {design.n_params}): the "
            f"coefficient(s) of {', '.join(missing)} are not identifiable, and their standard "
            "errors, tests and intervals are NaN. Drop constant or collinear columns."
        )
    warnings.warn(message, GradregWarning, stacklevel=4)


def _digits(design: Design, cov_type: str, optimality_gap: float | None,
            rounding: float) -> int:
    """Digits of the standard errors that survive rounding and the fit's own error.

    The variances move by the inverse's rounding (:meth:`Design.inverse_rounding`: ``p cond^2
    eps`` from cross-products, ``2 (p + sqrt(n)) sqrt(p) cond eps`` from the factor) plus
    ``rounding``: the residual sum of squares' (nonrobust) or the meat's (HC types). The
    standard errors, their square roots, by half. Coefficients at relative gap ``g`` from
    the optimum change the residuals by ``sqrt(g)`` of their norm: the robust meat, quadratic
    in them, by about ``2 sqrt(g)``; the sum of squares only by ``g``.
    """
    error = 0.5 * (design.inverse_rounding() + rounding)
    if design.method == "gram":
        # From cross-products the figure is taken for the standard errors themselves, twice
        # what p eps in B's equilibrated entries makes of them: their sums over the rows grow
        # beyond p eps.
        error = design.inverse_rounding() + 0.5 * rounding
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
    qr: QRStats | None = None,
) -> np.ndarray:
    """``(n, 2)`` intervals for the mean (``"confidence"``) or a new observation (``"prediction"``).

    ``se_mean^2 = scale x^T (X^T W X)^+ x = scale |z H|^2`` (``z`` the row in centred
    coordinates, ``H`` the design's whitening, from the factor ``qr`` when given); a new
    observation of weight one adds ``scale`` (statsmodels'
    ``get_prediction(...).conf_int(obs=...)``). Student's t with ``df_resid``.
    """
    alpha = _check_alpha(alpha)
    if kind not in ("prediction", "confidence"):
        raise ParameterError(
            "The 'kind' parameter must be a str among {'prediction', 'confidence'}. Got "
            f"{kind!r} instead."
        )
    coef = np.asarray(coef, dtype=np.float64)
    design = _design(stats, fit_intercept, qr, None)
    if stats.n_rows <= design.n_params:
        raise DataError(
            f"No prediction interval is possible with {stats.n_rows} rows for "
            f"{design.n_params} parameters: intervals need more rows than parameters."
        )
    df_resid = float(stats.n_rows - design.rank)
    scale = design.ssr(coef, intercept) / df_resid
    whitening = design.whitening
    quantile = _quantile(1.0 - alpha / 2.0, True, df_resid)
    n = X.shape[0]
    out = np.empty((n, 2))
    step = chunk_rows_for(design.n_params)
    for start in range(0, n, step):
        block = slice(start, start + step)
        Z = design.rows(X[block])
        prediction = np.asarray(X[block], dtype=np.float64) @ coef + intercept
        Q = Z @ whitening
        variance = scale * np.einsum("ij,ij->i", Q, Q)
        if kind == "prediction":
            variance = variance + scale
        half = quantile * np.sqrt(np.clip(variance, 0, None))
        out[block, 0] = prediction - half
        out[block, 1] = prediction + half
    return out

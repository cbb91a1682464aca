"""What ``GDRegressor.fit`` does after the descent: fitted attributes, warnings in the user's
units, and the refit of data whose squares leave float64's range."""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import clone

from . import _validation as v
from ._fitting import (
    descent_condition,
    faster_settings,
    power_of_two_exponent,
    training_metrics,
    warn_not_converged,
)
from ._subnormal import with_subnormal_rounding
from ._units import COST_FACTOR, rate_factor, user_divergence, user_history
from .errors import DataError, DataRangeError, DivergenceError
from .objective import Preconditioner, reference_loss
from .problem import Problem
from .solvers import FitResult
from .sources import ArraySource
from .stats import SufficientStats

__all__ = ["FitStoreMethods", "with_reported_rounding"]


class FitStoreMethods:
    """The fitted state of :class:`~gradreg.estimator.GDRegressor`."""

    def _fit_rescaled(self, source, penalty, checkpoint, resume, overflow: bool):
        """Fit data whose squares leave float64's range by scaling columns by powers of two.

        Scaling by a power of two is exact, and for least squares the coefficients of the scaled
        data map back exactly; a penalty would change meaning, so then the error stands.
        """
        kind = "overflow" if overflow else "underflow"
        if not isinstance(source, ArraySource) or penalty.alpha > 0 or checkpoint or resume:
            raise DataRangeError(
                f"The data {kind} float64 when squared (magnitudes beyond about 1e154 or below "
                "1e-154). Rescale the features and target first, e.g. divide each column by its "
                "largest absolute value."
            )
        v.check_memory(source.X.shape[0] * (source.X.shape[1] + 1) * 8, "Rescaling the data")
        if getattr(self, "_rescaled", False):
            # Already rescaled once: columns are within [0.5, 1) of their largest value, so
            # what still leaves float64's range is the spread within a column.
            raise DataRangeError(
                f"The data {kind} float64 when squared even after each column is scaled to a "
                "largest absolute value near 1: the values within a column span more than "
                "float64's range allows. Remove the extreme rows or transform the column "
                "(e.g. take logarithms)."
            )
        column_exponent = power_of_two_exponent(np.abs(source.X).max(axis=0))
        target_exponent = int(power_of_two_exponent(np.abs(source.y).max()))
        scaled = clone(self).set_params(warm_start=False)
        scaled._rescaled = True
        scaled.fit(
            np.ldexp(np.asarray(source.X, dtype=np.float64), column_exponent),
            np.ldexp(np.asarray(source.y, dtype=np.float64), target_exponent),
            sample_weight=source.sample_weight,
        )
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            coef = np.ldexp(scaled.coef_, column_exponent - target_exponent)
            intercept = float(np.ldexp(scaled.intercept_, -target_exponent))
        if not (np.all(np.isfinite(coef)) and np.isfinite(intercept)):
            raise DataRangeError(
                "The fitted coefficients are beyond float64's range (about 1e308): a "
                "coefficient is about target / feature, and the target is that much larger "
                "than the features. Rescale the target or the features."
            )
        bound = _with_unscaling_rounding(scaled, coef, intercept, column_exponent,
                                         target_exponent)
        state = {k: v for k, v in scaled.__dict__.items() if k.endswith("_") and k[0] != "_"}
        # Statistics and factor of the scaled data: no inference from them.
        state.pop("stats_", None)
        state.pop("qr_stats_", None)
        self.__dict__.update(state)
        self.coef_, self.intercept_ = coef, intercept
        if bound > self.coef_error_bound_:  # coefficients below float64's normal range
            self.coef_error_bound_ = bound
            self.converged_ = bool(self.converged_ and self.tol is not None and bound <= self.tol)
        precond = scaled.preconditioner_
        with np.errstate(over="ignore", under="ignore"):
            self.preconditioner_ = Preconditioner(
                np.ldexp(precond.shift, -column_exponent),
                np.ldexp(precond.scale, -column_exponent),
                precond.fit_intercept,
                precond.constant,
            )
        self.stop_reason_ = f"{scaled.stop_reason_} (columns rescaled by powers of two: {kind})"
        return self

    def _user_divergence(self, error, problem, config) -> DivergenceError:
        factor = rate_factor(config.optimizer)
        rate = self.learning_rate
        if isinstance(rate, str):
            rate = float("nan")
        elif callable(rate):
            rate = float(rate(0))
        return user_divergence(error, rate, problem.lipschitz(), factor, self.standardize)

    def _warm_parameters(self):
        if self.warm_start and hasattr(self, "coef_"):
            return self.coef_, self.intercept_
        return None

    def _store(self, problem: Problem, result: FitResult, seconds: float, config) -> None:
        coef, intercept = problem.precond.to_user(result.theta)
        if not (np.all(np.isfinite(coef)) and np.isfinite(intercept)):
            raise DataError(
                "The fit produced non-finite coefficients (the data overflow float64 when "
                "squared). Rescale the features and target, e.g. divide them by their largest "
                "absolute value."
            )
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.stop_reason_ = result.stop_reason
        self.optimality_gap_ = result.gap
        self.history_ = user_history({k: np.asarray(h) for k, h in result.history.items()})
        self.solver_ = result.solver
        self.optimizer_ = result.optimizer
        self.solver_choice_ = self._choice.description
        self.route_ = problem.route
        self.learning_rate_ = result.learning_rate / rate_factor(result.optimizer)
        self.lipschitz_ = COST_FACTOR * result.lipschitz
        optimum = problem.optimum
        self.condition_number_ = optimum.condition_number if optimum else float("nan")
        self.optimal_loss_ = COST_FACTOR * optimum.value if optimum else float("nan")
        self.rank_ = optimum.rank if optimum else -1
        self.preconditioner_ = problem.precond
        self.fit_time_ = seconds
        self.metrics_ = training_metrics(problem, result.theta)
        self.coef_error_bound_ = with_reported_rounding(problem, result.theta, coef, intercept,
                                                         result.error_bound)
        if self.coef_error_bound_ > result.error_bound:  # numbers below float64's normal range
            self.converged_ = bool(result.converged and self.coef_error_bound_ <= config.tol)
        if isinstance(problem.stats, SufficientStats):
            # What summary() and predict_interval() compute from, in the weights' own units
            # (none kept when those overflow float64).
            with np.errstate(over="ignore"):
                stats = problem.stats.with_weights_scaled(
                    getattr(problem.source, "weight_exponent", 0))
            if np.isfinite(stats.weight_sum) and np.all(np.isfinite(stats.cross)):
                self.stats_ = stats
                self._store_factor(problem)
        warn_not_converged(
            self, result, optimum,
            faster_settings(self._choice, problem.objective.penalty.has_l1),
            descent_condition(problem) if optimum is not None else None,
        )

    def _store_factor(self, problem: Problem) -> None:
        """The QR factor the fit gathered, for inference (in the weights' own units, as
        ``stats_``); none when the cross-products sufficed."""
        self.__dict__.pop("qr_stats_", None)
        if problem.qr is None:
            return
        with np.errstate(over="ignore"):
            factor = problem.qr.with_weights_scaled(
                getattr(problem.source, "weight_exponent", 0))
        if np.isfinite(factor.weight_sum) and np.all(np.isfinite(factor.R)):
            self.qr_stats_ = factor


def with_reported_rounding(problem: Problem, theta, coef, intercept, bound: float) -> float:
    """``bound`` with the rounding of reported numbers below float64's normal range
    (:mod:`gradreg._subnormal`), the columns' spreads and means from the statistics; a zero
    coefficient of a nonzero ``theta`` (the descent's coordinates) is a value rounded away."""
    stats = problem.stats
    spread = mean = None
    if stats is not None and hasattr(stats, "mean_x"):
        canon = Preconditioner.from_stats(stats, problem.precond.fit_intercept)
        spread = np.where(canon.constant, 0.0, canon.scale)
        mean = np.asarray(stats.mean_x, dtype=np.float64)
    reference = float(getattr(problem.objective, "reference", 0.0))
    return with_subnormal_rounding(
        bound, coef, intercept, spread, mean, problem.precond.fit_intercept,
        target_spread=math.sqrt(max(2.0 * reference, 0.0)),
        underflowed=np.asarray(theta[: coef.shape[0]]) != 0)


def _with_unscaling_rounding(scaled, coef, intercept, column_exponent, target_exponent) -> float:
    """The scaled fit's bound with the rounding of mapping its coefficients back (exact but
    below float64's normal range, :mod:`gradreg._subnormal`), measured in the scaled units:
    each number's error is the scaled value less the reported one scaled back (both exact)."""
    bound = scaled.coef_error_bound_
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        delta = np.abs(scaled.coef_ - np.ldexp(coef, target_exponent - column_exponent))
        delta_intercept = abs(float(scaled.intercept_) - float(np.ldexp(intercept,
                                                                        target_exponent)))
    if not (np.any(delta > 0) or delta_intercept > 0):
        return bound
    stats = getattr(scaled, "stats_", None)
    spread = mean = None
    target = 0.0
    if stats is not None:
        canon = Preconditioner.from_stats(stats, scaled.fit_intercept)
        spread = np.where(canon.constant, 0.0, canon.scale)
        mean = np.asarray(stats.mean_x, dtype=np.float64)
        target = math.sqrt(max(2.0 * reference_loss(stats, scaled.fit_intercept), 0.0))
    return with_subnormal_rounding(
        bound, scaled.coef_, float(scaled.intercept_), spread, mean, scaled.fit_intercept,
        delta=delta, delta_intercept=delta_intercept, target_spread=target)

"""What GDRegressor.fit does around the solver: warnings, metrics, checkpoints, the report."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import replace
from numbers import Integral

import numpy as np

from ._params import Choice, describe, switch
from ._units import COST_FACTOR, cost_label, rate_factor
from .checkpoint import CheckpointWriter, read_checkpoint
from .errors import ConvergenceWarning, GradregWarning, ParameterError
from .persistence import json_params
from .problem import Problem
from .solvers import FitConfig

__all__ = [
    "faster_settings",
    "fit_report",
    "out_of_range",
    "power_of_two_scale",
    "training_metrics",
    "warn_about_problem",
    "warn_not_converged",
    "with_checkpoints",
]

# Condition number above which plain gradient descent is hopeless and the user is told so.
_ILL_CONDITIONED = 1e12


def warn_about_problem(problem: Problem, config: FitConfig, choice: Choice) -> None:
    """Warnings about constant columns, rank, conditioning and the epochs plain descent needs."""
    precond = problem.precond
    constant = np.flatnonzero(precond.constant)
    if precond.fit_intercept and constant.size:
        warnings.warn(
            f"Feature column(s) {constant.tolist()} are constant: with an intercept their "
            "coefficients are not identifiable, and gradreg sets them to 0.",
            GradregWarning,
            stacklevel=4,
        )
    optimum = problem.optimum
    if optimum is None:
        return
    if optimum.deficient_columns:
        warnings.warn(
            f"The design matrix is rank deficient: numerical rank {optimum.rank} of "
            f"{problem.n_params} (features plus intercept); feature column(s) "
            f"{list(optimum.deficient_columns)} are collinear (with each other or with the "
            "intercept). The optimum reported is the minimum-norm solution in standardized "
            "coordinates; remove the redundant columns for unique coefficients.",
            GradregWarning,
            stacklevel=4,
        )
    kappa = _descent_condition(problem)
    slowed = _rate_fraction(problem, config)
    if (config.solver in ("gd", "sgd") and config.optimizer == "plain" and kappa > 1
            and config.tol is not None):
        needed = kappa / slowed * math.log(1.0 / config.tol)
        if needed > config.max_iter and (kappa > 1e3 or slowed < _SLOW_RATE):
            warnings.warn(
                f"The problem is badly conditioned (condition number {kappa:.3g}): plain "
                f"gradient descent needs about {needed:.3g} epochs to reach tol={config.tol:g}"
                f" but max_iter={config.max_iter}. "
                + faster_settings(choice, problem.objective.penalty.has_l1),
                GradregWarning,
                stacklevel=4,
            )
            return
    elif slowed < _SLOW_RATE and config.solver == "gd" and config.optimizer != "adam":
        # Accelerated descent needs about sqrt(kappa / slowed) log(1/tol) epochs.
        needed = math.sqrt(max(kappa, 1.0) / slowed) * math.log(1.0 / config.tol)
        if needed > config.max_iter:
            # In the user's units: a step on the mean squared error, whose L is twice.
            rate = config.learning_rate / rate_factor(config.optimizer)
            warnings.warn(
                f"learning_rate={rate:g} is {slowed:.3g} times the automatic "
                f"rate 1/L = {1.0 / (COST_FACTOR * problem.lipschitz()):.6g}: the descent "
                "needs about "
                f"{needed:.3g} epochs to reach tol={config.tol:g} but max_iter="
                f"{config.max_iter}. Use learning_rate='auto' or increase max_iter.",
                GradregWarning,
                stacklevel=4,
            )
    if optimum.slope_condition > _ILL_CONDITIONED and not (config.solver in ("gd", "sgd")
                                         and config.optimizer == "plain"):
        penalty = problem.objective.penalty
        if penalty.l2_weights.any():
            remedy = "increasing alpha"
        elif penalty.has_l1:
            remedy = ("adding an L2 part (penalty='elasticnet' with l1_ratio below 1, and a "
                      "larger alpha if the condition number stays high)")
        else:
            remedy = "adding penalty='l2'"
        warnings.warn(
            f"The problem is badly conditioned (condition number "
            f"{optimum.slope_condition:.3g}); the "
            "coefficients are sensitive to rounding. Consider removing nearly collinear "
            f"features or {remedy}.",
            GradregWarning,
            stacklevel=4,
        )


def _descent_condition(problem: Problem) -> float:
    """Condition number of the curvature in the descent's own coordinates (sets its speed)."""
    eigenvalues = problem.objective.eigen()[0]
    top = float(eigenvalues[-1])
    kept = eigenvalues[eigenvalues > 1e-300]
    return top / float(kept[0]) if kept.size and top > 0 else math.inf


def warn_not_converged(model, result, optimum, advice: str = "Increase max_iter.") -> None:
    """A ConvergenceWarning for a fit that did not certify ``tol``, with advice that works."""
    if model.tol is None or result.converged or result.stop_reason.startswith(
        ("stopped by", "early stopping")
    ):
        return
    name = type(model).__name__
    bound = result.error_bound
    if optimum is None:
        message = (
            f"{name} cannot certify its coefficients on route='data' (no exact optimum with "
            f"more than 2048 features): {result.stop_reason}. Use route='stats' for a fit "
            "whose error is bounded."
        )
    elif optimum.rounding >= model.tol:
        floor = optimum.rounding
        advice = (
            f"Use tol >= {_round_up(2 * floor)}" if math.isfinite(floor) else
            "Remove nearly collinear columns or add penalty='l2'"
        )
        message = (
            f"{name} cannot certify tol={model.tol:g}: at condition number "
            f"{optimum.slope_condition:.3g} float64 resolves the coefficients only to a "
            f"relative error of {floor:.3g}; the bound reached is {bound:.3g}. {advice}."
        )
    else:
        message = (
            f"{name} did not converge: {result.stop_reason} with the coefficients' relative "
            f"error bound {bound:.3g} above tol={model.tol:g} (condition number "
            f"{optimum.slope_condition:.3g}). {advice}"
        )
    warnings.warn(message, ConvergenceWarning, stacklevel=4)


def _round_up(value: float) -> str:
    """A short number at least ``value`` (for advice the user can paste)."""
    exponent = math.floor(math.log10(value))
    mantissa = math.ceil(value / 10.0**exponent)
    return f"{mantissa}e{exponent}" if mantissa < 10 else f"1e{exponent + 1}"


# A constant learning rate below this fraction of 1/L is called out when it makes the fit slow.
_SLOW_RATE = 1e-3
_TINY_FRACTION = 1e-300


def _rate_fraction(problem: Problem, config: FitConfig) -> float:
    """A constant learning rate set by the user as a fraction of 1/L (1 when it is automatic)."""
    rate = config.learning_rate
    if isinstance(rate, str) or callable(rate) or config.line_search:
        return 1.0
    if config.solver != "gd" or config.optimizer in ("adam", "adagrad"):
        return 1.0
    # A rate so small that the product underflows still counts as slow, not as zero.
    return min(1.0, max(float(rate) * problem.lipschitz(), _TINY_FRACTION))


def faster_settings(choice: Choice, has_l1: bool) -> str:
    """Advice for a slow descent that is valid for this configuration.

    Each alternative is given with the resets it needs to be accepted (see
    :func:`gradreg._params.switch`).
    """
    params = choice.params
    changes = []
    if not params["standardize"]:
        changes.append({"standardize": True})
    rate = params["learning_rate"]
    if choice.solver != "cg" and not params["line_search"] and not (
        isinstance(rate, str) and rate == "auto"
    ):
        changes.append({"learning_rate": "auto"})
    if not has_l1 and choice.solver != "cg":
        changes.append({"solver": "cg"})
    if choice.solver == "gd" and choice.optimizer != "nesterov":
        changes.append({"optimizer": "nesterov"})
    elif choice.solver == "sgd" and not choice.one_pass:
        changes.append({"solver": "gd"})
    if not changes:
        return "Increase max_iter."
    options = [describe(switch(choice, change)) for change in changes]
    return "Increase max_iter, or use " + " or ".join(options) + "."


def with_checkpoints(model, config, problem, path, every, resume) -> FitConfig:
    """``config`` with the checkpoint writer and the resumed state, when asked for."""
    if path is None and resume is None:
        return config
    if isinstance(every, bool) or not isinstance(every, Integral) or every < 1:
        raise ParameterError(
            f"checkpoint_every must be an int in the range [1, inf). Got {every!r} instead."
        )
    settings = json.loads(json.dumps(json_params(model)))
    stats = problem.stats
    fingerprint = {
        "n_rows": float(stats.n_rows),
        "weight_sum": float(stats.weight_sum),
        "mean": [float(m) for m in stats.mean],
    }
    writer = None if path is None else CheckpointWriter(path, every, settings, fingerprint)
    state = None if resume is None else read_checkpoint(resume, settings, fingerprint)
    return replace(config, checkpoint=writer, resume=state)


def fit_report(model) -> str:
    """A plain-text account of a fit: solver, epochs, why it stopped, loss and gap."""
    method = model.solver_
    if model.optimizer_ != "none":
        method += f" ({model.optimizer_})"
    lines = [
        f"solver            {method}, gradients from the "
        f"{'sufficient statistics' if model.route_ == 'stats' else 'data'}",
    ]
    choice = getattr(model, "solver_choice_", None)
    if choice:
        lines.append(f"solver choice     {choice}")
    lines += [
        f"epochs            {model.n_iter_}",
        f"converged         {'yes' if model.converged_ else 'no'}: "
        f"{getattr(model, 'stop_reason_', '')}",
    ]
    history = getattr(model, "history_", None)
    if history is not None and len(history["loss"]):
        penalized = getattr(model, "penalty", None) is not None
        # A cost is a sum of squares: a negative value is rounding below an exact fit.
        cost = max(float(history["loss"][-1]), 0.0)
        lines.append(f"final cost        {cost:.6g} ({cost_label(penalized)})")
        lines.append(f"gradient norm     {history['grad_norm'][-1]:.3g}")
    gap = getattr(model, "optimality_gap_", float("nan"))
    lines.append(
        "optimality gap    " + ("unknown" if math.isnan(gap) else f"{gap:.3g} (relative)")
    )
    rate = model.learning_rate_
    if not math.isnan(rate):
        where = ", standardized problem" if getattr(model, "standardize", False) else ""
        lines.append(
            f"learning rate     {rate:.6g} (stable below {2 / model.lipschitz_:.6g} = 2/L"
            f"{where})"
        )
    metrics = getattr(model, "metrics_", {})
    if "r2" in metrics:
        lines.append(f"R^2 (training)    {metrics['r2']:.6f}")
    if hasattr(model, "fit_time_"):
        lines.append(f"time              {model.fit_time_:.3f} s")
    return "\n".join(lines)


# Columns whose magnitude is below this have squares near or under float64's smallest normal
# number; their statistics lose all precision.
_TINY = 1e-140


def out_of_range(stats) -> bool:
    """Whether a column's magnitude is so small that its squares underflow."""
    size = stats.magnitudes
    return bool(np.any((size > 0) & (size < _TINY)))


def power_of_two_scale(largest) -> np.ndarray:
    """2**-k bringing ``largest`` near one (1 where it is zero or already moderate)."""
    largest = np.asarray(largest, dtype=np.float64)
    exponent = np.where(largest > 0, np.floor(np.log2(np.where(largest > 0, largest, 1.0))), 0)
    return np.ldexp(1.0, (-exponent).astype(int))


def training_metrics(problem: Problem, theta: np.ndarray) -> dict[str, float]:
    """Mean squared error and R^2 on the training data, from the statistics."""
    objective = problem.objective
    if not hasattr(objective, "mean_squared_error"):
        return {}
    mse = objective.mean_squared_error(theta)
    total = 2.0 * objective.reference
    if total > 0:
        r2 = 1.0 - mse / total
    else:
        # A constant target: scikit-learn's r2_score (force_finite=True) gives 1.0 for a
        # perfect fit and 0.0 otherwise, as model.score does.
        r2 = 1.0 if mse == 0 else 0.0
    return {"mse": mse, "rmse": math.sqrt(mse), "r2": r2}

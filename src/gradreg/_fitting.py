"""What GDRegressor.fit does around the solver: warnings, metrics, checkpoints, the report."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import replace
from numbers import Integral

import numpy as np

from ._messages import shown
from ._outputs import check_output
from ._params import Choice, describe, switch
from ._solver_base import FitConfig, _optimizer_kwargs
from ._units import COST_FACTOR, cost_label, rate_factor
from .checkpoint import (
    CheckpointWriter,
    Floats,
    Integer,
    Maybe,
    Real,
    Rows,
    read_checkpoint,
)
from .errors import (
    ConvergenceWarning,
    DataRangeError,
    GradregWarning,
    ModelFormatError,
    ParameterError,
)
from .optim import OPTIMIZERS
from .problem import Problem

__all__ = [
    "faster_settings",
    "fit_report",
    "json_params",
    "out_of_range",
    "require_weights_in_range",
    "power_of_two_exponent",
    "training_metrics",
    "warn_about_problem",
    "descent_condition",
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
    kappa = descent_condition(problem)
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


def descent_condition(problem: Problem) -> float:
    """Condition number of the curvature in the descent's own coordinates (sets its speed)."""
    eigenvalues = problem.objective.eigen()[0]
    top = float(eigenvalues[-1])
    kept = eigenvalues[eigenvalues > 1e-300]
    return top / float(kept[0]) if kept.size and top > 0 else math.inf


def warn_not_converged(model, result, optimum, advice: str = "Increase max_iter.",
                       descent_condition: float | None = None) -> None:
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
    elif optimum.precision_floor >= model.tol and optimum.representation > optimum.rounding:
        floor = optimum.precision_floor
        message = (
            f"{name} cannot certify tol={model.tol:g}: the float64 intercept_ "
            f"({model.intercept_:.6g}) holds the prediction at the features' means only to "
            f"{optimum.representation:.3g} of the target's size, since the features lie far "
            f"from zero in units of their spread; predictions from coef_ and intercept_ carry "
            f"that rounding. The slopes are resolved to {optimum.rounding:.3g}; the bound "
            f"reached is {bound:.3g}. Subtract a value near each feature's mean before fitting, "
            f"or use tol >= {_round_up(2 * floor)}."
        )
    elif optimum.precision_floor >= model.tol:
        floor = optimum.precision_floor
        advice = (
            f"Use tol >= {_round_up(2 * floor)}" if math.isfinite(floor) else
            "Remove nearly collinear columns or add penalty='l2'"
        )
        message = (
            f"{name} cannot certify tol={model.tol:g}: at condition number "
            f"{optimum.slope_condition:.3g} of the standardized Gram matrix (the design's, "
            f"squared) the smallest bound float64 lets it certify is {floor:.3g} (a bound: "
            f"the error itself is often far smaller); the bound reached is {bound:.3g}. "
            f"{advice}."
        )
    else:
        condition = f"condition number {optimum.slope_condition:.3g}"
        if descent_condition is not None and not math.isclose(
                descent_condition, optimum.slope_condition, rel_tol=0.05):
            # The speed of the descent follows its own coordinates' condition number.
            condition = (f"condition number {optimum.slope_condition:.3g} standardized, "
                         f"{descent_condition:.3g} in the coordinates the descent uses")
        message = (
            f"{name} did not converge: {result.stop_reason} with the coefficients' relative "
            f"error bound {bound:.3g} above tol={model.tol:g} ({condition}). {advice}"
        )
    warnings.warn(message, ConvergenceWarning, stacklevel=4)


def _round_up(value: float) -> str:
    """A short number at least ``value`` (for advice the user can paste)."""
    exponent = math.floor(math.log10(value))
    mantissa = math.ceil(value / 10.0**exponent)
    return f"{mantissa}e{exponent}" if mantissa < 10 else f"1e{exponent + 1}"


def json_params(model) -> dict:
    """The estimator's parameters that a JSON file can hold (callbacks and schedules are code)."""
    params = {
        k: v for k, v in model.get_params(deep=False).items() if k not in ("callbacks", "verbose")
    }
    # numpy scalars (np.int64(5), np.float32(0.1), np.True_) are valid settings; JSON needs
    # the Python numbers they stand for.
    params = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
    if callable(params.get("learning_rate")):
        params["learning_rate"] = "auto"  # a schedule is code, which a model file never holds
    if not isinstance(params.get("random_state"), int | type(None)):
        params["random_state"] = None
    return params


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
            "checkpoint_every must be an int in the range [1, inf). "
            f"Got {shown(every)} instead."
        )
    if path is not None:
        check_output(path)  # before the fit, not after its first checkpoint_every epochs
    settings = json.loads(json.dumps(json_params(model)))
    fingerprint, tolerance = data_fingerprint(problem)
    writer = None if path is None else CheckpointWriter(path, every, settings, fingerprint)
    state = None
    if resume is not None:
        state = read_checkpoint(resume, settings, fingerprint, tolerance,
                                state_template(config, problem.n_params))
        check_resumed_state(state, config)
    return replace(config, checkpoint=writer, resume=state)


# Columns of the random +-1 matrix that sketches the cross-products in a fingerprint.
_SKETCH = 8
# Two passes over the same data agree to within rounding, which for centred, pairwise-merged
# sums is a few units of eps times log2(rows) relative to the Cauchy-Schwarz scale of each
# entry; 1e-10 leaves a factor of more than 1000 for that. Other data differ at O(1).
_FINGERPRINT_RTOL = 1e-10


def data_fingerprint(problem: Problem) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Statistics that identify the data of a fit, and the rounding allowed in each.

    The row count, weight sum, column means and sums of squares, and ``U^T C U`` for the
    centred cross-products ``C`` of ``[X, y]`` and a fixed random +-1 matrix ``U``: data with
    the same means and variances but other cross-products (a column reversed, rows of one
    column swapped) differ there. On the data route, where ``C`` is not kept, ``U^T C U``
    takes one pass over the data.
    """
    stats = problem.stats
    mean = np.asarray(stats.mean, dtype=np.float64)
    sketch_matrix = np.random.default_rng(0).choice([-1.0, 1.0], size=(mean.size, _SKETCH))
    if hasattr(stats, "cross"):
        squares = np.diag(stats.cross).copy()
        sketch = sketch_matrix.T @ stats.cross @ sketch_matrix
    else:
        squares = np.asarray(stats.squares, dtype=np.float64)
        sketch = _projected_cross(problem.source, mean, sketch_matrix)
    root = np.sqrt(np.maximum(squares, 0.0))
    values = {
        "n_rows": np.array([float(stats.n_rows)]),
        "weight_sum": np.array([float(stats.weight_sum)]),
        "mean": mean,
        "squares": squares,
        "sketch": sketch.ravel(),
    }
    tolerance = {
        "n_rows": np.zeros(1),
        "weight_sum": _FINGERPRINT_RTOL * values["weight_sum"],
        "mean": _FINGERPRINT_RTOL * stats.magnitudes,
        "squares": _FINGERPRINT_RTOL * squares,
        "sketch": np.full(sketch.size, _FINGERPRINT_RTOL * root.sum() ** 2),
    }
    return values, tolerance


def _projected_cross(source, mean: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``U^T C U`` from one pass over the data, C the centred weighted cross-products."""
    total = np.zeros((matrix.shape[1], matrix.shape[1]))
    for X, y, w in source.batches(65_536):
        projected = (np.column_stack([np.asarray(X, dtype=np.float64), y]) - mean) @ matrix
        weighted = projected if w is None else projected * np.asarray(w)[:, None]
        total += weighted.T @ projected
    return total


def state_template(config: FitConfig, n_params: int) -> dict:
    """The state a checkpoint of this fit holds, as :func:`checkpoint.decode_state` checks it."""
    vector = np.zeros(n_params)
    longest = config.max_iter + 1
    template: dict = {
        "epoch": Integer(1, config.max_iter),
        "history": {"loss": Floats(longest), "grad_norm": Floats(longest),
                    "gap": Floats(longest, nan=True)},
        "rises": Integer(0, config.max_iter),
        "best_distance": Real(infinite=True),
        "best_epoch": Integer(0, config.max_iter),
        "theta": vector,
    }
    if config.solver == "cg":
        template.update(residual=vector, direction=vector, basis=Rows(n_params, n_params))
    elif config.solver == "gd" and config.optimizer == "nesterov":
        template.update(extrapolated=vector, t=Real(), step=Real())
    else:
        optimizer = OPTIMIZERS[config.optimizer](lambda count: 1.0, **_optimizer_kwargs(config))
        template["optimizer_state"] = optimizer.init(vector)
        if config.solver == "sgd":
            template.update(count=Integer(0, 2**62), best_validation=Real(infinite=True),
                            stale=Integer(0, config.max_iter),
                            rng=config.rng.bit_generator.state,
                            average=Maybe(vector), average_count=Integer(0, 2**62),
                            rows_seen=Integer(0, 2**62))
        else:
            template["step"] = Real()
    return template


def check_resumed_state(state: dict, config: FitConfig) -> None:
    """What the template cannot say: the history's length and the generator's state."""
    expected = state["epoch"] + 1
    for key, values in state["history"].items():
        if len(values) != expected:
            raise ModelFormatError(
                f"Checkpoint field 'state.history.{key}' has {len(values)} values; epoch "
                f"{state['epoch']} needs {expected}."
            )
    if "rng" in state:
        try:
            type(config.rng.bit_generator)().state = state["rng"]
        except (TypeError, ValueError, KeyError, OverflowError):
            raise ModelFormatError(
                "Checkpoint field 'state.rng' is not a valid random generator state."
            ) from None


def _converged_line(model) -> str:
    """``yes`` or ``no``, with the stop reason where it says more than that."""
    reason = getattr(model, "stop_reason_", "")
    verdict = "yes" if model.converged_ else "no"
    return f"converged         {verdict}" + (f": {reason}" if reason and reason != "converged"
                                              else "")


def fit_report(model) -> str:
    """A plain-text account of a fit: solver, epochs, why it stopped, the certified bound on the
    coefficients' relative error, loss and gap."""
    method = model.solver_
    if model.optimizer_ != "none":
        method += f" ({model.optimizer_})"
    if model.solver_ == "sgd":  # steps on mini-batches of rows; the statistics certify them
        source = "mini-batches of rows"
    else:
        source = "sufficient statistics" if model.route_ == "stats" else "data"
    lines = [f"solver            {method}, gradients from the {source}"]
    choice = getattr(model, "solver_choice_", None)
    if choice:
        lines.append(f"solver choice     {choice}")
    lines += [
        f"epochs            {model.n_iter_}",
        _converged_line(model),
    ]
    bound = getattr(model, "coef_error_bound_", None)  # absent from older model files
    if bound is not None:
        lines.append(f"error bound       {_bound_text(bound, getattr(model, 'tol', None))}")
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


def _bound_text(bound: float, tol: float | None) -> str:
    """``coef_error_bound_`` with what it bounds and the ``tol`` that converged_ compares."""
    if not math.isfinite(bound):
        return "none certified (no exact optimum to measure the coefficients against)"
    target = "none" if tol is None else f"{tol:.3g}"
    return f"{bound:.3g} (certified relative error of the coefficients; tol {target})"


# Columns whose magnitude is below this have squares near or under float64's smallest normal
# number; their statistics lose all precision.
_TINY = 1e-140


def out_of_range(stats) -> bool:
    """Whether a column's magnitude is so small that its squares underflow."""
    size = stats.magnitudes
    return bool(np.any((size > 0) & (size < _TINY)))


def require_weights_in_range(stats) -> None:
    """Refuse weights so small beside the data that the statistics' terms underflow.

    Each row adds ``w z_j`` and ``w z_j z_k`` (``z`` its values less the origin, of the size
    of the column's spread or mean) to sums kept in float64; below the smallest normal number
    a term keeps only its multiples of 2^-1074, so once the average term ``(W / n) size^2`` is
    there the statistics lose their precision, or vanish (a fit of zeros). Where every term
    ``w z`` underflows, even the means vanish and no size is left to judge by; with average
    weights of at least ``sqrt(tiny)`` (about 1e-154) that needs values below ``sqrt(tiny)``,
    which :func:`out_of_range` refuses, so smaller average weights are refused whatever the
    data. Fits of arrays scale the weights first (their largest near 1); a stream's weights are
    used as they come (files, ``partial_fit``), and a fit is the same for the weights times
    any constant.

    Raises
    ------
    DataRangeError
        When the average weight ``W / n`` is below ``sqrt(tiny)``, or a column of size at
        least ``_TINY`` (whose squares are in range) has ``(W / n) size^2`` below float64's
        smallest normal number ``tiny`` (``size``: the larger of its mean's size and its
        spread).
    """
    if stats.weight_sum <= 0 or not stats.n_rows:
        return
    size = stats.magnitudes
    rate = stats.weight_sum / stats.n_rows
    with np.errstate(under="ignore"):
        # Columns whose own squares leave the range are out_of_range's (and the reported
        # rounding's, see _subnormal): here only what the weights bring below it.
        low = (size >= _TINY) & (rate * size**2 < _SMALLEST_NORMAL)
    if rate < math.sqrt(_SMALLEST_NORMAL) or np.any(low):
        raise DataRangeError(
            f"The sample weights (mean {rate:.3g}) are so small that their products with the "
            "data underflow float64 (below about 1e-308), and the statistics would lose their "
            "precision. Multiply the weights by a constant (the fit is the same for any), "
            "e.g. divide them by their largest value."
        )


_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)


def power_of_two_exponent(largest) -> np.ndarray:
    """Integers ``k`` for which ``ldexp(largest, k)`` lies in [0.5, 1) (0 where ``largest`` is 0).

    Scaling by ``ldexp`` is exact, also for exponents beyond float64's range of powers of two
    (a subnormal column needs ``2**1074``, which is not a float64).
    """
    largest = np.asarray(largest, dtype=np.float64)
    _, exponent = np.frexp(largest)
    return np.where(largest > 0, -exponent, 0).astype(int)


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

"""The iterates a fit took, recorded through the callbacks its loop already calls.

The path plot draws these, so that it shows the fit that was made (its solver, update rule,
learning rate and epochs), not a descent recomputed for the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DataError

__all__ = ["FitPath", "fit_method", "record_path", "steps_text"]

_SOLVER_NAMES = {"gd": "gradient descent", "sgd": "SGD", "cg": "conjugate gradient"}


@dataclass(frozen=True)
class FitPath:
    """Every iterate of one fit, in the data's units.

    Row ``k`` of ``coef`` (shape ``(n_iter + 1, n_features)``) and ``intercept`` holds the
    parameters after epoch ``k``; row 0 is the point the fit started from, the last row the
    fitted ``coef_`` and ``intercept_``. ``method`` names the solver and update rule
    (:func:`fit_method`), ``steps`` the learning rate as the fit used it (:func:`steps_text`;
    empty for conjugate gradient).
    """

    coef: np.ndarray
    intercept: np.ndarray
    method: str
    steps: str

    @property
    def n_iter(self) -> int:
        """Epochs the fit ran."""
        return len(self.intercept) - 1


def fit_method(model) -> str:
    """The method a fitted ``model`` ran, in words, e.g. ``"FISTA (solver='gd',
    optimizer='nesterov')"``."""
    solver = str(getattr(model, "solver_", ""))
    optimizer = str(getattr(model, "optimizer_", "none"))
    name = _SOLVER_NAMES.get(solver, solver)
    if solver == "gd" and optimizer == "nesterov":
        name = "FISTA"  # the full-batch 'nesterov' rule is FISTA with adaptive restart
    text = f"{name} (solver={solver!r}" + (
        f", optimizer={optimizer!r})" if optimizer != "none" else ")")
    if getattr(model, "line_search", False) and solver == "gd":
        text += " with line search"
    if solver == "sgd" and getattr(model, "average", False) is not False:
        text += ", averaged iterates"  # what the loop records and reports: the average
    return text


def steps_text(model, digits: int = 3) -> str:
    """The learning rate as a fitted ``model`` used it: constant, decaying (and how), or
    adjusted by a line search; empty when it has none (conjugate gradient)."""
    rate = float(getattr(model, "learning_rate_", float("nan")))
    if not np.isfinite(rate):
        return ""
    solver = getattr(model, "solver_", "")
    if getattr(model, "line_search", False) and solver == "gd":
        text = f"learning rate {rate:.{digits}g} adjusted by backtracking line search"
    elif callable(model.learning_rate):
        text = f"learning rate {rate:.{digits}g} at the first step, then the given schedule"
    else:
        text = f"learning rate {rate:.{digits}g}"
        decay = _decay(model)
        if decay:
            text += f" at the first step, decaying {decay}"
    return text + (" (standardized problem)" if model.standardize else "")


def _decay(model) -> str:
    """How the rate decays (see the solvers' ``make_schedule``); empty when constant."""
    schedule = model.schedule
    if schedule == "auto" and (model.solver_, model.optimizer_) == ("sgd", "adam"):
        return "as 1/sqrt(1 + epochs)"
    return "" if schedule in ("auto", "constant") else f"(schedule={schedule!r})"


class _Recorder:
    def __init__(self) -> None:
        self.coef: list[np.ndarray] = []
        self.intercept: list[float] = []

    def __call__(self, info) -> None:
        self.coef.append(np.array(info.coef, dtype=np.float64, copy=True))
        self.intercept.append(float(info.intercept))


def _start(model, previous) -> tuple[np.ndarray, float]:
    """The point the loop started from, in the data's units: zero, or the previous fit's
    coefficients as the descent's coordinates hold them (a warm start)."""
    precond = model.preconditioner_
    if previous is not None and previous[0].shape == model.coef_.shape:
        theta = precond.from_user(*previous)
    else:
        theta = np.zeros(precond.n_params)
    coef, intercept = precond.to_user(theta)
    return np.asarray(coef, dtype=np.float64), float(intercept)


def record_path(model, X, y, sample_weight=None) -> FitPath:
    """Fit ``model`` to ``X`` and ``y`` and return the iterates the fit took.

    A recorder joins ``model.callbacks`` for this fit only; the loop calls it after every
    epoch with the parameters in the data's units. The start is zero, or the previous fit's
    coefficients with ``warm_start``.

    Raises
    ------
    DataError
        When the iterates recorded do not end at the fitted coefficients (data rescaled by
        powers of two because their squares leave float64's range are fitted on a copy).

    Examples
    --------
    >>> from gradreg import GDRegressor, load_study_time
    >>> data = load_study_time()
    >>> model = GDRegressor(solver="gd", optimizer="plain", max_iter=50)
    >>> path = record_path(model, data.X, data.score)
    >>> path.n_iter == model.n_iter_, bool((path.coef[-1] == model.coef_).all())
    (True, True)
    """
    previous = model._warm_parameters()
    if previous is not None:
        previous = np.array(previous[0], dtype=np.float64), float(previous[1])
    given = model.callbacks
    callbacks = [] if given is None else [given] if callable(given) else list(given)
    recorder = _Recorder()
    model.set_params(callbacks=[*callbacks, recorder])
    try:
        model.fit(X, y, sample_weight=sample_weight)
    finally:
        model.set_params(callbacks=given)
    coef, intercept = _start(model, previous)
    coef = np.array([coef, *recorder.coef]).reshape(-1, len(model.coef_))
    intercept = np.array([intercept, *recorder.intercept])
    if len(recorder.coef) != model.n_iter_ or not (
        np.array_equal(coef[-1], model.coef_) and intercept[-1] == model.intercept_
    ):
        raise DataError(
            f"The path of this fit cannot be drawn: the iterates recorded ({len(recorder.coef)} "
            f"for {model.n_iter_} epochs) do not end at the fitted coefficients "
            f"(stop reason: {model.stop_reason_}). Rescale the features and target to "
            "magnitudes near 1 and draw the fit of those."
        )
    return FitPath(coef, intercept, fit_method(model), steps_text(model))

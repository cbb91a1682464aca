"""From an estimator's parameters to the configuration of its fit: validated, the automatic
solver and optimizer resolved (:mod:`gradreg._params`), the user's callbacks and learning rate
carried into the solvers' units (:mod:`gradreg._units`)."""

from __future__ import annotations

from typing import Any

from . import _validation as v
from ._params import Choice, check_unused, choose
from ._units import UserCallback, internal_rate, rate_factor
from .errors import ParameterError
from .penalties import make_penalty
from .solvers import FitConfig

__all__ = ["fit_config"]


def fit_config(model, defaults: dict[str, Any], solver: str | None = None,
               one_pass: bool = False) -> tuple[FitConfig, Choice]:
    """The configuration of a fit of ``model`` (a :class:`~gradreg.GDRegressor`) and the
    solver choice behind it, its parameters validated and its automatic choices resolved.

    ``solver`` overrides the ``solver`` parameter; ``one_pass`` is set by ``partial_fit``.

    Raises
    ------
    ParameterError
        For a parameter out of its range (scikit-learn's ``InvalidParameterError`` message) or
        a combination no solver can run (conjugate gradient with an L1 penalty, say).
    """
    name = type(model).__name__
    # Read the attributes directly: get_params inspects the signature, which costs more
    # than the rest of a small fit's validation.
    params = {key: getattr(model, key) for key in model._parameter_constraints}
    v.validate_params(name, params, model._parameter_constraints)
    penalty = make_penalty(model.penalty, model.alpha, model.l1_ratio)
    choice = choose(params, defaults, penalty.has_l1, forced=solver, one_pass=one_pass)
    solver, optimizer = choice.solver, choice.optimizer
    if solver == "cg" and penalty.has_l1:
        raise ParameterError(
            f"solver='cg' cannot handle the L1 part of penalty={model.penalty!r}: conjugate "
            "gradient needs a smooth objective. Use solver='gd' (proximal gradient) or "
            "solver='auto'."
        )
    if penalty.has_l1:
        allowed = ("plain", "nesterov") if solver == "gd" else ("plain",)
        if optimizer not in allowed:
            needed = " or ".join(map(repr, allowed))
            raise ParameterError(
                f"penalty={model.penalty!r} with solver={solver!r} needs optimizer={needed}: "
                "the proximal step of the L1 part is exact only for plain gradient steps. Got "
                f"optimizer={optimizer!r}."
            )
    check_unused(params, defaults, choice)
    callbacks = model.callbacks
    if callbacks is None:
        callbacks = ()
    elif callable(callbacks):
        callbacks = (callbacks,)
    # The user's rate is a step on the mean squared error; the solvers' on half of it.
    factor = rate_factor(optimizer)
    callbacks = [UserCallback(callback, factor) for callback in callbacks]
    config = FitConfig(
        solver=solver,
        optimizer=optimizer,
        learning_rate=internal_rate(model.learning_rate, factor),
        schedule=model.schedule,
        power_t=model.power_t,
        momentum=model.momentum,
        b1=model.b1,
        b2=model.b2,
        eps=model.eps,
        line_search=model.line_search,
        batch_size=model.batch_size,
        shuffle=model.shuffle,
        max_iter=model.max_iter,
        tol=model.tol,
        early_stopping=model.early_stopping,
        n_iter_no_change=model.n_iter_no_change,
        average=model.average,
        callbacks=tuple(callbacks),
        # Only SGD shuffles; seeding a generator from the system's entropy costs time.
        rng=v.check_random_state(model.random_state) if solver == "sgd" else None,
    )
    return config, choice

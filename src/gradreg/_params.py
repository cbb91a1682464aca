"""Which parameters each solver and optimizer uses, and the choice behind ``solver="auto"``.

One rule for every parameter that only some configurations read: a value set explicitly
(different from its default) that the chosen solver, optimizer, schedule or penalty does not use
is a :class:`~gradreg.errors.ParameterError` naming both, never silently ignored. With
``solver="auto"``, setting a learning-rate parameter (``learning_rate``, ``optimizer``,
``schedule``, ``momentum``, ``line_search``) selects gradient descent, so that the value is used.
``random_state`` is exempt: scikit-learn's tools set it on every estimator, and it is harmless
where nothing is random. ``alpha`` without a penalty is a warning rather than an error for the
same reason: scikit-learn's estimator checks set ``alpha`` on every linear regressor.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._messages import shown as plain
from .errors import GradregWarning, ParameterError

__all__ = ["Choice", "check_unused", "choose", "describe", "switch"]

# Set without the setting that uses them, these are a warning, not an error (see above).
_WARN_ONLY = ("alpha",)

# Parameters that only matter to a descent with a learning rate: with solver="auto", setting
# any of them selects "gd" (conjugate gradient has no learning rate).
RATE_PARAMETERS = ("learning_rate", "optimizer", "schedule", "momentum", "line_search")


@dataclass(frozen=True)
class Choice:
    """The solver and optimizer that will run, and why that solver was chosen."""

    solver: str
    optimizer: str
    reason: str
    one_pass: bool = False  # partial_fit: one pass over a chunk, no validation rows
    # The settings it was chosen from, for advice that changes them (see ``switch``).
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    defaults: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def description(self) -> str:
        """``"cg (solver='auto': no learning rate set)"``: the solver and why it was chosen."""
        return f"{self.solver} ({self.reason})"


def _setting(name: str, value: Any) -> str:
    """``learning_rate=0.25`` as a message shows a setting (a callable is not shown)."""
    return f"{name} (a callable)" if callable(value) else f"{name}={plain(value)}"


def is_set(params: Mapping[str, Any], defaults: Mapping[str, Any], name: str) -> bool:
    """Whether ``name`` differs from its default (a callable always does)."""
    value, default = params[name], defaults[name]
    if callable(value):
        return True
    try:
        return bool(value != default)
    except (TypeError, ValueError):
        return True


def choose(
    params: Mapping[str, Any], defaults: Mapping[str, Any], has_l1: bool,
    forced: str | None = None, one_pass: bool = False,
) -> Choice:
    """Resolve ``solver`` and ``optimizer``; ``forced`` overrides the solver; ``one_pass`` for
    ``partial_fit``."""
    solver = params["solver"]
    if forced is not None:
        solver, reason = forced, "partial_fit always takes mini-batch steps"
    elif solver != "auto":
        reason = f"solver={solver!r}"
    else:
        rate = [name for name in RATE_PARAMETERS if is_set(params, defaults, name)]
        if rate:
            solver = "gd"
            was = "was" if len(rate) == 1 else "were"
            # With their values, as set: the command line names them as its options.
            shown = [_setting(name, params[name]) for name in rate]
            named = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
            reason = f"solver='auto': {named} {was} set"
        elif has_l1:
            solver = "gd"
            reason = (f"solver='auto': penalty={params['penalty']!r} has an L1 part, which "
                      "conjugate gradient cannot handle")
        else:
            solver = "cg"
            reason = "solver='auto': no learning rate set"
    optimizer = params["optimizer"]
    if solver == "cg":
        optimizer = "none"
    elif optimizer == "auto":
        # A learning rate given for full-batch descent is the classic algorithm's step, whose
        # stable limit (2/L) is the one the user is told: plain steps. Otherwise FISTA.
        classic = solver == "gd" and is_set(params, defaults, "learning_rate")
        optimizer = "plain" if solver == "sgd" or classic else "nesterov"
    return Choice(solver, optimizer, reason, one_pass=one_pass, params=dict(params),
                  defaults=defaults)


# -------------------------------------------------------------------------------------------
# Who uses what
# -------------------------------------------------------------------------------------------


def _uses_schedule(p: Mapping[str, Any], c: Choice) -> bool:
    return c.solver != "cg" and not p["line_search"] and not callable(p["learning_rate"])


# name -> (whether the configuration uses it, who uses it, how to make it used). The last two
# are texts; ``how`` may depend on the configuration, so it is a function.
_Rule = tuple[Callable[[Mapping[str, Any], Choice], bool], str,
              Callable[[Mapping[str, Any], Choice], str]]

_RULES: dict[str, _Rule] = {
    "learning_rate": (
        lambda p, c: c.solver != "cg",
        "the descent solvers 'gd' and 'sgd'",
        lambda p, c: "set solver='gd' or solver='auto' to descend at that rate",
    ),
    "optimizer": (
        lambda p, c: c.solver != "cg",
        "the descent solvers 'gd' and 'sgd'",
        lambda p, c: "set solver='gd' or solver='auto'",
    ),
    "schedule": (
        _uses_schedule,
        "'gd' and 'sgd' with a float or automatic learning rate and no line search",
        lambda p, c: ("set solver='gd' or solver='auto'" if c.solver == "cg" else
                      "set line_search=False" if p["line_search"] else
                      "the callable learning_rate is itself the schedule"),
    ),
    "power_t": (
        lambda p, c: _uses_schedule(p, c) and p["schedule"] == "invscaling",
        "schedule='invscaling'",
        lambda p, c: ("set solver='gd' and schedule='invscaling'" if c.solver == "cg" else
                      "set schedule='invscaling'"),
    ),
    "momentum": (
        lambda p, c: c.optimizer == "momentum" or (c.solver, c.optimizer) == ("sgd", "nesterov"),
        "optimizer='momentum' (or 'nesterov' with solver='sgd'; full-batch 'nesterov' is "
        "FISTA, which has its own momentum sequence)",
        lambda p, c: ("momentum cannot be used with an L1 penalty" if _l1(p) else
                      f"set {_gd(c)}optimizer='momentum'"),
    ),
    "b1": (lambda p, c: c.optimizer == "adam", "optimizer='adam'", lambda p, c: _adam(p, c)),
    "b2": (lambda p, c: c.optimizer == "adam", "optimizer='adam'", lambda p, c: _adam(p, c)),
    "eps": (lambda p, c: c.optimizer == "adam", "optimizer='adam'", lambda p, c: _adam(p, c)),
    "line_search": (
        lambda p, c: c.solver == "gd" and c.optimizer in ("plain", "nesterov"),
        "solver='gd' with optimizer='plain' or 'nesterov'",
        lambda p, c: "set solver='gd' and optimizer='plain' or 'nesterov'",
    ),
    "batch_size": (
        lambda p, c: c.solver == "sgd", "solver='sgd'", lambda p, c: "set solver='sgd'",
    ),
    "shuffle": (
        lambda p, c: c.solver == "sgd", "solver='sgd'", lambda p, c: "set solver='sgd'",
    ),
    "average": (
        lambda p, c: c.solver == "sgd", "solver='sgd'", lambda p, c: "set solver='sgd'",
    ),
    "early_stopping": (
        lambda p, c: c.solver == "sgd" and not c.one_pass,
        "solver='sgd' in fit (full-batch solvers stop on tol; partial_fit keeps no "
        "validation rows)",
        lambda p, c: "set solver='sgd' and call fit",
    ),
    "validation_fraction": (
        lambda p, c: bool(p["early_stopping"]), "early_stopping=True",
        lambda p, c: "set solver='sgd' and early_stopping=True",
    ),
    "n_iter_no_change": (
        lambda p, c: bool(p["early_stopping"]), "early_stopping=True",
        lambda p, c: "set solver='sgd' and early_stopping=True",
    ),
    "alpha": (
        lambda p, c: p["penalty"] is not None, "a penalty",
        lambda p, c: "set penalty='l2', 'l1' or 'elasticnet'",
    ),
    "l1_ratio": (
        lambda p, c: p["penalty"] == "elasticnet", "penalty='elasticnet'",
        lambda p, c: "set penalty='elasticnet'",
    ),
}


def _l1(params: Mapping[str, Any]) -> bool:
    return params["penalty"] == "l1" or (params["penalty"] == "elasticnet"
                                         and params["l1_ratio"] > 0)


def _gd(c: Choice) -> str:
    return "solver='gd' and " if c.solver == "cg" else ""


def _adam(params: Mapping[str, Any], c: Choice) -> str:
    return ("Adam cannot be used with an L1 penalty" if _l1(params) else
            f"set {_gd(c)}optimizer='adam'")


def _what_runs(c: Choice) -> str:
    if c.solver == "cg":
        return "solver='cg'"
    return f"solver={c.solver!r} with optimizer={c.optimizer!r}"


def check_unused(params: Mapping[str, Any], defaults: Mapping[str, Any], choice: Choice) -> None:
    """Raise ParameterError for the first parameter set explicitly that ``choice`` ignores."""
    for name, (uses, users, how) in _RULES.items():
        if uses(params, choice) or not is_set(params, defaults, name):
            continue
        value = params[name]
        shown = "a callable" if callable(value) else plain(value)
        if choice.solver == "cg" and name in RATE_PARAMETERS:
            # The case people meet most: say what conjugate gradient does instead.
            raise ParameterError(
                f"solver='cg' has no learning rate, but {name}={shown} was set: conjugate "
                "gradient takes the exact minimising step along each direction. To use "
                f"it, {how(params, choice)}; to use conjugate gradient, leave {name} at its "
                f"default ({defaults[name]!r})."
            )
        advice = how(params, choice)
        if advice.startswith("set "):
            advice = f"To use it, {advice}; otherwise leave {name} at its default"
        else:
            advice = f"{advice[0].upper()}{advice[1:]}: leave {name} at its default"
        message = (
            f"{name}={shown} was set, but only {users} uses it, and this fit runs "
            f"{_what_runs(choice)} ({choice.reason}). {advice} ({defaults[name]!r})."
        )
        if name in _WARN_ONLY:
            # check_unused <- _config <- _fit <- fit <- the caller
            warnings.warn(message, GradregWarning, stacklevel=5)
            continue
        raise ParameterError(message)


def switch(choice: Choice, change: Mapping[str, Any]) -> dict[str, Any]:
    """``change`` plus the resets to default that it needs to be accepted.

    Advice such as "use solver='cg'" must be advice that works: switching the solver or the
    optimizer leaves parameters set for the old one unused, which :func:`check_unused` would
    refuse, so they are reset too (``{"solver": "cg", "learning_rate": "auto"}``).
    """
    params, defaults = dict(choice.params), choice.defaults
    params.update(change)
    result = dict(change)
    for _ in range(len(_RULES)):
        has_l1 = _l1(params) and params["alpha"] > 0
        new = choose(params, defaults, has_l1, forced="sgd" if choice.one_pass else None)
        unused = [name for name, (uses, _, _) in _RULES.items()
                  if name not in _WARN_ONLY and is_set(params, defaults, name)
                  and not uses(params, new)]
        if not unused:
            break
        for name in unused:
            params[name] = result[name] = defaults[name]
    return result


def describe(settings: Mapping[str, Any]) -> str:
    """``solver='cg' (resetting learning_rate='auto', the default)``: a change as a user would
    write it, the resets it needs (see :func:`switch`) named as such."""
    parts = [f"{name}={value!r}" for name, value in settings.items()]
    if len(parts) == 1:
        return parts[0]
    defaults = "the default" if len(parts) == 2 else "the defaults"
    return f"{parts[0]} (resetting {', '.join(parts[1:])}, {defaults})"

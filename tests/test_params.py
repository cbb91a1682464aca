"""Parameters: nothing set is silently ignored, ranges mean what they say, advice that works."""

from __future__ import annotations

import ast
import json
import math
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from conftest import make_regression
from gradreg import GDRegressor
from gradreg._validation import Interval
from gradreg.cli import main
from gradreg.datasets import study_time_path
from gradreg.errors import ConvergenceWarning, DivergenceError, GradregWarning, ParameterError


def small(seed: int = 0, n: int = 60, d: int = 3, condition: float = 10.0):
    return make_regression(n, d, condition=condition, seed=seed)


def quiet_fit(model: GDRegressor, X, y) -> GDRegressor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", GradregWarning)
        return model.fit(X, y)


# ---------------------------------------------------------------------------------------------
# solver="auto" and the choice it reports
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "solver", "why"),
    [
        ({}, "cg", "cg (solver='auto': no learning rate set)"),
        ({"learning_rate": 0.25}, "gd", "gd (solver='auto': learning_rate=0.25 was set)"),
        ({"optimizer": "plain", "max_iter": 5000}, "gd",
         "gd (solver='auto': optimizer='plain' was set)"),
        ({"schedule": "step"}, "gd", "gd (solver='auto': schedule='step' was set)"),
        ({"momentum": 0.5, "optimizer": "momentum", "max_iter": 5000}, "gd",
         "gd (solver='auto': optimizer='momentum' and momentum=0.5 were set)"),
        ({"line_search": True}, "gd", "gd (solver='auto': line_search=True was set)"),
        ({"penalty": "l1", "alpha": 0.1}, "gd",
         "gd (solver='auto': penalty='l1' has an L1 part, which conjugate gradient cannot "
         "handle)"),
        ({"solver": "cg"}, "cg", "cg (solver='cg')"),
        ({"solver": "sgd", "max_iter": 3, "random_state": 0}, "sgd", "sgd (solver='sgd')"),
    ],
)
def test_auto_descends_when_a_rate_setting_is_given_and_says_why(params, solver, why):
    X, y = small()
    model = quiet_fit(GDRegressor(**params), X, y)
    assert model.solver_ == solver
    assert model.solver_choice_ == why
    assert f"solver choice     {why}" in model.report()


def test_a_learning_rate_set_with_auto_is_the_rate_used():
    X, y = small()
    model = GDRegressor(learning_rate=0.05, max_iter=20_000).fit(X, y)
    assert (model.solver_, model.learning_rate_) == ("gd", 0.05)
    assert model.converged_
    # At a twentieth of the rate 1/L = 1 the descent takes more epochs than at 1/L.
    assert model.n_iter_ > GDRegressor(solver="gd").fit(X, y).n_iter_


def test_a_learning_rate_too_large_is_used_and_so_reported_not_replaced_by_cg():
    X, y = small()
    # The rate selects full-batch descent with plain steps, which refuses it before the first
    # epoch (at or above 2/L); FISTA at that rate diverges during the fit.
    with pytest.raises(DivergenceError, match=r"would diverge with learning_rate=10"):
        GDRegressor(learning_rate=10.0).fit(X, y)
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+ with learning_rate=10"):
        GDRegressor(learning_rate=10.0, optimizer="nesterov").fit(X, y)


def test_partial_fit_names_its_solver_and_uses_the_rate():
    X, y = small()
    model = GDRegressor(solver="sgd", learning_rate=0.01, random_state=0).partial_fit(X, y)
    assert model.solver_choice_ == "sgd (solver='sgd')"
    assert model.learning_rate_ == 0.01
    exact = GDRegressor().partial_fit(X, y)
    assert exact.solver_choice_ == "cg (solver='auto': no learning rate set)"


# ---------------------------------------------------------------------------------------------
# One rule: a setting the chosen configuration does not use is an error naming both
# ---------------------------------------------------------------------------------------------

CG_NO_RATE = [
    ("learning_rate", 0.1, r"learning_rate=0\.1"),
    ("learning_rate", lambda t: 0.1, r"learning_rate=a callable"),
    ("optimizer", "adam", r"optimizer='adam'"),
    ("schedule", "cosine", r"schedule='cosine'"),
    ("momentum", 0.5, r"momentum=0\.5"),
    ("line_search", True, r"line_search=True"),
]


@pytest.mark.parametrize(("name", "value", "shown"), CG_NO_RATE)
def test_cg_refuses_every_rate_setting_and_the_advice_works(name, value, shown):
    X, y = small()
    with pytest.raises(ParameterError, match=rf"solver='cg' has no learning rate, but {shown} "
                                             r"was set: conjugate gradient takes the exact"):
        GDRegressor(solver="cg", **{name: value}).fit(X, y)
    # The advice: solver='auto' (or 'gd') descends with the setting; momentum also needs the
    # optimizer that reads it, which the rule below says.
    extra = {"optimizer": "momentum"} if name == "momentum" else {}
    for solver in ("auto", "gd"):
        model = quiet_fit(GDRegressor(solver=solver, max_iter=50, **{name: value}, **extra),
                          X, y)
        assert model.solver_ == "gd"
        assert np.all(np.isfinite(model.coef_))


# (settings that fail, what the message must say, the settings the message advises)
UNUSED = [
    ({"batch_size": 5}, r"batch_size=5 was set, but only solver='sgd' uses it, and this fit "
     r"runs solver='cg' \(solver='auto': no learning rate set\)\. To use it, set solver='sgd'",
     {"batch_size": 5, "solver": "sgd"}),
    ({"shuffle": False, "solver": "gd"}, r"shuffle=False was set, but only solver='sgd'",
     {"shuffle": False, "solver": "sgd"}),
    ({"momentum": 0.5}, r"momentum=0\.5 was set, but only optimizer='momentum' .* runs "
     r"solver='gd' with optimizer='nesterov' \(solver='auto': momentum=0\.5 was set\)\. To use "
     r"it, "
     r"set optimizer='momentum'", {"momentum": 0.5, "optimizer": "momentum"}),
    ({"momentum": 0.5, "solver": "sgd", "optimizer": "adam"}, r"momentum=0\.5 was set",
     {"momentum": 0.5, "solver": "sgd", "optimizer": "momentum"}),
    ({"momentum": 0.5, "penalty": "l1"}, r"momentum=0\.5 was set.* Momentum cannot be used "
     r"with an L1 penalty: leave momentum at its default \(0\.9\)", {"penalty": "l1"}),
    ({"b1": 0.5, "optimizer": "momentum"}, r"b1=0\.5 was set, but only optimizer='adam' uses "
     r"it, and this fit runs solver='gd' with optimizer='momentum' \(solver='auto': "
     r"optimizer='momentum' was set\)\. To use it, set "
     r"optimizer='adam'", {"b1": 0.5, "optimizer": "adam"}),
    ({"b2": 0.5, "solver": "cg"}, r"b2=0\.5 was set.*To use it, set solver='gd' and "
     r"optimizer='adam'", {"b2": 0.5, "solver": "gd", "optimizer": "adam"}),
    ({"eps": 1e-3, "solver": "gd", "optimizer": "adagrad"}, r"eps=0\.001 was set, but only "
     r"optimizer='adam'", {"eps": 1e-3, "solver": "gd", "optimizer": "adam"}),
    ({"eps": 1e-3, "penalty": "l1"}, r"Adam cannot be used with an L1 penalty: leave eps",
     {"penalty": "l1"}),
    ({"power_t": 0.5}, r"power_t=0\.5 was set, but only schedule='invscaling' uses it.*To use "
     r"it, set solver='gd' and schedule='invscaling'",
     {"power_t": 0.5, "solver": "gd", "schedule": "invscaling"}),
    ({"power_t": 0.5, "solver": "sgd", "schedule": "cosine"}, r"To use it, set "
     r"schedule='invscaling'", {"power_t": 0.5, "solver": "sgd", "schedule": "invscaling"}),
    ({"schedule": "cosine", "line_search": True}, r"schedule='cosine' was set.* To use it, set "
     r"line_search=False", {"schedule": "cosine", "line_search": False}),
    ({"schedule": "step", "learning_rate": lambda t: 0.25}, r"schedule='step' was set.* The "
     r"callable learning_rate is itself the schedule: leave schedule at its default",
     {"learning_rate": lambda t: 0.25}),
    ({"line_search": True, "solver": "gd", "optimizer": "adam"}, r"line_search=True was set, "
     r"but only solver='gd' with optimizer='plain' or 'nesterov'",
     {"line_search": True, "solver": "gd", "optimizer": "plain"}),
    ({"early_stopping": True}, r"early_stopping=True was set, but only solver='sgd' in fit",
     {"early_stopping": True, "solver": "sgd"}),
    ({"validation_fraction": 0.3, "solver": "sgd"}, r"validation_fraction=0\.3 was set, but "
     r"only early_stopping=True uses it",
     {"validation_fraction": 0.3, "solver": "sgd", "early_stopping": True}),
    ({"n_iter_no_change": 2}, r"n_iter_no_change=2 was set.*To use it, set solver='sgd' and "
     r"early_stopping=True", {"n_iter_no_change": 2, "solver": "sgd", "early_stopping": True}),
    ({"l1_ratio": 0.5, "penalty": "l2"}, r"l1_ratio=0\.5 was set, but only "
     r"penalty='elasticnet' uses it.*To use it, set penalty='elasticnet'",
     {"l1_ratio": 0.5, "penalty": "elasticnet"}),
]


@pytest.mark.parametrize(("params", "message", "advised"), UNUSED)
def test_a_setting_the_fit_would_ignore_is_refused_and_the_advice_is_accepted(
    params, message, advised
):
    X, y = small()
    common = {"max_iter": 30, "random_state": 0}
    with pytest.raises(ParameterError, match=message):
        GDRegressor(**params, **common).fit(X, y)
    model = quiet_fit(GDRegressor(**advised, **common), X, y)
    assert np.all(np.isfinite(model.coef_))


def test_alpha_without_a_penalty_warns_and_the_advice_uses_it():
    # scikit-learn's own estimator checks set alpha on every linear regressor, so this one
    # setting is a warning rather than an error.
    X, y = small()
    with pytest.warns(GradregWarning, match=r"alpha=0\.5 was set, but only a penalty uses it.*"
                                            r"To use it, set penalty='l2'"):
        plain = GDRegressor(alpha=0.5).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ridge = GDRegressor(alpha=0.5, penalty="l2").fit(X, y)
    assert np.linalg.norm(ridge.coef_) < np.linalg.norm(plain.coef_)


def test_partial_fit_refuses_early_stopping():
    X, y = small()
    with pytest.raises(ParameterError, match=r"early_stopping=True was set, but only "
                                             r"solver='sgd' in fit"):
        GDRegressor(solver="sgd", early_stopping=True).partial_fit(X, y)


def test_early_stopping_on_files_is_refused_and_the_advice_works():
    from gradreg import scan

    source = scan(study_time_path(), target="score")
    common = {"solver": "sgd", "max_iter": 3, "random_state": 0}
    with pytest.raises(ParameterError, match=r"early_stopping=True holds out validation rows, "
                                             r"which needs the data as arrays in memory; got a "
                                             r"FileSource\. Fit arrays, or set "
                                             r"early_stopping=False\."):
        GDRegressor(early_stopping=True, **common).fit(source)
    model = quiet_fit(GDRegressor(**common), source, None)
    assert np.all(np.isfinite(model.coef_))


def test_validation_rows_leaving_nothing_to_train_on_are_refused_and_the_advice_works():
    X, y = small(n=20)
    common = {"solver": "sgd", "early_stopping": True, "max_iter": 5, "random_state": 0}
    with pytest.raises(ParameterError, match=r"validation_fraction=0\.99 holds out all 20 rows, "
                                             r"leaving none to train on\. Use a smaller"):
        GDRegressor(validation_fraction=0.99, **common).fit(X, y)
    assert np.all(np.isfinite(quiet_fit(GDRegressor(**common), X, y).coef_))
    with pytest.raises(ParameterError, match=r"with a single row, set early_stopping=False"):
        GDRegressor(**common).fit(X[:1], y[:1])
    common["early_stopping"] = False
    GDRegressor(**common)._config()  # the advised settings are accepted


# ---------------------------------------------------------------------------------------------
# Ranges mean what they say
# ---------------------------------------------------------------------------------------------

# (parameter, the exact range text of the message)
REAL_PARAMETERS = [
    ("power_t", "a float in the range [0.0, inf)"),
    ("momentum", "a float in the range [0.0, 1.0)"),
    ("b1", "a float in the range [0.0, 1.0)"),
    ("b2", "a float in the range [0.0, 1.0)"),
    ("eps", "a float in the range [0.0, inf)"),
    ("alpha", "a float in the range [0.0, inf)"),
    ("l1_ratio", "a float in the range [0.0, 1.0]"),
    ("tol", "one of {None} or a float in the range (0.0, inf)"),
    ("validation_fraction", "a float in the range (0.0, 1.0)"),
    ("learning_rate", "one of {'auto'}, a float in the range (0.0, inf) or a schedule (a "
                      "callable of the step count)"),
]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
@pytest.mark.parametrize(("name", "allowed"), REAL_PARAMETERS)
def test_nan_and_infinity_are_refused_with_the_usual_message(name, allowed, bad):
    X, y = small()
    expected = (f"The '{name}' parameter of GDRegressor must be {allowed}. "
                f"Got {float(bad)!r} instead.")  # numpy scalars shown as Python's
    with pytest.raises(ParameterError, match=re.escape(expected)):
        GDRegressor(**{name: bad}).fit(X, y)


@pytest.mark.parametrize("name", ["max_iter", "batch_size", "n_iter_no_change"])
def test_integer_parameters_refuse_infinity(name):
    with pytest.raises(ParameterError, match=rf"'{name}' parameter .* an int .* Got inf"):
        GDRegressor(**{name: math.inf}).fit(*small())


def test_an_open_end_excludes_infinity():
    assert not Interval(float, 0.0, None, closed="left").accepts(math.inf)
    assert not Interval(float, None, None, closed="neither").accepts(-math.inf)
    assert Interval(float, 0.0, None, closed="left").accepts(1e308)


TINY = 5e-324  # the smallest positive float64
BELOW_ONE = float(np.nextafter(1.0, 0.0))

# (settings that make the parameter used, parameter, value at or next to an edge, accepted)
EDGES = [
    ({"solver": "gd"}, "learning_rate", 0.0, False),
    ({"solver": "gd"}, "learning_rate", TINY, True),
    ({}, "tol", 0.0, False),
    ({}, "tol", TINY, True),
    ({"solver": "gd", "schedule": "invscaling"}, "power_t", 0.0, True),
    ({"solver": "gd", "schedule": "invscaling"}, "power_t", 1e300, True),
    ({"solver": "gd", "schedule": "invscaling"}, "power_t", -TINY, False),
    ({"solver": "gd", "optimizer": "momentum"}, "momentum", 0.0, True),
    ({"solver": "gd", "optimizer": "momentum"}, "momentum", BELOW_ONE, True),
    ({"solver": "gd", "optimizer": "momentum"}, "momentum", 1.0, False),
    ({"solver": "gd", "optimizer": "adam"}, "b1", 0.0, True),
    ({"solver": "gd", "optimizer": "adam"}, "b1", BELOW_ONE, True),
    ({"solver": "gd", "optimizer": "adam"}, "b1", 1.0, False),
    ({"solver": "gd", "optimizer": "adam"}, "b2", 0.0, True),
    ({"solver": "gd", "optimizer": "adam"}, "b2", BELOW_ONE, True),
    ({"solver": "gd", "optimizer": "adam"}, "b2", 1.0, False),
    ({"solver": "gd", "optimizer": "adam"}, "eps", 0.0, True),
    ({"solver": "gd", "optimizer": "adam"}, "eps", 1e300, True),
    ({"solver": "gd", "optimizer": "adam"}, "eps", -TINY, False),
    ({"penalty": "l2"}, "alpha", 0.0, True),
    ({"penalty": "l2"}, "alpha", -TINY, False),
    ({"penalty": "elasticnet"}, "l1_ratio", 0.0, True),
    ({"penalty": "elasticnet"}, "l1_ratio", 1.0, True),
    ({"penalty": "elasticnet"}, "l1_ratio", float(np.nextafter(1.0, 2.0)), False),
    ({"solver": "sgd", "early_stopping": True}, "validation_fraction", 0.0, False),
    ({"solver": "sgd", "early_stopping": True}, "validation_fraction", TINY, True),
    ({"solver": "sgd", "early_stopping": True}, "validation_fraction", 0.9, True),
    ({"solver": "sgd", "early_stopping": True}, "validation_fraction", 1.0, False),
    ({"solver": "sgd"}, "batch_size", 0, False),
    ({"solver": "sgd"}, "batch_size", 1, True),
    ({"solver": "sgd"}, "batch_size", 10**9, True),
    ({"solver": "sgd", "early_stopping": True}, "n_iter_no_change", 0, False),
    ({"solver": "sgd", "early_stopping": True}, "n_iter_no_change", 1, True),
    ({}, "max_iter", 0, False),
    ({}, "max_iter", 1, True),
]


@pytest.mark.parametrize(("settings", "name", "value", "accepted"), EDGES)
def test_each_edge_of_a_documented_range_works_or_is_refused(settings, name, value, accepted):
    X, y = small()
    model = GDRegressor(**settings, **{name: value})
    if name != "max_iter":
        model.set_params(max_iter=5, random_state=0)
    if not accepted:
        with pytest.raises(ParameterError, match=rf"The '{name}' parameter of GDRegressor must "
                                                 rf"be .* Got {re.escape(repr(value))} instead"):
            model.fit(X, y)
        return
    quiet_fit(model, X, y)
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)
    # Converged, or stopped by max_iter, or (tol below what float64 certifies, e.g. the
    # smallest subnormal) at the precision limit, whichever comes first on this CPU's rounding.
    if model.converged_:
        assert model.stop_reason_ == "converged"
    else:
        assert model.stop_reason_ == f"max_iter={model.max_iter} reached" or (
            model.stop_reason_.startswith("stopped at the limit of float64 precision")
            and model.coef_error_bound_ > model.tol)


# ---------------------------------------------------------------------------------------------
# Advice in warnings and errors is valid for the fit, and following it works
# ---------------------------------------------------------------------------------------------

_SETTING = re.compile(r"(\w+)=('[^']*'|[^\s,.]+(?:\.\d+)?)")


def advised_settings(message: str) -> list[dict]:
    """The alternatives after 'use' in a message, as settings: [{'solver': 'cg'}, ...]."""
    tail = message.split(" use ", 1)[1].rstrip(".")
    return [{name: ast.literal_eval(value) for name, value in _SETTING.findall(part)}
            for part in tail.split(" or ")]


def warned(category, model, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return [str(w.message) for w in caught if issubclass(w.category, category)]


SLOW = [
    ({"solver": "gd", "optimizer": "plain"},
     ["solver='cg'", "optimizer='nesterov'"], []),
    ({"solver": "gd", "optimizer": "plain", "standardize": False},
     ["standardize=True", "solver='cg'", "optimizer='nesterov'"], []),
    ({"solver": "gd", "optimizer": "momentum"}, ["solver='cg'", "optimizer='nesterov'"], []),
    ({"solver": "gd", "optimizer": "nesterov", "learning_rate": 1e-3},
     ["learning_rate='auto'", "solver='cg'"], ["optimizer='nesterov'"]),
    ({"penalty": "l1", "alpha": 0.01}, [], ["solver='cg'", "optimizer='nesterov'"]),
    ({"penalty": "l1", "alpha": 0.01, "solver": "gd", "optimizer": "plain"},
     ["optimizer='nesterov'"], ["solver='cg'"]),
    ({"solver": "sgd", "penalty": "l1", "alpha": 0.01, "random_state": 0},
     ["solver='gd'"], ["solver='cg'", "optimizer="]),
    ({"solver": "sgd", "random_state": 0}, ["solver='cg'", "solver='gd'"], ["optimizer="]),
    ({"solver": "cg"}, [], ["solver='cg'"]),
]


@pytest.mark.parametrize(("settings", "present", "absent"), SLOW)
def test_not_converging_advice_fits_the_configuration_and_following_it_does_better(
    settings, present, absent
):
    X, y = make_regression(200, 5, condition=1e3, seed=2)
    # Averaged SGD gains on gradient descent over its first few epochs; by 20 the advice helps.
    budget = 3 if settings.get("solver") == "cg" else 20
    model = GDRegressor(max_iter=budget, **settings)
    messages = warned(ConvergenceWarning, model, X, y)
    assert len(messages) == 1
    message = messages[0]
    assert re.search(rf"did not converge: max_iter={budget} reached .* Increase max_iter", message)
    for text in present:
        assert text in message
    for text in absent:
        assert text not in message
    if " use " not in message:
        return
    for advice in advised_settings(message):
        assert advice
        followed = quiet_fit(GDRegressor(max_iter=budget, **{**settings, **advice}), X, y)
        assert followed.optimality_gap_ < model.optimality_gap_, advice


def test_slow_plain_descent_advice_is_valid_and_following_it_does_better():
    X, y = make_regression(200, 5, condition=1e3, seed=2)
    settings = {"solver": "gd", "optimizer": "plain", "standardize": False, "max_iter": 50}
    model = GDRegressor(**settings)
    messages = warned(GradregWarning, model, X, y)
    assert len(messages) == 1
    assert re.search(r"plain gradient descent needs about .* epochs .* use "
                     r"standardize=True or solver='cg' \(resetting optimizer='auto', the "
                     r"default\) or optimizer='nesterov'\.", messages[0])
    for advice in advised_settings(messages[0]):
        followed = quiet_fit(GDRegressor(**{**settings, **advice}), X, y)
        assert followed.optimality_gap_ < model.optimality_gap_, advice


def test_a_tiny_learning_rate_is_called_out_before_the_fit():
    X, y = small()
    model = GDRegressor(learning_rate=1e-7, optimizer="nesterov", max_iter=100)
    messages = warned(GradregWarning, model, X, y)
    assert len(messages) == 1
    assert re.search(r"learning_rate=1e-07 is \S+ times the automatic rate 1/L = \S+: the "
                     r"descent needs about \S+ epochs .* Use learning_rate='auto' or increase "
                     r"max_iter\.", messages[0])
    followed = GDRegressor(learning_rate="auto", max_iter=100).fit(X, y)
    assert followed.converged_ and not model.converged_


@pytest.mark.parametrize(
    ("settings", "remedy", "followed"),
    [
        ({}, "adding penalty='l2'", {"penalty": "l2"}),
        ({"penalty": "l2", "alpha": 1e-12}, "increasing alpha", {"penalty": "l2", "alpha": 1e-4}),
        ({"penalty": "l1", "alpha": 1e-3, "max_iter": 5},
         r"adding an L2 part \(penalty='elasticnet' with l1_ratio below 1, and a larger alpha",
         {"penalty": "elasticnet", "alpha": 1e-3, "l1_ratio": 0.5, "max_iter": 5}),
    ],
)
def test_ill_conditioning_advice_fits_the_penalty_and_following_it_helps(
    settings, remedy, followed
):
    X, y = make_regression(200, 5, condition=3e6, seed=2)
    model = GDRegressor(**settings)
    messages = [m for m in warned(GradregWarning, model, X, y) if "badly conditioned" in m]
    assert len(messages) == 1
    assert re.search(rf"Consider removing nearly collinear features or {remedy}", messages[0])
    better = GDRegressor(**followed)
    assert not [m for m in warned(GradregWarning, better, X, y) if "badly conditioned" in m]
    assert better.condition_number_ < model.condition_number_


@pytest.mark.parametrize(
    ("settings", "message", "advised"),
    [
        ({"solver": "cg", "penalty": "l1"}, r"solver='cg' cannot handle the L1 part .* Use "
         r"solver='gd' \(proximal gradient\) or solver='auto'",
         [{"solver": "gd", "penalty": "l1"}, {"solver": "auto", "penalty": "l1"}]),
        ({"solver": "gd", "optimizer": "adam", "penalty": "l1"},
         r"penalty='l1' with solver='gd' needs optimizer='plain' or 'nesterov'",
         [{"solver": "gd", "optimizer": "plain", "penalty": "l1"},
          {"solver": "gd", "optimizer": "nesterov", "penalty": "l1"}]),
    ],
)
def test_penalty_errors_advise_settings_that_work(settings, message, advised):
    X, y = small()
    with pytest.raises(ParameterError, match=message):
        GDRegressor(**settings).fit(X, y)
    for option in advised:
        model = quiet_fit(GDRegressor(max_iter=5000, **option), X, y)
        assert model.converged_


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--solver", "cg", "--learning-rate", "1e-9"],
         "--solver cg has no learning rate, but --learning-rate 1e-09 was set"),
        (["--momentum", "0.5"], "--momentum 0.5 was set, but only --optimizer momentum"),
        (["--batch-size", "10"], "--batch-size 10 was set, but only --solver sgd uses it"),
        (["--l1-ratio", "0.5"], "--l1-ratio 0.5 was set, but only --penalty elasticnet"),
        (["--alpha", "nan"], "--alpha must be a float in the range [0.0, inf). Got nan instead."),
        # The command line's own check: the estimator's would offer what only Python passes.
        (["--tol", "inf"], "Invalid value for --tol: must be 'none' or a positive number, "
                           "got 'inf'"),
        (["--learning-rate", "nan"], "Invalid value for --learning-rate: must be 'auto' or a "
                                     "positive number, got 'nan'"),
        (["--learning-rate", "-1"], "Invalid value for --learning-rate: must be 'auto' or a "
                                    "positive number, got '-1'"),
    ],
)
def test_command_line_settings_follow_the_same_rules(capsys, flags, message):
    code, out, err = run(capsys, "fit", study_time_path(), "--target", "score", "--quiet",
                         *flags)
    assert code == 2
    assert err.startswith("gradreg: error: ") and message in err
    assert err.count("\n") == 1 and out == ""


def test_command_line_learning_rate_selects_gradient_descent(capsys):
    code, out, err = run(capsys, "fit", study_time_path(), "--target", "score", "--quiet",
                         "--learning-rate", "0.5", "--optimizer", "momentum", "--momentum",
                         "0.5")
    assert code == 0, err
    assert "solver            gd (momentum)" in out
    assert "solver choice     gd (--solver auto: --learning-rate 0.5, --optimizer momentum " \
           "and --momentum 0.5 were set)" in out
    assert "learning rate     0.5 " in out


def test_a_long_command_line_fit_at_a_tiny_rate_runs_and_can_be_interrupted(tmp_path):
    # --learning-rate 1e-9 with a huge --max-iter descends at that rate (conjugate gradient
    # would finish in two steps, before any checkpoint), and Ctrl-C stops it cleanly.
    checkpoint = tmp_path / "ck.json"
    command = [sys.executable, "-m", "gradreg.cli", "fit", study_time_path(), "--target",
               "score", "--learning-rate", "1e-9", "--max-iter", "100000000", "--quiet",
               "--checkpoint", str(checkpoint), "--checkpoint-every", "200"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    epochs = int(re.search(r"interrupted after (\d+) epochs", err).group(1))
    assert epochs >= 200 and out == ""
    saved = json.loads(checkpoint.read_text())
    assert saved["settings"]["learning_rate"] == 1e-9


def test_a_learning_rate_below_two_over_l_runs_plain_descent_by_default():
    """The rate a learner reads off learning_rate_limits works with the default optimizer."""
    from gradreg import learning_rate_limits, load_study_time

    data = load_study_time()
    limit = learning_rate_limits(data.hours, data.score).max_stable
    model = GDRegressor(solver="gd", standardize=False, learning_rate=0.95 * limit,
                        max_iter=20_000).fit(data.X, data.score)
    assert model.optimizer_ == "plain" and model.converged_
    with pytest.raises(DivergenceError, match="2/L"):
        GDRegressor(solver="gd", standardize=False, learning_rate=limit).fit(data.X, data.score)

"""Learning-rate guidance: the stability limit is where the classic loop starts to diverge."""

import re

import numpy as np
import pytest

from conftest import assert_within, make_regression, rounding_bound, standardized_condition
from gradreg import (
    ConvergenceWarning,
    DivergenceError,
    GDRegressor,
    gradient_descent,
    learning_rate_limits,
    load_study_time,
)
from gradreg.tutorial import descent_path


def test_max_stable_separates_convergence_from_divergence_of_the_classic_loop():
    data = load_study_time()
    limits = learning_rate_limits(data.hours, data.score)
    gradient_descent(data.hours, data.score, learning_rate=0.999 * limits.max_stable,
                     epochs=20_000)
    with pytest.raises(DivergenceError):
        gradient_descent(data.hours, data.score, learning_rate=1.01 * limits.max_stable,
                         epochs=20_000)
    assert limits.recommended == limits.max_stable / 2  # halving is exact


def test_multi_feature_limit_matches_the_classic_descent():
    X, y = make_regression(200, 3, seed=3)
    limits = learning_rate_limits(X, y)
    stable = descent_path(X, y, 0.99 * limits.max_stable, 3000)
    unstable = descent_path(X, y, 1.01 * limits.max_stable, 3000)
    assert not stable.diverged and stable.cost[-1] < stable.cost[0]
    assert unstable.diverged or unstable.cost[-1] > unstable.cost[0]


def test_scaled_figures_are_those_the_estimator_uses():
    from gradreg import GDRegressor

    X, y = make_regression(300, 4, condition=50, seed=4)
    limits = learning_rate_limits(X, y)
    model = GDRegressor(solver="gd", optimizer="plain", max_iter=50_000).fit(X, y)
    # The same Hessian from two passes: entries are sums of n rows (8 roundings between the
    # two); an eigenvalue moves by at most the matrix's change (Weyl), relative to the largest,
    # so the smallest, and the condition number, by the condition number times that.
    within = rounding_bound(1.0, 8, len(y))
    assert_within(model.lipschitz_, limits.scaled_lipschitz, within * limits.scaled_lipschitz)
    assert_within(model.learning_rate_, limits.scaled_recommended,
                  within * limits.scaled_recommended)
    condition = standardized_condition(X) ** 2
    assert_within(model.condition_number_, limits.scaled_condition_number,
                  2 * condition * within * limits.scaled_condition_number)
    predicted = limits.epochs_to(model.optimality_gap_)["plain"]
    assert model.n_iter_ <= predicted  # the bound kappa*log(1/tol) is never beaten from above


def test_standardization_improves_conditioning_and_explain_names_the_numbers():
    X, y = make_regression(300, 3, seed=5)
    limits = learning_rate_limits(X, y)
    assert limits.scaled_condition_number < limits.condition_number
    text = limits.explain()
    assert f"{limits.max_stable:.6g}" in text and "condition number" in text
    raw, scaled = limits.epochs_to(1e-10, scaled=False), limits.epochs_to(1e-10)
    assert raw["accelerated"] < raw["plain"]  # sqrt(kappa) against kappa, kappa large
    assert 1 <= scaled["plain"] < raw["plain"] and np.isfinite(scaled["plain"])


def test_a_round_problem_takes_one_epoch_by_the_estimate_and_in_fact():
    """At condition number 1 a step of 1/L lands on the optimum: the estimate says one epoch
    (it said 23, kappa log(1/tol)), and plain descent takes one."""
    from gradreg import GDRegressor

    rng = np.random.default_rng(0)
    X = np.linalg.qr(rng.standard_normal((200, 3)))[0]
    X = (X - X.mean(axis=0)) * np.sqrt(len(X))  # centred, orthogonal columns of equal size
    X = np.linalg.qr(X)[0] * np.sqrt(len(X))
    y = X @ [1.0, -2.0, 0.5] + 4.0
    limits = learning_rate_limits(X, y)
    assert limits.epochs_to(1e-10)["plain"] <= 2
    model = GDRegressor(solver="gd", optimizer="plain").fit(X, y)
    assert model.n_iter_ <= limits.epochs_to(1e-10)["plain"]


def test_a_slow_raw_descent_names_the_condition_number_it_runs_at():
    """Unstandardized, the descent runs at its own coordinates' condition number (here the
    raw design's, from an SVD), not at the standardized one the certificate uses; the warning
    that advises standardize=True gives both."""
    data = load_study_time()
    A = np.c_[data.X, np.ones(len(data.score))]
    raw = np.linalg.cond(A.T @ A)  # the curvature of the raw problem, slope and intercept
    with pytest.warns(ConvergenceWarning) as caught:
        GDRegressor(solver="gd", optimizer="plain", standardize=False).fit(data.X, data.score)
    message = str(caught[0].message)
    match = re.search(r"condition number 1 standardized, ([0-9.e+]+) in the coordinates the "
                      r"descent uses\)\. Increase max_iter, or use standardize=True", message)
    assert match, message
    assert float(match.group(1)) == pytest.approx(raw, rel=0.005)  # printed to 3 digits

"""The lasso and elastic-net optimum's bound: the minimiser found by proximal gradient and
coordinate descent is checked by its optimality conditions, against 50-digit references.

Without an intercept, columns near 1e6 with a spread of 1 and a target near 1e12 are
uncentred, and the curvature's condition number is about 1e12 to 1e16: the minimiser's
iterations stopped far from it (errors of 3e-3 to 1) while its bound said 1e-5 to 1e-3, the
a priori rounding of an exact solve.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from conftest import mp_elastic_net
from gradreg import GDRegressor
from gradreg.penalties import make_penalty
from gradreg.problem import build_problem
from gradreg.sources import ArraySource


def uncentred_columns(seed, corr, n=500):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    z[:, 1] = z[:, 0] + corr * z[:, 1]
    X = z + 1e6
    return X, z @ [1.0, 2.0] + 1e12 + 0.1 * rng.normal(size=n)


def relative_error(coef, reference, X):
    D = np.sqrt(np.mean(X**2, axis=0))  # the uncentred columns' sizes (no intercept)
    return float(np.linalg.norm(D * (coef - reference)) / np.linalg.norm(D * reference))


CASES = [(0, 1e-2, 0.5), (2, 1e-4, 0.5), (3, 1e-2, 0.5), (2, 1e-2, 1.0), (4, 1e-2, 1.0)]


@pytest.mark.parametrize(("seed", "corr", "l1_ratio"), CASES)
def test_the_optimum_is_within_its_stated_rounding(seed, corr, l1_ratio):
    X, y = uncentred_columns(seed, corr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # badly conditioned, and said so
        problem = build_problem(ArraySource(X, y), make_penalty("elasticnet", 0.01, l1_ratio),
                                False, tol=1e-8)
    coef, _ = problem.precond.to_user(problem.optimum.theta)
    reference = mp_elastic_net(X, y, 0.01, l1_ratio, False)
    assert relative_error(coef, reference, X) <= problem.optimum.rounding


@pytest.mark.parametrize(("seed", "corr", "l1_ratio"), CASES[:2])
def test_the_fit_is_within_its_bound(seed, corr, l1_ratio):
    X, y = uncentred_columns(seed, corr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(penalty="elasticnet", alpha=0.01, l1_ratio=l1_ratio,
                            fit_intercept=False).fit(X, y)
    error = relative_error(model.coef_, mp_elastic_net(X, y, 0.01, l1_ratio, False), X)
    assert error <= model.coef_error_bound_
    assert not model.converged_ or error <= model.tol


def test_a_well_conditioned_lasso_keeps_its_bound():
    """Where the minimiser is found (centred columns, condition near 1), its check costs the
    certificate nothing: the bound stays at the a priori rounding of float64."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    y = X @ [1.0, 0.0, -2.0] + 0.1 * rng.normal(size=500)
    model = GDRegressor(penalty="l1", alpha=0.05).fit(X, y)
    reference = mp_elastic_net(X, y, 0.05, 1.0, True)
    D = X.std(axis=0)
    error = float(np.linalg.norm(D * (model.coef_ - reference)) / np.linalg.norm(D * reference))
    assert model.converged_ and error <= model.coef_error_bound_ <= model.tol

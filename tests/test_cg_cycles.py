"""Conjugate gradient takes a full Krylov cycle between restarts.

In exact arithmetic CG ends after ``p`` steps on ``p`` parameters; gradreg restarts it from the
true gradient after each such cycle (a round of iterative refinement). A cycle one step short
makes CG a restarted steepest descent on ill-conditioned designs: hundreds of epochs for a
three-parameter polynomial instead of a handful.
"""

import warnings

import pytest
from benchmarks.accuracy import equilibration, make_case, mp_reference, relative_error

from gradreg import GDRegressor

# degree, offset, log10 column scale, R^2, intercept, weighted (see benchmarks.accuracy)
ILL_CONDITIONED = [
    (3, 1e2, 0, 0.001, False, False),  # condition 5e5
    (6, 0.5, 1, 0.9999, True, False),  # 2.6e5
    (8, 0.0, 0, 0.9999, True, False),  # 3.4e5
]


@pytest.mark.parametrize("case", ILL_CONDITIONED)
def test_cg_reaches_the_optimum_in_a_few_cycles(case):
    X, y, w = make_case(*case)
    p = X.shape[1] + int(case[4])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bound may not certify tol: said in a warning
        model = GDRegressor(solver="cg", fit_intercept=case[4]).fit(X, y, sample_weight=w)
    # Each cycle of p steps shrinks the error by about cond^2 eps < 1e-4 here, so that a few
    # cycles reach float64's floor: three cycles of p + 1 epochs are ample.
    assert model.n_iter_ <= 3 * (p + 1)
    error = relative_error(model.coef_, mp_reference(X, y, w, case[4]),
                           equilibration(X, w, case[4]))
    assert error <= model.coef_error_bound_

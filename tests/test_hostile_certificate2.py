"""The certificate against hostile inputs, second series: coefficients below float64's normal
range, and ridge optima refined against residuals rounded in float64. References at 50 digits
(mpmath); the error measure is that of ``coef_error_bound_`` (equilibrated slopes, centred
intercept)."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

from gradreg import GDRegressor
from test_hostile_certificate import assert_honest, fit, true_error
from test_ridge_certificate import mp_ridge, mp_spreads


def line(seed, n=50):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X @ [1.0, 2.0] + 0.1 * rng.normal(size=n)


# Each makes the coefficients (target / feature) subnormal, where float64 holds them to an
# absolute 4.9e-324 only: a subnormal target (fitted rescaled by powers of two), and features
# so large that the quotient underflows (fitted as they are).
@pytest.mark.parametrize(("x_scale", "y_scale", "params"), [
    (1.0, 1e-320, {}),
    (1.0, 1e-315, {}),
    (1.0, 1e-320, {"standardize": False}),
    (1e200, 1e-120, {}),
    (1e300, 1e-15, {}),
])
def test_coefficients_below_the_normal_range_are_bounded(x_scale, y_scale, params):
    X, y = line(0)
    X, y = X * x_scale, y * y_scale
    model = fit(X, y, **params)
    assert_honest(model, true_error(model, X, y))


def ridge_error(model, X, y, alpha):
    """Equilibrated slopes' and centred intercept's relative errors against 50 digits."""
    reference, spreads = mp_ridge(X, y, alpha), mp_spreads(X)
    slopes = np.linalg.norm(spreads * (model.coef_ - reference)) / np.linalg.norm(
        spreads * reference)
    with mpmath.workdps(50):
        n = len(y)
        means = [mpmath.fsum(mpmath.mpf(float(v)) for v in column) / n for column in X.T]
        centre = mpmath.fsum(mpmath.mpf(float(v)) for v in y) / n
        implied = mpmath.mpf(float(model.intercept_)) + mpmath.fsum(
            m * mpmath.mpf(float(w)) for m, w in zip(means, model.coef_, strict=True))
        size = max(abs(centre), mpmath.mpf(float(np.std(y))))
        return max(float(slopes), float(abs(implied - centre) / size))


def test_ridge_refined_against_float64_residuals_is_bounded():
    # Spreads 1e-4..1e4 and offsets to 1e6: the l2 weights alpha / s^2 span 1e14, the target
    # sits near 1e6, and residuals rounded in float64 move the double-double-refined solve.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3)) * [1e-4, 1.0, 1e4] + [0.0, 1e6, 1e3]
    y = X @ (1.0 / X.std(0)) + 0.1 * rng.normal(size=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # badly conditioned on purpose
        model = GDRegressor(penalty="l2", alpha=1e6).fit(X, y)
    error = ridge_error(model, X, y, 1e6)
    assert error <= model.coef_error_bound_
    assert not model.converged_ or error <= model.tol


def test_subnormal_rounding_of_columns_near_float64s_limits():
    # Spreads near 1e200 (their squares overflow) and subnormal slopes: the norms are formed
    # scaled by powers of two; the bound is the spacing's share of the slopes, not inf.
    from gradreg._subnormal import SUBNORMAL_STEP, with_subnormal_rounding

    coef = np.array([2000.0, 4000.0]) * SUBNORMAL_STEP
    bound = with_subnormal_rounding(0.0, coef, 1.0, np.array([1e200, 1e200]),
                                    np.zeros(2), True)
    assert np.sqrt(2) / np.hypot(2000.0, 4000.0) <= bound < 1e-3


def test_files_with_an_intercept_far_above_the_slopes_converge(tmp_path):
    # Condition number 1.3 in canonical coordinates, but the centred intercept is 1e15 against
    # slopes near 1: residuals of the factor formed from M theta - q rounded the slopes' part
    # away (eps 1e15 = 0.2) and the descent stalled three digits from the certified optimum.
    import pandas as pd

    import gradreg

    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 3)) * [1e-6, 1.0, 1e6] + [1e9, 0.0, 1e3]
    y = X @ [1e6, 1.0, 1e-6] + rng.normal(size=300)
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "y": y}).to_parquet(path)
    model = fit(gradreg.scan(path, target="y"), None)
    assert_honest(model, true_error(model, X, y))
    assert model.converged_


@pytest.mark.parametrize(("bad", "error", "match"), [
    (np.nan, "DataError", "NaN|missing value"),
    (np.inf, "DataError", "infinity"),
    ("1.5", "DataTypeError", "text is not a number"),
])
@pytest.mark.parametrize("kind", ["array", "frame"])
def test_dask_predictions_refuse_what_array_predictions_refuse(bad, error, match, kind):
    # Each partition is checked as predict checks an array: a NaN was reported as predictions
    # "beyond float64's range", and text in a frame was read as numbers.
    dask = pytest.importorskip("dask")
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    from gradreg import errors

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    model = GDRegressor().fit(X, X @ [1.0, 2.0])
    if kind == "array":
        if isinstance(bad, str):
            pytest.skip("a Dask array of floats holds no text")
        rows = X.copy()
        rows[23, 1] = bad
        collection = da.from_array(rows, chunks=(7, 2))
    else:
        frame = pd.DataFrame(X, columns=["x0", "x1"])
        frame["x1"] = frame["x1"].astype(object)
        frame.loc[23, "x1"] = bad
        if not isinstance(bad, str):
            frame["x1"] = frame["x1"].astype(float)
        else:
            frame["x1"] = frame["x1"].astype(str)
        model = GDRegressor().fit(pd.DataFrame(X, columns=["x0", "x1"]), X @ [1.0, 2.0])
        collection = dd.from_pandas(frame, npartitions=3)
    with dask.config.set(scheduler="synchronous"), \
            pytest.raises(getattr(errors, error), match=match):
        model.predict(collection)


@pytest.mark.parametrize("solver", ["auto", "sgd"])
def test_partial_fit_coefficients_below_float64s_range_are_not_certified(solver):
    # partial_fit does not rescale: slopes of 1e-450 are reported as zeros, all digits lost.
    X, y = line(3, n=60)
    X, y = X * 1e150, y * 1e-300
    model = GDRegressor(solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start in range(0, 60, 20):
            model.partial_fit(X[start:start + 20], y[start:start + 20])
    assert_honest(model, true_error(model, X, y))

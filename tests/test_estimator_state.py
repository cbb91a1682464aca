"""Estimator state across fit and partial_fit, errors of delegated checks, extreme inputs."""

import warnings

import numpy as np
import pytest

from conftest import (
    assert_fit_within_rounding,
    lstsq_fit,
    make_regression,
    standardized_condition,
)
from gradreg import DataError, DataRangeError, GDRegressor, GradregError, ParameterError


def test_fit_resets_what_partial_fit_kept():
    rng = np.random.default_rng(0)
    A, y_a = rng.normal(size=(30, 3)), rng.normal(size=30)
    B = rng.normal(size=(40, 2))
    y_b = B @ [1.0, -1.0] + 0.5
    model = GDRegressor(random_state=0).partial_fit(A, y_a)
    model.fit(B, y_b)
    assert model.stats_.n_rows == 40  # B's rows only: nothing of A survives fit
    model.partial_fit(B, y_b)  # A had another width: this failed before
    # partial_fit continues from the fit's rows (as scikit-learn's continues from its
    # coefficients): B twice, whose least-squares fit is B's.
    assert model.stats_.n_rows == 80
    fresh = GDRegressor(random_state=0).fit(B, y_b)
    scale = B.std(axis=0)
    difference = np.abs((model.coef_ - fresh.coef_) * scale).max() / np.abs(
        fresh.coef_ * scale).max()
    assert difference <= model.coef_error_bound_ + fresh.coef_error_bound_


@pytest.mark.parametrize(
    ("call", "kind", "match"),
    [
        (lambda m, X, y: m.predict(X[:, :2]), DataError, "X has 2 features, but GDRegressor"),
        (lambda m, X, y: m.set_params(learning_speed=1), ParameterError,
         "Invalid parameter 'learning_speed'"),
        (lambda m, X, y: m.score(X, y[:5]), DataError, "inconsistent numbers of samples"),
    ],
)
def test_checks_delegated_to_scikit_learn_raise_gradreg_errors(call, kind, match):
    X, y = make_regression(20, 3, seed=1)
    model = GDRegressor().fit(X, y)
    with pytest.raises(kind, match=match) as info:
        call(model, X, y)
    assert isinstance(info.value, GradregError) and isinstance(info.value, ValueError)


def test_other_feature_names_raise_a_data_error():
    pd = pytest.importorskip("pandas")
    X, y = make_regression(20, 2, seed=2)
    model = GDRegressor().fit(pd.DataFrame(X, columns=["a", "b"]), y)
    with pytest.raises(DataError, match="feature names should match") as info:
        model.predict(pd.DataFrame(X, columns=["a", "c"]))
    assert isinstance(info.value, GradregError)


# ---------------------------------------------------------------------------------------------
# Extreme but finite inputs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("exponent", [1000, 1022, -1000])
def test_weights_are_scale_free_exactly(exponent):
    X, y = make_regression(60, 3, seed=3)
    weights = np.random.default_rng(3).uniform(0.5, 1.0, size=60)
    reference = GDRegressor().fit(X, y, sample_weight=weights)
    scaled = GDRegressor().fit(X, y, sample_weight=np.ldexp(weights, exponent))
    np.testing.assert_array_equal(scaled.coef_, reference.coef_)
    assert scaled.intercept_ == reference.intercept_


@pytest.mark.parametrize(
    "value", [np.finfo(np.float64).max, 1e300, 1e-300, np.finfo(np.float64).tiny, 5e-324]
)
def test_weights_at_either_end_of_float64_fit_correctly(value):
    X, y = make_regression(60, 3, seed=4)
    weights = np.full(60, value)
    weights[::3] = value / 2 if value > 1 else value * 2 if value < 1e-300 else value
    model = GDRegressor().fit(X, y, sample_weight=weights)
    # The reference weighs by w / max(w): the same fit, and sqrt of it in float64's range.
    coef, intercept = lstsq_fit(X, y, sample_weight=weights / weights.max())
    assert_fit_within_rounding(model.coef_, model.intercept_, X, coef, intercept,
                               weights / weights.max(), certified=model.coef_error_bound_)


@pytest.mark.parametrize("shift", [-1070, -1000, 1000])
def test_features_at_either_end_of_float64_fit_correctly(shift):
    X, y = make_regression(60, 2, seed=5)
    X_extreme = np.ldexp(X, shift)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if shift < -1020:
            # Subnormal features: the coefficients, about y / x, are beyond float64.
            with pytest.raises(DataRangeError, match="coefficient is about target / feature") \
                    as info:
                GDRegressor().fit(X_extreme, y)
            assert "infinity" not in str(info.value) and "NaN" not in str(info.value)
            return
        model = GDRegressor().fit(X_extreme, y)
    coef, intercept = lstsq_fit(X, y)
    # Scaling a column by 2**shift scales its coefficient by 2**-shift, exactly.
    assert_fit_within_rounding(np.ldexp(model.coef_, shift), model.intercept_, X, coef,
                               intercept, certified=model.coef_error_bound_)


def test_subnormal_features_and_target_together_fit_correctly():
    X, y = make_regression(60, 2, seed=6)
    model = GDRegressor().fit(np.ldexp(X, -1040), np.ldexp(y, -1040))
    coef, intercept = lstsq_fit(X, y)
    # Subnormal numbers keep fewer bits: at 2**-1040 about 53 - 18 = 35 of them, a relative
    # error u = 2**-35 in every entry, which a least-squares solution feels at most condition^2
    # times (10 roundings' worth, as in rounding_bound), besides the fit's own bounds.
    condition = standardized_condition(X)
    inputs = 10 * condition**2 * 2.0**-35
    assert_fit_within_rounding(model.coef_, np.ldexp(model.intercept_, 1040), X, coef, intercept,
                               certified=model.coef_error_bound_ + inputs)

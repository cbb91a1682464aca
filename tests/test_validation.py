"""Every error message of the estimator: the parameter, the allowed range and the value given."""

import numpy as np
import pytest
import scipy.sparse

from gradreg import DataError, GDRegressor, NotFittedError, ParameterError, gradient_descent
from gradreg.errors import DataTypeError, GradregError

X = np.arange(20.0).reshape(10, 2)
Y = np.arange(10.0)

PARAMETER_CASES = [
    ({"solver": "newton"}, r"The 'solver' parameter of GDRegressor must be one of \{'auto', "
     r"'gd', 'sgd', 'cg'\}. Got 'newton' instead."),
    ({"optimizer": "rmsprop"}, r"'optimizer' parameter .* one of .*'adagrad'\}. Got 'rmsprop'"),
    ({"learning_rate": -0.1}, r"'learning_rate' parameter of GDRegressor must be one of "
     r"\{'auto'\}, a float in the range \(0.0, inf\) or a schedule .* Got -0.1 instead."),
    ({"learning_rate": float("nan")}, r"'learning_rate' .* Got nan instead"),
    ({"learning_rate": "fast"}, r"'learning_rate' .* Got 'fast' instead"),
    ({"max_iter": 0}, r"'max_iter' parameter of GDRegressor must be an int in the range "
     r"\[1, inf\). Got 0 instead."),
    ({"max_iter": 1.5}, r"'max_iter' .* Got 1.5 instead"),
    ({"tol": 0.0}, r"'tol' parameter of GDRegressor must be one of \{None\} or a float in the "
     r"range \(0.0, inf\)"),
    ({"alpha": -1}, r"'alpha' parameter of GDRegressor must be a float in the range "
     r"\[0.0, inf\). Got -1 instead."),
    ({"l1_ratio": 1.5}, r"'l1_ratio' .* range \[0.0, 1.0\]. Got 1.5"),
    ({"momentum": 1.0}, r"'momentum' .* range \[0.0, 1.0\). Got 1.0"),
    ({"b1": -0.1}, r"'b1' .* Got -0.1"),
    ({"b2": 1.0}, r"'b2' .* Got 1.0"),
    ({"eps": -1.0}, r"'eps' .* Got -1.0"),
    ({"power_t": -1.0}, r"'power_t' .* Got -1.0"),
    ({"batch_size": 0}, r"'batch_size' .* \[1, inf\). Got 0"),
    ({"penalty": "l3"}, r"'penalty' .* one of \{None, 'l2', 'l1', 'elasticnet'\}. Got 'l3'"),
    ({"schedule": "linear"}, r"'schedule' .* Got 'linear'"),
    ({"route": "gpu"}, r"'route' .* one of \{'auto', 'stats', 'data'\}. Got 'gpu'"),
    ({"fit_intercept": "yes"}, r"'fit_intercept' .* one of \{True, False\}. Got 'yes'"),
    ({"standardize": 1}, r"'standardize' .* Got 1 instead"),
    ({"line_search": None}, r"'line_search' .* Got None"),
    ({"shuffle": "no"}, r"'shuffle' .* Got 'no'"),
    ({"early_stopping": 0}, r"'early_stopping' .* Got 0"),
    ({"warm_start": "no"}, r"'warm_start' .* Got 'no'"),
    ({"validation_fraction": 1.0}, r"'validation_fraction' .* \(0.0, 1.0\). Got 1.0"),
    ({"n_iter_no_change": 0}, r"'n_iter_no_change' .* Got 0"),
    ({"random_state": -3}, r"'random_state' .* None, a non-negative int or a numpy random "
     r"generator. Got -3"),
    ({"callbacks": [1]}, r"'callbacks' .* a callable or a list of callables. Got \[1\]"),
    ({"line_search": True, "solver": "sgd"}, r"line_search=True was set, but only solver='gd'"),
    ({"early_stopping": True, "solver": "gd"}, r"early_stopping=True was set, but only "
     r"solver='sgd'"),
]


@pytest.mark.parametrize(("params", "match"), PARAMETER_CASES)
def test_parameter_errors_at_fit_time(params, match):
    model = GDRegressor(**params)  # __init__ only stores
    with pytest.raises(ParameterError, match=match):
        model.fit(X, Y)


def test_every_parameter_has_a_constraint():
    assert set(GDRegressor._parameter_constraints) == set(GDRegressor().get_params())


DATA_CASES = [
    (np.arange(10.0), Y, DataError, r"Expected a 2-D array for X, got a 1-D array. Reshape"),
    (np.ones((10, 2, 2)), Y, DataError, r"got an array with 3 dimensions of shape \(10, 2, 2\)"),
    (np.ones((0, 2)), np.ones(0), DataError, r"Found array with 0 sample\(s\)"),
    (np.ones((10, 0)), Y, DataError, r"Found array with 0 feature\(s\)"),
    (X, np.arange(9.0), DataError, r"X and y have different numbers of rows: X has 10, y has 9"),
    (X, np.ones((10, 2)), DataError, r"y must be 1-D .* got shape \(10, 2\)"),
    (X + 1j, Y, DataError, r"Complex data not supported"),
    (np.array([["a", "b"]] * 10), Y, DataTypeError, r"Input X must be numeric"),
    (np.where(X == 7, np.nan, X), Y, DataError, r"Input X contains NaN at row 3, column 1"),
    (np.where(X == 4, np.inf, X), Y, DataError, r"Input X contains infinity at row 2, column 0"),
    (X, np.where(Y == 5, np.nan, Y), DataError, r"Input y contains NaN at row 5"),
    (scipy.sparse.csr_matrix(X), Y, DataError, r"Sparse data was passed for X"),
    (X, None, DataError, r"requires y to be passed"),
]


@pytest.mark.parametrize(("X_bad", "y_bad", "kind", "match"), DATA_CASES)
def test_data_errors(X_bad, y_bad, kind, match):
    with pytest.raises(kind, match=match):
        GDRegressor().fit(X_bad, y_bad)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (-np.ones(10), "sample_weight must be non-negative"),
        (np.zeros(10), "sample_weight sums to zero"),
        (np.ones(3), r"sample_weight must be 1-D with 10 values"),
        (np.full(10, np.nan), "Input sample_weight contains NaN at row 0"),
    ],
)
def test_sample_weight_errors(weights, match):
    with pytest.raises(DataError, match=match):
        GDRegressor().fit(X, Y, sample_weight=weights)


def test_predict_errors():
    with pytest.raises(NotFittedError, match="This GDRegressor instance is not fitted yet"):
        GDRegressor().predict(X)
    model = GDRegressor().fit(X, Y)
    with pytest.raises(ValueError, match="X has 3 features, but GDRegressor is expecting 2"):
        model.predict(np.ones((2, 3)))
    with pytest.raises(DataError, match="Input X contains NaN at row 1, column 0") as caught:
        model.predict(np.array([[1.0, 2.0], [np.nan, 1.0]]))
    # The advice holds for predicting as for fitting: it names no step.
    assert str(caught.value).endswith(
        "Remove or impute non-finite values, e.g. with sklearn.impute.SimpleImputer.")


def test_errors_are_also_builtin_exceptions():
    assert issubclass(DataError, ValueError) and issubclass(ParameterError, ValueError)
    assert issubclass(DataTypeError, TypeError) and issubclass(DataError, GradregError)


# Values in messages are shown as the Python values they are, not numpy's repr of them
# (``np.float64(nan)`` since numpy 2): one case per message that shows a value it was given.
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize(("bad", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_values_are_shown_plainly(dtype, bad, shown):
    data = X.astype(dtype)
    data[7, 1] = bad
    kind = "NaN" if np.isnan(bad) else "infinity"
    with pytest.raises(DataError, match=rf"^Input X contains {kind} at row 7, column 1 \(value "
                                        rf"{shown}\)\. Remove"):
        GDRegressor().fit(data, Y)


FULL_RANK = np.c_[np.arange(10.0), np.arange(10.0) ** 2]
NUMPY_VALUES = [
    (lambda: GDRegressor(alpha=np.float64(-1.0)).fit(X, Y), "Got -1.0 instead."),
    (lambda: GDRegressor(max_iter=np.int64(0)).fit(X, Y), "Got 0 instead."),
    (lambda: GDRegressor().fit(np.float64(3.0), Y), "got a scalar 3.0."),
    (lambda: GDRegressor(solver="cg", learning_rate=np.float32(0.5)).fit(X, Y),
     "but learning_rate=0.5 was set"),
    (lambda: GDRegressor(solver="sgd", early_stopping=True,
                         validation_fraction=np.float64(0.95)).fit(X[:2], Y[:2]),
     "validation_fraction=0.95 holds out all"),
    (lambda: GDRegressor().fit(FULL_RANK, Y, checkpoint="ck.json",
                                      checkpoint_every=np.float64(2.5)),
     "Got 2.5 instead."),
    (lambda: gradient_descent(X[:, 0], Y, np.float64(-0.1), 3), "Got -0.1 instead."),
    (lambda: gradient_descent(X[:, 0], Y, 0.01, np.float64(3.0)), "Got 3.0 instead."),
    (lambda: GDRegressor().fit(FULL_RANK, Y).summary(alpha=np.float32(2.0)), "Got 2.0 instead."),
]


@pytest.mark.parametrize(("call", "shown"), NUMPY_VALUES)
def test_numpy_values_in_messages_are_shown_plainly(call, shown):
    with pytest.raises(GradregError) as raised:
        call()
    assert shown in str(raised.value)
    assert "np." not in str(raised.value) and "array(" not in str(raised.value)

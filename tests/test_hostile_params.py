"""Parameters at and beyond their edges, as numpy scalars and as booleans of numpy's kind."""

from __future__ import annotations

import numpy as np
import pytest

from gradreg import GDRegressor, load_model
from gradreg.errors import ParameterError


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 3.0 + rng.normal(0.0, 0.1, 80)


BOOLEANS = [
    {"fit_intercept": np.False_},
    {"standardize": np.False_},
    {"warm_start": np.True_},
    {"solver": "sgd", "shuffle": np.False_, "random_state": 0, "max_iter": 3},
    {"solver": "sgd", "average": np.False_, "random_state": 0, "max_iter": 3},
    {"solver": "sgd", "average": np.True_, "random_state": 0, "max_iter": 3},
    {"solver": "gd", "line_search": np.True_},
]


@pytest.mark.filterwarnings("ignore::gradreg.errors.ConvergenceWarning")
@pytest.mark.parametrize("params", BOOLEANS)
def test_numpy_booleans_are_booleans(data, params):
    X, y = data
    as_python = {k: bool(v) if isinstance(v, np.bool_) else v for k, v in params.items()}
    numpy_fit = GDRegressor(**params).fit(X, y)
    python_fit = GDRegressor(**as_python).fit(X, y)
    np.testing.assert_array_equal(numpy_fit.coef_, python_fit.coef_)
    assert numpy_fit.intercept_ == python_fit.intercept_


@pytest.mark.parametrize("value", [1, 0, "True"])
def test_other_values_for_a_boolean_are_still_refused(data, value):
    with pytest.raises(ParameterError, match=r"'fit_intercept' parameter .* one of \{True, "
                                             rf"False\}}. Got {value!r} instead"):
        GDRegressor(fit_intercept=value).fit(*data)


NUMPY_SCALARS = [
    {"max_iter": np.int64(50)},
    {"tol": np.float32(1e-3)},
    {"fit_intercept": np.False_},
    {"solver": "sgd", "batch_size": np.int64(8), "random_state": np.int64(1),
     "average": np.int64(5), "shuffle": np.True_, "max_iter": 3},
    {"solver": "gd", "learning_rate": np.float32(0.1)},
    {"penalty": "l2", "alpha": np.float64(0.5)},
]


@pytest.mark.filterwarnings("ignore::gradreg.errors.ConvergenceWarning")
@pytest.mark.parametrize("params", NUMPY_SCALARS)
def test_a_model_fitted_with_numpy_scalar_settings_can_be_saved(data, params, tmp_path):
    X, y = data
    model = GDRegressor(**params).fit(X, y)
    model.save(tmp_path / "model.json")
    loaded = load_model(tmp_path / "model.json")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for name, value in params.items():
        assert loaded.get_params()[name] == value


@pytest.mark.filterwarnings("ignore::gradreg.errors.ConvergenceWarning")
def test_a_batch_larger_than_the_rows_is_all_rows(data):
    # A batch beyond any array size must not allocate it: the steps are those of batch = n.
    X, y = data
    # A fixed rate: the automatic one depends on the batch size through its variance term.
    settings = {"solver": "sgd", "learning_rate": 0.05, "random_state": 0, "max_iter": 5}
    huge = GDRegressor(batch_size=10**18, **settings).fit(X, y)
    whole = GDRegressor(batch_size=len(y), **settings).fit(X, y)
    np.testing.assert_array_equal(huge.coef_, whole.coef_)
    assert huge.intercept_ == whole.intercept_

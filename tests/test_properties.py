"""Property tests: for any input, finite coefficients and predictions, or a GradregError."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradreg import GDRegressor, GradregError, scan

SPECIAL = [0.0, 1.0, -1.0, 1e200, -1e200, 1e-200, 1e300, np.nan, np.inf, -np.inf, 5e-324]
values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from(SPECIAL),
)


@st.composite
def designs(draw):
    n = draw(st.integers(1, 12))
    d = draw(st.integers(1, 6))
    X = draw(hnp.arrays(np.float64, (n, d), elements=values))
    kind = draw(st.sampled_from(["random", "constant", "collinear"]))
    if kind == "constant":
        X[:, 0] = draw(values)
    elif kind == "collinear" and d > 1:
        X[:, 1] = 3.0 * X[:, 0]
    y = draw(hnp.arrays(np.float64, (n,), elements=values))
    return X, y


SOLVER_SETTINGS = [
    {},
    {"solver": "gd", "optimizer": "plain", "max_iter": 200},
    {"solver": "sgd", "max_iter": 5, "random_state": 0},
    {"penalty": "l1", "alpha": 0.1, "max_iter": 200},
]


def fit_or_refuse(X, y, settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = GDRegressor(**settings).fit(X, y)
        except GradregError:
            return None
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)
    try:
        predictions = model.predict(X)
    except GradregError:
        return model
    assert np.all(np.isfinite(predictions))
    return model


@pytest.mark.parametrize("fit_settings", SOLVER_SETTINGS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=designs())
def test_arrays_fit_finite_or_raise_a_gradreg_error(fit_settings, data):
    X, y = data
    fit_or_refuse(X, y, fit_settings)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=designs(), fit_settings=st.sampled_from(SOLVER_SETTINGS))
def test_arrays_many_examples(data, fit_settings):
    fit_or_refuse(*data, fit_settings)


cells = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False).map(repr),
    st.sampled_from(["", "nan", "inf", "-inf", "1e999", "abc", "1,5", '"2"', " 3 ", "NA", "0x1"]),
    st.text(alphabet="0123456789.-e, \"x", max_size=6),
)


@st.composite
def csv_texts(draw):
    columns = draw(st.integers(1, 4))
    delimiter = draw(st.sampled_from([",", ",", ";"]))
    header = delimiter.join([f"c{i}" for i in range(columns - 1)] + ["y"])
    rows = draw(st.lists(st.lists(cells, min_size=columns - 1, max_size=columns + 1),
                         max_size=8))
    lines = [header] + [delimiter.join(row) for row in rows]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), "")
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(text=csv_texts())
def test_csv_text_fits_finite_or_raises_a_gradreg_error(tmp_path, text):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = GDRegressor().fit(scan(path, target="y"))
        except GradregError:
            return
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)

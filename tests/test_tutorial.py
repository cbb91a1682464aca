"""The classic algorithm against a literal transcription of the ten-line loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradreg import (
    DivergenceError,
    ParameterError,
    classic_max_stable_learning_rate,
    gradient_descent,
)
from gradreg.datasets import load_study_time


def classic_loop(x, y, learning_rate, epochs):
    """The tutorial's loop, in plain Python, exactly as it is usually written."""
    m = 0.0
    b = 0.0
    n = float(len(x))
    cost = 0.0
    for _ in range(epochs):
        predictions = [m * xi + b for xi in x]
        cost = sum((yi - pi) ** 2 for yi, pi in zip(y, predictions)) / n
        dm = -(2 / n) * sum(xi * (yi - pi) for xi, yi, pi in zip(x, y, predictions))
        db = -(2 / n) * sum(yi - pi for yi, pi in zip(y, predictions))
        m = m - learning_rate * dm
        b = b - learning_rate * db
    return m, b, cost


def test_matches_the_classic_loop_on_the_bundled_data():
    data = load_study_time()
    x, y = data.hours.tolist(), data.score.tolist()
    expected = classic_loop(x, y, 0.01, 300)
    got = gradient_descent(data.hours, data.score, learning_rate=0.01, epochs=300)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@settings(max_examples=30, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(-10, 10), st.floats(-100, 100)), min_size=1, max_size=20
    ),
    epochs=st.integers(1, 50),
)
def test_matches_the_classic_loop_on_random_data(points, epochs):
    x = [p[0] for p in points]
    y = [p[1] for p in points]
    rate = 0.5 * classic_max_stable_learning_rate(x) if any(x) else 0.1
    expected = classic_loop(x, y, rate, epochs)
    got = gradient_descent(np.array(x), np.array(y), learning_rate=rate, epochs=epochs)
    scale = max(1.0, max(abs(v) for v in expected))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * scale)


def test_reaches_the_least_squares_line():
    data = load_study_time()
    m, b, _ = gradient_descent(data.hours, data.score, learning_rate=0.02, epochs=20_000)
    slope, intercept = np.polyfit(data.hours, data.score, 1)
    assert m == pytest.approx(slope, rel=1e-9)
    assert b == pytest.approx(intercept, rel=1e-9)


def test_stability_limit_is_exact():
    data = load_study_time()
    limit = classic_max_stable_learning_rate(data.hours)
    gradient_descent(data.hours, data.score, learning_rate=0.99 * limit, epochs=3000)
    with pytest.raises(DivergenceError, match=r"largest stable learning rate .* is 0\.0297"):
        gradient_descent(data.hours, data.score, learning_rate=1.5 * limit, epochs=3000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": 0.0}, r"'learning_rate' parameter of gradient_descent must be a float"),
        ({"learning_rate": -1.0}, r"range \(0.0, inf\). Got -1.0 instead"),
        ({"learning_rate": float("nan")}, r"Got nan instead"),
        ({"epochs": 0}, r"'epochs' parameter of gradient_descent must be an int in the range"),
        ({"epochs": 2.5}, r"Got 2.5 instead"),
    ],
)
def test_parameter_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        gradient_descent([1.0, 2.0], [1.0, 2.0], **kwargs)


def test_data_errors():
    with pytest.raises(ValueError, match="different lengths: x has 2, y has 3"):
        gradient_descent([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="empty"):
        gradient_descent([], [])
    with pytest.raises(ValueError, match="contains NaN at row 1"):
        gradient_descent([1.0, np.nan], [1.0, 2.0])

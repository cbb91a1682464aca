"""SGD's partial_fit on tiny and degenerate chunks: it ends near the least-squares fit of the
rows seen, or says with a ConvergenceWarning how far off it is; it never ends far off silently."""

import re
import warnings

import numpy as np
import pytest

from conftest import make_regression
from gradreg import ConvergenceWarning, GDRegressor

N_ROWS = 400


def _data(seed=0):
    X, y = make_regression(N_ROWS, 3, seed=seed)
    return X, y


def _split(X, y, size):
    return [(X[start:start + size], y[start:start + size]) for start in range(0, len(y), size)]


def _constant_column_first(X, y):
    X = X.copy()
    X[:100, 2] = X[0, 2]
    return _split(X, y, 100)


def _equal_targets_first(X, y):
    y = y.copy()
    y[:100] = y[0]
    return _split(X, y, 100)


def _sorted_one_row(X, y):
    order = np.argsort(X[:, 2])
    return _split(X[order], y[order], 1)


KINDS = {
    "one-row chunks": lambda X, y: _split(X, y, 1),
    "two-row chunks": lambda X, y: _split(X, y, 2),
    "constant column in the first chunk": _constant_column_first,
    "equal targets in the first chunk": _equal_targets_first,
    "one-row chunks sorted by a column": _sorted_one_row,
}


def _far_warnings(caught):
    return [w for w in caught if issubclass(w.category, ConvergenceWarning)
            and "ended far from the least-squares fit" in str(w.message)]


@pytest.mark.parametrize("kind", KINDS)
def test_sgd_partial_fit_never_ends_far_off_silently(kind):
    X, y = _data()
    model = GDRegressor(solver="sgd", random_state=0)
    seen = 0
    for X_chunk, y_chunk in KINDS[kind](X, y):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.partial_fit(X_chunk, y_chunk)
        seen += len(y_chunk)
        # No overflow or division warnings on the way (an exact fit makes f* zero).
        assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
        far = _far_warnings(caught)
        if model.optimality_gap_ > 1.0:
            assert len(far) == 1
            message = str(far[0].message)
            assert f"of the {seen} rows seen so far" in message
            assert f"optimality gap (f - f*)/f* = {model.optimality_gap_:.3g}" in message
        else:
            assert not far


@pytest.mark.parametrize("size", [1, 2])
def test_sgd_partial_fit_on_tiny_shuffled_chunks_ends_near_the_fit(size):
    # Iterates taken while the scaling still came from a row or two are far off in the later
    # scaling; the average restarts when the last iterate fits the rows seen better, so the
    # stream does not carry them to its end (it used to end at a gap of 1e2 to 1e4).
    X, y = _data(seed=1)
    model = GDRegressor(solver="sgd", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for X_chunk, y_chunk in _split(X, y, size)[:-1]:
            model.partial_fit(X_chunk, y_chunk)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.partial_fit(*_split(X, y, size)[-1])
    assert model.optimality_gap_ <= 1.0
    assert not _far_warnings(caught)


def test_a_first_one_row_chunk_warns_with_the_measured_state():
    X, y = _data(seed=2)
    model = GDRegressor(solver="sgd", random_state=0)
    pattern = (r"partial_fit with solver='sgd' ended far from the least-squares fit of the 1 "
               r"rows seen so far: optimality gap \(f - f\*\)/f\* = \S+, coefficients' relative "
               r"error bound \S+, learning rate \S+\. .*use the default solver")
    with pytest.warns(ConvergenceWarning, match=pattern):
        model.partial_fit(X[:1], y[:1])


def test_partial_fit_on_the_data_route_takes_sgd_steps_and_warns_when_worse_than_the_mean():
    # Without the statistics there is no merged fit: the automatic choice is SGD (it used to
    # fail looking up the full-batch solver's update rule). With no optimum to measure, a
    # call warns when the model predicts the chunk worse than the chunk's mean does.
    X, y = _data(seed=3)
    model = GDRegressor(route="data", random_state=0)
    pattern = (r"partial_fit with solver='sgd' ended predicting this chunk of 2 rows worse than "
               r"its mean does: loss \S+ \(half the mean squared error\) against \S+, learning "
               r"rate \S+\. Too wide for the statistics")
    with pytest.warns(ConvergenceWarning, match=pattern):
        model.partial_fit(X[:2], y[:2])
    assert model.solver_ == "sgd" and model.route_ == "data"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for X_chunk, y_chunk in _split(X[2:], y[2:], 2):
            model.partial_fit(X_chunk, y_chunk)
    for warning in _far_warnings(caught):
        raise AssertionError(f"the statistics' warning on the data route: {warning.message}")
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            loss, constant = re.findall(r"loss (\S+) .* against (\S+),", str(warning.message))[0]
            assert float(loss) > float(constant)


@pytest.mark.parametrize("settings", [
    {}, {"optimizer": "momentum"}, {"optimizer": "adam"}, {"optimizer": "adagrad"},
    {"schedule": "invscaling"}, {"schedule": "exponential"},
], ids=repr)
def test_a_stream_survives_pickling_and_goes_on_as_before(settings):
    """The SGD stream's schedule and optimizer were closures, which pickle refused ("Can't
    pickle local object"): no model that had seen partial_fit with solver='sgd' could be
    saved with pickle or joblib. Read back, the copy takes the same steps as the original."""
    import pickle

    X, y = _data()
    model = GDRegressor(solver="sgd", random_state=0, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one pass per chunk may end short of the fit
        model.partial_fit(X[:200], y[:200])
        copy = pickle.loads(pickle.dumps(model))
        model.partial_fit(X[200:], y[200:])
        copy.partial_fit(X[200:], y[200:])
    np.testing.assert_array_equal(copy.coef_, model.coef_)
    assert copy.intercept_ == model.intercept_

"""Data frames from pandas, polars and pyarrow: names kept, prediction by name, one type rule."""

from __future__ import annotations

import datetime
import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import make_regression, relative_error
from gradreg import DataError, DataTypeError, GDRegressor

pl = pytest.importorskip("polars")

NAMES = ["a", "b", "c"]


def frames(X):
    """The same columns as a pandas, polars and pyarrow frame, and a RecordBatch."""
    columns = {n: X[:, j] for j, n in enumerate(NAMES)}
    return {
        "pandas": pd.DataFrame(columns),
        "polars": pl.DataFrame(columns),
        "pyarrow": pa.table(columns),
        "record batch": pa.RecordBatch.from_pydict(columns),
    }


def reordered(frame, order):
    if isinstance(frame, pd.DataFrame):
        return frame[order]
    return frame.select(order)


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow", "record batch"])
def test_frames_fit_like_arrays_and_predict_by_name(kind):
    X, y = make_regression(200, 3, seed=4)
    expected = GDRegressor().fit(X, y)
    frame = frames(X)[kind]
    model = GDRegressor().fit(frame, y)
    assert list(model.feature_names_in_) == NAMES
    # The same float64 numbers, so the same statistics and the same fit.
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    order = ["c", "a", "b"]
    np.testing.assert_array_equal(model.predict(reordered(frame, order)), model.predict(frame))
    np.testing.assert_array_equal(model.predict(frame), expected.predict(X))


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow", "record batch"])
def test_other_names_are_still_refused(kind):
    """On one line, naming the columns missing and those fit did not see (scikit-learn's own
    message lists them over several lines)."""
    X, y = make_regression(50, 3, seed=5)
    model = GDRegressor().fit(frames(X)[kind], y)
    other = frames(X)[kind]
    other = other.rename(columns={"c": "z"}) if kind == "pandas" else (
        other.rename({"c": "z"}) if kind == "polars" else other.rename_columns(["a", "b", "z"]))
    with pytest.raises(DataError) as raised:
        model.predict(other)
    assert str(raised.value) == (
        "The feature names should match those that were passed during fit: 'c' missing from X, "
        "'z' unseen at fit time (fit saw 'a', 'b', 'c')."
    )
    assert isinstance(raised.value, ValueError)


def test_interchange_protocol_objects_are_frames():
    X, y = make_regression(60, 3, seed=6)

    class Interchange:
        """Only the dataframe interchange protocol, as some libraries expose it."""

        def __init__(self, table):
            self._table = table

        def __dataframe__(self, nan_as_null=False, allow_copy=True):
            return self._table.__dataframe__(nan_as_null, allow_copy)

    model = GDRegressor().fit(Interchange(frames(X)["pyarrow"]), y)
    assert relative_error(model.coef_, GDRegressor().fit(X, y).coef_) == 0


def test_boolean_integer_and_decimal_columns_are_fitted():
    rng = np.random.default_rng(7)
    flags = rng.integers(0, 2, 40).astype(bool)
    counts = rng.integers(-5, 50, 40)
    cents = rng.integers(-10_000, 10_000, 40)
    y = 2.0 * flags - 0.5 * counts + 0.01 * cents + rng.normal(size=40)
    table = pa.table({
        "flag": flags, "count": pa.array(counts, pa.int16()),
        "price": pa.array([decimal.Decimal(int(c)).scaleb(-2) for c in cents],
                          pa.decimal128(10, 2)),
    })
    X = np.c_[flags, counts, cents / 100]
    model = GDRegressor().fit(table, y)
    # Decimals are read through their text: each value is the correctly rounded float.
    np.testing.assert_array_equal(model.coef_, GDRegressor().fit(X, y).coef_)


START = datetime.datetime(2024, 1, 1)


@pytest.mark.parametrize(
    ("column", "match"),
    [
        (pd.Series(["x", "y"] * 5), r"column 'b': type (large_)?string cannot be fitted \(text "
                                    r"is not a number; encode it as numbers first"),
        (pd.Series(["x", "y"] * 5, dtype="category"),
         r"column 'b': type dictionary<.*> cannot be fitted \(categories are not numbers; encode"),
        (pd.Series(pd.date_range(START, periods=10)),
         r"column 'b': type timestamp\[.s\] cannot be fitted \(times are not numbers; convert"),
        (pd.Series(pd.to_timedelta(np.arange(10), unit="s")),
         r"column 'b': type duration\[.s\] cannot be fitted \(times are not numbers"),
        (pd.Series([START.date()] * 10), r"column 'b': type date32\[day\] cannot be fitted"),
        (pd.Series([b"ab"] * 10), r"column 'b': type binary cannot be fitted \(bytes"),
        (pd.Series([[1.0]] * 10), r"column 'b': type list<item: double> cannot be fitted"),
        (pd.Series([1.0, "x"] * 5, dtype=object),
         r"Input X, column 'b': dtype object holds values that are not numbers; encode"),
    ],
)
def test_unfittable_dataframe_columns_are_refused_by_name(column, match):
    frame = pd.DataFrame({"a": np.arange(10.0), "b": column})
    with pytest.raises(DataTypeError, match=match):
        GDRegressor().fit(frame, np.arange(10.0))


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow"])
def test_the_same_rule_for_every_frame_library(kind):
    times = [START + datetime.timedelta(hours=i) for i in range(10)]
    columns = {"a": np.arange(10.0), "t": times}
    frame = {"pandas": pd.DataFrame, "polars": pl.DataFrame, "pyarrow": pa.table}[kind](columns)
    with pytest.raises(DataTypeError, match=r"Input X, column 't': type timestamp\[.s\] cannot "
                                            r"be fitted \(times are not numbers"):
        GDRegressor().fit(frame, np.arange(10.0))


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow"])
def test_missing_values_name_the_row_and_column(kind):
    columns = {"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, 2.0, None, 5.0]}
    frame = {"pandas": pd.DataFrame, "polars": pl.DataFrame, "pyarrow": pa.table}[kind](columns)
    with pytest.raises(DataError, match=r"Input X, row 2, column 'b': missing value"):
        GDRegressor().fit(frame, np.arange(4.0))


@pytest.mark.parametrize("dtype", ["M8[D]", "M8[ns]", "m8[s]"])
def test_numpy_times_follow_the_same_rule(dtype):
    X = np.arange(6).astype(dtype).reshape(-1, 2)
    with pytest.raises(DataTypeError, match=r"Input X, column 0: type (date32|timestamp|duration)"
                                            r".* cannot be fitted \(times are not numbers"):
        GDRegressor().fit(X, np.arange(3.0))

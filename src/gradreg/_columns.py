"""Data frames and typed columns: one rule for arrays, DataFrames, Arrow tables and Parquet.

Numeric, boolean and decimal columns are fitted (as float64). String, dictionary
(categorical), list, struct, binary and temporal columns are refused, naming the column and
its type. Any frame that pyarrow can read is accepted: pandas and polars DataFrames, pyarrow
Tables and RecordBatches, and objects exposing the Arrow PyCapsule stream interface
(``__arrow_c_stream__``) or the dataframe interchange protocol (``__dataframe__``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.types as pat

from ._messages import listing
from .errors import DataError, DataTypeError

__all__ = [
    "align_columns",
    "as_float64",
    "check_column_type",
    "check_feature_names",
    "frame_names",
    "frame_to_array",
    "to_table",
]

_ENCODE = ("encode it as numbers first, e.g. with sklearn.preprocessing.OneHotEncoder or "
           "pandas.get_dummies")
_TEMPORAL = ("convert it to numbers first, e.g. seconds since a reference time "
             "((t - t0) / timedelta(seconds=1))")


def refusal(dtype: pa.DataType) -> str | None:
    """Why a column of Arrow type ``dtype`` cannot be fitted (``None`` when it can)."""
    if pat.is_integer(dtype) or pat.is_floating(dtype) or pat.is_boolean(dtype):
        return None
    if pat.is_decimal(dtype) or pat.is_null(dtype):
        return None
    is_view = getattr(pat, "is_string_view", lambda t: False)  # pyarrow >= 16
    if pat.is_string(dtype) or pat.is_large_string(dtype) or is_view(dtype):
        return f"text is not a number; {_ENCODE}"
    if pat.is_dictionary(dtype):
        return f"categories are not numbers; {_ENCODE}"
    if pat.is_temporal(dtype):
        return f"times are not numbers; {_TEMPORAL}"
    if pat.is_binary(dtype) or pat.is_large_binary(dtype) or pat.is_fixed_size_binary(dtype):
        return "bytes are not numbers"
    if pat.is_nested(dtype):
        return "nested values are not numbers; flatten them into one numeric column each"
    return "gradreg fits numeric, boolean and decimal columns only"


def as_float64(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric, boolean or decimal column as float64 values, each correctly rounded.

    Decimals go through their exact decimal text: a direct cast divides by a power of ten in
    floating point and can be one unit in the last place off.
    """
    if pat.is_decimal(column.type):
        column = column.cast(pa.string())
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False)


def check_column_type(dtype: pa.DataType, column: str, where: str) -> None:
    """Raise DataTypeError naming ``where`` (file or input), ``column`` and ``dtype``."""
    why = refusal(dtype)
    if why is not None:
        raise DataTypeError(f"{where}, column {column!r}: type {dtype} cannot be fitted ({why}).")


def _is_pandas_frame(X: Any) -> bool:
    return type(X).__module__.split(".")[0] == "pandas" and type(X).__name__ == "DataFrame"


def to_table(X: Any, what: str = "X") -> pa.Table | None:
    """``X`` as a pyarrow Table when it is a data frame, else ``None``."""
    if isinstance(X, np.ndarray | list | tuple):
        return None
    if isinstance(X, pa.Table):
        return X
    if isinstance(X, pa.RecordBatch):
        return pa.Table.from_batches([X])
    if _is_pandas_frame(X):
        columns = {}
        for name in X.columns:
            series = X[name]
            try:
                columns[str(name)] = pa.array(series, from_pandas=True)
            except (pa.ArrowException, TypeError, ValueError):
                raise DataTypeError(
                    f"Input {what}, column {name!r}: dtype {series.dtype} holds values that are "
                    f"not numbers; {_ENCODE}."
                ) from None
        return pa.table(columns) if columns else None
    if hasattr(X, "__arrow_c_stream__"):
        try:
            return pa.table(X)
        except (pa.ArrowException, TypeError, ValueError):
            return None
    if hasattr(X, "__dataframe__"):
        from pyarrow.interchange import from_dataframe

        return from_dataframe(X)
    return None


def frame_names(X: Any) -> list[str] | None:
    """Column names of a data frame when they are all strings (scikit-learn's rule)."""
    if _is_pandas_frame(X):
        names = list(X.columns)
    elif isinstance(X, pa.Table | pa.RecordBatch):
        names = list(X.schema.names)
    elif hasattr(X, "columns") and not isinstance(X, np.ndarray):
        names = list(X.columns)
    else:
        return None
    if names and all(isinstance(n, str) for n in names):
        return names
    return None


def frame_to_array(X: Any, what: str = "X") -> np.ndarray | None:
    """A 2-D float64 array of a data frame's columns (``None`` when ``X`` is no frame).

    Raises DataTypeError for a column that cannot be fitted and DataError for a missing value,
    naming the row and the column.
    """
    table = to_table(X, what)
    if table is None:
        return None
    where = f"Input {what}"
    for field in table.schema:
        check_column_type(field.type, field.name, where)
    array = np.empty((table.num_rows, table.num_columns), dtype=np.float64)
    for j, (name, column) in enumerate(zip(table.column_names, table.columns, strict=True)):
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataError(
                f"{where}, row {row}, column {name!r}: missing value (null or NaN). Remove or "
                "impute missing values, e.g. with sklearn.impute.SimpleImputer."
            )
        array[:, j] = as_float64(column)
    return array


def align_columns(X: Any, names: Sequence[str] | None) -> Any:
    """``X`` with its columns in the order of ``names`` when it holds the same named columns.

    Prediction is by name: a frame whose columns are those seen in fit, in another order,
    predicts as if given in fit's order. Anything else is returned as it is.
    """
    if isinstance(X, pa.RecordBatch):
        X = pa.Table.from_batches([X])  # whose names scikit-learn's checks can read
    if names is None:
        return X
    given = frame_names(X)
    names = [str(n) for n in names]
    if given is None or given == names or sorted(given) != sorted(names):
        return X
    if _is_pandas_frame(X):
        return X[names]
    if isinstance(X, pa.Table) or callable(getattr(X, "select", None)):
        return X.select(names)  # pyarrow, polars and the libraries that share its API
    return X


def check_feature_names(given: Sequence[str], fitted: Sequence[str], whose: str = "X") -> None:
    """One line naming the columns missing from ``given`` and those it has that fit did not
    see; scikit-learn's message for this lists them on separate lines.

    Raises
    ------
    DataError
        When ``given`` is not ``fitted`` (a DataError is a ValueError, as scikit-learn's is).
    """
    given, fitted = [str(n) for n in given], [str(n) for n in fitted]
    if given == fitted:
        return
    missing = [n for n in fitted if n not in given]
    unexpected = [n for n in given if n not in fitted]
    parts = [f"{listing(missing)} missing from {whose}"] if missing else []
    if unexpected:
        parts.append(f"{listing(unexpected)} unseen at fit time")
    if not parts:  # the same names, one of them repeated, or in another order
        repeated = sorted({n for n in given if given.count(n) > 1})
        parts = ([f"{listing(repeated)} repeated in {whose}"] if repeated else
                 [f"the columns of {whose} in another order; select them in fit's order"])
    raise DataError(
        f"The feature names should match those that were passed during fit: "
        f"{', '.join(parts)} (fit saw {listing(fitted)})."
    )

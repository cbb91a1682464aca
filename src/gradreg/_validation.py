"""Input checks and the parameter-constraint table, with one error-message format.

Messages follow scikit-learn's: they name the parameter, the allowed set and the value given.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.exceptions import DataConversionWarning

from ._columns import check_column_type, frame_names, frame_to_array
from ._messages import shown
from .errors import (
    DataError,
    DataTypeError,
    GradregError,
    InsufficientMemoryError,
    ParameterError,
)

# ---------------------------------------------------------------------------------------------
# Parameter constraints
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A real or integer range ``[low, high]``; ``None`` means unbounded on that side."""

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"  # "both", "left", "right" or "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if isinstance(value, Real) and not math.isfinite(value):
            # NaN is in no range, and an open end ("inf)") excludes infinity itself.
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def describe(self) -> str:
        name = "an int" if self.kind is Integral else "a float"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else repr(self.low)
        high = "inf" if self.high is None else repr(self.high)
        return f"{name} in the range {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (strings, ``None``, ``True``/``False``)."""

    values: tuple

    def accepts(self, value: Any) -> bool:
        if isinstance(value, np.bool_):  # numpy's booleans are booleans, as in scikit-learn
            value = bool(value)
        return any(value is v or (isinstance(v, str) and value == v) for v in self.values)

    def describe(self) -> str:
        return "one of {" + ", ".join(repr(v) for v in self.values) + "}"


@dataclass(frozen=True)
class IsCallable:
    """Any callable, such as a learning-rate schedule."""

    what: str = "a callable"

    def accepts(self, value: Any) -> bool:
        return callable(value)

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class ListOfCallables:
    """``None``, a callable or a list of callables."""

    def accepts(self, value: Any) -> bool:
        if callable(value):
            return True
        return isinstance(value, list | tuple) and all(callable(v) for v in value)

    def describe(self) -> str:
        return "a callable or a list of callables"


@dataclass(frozen=True)
class RandomState:
    """``None``, an int or a ``numpy.random.Generator`` / ``RandomState``."""

    def accepts(self, value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, Integral) and not isinstance(value, bool):
            return value >= 0
        return isinstance(value, np.random.Generator | np.random.RandomState)

    def describe(self) -> str:
        return "None, a non-negative int or a numpy random generator"


@dataclass(frozen=True)
class Text:
    """A string, such as a model formula."""

    what: str = "a str"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return self.what


Constraint = Interval | Options | IsCallable | ListOfCallables | RandomState | Text


def validate_params(
    owner: str, params: Mapping[str, Any], table: Mapping[str, Iterable[Constraint]]
) -> None:
    """Check every parameter in ``params`` against ``table``; raise one ParameterError."""
    for name, constraints in table.items():
        value = params[name]
        constraints = list(constraints)
        if any(c.accepts(value) for c in constraints):
            continue
        allowed = [c.describe() for c in constraints]
        if len(allowed) == 1:
            must = allowed[0]
        else:
            must = ", ".join(allowed[:-1]) + " or " + allowed[-1]
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be {must}. Got {shown(value)} instead."
        )


# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------

_RESHAPE_HINT = (
    "Reshape your data either using array.reshape(-1, 1) if your data has a single feature "
    "or array.reshape(1, -1) if it contains a single sample."
)


def check_finite(values: np.ndarray, what: str, row_offset: int = 0) -> None:
    """Raise DataError naming the first row and column holding NaN or infinity."""
    if values.dtype.kind not in "fc":
        return
    # np.isfinite(x.sum()) is a fast screen; locate the culprit only when it fails.
    with np.errstate(all="ignore"):
        total = values.sum(dtype=np.float64)
    if np.isfinite(total):
        return
    bad = ~np.isfinite(values)
    if not bad.any():
        return  # the sum overflowed on finite values: not an input error
    index = np.argwhere(bad)[0]
    row = int(index[0]) + row_offset
    value = values[tuple(index)]
    where = f"row {row}" + (f", column {int(index[1])}" if values.ndim == 2 else "")
    kind = "NaN" if np.isnan(value) else "infinity"
    raise DataError(
        f"Input {what} contains {kind} at {where} (value {shown(value)}). "
        "Remove or impute non-finite values, e.g. with "
        "sklearn.impute.SimpleImputer."
    )


def as_numeric(values: Any, what: str) -> np.ndarray:
    """Convert ``values`` to a real float or int array or raise DataError."""
    if hasattr(values, "tocsr") or type(values).__module__.startswith("scipy.sparse"):
        raise DataError(
            f"Sparse data was passed for {what}, but dense data is required. Use "
            f"{what}.toarray() to convert to a dense numpy array."
        )
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise DataError(f"Input {what} cannot be converted to a numeric array: {exc}") from None
    if array.dtype.kind == "c":
        raise DataError(
            f"Complex data not supported: input {what} is {array.dtype}; gradreg fits real "
            "values only. "
            "Take the real part or split real and imaginary parts into separate columns."
        )
    if array.dtype.kind == "b":
        return array.astype(np.float64)
    if array.dtype.kind in "mM":
        # The rule of every other input (frames, Arrow, Parquet): times are not numbers.
        column = 0 if array.ndim == 2 else what  # one dtype for all columns: name the first
        check_column_type(pa.from_numpy_dtype(array.dtype), column, f"Input {what}")
    if array.dtype.kind not in "iuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataTypeError(
                f"Input {what} must be numeric; it has dtype {array.dtype} and a value that is "
                f"not a number ({exc}). Encode categorical columns first, e.g. with "
                "sklearn.preprocessing.OneHotEncoder."
            ) from None
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        array = array.astype(np.float32)
    return array


def check_X(X: Any, what: str = "X", finite: bool = True) -> np.ndarray:
    """A 2-D numeric array with at least one row and one column, finite unless told not to.

    ``finite=False`` leaves the check to the caller (the statistics pass detects non-finite
    values for free and then asks for them to be located).
    """
    # Data frames (pandas, polars, Arrow, ...) are read column by column, each type checked.
    framed = frame_to_array(X, what)
    array = as_numeric(X, what) if framed is None else framed
    if array.ndim == 0:
        raise DataError(
            f"Expected a 2-D array for {what}, got a scalar {shown(array)}. {_RESHAPE_HINT}"
        )
    if array.ndim == 1:
        raise DataError(f"Expected a 2-D array for {what}, got a 1-D array. {_RESHAPE_HINT}")
    if array.ndim > 2:
        raise DataError(
            f"Expected a 2-D array for {what}, got an array with {array.ndim} dimensions "
            f"of shape {array.shape}. Flatten the trailing dimensions into features first."
        )
    if array.shape[0] == 0:
        raise DataError(
            f"Found array with 0 sample(s) (shape={array.shape}) while a minimum of 1 is required."
        )
    if array.shape[1] == 0:
        raise DataError(
            f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is "
            "required."
        )
    if finite:
        check_finite(array, what)
    return array


def check_y(y: Any, n_samples: int, finite: bool = True) -> np.ndarray:
    """A 1-D numeric target with ``n_samples`` values, finite unless told not to."""
    array = as_numeric(y, "y")
    if array.ndim == 2 and array.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the shape "
            "of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(
            f"y must be 1-D (one target per row); got shape {array.shape}. gradreg fits one "
            "target at a time: fit one model per column."
        )
    if array.shape[0] != n_samples:
        raise DataError(
            f"X and y have different numbers of rows: X has {n_samples}, y has {array.shape[0]}."
        )
    if finite:
        check_finite(array, "y")
    return array


def check_sample_weight(
    sample_weight: Any, n_samples: int, allow_zero_sum: bool = False
) -> np.ndarray | None:
    """``None`` or a 1-D array of ``n_samples`` finite, non-negative weights, not all zero
    (unless ``allow_zero_sum``: a chunk of ``partial_fit`` may contribute nothing)."""
    if sample_weight is None:
        return None
    weights = as_numeric(sample_weight, "sample_weight")
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise DataError(
            f"sample_weight must be 1-D with {n_samples} values (one per row); got shape "
            f"{weights.shape}."
        )
    check_finite(weights, "sample_weight")
    if (weights < 0).any():
        raise DataError("sample_weight must be non-negative; found a negative weight.")
    if not allow_zero_sum and not weights.any():
        raise DataError("sample_weight sums to zero: at least one row needs a positive weight.")
    return weights.astype(np.float64, copy=False)


def scale_free_weights(weights: np.ndarray | None) -> tuple[np.ndarray | None, int]:
    """``weights`` with the largest brought into [0.5, 1) by a power of two, exactly, and
    that power's exponent (``weights = ldexp(result, exponent)``).

    A fit is the same for weights and weights / max(weights); this keeps weights near either
    end of float64's range from overflowing or underflowing the statistics. (Not for
    partial_fit, whose chunks must keep one common scale.)
    """
    if weights is None:
        return None, 0
    _, exponent = np.frexp(weights.max())
    with np.errstate(under="ignore"):
        return np.ldexp(weights, -exponent), int(exponent)


def feature_names_of(X: Any) -> list[str] | None:
    """Column names of a DataFrame-like input when they are all strings, else ``None``."""
    return frame_names(X)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux), or None where unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_memory(nbytes: int, what: str) -> None:
    """Refuse, with advice, to allocate ``nbytes`` when the machine has less available."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise InsufficientMemoryError(
            f"{what} needs about {nbytes / 2**30:.2f} GiB of memory but only "
            f"{available / 2**30:.2f} GiB are available. Stream the data from files instead: "
            "GDRegressor().fit(gradreg.scan(paths, target=...)) reads them in batches."
        )


@contextlib.contextmanager
def as_data_errors() -> Iterator[None]:
    """Checks delegated to scikit-learn raise its plain ``ValueError``/``TypeError``; make them
    a :class:`~gradreg.errors.DataError` (still a ``ValueError``) or
    :class:`~gradreg.errors.DataTypeError` (still a ``TypeError``), same message.
    """
    try:
        yield
    except GradregError:
        raise
    except TypeError as exc:
        raise DataTypeError(str(exc)) from exc
    except ValueError as exc:
        raise DataError(str(exc)) from exc


def check_random_state(seed: Any) -> np.random.Generator:
    """A numpy Generator from ``None``, an int, a Generator or a legacy RandomState."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(seed)


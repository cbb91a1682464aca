"""Model files: versioned JSON holding data only, validated field by field when read.

This is the file-format layer: it reads and writes plain data (numbers, arrays, strings, the
parameters as a dict) and knows nothing of the estimator, which builds itself from what
:func:`read_model` returns. Everything read is treated as hostile: the file must be a regular
file of at most :data:`MAX_FILE_BYTES`, its JSON nested at most :data:`MAX_DEPTH` deep, every
number finite and within float64's range, every integer of at most :data:`MAX_INT_DIGITS`
digits, and every field of the right type and range. Anything else is a
:class:`~gradreg.errors.ModelFormatError` naming the file and the field; a model file never
contains code (there is no pickle).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from ._version import __version__
from .errors import InputFileError, MissingFileError, ModelFormatError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INT_DIGITS",
    "check_header",
    "read_json_file",
    "read_model",
    "write_model",
]

FORMAT = "gradreg-model"
FORMAT_VERSION = 1
# A model of a million features takes about 60 MB; larger files are refused before reading.
MAX_FILE_BYTES = 256 * 2**20
# gradreg's own files nest at most about a dozen levels (a checkpoint's optimizer state).
MAX_DEPTH = 32
# Enough for a 128-bit random-generator state (39 digits); an integer longer than this is no
# field of a gradreg file.
MAX_INT_DIGITS = 48

_PICKLE_MAGIC = (b"\x80", b"(", b"c")  # protocol 2+ opcode, protocol 0 MARK, GLOBAL
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)

_FIELDS = (
    "format", "format_version", "gradreg_version", "n_features", "feature_names", "coef",
    "intercept", "preconditioner", "params", "fit",
)
# Fields a model file may hold beyond those: the formula's design, when fitted through one.
_OPTIONAL_FIELDS = ("design",)
_PRECONDITIONER = ("shift", "scale", "fit_intercept", "constant")
_FIT_TEXT = ("stop_reason", "solver", "optimizer", "route")
_FIT_NUMBERS = ("optimality_gap", "learning_rate", "lipschitz")
_FIT = ("n_iter", "converged", *_FIT_TEXT, *_FIT_NUMBERS, "metrics")
_FIT_OPTIONAL = ("statistics", "factor", "coef_error_bound")


# ---------------------------------------------------------------------------------------------
# Reading JSON that may be hostile
# ---------------------------------------------------------------------------------------------


def read_json_file(path: str | os.PathLike, what: str, non_finite: bool = False) -> Any:
    """The JSON document in ``path``, read with every limit of this module.

    Parameters
    ----------
    path : path
    what : str
        ``"model file"`` or ``"checkpoint"``, for the messages.
    non_finite : bool, default=False
        Accept the literals ``NaN``, ``Infinity`` and ``-Infinity`` (checkpoints hold them).

    Raises
    ------
    MissingFileError, InputFileError
        When the path does not exist, is not a regular file or cannot be read.
    ModelFormatError
        When the content is too large, not UTF-8 JSON, nested too deeply, or holds a number
        out of range.
    """
    where = str(path)
    raw = _read_bounded(Path(path), what)
    if raw[:1] in _PICKLE_MAGIC:
        raise ModelFormatError(
            f"{where!r} looks like a pickle file. gradreg files are JSON and pickles are never "
            "loaded, since unpickling can run arbitrary code."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFormatError(f"{where!r} is not a text (UTF-8 JSON) {what}.") from None
    depth = _depth(raw)
    if depth > MAX_DEPTH:
        raise ModelFormatError(
            f"{where!r} nests its JSON {depth} levels deep; a gradreg {what} nests at most "
            f"{MAX_DEPTH}."
        )

    def constant(token: str) -> float:
        if not non_finite:
            raise ModelFormatError(f"{where!r} holds the non-standard JSON number {token!r}.")
        return float(token)

    def integer(token: str) -> int:
        if len(token.lstrip("-")) > MAX_INT_DIGITS:
            raise ModelFormatError(
                f"{where!r} holds an integer of {len(token.lstrip('-'))} digits; no field of a "
                f"gradreg {what} has more than {MAX_INT_DIGITS}."
            )
        return int(token)

    def number(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            raise ModelFormatError(
                f"{where!r} holds the number {token[:40]!r}, beyond float64's range "
                "(about 1.8e308)."
            )
        return value

    try:
        return json.loads(text, parse_constant=constant, parse_int=integer, parse_float=number)
    except json.JSONDecodeError as exc:
        raise ModelFormatError(
            f"{where!r} is not valid JSON (truncated or corrupt): {exc.msg} at line "
            f"{exc.lineno}, column {exc.colno}."
        ) from None
    except RecursionError:  # a backstop: _depth refuses deep documents first
        raise ModelFormatError(f"{where!r} nests its JSON too deeply.") from None


def _read_bounded(target: Path, what: str) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES; nothing else is opened for long."""
    where = str(target)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused.
        descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise MissingFileError(f"The {what} {where!r} does not exist.") from None
    except IsADirectoryError:
        raise InputFileError(f"The {what} path {where!r} is a folder, not a file.") from None
    except OSError as exc:
        raise InputFileError(f"Cannot read the {what} {where!r}: {exc.strerror}.") from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise InputFileError(f"The {what} path {where!r} is a folder, not a file.")
        raise InputFileError(
            f"The {what} {where!r} is not a regular file (a device, FIFO or socket); "
            "gradreg reads its files only from regular files."
        )
    with open(descriptor, "rb") as handle:
        if info.st_size > MAX_FILE_BYTES:
            raise ModelFormatError(
                f"{where!r} is {info.st_size} bytes, larger than any gradreg {what} "
                f"({MAX_FILE_BYTES} bytes at most)."
            )
        try:
            raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise InputFileError(f"Cannot read the {what} {where!r}: {exc.strerror}.") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ModelFormatError(
            f"{where!r} is larger than any gradreg {what} ({MAX_FILE_BYTES} bytes at most)."
        )
    return raw


def _depth(raw: bytes) -> int:
    """How deeply the brackets of a JSON text nest, strings left out."""
    codes = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int64) - np.isin(codes, _CLOSE)
    return int(np.cumsum(steps).max(initial=0))


def check_header(data: Any, where: str, file_format: str, version: int, advice: str) -> None:
    """Refuse a document that is not of ``file_format`` at ``version``, naming the problem."""
    if not isinstance(data, dict) or data.get("format") != file_format:
        raise ModelFormatError(
            f"{where!r} is not a {file_format} file (no 'format': {file_format!r})."
        )
    if data.get("format_version") != version:
        shown = data.get("format_version")
        if not isinstance(shown, int | float | str | type(None)):
            shown = type(shown).__name__
        raise ModelFormatError(
            f"{where!r} has format_version {shown!r}; this gradreg reads version {version}. "
            f"{advice}"
        )


# ---------------------------------------------------------------------------------------------
# Field checks
# ---------------------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    """A JSON number (int or float), not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def finite_number(value: Any, field: str, what: str = "Model") -> float:
    """``value`` as a finite float, or ModelFormatError naming ``field``."""
    if not is_number(value):
        raise ModelFormatError(
            f"{what} field {field!r} must be a number; it holds {_kind(value)}."
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ModelFormatError(f"{what} field {field!r} is beyond float64's range.")
    return number


def optional_number(value: Any, field: str, what: str = "Model") -> float:
    """A finite float, or NaN for ``null`` (how files record an unknown value)."""
    return math.nan if value is None else finite_number(value, field, what)


def integer(value: Any, field: str, low: int, high: int, what: str = "Model") -> int:
    """An int in ``[low, high]``, or ModelFormatError naming ``field``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ModelFormatError(
            f"{what} field {field!r} must be an integer; it holds {_kind(value)}."
        )
    if not low <= value <= high:
        raise ModelFormatError(
            f"{what} field {field!r} must be in the range [{low}, {high}]; it is {value}."
        )
    return value


def finite_floats(values: Any, field: str, length: int | None = None,
                  what: str = "Model") -> np.ndarray:
    """A list of numbers as a finite float64 array of ``length`` values."""
    if not isinstance(values, list) or not all(is_number(x) for x in values):
        raise ModelFormatError(f"{what} field {field!r} must be a list of numbers.")
    if length is not None and len(values) != length:
        raise ModelFormatError(
            f"{what} field {field!r} has {len(values)} values but the model has {length} "
            "features."
        )
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError:
        array = np.array([math.inf])
    if not np.all(np.isfinite(array)):
        raise ModelFormatError(
            f"{what} field {field!r} holds NaN or values beyond float64's range."
        )
    return array


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), "a number"
    )


def _exact_keys(data: Any, keys: tuple[str, ...], field: str, where: str,
                optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(data, dict):
        raise ModelFormatError(f"Model field {field!r} must be an object; it holds {_kind(data)}.")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ModelFormatError(f"{where!r}: field {field!r} lacks {', '.join(missing)}.")
    extra = sorted(set(data) - set(keys) - set(optional))
    if extra:
        raise ModelFormatError(
            f"{where!r}: field {field!r} has unknown field(s) {', '.join(extra)}."
        )
    return data


# ---------------------------------------------------------------------------------------------
# Model files
# ---------------------------------------------------------------------------------------------


def write_model(path: str | os.PathLike, fields: dict) -> None:
    """Write a model's plain data atomically (non-finite numbers become ``null``).

    ``fields`` holds ``n_features``, ``feature_names``, ``coef``, ``intercept``,
    ``preconditioner`` (``shift``, ``scale``, ``fit_intercept``, ``constant``), ``params`` and
    ``fit`` (see :func:`read_model`).
    """
    pre = fields["preconditioner"]
    fit = fields["fit"]
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gradreg_version": __version__,
        "n_features": int(fields["n_features"]),
        "feature_names": fields["feature_names"],
        "coef": [float(c) for c in fields["coef"]],
        "intercept": float(fields["intercept"]),
        "preconditioner": {
            "shift": [float(s) for s in pre["shift"]],
            "scale": [float(s) for s in pre["scale"]],
            "fit_intercept": bool(pre["fit_intercept"]),
            "constant": [bool(c) for c in pre["constant"]],
        },
        "params": fields["params"],
        "fit": {
            "n_iter": int(fit["n_iter"]),
            "converged": bool(fit["converged"]),
            **{k: str(fit[k]) for k in _FIT_TEXT},
            **{k: _json_float(fit[k]) for k in _FIT_NUMBERS},
            "metrics": {str(k): _json_float(v) for k, v in fit["metrics"].items()},
        },
    }
    if fit.get("coef_error_bound") is not None:
        document["fit"]["coef_error_bound"] = _json_float(fit["coef_error_bound"])
    stats = fit.get("statistics")
    if stats is not None and stats.n_features <= _MAX_STORED_FEATURES:
        document["fit"]["statistics"] = stats.to_dict()
        if fit.get("factor") is not None:
            document["fit"]["factor"] = fit["factor"].to_dict()
    if fields.get("design") is not None:
        document["design"] = fields["design"]
    text = json.dumps(document, indent=2, allow_nan=False)
    with atomic_write(path) as handle:
        handle.write(text + "\n")


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def read_model(path: str | os.PathLike) -> dict:
    """The plain data of a model file, every field checked.

    Returns
    -------
    dict
        ``n_features`` (int >= 1), ``feature_names`` (list of str or None), ``coef`` (ndarray),
        ``intercept`` (float), ``preconditioner`` (dict of ``shift``, ``scale`` (> 0),
        ``fit_intercept``, ``constant`` (bool array)), ``params`` (dict of str to str, number,
        bool or None: the estimator checks their values), ``fit`` (``n_iter`` int,
        ``converged`` bool, ``stop_reason``, ``solver``, ``optimizer``, ``route`` str,
        ``optimality_gap``, ``learning_rate``, ``lipschitz`` float (NaN when unknown),
        ``metrics`` dict of str to float).

    Raises
    ------
    InputFileError
        When the file is missing, unreadable or not a regular file.
    ModelFormatError
        When it is not a valid gradreg model file (corrupt, truncated, pickled, wrong version,
        a field of the wrong type or out of range).
    """
    where = str(path)
    data = read_json_file(path, "model file")
    check_header(data, where, FORMAT, FORMAT_VERSION,
                 "Refit the model with this version of gradreg.")
    missing = [k for k in _FIELDS if k not in data]
    if missing:
        raise ModelFormatError(f"{where!r} lacks the field(s) {', '.join(missing)}.")
    extra = sorted(set(data) - set(_FIELDS) - set(_OPTIONAL_FIELDS))
    if extra:
        raise ModelFormatError(f"{where!r} has unknown field(s) {', '.join(extra)}.")
    if not isinstance(data["gradreg_version"], str):
        raise ModelFormatError("Model field 'gradreg_version' has the wrong type.")
    if not isinstance(data["n_features"], int) or isinstance(data["n_features"], bool):
        raise ModelFormatError("Model field 'n_features' has the wrong type.")
    # A file holds at least 'coef', so no more features than its bytes allow.
    d = integer(data["n_features"], "n_features", 1, MAX_FILE_BYTES)
    names = data["feature_names"]
    if names is not None and (
        not isinstance(names, list) or len(names) != d or not all(isinstance(n, str) for n in names)
    ):
        raise ModelFormatError(f"Model field 'feature_names' must be {d} strings.")
    pre = data["preconditioner"]
    if not isinstance(pre, dict):
        raise ModelFormatError("Model field 'preconditioner' has the wrong type.")
    for key in _PRECONDITIONER:
        if key not in pre:
            raise ModelFormatError(f"Model field 'preconditioner' lacks {key!r}.")
    _exact_keys(pre, _PRECONDITIONER, "preconditioner", where)
    constant = pre["constant"]
    if not isinstance(pre["fit_intercept"], bool) or not (
        isinstance(constant, list)
        and len(constant) == d
        and all(isinstance(c, bool) for c in constant)
    ):
        raise ModelFormatError("Model field 'preconditioner' is malformed.")
    scale = finite_floats(pre["scale"], "preconditioner.scale", d)
    if np.any(scale <= 0):
        raise ModelFormatError("Model field 'preconditioner.scale' must be positive.")
    return {
        "n_features": d,
        "feature_names": names,
        "coef": finite_floats(data["coef"], "coef", d),
        "intercept": finite_number(data["intercept"], "intercept"),
        "preconditioner": {
            "shift": finite_floats(pre["shift"], "preconditioner.shift", d),
            "scale": scale,
            "fit_intercept": pre["fit_intercept"],
            "constant": np.array(constant, dtype=bool),
        },
        "params": _params(data["params"]),
        "fit": _fit(data["fit"], where, d),
        "design": _design(data.get("design"), d),
    }


def _params(params: Any) -> dict:
    if not isinstance(params, dict):
        raise ModelFormatError("Model field 'params' has the wrong type.")
    for key, value in params.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ModelFormatError(
                f"Model field 'params.{key}' must be a string, number, boolean or null; it "
                f"holds {_kind(value)}."
            )
        if isinstance(value, float) and not math.isfinite(value):  # pragma: no cover
            raise ModelFormatError(f"Model field 'params.{key}' is not finite.")
    return dict(params)


def _fit(fit: Any, where: str, d: int) -> dict:
    if not isinstance(fit, dict):
        raise ModelFormatError("Model field 'fit' has the wrong type.")
    _exact_keys(fit, _FIT, "fit", where, _FIT_OPTIONAL)
    if not isinstance(fit["converged"], bool):
        raise ModelFormatError("Model field 'fit.converged' must be true or false.")
    for key in _FIT_TEXT:
        if not isinstance(fit[key], str):
            raise ModelFormatError(f"Model field 'fit.{key}' must be a string.")
    metrics = fit["metrics"]
    if not isinstance(metrics, dict):
        raise ModelFormatError("Model field 'fit.metrics' must be an object.")
    statistics = None if fit.get("statistics") is None else \
        _statistics_from_json(fit["statistics"], d)
    return {
        "n_iter": integer(fit["n_iter"], "fit.n_iter", 0, 2**63 - 1),
        "converged": fit["converged"],
        **{k: fit[k] for k in _FIT_TEXT},
        **{k: optional_number(fit[k], f"fit.{k}") for k in _FIT_NUMBERS},
        "metrics": {k: optional_number(v, f"fit.metrics.{k}") for k, v in metrics.items()},
        "coef_error_bound": optional_number(fit.get("coef_error_bound"),
                                            "fit.coef_error_bound"),
        "statistics": statistics,
        "factor": None if fit.get("factor") is None else
        _factor_from_json(fit["factor"], statistics, d),
    }


# Sufficient statistics are kept in model files (for summary tables without the data) up to
# this many features: (d+1)^2 numbers, about 6 MB of JSON at 512.
_MAX_STORED_FEATURES = 512
_SYMMETRY_RTOL = 1e-10
# A factor's weight sum is the statistics' to within rounding of a long sum.
_WEIGHT_RTOL = 1e-9


def _statistics_from_json(data: Any, d: int):
    """The statistics of field ``fit.statistics``, checked as untrusted input."""
    from .stats import SufficientStats

    field = "fit.statistics"
    if not isinstance(data, dict) or set(data) != {"n_rows", "weight_sum", "mean", "cross"}:
        raise ModelFormatError(
            f"Model field {field!r} must hold exactly n_rows, weight_sum, mean and cross."
        )
    rows = data["n_rows"]
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ModelFormatError(f"Model field '{field}.n_rows' must be a positive integer.")
    weight_sum = finite_number(data["weight_sum"], f"{field}.weight_sum")
    if weight_sum <= 0:
        raise ModelFormatError(f"Model field '{field}.weight_sum' must be positive.")
    mean, cross = data["mean"], data["cross"]
    shape = f"({d + 1} columns: the features and the target)"
    if not isinstance(mean, list) or len(mean) != d + 1:
        raise ModelFormatError(f"Model field '{field}.mean' must be {d + 1} numbers {shape}.")
    if not (isinstance(cross, list) and len(cross) == d + 1
            and all(isinstance(row, list) and len(row) == d + 1 for row in cross)):
        raise ModelFormatError(
            f"Model field '{field}.cross' must be a {d + 1} x {d + 1} matrix {shape}."
        )
    mean = finite_floats(mean, f"{field}.mean")
    matrix = np.vstack([finite_floats(row, f"{field}.cross") for row in cross])
    # Products of the blocked pass are symmetric only up to rounding.
    asymmetry = np.abs(matrix - matrix.T).max() if matrix.size else 0.0
    if asymmetry > _SYMMETRY_RTOL * np.abs(matrix).max() or np.any(np.diag(matrix) < 0):
        raise ModelFormatError(
            f"Model field '{field}.cross' must be symmetric with a non-negative diagonal."
        )
    return SufficientStats(rows, float(weight_sum), mean, matrix)


_FACTOR_KEYS = ("n_rows", "weight_sum", "shift", "scale", "fit_intercept", "R")


def _factor_from_json(data: Any, statistics: Any, d: int):
    """The QR factor of field ``fit.factor`` (:class:`~gradreg.qr_stats.QRStats`), checked as
    untrusted input: square, upper triangular, and of the rows of ``fit.statistics``."""
    from .qr_stats import QRStats

    field = "fit.factor"
    if not isinstance(data, dict) or set(data) != set(_FACTOR_KEYS):
        raise ModelFormatError(f"Model field {field!r} must hold exactly "
                               f"{', '.join(_FACTOR_KEYS)}.")
    if statistics is None or not isinstance(data["fit_intercept"], bool):
        raise ModelFormatError(
            f"Model field {field!r} must come with 'fit.statistics' and say fit_intercept."
        )
    rows = integer(data["n_rows"], f"{field}.n_rows", 1, 2**63 - 1)
    weight_sum = finite_number(data["weight_sum"], f"{field}.weight_sum")
    shift = finite_floats(data["shift"], f"{field}.shift", d + 1)
    scale = finite_floats(data["scale"], f"{field}.scale", d + 1)
    m = d + 1 + int(data["fit_intercept"])
    R = data["R"]
    if not (isinstance(R, list) and len(R) == m
            and all(isinstance(row, list) and len(row) == m for row in R)):
        raise ModelFormatError(f"Model field '{field}.R' must be a {m} x {m} matrix.")
    R = np.vstack([finite_floats(row, f"{field}.R") for row in R])
    if np.any(np.tril(R, -1)) or np.any(scale <= 0):
        raise ModelFormatError(
            f"Model field '{field}.R' must be upper triangular, and its scales positive."
        )
    if rows != statistics.n_rows or not math.isclose(weight_sum, statistics.weight_sum,
                                                     rel_tol=_WEIGHT_RTOL):
        raise ModelFormatError(
            f"Model field {field!r} must hold the rows of 'fit.statistics' (as many, and of "
            "the same weight sum)."
        )
    return QRStats(rows, weight_sum, shift, scale, data["fit_intercept"], R)


def _design(design: Any, d: int) -> dict | None:
    """The formula's design spec (field ``design``), checked as untrusted input."""
    if design is None:
        return None
    keys = ("formula", "target", "levels", "columns", "fit_intercept", "weights",
            "transform_state")
    if not isinstance(design, dict) or set(design) != set(keys):
        raise ModelFormatError(f"Model field 'design' must hold exactly {', '.join(keys)}.")
    for key in ("formula", "target"):
        if not isinstance(design[key], str):
            raise ModelFormatError(f"Model field 'design.{key}' must be a string.")
    if design["weights"] is not None and not isinstance(design["weights"], str):
        raise ModelFormatError("Model field 'design.weights' must be a string or null.")
    columns = design["columns"]
    if not (isinstance(columns, list) and len(columns) == d
            and all(isinstance(c, str) for c in columns)):
        raise ModelFormatError(f"Model field 'design.columns' must be {d} strings.")
    if not isinstance(design["fit_intercept"], bool):
        raise ModelFormatError("Model field 'design.fit_intercept' must be true or false.")
    levels = design["levels"]
    if not isinstance(levels, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str | int | float | bool) for x in v)
        for v in levels.values()
    ):
        raise ModelFormatError(
            "Model field 'design.levels' must map columns to lists of levels."
        )
    if not isinstance(design["transform_state"], dict):
        raise ModelFormatError("Model field 'design.transform_state' must be an object.")
    return design

"""Model files: versioned JSON holding data only, validated field by field when read.

A model file never contains code: there is no pickle, and :func:`load_model` refuses anything
that is not a well-formed gradreg JSON model.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from ._version import __version__
from .errors import InputFileError, MissingFileError, ModelFormatError

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "gradreg-model"
FORMAT_VERSION = 1
_PICKLE_MAGIC = (b"\x80", b"(", b"c")  # protocol 2+ opcode, protocol 0 MARK, GLOBAL
_REQUIRED = {
    "format": str,
    "format_version": int,
    "gradreg_version": str,
    "n_features": int,
    "feature_names": (list, type(None)),
    "coef": list,
    "intercept": (int, float),
    "preconditioner": dict,
    "params": dict,
    "fit": dict,
}


def _finite_floats(values: Any, field: str, length: int | None = None) -> np.ndarray:
    if not isinstance(values, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in values
    ):
        raise ModelFormatError(f"Model field {field!r} must be a list of numbers.")
    array = np.asarray(values, dtype=np.float64)
    if length is not None and array.shape[0] != length:
        raise ModelFormatError(
            f"Model field {field!r} has {array.shape[0]} values but the model has {length} "
            "features."
        )
    if not np.all(np.isfinite(array)):
        raise ModelFormatError(f"Model field {field!r} holds NaN or infinite values.")
    return array


def _reject_constant(token: str) -> float:
    raise ModelFormatError(f"Model file holds the non-standard JSON number {token!r}.")


def json_params(model) -> dict:
    """The estimator's parameters that a JSON file can hold (callbacks and schedules are code)."""
    params = {
        k: v for k, v in model.get_params(deep=False).items() if k not in ("callbacks", "verbose")
    }
    # numpy scalars (np.int64(5), np.float32(0.1), np.True_) are valid settings; JSON needs
    # the Python numbers they stand for.
    params = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
    if callable(params.get("learning_rate")):
        params["learning_rate"] = "auto"  # a schedule is code, which a model file never holds
    if not isinstance(params.get("random_state"), int | type(None)):
        params["random_state"] = None
    return params


def model_to_dict(model) -> dict:
    """The JSON-ready content of a fitted GDRegressor."""
    params = json_params(model)
    names = getattr(model, "feature_names_in_", None)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gradreg_version": __version__,
        "n_features": int(model.n_features_in_),
        "feature_names": None if names is None else [str(n) for n in names],
        "coef": [float(c) for c in model.coef_],
        "intercept": float(model.intercept_),
        "preconditioner": model.preconditioner_.to_dict(),
        "params": params,
        "fit": {
            "n_iter": int(model.n_iter_),
            "converged": bool(model.converged_),
            "stop_reason": str(getattr(model, "stop_reason_", "")),
            "optimality_gap": _json_float(getattr(model, "optimality_gap_", float("nan"))),
            "solver": str(model.solver_),
            "optimizer": str(model.optimizer_),
            "route": str(model.route_),
            "learning_rate": _json_float(model.learning_rate_),
            "lipschitz": _json_float(model.lipschitz_),
            "metrics": {k: _json_float(v) for k, v in getattr(model, "metrics_", {}).items()},
        },
    }


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def save_model(model, path: str | os.PathLike) -> None:
    """Write ``model`` (fitted) to ``path`` as JSON, atomically."""
    text = json.dumps(model_to_dict(model), indent=2, allow_nan=False)
    with atomic_write(path) as handle:
        handle.write(text + "\n")


def load_model(path: str | os.PathLike):
    """Read a model written by :meth:`GDRegressor.save`; returns a fitted GDRegressor.

    Raises
    ------
    InputFileError
        When the file is missing or unreadable.
    ModelFormatError
        When it is not a valid gradreg model file (corrupt, truncated, pickled, wrong version).
    """
    from .estimator import GDRegressor
    from .objective import Preconditioner

    target = Path(path)
    if target.is_dir():
        raise InputFileError(f"Model path {str(target)!r} is a folder, not a model file.")
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        raise MissingFileError(f"Model file {str(target)!r} does not exist.") from None
    except OSError as exc:
        raise InputFileError(f"Cannot read model file {str(target)!r}: {exc.strerror}.") from None
    if raw[:1] in _PICKLE_MAGIC:
        raise ModelFormatError(
            f"{str(target)!r} looks like a pickle file. gradreg model files are JSON and pickles "
            "are never loaded, since unpickling can run arbitrary code."
        )
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ModelFormatError(f"{str(target)!r} is not a text (UTF-8 JSON) model file.") from None
    except json.JSONDecodeError as exc:
        raise ModelFormatError(
            f"{str(target)!r} is not valid JSON (truncated or corrupt): {exc.msg} at line "
            f"{exc.lineno}, column {exc.colno}."
        ) from None
    return _model_from_dict(data, str(target), GDRegressor, Preconditioner)


def check_header(data: Any, where: str, file_format: str, version: int, advice: str) -> None:
    """Refuse a document that is not of ``file_format`` at ``version``, naming the problem."""
    if not isinstance(data, dict) or data.get("format") != file_format:
        raise ModelFormatError(
            f"{where!r} is not a {file_format} file (no 'format': {file_format!r})."
        )
    if data.get("format_version") != version:
        raise ModelFormatError(
            f"{where!r} has format_version {data.get('format_version')!r}; this gradreg reads "
            f"version {version}. {advice}"
        )


def _model_from_dict(data: Any, where: str, estimator_class, precond_class):
    check_header(data, where, FORMAT, FORMAT_VERSION,
                 "Refit the model with this version of gradreg.")
    missing = sorted(set(_REQUIRED) - set(data))
    if missing:
        raise ModelFormatError(f"{where!r} lacks the field(s) {', '.join(missing)}.")
    extra = sorted(set(data) - set(_REQUIRED))
    if extra:
        raise ModelFormatError(f"{where!r} has unknown field(s) {', '.join(extra)}.")
    for name, kind in _REQUIRED.items():
        if not isinstance(data[name], kind) or isinstance(data[name], bool):
            raise ModelFormatError(f"Model field {name!r} has the wrong type.")
    d = data["n_features"]
    if d < 1:
        raise ModelFormatError("Model field 'n_features' must be at least 1.")
    coef = _finite_floats(data["coef"], "coef", d)
    intercept = _finite_floats([data["intercept"]], "intercept")[0]
    pre = data["preconditioner"]
    try:
        shift = _finite_floats(pre["shift"], "preconditioner.shift", d)
        scale = _finite_floats(pre["scale"], "preconditioner.scale", d)
        constant = pre["constant"]
        fit_intercept = pre["fit_intercept"]
    except KeyError as exc:
        raise ModelFormatError(f"Model field 'preconditioner' lacks {exc.args[0]!r}.") from None
    if not isinstance(fit_intercept, bool) or not (
        isinstance(constant, list)
        and len(constant) == d
        and all(isinstance(c, bool) for c in constant)
    ):
        raise ModelFormatError("Model field 'preconditioner' is malformed.")
    if np.any(scale <= 0):
        raise ModelFormatError("Model field 'preconditioner.scale' must be positive.")
    names = data["feature_names"]
    if names is not None and (len(names) != d or not all(isinstance(n, str) for n in names)):
        raise ModelFormatError(f"Model field 'feature_names' must be {d} strings.")
    model = estimator_class()
    try:
        model.set_params(**data["params"])
        model._config()
    except Exception as exc:  # invalid or unknown parameters
        raise ModelFormatError(f"Model field 'params' is invalid: {exc}") from None
    fit = data["fit"]
    model.coef_ = coef
    model.intercept_ = float(intercept)
    model.n_features_in_ = d
    if names is not None:
        model.feature_names_in_ = np.asarray(names, dtype=object)
    model.preconditioner_ = precond_class(shift, scale, fit_intercept, np.asarray(constant))
    model.n_iter_ = int(fit.get("n_iter", 0))
    model.converged_ = bool(fit.get("converged", False))
    model.stop_reason_ = str(fit.get("stop_reason", ""))
    model.optimality_gap_ = _none_to_nan(fit.get("optimality_gap"))
    model.solver_ = str(fit.get("solver", ""))
    model.optimizer_ = str(fit.get("optimizer", ""))
    model.route_ = str(fit.get("route", ""))
    model.learning_rate_ = _none_to_nan(fit.get("learning_rate"))
    model.lipschitz_ = _none_to_nan(fit.get("lipschitz"))
    metrics = fit.get("metrics", {})
    if isinstance(metrics, dict):
        model.metrics_ = {k: _none_to_nan(v) for k, v in metrics.items()}
    return model


def _none_to_nan(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModelFormatError("A numeric field of 'fit' holds a non-number.")
    return float(value)

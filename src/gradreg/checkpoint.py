"""Checkpoints: the full state of a fit, saved every few epochs, to resume it exactly.

A checkpoint is JSON like a model file (never pickle): the solver's parameters, its optimizer
state, the random generator's state and the history so far, plus a fingerprint of the data so
that a checkpoint is never resumed on other data. This is a file-format layer: it reads plain
data and checks every value against a *template*, the state a fresh fit of the same settings
would hold (same keys, same optimizer-state types, arrays of the same shapes, numbers in
range), so that nothing a hostile file holds reaches a solver unchecked.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import optim
from ._atomic import atomic_write
from .errors import ModelFormatError
from .persistence import check_header, is_number, read_json_file

__all__ = [
    "CheckpointWriter",
    "Floats",
    "Integer",
    "Maybe",
    "Real",
    "Rows",
    "decode_state",
    "encode_state",
    "read_checkpoint",
]

FORMAT = "gradreg-checkpoint"
# Version 2 saves when the descent last came closer to the optimum (its stopping rule reads it).
FORMAT_VERSION = 2

# Optimizer states that may appear in a checkpoint, by name; nothing else is ever rebuilt.
_STATE_TYPES = {
    cls.__name__: cls
    for cls in (
        optim.EmptyState,
        optim.ScaleByLearningRateState,
        optim.TraceState,
        optim.ScaleByAdamState,
        optim.ScaleByRssState,
    )
}


def encode_state(value: Any) -> Any:
    """JSON-ready form of arrays, optimizer states (named tuples), tuples and numbers."""
    if isinstance(value, np.ndarray):
        return {"array": value.tolist()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"state": type(value).__name__, "fields": [encode_state(v) for v in value]}
    if isinstance(value, tuple | list):
        return {"tuple": [encode_state(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": {k: encode_state(v) for k, v in value.items()}}
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


# ---------------------------------------------------------------------------------------------
# Templates: what a field of the state may hold
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Integer:
    """An int in ``[low, high]``."""

    low: int
    high: int


@dataclass(frozen=True)
class Real:
    """A float; finite unless ``infinite`` (then +inf too, e.g. 'no best loss yet')."""

    infinite: bool = False


@dataclass(frozen=True)
class Floats:
    """A list of at most ``longest`` floats, finite or (when ``nan``) NaN."""

    longest: int
    nan: bool = False


@dataclass(frozen=True)
class Maybe:
    """``null`` or what ``template`` accepts (a value a fit may not have yet)."""

    template: Any


@dataclass(frozen=True)
class Rows:
    """A 2-D array of up to ``most`` rows of ``width`` finite values."""

    width: int
    most: int


def decode_state(value: Any, template: Any, field: str = "state") -> Any:
    """``value`` read from a checkpoint, checked against ``template``; the inverse of
    :func:`encode_state`.

    ``template`` is the value a fresh fit would hold (arrays, optimizer states, ints, dicts of
    those) or one of :class:`Integer`, :class:`Real`, :class:`Floats`, :class:`Rows`. The walk
    follows the template, so its depth is bounded by the template's whatever the file holds.

    Raises
    ------
    ModelFormatError
        Naming the field that differs from the template.
    """
    if isinstance(template, Maybe):
        return None if value is None else decode_state(value, template.template, field)
    if isinstance(template, Integer):
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad(field, "an integer")
        if not template.low <= value <= template.high:
            raise _bad(field, f"in the range [{template.low}, {template.high}]")
        return value
    if isinstance(template, Real):
        if not is_number(value):
            raise _bad(field, "a number")
        number = float(value)
        if math.isnan(number) or (math.isinf(number) and not (template.infinite and number > 0)):
            raise _bad(field, "a finite number")
        return number
    if isinstance(template, Floats):
        items = _unwrap(value, "tuple", list, field, "a list of numbers")
        if len(items) > template.longest or not all(is_number(x) for x in items):
            raise _bad(field, f"a list of at most {template.longest} numbers")
        array = np.array(items, dtype=np.float64)
        bad = np.isinf(array) | (np.isnan(array) if not template.nan else False)
        if np.any(bad):
            raise _bad(field, "a list of finite numbers")
        return array.tolist()
    if isinstance(template, Rows):
        rows = _unwrap(value, "array", list, field, "an array")
        if len(rows) > template.most or not all(
            isinstance(r, list) and len(r) == template.width and all(is_number(x) for x in r)
            for r in rows
        ):
            raise _bad(field, f"an array of at most {template.most} rows of {template.width}")
        return _finite(np.array(rows, dtype=np.float64).reshape(-1, template.width), field)
    if isinstance(template, np.ndarray):
        items = _unwrap(value, "array", list, field, "an array")
        if len(items) != template.shape[0] or not all(is_number(x) for x in items):
            raise _bad(field, f"an array of {template.shape[0]} numbers")
        return _finite(np.array(items, dtype=np.float64), field)
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        if not isinstance(value, dict) or set(value) != {"state", "fields"}:
            raise _bad(field, f"an optimizer state {type(template).__name__}")
        if value["state"] != type(template).__name__ or value["state"] not in _STATE_TYPES:
            raise _bad(field, f"an optimizer state {type(template).__name__}")
        fields = value["fields"]
        if not isinstance(fields, list) or len(fields) != len(template):
            raise _bad(field, f"{len(template)} fields of {type(template).__name__}")
        kind = _STATE_TYPES[value["state"]]
        return kind(*[
            decode_state(v, t, f"{field}.{name}")
            for v, t, name in zip(fields, template, template._fields, strict=True)
        ])
    if isinstance(template, tuple | list):
        items = _unwrap(value, "tuple", list, field, "a tuple")
        if len(items) != len(template):
            raise _bad(field, f"a tuple of {len(template)} items")
        return tuple(
            decode_state(v, t, f"{field}[{i}]")
            for i, (v, t) in enumerate(zip(items, template, strict=True))
        )
    if isinstance(template, dict):
        entries = value["dict"] if isinstance(value, dict) and set(value) == {"dict"} else value
        if not isinstance(entries, dict) or set(entries) != set(template):
            raise _bad(field, "an object with the fields " + ", ".join(sorted(template)))
        return {k: decode_state(entries[k], t, f"{field}.{k}") for k, t in template.items()}
    if isinstance(template, bool | str | type(None)):
        if value != template or type(value) is not type(template):
            raise _bad(field, repr(template))
        return value
    if isinstance(template, int):  # an int of a fresh state: a count, never negative
        return decode_state(value, Integer(0, 2**128), field)
    if isinstance(template, float):
        return decode_state(value, Real(), field)
    raise TypeError(f"No checkpoint template for {type(template).__name__}")  # pragma: no cover


def _unwrap(value: Any, key: str, kind: type, field: str, what: str) -> Any:
    if not isinstance(value, dict) or set(value) != {key} or not isinstance(value[key], kind):
        raise _bad(field, what)
    return value[key]


def _finite(array: np.ndarray, field: str) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        raise _bad(field, "finite numbers")
    return array


def _bad(field: str, what: str) -> ModelFormatError:
    return ModelFormatError(f"Checkpoint field {field!r} must be {what}.")


# ---------------------------------------------------------------------------------------------
# Writing and reading
# ---------------------------------------------------------------------------------------------


class CheckpointWriter:
    """Called by a solver with its state; writes it atomically every ``every`` epochs."""

    def __init__(self, path: str | os.PathLike, every: int, settings: dict,
                 fingerprint: dict[str, np.ndarray]):
        self.path = path
        self.every = every
        self.settings = settings
        self.fingerprint = {k: np.asarray(v, dtype=np.float64).tolist()
                            for k, v in fingerprint.items()}

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def __call__(self, state: dict) -> None:
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "settings": self.settings,
            "fingerprint": self.fingerprint,
            "state": encode_state(state),
        }
        text = json.dumps(document, allow_nan=True)
        with atomic_write(self.path) as handle:
            handle.write(text)


def read_checkpoint(
    path: str | os.PathLike,
    settings: dict,
    fingerprint: dict[str, np.ndarray],
    tolerance: dict[str, np.ndarray],
    template: dict,
) -> dict:
    """The solver state saved in ``path``, after checking it belongs to this fit and data.

    Parameters
    ----------
    settings : dict
        The fit's parameters; the checkpoint's must be equal.
    fingerprint, tolerance : dict of str to ndarray
        Statistics of this fit's data and how far (absolutely) the saved ones may differ from
        them by rounding alone.
    template : dict
        The state a fresh fit would hold (see :func:`decode_state`).

    Raises
    ------
    InputFileError
        When the file is missing, unreadable or not a regular file.
    ModelFormatError
        When it is not a valid checkpoint, was written with other settings or for other data,
        or a field of its state differs from the template.
    """
    where = str(path)
    document = read_json_file(path, "checkpoint", non_finite=True)
    check_header(document, where, FORMAT, FORMAT_VERSION,
                 "Restart the fit with this version of gradreg.")
    if set(document) != {"format", "format_version", "settings", "fingerprint", "state"}:
        raise ModelFormatError(
            f"{where!r} is not a valid checkpoint: it should hold exactly the fields format, "
            "format_version, settings, fingerprint and state."
        )
    if document["settings"] != settings:
        raise ModelFormatError(
            f"{where!r} was written by a fit with other settings; resume with the same "
            "estimator parameters."
        )
    if not _same_fingerprint(document["fingerprint"], fingerprint, tolerance):
        raise ModelFormatError(
            f"{where!r} was written for other data (rows, weights, column means or "
            "cross-products differ)."
        )
    return decode_state(document["state"], template)


def _same_fingerprint(saved: Any, current: dict, tolerance: dict) -> bool:
    if not isinstance(saved, dict) or set(saved) != set(current):
        return False
    for key, values in current.items():
        stored = saved[key]
        if not isinstance(stored, list) or len(stored) != values.size:
            return False
        if not all(is_number(x) for x in stored):
            return False
        difference = np.abs(np.array(stored, dtype=np.float64) - values.ravel())
        if not np.all(difference <= tolerance[key].ravel()):  # NaN differences fail too
            return False
    return True

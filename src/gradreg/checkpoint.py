"""Checkpoints: the full state of a fit, saved every few epochs, to resume it exactly.

A checkpoint is JSON like a model file (never pickle): the solver's parameters, its optimizer
state, the random generator's state and the history so far, plus a fingerprint of the data so
that a checkpoint is never resumed on other data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import optim
from ._atomic import atomic_write
from .errors import InputFileError, MissingFileError, ModelFormatError
from .persistence import check_header

__all__ = ["CheckpointWriter", "decode_state", "encode_state", "read_checkpoint"]

FORMAT = "gradreg-checkpoint"
FORMAT_VERSION = 1

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


def decode_state(value: Any) -> Any:
    """Inverse of :func:`encode_state`; refuses unknown state types."""
    if isinstance(value, dict):
        if "array" in value:
            return np.asarray(value["array"], dtype=np.float64)
        if "state" in value:
            kind = _STATE_TYPES.get(value["state"])
            if kind is None:
                raise ModelFormatError(f"Checkpoint holds an unknown state {value['state']!r}.")
            return kind(*[decode_state(v) for v in value["fields"]])
        if "tuple" in value:
            return tuple(decode_state(v) for v in value["tuple"])
        if "dict" in value:
            return {k: decode_state(v) for k, v in value["dict"].items()}
        raise ModelFormatError("Checkpoint holds a malformed value.")
    if isinstance(value, list):
        return [decode_state(v) for v in value]
    return value


class CheckpointWriter:
    """Called by a solver with its state; writes it atomically every ``every`` epochs."""

    def __init__(self, path: str | os.PathLike, every: int, settings: dict, fingerprint: dict):
        self.path = Path(path)
        self.every = every
        self.settings = settings
        self.fingerprint = fingerprint

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
        with atomic_write(self.path) as handle:
            json.dump(document, handle, allow_nan=True)


def read_checkpoint(path: str | os.PathLike, settings: dict, fingerprint: dict) -> dict:
    """The solver state saved in ``path``, after checking it belongs to this fit and data."""
    target = Path(path)
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MissingFileError(f"Checkpoint file {str(target)!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"Cannot read checkpoint {str(target)!r}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ModelFormatError(
            f"{str(target)!r} is not a valid checkpoint (truncated or corrupt JSON: {exc.msg})."
        ) from None
    check_header(document, str(target), FORMAT, FORMAT_VERSION,
                 "Restart the fit with this version of gradreg.")
    if document.get("settings") != settings:
        raise ModelFormatError(
            f"{str(target)!r} was written by a fit with other settings; resume with the same "
            "estimator parameters."
        )
    if not _same_fingerprint(document.get("fingerprint"), fingerprint):
        raise ModelFormatError(
            f"{str(target)!r} was written for other data (rows, weights or column means differ)."
        )
    return decode_state(document["state"])


def _same_fingerprint(saved: Any, current: dict) -> bool:
    if not isinstance(saved, dict) or set(saved) != set(current):
        return False
    return all(np.allclose(saved[k], current[k], rtol=1e-12, atol=0) for k in current)

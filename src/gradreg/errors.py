"""Exceptions and warnings raised by gradreg.

Every error is a :class:`GradregError` and also the built-in exception that fits it, so code
that catches ``ValueError`` or ``OSError`` keeps working.
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DataRangeError",
    "DataTypeError",
    "DivergenceError",
    "FitInterrupted",
    "GradregError",
    "GradregWarning",
    "InputFileError",
    "InsufficientMemoryError",
    "MissingFileError",
    "ModelFormatError",
    "NotFittedError",
    "OutputFileError",
    "ParameterError",
    "UnreadableFileError",
]


class GradregError(Exception):
    """Base class of every error gradreg raises on purpose."""


class ParameterError(GradregError, ValueError):
    """A parameter is outside its allowed range or of the wrong type."""


class DataError(GradregError, ValueError):
    """The data cannot be fitted or predicted as given (shape, type, NaN, ...)."""


class DataRangeError(DataError, OverflowError):
    """Values so large (or small) that their squares leave float64's range."""


class InsufficientMemoryError(DataError, MemoryError):
    """Data known ahead to be larger than the memory available."""


class DataTypeError(DataError, TypeError):
    """The data hold values that are not numbers (strings, objects)."""


class DivergenceError(GradregError, ArithmeticError):
    """Gradient descent diverged; the message names the learning rate and the stable limit."""


class ModelFormatError(GradregError, ValueError):
    """A model file is corrupt, truncated, of an unknown version or not a gradreg model."""


class InputFileError(GradregError, OSError):
    """A file or folder cannot be read or written.

    Raised as ``InputFileError(message)`` or ``InputFileError(errno, message)``; either way
    ``str()`` is the message alone.
    """

    def __str__(self) -> str:
        if self.errno is not None and self.strerror:
            return self.strerror
        return super().__str__()


class MissingFileError(InputFileError, FileNotFoundError):
    """A file or folder that should exist does not."""


class UnreadableFileError(InputFileError, PermissionError):
    """A file exists but may not be read."""


class OutputFileError(InputFileError):
    """An output cannot be written: disk full, file-size limit, no permission, no reader.

    ``errno`` is that of the failed system call (e.g. ``errno.ENOSPC``); the message reads
    ``cannot write 'pred.csv': No space left on device``.
    """


class NotFittedError(GradregError, _SklearnNotFittedError):
    """A method that needs a fitted model was called before ``fit``."""


class FitInterrupted(GradregError, KeyboardInterrupt):
    """Ctrl-C during a fit; ``epochs`` says how many epochs had completed."""

    def __init__(self, epochs: int) -> None:
        super().__init__(f"interrupted after {epochs} epochs")
        self.epochs = epochs


class GradregWarning(UserWarning):
    """Warnings about the data or the problem (conditioning, rank)."""


class ConvergenceWarning(_SklearnConvergenceWarning):
    """The fit stopped before it reached the requested tolerance."""

"""Exceptions and warnings raised by gradreg.

Every error is a :class:`GradregError` and also the built-in exception that fits it, so code
that catches ``ValueError`` or ``OSError`` keeps working.

:class:`NotFittedError` and :class:`ConvergenceWarning` are also scikit-learn's. They are made
the first time they are asked for (``from gradreg.errors import NotFittedError``, or
``gradreg.errors.NotFittedError``), so that the other errors import without scikit-learn: the
``gradreg`` command's help and usage errors need none of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._sklearn_errors import ConvergenceWarning, NotFittedError

__all__ = [
    "ClusterConnectionError",
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


class ClusterConnectionError(GradregError, ConnectionError):
    """The Dask scheduler named on the command line (``--scheduler``) does not answer."""


class FitInterrupted(GradregError, KeyboardInterrupt):
    """Ctrl-C during a fit; ``epochs`` says how many epochs had completed."""

    def __init__(self, epochs: int) -> None:
        super().__init__(f"interrupted after {epochs} epochs")
        self.epochs = epochs

    def __reduce__(self):
        # Made again from the epochs, not from ``args`` (the message) as exceptions are.
        return type(self), (self.epochs,), self.__dict__


class GradregWarning(UserWarning):
    """Warnings about the data or the problem (conditioning, rank)."""


_FROM_SKLEARN = ("ConvergenceWarning", "NotFittedError")


def __getattr__(name: str):
    # PEP 562: called only for names not yet in the module, so once per name.
    if name in _FROM_SKLEARN:
        from . import _sklearn_errors

        value = getattr(_sklearn_errors, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
